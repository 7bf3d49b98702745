"""Find an Excel table (a ``ListObject``) in a workbook package by its name.

A table lives in its own part (``xl/tables/tableN.xml``), related from the sheet that
shows it. `find_table` looks through every sheet's table relationships for a table
whose ``name`` or ``displayName`` is the one asked for (ignoring case) and returns its
place as a `TableRef`: table part, sheet and sheet part, range (1-based rows and
columns), header and totals row counts and column names. A relationship whose target
part is missing is passed over.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_xl.io.package import Package
from pipeline_xl.io.relationships import REL_TABLE
from pipeline_xl.io.sheetxml import area_ref, split_ref

__all__ = ["TableRef", "find_table"]


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
        return area_ref(self.first_row, self.first_col, self.last_row, self.last_col)

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
