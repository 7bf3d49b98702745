"""Room for a table to grow: it never covers what the user put below or beside it.

A table that gains rows (an import adding deals, the Snapshots log adding a day) or
columns takes cells that were outside it. `check_room` looks at every one of them
before anything is written and refuses (`InputError`) when one holds something of the
user's, naming the first such cell (top to bottom, left to right):

* a cell with a value or a formula (an empty cell that only carries a style is free);
* merged cells, a hyperlink, a comment or note (legacy and threaded);
* a data validation that lies outside the table (one that covers table rows too is the
  table's own, grown with it);
* a picture, chart, shape or form control anchored on the cells (drawings and legacy
  drawings; a note's own box is not counted, its comment is);
* another table.

Nothing is moved: the message says which cell is in the way and what the table needs,
so the user can make room, and the workbook is left as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.package import Package
from pipeline_xl.io.relationships import R_NAMESPACE, REL_DRAWING, REL_TABLE
from pipeline_xl.io.sheetxml import area_ref, cell_ref, split_ref
from pipeline_xl.io.table_ref import TableRef
from pipeline_xl.io.table_rows import Row
from pipeline_xl.io.xmledit import PREFIX, decode, start_tag, tag_attrs

__all__ = ["Area", "check_room"]

_REL_COMMENTS = f"{R_NAMESPACE}/comments"
_REL_VML = f"{R_NAMESPACE}/vmlDrawing"
_THREADED = "/threadedComment"
_CELL_RE = re.compile(rf"<{PREFIX}c\b[^>]*?(?:/>|>(.*?)</{PREFIX}c\s*>)", re.S)
_HAS_VALUE = re.compile(rf"<{PREFIX}(?:v|t)\b[^>]*>\s*[^<\s]", re.S)
_HAS_FORMULA = re.compile(rf"<{PREFIX}f\b")
_REF_ATTR = re.compile(r"""\bref\s*=\s*["']([^"']+)["']""")
_SQREF = re.compile(r"""\ssqref\s*=\s*["']([^"']*)["']|<xm:sqref>([^<]*)</xm:sqref>""")
_VALIDATION = re.compile(rf"<{PREFIX}dataValidation\b.*?(?:/>|</{PREFIX}dataValidation\s*>)", re.S)
_ANCHOR = re.compile(rf"<({PREFIX})(twoCellAnchor|oneCellAnchor)\b.*?</\1\2\s*>", re.S)
_FROM_TO = re.compile(
    rf"<{PREFIX}(from|to)\b[^>]*>.*?<{PREFIX}col>\s*(\d+)\s*</{PREFIX}col>.*?"
    rf"<{PREFIX}row>\s*(\d+)\s*</{PREFIX}row>",
    re.S,
)
_VML_SHAPE = re.compile(r"<(?:[\w.-]+:)?shape\b.*?</(?:[\w.-]+:)?shape\s*>", re.S)
_VML_ANCHOR = re.compile(r"<(?:[\w.-]+:)?Anchor>([^<]*)</(?:[\w.-]+:)?Anchor>")


@dataclass(frozen=True, slots=True)
class Area:
    """A block of cells, 1-based and inclusive."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int

    def overlap(self, other: Area) -> Area | None:
        """The cells both hold, or None."""
        r1, c1 = max(self.first_row, other.first_row), max(self.first_col, other.first_col)
        r2, c2 = min(self.last_row, other.last_row), min(self.last_col, other.last_col)
        return Area(r1, c1, r2, c2) if r1 <= r2 and c1 <= c2 else None

    @property
    def ref(self) -> str:
        """``A1:C4`` (one cell: ``A1``)."""
        if (self.first_row, self.first_col) == (self.last_row, self.last_col):
            return cell_ref(self.first_row, self.first_col)
        return area_ref(self.first_row, self.first_col, self.last_row, self.last_col)

    @classmethod
    def of(cls, ref: str) -> Area | None:
        """The area of ``A1`` or ``A1:C4`` (None when it is not one)."""
        try:
            r1, c1, r2, c2 = split_ref(ref.replace("$", ""))
        except ValueError:
            return None
        return cls(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))


def _new_cells(old: Area, new: Area) -> list[Area]:
    """The cells of ``new`` outside ``old`` (below it, and to its right)."""
    out = []
    if new.last_row > old.last_row:
        out.append(Area(old.last_row + 1, new.first_col, new.last_row, new.last_col))
    if new.last_col > old.last_col:
        last = min(old.last_row, new.last_row)
        out.append(Area(new.first_row, old.last_col + 1, last, new.last_col))
    return out


def check_room(
    package: Package, table: TableRef, rows: Iterable[Row], tail: str, new: Area
) -> None:
    """Refuse when the cells ``table`` gains by taking area ``new`` hold anything.

    ``rows`` are the sheet's rows from the table's last data row on (at least);
    ``tail`` is the sheet XML after ``sheetData`` (merges, validations, hyperlinks).

    Raises:
        InputError: the first cell in the way, what is there and what the table needs.

    """
    old = Area(table.first_row, table.first_col, table.last_row, table.last_col)
    gained = _new_cells(old, new)
    if not gained:
        return
    found: list[tuple[int, int, str]] = []
    for kind, area in _occupied(package, table, rows, tail, old=old, gained=gained):
        for part in gained:
            hit = part.overlap(area)
            if hit is not None:
                found.append((hit.first_row, hit.first_col, kind))
    if not found:
        return
    row, col, kind = min(found)
    raise InputError(
        f"{table.sheet}!{cell_ref(row, col)} {kind}, where {table.name} would grow "
        f"(it needs {new.ref} for its rows): nothing was written",
        expected="free cells below and beside the table: move what is there further "
        "down or to another sheet, then try again",
    )


def _occupied(
    package: Package,
    table: TableRef,
    rows: Iterable[Row],
    tail: str,
    *,
    old: Area,
    gained: list[Area],
) -> Iterator[tuple[str, Area]]:
    """Everything of the user's on the sheet that could be in the way, with its area."""
    top = min(a.first_row for a in gained)
    bottom = max(a.last_row for a in gained)
    for row in rows:
        if top <= row.number <= bottom:
            for col, cell in row.cells().items():
                what = _cell_content(cell)
                if what:
                    yield what, Area(row.number, col, row.number, col)
    yield from _tail_items(tail, old)
    yield from _related_items(package, table)


def _cell_content(cell: str) -> str | None:
    m = _CELL_RE.match(cell)
    inner = (m.group(1) or "") if m else ""
    if _HAS_FORMULA.search(inner):
        return "holds a formula"
    if _HAS_VALUE.search(inner):
        return "holds a value"
    return None


def _tail_items(tail: str, old: Area) -> Iterator[tuple[str, Area]]:
    for m in re.finditer(rf"<{PREFIX}mergeCell\b[^>]*>", tail):
        area = Area.of(tag_attrs(m.group(0)).get("ref", ""))
        if area is not None:
            yield f"is part of the merged cells {area.ref}", area
    for m in re.finditer(rf"<{PREFIX}hyperlink\b[^>]*>", tail):
        area = Area.of(tag_attrs(m.group(0)).get("ref", ""))
        if area is not None:
            yield "has a hyperlink", area
    for m in _VALIDATION.finditer(tail):
        for sq in _SQREF.finditer(m.group(0)):
            for ref in (sq.group(1) or sq.group(2) or "").split():
                area = Area.of(ref)
                if area is not None and area.overlap(old) is None:
                    yield f"has a data validation ({area.ref})", area


def _related_items(package: Package, table: TableRef) -> Iterator[tuple[str, Area]]:
    for rel in package.rels(table.sheet_part):
        if rel.external or rel.part is None or not package.has(rel.part):
            continue
        if rel.type == REL_TABLE and package.find(rel.part) != table.part:
            root = package.xml(rel.part)
            area = Area.of(root.get("ref", ""))
            if area is not None:
                name = root.get("displayName") or root.get("name") or "another table"
                yield f"is part of the table {name} ({area.ref})", area
            continue
        text = decode(package.part(rel.part))[0]
        if rel.type == _REL_COMMENTS or rel.type.endswith(_THREADED):
            for m in re.finditer(rf"<{PREFIX}(?:comment|threadedComment)\b[^>]*>", text):
                ref = _REF_ATTR.search(start_tag(m.group(0)))
                area = Area.of(ref.group(1)) if ref else None
                if area is not None:
                    yield "has a comment", area
        elif rel.type == REL_DRAWING:
            yield from _drawing_anchors(text)
        elif rel.type == _REL_VML:
            yield from _vml_anchors(text)


def _drawing_anchors(text: str) -> Iterator[tuple[str, Area]]:
    """The cells under each picture, chart or shape anchored to cells (0-based in XML)."""
    for m in _ANCHOR.finditer(text):
        ends = {k: (int(c) + 1, int(r) + 1) for k, c, r in _FROM_TO.findall(m.group(0))}
        if "from" not in ends:
            continue
        c1, r1 = ends["from"]
        c2, r2 = ends.get("to", ends["from"])
        yield "has a picture, chart or shape over it", Area(r1, c1, max(r1, r2), max(c1, c2))


def _vml_anchors(text: str) -> Iterator[tuple[str, Area]]:
    """Form controls and other legacy shapes (a note's box is left to its comment)."""
    for m in _VML_SHAPE.finditer(text):
        shape = m.group(0)
        if re.search(r"""ObjectType\s*=\s*["']Note["']""", shape):
            continue
        anchor = _VML_ANCHOR.search(shape)
        numbers = [p.strip() for p in anchor.group(1).split(",")] if anchor else []
        if len(numbers) != 8 or not all(n.isdigit() for n in numbers):
            continue
        c1, _, r1, _, c2, _, r2, _ = map(int, numbers)
        yield "has a button or form control over it", Area(r1 + 1, c1 + 1, r2 + 1, c2 + 1)
