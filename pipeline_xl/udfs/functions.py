"""The PIPE_* worksheet functions: parse the cells, call the engine, shape the answer.

xlwings reads a function's type hints as converters, so arguments are annotated ``Any``
(its plain-value converter) and results ``int``, ``float`` or ``Any`` (spilled lists, and
numbers that may be an Excel error value, see `pipeline_xl.udfs.values`). Every argument
asks for Excel error values as text (``err_to_str``), so an error cell is refused with its
name instead of being read as a blank.

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
from pipeline_xl.udfs.args import (
    MAX_COUNT,
    as_amount,
    as_bool,
    as_count,
    as_number,
    as_period,
    as_rates,
    as_text,
    optional_period,
)
from pipeline_xl.udfs.convert import frame_rows, model_of, stages_of
from pipeline_xl.udfs.values import NA, guard, number_or_error

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


def _trials(value: object) -> int:
    return as_count(value, "trials", default=DEFAULT_TRIALS, low=100, high=1_000_000)


# --------------------------------------------------------------------- backward planning


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period", err_to_str=True)
@xw.arg("avg_deal", doc="Average won deal size", err_to_str=True)
@xw.arg(
    "rates",
    ndim=1,
    doc="Conversion rates from the first activity to won, in order",
    err_to_str=True,
)
@xw.arg("won_to_date", doc="Optional revenue already won in the period", err_to_str=True)
@xw.arg(
    "expected_pipeline", doc="Optional weighted open pipeline expected to close", err_to_str=True
)
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
    Rates run from 0 to 1 (type 25% or 0.25).
    """
    counts = required_counts(
        as_amount(target, "target"), as_amount(avg_deal, "avg_deal", positive=True),
        as_rates(rates), as_amount(won_to_date, "won_to_date", default=0.0),
        as_amount(expected_pipeline, "expected_pipeline", default=0.0),
    )  # fmt: skip
    return counts[0]


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period", err_to_str=True)
@xw.arg("avg_deal", doc="Average won deal size", err_to_str=True)
@xw.arg("won_to_date", doc="Optional revenue already won in the period", err_to_str=True)
@xw.arg(
    "expected_pipeline", doc="Optional weighted open pipeline expected to close", err_to_str=True
)
@guard
def PIPE_REQUIRED_DEALS(  # noqa: N802 - Excel function names are upper case
    target: Any, avg_deal: Any, won_to_date: Any = None, expected_pipeline: Any = None
) -> int:
    """Deals still to win: ceil((target - won - expected pipeline) / average deal), at least 0."""
    counts = required_counts(
        as_amount(target, "target"), as_amount(avg_deal, "avg_deal", positive=True), [1.0],
        as_amount(won_to_date, "won_to_date", default=0.0),
        as_amount(expected_pipeline, "expected_pipeline", default=0.0),
    )  # fmt: skip
    return counts[-1]


@xw.func(category=CATEGORY)
@xw.arg(
    "activity", doc="Activity or stage name (Call, Meeting, Offer...) or Deals", err_to_str=True
)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES, err_to_str=True)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
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
    model = model_of(prospects, stages, targets)
    plan = backward_plan(model, as_period(period), model.owner_named(owner))
    wanted = as_text(activity).casefold()
    for level in plan.levels:
        if wanted in {level.activity.casefold(), level.stage.casefold()}:
            return level.count
    if wanted in {"deal", "deals"}:
        return plan.deals
    names = ", ".join(level.activity for level in plan.levels)
    raise InputError(f"activity: {activity!r} is not one of {names} or Deals")


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period", err_to_str=True)
@xw.arg("avg_deal", doc="Average won deal size", err_to_str=True)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES, err_to_str=True)
@guard
def PIPE_FUNNEL(target: Any, avg_deal: Any, stages: Any) -> Any:  # noqa: N802 - Excel name
    """Spills the backward funnel: activity, conversion rate and required count per stage."""
    table = funnel_table(
        as_amount(target, "target"), as_amount(avg_deal, "avg_deal", positive=True),
        stages_of(stages),
    )  # fmt: skip
    return frame_rows(table, ["Activity", "Conversion", "Required"])


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES, err_to_str=True)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_PLAN(  # noqa: N802 - Excel function names are upper case
    prospects: Any, stages: Any, targets: Any, period: Any, owner: Any = None
) -> Any:
    """Spills the dated plan: week, activity, required count; too-late work listed first."""
    model = model_of(prospects, stages, targets)
    who = model.owner_named(owner)
    plan = dated_plan(model, as_period(period), who)
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
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@xw.arg(
    "method",
    doc="weighted (default), commit, best_case, pipeline or montecarlo (P50)",
    err_to_str=True,
)
@guard
def PIPE_FORECAST(  # noqa: N802 - Excel function names are upper case
    prospects: Any, period: Any, owner: Any = None, method: Any = None
) -> float:
    """Expected revenue of the period: won + open deals weighted by their win probability.

    commit / best_case add those forecast categories at full value; montecarlo gives the
    median of 10,000 seeded trials.
    """
    model = model_of(prospects)
    chosen = as_text(method).lower().replace(" ", "_") or "weighted"
    if chosen not in _METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(_METHODS)}")
    p, who = as_period(period), model.owner_named(owner)
    if chosen == "montecarlo":
        return float(_simulated(model, p, who, DEFAULT_TRIALS, DEFAULT_SEED)["p50"])
    forecast = period_forecast(model, p, who)
    values = {
        "weighted": forecast.expected, "commit": forecast.commit,
        "best_case": forecast.best_case, "pipeline": forecast.won + forecast.pipeline,
    }  # fmt: skip
    return values[chosen]


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@xw.arg("trials", doc="Optional number of simulated trials (default 10,000)", err_to_str=True)
@xw.arg("seed", doc="Optional random seed (default 1): same seed, same numbers", err_to_str=True)
@guard
def PIPE_FORECAST_RANGE(  # noqa: N802 - Excel function names are upper case
    prospects: Any,
    period: Any,
    owner: Any = None,
    trials: Any = None,
    seed: Any = None,
) -> Any:
    """Spills P10, P50 and P90 of the period's revenue from a seeded Monte Carlo simulation."""
    model = model_of(prospects)
    row = _simulated(
        model, as_period(period), model.owner_named(owner), _trials(trials),
        as_count(seed, "seed", default=DEFAULT_SEED, low=0, high=MAX_COUNT),
    )  # fmt: skip
    return [[float(row["p10"]), float(row["p50"]), float(row["p90"])]]


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_HIT_PROBABILITY(  # noqa: N802 - Excel function names are upper case
    prospects: Any, targets: Any, period: Any, owner: Any = None
) -> float:
    """Probability (0-1) of reaching the period's target, from 10,000 seeded trials."""
    model = model_of(prospects, None, targets)
    row = _simulated(
        model, as_period(period), model.owner_named(owner), DEFAULT_TRIALS, DEFAULT_SEED
    )
    if math.isnan(float(row["target"])):
        raise InputError("targets: no target for this period and owner")
    return float(row["hit_probability"])


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_WON(prospects: Any, period: Any, owner: Any = None) -> float:  # noqa: N802 - Excel name
    """Revenue won in the period (won deals whose close date falls in it)."""
    model = model_of(prospects)
    return period_forecast(model, as_period(period), model.owner_named(owner)).won


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_WEIGHTED(prospects: Any, period: Any, owner: Any = None) -> float:  # noqa: N802 - Excel name
    """Weighted open pipeline of the period: sum of amount x win probability."""
    model = model_of(prospects)
    return period_forecast(model, as_period(period), model.owner_named(owner)).weighted


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_GAP(  # noqa: N802 - Excel function names are upper case
    prospects: Any, targets: Any, period: Any, owner: Any = None
) -> float:
    """Target minus expected result (won + weighted pipeline); negative = ahead of target."""
    model = model_of(prospects, None, targets)
    forecast = period_forecast(model, as_period(period), model.owner_named(owner))
    if math.isnan(forecast.target):
        raise InputError("targets: no target for this period and owner")
    return forecast.gap


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=_DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_COVERAGE(  # noqa: N802 - Excel function names are upper case
    prospects: Any, targets: Any, period: Any, owner: Any = None
) -> Any:
    """Open pipeline closing in the period / (target - won); #N/A once the target is reached.

    A coverage of about 1 / win rate is needed to reach the target.
    """
    model = model_of(prospects, None, targets)
    forecast = period_forecast(model, as_period(period), model.owner_named(owner))
    if math.isnan(forecast.target):
        raise InputError("targets: no target for this period and owner")
    value = coverage(forecast.pipeline, forecast.target, forecast.won)
    return value if math.isfinite(value) else NA


# ------------------------------------------------------------------------------ metrics


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc="Optional period of closing; empty = all history", err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@xw.arg(
    "by_value", doc="Optional TRUE for the win rate by value instead of by count", err_to_str=True
)
@guard
def PIPE_WIN_RATE(  # noqa: N802 - Excel function names are upper case
    prospects: Any, period: Any = None, owner: Any = None, by_value: Any = None
) -> Any:
    """Won / (won + lost) deals closed in the period (by value: won / closed amount).

    #DIV/0! when no deal closed.
    """
    model = model_of(prospects)
    count, value = win_rates(
        model.prospects, model.settings.as_of, owner=model.owner_named(owner) or None,
        period=optional_period(period),
    )  # fmt: skip
    return number_or_error(value if as_bool(by_value, "by_value") else count)


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc="Optional period of closing; empty = all history", err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_AVG_DEAL(prospects: Any, period: Any = None, owner: Any = None) -> Any:  # noqa: N802 - Excel name
    """Average amount of the deals won (in the period, or over all history); #DIV/0! if none."""
    model = model_of(prospects)
    return number_or_error(
        avg_won_deal(
            model.prospects, model.settings.as_of, owner=model.owner_named(owner) or None,
            period=optional_period(period),
        )
    )  # fmt: skip


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc="Optional period of closing; empty = all history", err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@xw.arg("percentile", doc="Optional 50 (median, default) or 80", err_to_str=True)
@guard
def PIPE_CYCLE_DAYS(  # noqa: N802 - Excel function names are upper case
    prospects: Any, period: Any = None, owner: Any = None, percentile: Any = None
) -> Any:
    """Median (or 80th percentile) days from created to closed for won deals.

    #DIV/0! when no won deal has both dates.
    """
    model = model_of(prospects)
    which = as_number(percentile, "percentile", default=50.0)
    if which not in {50.0, 80.0}:
        raise InputError(f"percentile: {percentile!r} is not 50 or 80")
    median, p80 = cycle_days(
        model.prospects, model.settings.as_of, owner=model.owner_named(owner) or None,
        period=optional_period(period),
    )  # fmt: skip
    return number_or_error(median if which == 50.0 else p80)


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@guard
def PIPE_VELOCITY(prospects: Any, owner: Any = None) -> Any:  # noqa: N802 - Excel name
    """Sales velocity per day: open deals x average deal x win rate / cycle days.

    #DIV/0! without won deals to measure.
    """
    model = model_of(prospects)
    who = model.owner_named(owner) or None
    as_of = model.settings.as_of
    _, count = open_pipeline(model.prospects, as_of, owner=who)
    rate, _ = win_rates(model.prospects, as_of, owner=who)
    median, _ = cycle_days(model.prospects, as_of, owner=who)
    return number_or_error(
        velocity(count, avg_won_deal(model.prospects, as_of, owner=who), rate, median)
    )


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=_DOC_PROSPECTS, err_to_str=True)
@xw.arg("owner", doc=_DOC_OWNER, err_to_str=True)
@xw.arg(
    "days",
    doc="Optional days without activity that make a deal stale (default 30)",
    err_to_str=True,
)
@guard
def PIPE_STALE_COUNT(prospects: Any, owner: Any = None, days: Any = None) -> int:  # noqa: N802 - Excel name
    """Open deals with no activity for more than the given days (default 30)."""
    model = model_of(prospects)
    limit = as_count(days, "days", default=model.settings.stale_days, low=1, high=3650)
    found = stale_deals(
        model.prospects, model.settings.as_of, limit, owner=model.owner_named(owner) or None
    )
    return len(found)
