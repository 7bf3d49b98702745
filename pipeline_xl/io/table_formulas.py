"""What a table rewrite keeps of the cells it replaces: formulas, per-cell styles.

`OldCells` reads the cells a rewrite is about to replace, from the sheet's rows as
found (`table_rows.Row`):

* a formula in one of the user's own columns stays a formula: the cell is written with
  its ``<f>`` element as it was (a shared formula stays shared) and without its cached
  value, which the new row's values may have made stale (Excel recalculates on
  opening: `pipeline_xl.io.package.Package.recalculate_on_load`);
* a calculated column, a user's column with one formula per row (the same formula,
  relative to its row: ``=G2*2``, ``=G3*2`` ...), or one the table part declares with
  ``calculatedColumnFormula``, gives new rows the formula of the last data row moved
  down (`formula_refs.shift_formula`), as Excel fills a table's new rows;
* a cell's own style (a fill, a number format) is kept where the cell is written anew.

`repair_shared` mends shared formulas whose first cell (the one holding the formula
text) was replaced by a value: the cells that relied on it get the formula written out.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pipeline_xl.io.formula_refs import shift_formula
from pipeline_xl.io.sheetxml import column_index, xml_escape, xml_unescape
from pipeline_xl.io.table_rows import Row
from pipeline_xl.io.xmledit import PREFIX, set_attr, start_tag, tag_attrs

__all__ = ["OldCells", "formula_cell_xml", "repair_shared"]

_F_RE = re.compile(rf"<{PREFIX}f\b[^>]*?(?:/>|>.*?</{PREFIX}f\s*>)", re.S)
_VALUE_RE = re.compile(
    rf"<{PREFIX}v\b[^>]*?(?:/>|>.*?</{PREFIX}v\s*>)|<{PREFIX}is\b.*?</{PREFIX}is\s*>", re.S
)
_CELL_START = re.compile(rf"<{PREFIX}c\b[^>]*>")
_R_ATTR = re.compile(r"""\br\s*=\s*["']([A-Za-z]{1,3})(\d+)["']""")


def _formula_element(cell: str) -> str | None:
    m = _F_RE.search(cell)
    return m.group(0) if m else None


def _inner(element: str) -> str:
    tag = start_tag(element)
    if tag.endswith("/>"):
        return ""
    return xml_unescape(element[len(tag) : element.rindex("</")])


def formula_cell_xml(ref: str, formula: str, style: int = 0) -> str:
    """A cell at ``ref`` holding ``formula`` (without ``=``) and no cached value."""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s}><f>{xml_escape(formula)}</f></c>'


class OldCells:
    """The cells of the rows a rewrite replaces, by Excel row and 1-based column."""

    def __init__(self, by_number: dict[int, Row], body: str) -> None:
        """Read cells from ``by_number``; ``body`` is the sheetData text (shared formulas)."""
        self.by_number = by_number
        self.body = body
        self._rows: dict[int, dict[int, str]] = {}
        self._masters: dict[str, tuple[str, int, int]] | None = None

    def cell(self, row: int, col: int) -> str | None:
        """The cell's XML as found, or None."""
        if row not in self._rows:
            found = self.by_number.get(row)
            self._rows[row] = found.cells() if found is not None else {}
        return self._rows[row].get(col)

    def style(self, row: int, col: int) -> int | None:
        """The cell's own style (0 when it names none), None when there is no cell."""
        cell = self.cell(row, col)
        if cell is None:
            return None
        s = tag_attrs(start_tag(cell)).get("s", "0")
        return int(s) if s.isdigit() else 0

    def kept_formula(self, row: int, col: int) -> str | None:
        """The cell with its formula as found and no cached value (None: no formula)."""
        cell = self.cell(row, col)
        if cell is None or _formula_element(cell) is None:
            return None
        tag = start_tag(cell)
        new_tag = set_attr(set_attr(tag, "t", None), "cm", None)
        if new_tag.endswith("/>"):
            return None
        return new_tag + _VALUE_RE.sub("", cell[len(tag) :])

    def formula(self, row: int, col: int) -> str | None:
        """The cell's formula text (a shared formula written out for this cell), or None."""
        cell = self.cell(row, col)
        element = _formula_element(cell) if cell is not None else None
        if element is None:
            return None
        attrs = tag_attrs(start_tag(element))
        text = _inner(element)
        if attrs.get("t") != "shared" or text:
            return text or None
        master = self.masters().get(attrs.get("si", ""))
        if master is None:
            return None
        formula, m_row, m_col = master
        return shift_formula(formula, row - m_row, col - m_col)

    def masters(self) -> dict[str, tuple[str, int, int]]:
        """Shared formulas of the sheet: ``si`` -> (formula text, row, column)."""
        if self._masters is None:
            self._masters = _shared_masters(self.body)
        return self._masters

    def template(self, col: int, rows: range, *, declared: bool) -> tuple[str, int] | None:
        """The formula new rows of a calculated column take: (formula, row it is for).

        ``rows`` are the table's data rows as found. The column is calculated when every
        one of them holds the same formula relative to its row, or when the table part
        declares it (``declared``) and some rows hold one. None otherwise.
        """
        found: list[tuple[int, str]] = []
        for number in rows:
            if number not in self.by_number:
                continue
            text = self.formula(number, col)
            if text is None:
                if not declared:
                    return None
                continue
            found.append((number, text))
        if not found:
            return None
        first_row, first = found[0]
        if not declared and any(shift_formula(first, n - first_row) != t for n, t in found[1:]):
            return None
        last_row, last = found[-1]
        return last, last_row


def _cell_position(body: str, at: int) -> tuple[int, int] | None:
    """(row, column) of the cell whose content holds position ``at`` of ``body``."""
    start = body.rfind("<", 0, at)
    while start >= 0:
        m = _CELL_START.match(body, start)
        if m is not None:
            ref = _R_ATTR.search(m.group(0))
            return (int(ref.group(2)), column_index(ref.group(1))) if ref else None
        start = body.rfind("<", 0, start)
    return None


def _shared_masters(body: str) -> dict[str, tuple[str, int, int]]:
    out: dict[str, tuple[str, int, int]] = {}
    if "shared" not in body:
        return out
    for m in _F_RE.finditer(body):
        attrs = tag_attrs(start_tag(m.group(0)))
        text = _inner(m.group(0))
        if attrs.get("t") != "shared" or not text or "ref" not in attrs:
            continue
        where = _cell_position(body, m.start())
        if where is not None:
            out.setdefault(attrs.get("si", ""), (text, *where))
    return out


def repair_shared(new_body: str, old_masters: dict[str, tuple[str, int, int]]) -> str:
    """``new_body`` with every shared-formula cell whose master is gone written out.

    ``old_masters`` are the sheet's shared formulas before the rewrite (`OldCells.masters`).
    """
    if "shared" not in new_body or not old_masters:
        return new_body
    present = set(_shared_masters(new_body))
    lost: Collection[str] = set(old_masters) - present
    if not lost:
        return new_body

    def write_out(m: re.Match[str]) -> str:
        attrs = tag_attrs(start_tag(m.group(0)))
        si = attrs.get("si", "")
        if attrs.get("t") != "shared" or si not in lost or _inner(m.group(0)):
            return m.group(0)
        where = _cell_position(new_body, m.start())
        if where is None:
            return m.group(0)
        formula, row, col = old_masters[si]
        text = shift_formula(formula, where[0] - row, where[1] - col)
        name = re.match(r"<([\w.:-]+)", m.group(0))
        element = name.group(1) if name else "f"
        return f"<{element}>{xml_escape(text)}</{element}>"

    return _F_RE.sub(write_out, new_body)
