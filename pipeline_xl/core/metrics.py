"""Pipeline health metrics: win rates, deal size, cycle time, coverage, velocity, flow.

Definitions follow the README (Definitions):

* win rate by count = won / (won + lost); by value = won amount / (won + lost amount);
  open deals are excluded;
* coverage = open pipeline amount in the period / (target - won), the open deals being
  those the forecast lands in the period (`forecast.PeriodForecast.pipeline`: overdue
  deals in the current period, omitted ones left out);
* sales velocity = open opportunities x average deal x win rate / cycle length, per day;
* Little's law for a stage: average work in progress = throughput x average time in stage;
* stage conversion is counted by cohort (`pipeline_xl.core.history.funnel_rates`).

Every function reads the clean tables of `pipeline_xl.core.model` and an explicit ``as_of``;
nothing reads the clock. A deal counts as of ``as_of``: it is closed when its status is
won or lost and its close date is on or before ``as_of`` (or unknown), and open when it
was created by then (or its creation date is unknown) and is not closed by then. So a
deal won after ``as_of`` still counts as open, which lets a past date be reported again.
``owner`` "" or None means the whole team. ``period`` is the window for the rates: deals
closed inside it (and by ``as_of``); None means all history closed by ``as_of``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import period_forecast
from pipeline_xl.core.history import funnel_rates
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.snapshots import pipeline_as_of, recorded_log

__all__ = [
    "Metrics",
    "avg_won_deal",
    "compute_metrics",
    "coverage",
    "cycle_days",
    "open_pipeline",
    "stage_flow",
    "stale_deals",
    "velocity",
    "win_rates",
]

_NAN = float("nan")


def _day(value: date) -> pd.Timestamp:
    """Midnight of ``value`` (a date or datetime) as a Timestamp."""
    return pd.Timestamp(value).normalize()


def _owned(prospects: pd.DataFrame, owner: str | None) -> pd.Series:
    if owner:
        return prospects["owner"] == owner
    return pd.Series(True, index=prospects.index)


def _closed(
    prospects: pd.DataFrame, as_of: date, owner: str | None, period: Period | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Won and lost deals closed by ``as_of`` (and inside ``period`` when given)."""
    closed_on = prospects["closed"]
    mask = _owned(prospects, owner) & prospects["status"].isin(["won", "lost"])
    mask &= closed_on.isna() | (closed_on <= _day(as_of))
    if period is not None:
        mask &= (closed_on >= _day(period.start)) & (closed_on < _day(period.end))
    deals = prospects.loc[mask]
    return deals.loc[deals["status"] == "won"], deals.loc[deals["status"] == "lost"]


def _open_mask(prospects: pd.DataFrame, as_of: date, owner: str | None) -> pd.Series:
    """Deals open on ``as_of``: created by then (or undated) and not closed by then."""
    day = _day(as_of)
    created = prospects["created"]
    closed_on = prospects["closed"]
    closed_by_then = prospects["status"].isin(["won", "lost"]) & (
        closed_on.isna() | (closed_on <= day)
    )
    exists = created.isna() | (created <= day)
    return _owned(prospects, owner) & exists & ~closed_by_then


def win_rates(
    prospects: pd.DataFrame,
    as_of: date,
    *,
    owner: str | None = None,
    period: Period | None = None,
) -> tuple[float, float]:
    """Win rate by count and by value over closed deals (README, Definitions); open deals excluded.

    By count = won / (won + lost); by value = won amount / (won + lost amount), blank
    amounts left out. NaN when there is no closed deal (or no closed amount).

    Returns:
        ``(by_count, by_value)``.

    """
    won, lost = _closed(prospects, as_of, owner, period)
    closed = len(won) + len(lost)
    by_count = len(won) / closed if closed else _NAN
    won_amount = float(won["amount"].sum())
    total = won_amount + float(lost["amount"].sum())
    by_value = won_amount / total if total > 0 else _NAN
    return by_count, by_value


def avg_won_deal(
    prospects: pd.DataFrame,
    as_of: date,
    *,
    owner: str | None = None,
    period: Period | None = None,
) -> float:
    """Mean amount of the won deals in the window (blank amounts left out); NaN if none."""
    won, _ = _closed(prospects, as_of, owner, period)
    amounts = won["amount"].dropna()
    return float(amounts.mean()) if len(amounts) else _NAN


def cycle_days(
    prospects: pd.DataFrame,
    as_of: date,
    *,
    owner: str | None = None,
    period: Period | None = None,
) -> tuple[float, float]:
    """Median and 80th percentile of days from created to closed, for won deals.

    Deals with a missing date or a close before creation are skipped. Percentiles use
    numpy's default linear interpolation. NaN when no deal qualifies.

    Returns:
        ``(median, p80)``.

    """
    won, _ = _closed(prospects, as_of, owner, period)
    days = ((won["closed"] - won["created"]).dt.days).dropna().to_numpy(dtype="float64")
    days = days[days >= 0]
    if not len(days):
        return _NAN, _NAN
    median, p80 = np.percentile(days, [50, 80])
    return float(median), float(p80)


def open_pipeline(
    prospects: pd.DataFrame,
    as_of: date,
    *,
    owner: str | None = None,
    period: Period | None = None,
) -> tuple[float, int]:
    """Amount and number of deals open on ``as_of``.

    With ``period``, only deals expected to close inside it count (the pipeline that can
    still land in that period); without, every open deal. Blank amounts add nothing.

    Returns:
        ``(amount, count)``.

    """
    mask = _open_mask(prospects, as_of, owner)
    if period is not None:
        close = prospects["expected_close"]
        mask &= (close >= _day(period.start)) & (close < _day(period.end))
    deals = prospects.loc[mask]
    return float(deals["amount"].sum()), len(deals)


def coverage(open_amount_in_period: float, target: float, won: float) -> float:
    """Pipeline coverage = open amount in the period / (target - won) (README, Definitions).

    Once the target is reached (``won >= target``) nothing more is needed, so any
    pipeline covers the rest infinitely: the result is ``inf``. NaN when the target is
    unknown (NaN). Required coverage is about 1 / value win rate.
    """
    if math.isnan(target) or math.isnan(won) or math.isnan(open_amount_in_period):
        return _NAN
    remaining = target - won
    if remaining <= 0:
        return math.inf
    return open_amount_in_period / remaining


def velocity(open_count: float, avg_deal: float, win_rate: float, cycle_days: float) -> float:
    """Sales velocity = open deals x average deal x win rate / cycle length (README, Definitions).

    Money per day that the pipeline is expected to turn into won business. NaN when the
    cycle length is not positive or any input is NaN.
    """
    if not cycle_days > 0:
        return _NAN
    return float(open_count * avg_deal * win_rate / cycle_days)


def stale_deals(
    prospects: pd.DataFrame,
    as_of: date,
    stale_days: int,
    *,
    owner: str | None = None,
) -> pd.DataFrame:
    """Open deals untouched for more than ``stale_days`` days before ``as_of``.

    The last touch is the last activity date, else the creation date; a deal with
    neither cannot be judged and is left out. Columns: id, name, company, owner, stage,
    amount, expected_close, last_touch, days_idle; the longest idle first.
    """
    day = _day(as_of)
    deals = prospects.loc[_open_mask(prospects, as_of, owner)]
    last_touch = deals["last_activity"].fillna(deals["created"])
    idle = (day - last_touch).dt.days
    keep: pd.Series = idle > stale_days
    picked = deals.loc[keep]
    out = picked[["id", "name", "company", "owner", "stage", "amount", "expected_close"]].assign(
        last_touch=last_touch.loc[keep].astype("datetime64[ns]"),
        days_idle=idle.loc[keep].astype("int64"),
    )
    return out.sort_values("days_idle", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Headline numbers for one owner (or the team) on ``as_of``.

    Rates, won and lost figures, average deal and cycle times cover ``period`` (deals
    closed in it; "" = all history up to ``as_of``). Open figures and velocity cover every
    deal open on ``as_of``. Coverage is for ``coverage_period`` (``period`` when given,
    else the current reporting period): ``open_in_period`` / (``target`` -
    ``won_in_period``), ``inf`` once the target is reached.
    """

    as_of: date
    owner: str
    period: str
    win_rate: float
    win_rate_value: float
    won_count: int
    lost_count: int
    won_amount: float
    lost_amount: float
    avg_won_deal: float
    median_cycle_days: float
    p80_cycle_days: float
    open_amount: float
    open_count: int
    coverage_period: str
    target: float
    won_in_period: float
    open_in_period: float
    coverage: float
    velocity: float
    stale_count: int

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready values: dates as ISO text, NaN and infinities as None."""
        out: dict[str, object] = {}
        for key, value in asdict(self).items():
            if isinstance(value, date):
                out[key] = value.isoformat()
            elif isinstance(value, float):
                out[key] = value if math.isfinite(value) else None
            else:
                out[key] = value
        return out


def compute_metrics(model: Model, owner: str | None = "", period: Period | None = None) -> Metrics:
    """Every headline metric of `Metrics` for ``owner`` ("" = team) on the model's as-of date.

    Velocity uses the count win rate, the average won deal and the median cycle length.
    """
    settings = model.settings
    as_of = settings.as_of
    prospects = model.prospects
    who = owner or ""
    won, lost = _closed(prospects, as_of, who, period)
    by_count, by_value = win_rates(prospects, as_of, owner=who, period=period)
    avg = avg_won_deal(prospects, as_of, owner=who, period=period)
    median, p80 = cycle_days(prospects, as_of, owner=who, period=period)
    open_amount, open_count = open_pipeline(prospects, as_of, owner=who)
    target_period = period or settings.current_period
    # The forecast's own figures of the period, so coverage here is PIPE_COVERAGE's: open
    # deals landing in it (overdue ones in the current period, omitted ones left out).
    in_period = period_forecast(model, target_period, who)
    won_in_period, open_in_period, target = in_period.won, in_period.pipeline, in_period.target
    stale = stale_deals(prospects, as_of, settings.stale_days, owner=who)
    return Metrics(
        as_of=as_of,
        owner=who,
        period="" if period is None else period.label,
        win_rate=by_count,
        win_rate_value=by_value,
        won_count=len(won),
        lost_count=len(lost),
        won_amount=float(won["amount"].sum()),
        lost_amount=float(lost["amount"].sum()),
        avg_won_deal=avg,
        median_cycle_days=median,
        p80_cycle_days=p80,
        open_amount=open_amount,
        open_count=open_count,
        coverage_period=target_period.label,
        target=target,
        won_in_period=won_in_period,
        open_in_period=open_in_period,
        coverage=coverage(open_in_period, target, won_in_period),
        velocity=velocity(open_count, avg, by_count, median),
        stale_count=len(stale),
    )


_FLOW_COLUMNS = [
    "stage",
    "wip",
    "entered",
    "exited",
    "flow_ratio",
    "throughput",
    "avg_days_in_stage",
    "littles_law_wip",
    "littles_law_ratio",
    "bottleneck",
    "conversion",
    "win_probability",
]


def _flow_log(model: Model, owner: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The change log up to ``as_of`` (one row per deal and date) and its first date.

    When no snapshot is dated after ``as_of``, the prospects are recorded as one more
    snapshot on ``as_of`` (they are the freshest state); for an earlier ``as_of`` the log
    is only cut there. Empty, with no first date, when nothing is logged by ``as_of``.
    """
    day = _day(model.settings.as_of)
    dates = model.snapshots["snapshot_date"]
    snaps = model.snapshots.loc[dates.notna() & (dates <= day)]
    if not len(snaps):
        return snaps, None
    first = pd.Timestamp(snaps["snapshot_date"].min())
    if not (dates > day).any():  # snaps is the whole log: record the prospects on as_of
        snaps = recorded_log(model)
    if owner:
        state = pipeline_as_of(snaps, day)
        snaps = snaps.loc[snaps["id"].isin(state.loc[state["owner"] == owner, "id"])]
    ordered = snaps.sort_values("snapshot_date", kind="stable")
    return ordered.drop_duplicates(["id", "snapshot_date"], keep="last"), first


def _visits(log: pd.DataFrame, k: int) -> tuple[pd.Series, pd.Series]:
    """First entry into open stage ``k`` per deal, and the first later date it is elsewhere."""
    at_k = (log["stage_idx"] == k) & (log["status"] == "open")
    entered = log.loc[at_k].groupby("id")["snapshot_date"].min()
    since = pd.Series(entered.reindex(log["id"]).to_numpy(), index=log.index)
    moved = log.loc[~at_k & (log["snapshot_date"] > since)]
    exited = moved.groupby("id")["snapshot_date"].min()
    return entered, exited


def _wip(model: Model, log: pd.DataFrame, owner: str) -> np.ndarray:
    """Open deals per open stage on ``as_of`` (from the log's state for a past ``as_of``)."""
    day = _day(model.settings.as_of)
    if len(log) and (model.snapshots["snapshot_date"] > day).any():
        state = pipeline_as_of(log, day)
        at_stage = state.loc[state["status"] == "open", "stage_idx"].value_counts()
    else:
        prospects = model.prospects
        is_open = _open_mask(prospects, model.settings.as_of, owner)
        at_stage = prospects.loc[is_open, "stage_idx"].value_counts()
    return np.array([int(at_stage.get(k, 0)) for k in range(model.stages.n_open)], dtype="int64")


def _log_flow(
    log: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, n_open: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries, exits and mean days in stage of the exits, per open stage, in (start, end]."""
    entered = np.zeros(n_open)
    exited = np.zeros(n_open)
    avg_days = np.full(n_open, np.nan)
    for k in range(n_open):
        first_in, first_out = _visits(log, k)
        entered[k] = int(((first_in > start) & (first_in <= end)).sum())
        leaving = first_out.loc[(first_out > start) & (first_out <= end)]
        exited[k] = len(leaving)
        if len(leaving):
            stay = (leaving - first_in.reindex(leaving.index)).dt.days
            avg_days[k] = float(stay.mean())
    return entered, exited, avg_days


def stage_flow(model: Model, window_days: int = 90, owner: str | None = "") -> pd.DataFrame:
    """Flow through each open stage over the ``window_days`` days up to ``as_of``.

    Columns, one row per open stage:

    * ``wip``: open deals sitting at the stage on ``as_of``, from the Prospects table
      (for an ``as_of`` before the last snapshot date: from the log's state that day);
    * ``entered`` / ``exited``: deals first seen at the stage / first seen elsewhere
      after that (advanced, closed or, rarely, moved back: Little's law needs every
      departure) inside the window, from the Snapshots change log;
    * ``flow_ratio`` = exited / entered (NaN when nothing entered);
    * ``throughput`` = exited per day of the window;
    * ``avg_days_in_stage``: mean days from entry to exit of the deals that exited in
      the window;
    * ``littles_law_wip`` = throughput x avg_days_in_stage (README, Definitions) and
      ``littles_law_ratio`` = wip / littles_law_wip: near 1 the stage is in steady flow,
      above 1 deals pile up, below 1 it drains;
    * ``bottleneck``: True on the stage with the lowest ``flow_ratio`` (ties: more WIP,
      then the earlier stage). A bottleneck is where work arrives faster than it leaves
      and the queue grows; the longest stage is not flagged for being long, since a
      stage that is slow by nature (negotiation) but keeps up with its arrivals limits
      nothing. With every stage draining, the flag marks the least headroom;
    * ``conversion`` and ``win_probability``: cohort rates of `funnel_rates`.

    Only the first visit of a deal to a stage counts. Dates come from snapshots, so an
    entry or exit is seen on the first snapshot date after it happened: times are exact
    to the snapshot interval (weekly snapshots: +/- a week), and a deal that enters and
    leaves a stage between two snapshots is never seen there. Deals already in the log on
    its first date were there before: the window starts no earlier than that date and
    excludes it, so they are not counted as entries, and their time in stage is a lower
    bound. The Prospects table counts as a snapshot on ``as_of`` when ``as_of`` is on or
    after the last snapshot date.

    Without snapshots up to ``as_of`` every log-based column is NaN, ``bottleneck`` is
    False and ``attrs["note"]`` says why (it is "" otherwise). ``attrs["window_days"]``
    holds the days observed, ``attrs["conversion_source"]`` the rates' source.

    Raises:
        InputError: ``window_days`` is not a positive whole number of days.

    """
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise InputError(
            "the flow window is not a positive number of days",
            value=window_days,
            expected="a whole number of days, 1 or more",
        )
    who = owner or ""
    stages = model.stages
    as_of = model.settings.as_of
    day = _day(as_of)
    prospects = model.prospects
    n_open = stages.n_open
    log, first = _flow_log(model, who)
    wip = _wip(model, log, who)
    rates = funnel_rates(
        prospects,
        stages,
        as_of=as_of,
        owner=who or None,
        snapshots=model.snapshots,
        min_history=model.settings.min_history,
    )
    nan = np.full(n_open, np.nan)
    entered, exited, avg_days, throughput = nan, nan, nan, nan
    note = ""
    observed = 0
    if first is None:
        note = "no snapshots up to the as-of date: flow and time in stage are unknown"
    else:
        start = max(day - timedelta(days=window_days), first)
        observed = (day - start).days
        if observed <= 0:
            note = "a single snapshot date up to the as-of date: no movement can be seen yet"
        else:
            entered, exited, avg_days = _log_flow(log, start, day, n_open)
            throughput = exited / observed
    with np.errstate(divide="ignore", invalid="ignore"):
        flow_ratio = np.where(entered > 0, exited / np.where(entered > 0, entered, 1), np.nan)
        littles = throughput * avg_days
        ratio = np.where(littles > 0, wip / np.where(littles > 0, littles, 1), np.nan)
    bottleneck = np.zeros(n_open, dtype=bool)
    ranked = [k for k in range(n_open) if not np.isnan(flow_ratio[k])]
    if ranked:
        bottleneck[min(ranked, key=lambda k: (flow_ratio[k], -wip[k], k))] = True
    out = pd.DataFrame(
        {
            "stage": pd.Series([s.name for s in stages.open], dtype=object),
            "wip": wip,
            "entered": entered,
            "exited": exited,
            "flow_ratio": flow_ratio,
            "throughput": throughput,
            "avg_days_in_stage": avg_days,
            "littles_law_wip": littles,
            "littles_law_ratio": ratio,
            "bottleneck": bottleneck,
            "conversion": np.array(rates.conversions, dtype="float64"),
            "win_probability": np.array(rates.win_probabilities, dtype="float64"),
        },
        columns=_FLOW_COLUMNS,
    )
    out.attrs["note"] = note
    out.attrs["window_days"] = observed
    out.attrs["conversion_source"] = rates.source
    return out
