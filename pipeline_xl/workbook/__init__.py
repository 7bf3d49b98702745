"""The ready workbook: the classic ``.xlsm`` and the xlwings Lite ``.xlsx``.

`builder.build_workbook` writes the workbook from raw tables following `spec`;
`cache.engine_values` computes the Dashboard's cached PIPE_* values with the worksheet
functions; `lite` adds the embedded engine for xlwings Lite.
"""
