"""Workbook specifications and their builders.

`build_workbook` writes the ready pipeline workbook from raw tables; `new_workbook` is
what ``pipeline-xl new`` runs (sample or empty tables, cached values, the workbook and its
same-name Python module). The layout lives in `workbook_templates.spec`.
"""

from workbook_templates.builder import build_workbook, new_workbook, write_module

__all__ = ["build_workbook", "new_workbook", "write_module"]
