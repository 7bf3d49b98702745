"""The clean pipeline model that validation produces and every calculation reads.

Tables are pandas DataFrames with fixed column names and dtypes (listed in the
``*_COLUMNS`` constants below); small fixed things are frozen dataclasses. Dates are
``datetime64[ns]`` at midnight (``NaT`` when unknown); text is ``str`` with ``""`` for
blank; amounts are ``float64``. Every table keeps ``row``: the row number as Excel shows
it, so a number can always be traced back to its cell.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, Literal, TypeVar, cast, get_args

import numpy as np
import pandas as pd

from pipeline_xl.core.contract import norm_key
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.periods import Granularity, Period, parse_period, period_of

__all__ = [
    "ACTIVITY_COLUMNS",
    "CALL_COLUMNS",
    "CATEGORIES",
    "PARTS",
    "PROSPECT_COLUMNS",
    "SNAPSHOT_COLUMNS",
    "TARGET_COLUMNS",
    "Derived",
    "DerivedBy",
    "Model",
    "Part",
    "Settings",
    "Stage",
    "Stages",
    "Status",
    "activities_frame",
    "calls_frame",
    "default_stages",
    "prospects_frame",
    "snapshots_frame",
    "target_for",
    "targets_frame",
    "targets_of",
]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
Status = Literal["open", "won", "lost"]
CATEGORIES = ("commit", "best_case", "pipeline", "omitted")
Part = Literal[
    "prospects", "stages", "targets", "activities", "snapshots", "settings", "granularity",
    "issues",
]  # fmt: skip
"""What a derived value may read: a table, the settings but the granularity, the granularity."""
PARTS: frozenset[Part] = frozenset(get_args(Part))

# Column name -> dtype kind: "str", "float", "date", "int".
PROSPECT_COLUMNS: dict[str, str] = {
    "row": "int",
    "id": "str",
    "name": "str",
    "company": "str",
    "owner": "str",
    "source": "str",
    "stage": "str",  # canonical stage name from the Stages table
    "stage_idx": "int",  # 0-based index among open stages; won = n_open; lost = -1
    "reached_idx": "int",  # furthest open stage reached (won = n_open); -1 unknown
    "amount": "float",
    "expected_close": "date",
    "probability": "float",  # per-deal override in 0-1, NaN when none
    "category": "str",  # one of CATEGORIES, "" when not set
    "status": "str",  # open / won / lost
    "created": "date",
    "closed": "date",
    "last_activity": "date",
}
TARGET_COLUMNS: dict[str, str] = {
    "row": "int",
    "period": "str",  # canonical period label
    "start": "date",
    "end": "date",  # exclusive
    "owner": "str",  # "" = the whole team
    "revenue": "float",
    "deals": "float",  # NaN when not set
}
ACTIVITY_COLUMNS: dict[str, str] = {
    "row": "int",
    "date": "date",
    "owner": "str",
    "type": "str",  # canonical activity name (from the Stages table when known)
    "prospect_id": "str",
    "count": "float",
}
SNAPSHOT_COLUMNS: dict[str, str] = {
    "row": "int",
    "snapshot_date": "date",
    "id": "str",
    "owner": "str",
    "stage": "str",
    "stage_idx": "int",
    "status": "str",
    "amount": "float",
    "expected_close": "date",
    "probability": "float",
}
CALL_COLUMNS: dict[str, str] = {
    "row": "int",
    "period": "str",  # canonical period label
    "start": "date",
    "end": "date",  # exclusive
    "owner": "str",  # "" = the whole team (the manager's call)
    "type": "str",  # commit / most_likely / best_case
    "amount": "float",  # what the submitter called
    "adjustment": "float",  # the manager's adjusted amount, NaN when none
    "value": "float",  # the call that counts: the adjustment when given, else the amount
    "submitted_on": "date",
    "submitted_by": "str",
    "comment": "str",
}


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of the sales process.

    ``activity`` is what brings a deal into this stage (Call, Meeting, Offer, ...);
    ``conversion`` is the share of deals that reach this stage and go on to the next one
    (the last open stage converts to Won); ``days_to_close`` is the typical time from
    entering this stage to closing.
    """

    name: str
    activity: str
    probability: float
    conversion: float
    days_to_close: float
    status: Status = "open"


@dataclass(frozen=True)
class Stages:
    """The ordered stages: open stages first-to-last, then the closing ones."""

    all: tuple[Stage, ...]
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        opened = [s for s in self.all if s.status == "open"]
        if not opened:
            raise InputError(
                "the Stages table has no open stage",
                sheet="Stages",
                expected="at least one stage before Won and Lost",
            )
        if not any(s.status == "won" for s in self.all):
            raise InputError(
                "the Stages table has no Won stage",
                sheet="Stages",
                expected="a stage named Won (or with status won)",
            )
        object.__setattr__(self, "_index", {norm_key(s.name): i for i, s in enumerate(self.all)})

    @property
    def open(self) -> tuple[Stage, ...]:
        """Open stages in process order."""
        return tuple(s for s in self.all if s.status == "open")

    @property
    def n_open(self) -> int:
        """Number of open stages."""
        return len(self.open)

    @property
    def won(self) -> Stage:
        """The stage a won deal sits in."""
        return next(s for s in self.all if s.status == "won")

    @property
    def lost(self) -> Stage | None:
        """The stage a lost deal sits in, if the table has one."""
        return next((s for s in self.all if s.status == "lost"), None)

    def find(self, name: object) -> Stage | None:
        """The stage whose name matches ``name`` ignoring case, accents and spaces."""
        i = self._index.get(norm_key(name))
        return None if i is None else self.all[i]

    def open_index(self, name: object) -> int | None:
        """0-based index among open stages; ``n_open`` for won, -1 for lost, None if unknown."""
        stage = self.find(name)
        if stage is None:
            return None
        if stage.status == "won":
            return self.n_open
        if stage.status == "lost":
            return -1
        return self.open.index(stage)

    @property
    def activities(self) -> tuple[str, ...]:
        """The activity that brings a deal into each open stage, first to last."""
        return tuple(s.activity for s in self.open)

    @property
    def conversions(self) -> tuple[float, ...]:
        """Conversion rate of each open stage to the next (the last one to Won)."""
        return tuple(s.conversion for s in self.open)


def default_stages() -> Stages:
    """A five-step process: Call -> Meeting -> Offer -> Negotiation -> Won.

    Conversions multiply to the stage probabilities: P(win | stage k) is the product of
    the conversions from k to Won (README, Definitions).
    """
    return Stages(
        (
            Stage("Lead", "Call", 0.05, 0.25, 90.0),
            Stage("Qualified", "Meeting", 0.2, 0.4, 60.0),
            Stage("Proposal", "Offer", 0.5, 0.625, 30.0),
            Stage("Negotiation", "Negotiation", 0.8, 0.8, 14.0),
            Stage("Won", "Order", 1.0, float("nan"), 0.0, "won"),
            Stage("Lost", "", 0.0, float("nan"), 0.0, "lost"),
        )
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Run settings, read from the Settings sheet; ``as_of`` is never the clock."""

    as_of: date
    fiscal_start_month: int = 1
    granularity: Literal["month", "quarter"] = "month"
    currency: str = "EUR"
    mc_trials: int = 10_000
    mc_seed: int = 20_240_601
    stale_days: int = 30
    slip_probability: float = 0.2
    min_history: int = 30
    owner: str = ""
    stage_map: str = ""  # CRM stage=workbook stage, ... (``import --stage-map``, stored)

    def period_of(self, day: date, kind: Granularity | None = None) -> Period:
        """The reporting period that contains ``day``."""
        return period_of(day, kind or self.granularity, self.fiscal_start_month)

    def parse_period(self, value: object) -> Period:
        """Parse a period label or date with this workbook's fiscal calendar."""
        return parse_period(value, self.fiscal_start_month, self.granularity)

    @property
    def current_period(self) -> Period:
        """The reporting period that contains ``as_of``."""
        return self.period_of(self.as_of)


@dataclass(frozen=True)
class Model:
    """Validated tables plus the issues found while cleaning them.

    Treat the tables as read-only: derived values (learned rates, lead times, the
    forecast book) are computed once per model through `Derived`.
    """

    prospects: pd.DataFrame
    stages: Stages
    targets: pd.DataFrame
    activities: pd.DataFrame
    snapshots: pd.DataFrame
    settings: Settings
    issues: pd.DataFrame
    calls: pd.DataFrame = field(default_factory=lambda: calls_frame([]))
    _derived: dict[Hashable, object] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _origin: tuple[Model, frozenset[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def derive(
        self,
        *,
        prospects: pd.DataFrame | None = None,
        targets: pd.DataFrame | None = None,
        activities: pd.DataFrame | None = None,
        snapshots: pd.DataFrame | None = None,
        settings: Settings | None = None,
        issues: pd.DataFrame | None = None,
    ) -> Model:
        """This model with the parts given replaced, keeping what was learned from the rest.

        Derived values (`Derived`, `DerivedBy`) that read none of the parts that changed
        (a new Settings value counts as the parts it changes: the granularity, the other
        settings or both) are shared: those already computed are handed over, the others
        are computed on this model when the new one first asks (and kept by both), so a
        model seen at another granularity or without its targets does not learn again
        what it shares.
        """
        given = {
            "prospects": prospects, "targets": targets, "activities": activities,
            "snapshots": snapshots, "settings": settings, "issues": issues,
        }  # fmt: skip
        changes = {k: v for k, v in given.items() if v is not None}
        new = dataclasses.replace(self, **cast("dict[str, Any]", changes))
        changed: set[str] = {k for k, v in changes.items() if v is not getattr(self, k)}
        if "settings" in changed:
            changed.discard("settings")
            old, now = self.settings, new.settings
            if old.granularity != now.granularity:
                changed.add("granularity")
            if dataclasses.replace(old, granularity=now.granularity) != now:
                changed.add("settings")
        for slot, value in self._derived.items():
            declared = slot[0] if isinstance(slot, tuple) else slot
            reads: frozenset[str] = getattr(declared, "reads", PARTS)
            if reads.isdisjoint(changed):
                new._derived[slot] = value
        object.__setattr__(new, "_origin", (self, frozenset(changed)))
        return new

    def _shared(self, reads: frozenset[str]) -> Model | None:
        """The model this one was derived from, when a value reading ``reads`` is the same."""
        origin = self._origin
        if origin is None or not reads.isdisjoint(origin[1]):
            return None
        return origin[0]

    def period_targets(self, period: Period) -> tuple[float, dict[str, float]]:
        """`targets_of` this model's targets for ``period`` (computed once per period)."""
        return PERIOD_TARGETS.of(self, period)

    def target(self, period: Period, owner: str = "") -> float:
        """`target_for` of ``owner`` ("" = team) in ``period``; NaN when none is set."""
        team, per_owner = self.period_targets(period)
        return per_owner.get(owner, math.nan) if owner else team

    @property
    def owners(self) -> tuple[str, ...]:
        """Every owner named in the tables, as validation spelt them, sorted."""
        return OWNERS.of(self)

    def owner_named(self, text: object, *, argument: str = "owner") -> str:
        """The owner ``text`` names ("" for blank: the whole team).

        Names match like every other name: ignoring case, accents, spaces, ``_`` and ``-``
        (``"anna brandt"`` is ``"Anna Brandt"``).

        Raises:
            InputError: no owner of this workbook has that name; the message names a few.
        """
        if text is None or not str(text).strip():
            return ""
        wanted = norm_key(text)
        for owner in self.owners:
            if norm_key(owner) == wanted:
                return owner
        known = self.owners
        shown = ", ".join(known[:5]) + (f" and {len(known) - 5} more" if len(known) > 5 else "")
        raise InputError(
            f"{argument}: {str(text).strip()!r} is not an owner in this workbook",
            expected=f"one of {shown}, or blank for the whole team" if known else "blank",
        )


class Derived(Generic[T]):
    """A value computed from a model alone, once per model (learned rates, a forecast book).

    The module that computes the value declares it: ``FUNNEL = Derived(_funnel_rates)``;
    any module reads it with ``FUNNEL.of(model)``. The value belongs to its module: there
    is no shared key to misspell, and its type follows from ``compute``. ``reads``: the
    parts of the model ``compute`` reads, directly or through other derived values
    (default: all), so `Model.derive` can hand the value over to a model that differs
    only elsewhere.
    """

    __slots__ = ("_compute", "reads")

    def __init__(self, compute: Callable[[Model], T], *, reads: Iterable[Part] = PARTS) -> None:
        self._compute = compute
        self.reads = frozenset(reads)

    def of(self, model: Model) -> T:
        """The value for ``model``, computed on first use."""
        store = model._derived
        if self not in store:
            parent = model._shared(self.reads)
            store[self] = self._compute(model) if parent is None else self.of(parent)
        return cast("T", store[self])

    def known(self, model: Model, value: T) -> None:
        """Give ``model`` a value already computed another way (it must be the same)."""
        model._derived[self] = value


class DerivedBy(Generic[K, T]):
    """Like `Derived`, for a value that also depends on one key (a period, an owner)."""

    __slots__ = ("_compute", "reads")

    def __init__(self, compute: Callable[[Model, K], T], *, reads: Iterable[Part] = PARTS) -> None:
        self._compute = compute
        self.reads = frozenset(reads)

    def of(self, model: Model, key: K) -> T:
        """The value for ``model`` and ``key``, computed on first use."""
        store = model._derived
        slot = (self, key)
        if slot not in store:
            parent = model._shared(self.reads)
            store[slot] = self._compute(model, key) if parent is None else self.of(parent, key)
        return cast("T", store[slot])


def _owners(model: Model) -> tuple[str, ...]:
    names: set[str] = set()
    for frame in (model.prospects, model.targets, model.activities, model.snapshots):
        if "owner" in frame:
            names.update(str(o) for o in frame["owner"].unique() if o)
    return tuple(sorted(names, key=str.casefold))


OWNERS: Derived[tuple[str, ...]] = Derived(_owners)
PERIOD_TARGETS: DerivedBy[Period, tuple[float, dict[str, float]]] = DerivedBy(
    lambda model, period: targets_of(model.targets, period)
)


def _frame(
    records: Iterable[Mapping[str, object]],
    columns: Mapping[str, str],
    defaults: Mapping[str, object],
) -> pd.DataFrame:
    rows = list(records)
    data: dict[str, object] = {}
    for name, kind in columns.items():
        values = [r.get(name, defaults.get(name)) for r in rows]
        if kind == "str":
            data[name] = pd.Series(["" if v is None else str(v) for v in values], dtype=object)
        elif kind == "float":
            data[name] = pd.to_numeric(pd.Series(values, dtype=object)).astype("float64")
        elif kind == "int":
            data[name] = pd.Series(values, dtype="int64")
        else:
            data[name] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
    return pd.DataFrame(data, columns=list(columns))


def prospects_frame(
    records: Sequence[Mapping[str, object]], stages: Stages | None = None
) -> pd.DataFrame:
    """Build a clean prospects table from dicts (tests, sample data).

    Missing keys take neutral defaults; ``stage_idx``, ``reached_idx`` and ``status``
    are derived from ``stage`` when not given.
    """
    stages = stages or default_stages()
    filled: list[dict[str, object]] = []
    for i, rec in enumerate(records):
        r = dict(rec)
        r.setdefault("row", i + 2)
        r.setdefault("id", f"D{i + 1}")
        idx = stages.open_index(r.get("stage", stages.open[0].name))
        if idx is None:
            raise ValueError(f"unknown stage {r.get('stage')!r}")
        r.setdefault("stage_idx", idx)
        status = "won" if idx == stages.n_open else "lost" if idx == -1 else "open"
        r.setdefault("status", status)
        r.setdefault("reached_idx", idx)
        filled.append(r)
    defaults = {"row": 0, "stage_idx": 0, "reached_idx": -1, "category": ""}
    return _frame(filled, PROSPECT_COLUMNS, defaults)


def targets_frame(records: Sequence[Mapping[str, object]], fiscal_start: int = 1) -> pd.DataFrame:
    """Build a clean targets table from dicts with ``period``, ``revenue`` and ``owner``."""
    filled = _with_periods(records, fiscal_start)
    return _frame(filled, TARGET_COLUMNS, {"row": 0})


def _with_periods(
    records: Sequence[Mapping[str, object]], fiscal_start: int
) -> list[dict[str, object]]:
    """Copies of ``records`` with their period's label, start and end, and an Excel row."""
    filled: list[dict[str, object]] = []
    for i, rec in enumerate(records):
        r = dict(rec)
        period = parse_period(r["period"], fiscal_start)
        r.update(period=period.label, start=period.start, end=period.end)
        r.setdefault("row", i + 2)
        filled.append(r)
    return filled


def activities_frame(records: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Build a clean activities table from dicts (``count`` defaults to 1)."""
    filled = [{"row": i + 2, "count": 1.0, **r} for i, r in enumerate(records)]
    return _frame(filled, ACTIVITY_COLUMNS, {"row": 0})


def snapshots_frame(
    records: Sequence[Mapping[str, object]], stages: Stages | None = None
) -> pd.DataFrame:
    """Build a clean snapshots change log from dicts; status and index follow ``stage``."""
    stages = stages or default_stages()
    filled: list[dict[str, object]] = []
    for i, rec in enumerate(records):
        r = dict(rec)
        r.setdefault("row", i + 2)
        idx = stages.open_index(r["stage"])
        if idx is None:
            raise ValueError(f"unknown stage {r['stage']!r}")
        r.setdefault("stage_idx", idx)
        r.setdefault("status", "won" if idx == stages.n_open else "lost" if idx == -1 else "open")
        filled.append(r)
    return _frame(filled, SNAPSHOT_COLUMNS, {"row": 0})


def calls_frame(records: Sequence[Mapping[str, object]], fiscal_start: int = 1) -> pd.DataFrame:
    """Build a clean forecast-calls table from dicts (tests, sample data).

    Each record has ``period``, ``amount`` and ``submitted_on``; ``type`` defaults to
    commit, ``owner`` to the team; ``value`` follows ``adjustment`` when given.
    """
    filled = _with_periods(records, fiscal_start)
    for r in filled:
        r.setdefault("type", "commit")
        adjustment = r.get("adjustment")
        given = adjustment is not None and not (
            isinstance(adjustment, float) and math.isnan(adjustment)
        )
        r.setdefault("value", adjustment if given else r["amount"])
    return _frame(filled, CALL_COLUMNS, {"row": 0, "adjustment": math.nan})


def targets_of(targets: pd.DataFrame, period: Period) -> tuple[float, dict[str, float]]:
    """Team target and each owner's target for ``period`` (see `target_for`)."""
    if targets.empty:
        return float("nan"), {}
    start = np.datetime64(period.start, "ns")
    end = np.datetime64(period.end, "ns")
    t_start = targets["start"].to_numpy(dtype="datetime64[ns]")
    t_end = targets["end"].to_numpy(dtype="datetime64[ns]")
    overlap = (np.minimum(t_end, end) - np.maximum(t_start, start)) / np.timedelta64(1, "D")
    length = (t_end - t_start) / np.timedelta64(1, "D")
    share = np.where(length > 0, np.clip(overlap, 0, None) / np.where(length > 0, length, 1), 0.0)
    touching = share > 0
    if not touching.any():
        return float("nan"), {}
    owners = targets["owner"].to_numpy(dtype=object)[touching]
    amounts = targets["revenue"].to_numpy(dtype="float64")[touching] * share[touching]
    sums = pd.Series(amounts).groupby(owners, sort=False).sum()
    per_owner = {str(o): float(v) for o, v in sums.items()}
    team = per_owner.pop("", None)
    if team is None:
        team = float(amounts.sum())
    return team, per_owner


def target_for(targets: pd.DataFrame, period: Period, owner: str = "") -> float:
    """Revenue target of ``owner`` ("" = the team) for ``period``; NaN when none is set.

    Target rows are pro-rated by the days they share with ``period``, so monthly targets
    add up to a quarter and a quarterly target splits over its months by days. The team's
    target comes from rows with a blank owner when any overlaps the period, else it is the
    sum of the owners' targets.
    """
    team, per_owner = targets_of(targets, period)
    if owner:
        return per_owner.get(owner, float("nan"))
    return team
