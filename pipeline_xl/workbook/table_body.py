"""The data rows of the ready workbook's tables, written as sheet XML after xlsxwriter.

xlsxwriter keeps every cell as a Python object until the file closes and then writes it,
some ten microseconds a cell, and it cannot stream a sheet that holds a table; a sample
company of 100,000 prospects has millions of cells. The builder has xlsxwriter write
everything else (header rows, column formats and widths, validations, notes, the tables
over their header and first row), and the data rows are written here:

* `data_sheets.write_table` decides every cell as `data_sheets.write_cell` would write it
  (its format, its value), a column at a time, into a `TableBody`;
* `TableBody.probe` writes through xlsxwriter one empty cell in each format, where the
  rows first use that format (row by row, left to right), so xlsxwriter numbers the
  formats exactly as it does with every cell written;
* `splice`, once xlsxwriter has closed the file, puts the rows into each sheet part in
  place of the probes (cells of tables side by side merged row by row), sets the sheet's
  ``<dimension>`` and row ``spans`` as xlsxwriter computes them, and stretches each
  table's range over its rows.

The parts come out byte for byte as xlsxwriter writes them cell by cell: the texts go
into its shared-string table in the order it would add them (`data_sheets.shared_strings`),
numbers are written as it writes them, and a test builds workbooks both ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import area_ref, cell_ref, column_letter
from pipeline_xl.io.table_rows import split_sheet_data
from pipeline_xl.io.tables import find_table
from pipeline_xl.io.xmledit import PREFIX, decode, set_attr

__all__ = ["BodyColumn", "TableBody", "splice"]

_SPAN_ROWS = 16  # xlsxwriter gives each block of 16 rows the columns its cells span
_DIMENSION = re.compile(rf"<{PREFIX}dimension\b[^>]*?/>")
_ROW_START = re.compile(rf"<{PREFIX}row\b[^>]*>")
_ROW_NUMBER = re.compile(r"""\sr\s*=\s*["'](\d+)["']""")
_SPANS = re.compile(r"""\sspans\s*=\s*["'](\d+):(\d+)["']""")


@dataclass
class BodyColumn:
    """One column's data cells: each cell's format and its XML after the style.

    ``styles[i]`` is the place of cell ``i``'s format in ``formats`` (-1: no cell);
    ``tails[i]`` the cell's XML after its style attribute: ``/>`` for an empty cell,
    ``><v>12</v></c>`` for a number, `` t="s"><v>3</v></c>`` for a shared string.
    """

    col: int  # 0-based sheet column
    formats: Sequence[Format]
    styles: npt.NDArray[np.int16]
    tails: Sequence[str]

    def firsts(self) -> list[tuple[int, Format]]:
        """Each format's first row (0-based, in the column's rows)."""
        codes, at = np.unique(self.styles, return_index=True)
        return [(int(i), self.formats[c]) for c, i in zip(codes, at, strict=True) if c >= 0]

    def cells(self, numbers: Sequence[str]) -> list[str]:
        """Each row's cell XML ('' for none); ``numbers``: the rows' numbers as text."""
        head = f'<c r="{column_letter(self.col + 1)}'
        style = [f'" s="{fmt.xf_index}"' for fmt in self.formats] + [""]
        return [
            f"{head}{number}{style[code]}{tail}" if code >= 0 else ""
            for number, code, tail in zip(numbers, self.styles.tolist(), self.tails, strict=True)
        ]


@dataclass
class TableBody:
    """The data rows of one table: its place and its columns' cells."""

    sheet: str
    table: str
    first_row: int  # 0-based row of the header
    rows: int  # data rows
    columns: Sequence[BodyColumn]

    def first_uses(self) -> list[tuple[int, int, Format]]:
        """Each format's first cell, row by row and left to right: (row, col, format)."""
        firsts: dict[int, tuple[int, int, Format]] = {}
        for column in self.columns:
            for i, fmt in column.firsts():
                place = (self.first_row + 1 + i, column.col, fmt)
                known = firsts.get(id(fmt))
                if known is None or place[:2] < known[:2]:
                    firsts[id(fmt)] = place
        return sorted(firsts.values(), key=lambda p: (p[0], p[1]))

    def probe(self, ws: Worksheet) -> None:
        """Write an empty cell in each format where the rows first use it (module notes)."""
        for row, col, fmt in self.first_uses():
            ws.write_blank(row, col, None, fmt)


def _spans(
    lows: npt.NDArray[np.int64],
    highs: npt.NDArray[np.int64],
    first: int,
    header: dict[int, tuple[int, int]],
) -> dict[int, str]:
    """The ``spans`` of each block of 16 rows, over its data and ``header`` rows.

    ``lows`` / ``highs``: per sheet row from ``first`` (1-based) on, its lowest and highest
    column with a cell (1-based; big and 0 for a row without one).
    """
    numbers = np.arange(len(lows)) + first
    blocks = (numbers - 1) // _SPAN_ROWS
    starts = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1]])
    block_low = np.minimum.reduceat(lows, starts) if len(lows) else lows
    block_high = np.maximum.reduceat(highs, starts) if len(highs) else highs
    spans = {
        int(b): (int(lo), int(hi))
        for b, lo, hi in zip(blocks[starts], block_low, block_high, strict=True)
    }
    for number, (h_low, h_high) in header.items():
        block = (number - 1) // _SPAN_ROWS
        lo, hi = spans.get(block, (h_low, h_high))
        spans[block] = (min(lo, h_low), max(hi, h_high))
    return {b: f"{lo}:{hi}" for b, (lo, hi) in spans.items() if hi}


def _sheet_rows(bodies: Sequence[TableBody], kept: str) -> tuple[str, list[int], int, int]:
    """The new rows of a sheet after its kept rows (the headers): XML, row numbers, columns.

    ``kept`` is the sheet's rows through the last header row, as xlsxwriter wrote them.
    """
    first = min(b.first_row for b in bodies) + 2
    last = max(b.first_row + 1 + b.rows for b in bodies)
    header = {}
    for m in _ROW_START.finditer(kept):
        found = _ROW_NUMBER.search(m.group(0))
        given = _SPANS.search(m.group(0))
        if found is not None and given is not None:
            header[int(found.group(1))] = (int(given.group(1)), int(given.group(2)))
    if last < first:
        return "", [], 0, 0
    size = last - first + 1
    lows = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    highs = np.zeros(size, dtype=np.int64)
    columns: list[tuple[int, list[str]]] = []
    for body in bodies:
        start = body.first_row + 2
        before, after = start - first, last - (start + body.rows - 1)
        labels = [str(n) for n in range(start, start + body.rows)]
        for column in body.columns:
            rows = np.flatnonzero(column.styles >= 0) + (start - first)
            lows[rows] = np.minimum(lows[rows], column.col + 1)
            highs[rows] = np.maximum(highs[rows], column.col + 1)
            cells = column.cells(labels)
            if before or after:
                cells = [""] * before + cells + [""] * after
            columns.append((column.col, cells))
    spans = _spans(lows, highs, first, header)
    ordered = [cells for _, cells in sorted(columns, key=lambda c: c[0])]
    joined = map("".join, zip(*ordered, strict=True))
    parts = []
    numbers = []
    for number, row in enumerate(joined, first):
        if row:
            numbers.append(number)
            parts.append(
                f'<row r="{number}" spans="{spans[(number - 1) // _SPAN_ROWS]}">{row}</row>'
            )
    has = highs > 0
    low = int(lows[has].min()) if has.any() else 0
    high = int(highs[has].max()) if has.any() else 0
    return "".join(parts), numbers, low, high


def _splice_sheet(package: Package, bodies: Sequence[TableBody]) -> None:
    """Replace the probe rows of one sheet with its tables' rows (module notes)."""
    part = package.sheet(bodies[0].sheet).part
    text, encoding = decode(package.part(part))
    head, rows, tail = split_sheet_data(text, bodies[0].sheet)
    last_header = max(b.first_row for b in bodies) + 1  # 1-based
    cut = 0
    for m in _ROW_START.finditer(rows):
        number = _ROW_NUMBER.search(m.group(0))
        if number is not None and int(number.group(1)) > last_header:
            cut = m.start()
            break
    else:
        cut = len(rows)
    kept = rows[:cut]
    new, numbers, low, high = _sheet_rows(bodies, kept)
    head = _dimension(head, kept, numbers, (low, high))
    package.set_part(part, (head + kept + new + tail).encode(encoding))


def _dimension(head: str, kept: str, numbers: list[int], columns: tuple[int, int]) -> str:
    """``<dimension>`` over the kept rows and the new ones, as xlsxwriter computes it."""
    found = _DIMENSION.search(head)
    if found is None or not numbers:
        return head
    ref = re.search(r"""ref\s*=\s*["']([^"']+)["']""", found.group(0))
    if ref is None:
        return head
    first_ref, _, last_ref = ref.group(1).partition(":")
    kept_numbers = [int(n) for n in _ROW_NUMBER.findall("".join(_ROW_START.findall(kept)))]
    low_col, high_col = columns
    top = min([*kept_numbers, *numbers])
    bottom = max([*kept_numbers, *numbers])
    old_first, old_last = _split(first_ref), _split(last_ref or first_ref)
    left = min(low_col, old_first[1])
    right = max(high_col, old_last[1])
    new_ref = area_ref(top, left, bottom, right)
    if (top, left) == (bottom, right):
        new_ref = cell_ref(top, left)
    return head[: found.start()] + set_attr(found.group(0), "ref", new_ref) + head[found.end() :]


def _split(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", ref)
    if m is None:
        return (1, 1)
    letters = m.group(1).upper()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _stretch_table(package: Package, body: TableBody) -> None:
    """The table's range and filter over its header and data rows."""
    table = find_table(package, body.table)
    last = body.first_row + 1 + max(body.rows, 1)  # 1-based; an empty table keeps one row
    text, encoding = decode(package.part(table.part))
    ref = area_ref(table.first_row, table.first_col, last, table.last_col)
    for element in ("table", "autoFilter"):
        found = re.search(rf"<{PREFIX}{element}\b[^>]*>", text)
        if found is not None:
            tag = set_attr(found.group(0), "ref", ref)
            text = text[: found.start()] + tag + text[found.end() :]
    package.set_part(table.part, text.encode(encoding))


def splice(data: bytes, bodies: Iterable[TableBody]) -> bytes:
    """The workbook ``data`` (as xlsxwriter wrote it) with the tables' rows put in."""
    package = Package(data, name="the new workbook")
    by_sheet: dict[str, list[TableBody]] = {}
    for body in bodies:
        by_sheet.setdefault(body.sheet, []).append(body)
        _stretch_table(package, body)
    for sheet_bodies in by_sheet.values():
        _splice_sheet(package, sheet_bodies)
    return package.to_bytes()
