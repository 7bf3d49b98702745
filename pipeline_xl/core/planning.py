"""Backward planning: from a revenue target to countable activities, and when to do them.

The backward plan (design notes, section 6): ``gap = max(0, target - won - weighted
pipeline)``, ``deals = ceil(gap / average deal)``, then from the closing stage back to the
first activity ``count_k = ceil(count_{k+1} / c_k)``. Activities for stage k happen about
``L_k`` days (median days from stage k to close) before the deals land, so the dated plan
spreads ``count_k`` over the window ``[period.start - L_k, period.end - L_k)``.

Counts are whole numbers and exact: the inputs are taken as the decimal numbers the user
typed (``0.7`` is seven tenths, not the nearest binary float), so ``21 / 0.7`` needs 30
calls, never 31. The float result is used when it is clearly not whole; only a quotient
within a tiny tolerance of an integer is recomputed with fractions (`pipeline_xl.core.counts`,
whose functions this module also offers).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Literal, cast

import pandas as pd

from pipeline_xl.core.counts import (
    MAX_COUNT,
    Number,
    PlanTooLargeError,
    arg_error,
    checked_rates,
    required_calls,
    required_counts,
    show,
)
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import DEFAULT_METHOD, Method, period_forecast
from pipeline_xl.core.history import FunnelRates, RateSource, model_lead_times, rates_for
from pipeline_xl.core.model import Model, Stages
from pipeline_xl.core.periods import Period

__all__ = [
    "MAX_COUNT",
    "BackwardPlan",
    "DatedPlan",
    "Freq",
    "InflowReport",
    "PlanLevel",
    "backward_plan",
    "dated_plan",
    "funnel_table",
    "inflow",
    "required_calls",
    "required_counts",
]

Freq = Literal["week", "month"]
_DEALS_LABEL = "Deals"


# --------------------------------------------------------------------------- from history


def funnel_table(
    target: Number,
    avg_deal: Number,
    stages_or_rates: Stages | FunnelRates | Iterable[Number],
    won_to_date: Number = 0.0,
    expected_pipeline: Number = 0.0,
) -> pd.DataFrame:
    """Activity / conversion / required table of a backward plan (what ``PIPE_FUNNEL`` spills).

    One row per open stage's activity, then a closing row (the Won stage's activity when
    stages are given, else "Deals") whose conversion is NaN. Bare rates get the activity
    names "Stage 1", "Stage 2", ...

    Raises:
        InputError: as `required_counts`.

    """
    closing = _DEALS_LABEL
    if isinstance(stages_or_rates, Stages):
        activities = list(stages_or_rates.activities)
        rates: list[Number] = list(stages_or_rates.conversions)
        closing = stages_or_rates.won.activity or _DEALS_LABEL
    elif isinstance(stages_or_rates, FunnelRates):
        activities = list(stages_or_rates.activities)
        rates = list(stages_or_rates.conversions)
    else:
        _, checked = checked_rates(stages_or_rates)
        rates = cast("list[Number]", checked)  # validated numbers
        activities = [f"Stage {i + 1}" for i in range(len(rates))]
    counts = required_counts(target, avg_deal, rates, won_to_date, expected_pipeline)
    return pd.DataFrame(
        {
            "activity": pd.Series([*activities, closing], dtype=object),
            "conversion": pd.Series([*map(float, rates), math.nan], dtype="float64"),
            "required": pd.Series(counts, dtype="int64"),
        }
    )


@dataclass(frozen=True, slots=True)
class PlanLevel:
    """One level of a backward plan; the closing level (deals) has a NaN conversion."""

    stage: str
    activity: str
    conversion: float
    count: int


@dataclass(frozen=True, slots=True)
class BackwardPlan:
    """The backward plan of one owner ("" = team) for one period (section 6).

    ``levels`` runs from the first activity to the deals; ``gap`` is ``max(0, target - won
    - expected_pipeline)``; ``source`` says where the conversions came from.
    """

    period: Period
    owner: str
    target: float
    won: float
    expected_pipeline: float
    gap: float
    avg_deal: float
    source: RateSource
    levels: tuple[PlanLevel, ...]
    deals: int

    @property
    def counts(self) -> tuple[int, ...]:
        """Counts of every level, first activity to deals."""
        return tuple(level.count for level in self.levels)


def _as_of(model: Model) -> date:
    as_of = model.settings.as_of
    return as_of.date() if isinstance(as_of, datetime) else as_of


def _period(model: Model, period: Period | str) -> Period:
    return model.settings.parse_period(period)


def _owner_text(owner: str) -> str:
    return f"owner {owner}" if owner else "the team"


def _exact_rates(rates: FunnelRates, stages: Stages) -> list[Number]:
    """Conversions as exact values: cohort ratios from history, typed decimals from Stages.

    A history rate is a ratio of deal counts, so the closest fraction whose denominator is
    at most the cohort size is the exact ratio (``2/7``, not its float).
    """
    if rates.source == "stages":
        for stage in stages.open:
            if not 0.0 < stage.conversion <= 1.0:
                raise InputError(
                    f"stage {stage.name}: conversion is not a rate between 0 and 1",
                    sheet="Stages",
                    column="Conversion",
                    value=stage.conversion,
                    expected="a conversion rate above 0 and at most 1",
                )
        return list(rates.conversions)
    return [
        Fraction(c).limit_denominator(max(1, n))
        for c, n in zip(rates.conversions, rates.reached, strict=True)
    ]


def _first_activity(stages: Stages) -> str:
    """The first open stage's activity, in lower case (for messages)."""
    return (stages.open[0].activity or stages.open[0].name).lower()


def backward_plan(
    model: Model, period: Period | str, owner: str = "", method: Method = DEFAULT_METHOD
) -> BackwardPlan:
    """Backward plan for ``owner`` ("" = team) in ``period`` from the model's history.

    Conversions and the average deal come from `funnel_rates` (owner's history, else the
    team's, else the Stages table); the target from `target_for`; won revenue and the
    expected pipeline from `period_forecast` of ``method``: the open deals only (for the
    calibrated method, their learned odds). The new-deal line is left out on purpose: the
    deals not yet created are what the plan's activities are for, so counting them as
    already expected would plan no work exactly when the usual work is needed. Section 6
    of the design notes.

    Raises:
        InputError: no target for the period and owner, no average deal size, or a
            Stages conversion out of range.

    """
    p = _period(model, period)
    target = model.target(p, owner)
    if math.isnan(target):
        raise InputError(
            f"no target for {_owner_text(owner)} in {p.label}",
            sheet="Targets",
            expected=f"a row for period {p.label}" + (f" and owner {owner}" if owner else ""),
        )
    rates = rates_for(model, owner)
    if not math.isfinite(rates.avg_deal) or rates.avg_deal <= 0:
        raise InputError(
            f"no average deal size for {_owner_text(owner)}: no won deals and no open amounts",
            sheet="Prospects",
            column="Amount",
            expected="won deals or open deals with an amount",
        )
    forecast = period_forecast(model, p, owner, method)
    won, weighted = float(forecast.won), float(forecast.weighted)
    try:
        counts = required_counts(
            target, rates.avg_deal, _exact_rates(rates, model.stages), won, weighted
        )
    except PlanTooLargeError:
        raise InputError(
            f"the plan for {_owner_text(owner)} in {p.label} would need more than "
            f"{MAX_COUNT:,} {_plural(_first_activity(model.stages), 2)}: check the amounts "
            "and the conversions",
            sheet="Prospects", column="Amount", value=rates.avg_deal,
            expected="an average deal and conversions that give a plan a team can carry out",
        ) from None  # fmt: skip
    stages = model.stages
    levels = [
        PlanLevel(stage.name, stage.activity, conversion, count)
        for stage, conversion, count in zip(stages.open, rates.conversions, counts, strict=False)
    ]
    levels.append(
        PlanLevel(stages.won.name, stages.won.activity or _DEALS_LABEL, math.nan, counts[-1])
    )
    return BackwardPlan(
        period=p,
        owner=owner,
        target=target,
        won=won,
        expected_pipeline=weighted,
        gap=max(0.0, target - won - weighted),
        avg_deal=rates.avg_deal,
        source=rates.source,
        levels=tuple(levels),
        deals=counts[-1],
    )


# --------------------------------------------------------------------------- dated plan


@dataclass(frozen=True, eq=False)
class DatedPlan:
    """Required activities per calendar bucket, and what should already have been done.

    ``rows``: bucket_start, owner, activity, required (int). ``too_late``: owner, activity,
    count, needed_by. Team rows have owner "".
    """

    period: Period
    freq: Freq
    plans: tuple[BackwardPlan, ...]
    lead_days: tuple[int, ...]
    rows: pd.DataFrame
    too_late: pd.DataFrame
    warnings: tuple[str, ...]


def _largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Whole shares of ``total`` in proportion to ``weights`` that add up to ``total``.

    Hamilton's method: floor every quota, then give the units left to the largest
    remainders (earlier positions first on ties). Integer arithmetic only.
    """
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0 for _ in weights]
    shares = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def _bucket_start(day: date, freq: Freq) -> date:
    if freq == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_bucket(start: date, freq: Freq) -> date:
    if freq == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class _Spread:
    late: int
    needed_by: date | None
    buckets: tuple[tuple[date, int], ...]


def _spread(count: int, start: date, end: date, as_of: date, freq: Freq) -> _Spread:
    """Spread ``count`` uniformly over the days of ``[start, end)``.

    Days before ``as_of`` are too late, the rest go to buckets; largest-remainder shares,
    so everything sums exactly to ``count``.
    """
    late_end = min(max(as_of, start), end)
    segments: list[tuple[date, int]] = []
    cursor = late_end
    while cursor < end:
        bucket = _bucket_start(cursor, freq)
        seg_end = min(_next_bucket(bucket, freq), end)
        segments.append((bucket, (seg_end - cursor).days))
        cursor = seg_end
    late_days = (late_end - start).days
    shares = _largest_remainder(count, [late_days, *(days for _, days in segments)])
    needed_by = late_end - timedelta(days=1) if late_days > 0 else None
    buckets = tuple((b, n) for (b, _), n in zip(segments, shares[1:], strict=True))
    return _Spread(shares[0], needed_by, buckets)


def _plural(activity: str, count: int) -> str:
    """Lower-case activity name, pluralised for ``count`` (call -> calls, inquiry -> inquiries)."""
    word = activity.strip().lower() or "activity"
    if count == 1:
        return word
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return f"{word}es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return f"{word[:-1]}ies"
    return f"{word}s"


def _too_late_message(period: Period, owner: str, activity: str, count: int, by: date) -> str:
    who = f" ({owner})" if owner else ""
    verb = "was" if count == 1 else "were"
    return (
        f"too late for {period.label}{who}: {count} {_plural(activity, count)} "
        f"{verb} needed by {by.isoformat()}"
    )


def _lead_days(model: Model) -> tuple[int, ...]:
    """Whole days ``L_k`` from each open stage to close (median, rounded up: start earlier)."""
    days, _ = model_lead_times(model)
    return tuple(max(0, math.ceil(d)) if math.isfinite(d) else 0 for d in days)


def _owners_with_target(model: Model, period: Period) -> list[str]:
    names = sorted({str(o) for o in model.targets["owner"] if str(o)})
    return [o for o in names if not math.isnan(model.target(period, o))]


def _rows_frame(rows: Sequence[tuple[date, str, str, int, int]]) -> pd.DataFrame:
    """Dated rows sorted by owner (team first), bucket and stage order."""
    ordered = sorted(rows, key=lambda r: (r[1], r[0], r[4]))
    return pd.DataFrame(
        {
            "bucket_start": _dates([r[0] for r in ordered]),
            "owner": pd.Series([r[1] for r in ordered], dtype=object),
            "activity": pd.Series([r[2] for r in ordered], dtype=object),
            "required": pd.Series([r[3] for r in ordered], dtype="int64"),
        }
    )


def _late_frame(late: Sequence[tuple[str, str, int, date, int]]) -> pd.DataFrame:
    """Too-late rows sorted by owner (team first) and stage order."""
    ordered = sorted(late, key=lambda r: (r[0], r[4]))
    return pd.DataFrame(
        {
            "owner": pd.Series([r[0] for r in ordered], dtype=object),
            "activity": pd.Series([r[1] for r in ordered], dtype=object),
            "count": pd.Series([r[2] for r in ordered], dtype="int64"),
            "needed_by": _dates([r[3] for r in ordered]),
        }
    )


def _dates(days: Sequence[date]) -> pd.Series:
    """Dates as the model's ``datetime64[ns]`` column type."""
    return pd.Series(pd.to_datetime(list(days)), dtype="datetime64[ns]")


def _team_sum(
    rows: Sequence[tuple[date, str, str, int, int]],
    late: Sequence[tuple[str, str, int, date, int]],
) -> tuple[list[tuple[date, str, str, int, int]], list[tuple[str, str, int, date, int]]]:
    """Team rows (owner "") adding up the owners' rows per bucket and activity."""
    bucket_sum: dict[tuple[date, str, int], int] = {}
    for day, _, activity, n, k in rows:
        bucket_sum[day, activity, k] = bucket_sum.get((day, activity, k), 0) + n
    late_sum: dict[tuple[str, date, int], int] = {}
    for _, activity, n, by, k in late:
        late_sum[activity, by, k] = late_sum.get((activity, by, k), 0) + n
    return (
        [(day, "", activity, n, k) for (day, activity, k), n in bucket_sum.items()],
        [("", activity, n, by, k) for (activity, by, k), n in late_sum.items()],
    )


def dated_plan(
    model: Model,
    period: Period | str,
    owner: str | None = None,
    freq: Freq = "week",
    method: Method = DEFAULT_METHOD,
) -> DatedPlan:
    """When the activities of the backward plan must happen, per week or month.

    Activities for open stage k fall in ``[period.start - L_k, period.end - L_k)`` so the
    deals land in the period (section 6; ``L_k`` from `lead_times`, median, whole days
    rounded up). ``count_k`` is spread uniformly over the window's days and allocated to
    buckets (Monday-based ISO weeks or months) by the largest-remainder method, so bucket
    counts are whole and add up to ``count_k``. The part of the window before ``as_of`` is
    too late: it goes to ``too_late`` (``needed_by`` = its last day) with one warning per
    activity, and rows start at the bucket holding ``as_of``. Deals themselves are not
    scheduled: the gap already counts only what is still to win.

    ``owner=None`` plans every owner with a target in the period and adds team rows
    (owner "", their sum); with only a team target, the team is planned. ``method``: the
    forecast the plans start from (`backward_plan`).

    Raises:
        InputError: unknown ``freq``, no target, or as `backward_plan`.

    """
    if freq not in ("week", "month"):
        raise arg_error("freq", f"{show(freq)} is not week or month", freq, "week or month")
    p = _period(model, period)
    as_of = _as_of(model)
    owners = _owners_with_target(model, p) if owner is None else [owner]
    with_team = owner is None and len(owners) > 0
    plans = tuple(backward_plan(model, p, o, method) for o in owners or [""])
    lead = _lead_days(model)

    rows: list[tuple[date, str, str, int, int]] = []
    late: list[tuple[str, str, int, date, int]] = []
    for plan in plans:
        # zip stops at the open stages: the closing level (deals) is not scheduled.
        for k, (level, days) in enumerate(zip(plan.levels, lead, strict=False)):
            start, end = p.start - timedelta(days=days), p.end - timedelta(days=days)
            spread = _spread(level.count, start, end, as_of, freq)
            rows += [(day, plan.owner, level.activity, n, k) for day, n in spread.buckets]
            if spread.late and spread.needed_by is not None:
                late.append((plan.owner, level.activity, spread.late, spread.needed_by, k))
    if with_team:
        team_rows, team_late = _team_sum(rows, late)
        rows += team_rows
        late += team_late

    warn_owner = "" if with_team else plans[0].owner
    warnings = tuple(
        _too_late_message(p, who, activity, n, by)
        for who, activity, n, by, _ in sorted(late, key=lambda r: r[4])
        if who == warn_owner
    )
    return DatedPlan(
        period=p,
        freq=freq,
        plans=plans,
        lead_days=lead,
        rows=_rows_frame(rows),
        too_late=_late_frame(late),
        warnings=warnings,
    )


# --------------------------------------------------------------------------- inflow


@dataclass(frozen=True, eq=False)
class InflowReport:
    """New prospects needed vs created per period.

    ``rows``: period, needed, actual, one column per source (actual counts), starved.
    """

    rows: pd.DataFrame
    warnings: tuple[str, ...]


def _target_periods(model: Model, as_of: date) -> list[Period]:
    """Reporting periods that have not ended and carry a team target, in order."""
    targets = model.targets
    if targets.empty:
        return []
    ends = targets["end"].dropna()
    if ends.empty:
        return []
    last_day = pd.Timestamp(ends.max()).date() - timedelta(days=1)
    out: list[Period] = []
    current = model.settings.period_of(as_of)
    while current.start <= last_day:
        if not math.isnan(model.target(current)):
            out.append(current)
        current = current.next()
    return out


def _segments(start: date, end: date, wanted: Sequence[Period]) -> list[tuple[int | None, int]]:
    """``[start, end)`` cut into (index of ``wanted``, days) segments in time order.

    The index is None for days in no wanted period (``wanted`` is sorted, non-overlapping).
    """
    out: list[tuple[int | None, int]] = []
    cursor = start
    for i, w in enumerate(wanted):
        lo, hi = max(start, w.start), min(end, w.end)
        if lo >= hi:
            continue
        if cursor < lo:
            out.append((None, (lo - cursor).days))
        out.append((i, (hi - lo).days))
        cursor = hi
    if cursor < end:
        out.append((None, (end - cursor).days))
    return out


def _source_column(name: str, taken: set[str]) -> str:
    label = name or "(no source)"
    return f"{label} (source)" if label in taken else label


def inflow(
    model: Model, periods: Sequence[Period | str], method: Method = DEFAULT_METHOD
) -> InflowReport:
    """New prospects needed per period against prospects actually created.

    ``needed`` is the first-stage count of the team's backward plan for every reporting
    period that has not ended and has a target, spread over its first-stage window
    ``[start - L_0, end - L_0)`` like `dated_plan` and summed per period (a window's
    days outside ``periods`` are counted but not shown). ``actual`` counts prospects
    created in the period up to ``as_of``, also split by source. A period that has started
    is ``starved`` when actual < needed: the funnel is not fed enough.

    Raises:
        InputError: overlapping periods, or as `backward_plan`.

    """
    as_of = _as_of(model)
    wanted = sorted((_period(model, p) for p in periods), key=lambda x: (x.start, x.end))
    for before, after in itertools.pairwise(wanted):
        if after.start < before.end:
            raise arg_error(
                "periods",
                f"{after.label} overlaps {before.label}",
                after.label,
                "periods that do not overlap",
            )
    needed = [0 for _ in wanted]
    warnings: list[str] = []
    targets = _target_periods(model, as_of)
    if not targets:
        warnings.append("no target for a period that has not ended: nothing is needed")
    lead0 = _lead_days(model)[0] if targets else 0
    for target_period in targets:
        first = backward_plan(model, target_period, "", method).levels[0].count
        start = target_period.start - timedelta(days=lead0)
        segments = _segments(start, target_period.end - timedelta(days=lead0), wanted)
        shares = _largest_remainder(first, [days for _, days in segments])
        for (index, _), share in zip(segments, shares, strict=True):
            if index is not None:
                needed[index] += share

    prospects = model.prospects
    created = prospects["created"]
    known = created.notna() & (created <= pd.Timestamp(as_of))
    fixed = {"period", "needed", "actual", "starved"}
    per_period: list[dict[str, int]] = []
    actual: list[int] = []
    sources: set[str] = set()
    for w in wanted:
        inside = known & (created >= pd.Timestamp(w.start)) & (created < pd.Timestamp(w.end))
        by_source = {
            str(k): int(v) for k, v in prospects.loc[inside, "source"].value_counts().items()
        }
        per_period.append(by_source)
        actual.append(int(inside.sum()))
        sources.update(by_source)
    columns = {s: _source_column(s, fixed) for s in sorted(sources)}

    starved = [w.start <= as_of and a < n for w, a, n in zip(wanted, actual, needed, strict=True)]
    data: dict[str, pd.Series] = {
        "period": pd.Series([w.label for w in wanted], dtype=object),
        "needed": pd.Series(needed, dtype="int64"),
        "actual": pd.Series(actual, dtype="int64"),
    }
    for source, column in columns.items():
        data[column] = pd.Series([c.get(source, 0) for c in per_period], dtype="int64")
    data["starved"] = pd.Series(starved, dtype="bool")
    for w, a, n, s in zip(wanted, actual, needed, starved, strict=True):
        if s:
            noun = "new prospect" if a == 1 else "new prospects"
            warnings.append(f"pipeline starved in {w.label}: {a} {noun}, {n} needed")
    return InflowReport(rows=pd.DataFrame(data), warnings=tuple(warnings))
