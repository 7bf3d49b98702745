"""Rewrite the data rows of an Excel table inside a package, leaving the rest of the sheet.

Used by the refresh for the Snapshots change log and by the import for the Prospects
table. The table keeps its part, name, style and columns; its ``ref`` (and the filter's)
follow the new row count, and so do data validations and conditional formats that
covered exactly the old data rows of a column. Cells of the sheet outside the table's
columns are kept, in every row.

Cells are written the safe way (design notes, section 5): text as inline strings, never
a formula, with a quote-prefix copy of the column's style when it starts with
``= + - @`` (so editing it in Excel keeps it text); dates as serial numbers with the
column's date style; numbers as numbers. A column's style is the one of its first data
cell (else the column's default style), so rewritten cells look like the old ones.

A log that only grows at its end need not be written again: with ``keep_prefix`` the
leading rows the caller knows to be unchanged keep their XML as it is and only the rows
after them are written, so a daily refresh of a 200,000-row log writes a few hundred rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from typing import Literal

import numpy as np
import pandas as pd

from pipeline_xl.io.package import (
    REL_TABLE,
    Package,
    _attrs,
    _decode,
    _set_attr,
    _start_tag,
    xml_escape,
)

__all__ = [
    "QUOTE_STARTS",
    "TableRef",
    "ValueKind",
    "cell_text",
    "col_index",
    "col_letter",
    "excel_serial",
    "find_table",
    "replace_table_rows",
    "split_ref",
]

ValueKind = Literal["text", "number", "date", "auto"]
QUOTE_STARTS = ("=", "+", "-", "@")
_PREFIX = r"(?:[\w.-]+:)?"
_CELL_RE = re.compile(rf"<{_PREFIX}c\b[^>]*?(?:/>|>.*?</{_PREFIX}c\s*>)", re.S)
_ROW_START_RE = re.compile(rf"<{_PREFIX}row\b[^>]*>")
_ROW_NUMBER_RE = re.compile(r"""\sr\s*=\s*["'](\d+)["']""")
_PLAIN_ROW_RE = re.compile(
    rf"""<{_PREFIX}row(?:\s+(?:r|spans|[\w.-]+:dyDescent)\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>"""
)
_SPANS_RE = re.compile(r"""\sspans\s*=\s*["'](\d+):(\d+)["']""")
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_R_ATTR = re.compile(r"""\sr\s*=\s*["']([A-Za-z]{1,3})(\d+)["']""")
_ILLEGAL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # CR too: parsers drop it
_LITERAL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_EPOCH_1900 = date(1899, 12, 30)
_EPOCH_1904 = date(1904, 1, 1)
_MARCH_1900 = date(1900, 3, 1)  # before it, Excel counts a 29 February 1900 that never was
_NEEDS_ESCAPE = re.compile("[&<>_\x00-\x08\x0b-\x1f\ufffe\uffff]")
_SPACE = frozenset(" \t\n\r")
_AFTER_NAME = frozenset(" \t\n\r/>")  # what may follow an attribute value in a start tag
_SHEET_DATA_CLOSE = re.compile(rf"</{_PREFIX}sheetData\s*>")
_SLOW_FIRST = frozenset("=+-@ \t\n\r")  # quote prefix or xml:space needed


# --------------------------------------------------------------------------- references


def col_letter(col: int) -> str:
    """Column letters of a 1-based column number (1 -> A, 28 -> AB)."""
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def col_index(letters: str) -> int:
    """1-based column number of column letters (A -> 1)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def split_ref(ref: str) -> tuple[int, int, int, int]:
    """``A1:H20`` -> (first row, first col, last row, last col), all 1-based."""
    first, _, last = ref.partition(":")
    m1, m2 = _REF_RE.match(first), _REF_RE.match(last or first)
    if m1 is None or m2 is None:
        raise ValueError(f"not a cell range: {ref!r}")
    return int(m1.group(2)), col_index(m1.group(1)), int(m2.group(2)), col_index(m2.group(1))


def _area(r1: int, c1: int, r2: int, c2: int) -> str:
    return f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


# --------------------------------------------------------------------------- cells


def excel_serial(value: date, *, date1904: bool = False) -> float:
    """The Excel serial number of a date or datetime (1900 or 1904 date system).

    In the 1900 system Excel counts a 29 February 1900 that never was, so dates before
    1 March 1900 are one lower than the plain day count from 1899-12-30.
    """
    day = value.date() if isinstance(value, datetime) else value
    epoch = _EPOCH_1904 if date1904 else _EPOCH_1900
    serial = float((day - epoch).days)
    if not date1904 and day < _MARCH_1900:
        serial -= 1.0
    if isinstance(value, datetime):
        moment = value.time()
        serial += (moment.hour * 3600 + moment.minute * 60 + moment.second) / 86400.0
        serial += moment.microsecond / 86_400_000_000.0
    return serial


def cell_text(text: str) -> str:
    """Text for an inline string: XML-escaped, control characters as ``_xHHHH_``.

    A literal ``_xHHHH_`` in the text gets its underscore escaped, so Excel shows it as
    typed.
    """
    text = _LITERAL_ESCAPE.sub(r"_x005F_\1", text)
    text = _ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)
    return xml_escape(text)


def _number_text(x: float) -> str:
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(math.isnan(value))
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


@dataclass
class _ColumnStyle:
    """The style of one table column's data cells and its quote-prefix copy."""

    base: int  # style of a data cell
    default: int  # the column's own default style (what a missing cell shows)
    quoted: int | None = None


class _Styles:
    """Quote-prefix copies of cell formats, appended to ``xl/styles.xml`` when needed."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.part = package.find("xl/styles.xml") or _styles_part(package)
        self._xfs: list[dict[str, str]] | None = None

    def xfs(self) -> list[dict[str, str]]:
        if self._xfs is None:
            self._xfs = [_attrs(_start_tag(x)) for x in self._xf_texts()]
        return self._xfs

    def _xf_texts(self) -> list[str]:
        if self.part is None:
            return []
        text = _decode(self.package.part(self.part))[0]
        m = re.search(rf"<{_PREFIX}cellXfs\b[^>]*>(.*?)</{_PREFIX}cellXfs\s*>", text, re.S)
        if m is None:
            return []
        return re.findall(rf"<{_PREFIX}xf\b[^>]*?(?:/>|>.*?</{_PREFIX}xf\s*>)", m.group(1), re.S)

    def quoted(self, style: int) -> bool:
        xfs = self.xfs()
        return 0 <= style < len(xfs) and xfs[style].get("quotePrefix") in ("1", "true")

    def unquoted(self, style: int) -> int:
        """``style`` itself, or the identical format without the quote prefix."""
        xfs = self.xfs()
        if not self.quoted(style):
            return style
        want = {k: v for k, v in xfs[style].items() if k != "quotePrefix"}
        for i, xf in enumerate(xfs):
            if {k: v for k, v in xf.items() if k != "quotePrefix"} == want and not self.quoted(i):
                return i
        return style

    def quote_of(self, style: int) -> int:
        """The cell format like ``style`` plus ``quotePrefix="1"``, appended if missing."""
        if self.part is None or self.quoted(style):
            return style
        texts = self._xf_texts()
        if not 0 <= style < len(texts):
            return style
        source = texts[style]
        tag = _start_tag(source)
        new_xf = source.replace(tag, _set_attr(tag, "quotePrefix", "1"), 1)
        want = _attrs(_start_tag(new_xf))
        inner = source[len(tag) :]
        for i, text in enumerate(texts):
            if _attrs(_start_tag(text)) == want and text[len(_start_tag(text)) :] == inner:
                return i
        whole, encoding = _decode(self.package.part(self.part))
        m = re.search(rf"(<{_PREFIX}cellXfs\b[^>]*>)(.*?)(</{_PREFIX}cellXfs\s*>)", whole, re.S)
        assert m is not None  # noqa: S101 - found by _xf_texts above
        opening = _set_attr(m.group(1), "count", str(len(texts) + 1))
        whole = whole[: m.start()] + opening + m.group(2) + new_xf + m.group(3) + whole[m.end() :]
        self.package.set_part(self.part, whole.encode(encoding))
        self._xfs = None
        return len(texts)


def _styles_part(package: Package) -> str | None:
    for rel in package.rels(package.workbook_part):
        if rel.type.endswith("/styles") and rel.part and package.has(rel.part):
            return package.find(rel.part)
    return None


class _CellWriter:
    """Cell XML for one table: column styles, the date system, quote-prefix styles."""

    def __init__(
        self, styles: _Styles, columns: dict[int, _ColumnStyle], *, date1904: bool
    ) -> None:
        self.styles = styles
        self.columns = columns
        self.date1904 = date1904

    def cell(self, ref: str, col: int, value: object, kind: ValueKind) -> str | None:  # noqa: PLR0911 - one return per kind of cell
        style = self.columns[col]
        if _is_missing(value) or (isinstance(value, str) and value == ""):
            if style.base != style.default:
                return f'<c r="{ref}" s="{style.base}"/>'
            return None
        if isinstance(value, bool | np.bool_):
            return f'<c r="{ref}"{_s(style.base)} t="b"><v>{int(bool(value))}</v></c>'
        if kind != "text":
            moment = _as_date(value)
            if moment is not None:
                serial = excel_serial(moment, date1904=self.date1904)
                return f'<c r="{ref}"{_s(style.base)}><v>{_number_text(serial)}</v></c>'
            number = _as_number(value)
            if number is not None:
                if not math.isfinite(number):
                    return None
                return f'<c r="{ref}"{_s(style.base)}><v>{_number_text(number)}</v></c>'
        text = _as_text(value)
        s = style.base
        if text.startswith(QUOTE_STARTS):
            if style.quoted is None:
                style.quoted = self.styles.quote_of(style.base)
            s = style.quoted
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f'<c r="{ref}"{_s(s)} t="inlineStr"><is><t{space}>{cell_text(text)}</t></is></c>'

    def column(self, col: int, kind: ValueKind, values: Iterable[object], first: int) -> list[str]:
        """The cells of one column for rows ``first``, ``first + 1``... (``""`` = none).

        Plain text, floats and dates take a fast path; anything else goes through `cell`.
        """
        style = self.columns[col]
        letter = col_letter(col)
        s = _s(style.base)
        blank = style.base != style.default
        epoch = (_EPOCH_1904 if self.date1904 else _EPOCH_1900).toordinal()
        out: list[str] = []
        append = out.append
        for n, v in enumerate(values, first):
            if v is None or v == "":
                append(f'<c r="{letter}{n}"{s}/>' if blank else "")
            elif type(v) is str and v[0] not in _SLOW_FIRST and v[-1] not in _SPACE:
                text = cell_text(v) if _NEEDS_ESCAPE.search(v) else v
                append(f'<c r="{letter}{n}"{s} t="inlineStr"><is><t>{text}</t></is></c>')
            elif type(v) is float and kind != "text" and math.isfinite(v):
                append(f'<c r="{letter}{n}"{s}><v>{_number_text(v)}</v></c>')
            elif type(v) is date and kind != "text" and (self.date1904 or v >= _MARCH_1900):
                append(f'<c r="{letter}{n}"{s}><v>{v.toordinal() - epoch}</v></c>')
            else:
                append(self.cell(f"{letter}{n}", col, v, kind) or "")
        return out


def _s(style: int) -> str:
    return f' s="{style}"' if style else ""


def _as_date(value: object) -> date | None:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    return None


def _as_number(value: object) -> float | None:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    return None


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True, slots=True)
class TableRef:
    """An Excel table: its part, sheet and range (1-based rows and columns)."""

    name: str
    part: str
    sheet: str
    sheet_part: str
    first_row: int
    first_col: int
    last_row: int
    last_col: int
    header_rows: int
    totals_rows: int
    columns: tuple[str, ...]

    @property
    def ref(self) -> str:
        """The table's range, e.g. ``A1:H411``."""
        return _area(self.first_row, self.first_col, self.last_row, self.last_col)

    @property
    def first_data_row(self) -> int:
        """Excel row of the first data row."""
        return self.first_row + self.header_rows

    @property
    def last_data_row(self) -> int:
        """Excel row of the last data row."""
        return self.last_row - self.totals_rows


def find_table(package: Package, name: str) -> TableRef:
    """The table called ``name`` (its name or display name, ignoring case).

    Raises:
        KeyError: no table of that name.

    """
    for sheet in package.sheets():
        for rel in package.rels(sheet.part):
            if rel.type != REL_TABLE or rel.part is None or not package.has(rel.part):
                continue
            root = package.xml(rel.part)
            names = {root.get("name", "").casefold(), root.get("displayName", "").casefold()}
            if name.casefold() not in names:
                continue
            r1, c1, r2, c2 = split_ref(root.get("ref", "A1"))
            columns = tuple(
                el.get("name", "") for el in root.iter() if el.tag.endswith("}tableColumn")
            )
            found = package.find(rel.part)
            assert found is not None  # noqa: S101 - checked by has()
            return TableRef(
                root.get("displayName") or root.get("name") or "",
                found,
                sheet.name,
                sheet.part,
                r1,
                c1,
                r2,
                c2,
                int(root.get("headerRowCount", "1")),
                int(root.get("totalsRowCount", "0")),
                columns,
            )
    raise KeyError(name)


@dataclass
class _Row:
    """One ``<row>`` of sheetData: its number, start tag and where its text is."""

    number: int
    tag: str
    body: str  # the whole sheetData text ("" for a new row)
    start: int
    end: int

    @property
    def text(self) -> str:
        """The row's text (up to the next row)."""
        return self.body[self.start : self.end]

    def cells(self) -> dict[int, str]:
        """The cells by 1-based column (a cell without ``r`` gets one)."""
        out: dict[int, str] = {}
        col = 0
        for m in _CELL_RE.finditer(self.body, self.start + len(self.tag), self.end):
            text = m.group(0)
            ctag = _start_tag(text)
            ref = _R_ATTR.search(ctag)
            if ref:
                col = col_index(ref.group(1))
            else:
                col += 1
                text = text.replace(
                    ctag, _set_attr(ctag, "r", f"{col_letter(col)}{self.number}"), 1
                )
            out[col] = text
        return out

    def span(self) -> tuple[int, int] | None:
        """The ``spans`` attribute as (first, last) column, when given."""
        m = _SPANS_RE.search(self.tag)
        return (int(m.group(1)), int(m.group(2))) if m else None


def _render_row(number: int, tag: str, cells: dict[int, str]) -> str:
    """A row element with ``cells`` (by column) and ``tag``'s other attributes."""
    if tag.endswith("/>"):
        tag = tag[:-2].rstrip() + ">"
    tag = _set_attr(tag, "r", str(number))
    if not cells:
        return _set_attr(tag, "spans", None)[:-1] + "/>"
    cols = sorted(cells)
    tag = _set_attr(tag, "spans", f"{cols[0]}:{cols[-1]}")
    name = re.match(r"<([\w.:-]+)", tag)
    return tag + "".join(cells[c] for c in cols) + f"</{name.group(1) if name else 'row'}>"


def _index_rows(body: str, start: int = 0, count: int | None = None) -> list[_Row]:
    """The rows of sheetData in order, found by their start tags (row text runs to the next).

    ``start``: where to begin, 0 or the start of a row whose tag gives its number;
    ``count``: at most that many rows.
    """
    found = _ROW_START_RE.finditer(body, start)
    limited = found if count is None else islice(found, count + 1)
    starts = [(m.start(), m.group(0)) for m in limited]
    rows: list[_Row] = []
    number = 0
    search = _ROW_NUMBER_RE.search
    ends = [begin for begin, _ in starts[1:]] + [len(body)]
    for (begin, tag), end in zip(starts, ends, strict=True):
        given = search(tag)
        number = int(given.group(1)) if given else number + 1
        rows.append(_Row(number, tag, body, begin, end))
    return rows if count is None else rows[:count]


def _row_start(body: str, number: int, *, from_end: bool = False) -> int | None:
    """Where row ``number`` starts, when its tag begins ``<row r="N"`` as Excel writes it.

    A plain text search, so a long sheet is not parsed to find one row; None when the
    row is absent or spelt otherwise (a prefix, attributes in another order).
    """
    key = f'<row r="{number}"'
    at = body.rfind(key) if from_end else body.find(key)
    if at < 0 or body[at + len(key) : at + len(key) + 1] not in _AFTER_NAME:
        return None
    return at


def _first_row_number(body: str) -> int | None:
    """The number of the first row of sheetData (None when it has none)."""
    m = _ROW_START_RE.search(body)
    if m is None:
        return None
    given = _ROW_NUMBER_RE.search(m.group(0))
    return int(given.group(1)) if given else 1


@dataclass
class _RowIndex:
    """The rows a rewrite reads: from ``origin`` on (all rows when it is 0), by number."""

    origin: int
    rows: list[_Row]
    by_number: dict[int, _Row]


def _index_for(body: str, table: TableRef, keep: int) -> _RowIndex:
    """Index every row, or with ``keep`` kept rows only the last kept one and those after it.

    Rows before it are kept as they are and need no parsing; the first data row is
    indexed too, since it gives the columns' styles. When either row cannot be found by
    `_row_start`, every row is indexed (same result, only slower).
    """
    origin = first = None
    if keep:
        origin = _row_start(body, table.first_data_row + keep - 1, from_end=True)
        first = _row_start(body, table.first_data_row)
    if origin is None or first is None:
        rows = _index_rows(body)
        return _RowIndex(0, rows, {r.number: r for r in rows})
    rows = _index_rows(body, origin)
    by_number = {r.number: r for r in rows}
    if table.first_data_row not in by_number:
        by_number[table.first_data_row] = _index_rows(body, first, 1)[0]
    return _RowIndex(origin, rows, by_number)


def _cell_style(cell: str | None) -> int | None:
    if cell is None:
        return None
    s = _attrs(_start_tag(cell)).get("s")
    return int(s) if s and s.isdigit() else 0


def _col_defaults(head: str) -> dict[int, int]:
    """Default style of each column from ``<cols>`` (columns without one are absent)."""
    out: dict[int, int] = {}
    for m in re.finditer(rf"<{_PREFIX}col\b[^>]*>", head):
        a = _attrs(m.group(0))
        if "style" not in a or not a.get("min", "").isdigit():
            continue
        for c in range(int(a["min"]), int(a.get("max", a["min"])) + 1):
            out[c] = int(a["style"])
    return out


def _check_header(table: TableRef, header: Sequence[str]) -> None:
    old = [c.casefold() for c in table.columns]
    given = [str(h).casefold() for h in header]
    if given[: len(old)] != old or len(set(given)) != len(given):
        raise ValueError(
            f"header {list(header)} must start with the columns of {table.name} "
            f"({list(table.columns)}), new columns after them, no name twice"
        )


def replace_table_rows(
    package: Package,
    table_name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    kinds: Sequence[ValueKind],
    *,
    keep_prefix: int = 0,
) -> TableRef:
    """Replace the data rows of table ``table_name`` with ``rows``; returns the new table.

    ``header`` lists the table's columns in their order, optionally followed by new
    columns (the table grows to the right); ``kinds`` says per column how a value is
    written: ``text`` (always text), ``number`` and ``date`` (numbers and dates as such,
    anything else as text) or ``auto`` (by the value's type). None, NaN, NaT and ``""``
    leave the cell empty. A table keeps at least one (empty) data row, as Excel needs.
    A totals row moves below the new last row.

    ``keep_prefix`` says that the first ``keep_prefix`` of ``rows`` hold the values the
    table's first data rows already hold: their XML is kept byte for byte and only the
    rows after them are written (the range, filter, validations and totals row follow as
    with a full rewrite). Rows this function wrote come out the same either way; rows
    written by another program keep their form (shared strings, a cell's own format).
    Nothing checks the promise: it is the caller's, typically after comparing ``rows``
    with the table as read.

    Raises:
        KeyError: no table of that name.
        ValueError: ``header`` or a row does not fit the table; ``keep_prefix`` is
            negative, exceeds the rows or the table's data rows, or comes with new columns.

    """
    table = find_table(package, table_name)
    _check_header(table, header)
    width = len(header)
    if len(kinds) != width or max(map(len, rows), default=0) > width:
        raise ValueError(f"{table.name}: kinds and rows must have {width} values each")
    _check_keep(table, header, len(rows), keep_prefix)
    text, encoding = _decode(package.part(table.sheet_part))
    head, body, tail = _split_sheet_data(text, table.sheet)
    index = _index_for(body, table, keep_prefix)
    plan = _Rewrite(table, header, index.by_number, keep_prefix)
    writer = _CellWriter(
        _Styles(package), plan.column_styles(head, package), date1904=package.date1904()
    )
    new_rows = rows[keep_prefix:]
    columns = list(zip(*new_rows, strict=True)) if new_rows else [() for _ in header]
    generated = [
        writer.column(table.first_col + j, kinds[j], columns[j], plan.start) for j in range(width)
    ]
    data = ["".join(cells) for cells in zip(*generated, strict=True)] if new_rows else []
    middle = plan.rows(data, generated)
    before = [r for r in index.rows if r.number < plan.touched_from]
    after = [r for r in index.rows if r.number > plan.touched_to]
    head_rows = body[: before[-1].end] if before else body[: index.origin]
    tail_rows = body[after[0].start :] if after else ""
    numbers = [r.number for r in index.rows if not plan.touched_from <= r.number <= plan.touched_to]
    first_number = _first_row_number(body) if index.origin else None
    if first_number is not None:  # the rows before the indexed ones: only the first counts
        numbers.append(first_number)
    numbers += plan.written
    head = _set_dimension(head, numbers, plan.first_col, plan.last_col)
    tail = _extend_ranges(tail, table, plan.last_col, plan.new_last_data)
    new_text = "".join((head, head_rows, *middle, tail_rows, tail))
    package.set_part(table.sheet_part, new_text.encode(encoding))
    package.touch_sheet(table.sheet)
    _update_table_part(package, table, header, plan.new_last)
    return find_table(package, table.name)


def _check_keep(table: TableRef, header: Sequence[str], n_rows: int, keep: int) -> None:
    data_rows = table.last_data_row - table.first_data_row + 1
    if keep < 0 or keep > min(n_rows, data_rows):
        raise ValueError(
            f"{table.name}: keep_prefix={keep} must be between 0 and the number of rows "
            f"given ({n_rows}) and held ({data_rows})"
        )
    if keep and len(header) > len(table.columns):
        raise ValueError(f"{table.name}: rows cannot be kept while columns are added")


def _split_sheet_data(text: str, sheet: str) -> tuple[str, str, str]:
    """The sheet XML before the rows (through ``<sheetData>``), the rows, and the rest."""
    m = re.search(rf"<({_PREFIX})sheetData\b[^>]*?(/?)>", text)
    if m is None:
        raise ValueError(f"{sheet}: the sheet part has no sheetData")
    if m.group(2):
        opening = m.group(0)[:-2].rstrip() + ">"
        return text[: m.start()] + opening, "", f"</{m.group(1)}sheetData>" + text[m.end() :]
    close = _sheet_data_close(text, m.end())
    if close is None:
        raise ValueError(f"{sheet}: the sheet part is damaged (sheetData not closed)")
    return text[: m.end()], text[m.end() : close.start()], text[close.start() :]


def _sheet_data_close(text: str, start: int) -> re.Match[str] | None:
    """The ``</sheetData>`` tag after ``start``, looked for from the end of a long sheet first."""
    at = text.rfind("sheetData", start)
    opening = text.rfind("<", start, at) if at >= 0 else -1
    found = _SHEET_DATA_CLOSE.match(text, opening) if opening >= 0 else None
    return found or _SHEET_DATA_CLOSE.search(text, start)


class _Rewrite:
    """Which rows a table rewrite touches, and their new text.

    With ``keep`` kept rows the rewrite starts after the first ``keep`` data rows, at
    Excel row ``start``: the rows before it are neither read nor written.
    """

    def __init__(
        self, table: TableRef, header: Sequence[str], by_number: dict[int, _Row], keep: int = 0
    ) -> None:
        self.table = table
        self.by_number = by_number
        self.first_col = table.first_col
        self.last_col = table.first_col + len(header) - 1
        self.first_data = table.first_data_row
        self.keep = keep
        self.start = self.first_data + keep
        self.grows = len(header) > len(table.columns)
        self.touched_from = table.first_row if self.grows else self.start
        self.header_cells = _header_cells(table, header, by_number) if self.grows else {}
        self.totals: dict[int, str] = {}
        if table.totals_rows and table.last_row in by_number:
            old = by_number[table.last_row].cells()
            self.totals = {c: t for c, t in old.items() if self.inside(c)}
        self.new_last_data = self.first_data
        self.new_last = self.first_data + table.totals_rows
        self.touched_to = max(table.last_row, self.new_last)
        self.written: list[int] = []

    def inside(self, col: int) -> bool:
        return self.first_col <= col <= self.last_col

    def column_styles(self, head: str, package: Package) -> dict[int, _ColumnStyle]:
        """Each column's data style: its first data cell's, else the column default."""
        first = self.by_number.get(self.first_data)
        first_cells = first.cells() if first is not None else {}
        styles = _Styles(package)
        defaults = _col_defaults(head)
        out: dict[int, _ColumnStyle] = {}
        for c in range(self.first_col, self.last_col + 1):
            default = defaults.get(c, 0)
            found = _cell_style(first_cells.get(c))
            out[c] = _ColumnStyle(styles.unquoted(found if found is not None else default), default)
        return out

    def _simple(self, row: _Row) -> bool:
        """A plain row whose cells all sit inside the table's columns."""
        if not _plain_row(row.tag):
            return False
        span = row.span()
        if span is not None:
            return self.inside(span[0]) and self.inside(span[1])
        return all(self.inside(c) for c in row.cells())

    def rows(self, data: list[str], generated: list[list[str]]) -> list[str]:
        """The new texts of the touched rows, in order (``data``: new data rows' cells).

        ``data`` and ``generated`` start at row ``start``, after the kept rows.
        """
        n = max(self.keep + len(data), 1)
        self.new_last_data = self.first_data + n - 1
        self.new_last = self.new_last_data + self.table.totals_rows
        self.touched_to = max(self.table.last_row, self.new_last)
        spans = f' spans="{self.first_col}:{self.last_col}"'
        out: list[str] = []
        for number in range(self.touched_from, self.touched_to + 1):
            row = self.by_number.get(number)
            i = number - self.start
            if self.first_data <= number <= self.new_last_data and (
                row is None or self._simple(row)
            ):
                cells = data[i] if i < len(data) else ""
                if cells:
                    out.append(f'<row r="{number}"{spans}>{cells}</row>')
                    self.written.append(number)
                continue
            if row is None and not (self.new_last_data < number <= self.new_last):
                continue
            current = row or _Row(number, "<row>", "", 0, 0)
            kept = {c: t for c, t in current.cells().items() if not self.inside(c)}
            if number < self.first_data:
                new = {c: t for c, t in current.cells().items() if self.inside(c)}
                new |= self.header_cells.get(number, {})
            elif number <= self.new_last_data:
                new = {
                    self.first_col + j: column[i]
                    for j, column in enumerate(generated)
                    if i < len(column) and column[i]
                }
            elif number <= self.new_last:
                new = {c: _move_cell(t, c, number) for c, t in self.totals.items()}
            else:
                new = {}
            cells_by_col = kept | new
            if not cells_by_col and (row is None or _plain_row(current.tag)):
                continue
            out.append(_render_row(number, current.tag, cells_by_col))
            if cells_by_col:
                self.written.append(number)
        return out


def _plain_row(tag: str) -> bool:
    """A row start tag with nothing but its number and spans (no height or style)."""
    return _PLAIN_ROW_RE.fullmatch(tag) is not None


def _move_cell(cell: str, col: int, row: int) -> str:
    tag = _start_tag(cell)
    return cell.replace(tag, _set_attr(tag, "r", f"{col_letter(col)}{row}"), 1)


def _header_cells(
    table: TableRef, header: Sequence[str], by_number: dict[int, _Row]
) -> dict[int, dict[int, str]]:
    """Header cells of the new columns (inline strings, styled like the last header)."""
    row_number = table.first_row + table.header_rows - 1
    old = by_number[row_number].cells() if row_number in by_number else {}
    style = _cell_style(old.get(table.last_col)) or 0
    out: dict[int, str] = {}
    for j in range(len(table.columns), len(header)):
        c = table.first_col + j
        text = cell_text(str(header[j]))
        ref = f"{col_letter(c)}{row_number}"
        out[c] = f'<c r="{ref}"{_s(style)} t="inlineStr"><is><t>{text}</t></is></c>'
    return {row_number: out}


def _set_dimension(head: str, numbers: Sequence[int], first_col: int, last_col: int) -> str:
    """``<dimension ref>``: the old columns plus the table's, the rows that hold cells."""
    m = re.search(rf"<{_PREFIX}dimension\b[^>]*?/?>", head)
    if m is None or not numbers:
        return head
    c1, c2 = first_col, last_col
    try:
        _, old_c1, _, old_c2 = split_ref(_attrs(m.group(0)).get("ref", ""))
        c1, c2 = min(c1, old_c1), max(c2, old_c2)
    except ValueError:
        pass
    ref = _area(min(numbers), c1, max(numbers), c2)
    return head[: m.start()] + _set_attr(m.group(0), "ref", ref) + head[m.end() :]


def _extend_ranges(tail: str, table: TableRef, last_col: int, new_last: int) -> str:
    """Validations and conditional formats over a column's old data rows follow the new ones."""
    old_first, old_last = table.first_data_row, table.last_data_row

    def fix_list(value: str) -> str:
        out = []
        for area in value.split():
            try:
                r1, c1, r2, c2 = split_ref(area)
            except ValueError:
                out.append(area)
                continue
            covers = r1 == old_first and r2 == old_last and table.first_col <= c1 <= c2 <= last_col
            out.append(_area(r1, c1, new_last, c2) if covers else area)
        return " ".join(out)

    tail = re.sub(
        r'(\ssqref=")([^"]*)(")', lambda m: m.group(1) + fix_list(m.group(2)) + m.group(3), tail
    )
    return re.sub(
        r"(<xm:sqref>)([^<]*)(</xm:sqref>)",
        lambda m: m.group(1) + fix_list(m.group(2)) + m.group(3),
        tail,
    )


def _update_table_part(
    package: Package, table: TableRef, header: Sequence[str], new_last: int
) -> None:
    text, encoding = _decode(package.part(table.part))
    last_col = table.first_col + len(header) - 1
    ref = _area(table.first_row, table.first_col, new_last, last_col)
    root = re.search(rf"<{_PREFIX}table\b[^>]*>", text)
    if root is None:
        raise ValueError(f"{table.name}: damaged table part")
    text = text[: root.start()] + _set_attr(root.group(0), "ref", ref) + text[root.end() :]
    auto = re.search(rf"<{_PREFIX}autoFilter\b[^>]*?/?>", text)
    if auto is not None:
        filter_last = new_last - table.totals_rows
        filter_ref = _area(table.first_row, table.first_col, filter_last, last_col)
        text = (
            text[: auto.start()] + _set_attr(auto.group(0), "ref", filter_ref) + text[auto.end() :]
        )
    text = re.sub(rf"<{_PREFIX}sortState\b.*?(?:/>|</{_PREFIX}sortState\s*>)", "", text, flags=re.S)
    if len(header) > len(table.columns):
        text = _add_table_columns(text, header[len(table.columns) :])
    package.set_part(table.part, text.encode(encoding))


def _add_table_columns(text: str, names: Iterable[str]) -> str:
    m = re.search(
        rf"(<{_PREFIX}tableColumns\b[^>]*>)(.*?)(</({_PREFIX})tableColumns\s*>)", text, re.S
    )
    if m is None:
        raise ValueError("damaged table part: no tableColumns")
    ids = [int(i) for i in re.findall(r'<(?:[\w.-]+:)?tableColumn\b[^>]*?\sid="(\d+)"', m.group(2))]
    prefix = m.group(4) or ""
    added = ""
    next_id = max(ids, default=0) + 1
    count = len(ids)
    for name in names:
        added += f'<{prefix}tableColumn id="{next_id}" name="{xml_escape(str(name), attr=True)}"/>'
        next_id += 1
        count += 1
    opening = _set_attr(m.group(1), "count", str(count))
    return text[: m.start()] + opening + m.group(2) + added + m.group(3) + text[m.end() :]
