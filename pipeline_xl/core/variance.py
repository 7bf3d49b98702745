"""Quality control of the sales line: actual and forecast against target, activity against plan.

Definitions (design notes, section 6):

* Variance = actual - target (or - forecast); for revenue a positive variance is
  favourable ("F"), a negative one unfavourable ("U"). For a period still running,
  "actual" is the expected result (won + weighted pipeline); for a closed period it is
  the won amount, because no open deal lands in a past period.
* Baseline forecast of a period: what the same method gave on the pipeline as it stood
  when the period began, with today's learned rates (it measures how far the pipeline
  moved, not what somebody typed into a forecast then). The weighted method (stage
  probabilities of today, per-deal overrides of then) reads the pipeline at the last
  snapshot on or before the period's first day and before ``as_of`` (a snapshot taken on
  ``as_of`` is today's record, not a forecast made earlier); the calibrated method
  rebuilds it on the period's first day (`pipeline_xl.core.timeline.as_it_stood`) and
  applies today's timing laws (`pipeline_xl.core.calibration.borrow_laws`). A forecast
  made with only what was known then is the backtest's (`pipeline_xl.core.backtest`).
* Forecast accuracy over closed periods with a baseline: WAPE = sum |A - F| / sum A and
  bias = sum (F - A) / sum A, where A is the won amount and F the baseline (`score`).
* Activities: the dated backward plan against the Activities table, per owner and activity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.calibration import borrow_laws
from pipeline_xl.core.forecast import DEFAULT_METHOD, Method, forecast_table, stage_probabilities
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.planning import Freq, dated_plan
from pipeline_xl.core.timeline import as_it_stood, first_date

__all__ = [
    "activity_variance",
    "baseline_forecasts",
    "calibrated_baselines",
    "forecast_accuracy",
    "score",
    "variance_table",
]

_NS = "datetime64[ns]"
FloatArray = npt.NDArray[np.float64]


def _pct(amount: pd.Series, base: pd.Series) -> pd.Series:
    """``amount / base``; NaN where the base is zero or missing."""
    return (amount / base.where(base != 0)).astype("float64")


_FLAG_TOLERANCE = 0.005  # a variance within half a cent of zero is on target, not behind


def _flag(variance: pd.Series) -> pd.Series:
    """Flag F (favourable) at or above target, U below it, blank without a variance."""
    flags = np.where(variance > -_FLAG_TOLERANCE, "F", "U")
    return pd.Series(np.where(variance.isna(), "", flags), index=variance.index, dtype=object)


def _valid_rows(log: pd.DataFrame) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.datetime64]]:
    """Each change-log row's validity interval ``[from, until)`` (until = next row of the deal)."""
    dates = log["snapshot_date"].to_numpy(dtype=_NS)
    ids = log["id"].to_numpy(dtype=object)
    until = np.empty_like(dates)
    until[:-1] = dates[1:]
    if len(dates):
        until[-1] = np.datetime64("NaT")
    same_deal = np.zeros(len(ids), dtype=bool)
    same_deal[:-1] = ids[:-1] == ids[1:]
    until = np.where(same_deal, until, np.datetime64("NaT"))
    return dates, until


def baseline_forecasts(model: Model, periods: Sequence[Period]) -> pd.DataFrame:
    """Expected result of each period and owner as the pipeline stood when the period began.

    Returns one row per period and owner that had deals landing then (team owner ``""``
    included): period, owner, baseline_date, baseline. Periods without a snapshot on or
    before their first day are left out.
    """
    columns = ["period", "owner", "baseline_date", "baseline"]
    log = model.snapshots
    if log.empty or not periods:
        return pd.DataFrame(columns=columns)
    as_of = np.datetime64(model.settings.as_of, "ns")
    log = log.sort_values(["id", "snapshot_date"], kind="stable")
    valid_from, valid_until = _valid_rows(log)
    snapshot_days = np.unique(valid_from)
    per_stage, _ = stage_probabilities(model)
    team_p = per_stage[""]
    owners = log["owner"].to_numpy(dtype=object)
    stage_idx = np.clip(log["stage_idx"].to_numpy(dtype="int64"), 0, len(team_p) - 1)
    # One row of stage probabilities per distinct owner; owners without rates use the team's.
    codes, names = pd.factorize(owners)
    matrix = np.array([per_stage.get(str(name), team_p) for name in names] or [team_p])
    prob = matrix[np.maximum(codes, 0), stage_idx]
    override = log["probability"].to_numpy(dtype="float64")
    prob = np.where(np.isnan(override), prob, np.clip(override, 0.0, 1.0))
    is_open = (log["status"] == "open").to_numpy()
    weighted = np.nan_to_num(log["amount"].to_numpy(dtype="float64")) * prob
    expected = log["expected_close"].to_numpy(dtype=_NS)
    # Rows sorted by expected close: a period's candidates are one slice of them.
    order = np.argsort(expected, kind="stable")
    expected_sorted = expected[order]
    records = []
    for period in periods:
        start = np.datetime64(period.start, "ns")
        end = np.datetime64(period.end, "ns")
        usable = snapshot_days[(snapshot_days <= start) & (snapshot_days < as_of)]
        if not usable.size:
            continue
        day = usable[-1]
        lo, hi = np.searchsorted(expected_sorted, [start, end])
        rows = order[lo:hi]
        if day == start:  # overdue deals land in the period that holds the snapshot day
            rows = np.concatenate([rows, np.flatnonzero(expected < day)])
        alive = (valid_from[rows] <= day) & is_open[rows]
        alive &= np.isnat(valid_until[rows]) | (valid_until[rows] > day)
        rows = rows[alive]
        sums = pd.Series(weighted[rows]).groupby(owners[rows]).sum()
        baseline_date = pd.Timestamp(day).date()
        records.append((period.label, "", baseline_date, float(weighted[rows].sum())))
        records += [(period.label, str(o), baseline_date, float(v)) for o, v in sums.items() if o]
    return pd.DataFrame.from_records(records, columns=columns)


def calibrated_baselines(model: Model, periods: Sequence[Period]) -> pd.DataFrame:
    """The calibrated forecast of each period and owner as the pipeline stood on its first day.

    Laws of today (module notes). Returns period, owner, baseline_date, baseline, one row
    per owner of the forecast table; periods starting after ``as_of`` or before anything
    the model has dated are left out.
    """
    columns = ["period", "owner", "baseline_date", "baseline"]
    first = first_date(model)
    records = []
    for period in periods:
        if first is None or period.start < first or period.start > model.settings.as_of:
            continue
        past = as_it_stood(model, period.start)
        borrow_laws(past, model)
        table = forecast_table(past, [period], DEFAULT_METHOD)
        records += [
            (period.label, str(owner), period.start, float(expected))
            for owner, expected in zip(table["owner"], table["expected"], strict=True)
        ]
    return pd.DataFrame.from_records(records, columns=columns)


def variance_table(
    model: Model,
    periods: Sequence[Period | str] | None = None,
    forecast: pd.DataFrame | None = None,
    method: Method = DEFAULT_METHOD,
) -> pd.DataFrame:
    """Target, expected, won and their variances per period and owner (team ``""`` first).

    Columns: period, start, end, owner, state (closed / current / future), target, won,
    weighted, new_deals, expected, baseline, variance_target, variance_target_pct,
    flag_target, variance_forecast, variance_forecast_pct, flag_forecast. ``forecast``
    may pass an already computed `forecast_table` (of ``method``) to save the work.
    """
    table = forecast if forecast is not None else forecast_table(model, periods, method)
    table = table.copy()
    as_of = pd.Timestamp(model.settings.as_of)
    table["state"] = np.where(
        table["end"] <= as_of, "closed", np.where(table["start"] > as_of, "future", "current")
    )
    wanted = [model.settings.parse_period(p) for p in dict.fromkeys(table["period"])]
    if method == "calibrated":
        base = calibrated_baselines(model, wanted)
    else:
        base = baseline_forecasts(model, wanted)
    table = table.merge(base[["period", "owner", "baseline"]], on=["period", "owner"], how="left")
    has_base = table["period"].isin(base["period"])
    table["baseline"] = table["baseline"].where(~has_base | table["baseline"].notna(), 0.0)
    table["variance_target"] = table["expected"] - table["target"]
    table["variance_target_pct"] = _pct(table["variance_target"], table["target"])
    table["flag_target"] = _flag(table["variance_target"])
    table["variance_forecast"] = table["expected"] - table["baseline"]
    table["variance_forecast_pct"] = _pct(table["variance_forecast"], table["baseline"])
    table["flag_forecast"] = _flag(table["variance_forecast"])
    columns = [
        "period", "start", "end", "owner", "state", "target", "won", "weighted", "new_deals",
        "expected", "baseline", "variance_target", "variance_target_pct", "flag_target",
        "variance_forecast", "variance_forecast_pct", "flag_forecast",
    ]  # fmt: skip
    return table[columns]


def score(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> tuple[float, float]:
    """Forecast accuracy (section 6): WAPE = sum |A - F| / sum A, bias = sum (F - A) / sum A.

    Both NaN when the actual total is zero. The refresh's Forecast accuracy table and the
    backtest score with this one function.
    """
    a = np.asarray(actual, dtype="float64")
    f = np.asarray(forecast, dtype="float64")
    total = float(a.sum())
    if not total:
        return float("nan"), float("nan")
    return float(np.abs(a - f).sum()) / total, float((f - a).sum()) / total


def forecast_accuracy(variance: pd.DataFrame) -> pd.DataFrame:
    """WAPE and bias per owner over closed periods that have a baseline forecast.

    Takes a `variance_table`; returns owner, periods, actual, forecast, wape, bias (NaN
    where the actual total is zero), scored by `score`.
    """
    closed = variance.loc[(variance["state"] == "closed") & variance["baseline"].notna()]
    rows = []
    for owner, group in closed.groupby("owner", sort=True):
        wape, bias = score(group["won"], group["baseline"])
        actual, fcst = float(group["won"].sum()), float(group["baseline"].sum())
        rows.append((owner, len(group), actual, fcst, wape, bias))
    return pd.DataFrame.from_records(
        rows, columns=["owner", "periods", "actual", "forecast", "wape", "bias"]
    )


def activity_variance(
    model: Model,
    period: Period | str,
    owner: str | None = None,
    freq: Freq = "week",
    method: Method = DEFAULT_METHOD,
) -> pd.DataFrame:
    """Required against done, per owner and activity, for the plan of ``period``.

    ``required`` is the backward plan's count; ``required_to_date`` the part whose window
    lies before ``as_of`` (the plan's too-late part); ``done_to_date`` counts the Activities
    rows of that owner and type inside the activity's window up to ``as_of``; ``remaining``
    is what is still to do; ``per_bucket`` spreads it over the buckets left in the window.
    """
    plan = dated_plan(model, period, owner, freq, method)
    as_of = pd.Timestamp(model.settings.as_of)
    acts = model.activities
    acts = acts.loc[acts["date"] <= as_of]
    lead = dict(zip(model.stages.activities, plan.lead_days, strict=True))
    start = pd.Timestamp(plan.period.start)
    end = pd.Timestamp(plan.period.end)
    # One pass per activity (not per owner and activity): what is due, done and left.
    late = plan.too_late.groupby(["owner", "activity"], sort=False)["count"].sum()
    future = plan.rows
    buckets = future.loc[future["required"] > 0].groupby(["owner", "activity"], sort=False).size()
    done_by_owner: dict[str, pd.Series] = {}
    done_total: dict[str, float] = {}
    for activity, days in lead.items():
        shift = pd.Timedelta(days=days)
        inside = (acts["type"] == activity) & (acts["date"] >= start - shift)
        inside &= acts["date"] < end - shift
        counts = acts.loc[inside, ["owner", "count"]]
        done_by_owner[activity] = counts.groupby("owner", sort=False)["count"].sum()
        done_total[activity] = float(counts["count"].sum())
    rows = []
    for bp in plan.plans:
        for level in bp.levels[:-1]:
            key = (bp.owner, level.activity)
            required_to_date = int(late.get(key, 0))
            if bp.owner:
                done = float(done_by_owner[level.activity].get(bp.owner, 0.0))
            else:
                done = done_total[level.activity]
            n_buckets = int(buckets.get(key, 0))
            remaining = max(0.0, level.count - done)
            rows.append((
                bp.owner, level.activity, level.count, required_to_date, done,
                done - required_to_date, remaining,
                remaining / n_buckets if n_buckets else float("nan"),
            ))  # fmt: skip
    frame = pd.DataFrame.from_records(
        rows,
        columns=[
            "owner", "activity", "required", "required_to_date", "done_to_date",
            "variance_to_date", "remaining", "per_bucket",
        ],
    )  # fmt: skip
    if owner is None and len(set(frame["owner"])) > 1:
        team = frame.groupby("activity", sort=False, as_index=False)[
            ["required", "required_to_date", "done_to_date", "variance_to_date", "remaining"]
        ].sum()
        team.insert(0, "owner", "")
        team["per_bucket"] = np.nan
        frame = pd.concat([team, frame], ignore_index=True)
    return frame
