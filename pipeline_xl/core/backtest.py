"""Backtest: forecast past periods from the pipeline as it stood, and score every method.

For each period P in the range, the forecast is made on the first day of the period
``horizon - 1`` periods before P (one period ahead: P's own first day), from the model
as it stood at the end of that day (`pipeline_xl.core.timeline.as_it_stood`): only deals
created, closed, logged and active by then, and history learned from them alone. Every
method forecasts P from that model:

* ``weighted``: won + weighted pipeline (`pipeline_xl.core.forecast`, weighted method);
* ``calibrated``: won + calibrated pipeline + new-deal line (calibrated method);
* ``monte_carlo_p50``: the median of the calibrated Monte Carlo (the Settings' trials and
  seed);
* ``previous``: the won amount of the last period closed when the forecast is made;
* ``mean_3``: the mean won amount of the last three periods closed by then.

The actual of P is what the whole model shows won in it. Each method is scored over the
periods with `pipeline_xl.core.variance.score` (WAPE and bias, README, Definitions),
the same scoring as the refresh's Forecast accuracy table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import forecast_table, simulate
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.timeline import as_it_stood
from pipeline_xl.core.variance import score

__all__ = [
    "BACKTEST_METHODS",
    "DEFAULT_PERIODS",
    "HISTORY_BEFORE",
    "Backtest",
    "backtest",
    "default_range",
    "span",
]

BACKTEST_METHODS = ("weighted", "calibrated", "monte_carlo_p50", "previous", "mean_3")
DEFAULT_PERIODS = 12
_NS = "datetime64[ns]"


@dataclass(frozen=True)
class Backtest:
    """A backtest's figures.

    ``periods``: one row per period: period (label), made_on (the forecast's date),
    actual, then one column per method of `BACKTEST_METHODS`. ``summary``: one row per
    method: method, periods, actual, forecast, wape, bias.
    """

    periods: pd.DataFrame
    summary: pd.DataFrame
    horizon: int

    def to_dict(self) -> dict[str, object]:
        """``{"periods": [{"period", "actual", "forecasts"}], "summary": {method: ...}}``."""
        periods = [
            {
                "period": str(row["period"]),
                "actual": _number(row["actual"]),
                "forecasts": {m: _number(row[m]) for m in BACKTEST_METHODS},
            }
            for row in self.periods.to_dict("records")
        ]
        summary = {
            str(row["method"]): {"wape": _number(row["wape"]), "bias": _number(row["bias"])}
            for row in self.summary.to_dict("records")
        }
        return {"periods": periods, "summary": summary}


def _number(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _won(model: Model, start: Period, count: int) -> list[float]:
    """Won amounts of ``count`` periods from ``start`` on, as the model knows them."""
    prospects = model.prospects
    won = prospects.loc[(prospects["status"] == "won") & prospects["closed"].notna()]
    closed = won["closed"].to_numpy(dtype=_NS)
    amounts = np.nan_to_num(won["amount"].to_numpy(dtype="float64"))
    out = []
    for k in range(count):
        period = start.next(k)
        inside = (closed >= np.datetime64(period.start, "ns")) & (
            closed < np.datetime64(period.end, "ns")
        )
        out.append(float(amounts[inside].sum()))
    return out


HISTORY_BEFORE = 3  # periods of closed history a scored period needs before it


def default_range(model: Model, count: int = DEFAULT_PERIODS) -> tuple[Period, Period]:
    """The last ``count`` periods closed before the model's as-of date, oldest first.

    A period is scored only once `HISTORY_BEFORE` periods have passed since the first win:
    before that no method has anything to learn from, the mean-of-3 baseline has no three
    periods, and a score would measure the workbook's start, not the forecast.
    """
    settings = model.settings
    last = settings.current_period.next(-1)
    first = last.next(1 - count)
    prospects = model.prospects
    won = prospects.loc[prospects["status"] == "won", "closed"].dropna()
    if len(won):
        start = settings.period_of(pd.Timestamp(won.min()).date()).next(HISTORY_BEFORE)
        if first.start < start.start <= last.start:
            first = start
    return first, last


def span(first: Period, last: Period) -> list[Period]:
    """The periods from ``first`` to ``last``, both included (empty when ``last`` is earlier)."""
    out = []
    period = first
    while period.start <= last.start:
        out.append(period)
        period = period.next()
    return out


def _team(table: pd.DataFrame) -> float:
    team = table.loc[table["owner"] == ""]
    return float(team["expected"].iloc[0]) if len(team) else 0.0


def backtest(
    model: Model,
    periods: Sequence[Period] | None = None,
    *,
    horizon: int = 1,
    trials: int | None = None,
) -> Backtest:
    """Forecast each of ``periods`` (default: `default_range`) with every method and score them.

    ``horizon``: how many periods ahead the forecasts are made (1: on the period's first
    day). ``trials``: Monte Carlo trials (default: the Settings'). See the module notes.

    Raises:
        InputError: ``horizon`` below 1, no period, a period of another granularity, or
            a forecast date before anything the model has dated.

    """
    if horizon < 1:
        raise InputError("backtest horizon too short", value=horizon, expected="1 or more")
    settings = model.settings
    wanted = list(periods) if periods is not None else span(*default_range(model))
    if not wanted:
        raise InputError("no period to backtest", expected="a --from period before --to")
    rows = []
    for period in wanted:
        if period.kind != settings.granularity:
            raise InputError(
                "the backtest needs periods of the workbook's granularity",
                value=period.label,
                expected=f"a {settings.granularity}",
            )
        made_on = period.next(1 - horizon).start
        past = as_it_stood(model, made_on)
        history = _won(past, period.next(-horizon - 2), 3)
        simulated = simulate(
            past,
            np.random.default_rng(settings.mc_seed),
            trials=trials,
            periods=[period],
            method="calibrated",
        )
        rows.append({
            "period": period.label,
            "made_on": made_on,
            "actual": _won(model, period, 1)[0],
            "weighted": _team(forecast_table(past, [period], "weighted")),
            "calibrated": _team(forecast_table(past, [period], "calibrated")),
            "monte_carlo_p50": float(simulated.table["p50"].iloc[0]),
            "previous": history[-1],
            "mean_3": float(np.mean(history)),
        })  # fmt: skip
    table = pd.DataFrame(rows, columns=["period", "made_on", "actual", *BACKTEST_METHODS])
    summary = []
    for method in BACKTEST_METHODS:
        wape, bias = score(table["actual"], table[method])
        summary.append(
            (method, len(table), float(table["actual"].sum()), float(table[method].sum()), wape,
             bias)
        )  # fmt: skip
    frame = pd.DataFrame(
        summary, columns=["method", "periods", "actual", "forecast", "wape", "bias"]
    )
    return Backtest(table, frame, horizon)
