"""Forecast worksheet functions: won, weighted, expected, ranges and the chance of target.

Every figure is the one the report sheets show for the same period, owner and as-of
(`pipeline_xl.core.forecast`, calibrated method unless a method is named): expected period
result = won in the period + each open deal's amount x its learned chance of closing in
the period + the deals not created yet. The Monte Carlo functions draw each open deal's
outcome from the same law (`period_range`: one period simulated alone, trials and seed
from the Settings table, 10,000 trials and its seed by default); slip (the fallback law of
deals the calibration cannot place) comes from the argument, else what the Snapshots log
teaches (when passed), else the Settings' slip probability (20% by default). Percentiles
are simulated outcomes.

``PIPE_HIT_PROBABILITY`` takes the Targets table, or instead one amount to reach (a
forecast call, ``PIPE_CALL``'s cell): P(outcome >= amount) of the same simulation. An
amount cell holding an Excel error (``#N/A``: nobody called) gives that error back.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import xlwings as xw

from pipeline_xl.core.cells import EXCEL_ERRORS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import DEFAULT_METHOD, period_forecast, period_range
from pipeline_xl.core.forecast import METHODS as METHODS_OF_CORE
from pipeline_xl.core.metrics import coverage
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.udfs.args import (
    MAX_COUNT,
    as_amount,
    as_count,
    as_rate,
    as_text,
    flatten,
    is_blank,
)
from pipeline_xl.udfs.common import (
    CATEGORY,
    DOC_OWNER,
    DOC_PERIOD,
    DOC_PROSPECTS,
    DOC_TARGETS,
    book_model,
    model_period,
    tail_args,
)
from pipeline_xl.udfs.values import NA, ExcelError, guard

__all__ = [
    "METHODS",
    "PIPE_COVERAGE",
    "PIPE_FORECAST",
    "PIPE_FORECAST_RANGE",
    "PIPE_GAP",
    "PIPE_HIT_PROBABILITY",
    "PIPE_WEIGHTED",
    "PIPE_WON",
]

METHODS = ("calibrated", "weighted", "commit", "best_case", "pipeline", "montecarlo")
_DOC_SLIP = "Optional chance (0-1) that a win slips a period; empty = learned or Settings"
_PASSED = frozenset({"#N/A", "#DIV/0!", "#NUM!", "#VALUE!"})  # error values handed back as such
_DOC_TARGETS_OR_AMOUNT = (
    "The Targets table with its header row, e.g. tblTargets[#All]; or an amount to reach "
    "(a forecast call)"
)


def _slip(value: object) -> float | None:
    return None if is_blank(value) else as_rate(value, "slip")


def _simulated(
    model: Model,
    period: Period,
    owner: str,
    trials: int,
    seed: int,
    slip: float | None,
    reach: float | None = None,
) -> pd.Series:
    """The Monte Carlo row (p10, p50, p90, hit probability ...) of one period.

    ``reach``: an amount to reach in place of the period's target (hit probability =
    P(outcome >= reach)), from the same draws. `period_range` simulates once per model and
    arguments: P10, P50 and P90 share a run.
    """
    return period_range(
        model, period, owner, trials=trials, seed=seed, slip=slip, reach=reach
    ).table.iloc[0]


def _trials(model: Model, value: object) -> int:
    return as_count(value, "trials", default=model.settings.mc_trials, low=100, high=1_000_000)


def _seed(model: Model, value: object) -> int:
    return as_count(value, "seed", default=model.settings.mc_seed, low=0, high=MAX_COUNT)


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@xw.arg(
    "method",
    doc="calibrated (default), weighted, commit, best_case, pipeline or montecarlo (P50)",
    err_to_str=True,
)
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@xw.arg("slip", doc=_DOC_SLIP, err_to_str=True)
@guard
def PIPE_FORECAST(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any,
    owner: Any = None,
    method: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
    slip: Any = None,
) -> float:
    """Expected revenue of the period: won + what open and new deals are expected to bring.

    calibrated (default): each open deal's chance of closing in the period, learned from
    history, plus the deals not created yet; weighted: amount x Stages/learned win
    probability of the deals expected to close in it; commit / best_case add those
    forecast categories at full value; pipeline: won + all open amounts closing in it;
    montecarlo: the median (P50) of the seeded simulation.
    """
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    chosen = as_text(method).lower().replace(" ", "_") or DEFAULT_METHOD
    if chosen not in METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    p, who = model_period(model, period), model.owner_named(owner)
    if chosen == "montecarlo":
        row = _simulated(
            model, p, who, model.settings.mc_trials, model.settings.mc_seed, _slip(slip)
        )
        return float(row["p50"])
    if chosen in METHODS_OF_CORE:
        return period_forecast(model, p, who, chosen).expected
    forecast = period_forecast(model, p, who)
    values = {
        "commit": forecast.commit,
        "best_case": forecast.best_case, "pipeline": forecast.won + forecast.pipeline,
    }  # fmt: skip
    return values[chosen]


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@xw.arg("trials", doc="Optional number of trials; empty = the Settings' (10,000)", err_to_str=True)
@xw.arg("seed", doc="Optional random seed; empty = the Settings' (same seed, same numbers)",
        err_to_str=True)  # fmt: skip
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@xw.arg("slip", doc=_DOC_SLIP, err_to_str=True)
@guard
def PIPE_FORECAST_RANGE(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any,
    owner: Any = None,
    trials: Any = None,
    seed: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
    slip: Any = None,
) -> Any:
    """Spills P10, P50 and P90 of the period's revenue: outcomes of a seeded Monte Carlo run."""
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    row = _simulated(
        model, model_period(model, period), model.owner_named(owner), _trials(model, trials),
        _seed(model, seed), _slip(slip),
    )  # fmt: skip
    return [[float(row["p10"]), float(row["p50"]), float(row["p90"])]]


def _amount_to_reach(targets: object) -> float | ExcelError | None:
    """One cell given for ``targets``: its amount (its Excel error); None for a table."""
    cells = flatten(targets)
    if len(cells) != 1:
        return None
    cell = cells[0]
    error = cell.strip().upper() if isinstance(cell, str) else ""
    if error in EXCEL_ERRORS:
        return ExcelError(error) if error in _PASSED else NA
    return as_amount(cell, "targets")


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("targets", ndim=2, doc=_DOC_TARGETS_OR_AMOUNT, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@xw.arg("slip", doc=_DOC_SLIP, err_to_str=True)
@guard
def PIPE_HIT_PROBABILITY(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    targets: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
    slip: Any = None,
) -> Any:
    """Probability (0-1) of reaching the period's target (#N/A without one), by Monte Carlo.

    Give an amount (a forecast call) instead of the Targets table for P(outcome >= it).
    Trials and seed come from the Settings table; slip as in PIPE_FORECAST_RANGE.
    """
    reach = _amount_to_reach(targets)
    if isinstance(reach, ExcelError):
        return reach
    table = targets if reach is None else None
    model = book_model(prospects, stages, table, activities, snapshots, settings, as_of)
    row = _simulated(
        model, model_period(model, period), model.owner_named(owner),
        model.settings.mc_trials, model.settings.mc_seed, _slip(slip), reach,
    )  # fmt: skip
    if math.isnan(float(row["target"])):
        return NA  # no target: nothing to reach
    return float(row["hit_probability"])


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@guard
def PIPE_WON(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> float:
    """Revenue won in the period (won deals whose close date falls in it, up to the as-of)."""
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    return period_forecast(model, model_period(model, period), model.owner_named(owner)).won


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@guard
def PIPE_WEIGHTED(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> float:
    """Open deals' expected revenue in the period: amount x chance of closing in it.

    The chance is learned from history (the calibrated forecast, as in PIPE_FORECAST);
    PIPE_FORECAST with method "weighted" uses the Stages/learned win probabilities.
    """
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    p, who = model_period(model, period), model.owner_named(owner)
    return period_forecast(model, p, who).weighted


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("targets", ndim=2, doc=DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@guard
def PIPE_GAP(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    targets: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Target minus the forecast (PIPE_FORECAST); negative = ahead; #N/A without a target."""
    model = book_model(prospects, stages, targets, activities, snapshots, settings, as_of)
    forecast = period_forecast(model, model_period(model, period), model.owner_named(owner))
    if math.isnan(forecast.target):
        return NA  # no target: no gap
    return forecast.gap


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("targets", ndim=2, doc=DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "stages", "activities", "settings", "snapshots")
@guard
def PIPE_COVERAGE(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    targets: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Open pipeline closing in the period / (target - won); #N/A once the target is reached.

    A coverage of about 1 / win rate is needed to reach the target.
    """
    model = book_model(prospects, stages, targets, activities, snapshots, settings, as_of)
    forecast = period_forecast(model, model_period(model, period), model.owner_named(owner))
    if math.isnan(forecast.target):
        return NA  # no target: nothing to cover
    value = coverage(forecast.pipeline, forecast.target, forecast.won)
    return value if math.isfinite(value) else NA
