"""The ready workbook: the classic ``.xlsm`` and the xlwings Lite ``.xlsx``.

Every name in it comes from `pipeline_xl.core.contract`. `spec` presents the data tables
and `dashboard_spec` lays out the Dashboard; `prepare` aligns the given tables to the
contract; `data_sheets` and `dashboard_writer` write them with the `formats`;
`builder.build_workbook` assembles the file. `native` evaluates the Dashboard's plain
formulas and `cache.engine_values` calls the worksheet functions for the values stored
with them; `lite` adds the embedded engine for xlwings Lite.
"""

__all__: list[str] = []
