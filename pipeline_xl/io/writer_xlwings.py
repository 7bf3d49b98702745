"""Read the tables from, and write a Report into, an xlwings ``Book``.

One adapter for two runtimes: classic xlwings driving Excel on Windows or macOS (the
"Refresh reports" button) and xlwings Lite, whose ``Book`` has the same interface and
turns every change into actions for Excel. Cells go where `report_model.place` puts
them, so the sheets match the headless writer's cell for cell. Text that Excel would
take for a formula is written with a leading apostrophe, which Excel keeps as text.

Report sheets are marked as the tool's as the headless writer marks them: the sheet-scoped
name `contract.REPORT_MARK` holding the report's name (``="Variance"``; ``kept:`` and the
name for a report kept under a dated name), hidden where the engine can hide a name. Only
a sheet carrying that mark is ever cleared and rewritten; a sheet with a report's name
but no mark is the user's and is left as it is: the report goes to a free name
(``Pipeline flow (2)``) and `write_report` returns a note saying so.

Column widths are worked out in characters, the unit of desktop Excel and of classic
xlwings' ``Range.column_width``. xlwings' remote engine, which Lite runs on, takes
points there (what Office.js measures widths in), so on that engine each width is
converted (`points_from_characters`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import date

import pandas as pd
import xlwings as xw

from pipeline_xl.core import contract
from pipeline_xl.core.display import column_width, currency_format
from pipeline_xl.core.raw import RawWorkbook
from pipeline_xl.core.report_model import Block, ColumnKind, PlacedBlock, Report, ReportSheet, place

__all__ = [
    "NUMBER_FORMATS",
    "history_name",
    "points_from_characters",
    "read_book",
    "text_cell",
    "write_report",
]

log = logging.getLogger("pipeline_xl.io")

NUMBER_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "number": "#,##0.00",
    "pct": "0.0%",
    "date": "yyyy-mm-dd",
}
_FORMULA_START = ("=", "+", "-", "@")
_HEADER_FILL = (31, 78, 121)
_WHITE = (255, 255, 255)
_FLAG_FILL = {"F": (198, 239, 206), "U": (255, 199, 206)}
_KEPT = "kept:"


_DIGIT_PX = 7  # widest digit of the default font (Calibri or Aptos Narrow 11) in pixels
_PADDING_PX = 5  # Excel's cell padding, in pixels
_POINTS_PER_PX = 0.75  # 72 points per inch, 96 pixels per inch


def points_from_characters(width: float) -> float:
    """A column width in characters as points, as Excel shows it with the default font.

    Excel draws a width of ``w`` characters as ``w`` times the widest digit plus the
    cell padding, in whole pixels (ECMA-376 Part 1, 18.3.1.13): 8.43 characters are
    64 pixels, 48 points.
    """
    if width <= 0:
        return 0.0
    if width < 1:
        pixels = int(width * (_DIGIT_PX + _PADDING_PX) + 0.5)
    else:
        pixels = int(width * _DIGIT_PX + 0.5) + _PADDING_PX
    return pixels * _POINTS_PER_PX


def _width_unit(book: xw.Book) -> Callable[[float], float]:
    """How a width in characters is handed to ``column_width`` on ``book``'s engine."""
    if book.app.engine.type == "remote":  # xlwings Lite and xlwings Server: points
        return points_from_characters
    return float


def text_cell(value: str) -> str:
    """Text as Excel must receive it to keep it text: a leading apostrophe if formula-like."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _format_of(kind: ColumnKind, currency: str) -> str | None:
    if kind == "amount":
        return currency_format(currency)
    return NUMBER_FORMATS.get(kind)


def _cell(value: object, kind: str) -> object:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return text_cell(value)
    if kind == "text":
        return text_cell(str(value))
    return value


def read_book(book: xw.Book) -> RawWorkbook:
    """The workbook's tables as lists of rows, by table name, else by sheet used range.

    Excel error values come as their text (``#N/A``) so validation reports them.
    """
    tables: dict[str, list[list[object]]] = {}
    header_rows: dict[str, int] = {}
    sources: dict[str, str] = {}
    names = {s.name for s in book.sheets}
    for spec in contract.DATA_TABLES:
        sheet_name, table_name = spec.sheet, spec.name
        if sheet_name not in names:
            continue
        sheet = book.sheets[sheet_name]
        found = None
        for table in sheet.tables:
            if table.name == table_name:
                found = table
                break
        rng = found.range if found is not None else sheet.used_range
        values = rng.options(ndim=2, err_to_str=True).value
        if not values:
            continue
        tables[sheet_name] = [list(row) for row in values]
        header_rows[sheet_name] = int(rng.row)
        sources[sheet_name] = table_name if found is not None else f"sheet {sheet_name}"
    return RawWorkbook(book.name, tables, header_rows, sources, tuple(s.name for s in book.sheets))


def history_name(name: str, as_of: date, taken: set[str]) -> str:
    """A unique dated name (<= 31 characters) for the previous copy of a report sheet."""
    base = f"{name} {as_of.isoformat()}"[:31]
    candidate, n = base, 2
    while candidate in taken:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    return candidate


def _write_block_cells(sheet: xw.Sheet, block: Block, header_row: int) -> list[list[object]]:
    rows: list[list[object]] = [[text_cell(c.header) for c in block.columns]]
    rows += [
        [_cell(v, c.kind) for c, v in zip(block.columns, values, strict=True)]
        for values in block.values()
    ]
    sheet.range((header_row, 1)).value = rows
    return rows


def _style_block(sheet: xw.Sheet, placed: PlacedBlock, currency: str) -> None:
    block: Block = placed.block
    ncols = len(block.columns)
    header = sheet.range((placed.header_row, 1), (placed.header_row, ncols))
    header.color = _HEADER_FILL
    header.font.bold = True
    header.font.color = _WHITE
    sheet.range((placed.title_row, 1)).font.bold = True
    if placed.last_row < placed.first_row:
        return
    for j, column in enumerate(block.columns, start=1):
        fmt = _format_of(column.kind, currency)
        if fmt:
            sheet.range((placed.first_row, j), (placed.last_row, j)).number_format = fmt
        if column.kind == "flag":
            _color_flags(sheet, block, column.key, placed.first_row, j)


def _color_flags(sheet: xw.Sheet, block: Block, key: str, first_row: int, col: int) -> None:
    """Fill runs of equal F/U flags with one call each (cell-by-cell calls are slow)."""
    flags = [str(v) if v is not None else "" for v in block.frame[key].tolist()]
    start = 0
    while start < len(flags):
        end = start
        while end + 1 < len(flags) and flags[end + 1] == flags[start]:
            end += 1
        fill = _FLAG_FILL.get(flags[start])
        if fill is not None:
            sheet.range((first_row + start, col), (first_row + end, col)).color = fill
        start = end + 1


def _chart_source(sheet: xw.Sheet, placed: PlacedBlock, columns: list[int]) -> xw.Range:
    """The chart's data: one rectangle when its columns are adjacent, else a union."""
    first, last = min(columns), max(columns)
    if sorted(columns) == list(range(first, last + 1)):
        return sheet.range((placed.header_row, first), (placed.last_row, last))
    address = ",".join(
        sheet.range((placed.header_row, c), (placed.last_row, c)).address for c in columns
    )
    return sheet.range(address)


def _add_charts(sheet: xw.Sheet, placed: PlacedBlock) -> None:
    if placed.last_row < placed.first_row:
        return
    for chart_place in placed.charts:
        spec = chart_place.spec
        keys = [spec.categories, *spec.series, *spec.line_series]
        columns = [placed.column_of(k) for k in keys]
        kind = {"column": "column_clustered", "bar": "bar_clustered"}.get(spec.kind, "line")
        try:
            sheet.charts.add(
                width=480, height=260, chart_type=kind,
                source=_chart_source(sheet, placed, columns),
                anchor=sheet.range((chart_place.row, chart_place.col)),
            )  # fmt: skip
        except Exception:  # a runtime without charts still gets every number
            log.warning("chart %r not added on %s", spec.title, sheet.name, exc_info=True)
            return


def _write_sheet(sheet: xw.Sheet, report_sheet: ReportSheet, currency: str) -> None:
    sheet.range("A1").value = text_cell(report_sheet.title)
    sheet.range("A1").font.bold = True
    sheet.range("A1").font.size = 14
    sheet.range("A2").value = text_cell(report_sheet.subtitle)
    widths: dict[int, float] = {}
    for placed in place(report_sheet):
        block = placed.block
        sheet.range((placed.title_row, 1)).value = text_cell(block.title)
        rows = _write_block_cells(sheet, block, placed.header_row)
        if block.notes:
            sheet.range((placed.notes_row, 1)).value = [[text_cell(n)] for n in block.notes]
        _style_block(sheet, placed, currency)
        _add_charts(sheet, placed)
        for j, column in enumerate(block.columns, start=1):
            longest = max((len(str(r[j - 1])) for r in rows if r[j - 1] is not None), default=8)
            wanted = column_width(longest, column.width)
            widths[j] = max(widths.get(j, 0.0), float(wanted))
    unit = _width_unit(sheet.book)
    for j, width in widths.items():
        sheet.range((1, j)).column_width = unit(width)


def _snapshot_frame(log_frame: pd.DataFrame, header: Sequence[str]) -> pd.DataFrame:
    fields = [f for f in contract.SNAPSHOTS.fields if f.name in log_frame]
    frame = pd.DataFrame({f.header: log_frame[f.name] for f in fields})
    for f in fields:
        if f.kind == "date":
            frame[f.header] = pd.to_datetime(frame[f.header]).dt.date
    ordered = [h for h in header if h in frame] + [h for h in frame if h not in header]
    return frame[ordered]


def _write_snapshots(book: xw.Book, snapshots: pd.DataFrame) -> None:
    sheet_name, table_name = contract.SNAPSHOTS.sheet, contract.SNAPSHOTS.name
    if sheet_name not in {s.name for s in book.sheets} or snapshots.empty:
        return
    sheet = book.sheets[sheet_name]
    table = next((t for t in sheet.tables if t.name == table_name), None)
    if table is None or table.header_row_range is None:
        return
    header = [str(h) for h in (table.header_row_range.value or [])]
    frame = _snapshot_frame(snapshots, header)
    frame = frame.astype(object).where(frame.notna(), None)
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, str)).any():
            frame[column] = frame[column].map(lambda v: text_cell(v) if isinstance(v, str) else v)
    table.update(frame, index=False)


def _mark_of(sheet: xw.Sheet) -> xw.Name | None:
    """The sheet's `contract.REPORT_MARK` name, if it has one."""
    for name in sheet.names:
        if name.name.rsplit("!", 1)[-1].casefold() == contract.REPORT_MARK.casefold():
            return name
    return None


def _mark_value(sheet: xw.Sheet) -> str | None:
    """The report name a sheet's mark holds (``="Variance"`` -> ``Variance``), or None."""
    name = _mark_of(sheet)
    if name is None:
        return None
    formula = str(name.refers_to or "").lstrip("=")
    if len(formula) > 1 and formula[0] == formula[-1] == '"':
        return formula[1:-1].replace('""', '"')
    return formula


def _set_mark(sheet: xw.Sheet, value: str) -> None:
    """Mark ``sheet`` as the tool's report ``value`` (hidden where the engine allows)."""
    formula = '="' + value.replace('"', '""') + '"'
    name = _mark_of(sheet)
    if name is not None:
        name.refers_to = formula
        return
    added = sheet.names.add(contract.REPORT_MARK, formula)
    try:
        added.api.Visible = False  # desktop Excel; other engines keep the name visible
    except Exception:  # noqa: BLE001 - engines without the property still get the mark
        log.debug("report mark left visible on %s", sheet.name)


def _owned(book: xw.Book, report: str) -> xw.Sheet | None:
    """The sheet marked as holding report ``report`` (the one of that name first)."""
    marked = [s for s in book.sheets if _mark_value(s) == report]
    same = [s for s in marked if s.name.casefold() == report.casefold()]
    found = same or marked
    return found[0] if found else None


def _free_name(taken: set[str], name: str) -> str:
    """``name`` when no sheet has it, else ``name (2)``, ``name (3)`` ... (31 characters)."""
    folded = {t.casefold() for t in taken}
    n = 1
    while True:
        suffix = "" if n == 1 else f" ({n})"
        candidate = name[: 31 - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in folded:
            return candidate
        n += 1


def write_report(
    book: xw.Book, report: Report, *, keep_history: bool = False, notes: list[str] | None = None
) -> list[str]:
    """Write the report sheets and the Snapshots log (module docstring on the marks).

    A report replaces the sheet marked as that report's (cleared in place, so its
    position and whatever points at it stay), or with ``keep_history`` that sheet is
    renamed with its as-of date and marked as kept while a new one is added. A report
    whose name is taken by a sheet the tool did not create goes to a free name, and a
    note saying so is appended to ``notes``. Returns the names of the sheets written.
    """
    written = []
    for report_sheet in report.sheets:
        names = {s.name for s in book.sheets}
        sheet = _owned(book, report_sheet.name)
        if sheet is not None and keep_history:
            sheet.name = history_name(report_sheet.name, report.as_of, names)
            _set_mark(sheet, _KEPT + report_sheet.name)
            sheet = None
            names = {s.name for s in book.sheets}
        if sheet is None:
            name = _free_name(names, report_sheet.name)
            sheet = book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])
            _set_mark(sheet, report_sheet.name)
        else:  # reuse the sheet: its place and anything pointing at it stay valid
            if sheet.name != report_sheet.name and report_sheet.name.casefold() not in {
                n.casefold() for n in names
            }:
                sheet.name = report_sheet.name  # its name is free again
            for chart in list(sheet.charts):
                chart.delete()
            sheet.clear()
        if sheet.name.casefold() != report_sheet.name.casefold() and notes is not None:
            notes.append(
                f"the sheet {report_sheet.name} was not made by pipeline-xl, so it is left "
                f"as it is: the {report_sheet.name} report is on the sheet {sheet.name}"
            )
        _write_sheet(sheet, report_sheet, report.currency)
        written.append(sheet.name)
    _write_snapshots(book, report.snapshots)
    return written
