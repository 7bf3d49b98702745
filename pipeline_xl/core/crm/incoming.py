"""The deals of an export as Prospects cells, and when two cells hold the same value.

`Incoming` is what conversion hands to the upsert: one row per deal ID, the cells keyed by
the workbook's Prospects headers (`contract.PROSPECTS`), typed by each field's kind:

* ``text``: clean text, blank is None;
* ``number`` and ``rate``: floats (a rate is a share, 0.35 for 35 %);
* ``date``: naive datetimes at midnight, as the workbook stores dates.

A cell that could not be read keeps its text. A cell that Excel could not hold as it came
(`limits`: a text over Excel's 32,767 characters, a date before 1900-03-01, a number
beyond Excel's range or precision) is fitted or kept as text and listed as a `CellIssue`
with its export row. Two cells are the same (`same_cell`) when
Excel would show the same thing: blank equals blank, dates compare by day, numbers within
1e-12 relative (text that reads as a number too, in number columns), text as clean text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from pipeline_xl.core.cells import clean_text, is_blank, parse_number
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.core.dates import parse_date

__all__ = ["CellIssue", "Incoming", "Kind", "Note", "ObjectArray", "kind_of", "same_cell"]

ObjectArray = npt.NDArray[np.object_]
Kind = Literal["text", "number", "rate", "date"]
"""How the import types a field's cells (a contract field of kind ``raw`` reads as text)."""


def _typed(name: str) -> Kind:
    kind = PROSPECTS.field(name).kind
    return "text" if kind == "raw" else kind


_KIND_OF: dict[str, Kind] = {f.name: _typed(f.name) for f in PROSPECTS.fields}


def kind_of(name: str) -> Kind:
    """How the import types the cells of Prospects field ``name`` (its contract kind)."""
    return _KIND_OF[name]


@dataclass(frozen=True, slots=True)
class Note:
    """Something the import did or found, for the report (``warning`` needs a look)."""

    severity: Literal["info", "warning"]
    text: str


@dataclass(frozen=True, slots=True)
class CellIssue:
    """A cell the import could not write as the export gave it: where, what and how kept.

    ``row``: the export row; ``header``: the Prospects header of its field;
    ``problem``: what Excel cannot hold and what was written instead; ``value``: the
    cell as found, as a message quotes it (`display.shown`).
    """

    row: int
    header: str
    problem: str
    value: str


@dataclass
class Incoming:
    """The export's deals as Prospects cells, one row per ID, in export order.

    ``values``: workbook header -> object array (str, float, datetime or None; a cell
    that could not be read keeps its text). ``rows``: the export row of each deal.
    ``status``: open/won/lost ("" when the stage is unknown). ``currency``: the ISO
    code the export's currency column gives every deal, when it does. ``issues``: the
    cells of these deals fitted to Excel's limits (`CellIssue`), in export order.
    """

    ids: ObjectArray
    values: dict[str, ObjectArray]
    rows: npt.NDArray[np.int64]
    status: ObjectArray
    notes: list[Note] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    read: int = 0
    currency: str | None = None
    issues: list[CellIssue] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def _norm(value: object, kind: Kind) -> object:
    """A cell in a form that compares equal when Excel would show the same thing.

    Blank is None; dates are `date`; numbers are floats (text that reads as a number
    too, in number columns); anything else is its clean text.
    """
    if value is None or is_blank(value):
        return None
    found: object = None
    if kind == "date" or isinstance(value, datetime | date):
        found = parse_date(value)
    elif kind in {"number", "rate"} or not isinstance(value, str | bool | np.bool_):
        found = parse_number(value)
    return clean_text(value) if found is None else found


def _equal(x: object, y: object) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9)
    return x == y


def same_cell(a: object, b: object, kind: Kind = "text") -> bool:
    """Whether two cells of a column of ``kind`` hold the same value (module docstring)."""
    return _equal(_norm(a, kind), _norm(b, kind))
