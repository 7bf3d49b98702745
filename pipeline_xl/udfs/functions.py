"""The PIPE_* worksheet functions: parse the cells, call the engine, shape the answer.

xlwings reads a function's type hints as converters, so arguments are annotated ``Any``
(its plain-value converter) and results ``int``, ``float`` or ``Any`` (spilled lists).

Docstrings are what Excel's Function Wizard shows (first 255 characters), so they are
written for the person typing the formula. Every function is pure: the same cells give
the same number on every recalculation (Monte Carlo uses a fixed seed unless one is
given). Tables are passed whole, with their header row (``tblProspects[#All]``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import xlwings as xw

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import period_forecast, simulate
from pipeline_xl.core.metrics import (
    avg_won_deal,
    coverage,
    cycle_days,
    open_pipeline,
    stale_deals,
    velocity,
    win_rates,
)
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period, period_of
from pipeline_xl.core.planning import backward_plan, dated_plan, funnel_table, required_counts
from pipeline_xl.udfs.convert import (
    as_number,
    as_owner,
    as_period,
    as_rates,
    frame_rows,
    guard,
    model_of,
    stages_of,
)

__all__ = [
    "PIPE_AVG_DEAL",
    "PIPE_COVERAGE",
    "PIPE_CYCLE_DAYS",
    "PIPE_FORECAST",
    "PIPE_FORECAST_RANGE",
    "PIPE_FUNNEL",
    "PIPE_GAP",
    "PIPE_HIT_PROBABILITY",
    "PIPE_PLAN",
    "PIPE_REQUIRED",
    "PIPE_REQUIRED_CALLS",
    "PIPE_REQUIRED_DEALS",
    "PIPE_STALE_COUNT",
    "PIPE_VELOCITY",
    "PIPE_WEIGHTED",
    "PIPE_WIN_RATE",
    "PIPE_WON",
]

CATEGORY = "pipeline-xl"
DEFAULT_TRIALS = 10_000
DEFAULT_SEED = 1
_METHODS = ("weighted", "commit", "best_case", "pipeline", "montecarlo")

_DOC_PROSPECTS = "The Prospects table with its header row, e.g. tblProspects[#All]"
_DOC_STAGES = "The Stages table with its header row, e.g. tblStages[#All]"
_DOC_TARGETS = "The Targets table with its header row, e.g. tblTargets[#All]"
_DOC_PERIOD = "Period: 2026-03, 2026-Q1, FY2027, a date in the month, or two cells first/last day"
_DOC_OWNER = "Optional sales rep; empty = the whole team"


def _optional_period(value: object) -> Period | None:
    return (
        None
        if value is None or (isinstance(value, str) and not value.strip())
        else (as_period(value))
    )


def _simulated(model: Model, period: Period, owner: str, trials: int, seed: int) -> pd.Series:
    if period != period_of(period.start, period.kind, 1):
        raise InputError("period: Monte Carlo needs a month, a quarter or a year")
    if period.kind == "year":
        raise InputError("period: Monte Carlo needs a month or a quarter")
    settings = dataclasses.replace(model.settings, granularity=period.kind)
    result = simulate(
        dataclasses.replace(model, settings=settings), np.random.default_rng(seed),
        trials=trials, periods=[period], owner=owner,
    )  # fmt: skip
    return result.table.iloc[0]


def _known(value: float, why: str) -> float:
    """A measured value, or the reason there is none (an empty measure is not zero)."""
    if math.isnan(value):
        raise InputError(why)
    return value


def _trials(value: object) -> int:
    trials = int(as_number(value, "trials", default=DEFAULT_TRIALS))
    if not 100 <= trials <= 1_000_000:
        raise InputError(f"trials: {trials} is outside 100 to 1,000,000")
    return trials


# --------------------------------------------------------------------- backward planning


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period")
@xw.arg("avg_deal", doc="Average won deal size")
@xw.arg("rates", ndim=1, doc="Conversion rates from the first activity to won, in order")
@xw.arg("won_to_date", doc="Optional revenue already won in the period")
@xw.arg("expected_pipeline", doc="Optional weighted open pipeline expected to close")
@guard
def PIPE_REQUIRED_CALLS(  # noqa: N802 - Excel function names are upper case
    target: Any,
    avg_deal: Any,
    rates: Any,
    won_to_date: Any = None,
    expected_pipeline: Any = None,
) -> int:
    """First-stage activities (e.g. calls) needed to reach the target.

    deals = ceil(gap / average deal), then each earlier count = ceil(next / its rate).
    """
    counts = required_counts(
        as_number(target, "target"), as_number(avg_deal, "avg_deal"), as_rates(rates),
        as_number(won_to_date, "won_to_date", default=0.0),
        as_number(expected_pipeline, "expected_pipeline", default=0.0),
    )  # fmt: skip
    return counts[0]


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period")
@xw.arg("avg_deal", doc="Average won deal size")
@xw.arg("won_to_date", doc="Optional revenue already won in the period")
@xw.arg("expected_pipeline", doc="Optional weighted open pipeline expected to close")
@guard
def PIPE_REQUIRED_DEALS(  # noqa: N802 - Excel function names are upper case
    target: Any, avg_deal: Any, won_to_date: Any = None, expected_pipeline: Any = None
) -> int:
    """Deals still to win: ceil((target - won - expected pipeline) / average deal), at least 0."""
    counts = required_counts(
        as_number(target, "target"), as_number(avg_deal, "avg_deal"), [1.0],
        as_number(won_to_date, "won_to_date", default=0.0),
        as_number(expected_pipeline, "expected_pipeline", default=0.0),
    )  # fmt: skip
    return counts[-1]


@xw.func(category=CATEGORY)
@xw.arg("activity", doc="Activity or stage name (Call, Meeting, Offer...) or Deals")
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_REQUIRED(  # noqa: N802 - Excel function names are upper case
    activity: Any,
    prospects: Any,
    stages: Any,
    targets: Any,
    period: Any,
    owner: Any = None,
) -> int:
    """How many of an activity the period's target still needs, from the team's history.

    Conversion rates and average deal come from closed deals (else the Stages table).
    """
    plan = backward_plan(model_of(prospects, stages, targets), as_period(period), as_owner(owner))
    wanted = as_owner(activity).casefold()
    for level in plan.levels:
        if wanted in {level.activity.casefold(), level.stage.casefold()}:
            return level.count
    if wanted in {"deal", "deals"}:
        return plan.deals
    names = ", ".join(level.activity for level in plan.levels)
    raise InputError(f"activity: {activity!r} is not one of {names} or Deals")


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period")
@xw.arg("avg_deal", doc="Average won deal size")
@xw.arg("stages", ndim=2, doc=_DOC_STAGES)
@guard
def PIPE_FUNNEL(target: Any, avg_deal: Any, stages: Any) -> Any:  # noqa: N802 - Excel name
    """Spills the backward funnel: activity, conversion rate and required count per stage."""
    table = funnel_table(
        as_number(target, "target"), as_number(avg_deal, "avg_deal"), stages_of(stages)
    )
    return frame_rows(table, ["Activity", "Conversion", "Required"])


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_PLAN(  # noqa: N802 - Excel function names are upper case
    prospects: Any, stages: Any, targets: Any, period: Any, owner: Any = None
) -> Any:
    """Spills the dated plan: week, activity, required count; too-late work listed first."""
    who = as_owner(owner)
    plan = dated_plan(model_of(prospects, stages, targets), as_period(period), who)
    out: list[list[Any]] = [["Week", "Activity", "Required", "Note"]]
    late = plan.too_late.loc[plan.too_late["owner"] == who]
    out.extend(
        [rec["needed_by"], rec["activity"], int(rec["count"]), "too late"]
        for rec in late.to_dict("records")
    )
    rows = plan.rows.loc[plan.rows["owner"] == who]
    out.extend(
        [rec["bucket_start"], rec["activity"], int(rec["required"]), ""]
        for rec in rows.to_dict("records")
    )
    return out


# ----------------------------------------------------------------------------- forecast


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@xw.arg("method", doc="weighted (default), commit, best_case, pipeline or montecarlo (P50)")
@guard
def PIPE_FORECAST(  # noqa: N802 - Excel function names are upper case
    prospects: Any, period: Any, owner: Any = None, method: Any = None
) -> float:
    """Expected revenue of the period: won + open deals weighted by their win probability.

    commit / best_case add those forecast categories at full value; montecarlo gives the
    median of 10,000 seeded trials.
    """
    model = model_of(prospects)
    chosen = as_owner(method).lower().replace(" ", "_") or "weighted"
    if chosen not in _METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(_METHODS)}")
    p, who = as_period(period), as_owner(owner)
    if chosen == "montecarlo":
        return float(_simulated(model, p, who, DEFAULT_TRIALS, DEFAULT_SEED)["p50"])
    forecast = period_forecast(model, p, who)
    values = {
        "weighted": forecast.expected, "commit": forecast.commit,
        "best_case": forecast.best_case, "pipeline": forecast.won + forecast.pipeline,
    }  # fmt: skip
    return values[chosen]


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@xw.arg("trials", doc="Optional number of simulated trials (default 10,000)")
@xw.arg("seed", doc="Optional random seed (default 1): same seed, same numbers")
@guard
def PIPE_FORECAST_RANGE(  # noqa: N802 - Excel function names are upper case
    prospects: Any,
    period: Any,
    owner: Any = None,
    trials: Any = None,
    seed: Any = None,
) -> Any:
    """Spills P10, P50 and P90 of the period's revenue from a seeded Monte Carlo simulation."""
    row = _simulated(
        model_of(prospects), as_period(period), as_owner(owner), _trials(trials),
        int(as_number(seed, "seed", default=DEFAULT_SEED)),
    )  # fmt: skip
    return [[float(row["p10"]), float(row["p50"]), float(row["p90"])]]


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_HIT_PROBABILITY(  # noqa: N802 - Excel function names are upper case
    prospects: Any, targets: Any, period: Any, owner: Any = None
) -> float:
    """Probability (0-1) of reaching the period's target, from 10,000 seeded trials."""
    model = model_of(prospects, None, targets)
    row = _simulated(model, as_period(period), as_owner(owner), DEFAULT_TRIALS, DEFAULT_SEED)
    if math.isnan(float(row["target"])):
        raise InputError("targets: no target for this period and owner")
    return float(row["hit_probability"])


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_WON(prospects: Any, period: Any, owner: Any = None) -> float:  # noqa: N802 - Excel name
    """Revenue won in the period (won deals whose close date falls in it)."""
    return period_forecast(model_of(prospects), as_period(period), as_owner(owner)).won


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_WEIGHTED(prospects: Any, period: Any, owner: Any = None) -> float:  # noqa: N802 - Excel name
    """Weighted open pipeline of the period: sum of amount x win probability."""
    return period_forecast(model_of(prospects), as_period(period), as_owner(owner)).weighted


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_GAP(  # noqa: N802 - Excel function names are upper case
    prospects: Any, targets: Any, period: Any, owner: Any = None
) -> float:
    """Target minus expected result (won + weighted pipeline); negative = ahead of target."""
    forecast = period_forecast(
        model_of(prospects, None, targets), as_period(period), as_owner(owner)
    )
    if math.isnan(forecast.target):
        raise InputError("targets: no target for this period and owner")
    return forecast.gap


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS)
@xw.arg("period", doc=_DOC_PERIOD)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_COVERAGE(  # noqa: N802 - Excel function names are upper case
    prospects: Any, targets: Any, period: Any, owner: Any = None
) -> Any:
    """Open pipeline closing in the period / (target - won). About 1 / win rate is needed."""
    forecast = period_forecast(
        model_of(prospects, None, targets), as_period(period), as_owner(owner)
    )
    if math.isnan(forecast.target):
        raise InputError("targets: no target for this period and owner")
    value = coverage(forecast.pipeline, forecast.target, forecast.won)
    return value if math.isfinite(value) else "target reached"


# ------------------------------------------------------------------------------ metrics


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc="Optional period of closing; empty = all history")
@xw.arg("owner", doc=_DOC_OWNER)
@xw.arg("by_value", doc="Optional TRUE for the win rate by value instead of by count")
@guard
def PIPE_WIN_RATE(  # noqa: N802 - Excel function names are upper case
    prospects: Any, period: Any = None, owner: Any = None, by_value: Any = None
) -> float:
    """Won / (won + lost) deals closed in the period (by value: won / closed amount)."""
    model = model_of(prospects)
    count, value = win_rates(
        model.prospects, model.settings.as_of, owner=as_owner(owner) or None,
        period=_optional_period(period),
    )  # fmt: skip
    return _known(value if bool(by_value) else count, "no closed deals")


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc="Optional period of closing; empty = all history")
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_AVG_DEAL(prospects: Any, period: Any = None, owner: Any = None) -> float:  # noqa: N802 - Excel name
    """Average amount of the deals won (in the period, or over all history)."""
    model = model_of(prospects)
    return _known(
        avg_won_deal(
            model.prospects, model.settings.as_of, owner=as_owner(owner) or None,
            period=_optional_period(period),
        ),
        "no won deals",
    )  # fmt: skip


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("period", doc="Optional period of closing; empty = all history")
@xw.arg("owner", doc=_DOC_OWNER)
@xw.arg("percentile", doc="Optional 50 (median, default) or 80")
@guard
def PIPE_CYCLE_DAYS(  # noqa: N802 - Excel function names are upper case
    prospects: Any, period: Any = None, owner: Any = None, percentile: Any = None
) -> float:
    """Median (or 80th percentile) days from created to closed for won deals."""
    model = model_of(prospects)
    which = as_number(percentile, "percentile", default=50.0)
    if which not in {50.0, 80.0}:
        raise InputError(f"percentile: {percentile!r} is not 50 or 80")
    median, p80 = cycle_days(
        model.prospects, model.settings.as_of, owner=as_owner(owner) or None,
        period=_optional_period(period),
    )  # fmt: skip
    return _known(median if which == 50.0 else p80, "no won deals with dates")


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("owner", doc=_DOC_OWNER)
@guard
def PIPE_VELOCITY(prospects: Any, owner: Any = None) -> float:  # noqa: N802 - Excel name
    """Sales velocity per day: open deals x average deal x win rate / cycle days."""
    model = model_of(prospects)
    who = as_owner(owner) or None
    as_of = model.settings.as_of
    _, count = open_pipeline(model.prospects, as_of, owner=who)
    rate, _ = win_rates(model.prospects, as_of, owner=who)
    median, _ = cycle_days(model.prospects, as_of, owner=who)
    return _known(
        velocity(count, avg_won_deal(model.prospects, as_of, owner=who), rate, median),
        "no won deals",
    )


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS)
@xw.arg("owner", doc=_DOC_OWNER)
@xw.arg("days", doc="Optional days without activity that make a deal stale (default 30)")
@guard
def PIPE_STALE_COUNT(prospects: Any, owner: Any = None, days: Any = None) -> int:  # noqa: N802 - Excel name
    """Open deals with no activity for more than the given days (default 30)."""
    model = model_of(prospects)
    limit = as_number(days, "days", default=30.0)
    if limit < 1 or limit != int(limit):
        raise InputError(f"days: {days!r} is not a whole number of days of at least 1")
    found = stale_deals(
        model.prospects, model.settings.as_of, int(limit), owner=as_owner(owner) or None
    )
    return len(found)
