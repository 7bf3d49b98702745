"""The pieces every report sheet is built from: writer-ready blocks, notes and the shared context.

A block (`pipeline_xl.core.report_model.Block`) holds exactly its columns, with text as
text (never a formula), flags as "F"/"U" and numbers as they are; `guarded` turns a
missing input (an `InputError`) into a note in the block's place, so one missing input
never stops a refresh. `Context` is what every sheet of one refresh shares.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.report_model import Block, ChartSpec, Column, ColumnKind

__all__ = [
    "TEAM_LABEL",
    "Context",
    "block",
    "count_kind",
    "guarded",
    "note",
    "owner_labels",
    "source_text",
    "text",
]

TEAM_LABEL = "Team"  # how the whole team (owner "") is shown in Owner columns

_SOURCE_TEXT = {
    "history": "history",
    "team history": "team history",
    "stages": "the Stages table",
    "activities": "the Activities table",
}


def _is_blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    return isinstance(value, float | np.floating) and math.isnan(value)


def text(value: object) -> str:
    """A cell value as the text a user would recognise; blanks and NaN become ""."""
    if isinstance(value, str):
        return value
    if _is_blank(value):
        return ""
    if isinstance(value, bool | np.bool_):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        number = float(value)
        text = str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    elif isinstance(value, datetime | np.datetime64):  # pandas Timestamps included
        stamp = pd.Timestamp(value)
        midnight = stamp == stamp.normalize()
        text = stamp.date().isoformat() if midnight else stamp.isoformat(sep=" ")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return text


def _column_data(values: pd.Series, kind: ColumnKind) -> pd.Series:
    """One block column: text as ``str``, flags as "F"/"U"/None, the rest as they are."""
    if kind == "text":
        return pd.Series([text(v) for v in values.tolist()], dtype=object)
    if kind == "flag":
        return pd.Series([v if v in ("F", "U") else None for v in values.tolist()], dtype=object)
    return pd.Series(values.to_numpy(), dtype=values.dtype)


def block(
    title: str,
    frame: pd.DataFrame,
    columns: Sequence[Column],
    charts: Iterable[ChartSpec] = (),
    notes: Iterable[str] = (),
) -> Block:
    """A block over exactly ``columns``: a fresh 0-based frame with writer-ready values."""
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate column keys in block {title!r}: {keys}")
    data = {c.key: _column_data(frame[c.key], c.kind) for c in columns}
    return Block(
        title, pd.DataFrame(data, columns=keys), tuple(columns), tuple(charts), tuple(notes)
    )


def note(title: str, columns: Sequence[Column], *notes: str) -> Block:
    """A block with its header but no rows, and notes saying why."""
    empty = pd.DataFrame({c.key: pd.Series([], dtype=object) for c in columns})
    return block(title, empty, columns, notes=notes)


def guarded(title: str, columns: Sequence[Column], build: Callable[[], list[Block]]) -> list[Block]:
    """``build()``, or an empty block noting the user's error when an input is missing."""
    try:
        return build()
    except InputError as err:
        return [note(title, columns, f"Not available: {err}")]


def owner_labels(owners: pd.Series) -> pd.Series:
    """Owner names with the team (owner "") shown as `TEAM_LABEL`."""
    names = owners.astype(object).fillna("").astype(str)
    return names.where(names != "", TEAM_LABEL)


def count_kind(*series: pd.Series) -> ColumnKind:
    """``int`` when every value is whole (or blank), else ``number``."""
    for values in series:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        finite = numbers[np.isfinite(numbers)]
        if finite.size and not np.array_equal(finite, np.round(finite)):
            return "number"
    return "int"


def source_text(source: str) -> str:
    """Where rates came from, in the user's words (``history, the Stages table``)."""
    parts = [p.strip() for p in source.split(",") if p.strip()]
    return ", ".join(_SOURCE_TEXT.get(p, p) for p in parts) or "the Stages table"


@dataclass(frozen=True)
class Context:
    """What every sheet shares: the model, its as-of date, the forecast table, the owners."""

    model: Model
    as_of: date
    currency: str
    current: Period
    forecast: pd.DataFrame  # forecast_table(model) (the default method), default periods
    team_source: str  # where the team's probabilities came from
    owners: tuple[str, ...]  # every owner of the forecast table, by name
    view: bool = False  # a view of a past date (nothing recorded)

    def subtitle(self, *parts: str) -> str:
        """``As of 2026-11-30 · EUR · <parts>`` (``As it stood on ...`` for a past view)."""
        when = "As it stood on" if self.view else "As of"
        return " · ".join([f"{when} {self.as_of.isoformat()}", self.currency, *parts])
