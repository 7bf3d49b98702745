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
import numpy.typing as npt
import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline_xl.core import contract
from pipeline_xl.core.contract import SETTINGS_TABLE
from pipeline_xl.core.display import column_width, shown_width, text_width
from pipeline_xl.core.excel import EPOCH_1900, TEXT_LIMIT
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
from pipeline_xl.workbook.table_body import BodyColumn, TableBody

__all__ = [
    "Strings",
    "plan_cell",
    "plan_column",
    "shared_strings",
    "sheet_setup",
    "write_cell",
    "write_conf",
    "write_table",
]

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


def _excel_text(text: str) -> str:
    """``text`` cut to the 32,767 UTF-16 units a cell holds, as xlsxwriter cuts it."""
    if len(text) <= TEXT_LIMIT // 2:
        return text
    units = 0
    for at, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > TEXT_LIMIT:
            return text[:at]
    return text


class Strings:
    """The workbook's shared-string table, as `Worksheet.write_string` adds to it.

    ``strings(text)`` is the index of ``text``, added when new; every call counts one
    use (the table's ``count``). Texts are added in the order the cells would be
    written, so the table comes out as it does with every cell written through
    xlsxwriter.
    """

    def __init__(self, w: Writer) -> None:
        self._table = w.sheet.str_table  # the workbook's table, shared by its sheets

    def __call__(self, text: str) -> int:
        """The index of ``text`` (added when new), one more use counted."""
        index: int = self._table._get_shared_string_index(text)  # what write_string calls
        return index

    def count_more(self, uses: int) -> None:
        """Count ``uses`` more uses of texts already added."""
        self._table.count += uses


def shared_strings(w: Writer) -> Strings:
    """The shared-string table of ``w``'s workbook (`Strings`)."""
    return Strings(w)


def _text_tail(text: str, strings: Strings) -> str:
    return f' t="s"><v>{strings(_excel_text(text))}</v></c>'


def _number_tail(number: float) -> str:
    if math.isinf(number):  # xlsxwriter's nan_inf_to_errors: the formula 1/0 or -1/0
        sign = "-" if number < 0 else ""
        return f' t="e"><f>{sign}1/0</f><v>#DIV/0!</v></c>'
    return f"><v>{number:.16G}</v></c>"  # as xlsxwriter writes a number


_EPOCH = datetime(1899, 12, 31)  # noqa: DTZ001 - Excel dates are naive


def _serial(moment: datetime) -> float:
    """The serial number xlsxwriter's ``write_datetime`` stores, computed as it does."""
    delta = moment - _EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / 86400
    if moment.isocalendar() == (1900, 1, 1):  # xlsxwriter's own rule for 1900-01-01
        serial -= 1
    return serial + 1 if serial >= 60 else serial  # Excel's 29 February 1900


Planned = tuple[Format | None, str, float]
"""A cell as `write_cell` writes it: its format (None: no cell), XML tail, display width."""


def plan_cell(value: object, fmts: _CellFormats, currency: str, strings: Strings) -> Planned:
    """What `write_cell` writes for ``value`` (see `table_body.BodyColumn` for the tail)."""
    if isinstance(value, str) and value:
        fmt = fmts.quoted if value.startswith(_QUOTE_STARTS) else fmts.main
        return fmt, _text_tail(value, strings), text_width(value)
    if isinstance(value, str) or _is_blank(value):
        return (fmts.main, "/>", 0.0) if fmts.write_blanks else (None, "", 0.0)
    if isinstance(value, bool):
        return fmts.number, f' t="b"><v>{int(value)}</v></c>', 5.0
    moment = _to_datetime(value)
    if moment is not None:
        return fmts.date, _number_tail(_serial(moment)), 10.0
    try:
        number = float(value)  # type: ignore[arg-type]  # numpy scalars and ints
    except (TypeError, ValueError):
        return plan_cell(str(value), fmts, currency, strings)
    return fmts.number, _number_tail(number), _number_width(number, fmts.numeric_kind, currency)


class _Codes:
    """Each cell's format as a small number: its place among the column's formats."""

    def __init__(self) -> None:
        self.formats: list[Format] = []
        self._known: dict[int, int] = {}

    def code(self, fmt: Format | None) -> int:
        if fmt is None:
            return -1
        found = self._known.get(id(fmt))
        if found is None:
            found = self._known[id(fmt)] = len(self.formats)
            self.formats.append(fmt)
        return found


def _plan_cells(
    values: Sequence[object], fmts: Sequence[_CellFormats], currency: str, strings: Strings
) -> tuple[_Codes, list[int], list[str], float]:
    codes = _Codes()
    found: list[int] = []
    tails: list[str] = []
    width = 0.0
    widths: dict[str, float] = {}
    half = TEXT_LIMIT // 2
    for value, cell_fmts in zip(values, fmts, strict=True):
        if type(value) is str and value and len(value) <= half:  # the common case first
            quoted = value.startswith(_QUOTE_STARTS)
            fmt: Format | None = cell_fmts.quoted if quoted else cell_fmts.main
            tail = f' t="s"><v>{strings(value)}</v></c>'
            shown = widths.get(value)
            if shown is None:
                shown = widths[value] = text_width(value)
        else:
            fmt, tail, shown = plan_cell(value, cell_fmts, currency, strings)
        found.append(codes.code(fmt))
        tails.append(tail)
        width = max(width, shown)
    return codes, found, tails, width


def _plan_texts(
    values: list[object], fmts: _CellFormats, strings: Strings
) -> tuple[BodyColumn | None, float]:
    """`_plan_cells` for a column of texts and blanks, a whole column at a time.

    None when the column holds anything else, or a text longer than half a cell (which
    may need cutting). Each distinct text is added to the shared strings once, in the
    order the cells first use it, and counted for every cell, as `shared_strings` does.
    """
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("string", "empty"):
        return None, 0.0
    texts = pd.Series(values, dtype=object)
    filled = texts.notna().to_numpy() & (texts != "").to_numpy()
    codes, uniques = pd.factorize(texts[filled])
    distinct = uniques.tolist()
    if max(map(len, distinct), default=0) > TEXT_LIMIT // 2:
        return None, 0.0
    found = [strings(text) for text in distinct]
    strings.count_more(len(codes) - len(found))
    tails = np.empty(len(values), dtype=object)
    tails[:] = "/>" if fmts.write_blanks else ""
    by_text = np.array([f' t="s"><v>{i}</v></c>' for i in found] or [""], dtype=object)
    tails[filled] = by_text[codes]
    quoted = np.array([t.startswith(_QUOTE_STARTS) for t in distinct] or [False], dtype=bool)
    styles = np.full(len(values), 2 if fmts.write_blanks else -1, dtype=np.int16)
    styles[filled] = np.where(quoted[codes], 1, 0)
    width = max(map(text_width, distinct), default=0.0)
    column = BodyColumn(-1, [fmts.main, fmts.quoted, fmts.main], styles, tails.tolist())
    return column, width


def plan_column(
    series: pd.Series,
    col: int,
    fmts: _CellFormats | Sequence[_CellFormats],
    currency: str,
    strings: Strings,
) -> tuple[BodyColumn, float]:
    """The cells `_write_column` writes for ``series`` (per-row formats: the object path)."""
    n = len(series)
    if isinstance(fmts, _CellFormats) and _cell_by_cell(series):
        column, width = _plan_texts(series.tolist(), fmts, strings)
        if column is not None:
            column.col = col
            return column, width
    if not isinstance(fmts, _CellFormats) or _cell_by_cell(series):
        per_row = [fmts] * n if isinstance(fmts, _CellFormats) else list(fmts)
        codes, found, tails, width = _plan_cells(series.tolist(), per_row, currency, strings)
        styles = np.array(found, dtype=np.int16)
        return BodyColumn(col, codes.formats, styles, tails), width
    numbers, fmt, width = _column_numbers(series, fmts, currency)
    present = ~np.isnan(numbers)
    blank = "/>" if fmts.write_blanks else ""
    styles = np.where(present, 0, 1 if fmts.write_blanks else -1).astype(np.int16)
    memo: dict[float, str] = {}
    tails = []
    for x in numbers.tolist():
        if x != x:  # noqa: PLR0124 - NaN test in a hot loop
            tails.append(blank)
            continue
        tail = memo.get(x)
        if tail is None:
            tail = memo[x] = _number_tail(x)
        tails.append(tail)
    return BodyColumn(col, [fmt, fmts.main], styles, tails), width


def _cell_by_cell(series: pd.Series) -> bool:
    """Whether `_write_column` writes ``series`` a value at a time (`write_cell`)."""
    return pd.api.types.is_bool_dtype(series) or not (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)
    )


def _column_numbers(
    series: pd.Series, fmts: _CellFormats, currency: str
) -> tuple[npt.NDArray[np.float64], Format, float]:
    """A number or date column as `_write_column` writes it: values, format, widest value."""
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
        epoch = pd.Timestamp(EPOCH_1900)
        days = ((stamps - epoch) / pd.Timedelta(days=1)).to_numpy(dtype="float64")
        return np.asarray(days, dtype="float64"), fmts.date, 10.0
    numbers = series.to_numpy(dtype="float64", na_value=np.nan)
    finite = numbers[np.isfinite(numbers)]
    width = 0.0
    if finite.size:
        for probe in (float(finite.max()), float(finite.min())):
            width = max(width, _number_width(probe, fmts.numeric_kind, currency))
    return numbers, fmts.number, width


def _written_setting(name: object) -> SettingRow | None:
    """The written Settings row a label names (None for the table's other rows)."""
    setting = contract.setting_named(name) if isinstance(name, str) else None
    return None if setting is None else _WRITTEN_SETTINGS.get(setting.key)


def _data_cells(
    w: Writer,
    first: tuple[int, int],
    series: pd.Series,
    fmts: _CellFormats | list[_CellFormats],
    body: list[BodyColumn] | None,
) -> float:
    """A column's data cells: planned into ``body``, else written; returns the widest."""
    row, col = first
    if body is not None:
        cells, shown = plan_column(series, col, fmts, w.formats.currency, shared_strings(w))
        body.append(cells)
        return shown
    if isinstance(fmts, list):
        values = series.tolist()
        return max(
            (write_cell(w, row + i, col, v, fmts[i]) for i, v in enumerate(values)), default=0.0
        )
    return _write_column(w, row, col, series, fmts)


def write_table(
    w: Writer,
    table: TableSpec,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    company: str,
    *,
    stream: bool = True,
) -> TableBody | None:
    """Write ``frame`` as the Excel table ``table`` with ``columns`` (module docstring).

    ``company`` signs the header notes. With ``stream`` the data rows are not written
    through xlsxwriter: the returned `TableBody` holds them for `table_body.splice`,
    which puts them into the file once xlsxwriter has closed it (the table then spans
    its header and first row until the splice). Without it every cell is written here
    (and None returned): the same workbook, some ten times slower.
    """
    ws, fm = w.sheet, w.formats
    r0, c0 = table.first_cell
    n = max(len(frame), 1)
    settings: list[SettingRow | None] = []
    if table.table is SETTINGS_TABLE:
        settings = [_written_setting(v) for v in frame[SETTINGS_TABLE.header("setting")].tolist()]
    body: list[BodyColumn] = []
    for j, column in enumerate(columns):
        fill = STYLE.input_fill if column.input_fill else None
        series = frame[column.header] if len(frame) else pd.Series([None], dtype=object)
        fmts: _CellFormats | list[_CellFormats] = _CellFormats.of(fm, column.kind, fill)
        if column.kind == "mixed" and settings:
            kinds = ["mixed" if row is None else row.kind for row in settings]
            fmts = [_CellFormats.of(fm, kind, fill) for kind in kinds]
        content = max(
            text_width(column.header) + 1,
            _data_cells(w, (r0 + 1, c0 + j), series, fmts, body if stream else None),
        )
        width = max(column.width, column_width(content))
        if isinstance(fmts, list):
            ws.set_column(c0 + j, c0 + j, width)
        else:
            # Without a fill the column's own format styles blank and future cells.
            ws.set_column(c0 + j, c0 + j, width, None if fmts.write_blanks else fmts.main)
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
        r0 + (1 if stream else n),
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
    if not stream:
        return None
    rows = TableBody(table.sheet, table.name, r0, n, body)
    rows.probe(ws)
    return rows


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
