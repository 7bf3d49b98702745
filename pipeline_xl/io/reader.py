"""Read a workbook's data tables with python-calamine, for validation.

Each known table is read by its Excel table name (``tblProspects``, ...); a workbook
without that table falls back to the sheet of the same name (its used range). Values are
what calamine gives (float, str, date/datetime, bool, time or timedelta), with ``None``
for an empty cell, so `pipeline_xl.core.schema.validate` reads them like cells handed over by
Excel. `RawWorkbook.header_rows` says where each header sits, so issues carry the row
numbers the user sees. Reading 100k rows takes calamine about 2 s where a pure-Python
reader needs 20 (measured on a 2-core machine).

Excel error values (``#N/A``, ``#DIV/0!`` ...) are read as their error text, as Excel
hands them over, so validation reports them with the value as found: calamine gives an
empty cell for them, so the cells of type ``e`` are taken from the sheet XML of each
sheet that holds a table read (`_error_cells`; a plain text search skips sheets without
any).

The file is read once, checked by `zipguard.check_zip` (which inflates every part and
counts the bytes) and only then handed to calamine.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from python_calamine import CalamineError, CalamineWorkbook

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.raw import RawWorkbook
from pipeline_xl.core.validation.reading import HEADER_SCAN, match_headers
from pipeline_xl.io.package import Package
from pipeline_xl.io.parts import read_file
from pipeline_xl.io.sheetxml import column_index, xml_unescape
from pipeline_xl.io.zipguard import check_zip

__all__ = ["is_pipeline_workbook", "read_workbook"]

Rows = list[list[object]]


def _clean(rows: list[list[Any]]) -> Rows:
    """Calamine's ``""`` for an empty cell becomes None, in place (the rows are calamine's own).

    Each row is searched in C (``list.index``); only the empty cells are written.
    """
    for row in rows:
        if "" in row:
            at = row.index("")
            try:
                while True:
                    row[at] = None
                    at = row.index("", at + 1)
            except ValueError:
                continue
    return cast("Rows", rows)


def _header_index(rows: Rows, table: contract.Table) -> int:
    """Index of the header among the first rows, as validation finds it."""
    best, score = 0, 0
    for i, row in enumerate(rows[:HEADER_SCAN]):
        found = len(match_headers(row, table))
        if found > score:
            best, score = i, found
    return best


def _open(data: bytes, name: str) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data), load_tables=True)
    except (CalamineError, OSError, ValueError) as err:
        raise InputError(
            f"{name} cannot be read as an Excel workbook ({err})",
            expected="an .xlsx or .xlsm file saved by Excel",
        ) from err


_ERROR_CELL = re.compile(
    r"""<(?:[\w.-]+:)?c\b([^>]*?\bt\s*=\s*["']e["'][^>]*)>(.*?)</(?:[\w.-]+:)?c\s*>""", re.S
)
_CELL_REF = re.compile(r"""\br\s*=\s*["']([A-Za-z]{1,3})(\d+)["']""")
_VALUE = re.compile(r"<(?:[\w.-]+:)?v\s*>(.*?)</(?:[\w.-]+:)?v\s*>", re.S)


_ERROR_MARKS = (b't="e"', b"t='e'")  # a part without either holds no error cell


def _error_cells(xml: bytes) -> dict[tuple[int, int], str]:
    """The error cells of a sheet part: (0-based row, 0-based column) -> error text."""
    if not any(mark in xml for mark in _ERROR_MARKS):
        return {}
    text = xml.decode("utf-8", errors="replace")
    out: dict[tuple[int, int], str] = {}
    for m in _ERROR_CELL.finditer(text):
        ref = _CELL_REF.search(m.group(1))
        value = _VALUE.search(m.group(2))
        if ref is None or value is None:
            continue
        code = xml_unescape(value.group(1)).strip()
        if code:
            out[int(ref.group(2)) - 1, column_index(ref.group(1)) - 1] = code
    return out


def _put_errors(
    data: bytes,
    name: str,
    places: Iterable[tuple[str, Rows, int, int]],
    flagged: frozenset[str] | None = None,
) -> None:
    """Write the error texts into the rows read: (sheet, rows, first row, first column).

    ``rows[i][j]`` is the cell at 0-based row ``first row + i`` and column ``first column
    + j`` of the sheet. ``flagged``: the parts that may hold error cells (all: None).
    """
    package: Package | None = None
    found: dict[str, dict[tuple[int, int], str]] = {}
    for sheet, rows, top, left in places:
        if sheet not in found:
            if package is None:
                package = Package(data, name=name)
            try:
                part = package.sheet(sheet).part
            except KeyError:
                part = ""
            maybe = package.has(part) and (flagged is None or package.find(part) in flagged)
            found[sheet] = _error_cells(package.part(part)) if maybe else {}
        for (r, c), code in found[sheet].items():
            i, j = r - top, c - left
            if 0 <= i < len(rows) and 0 <= j < len(rows[i]):
                rows[i][j] = code


def read_workbook(
    source: str | os.PathLike[str] | bytes, *, name: str | None = None
) -> RawWorkbook:
    """Read the known tables of a workbook (path or bytes) after `check_zip`.

    Raises:
        InputError: the file is missing, refused by `check_zip` or unreadable.

    """
    label = name or (Path(source).name if not isinstance(source, bytes) else "the workbook")
    data = source if isinstance(source, bytes) else read_file(Path(source))
    flagged = check_zip(data, name=label, find=_ERROR_MARKS)
    book = _open(data, label)
    places: list[tuple[str, Rows, int, int]] = []
    try:
        tables: dict[str, Rows] = {}
        header_rows: dict[str, int] = {}
        sources: dict[str, str] = {}
        known_tables = {t.casefold(): t for t in (book.table_names or [])}
        sheets = {s.casefold(): s for s in book.sheet_names}
        for spec in contract.DATA_TABLES:
            logical = spec.sheet
            found = known_tables.get(spec.name.casefold())
            try:
                if found is not None:
                    table = book.get_table_by_name(found)
                    data_rows = _clean(table.to_python())
                    tables[logical] = [list(table.columns), *data_rows]
                    start = table.start
                    header_rows[logical] = start[0] if start else 1
                    sources[logical] = found
                    if start:
                        places.append((table.sheet, data_rows, start[0], start[1]))
                    continue
                sheet_name = sheets.get(logical.casefold())
                if sheet_name is None:
                    continue
                sheet = book.get_sheet_by_name(sheet_name)
                rows = _clean(sheet.to_python(skip_empty_area=True))
            except CalamineError as err:
                raise InputError(
                    f"{label}: the {logical} table cannot be read ({err})",
                    sheet=logical,
                    expected="a table saved by Excel",
                ) from err
            if not rows:
                continue
            tables[logical] = rows
            first = sheet.start
            header_rows[logical] = (first[0] if first else 0) + 1 + _header_index(rows, spec)
            sources[logical] = f"sheet {sheet_name}"
            places.append((sheet_name, rows, *(first or (0, 0))))
        names = tuple(book.sheet_names)
    finally:
        book.close()
    if flagged:
        _put_errors(data, label, places, flagged)
    return RawWorkbook(
        label,
        MappingProxyType(tables),
        MappingProxyType(header_rows),
        MappingProxyType(sources),
        names,
        MappingProxyType(Package(data, name=label).workbook_names()),
    )


_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})


def is_pipeline_workbook(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a pipeline workbook (Prospects and Stages sheets), not an export.

    Raises:
        InputError: an ``.xlsx``/``.xlsm`` file refused by `check_zip` (a zip bomb).

    """
    target = Path(path)
    if target.suffix.lower() not in _WORKBOOK_SUFFIXES or not target.is_file():
        return False
    data = read_file(target)
    try:
        check_zip(data, name=target.name)
    except InputError:
        if zipfile.is_zipfile(io.BytesIO(data)):
            raise
        return False  # not a zip: treat it as an export
    try:
        names = CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names
    except (CalamineError, OSError, ValueError):
        return False  # not readable as a workbook: treat it as an export
    return contract.PROSPECTS.sheet in names and contract.STAGES.sheet in names
