"""Write the data sheets of the ready workbook: one Excel table each, and xlwings.conf.

`write_table` writes a prepared table (`pipeline_xl.workbook.prepare`) as an Excel table
following its `spec.TableSpec`: the header row with its notes, one column per spec column
with the column's format, drop-down lists over the data rows, and a width that fits the
widest value (`pipeline_xl.core.display.column_width`, the rule every writer uses).

Cells keep their type: text is always written as text, never as a formula, whatever it
starts with, and text starting with ``= + - @`` gets a quote-prefix style so editing the
cell in Excel keeps it text; numbers, dates and booleans are
written as such, a value of any other type as its text. Blank cells of a column with an
input fill are written blank with that fill, so values typed later look right. Settings
values take the format of their setting (a date, a whole number, a percentage) row by
row, with that setting's validation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline_xl.core import contract
from pipeline_xl.core.contract import SETTINGS_TABLE
from pipeline_xl.core.display import column_width, shown_width, text_width
from pipeline_xl.core.excel import EPOCH_1900
from pipeline_xl.workbook.formats import Formats, Writer
from pipeline_xl.workbook.spec import (
    SETTINGS_ROWS,
    STYLE,
    VALIDATIONS,
    XLWINGS_CONF_ROWS,
    Column,
    SettingRow,
    TableSpec,
)

__all__ = ["sheet_setup", "write_cell", "write_conf", "write_table"]

_QUOTE_STARTS = ("=", "+", "-", "@")
_WRITTEN_SETTINGS = {row.setting.key: row for row in SETTINGS_ROWS}


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _to_datetime(value: object) -> datetime | None:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)  # noqa: DTZ001 - Excel dates are naive
    return None


# The builder's display kinds as the shared width rule names them.
_WIDTH_KIND = {
    "percent": "pct",
    "amount": "amount",
    "count": "int",
    "number": "int",
    "date": "date",
}


def _number_width(value: float, kind: str, currency: str) -> float:
    if not math.isfinite(value):
        return 6.0
    return shown_width(value, _WIDTH_KIND.get(kind, "int"), currency)


@dataclass(frozen=True)
class _CellFormats:
    """The formats one column's cells may need, made once per column."""

    kind: str
    numeric_kind: str
    main: Format
    quoted: Format
    number: Format
    date: Format
    write_blanks: bool  # False: the column's format covers blank cells

    @classmethod
    def of(cls, fm: Formats, kind: str, fill: str | None) -> _CellFormats:
        numeric = kind if kind not in ("text", "period", "status", "mixed") else "number"
        return cls(
            kind,
            numeric,
            fm.cell(kind, fill=fill),
            fm.cell(kind, fill=fill, quote=True),
            fm.cell(numeric, fill=fill),
            fm.cell("month" if kind == "period" else "date", fill=fill),
            write_blanks=fill is not None or kind == "mixed",
        )


def write_cell(w: Writer, row: int, col: int, value: object, fmts: _CellFormats) -> float:
    """Write one data value with its column's formats; return its display width.

    Text is always written as text (never a formula) and gets the quote-prefix format
    when it starts with ``= + - @``; numbers, dates and booleans keep their type; blanks
    still get the column's format so values typed later look right.
    """
    ws = w.sheet
    if isinstance(value, str) and value:
        fmt = fmts.quoted if value.startswith(_QUOTE_STARTS) else fmts.main
        ws.write_string(row, col, value, fmt)
        return text_width(value)
    if isinstance(value, str) or _is_blank(value):
        if fmts.write_blanks:
            ws.write_blank(row, col, None, fmts.main)
        return 0.0
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmts.number)
        return 5.0
    moment = _to_datetime(value)
    if moment is not None:
        ws.write_datetime(row, col, moment, fmts.date)
        return 10.0
    try:
        number = float(value)  # type: ignore[arg-type]  # numpy scalars and ints
    except (TypeError, ValueError):
        return write_cell(w, row, col, str(value), fmts)
    ws.write_number(row, col, number, fmts.number)
    return _number_width(number, fmts.numeric_kind, w.formats.currency)


def _write_column(
    w: Writer, first_row: int, col: int, series: pd.Series, fmts: _CellFormats
) -> float:
    """Write a column (fast paths for number and date columns); return its widest value."""
    ws = w.sheet
    if pd.api.types.is_bool_dtype(series) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
    ):
        widths = [write_cell(w, first_row + i, col, v, fmts) for i, v in enumerate(series.tolist())]
        return max(widths, default=0.0)
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
        epoch = pd.Timestamp(EPOCH_1900)
        numbers = ((stamps - epoch) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
        fmt, width = fmts.date, 10.0
    else:
        numbers = series.to_numpy(dtype="float64", na_value=np.nan)
        fmt = fmts.number
        finite = numbers[np.isfinite(numbers)]
        width = 0.0
        if finite.size:
            for probe in (float(finite.max()), float(finite.min())):
                width = max(width, _number_width(probe, fmts.numeric_kind, w.formats.currency))
    blank = fmts.main if fmts.write_blanks else None
    for i, x in enumerate(numbers.tolist()):
        if x == x:  # not NaN / NaT  # noqa: PLR0124 - the fastest NaN test in a hot loop
            ws.write_number(first_row + i, col, x, fmt)
        elif blank is not None:
            ws.write_blank(first_row + i, col, None, blank)
    return width


def _written_setting(name: object) -> SettingRow | None:
    """The written Settings row a label names (None for the table's other rows)."""
    setting = contract.setting_named(name) if isinstance(name, str) else None
    return None if setting is None else _WRITTEN_SETTINGS.get(setting.key)


def write_table(
    w: Writer, table: TableSpec, frame: pd.DataFrame, columns: Sequence[Column], company: str
) -> None:
    """Write ``frame`` as the Excel table ``table`` with ``columns`` (module docstring).

    ``company`` signs the header notes.
    """
    ws, fm = w.sheet, w.formats
    r0, c0 = table.first_cell
    n = max(len(frame), 1)
    settings: list[SettingRow | None] = []
    if table.table is SETTINGS_TABLE:
        settings = [_written_setting(v) for v in frame[SETTINGS_TABLE.header("setting")].tolist()]
    for j, column in enumerate(columns):
        fill = STYLE.input_fill if column.input_fill else None
        content = text_width(column.header) + 1
        series = frame[column.header] if len(frame) else pd.Series([None], dtype=object)
        if column.kind == "mixed" and settings:
            for i, value in enumerate(series.tolist()):
                row = settings[i]
                fmts = _CellFormats.of(fm, "mixed" if row is None else row.kind, fill)
                content = max(content, write_cell(w, r0 + 1 + i, c0 + j, value, fmts))
            ws.set_column(c0 + j, c0 + j, max(column.width, column_width(content)))
        else:
            fmts = _CellFormats.of(fm, column.kind, fill)
            content = max(content, _write_column(w, r0 + 1, c0 + j, series, fmts))
            # Without a fill the column's own format styles blank and future cells.
            column_format = None if fmts.write_blanks else fmts.main
            width = max(column.width, column_width(content))
            ws.set_column(c0 + j, c0 + j, width, column_format)
        if column.validation:
            ws.data_validation(r0 + 1, c0 + j, r0 + n, c0 + j, dict(VALIDATIONS[column.validation]))
        if column.note:
            ws.write_comment(
                r0,
                c0 + j,
                column.note,
                {"author": company or "pipeline-xl", "x_scale": 1.8, "y_scale": 0.8},
            )
    ws.add_table(
        r0,
        c0,
        r0 + n,
        c0 + len(columns) - 1,
        {
            "name": table.name,
            "style": STYLE.table_style,
            "columns": [{"header": c.header, "header_format": fm.header(c.kind)} for c in columns],
        },
    )
    for i, row in enumerate(settings):
        if row is not None and row.validation:
            ws.data_validation(r0 + 1 + i, c0 + 1, r0 + 1 + i, c0 + 1, dict(row.validation))


def sheet_setup(ws: Worksheet, *, freeze: tuple[int, int], landscape: bool = True) -> None:
    """Frozen header, landscape pages one wide, the header row repeated, a page footer."""
    ws.freeze_panes(*freeze)
    if landscape:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_footer("&L&8&A&R&8Page &P of &N")


def write_conf(w: Writer, module: str, xlwings_version: str) -> None:
    """The xlwings.conf sheet: xlwings' key/value rows from A1 down, then notes below."""
    ws, fm = w.sheet, w.formats
    ws.set_column("A:A", 18)
    ws.set_column("B:B", 24)
    for i, (key, value) in enumerate(XLWINGS_CONF_ROWS):
        ws.write_string(i, 0, key)
        if isinstance(value, bool):
            ws.write_boolean(i, 1, value)
        elif value:
            ws.write_string(i, 1, value.format(module=module))
    notes = (
        "xlwings reads the settings above from A1 down to the first empty row; values in B.",
        f"UDF Modules: {module}.py beside this workbook; it re-exports the PIPE_* functions.",
        "Interpreter_Win / _Mac: the Python that has pipeline-xl (blank = xlwings' default).",
        f"The VBA embeds xlwings {xlwings_version}: that Python needs the same xlwings version.",
        f"Rename this sheet to _{contract.XLWINGS_CONF} to switch these settings off.",
    )
    start = len(XLWINGS_CONF_ROWS) + 2
    ws.write_string(start, 0, "About this sheet", fm.get(bold=True))
    for i, text in enumerate(notes, start=start + 1):
        ws.write_string(i, 0, text, fm.get(font_color=STYLE.note_font))
