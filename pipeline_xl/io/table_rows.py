"""The rows of a table inside a sheet's ``sheetData``, found and rewritten as text.

A sheet part can hold hundreds of thousands of rows, so rows are not parsed as XML:
`index_for` finds the ``<row>`` start tags (a row's text runs to the next one; a row
without ``r`` follows the one before), and with kept leading rows only the last kept
row and those after it are indexed, found by a plain text search for
``<row r="N"`` as Excel writes it (any other spelling: every row is indexed, same
result, only slower).

`Rewrite` decides the new text of every row a table rewrite touches, from the first
row written (the header row when columns are added, else the first data row after the
kept ones) to the old or new last row, whichever is lower:

* a data row the caller says is unchanged (it holds the values the table's row at the
  same place holds) keeps its text byte for byte: formulas, styles, everything;
* a data row whose cells all sit inside the table's columns (and whose start tag holds
  only its number and spans) is written anew from the generated cells;
* any other row keeps its start tag (height, style, hidden...) and its cells outside
  the table's columns; the cells inside are replaced;
* the totals row moves below the new last data row, its cells moved with it;
* rows that end up with no cell and nothing else to say are dropped.

A column's data style is the one of its first data cell, else the column's default
style from ``<cols>``; a quote-prefix style found there is traded for its plain twin.
Header cells of new columns are inline strings styled like the last old header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import column_index, column_letter, text_cell_xml
from pipeline_xl.io.table_cells import ColumnStyle, QuoteStyles
from pipeline_xl.io.table_ref import TableRef
from pipeline_xl.io.xmledit import PREFIX, set_attr, start_tag, tag_attrs

__all__ = ["Rewrite", "Row", "RowIndex", "first_row_number", "index_for", "split_sheet_data"]

_CELL_RE = re.compile(rf"<{PREFIX}c\b[^>]*?(?:/>|>.*?</{PREFIX}c\s*>)", re.S)
_ROW_START_RE = re.compile(rf"<{PREFIX}row\b[^>]*>")
_ROW_NUMBER_RE = re.compile(r"""\sr\s*=\s*["'](\d+)["']""")
_PLAIN_ROW_RE = re.compile(
    rf"""<{PREFIX}row(?:\s+(?:r|spans|[\w.-]+:dyDescent)\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>"""
)
_SPANS_RE = re.compile(r"""\sspans\s*=\s*["'](\d+):(\d+)["']""")
_R_ATTR = re.compile(r"""\sr\s*=\s*["']([A-Za-z]{1,3})(\d+)["']""")
_AFTER_NAME = frozenset(" \t\n\r/>")  # what may follow an attribute value in a start tag
_SHEET_DATA_CLOSE = re.compile(rf"</{PREFIX}sheetData\s*>")


@dataclass
class Row:
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
            ctag = start_tag(text)
            ref = _R_ATTR.search(ctag)
            if ref:
                col = column_index(ref.group(1))
            else:
                col += 1
                text = text.replace(
                    ctag, set_attr(ctag, "r", f"{column_letter(col)}{self.number}"), 1
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
    tag = set_attr(tag, "r", str(number))
    if not cells:
        return set_attr(tag, "spans", None)[:-1] + "/>"
    cols = sorted(cells)
    tag = set_attr(tag, "spans", f"{cols[0]}:{cols[-1]}")
    name = re.match(r"<([\w.:-]+)", tag)
    return tag + "".join(cells[c] for c in cols) + f"</{name.group(1) if name else 'row'}>"


def _index_rows(body: str, start: int = 0, count: int | None = None) -> list[Row]:
    """The rows of sheetData in order, found by their start tags (row text runs to the next).

    ``start``: where to begin, 0 or the start of a row whose tag gives its number;
    ``count``: at most that many rows.
    """
    found = _ROW_START_RE.finditer(body, start)
    limited = found if count is None else islice(found, count + 1)
    starts = [(m.start(), m.group(0)) for m in limited]
    rows: list[Row] = []
    number = 0
    search = _ROW_NUMBER_RE.search
    ends = [begin for begin, _ in starts[1:]] + [len(body)]
    for (begin, tag), end in zip(starts, ends, strict=True):
        given = search(tag)
        number = int(given.group(1)) if given else number + 1
        rows.append(Row(number, tag, body, begin, end))
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


def first_row_number(body: str) -> int | None:
    """The number of the first row of sheetData (None when it has none)."""
    m = _ROW_START_RE.search(body)
    if m is None:
        return None
    given = _ROW_NUMBER_RE.search(m.group(0))
    return int(given.group(1)) if given else 1


@dataclass
class RowIndex:
    """The rows a rewrite reads: from ``origin`` on (all rows when it is 0), by number."""

    origin: int
    rows: list[Row]
    by_number: dict[int, Row]


def index_for(body: str, table: TableRef, keep: int) -> RowIndex:
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
        return RowIndex(0, rows, {r.number: r for r in rows})
    rows = _index_rows(body, origin)
    by_number = {r.number: r for r in rows}
    if table.first_data_row not in by_number:
        by_number[table.first_data_row] = _index_rows(body, first, 1)[0]
    return RowIndex(origin, rows, by_number)


def _cell_style(cell: str | None) -> int | None:
    if cell is None:
        return None
    s = tag_attrs(start_tag(cell)).get("s")
    return int(s) if s and s.isdigit() else 0


def _col_defaults(head: str) -> dict[int, int]:
    """Default style of each column from ``<cols>`` (columns without one are absent)."""
    out: dict[int, int] = {}
    for m in re.finditer(rf"<{PREFIX}col\b[^>]*>", head):
        a = tag_attrs(m.group(0))
        if "style" not in a or not a.get("min", "").isdigit():
            continue
        for c in range(int(a["min"]), int(a.get("max", a["min"])) + 1):
            out[c] = int(a["style"])
    return out


def split_sheet_data(text: str, sheet: str) -> tuple[str, str, str]:
    """The sheet XML before the rows (through ``<sheetData>``), the rows, and the rest."""
    m = re.search(rf"<({PREFIX})sheetData\b[^>]*?(/?)>", text)
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


class Rewrite:
    """Which rows a table rewrite touches, and their new text.

    With ``keep`` kept rows the rewrite starts after the first ``keep`` data rows, at
    Excel row ``start``: the rows before it are neither read nor written.
    """

    def __init__(
        self,
        table: TableRef,
        header: Sequence[str],
        by_number: dict[int, Row],
        keep: int = 0,
        unchanged: frozenset[int] = frozenset(),
    ) -> None:
        self.table = table
        self.unchanged = unchanged
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
        """Whether 1-based column ``col`` is one of the table's (new) columns."""
        return self.first_col <= col <= self.last_col

    def column_styles(self, head: str, package: Package) -> dict[int, ColumnStyle]:
        """Each column's data style: its first data cell's, else the column default."""
        first = self.by_number.get(self.first_data)
        first_cells = first.cells() if first is not None else {}
        styles = QuoteStyles(package)
        defaults = _col_defaults(head)
        out: dict[int, ColumnStyle] = {}
        for c in range(self.first_col, self.last_col + 1):
            default = defaults.get(c, 0)
            found = _cell_style(first_cells.get(c))
            out[c] = ColumnStyle(styles.unquoted(found if found is not None else default), default)
        return out

    def _simple(self, row: Row) -> bool:
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
            if row is not None and number - self.first_data in self.unchanged:
                out.append(row.text)
                self.written.append(number)
                continue
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
            current = row or Row(number, "<row>", "", 0, 0)
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
    tag = start_tag(cell)
    return cell.replace(tag, set_attr(tag, "r", f"{column_letter(col)}{row}"), 1)


def _header_cells(
    table: TableRef, header: Sequence[str], by_number: dict[int, Row]
) -> dict[int, dict[int, str]]:
    """Header cells of the new columns (inline strings, styled like the last header)."""
    row_number = table.first_row + table.header_rows - 1
    old = by_number[row_number].cells() if row_number in by_number else {}
    style = _cell_style(old.get(table.last_col)) or 0
    out: dict[int, str] = {}
    for j in range(len(table.columns), len(header)):
        c = table.first_col + j
        out[c] = text_cell_xml(f"{column_letter(c)}{row_number}", str(header[j]), style)
    return {row_number: out}
