"""The Prospects table after an import (`plan_upsert`): deals matched by ID, cells diffed.

Deals are matched by ID. New IDs are appended after the workbook's rows, in export order;
changed deals get only their mapped cells rewritten (cells compare as
`incoming.same_cell` says: ``1,000`` typed as text equals 1000, a date equals the same
day's datetime); every other column (including columns the user added) and every deal
missing from the export is kept as it is. A mapped field the table lacks gets a new
column at the end; blank rows are dropped; an ID on several workbook rows updates the
first one (reported). When nothing differs the table is left as it was read.

Columns are found by their headers (`contract.PROSPECTS`: the workbook's headers or their
synonyms). Each column of the result says how the writer stores it (`WriteKind`): by its
field's kind, ``auto`` for the user's own columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from pipeline_xl.core.cells import clean_text, clean_texts, is_blank, parse_numbers
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.core.crm.incoming import Incoming, Kind, Note, ObjectArray, kind_of, same_cell
from pipeline_xl.core.dates import parse_dates
from pipeline_xl.core.display import counted, shown
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.schema import match_headers

__all__ = ["UpsertPlan", "WriteKind", "plan_upsert"]

WriteKind = Literal["text", "number", "date", "auto"]
"""How the writer stores a column: text, number, date, or as the cell comes (``auto``)."""
_WRITE_KINDS: dict[Kind, WriteKind] = {
    "text": "text",
    "number": "number",
    "rate": "number",
    "date": "date",
}
_PREVIEWED = ("name", "stage", "amount")
"""The fields a preview line shows of a new deal."""


@dataclass
class UpsertPlan:
    """The Prospects table after the import, and what changed.

    ``header``/``rows``: the whole table to write (existing rows first, in their order,
    then the new deals); ``kinds``: how to store each column (text, number, date, or
    ``auto`` for the user's own columns). ``added``: IDs appended; ``updated``: ID ->
    (header, old, new) for each changed cell; ``unchanged``: deals found identical;
    ``kept``: deals of the workbook the export does not have (left as they are).
    """

    header: list[str]
    rows: list[list[object]]
    kinds: list[WriteKind]
    added: list[str] = field(default_factory=list)
    updated: dict[str, list[tuple[str, object, object]]] = field(default_factory=dict)
    unchanged: int = 0
    kept: int = 0
    removed_blank: int = 0
    new_columns: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the table differs from the workbook's (else nothing is written)."""
        return bool(self.added or self.updated or self.new_columns)

    def summary(self) -> list[str]:
        """Counts, conflicts and notes as report lines."""
        counts = (
            f"{len(self.added):,} new, {len(self.updated):,} updated, {self.unchanged:,} "
            f"unchanged; {counted(self.kept, 'deal')} of the workbook not in the export kept "
            f"as {'it is' if self.kept == 1 else 'they are'}"
        )
        lines = [counts]
        if self.new_columns:
            lines.append(f"columns added to the table: {', '.join(self.new_columns)}")
        lines += [f"conflict: {c}" for c in self.conflicts]
        lines += [f"{n.severity}: {n.text}" for n in self.notes]
        return lines

    def preview(self, limit: int = 5) -> list[str]:
        """The first new and updated deals, one line each.

        Values are cut to a short prefix (`display.shown`: the preview of a
        40,000-character name shows its first 40 characters).

        Columns are found as validation finds them (`schema.match_headers`), so a table
        whose ID column is headed "Deal ID" previews like one headed "ID".
        """
        lines = []
        pos = match_headers(self.header, PROSPECTS)
        at = pos["id"]
        index = {str(r[at]): r for r in self.rows[-len(self.added) :]} if self.added else {}
        for key in self.added[:limit]:
            row = index.get(key, [])
            parts = [
                f"{self.header[pos[f]]}={_show(row[pos[f]])}"
                for f in _PREVIEWED
                if f in pos and row and row[pos[f]] is not None
            ]
            lines.append(f"+ {shown(key)}: {', '.join(parts)}")
        if len(self.added) > limit:
            lines.append(f"+ ... {len(self.added) - limit:,} more")
        field_of = {f.header: f.name for f in PROSPECTS.fields}

        def header_of(h: str) -> str:  # the workbook's own header of an incoming field
            at = pos.get(field_of.get(h, ""))
            return self.header[at] if at is not None else h

        for key, cells in list(self.updated.items())[:limit]:
            changes = ", ".join(f"{header_of(h)} {_show(a)} -> {_show(b)}" for h, a, b in cells[:4])
            lines.append(f"~ {shown(key)}: {changes}")
        if len(self.updated) > limit:
            lines.append(f"~ ... {len(self.updated) - limit:,} more")
        return lines


def _show(value: object) -> str:
    if value is None or is_blank(value):
        return "(blank)"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return repr(shown(clean_text(value)))


def plan_upsert(
    header: Sequence[object], rows: Sequence[Sequence[object]], incoming: Incoming
) -> UpsertPlan:
    """Merge ``incoming`` into the Prospects table ``header`` + ``rows`` (module docstring).

    Columns are found by their headers (the workbook's names or the synonyms of
    `schema.match_headers`); a mapped field the table lacks gets a new column at the
    end. Blank rows are dropped. When an ID is on several workbook rows, the first is
    updated (reported).

    Raises:
        InputError: the table has no ID column.

    """
    head = [clean_text(h) for h in header]
    found = match_headers(head, PROSPECTS)
    if "id" not in found:
        raise InputError(
            f"the {PROSPECTS.sheet} table has no {PROSPECTS.header('id')} column",
            sheet=PROSPECTS.sheet,
            row=1,
            expected=f"an {PROSPECTS.header('id')} column to match deals by",
        )
    field_of = {f.header: f.name for f in PROSPECTS.fields}
    target: dict[str, int] = {}
    new_columns = []
    for h in incoming.values:
        pos = found.get(field_of[h])
        if pos is None:
            head.append(h)
            new_columns.append(h)
            pos = len(head) - 1
        target[h] = pos
    width = len(head)
    table = [list(r) + [None] * (width - len(r)) for r in rows]
    kept_rows = [r for r in table if not all(is_blank(v) for v in r)]
    placed = {**found, **{field_of[h]: target[h] for h in new_columns}}
    plan = UpsertPlan(
        head,
        kept_rows,
        _kinds(head, placed),
        new_columns=new_columns,
        conflicts=list(incoming.conflicts),
    )
    where = _id_rows(kept_rows, found["id"], plan.notes)
    matched = np.asarray([where.get(str(k), -1) for k in incoming.ids.tolist()], dtype=np.int64)
    old, new = np.flatnonzero(matched >= 0), np.flatnonzero(matched < 0)
    changes = _changes(kept_rows, matched[old], old, incoming, target=target, field_of=field_of)
    for j, cells in zip(old.tolist(), changes, strict=True):
        if cells:
            current = kept_rows[int(matched[j])]
            for h, _, value in cells:
                current[target[h]] = value
            plan.updated[str(incoming.ids[j])] = cells
    plan.unchanged = len(old) - len(plan.updated)
    columns = {target[h]: v[new].tolist() for h, v in incoming.values.items()}
    columns[found["id"]] = incoming.ids[new].tolist()
    blank = [None] * len(new)
    kept_rows.extend(map(list, zip(*(columns.get(c, blank) for c in range(width)), strict=True)))
    plan.added = [str(k) for k in incoming.ids[new].tolist()]
    plan.kept = len(where) - len(np.unique(matched[old]))
    plan.removed_blank = len(table) - (len(kept_rows) - len(new))
    if not plan.changed:
        plan.rows, plan.removed_blank = table, 0  # nothing to write: the rows as read
    return plan


def _id_rows(rows: Sequence[Sequence[object]], id_pos: int, notes: list[Note]) -> dict[str, int]:
    """ID -> index of its first row; IDs on several rows are reported in ``notes``."""
    column = np.empty(len(rows), dtype=object)
    column[:] = [r[id_pos] for r in rows]
    keys = clean_texts(column)[0].tolist()
    where: dict[str, int] = {}
    twice: set[str] = set()
    for i, key in enumerate(keys):
        if key and key in where:
            twice.add(key)
        elif key:
            where[key] = i
    if twice:
        listed = ", ".join(shown(t) for t in sorted(twice)[:5])
        notes.append(
            Note(
                "warning",
                f"IDs on more than one row of the workbook (the first row is updated): {listed}",
            )
        )
    return where


def _differ(old: ObjectArray, new: ObjectArray, kind: Kind) -> npt.NDArray[np.bool_]:
    """Where two columns of cells hold different values (`incoming.same_cell`), as whole columns.

    Text compares as clean text; numbers within 1e-12 relative; dates by day. Cells that
    do not read as their column's kind (text in a number column) are compared one by one.
    """
    odd: list[int] = []
    if kind == "text":
        differ = clean_texts(old)[0] != clean_texts(new)[0]
    elif kind == "date":
        (a, bad_a), (b, bad_b) = parse_dates(old), parse_dates(new)
        differ = (a != b) & ~(np.isnat(a) & np.isnat(b))
        odd = [p.index for p in (*bad_a, *bad_b)]
    else:
        (x, bad_x), (y, bad_y) = parse_numbers(old), parse_numbers(new)
        both = np.isnan(x) & np.isnan(y)
        differ = ~(np.isclose(x, y, rtol=1e-12, atol=1e-9) | both)
        odd = [p.index for p in (*bad_x, *bad_y)]
    differ = np.asarray(differ, dtype=bool)
    for i in set(odd):
        differ[i] = not same_cell(old[i], new[i], kind)
    return differ


def _changes(
    rows: Sequence[Sequence[object]],
    at: npt.NDArray[np.int64],
    picked: npt.NDArray[np.int64],
    incoming: Incoming,
    *,
    target: Mapping[str, int],
    field_of: Mapping[str, str],
) -> list[list[tuple[str, object, object]]]:
    """Per matched deal, the (header, old, new) cells that differ; compared column by column."""
    out: list[list[tuple[str, object, object]]] = [[] for _ in range(len(at))]
    for h, pos in target.items():
        current = np.empty(len(at), dtype=object)
        current[:] = [rows[i][pos] for i in at.tolist()]
        values = incoming.values[h][picked]
        for n in np.flatnonzero(_differ(current, values, kind_of(field_of[h]))):
            out[n].append((h, current[n], values[n]))
    return out


def _kinds(head: Sequence[str], found: Mapping[str, int]) -> list[WriteKind]:
    """How the writer stores each column: text, number or date; ``auto`` for user columns."""
    by_pos = {pos: name for name, pos in found.items()}
    return [_WRITE_KINDS[kind_of(by_pos[i])] if i in by_pos else "auto" for i in range(len(head))]
