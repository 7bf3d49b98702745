"""Tables passed to a worksheet function: validated into the engine's model, cached.

The Forecast calls table is validated on its own (`calls_of`), with the Settings table
when given for the fiscal calendar and the as-of date.

A table is passed whole with its header row (``tblProspects[#All]``) and arrives as
nested lists. Tables are validated like the refresh validates them: a row with an error
(a negative amount, an unknown stage, ...) is left out of the numbers, exactly as the
report sheets leave it out and list it on the Data issues sheet, so a function and the
sheet beside it never disagree and one bad row does not turn every cell into an error.
The Stages table passed on its own (`stages_of`) stays strict: a bad stage row changes
every figure, so it is the cell's error. A validated model is kept in a small
least-recently-used cache keyed on the table contents, so a sheet with hundreds of PIPE_*
cells over the same table validates it once.

A cached call touches every cell once: the rows are frozen into tuples and hashed (the
floor for a cache keyed on contents), the header row is matched and an optional table
is recognised as blank from its first filled cell. Rows that are already `FrozenRows`
(the builder and the headless refresh call every Dashboard function on the same
tables) are neither copied nor hashed again, and `remember_model` hands the cache a
model its caller validated already, so the work happens once.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, ParamSpec, TypeVar

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.calls import CallBook
from pipeline_xl.core.dates import parse_date
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model, Settings, Stages
from pipeline_xl.core.raw import settings_pairs
from pipeline_xl.core.schema import (
    match_headers,
    read_settings_table,
    validate,
    validate_calls_table,
    validate_stages,
    without_targets,
)
from pipeline_xl.core.timeline import as_seen
from pipeline_xl.udfs.args import is_blank

__all__ = [
    "CACHE_SIZE",
    "CallsArgument",
    "FrozenRows",
    "as_rows",
    "calls_of",
    "forget_models",
    "frame_rows",
    "freeze_rows",
    "model_of",
    "remember_model",
    "remember_tables",
    "stages_of",
]

log = logging.getLogger("pipeline_xl.udfs")

CACHE_SIZE = 16
P = ParamSpec("P")
R = TypeVar("R")
V = TypeVar("V")


Rows = Sequence[Sequence[object]]


class FrozenRows(tuple[tuple[object, ...], ...]):
    """Rows of a table that cannot change (tuples of cell values), hashed once.

    Cells are the immutable values Excel hands over (numbers, text, dates, booleans,
    None), so equal contents give equal rows and the hash can be kept.
    """

    def __hash__(self) -> int:
        """The hash of the rows, computed on first use."""
        known: int | None = self.__dict__.get("hash")
        if known is None:
            known = super().__hash__()
            self.__dict__["hash"] = known
        return known


def freeze_rows(rows: Rows) -> FrozenRows:
    """``rows`` as `FrozenRows` (returned as they are when they already are)."""
    if isinstance(rows, FrozenRows):
        return rows
    return FrozenRows(map(tuple, rows))


def as_rows(value: object, argument: str) -> Rows:
    """A range as rows of cells (a single row or cell becomes one row); rows are not copied.

    A pandas DataFrame (a caller in Python) is its column names, then its rows; missing
    values are empty cells.
    """
    if isinstance(value, pd.DataFrame):
        body = value.astype(object).where(value.notna(), None).to_numpy().tolist()
        return [[str(c) for c in value.columns], *body]
    if isinstance(value, list | tuple):
        # Excel passes rectangular ranges: the first row tells whether rows are nested.
        if value and isinstance(value[0], list | tuple):
            return value
        return [list(value)]
    if value is None:
        raise InputError(f"{argument}: the range is empty")
    return [[value]]


def _with_header(value: object, argument: str) -> Rows:
    rows = as_rows(value, argument)
    table = contract.table(argument)
    found = match_headers([("" if c is None else str(c)) for c in rows[0]], table)
    if len(found) < 2:
        raise InputError(
            f"{argument}: the first row is not a header row; pass the whole table with its "
            f"headers, for example {table.all_ref}"
        )
    return rows


def _latest_date(rows: Rows) -> date:
    """The default as-of date of a table: its latest Created or Closed date.

    Only dates of things that happened count: a Last activity typed in the future (a
    planned call, a typo) never moves the as-of date; the Last activity column is used
    only when the table has neither Created nor Closed dates.
    """
    header = [("" if c is None else str(c)) for c in rows[0]]
    found = match_headers(header, contract.PROSPECTS)
    for fields in (("created", "closed"), ("last_activity",)):
        latest: date | None = None
        for field in fields:
            column = found.get(field)
            if column is None:
                continue
            for row in rows[1:]:
                cell = row[column] if column < len(row) else None
                day = parse_date(cell) if cell is not None else None
                if day is not None and (latest is None or day > latest):
                    latest = day
        if latest is not None:
            return latest
    raise InputError(
        "as_of: no date given and the prospects table has no Created or Closed date to "
        "date it; pass the as-of date (for example the Settings sheet's, AsOfDate)"
    )


def _settings_as_of(rows: Rows | None) -> bool:
    """Whether a Settings table gives an as-of date."""
    for label, value in settings_pairs(rows).items():
        found = contract.setting_named(label)
        if found is not None and found.key == "as_of" and not is_blank(value):
            return True
    return False


def _refuse_errors(issues: pd.DataFrame) -> None:
    """Raise the first row error of a Stages table passed on its own."""
    errors = issues.loc[issues["severity"] == "error"] if len(issues) else issues
    if len(errors):
        first = errors.iloc[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        sheet = str(first["sheet"]).lower()
        raise InputError(
            f"{sheet} row {first['row']}, {first['column']}: {first['problem']} "
            f"({first['value']!r}){more}"
        )


class _Cache(Generic[V]):
    """Least-recently-used values keyed on the exact table contents (thread-safe).

    A build that raises `InputError` is remembered too: the same tables give the same
    error without being validated again.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[object, V | InputError] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, build: Callable[[], V]) -> V:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
        if found is None:
            try:
                found = build()
            except InputError as err:
                found = err
            self.put(key, found)
        if isinstance(found, InputError):
            raise copy.copy(found)
        return found

    def put(self, key: object, value: V | InputError) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_models: _Cache[Model] = _Cache(CACHE_SIZE)


def _optional_table(value: object, argument: str) -> FrozenRows | None:
    return None if _blank_range(value) else freeze_rows(_with_header(value, argument))


_TABLE_ARGUMENTS = ("stages", "targets", "activities", "snapshots", "settings")


def _request(
    prospects: object, others: Sequence[object], as_of: date | None
) -> tuple[object, FrozenRows, dict[str, FrozenRows | None]]:
    """The cache key of a call and its tables, frozen: every cell touched once."""
    p_rows = freeze_rows(_with_header(prospects, "prospects"))
    tables = {
        name: _optional_table(value, name)
        for name, value in zip(_TABLE_ARGUMENTS, others, strict=True)
    }
    return (as_of, p_rows, *tables.values()), p_rows, tables


def model_of(
    prospects: object,
    stages: object = None,
    targets: object = None,
    activities: object = None,
    snapshots: object = None,
    settings: object = None,
    *,
    as_of: date | None = None,
) -> Model:
    """Validated model of the tables passed to a function (cached on their contents).

    The as-of date is ``as_of``, else the Settings table's as-of date, else the latest
    Created or Closed date of the prospects table (`_latest_date`), so the result depends
    on the arguments alone. The Settings table also gives the fiscal year, the Monte Carlo
    trials and seed and the other settings; without it the defaults apply. The model is
    the one the refresh's report reads for that as-of date (`timeline.as_seen`).
    """
    key, p_rows, tables = _request(
        prospects, (stages, targets, activities, snapshots, settings), as_of
    )
    return _models.get(key, lambda: as_seen(_validated(p_rows, tables, as_of)))


def _validated(
    p_rows: FrozenRows, tables: dict[str, FrozenRows | None], as_of: date | None
) -> Model:
    """The tables validated as `model_of` validates them (before `as_seen`)."""
    given = tables["settings"]
    day = as_of
    if day is None and not _settings_as_of(given):
        day = _latest_date(p_rows)
    return validate(
        p_rows,
        tables["stages"],
        tables["targets"],
        tables["activities"],
        tables["snapshots"],
        given if given is not None else Settings(as_of=day or date.min),
        as_of=day,
    )


def remember_model(
    model: Model,
    prospects: object,
    stages: object = None,
    targets: object = None,
    activities: object = None,
    snapshots: object = None,
    settings: object = None,
    *,
    as_of: date | None = None,
) -> None:
    """Let `model_of` answer these arguments from ``model``, validated by the caller.

    ``model`` must be what `validate` gives for the same arguments with ``as_of``; the
    cache keeps it as `model_of` would (`as_seen`).
    """
    key, _, _ = _request(prospects, (stages, targets, activities, snapshots, settings), as_of)
    _models.put(key, as_seen(model))


def remember_tables(
    prospects: object,
    stages: object = None,
    targets: object = None,
    activities: object = None,
    snapshots: object = None,
    settings: object = None,
    *,
    as_of: date,
    model: Model | None = None,
) -> None:
    """Validate these tables once for every call over them, with and without Targets.

    ``model``: the tables as the caller validated them with ``as_of`` (see
    `remember_model`); without it they are validated here. The calls that take no Targets
    table get the same model without targets when `without_targets` can tell it;
    otherwise they validate for themselves. Tables that fail validation are left for each
    call to report.
    """
    key, p_rows, tables = _request(
        prospects, (stages, targets, activities, snapshots, settings), as_of
    )
    try:
        if model is None:
            model = _validated(p_rows, tables, as_of)
        seen = as_seen(model)
    except InputError:
        return
    _models.put(key, seen)
    alone = None if tables["targets"] is None else without_targets(seen)
    if alone is not None:
        others = (None if name == "targets" else rows for name, rows in tables.items())
        _models.put((as_of, p_rows, *others), alone)


def forget_models() -> None:
    """Empty the model cache (a headless command done with the tables it handed over)."""
    _models.clear()


def _blank_range(value: object) -> bool:
    """Whether every cell of a range is blank (stops at the first filled cell)."""
    if isinstance(value, list | tuple):
        return all(map(_blank_range, value))
    return is_blank(value)


def stages_of(value: object) -> Stages:
    """The Stages table passed to a function, validated (any row error is the cell's error)."""
    rows = _with_header(value, "stages")
    stages, issues = validate_stages(rows)
    _refuse_errors(issues)
    return stages


def frame_rows(frame: pd.DataFrame, header: Sequence[str]) -> list[list[Any]]:
    """A result table as rows for Excel to spill, header first; NaN becomes empty."""
    body = frame.astype(object).where(frame.notna(), None).values.tolist()
    return [list(header), *body]


@dataclass(frozen=True)
class CallsArgument:
    """A validated calls table, its settings, and the as-of date the Settings table gives."""

    book: CallBook
    settings: Settings
    as_of: date | None


_calls: _Cache[CallsArgument] = _Cache(CACHE_SIZE)
_PLACEHOLDER = date(2000, 1, 1)  # read_settings needs a date; a calls table has no as-of


def calls_of(calls: object, settings: object = None) -> CallsArgument:
    """The Forecast calls table passed to a function, validated (cached on its contents).

    ``settings`` (optional) gives the fiscal calendar and an as-of date; without it the
    calendar year applies and there is no as-of date. Any row error is the cell's error.
    """
    c_rows = _with_header(calls, "calls")
    s_rows = _optional_table(settings, "settings")
    key = (freeze_rows(c_rows), s_rows)

    def build() -> CallsArgument:
        dated = _settings_as_of(s_rows)
        clean = read_settings_table(s_rows, as_of=None if dated else _PLACEHOLDER)
        frame, issues = validate_calls_table(c_rows, clean)
        _refuse_errors(issues)
        return CallsArgument(CallBook(frame), clean, clean.as_of if dated else None)

    return _calls.get(key, build)
