"""When open deals will be won: timing learned from history, for the calibrated forecast.

The calibrated forecast of a period (README, Definitions, "Expected period result",
with the probability of each deal landing in the period learned rather than assumed) is

    won in the period + sum over open deals of amount x P(won inside the period)
                      + revenue from deals not created yet that will be won inside it.

Each open deal gets a probability of being won on each coming day, summed per period:

* **Deals with an expected close**: ``P(win)`` is the deal's probability (its override,
  else its owner's shrunk ``P(win | stage)``, `pipeline_xl.core.history`) and the day of
  the win follows the *won-slip* law: how far past (or before) the expected close recorded
  in the Snapshots log won deals were actually won. Every log row of a won deal (open,
  with an expected close) is one observation on the axis ``d`` = close day - expected
  close: at risk from the day after the snapshot until its close (left truncation, so a
  deal already seen overdue only tells about later days). Lost deals are not in it: how
  long lost deals stay open says nothing about when wins come. A deal open on ``as_of``
  with an expected close ``e`` is conditioned on not being won by then (``d > as_of - e``).
  Rows from the last ``maturity`` days (the 90th percentile of won deals' cycle) are left
  out: the wins they will lead to are not known yet, and keeping only the quick ones would
  pull the law forward.
* **Deals without one**: a competing-risks survival estimate on the deal's age in its
  stage (days since it entered its stage: the Activities table, else the Snapshots log;
  the first stage from creation), one curve per stage: every deal that reached the stage
  is at risk from entry until won, lost or, for a deal still open, ``as_of``
  (censored). The probability of a win on a later day ``x`` for a deal of age ``u`` is
  ``S(x - 1) h_win(x) / S(u)`` (discrete Kaplan-Meier / Aalen-Johansen), so a deal far
  older than any won deal was gets almost nothing. The owner's shrunk odds against the
  team's scale the team's curve.
* **Calendar**: both laws carry a seasonal factor by the position of the day's month in
  its quarter (first, second, third month: the quarter-end push), fitted with the daily
  hazards as ``h(x, day) = h0(x) g(position, band)`` (alternating Poisson estimates), the
  band telling deals younger than `YOUNG_DAYS` from older ones, which a push moves.
* **New deals**: for each coming period, the mean over the last `NEW_DEAL_PERIODS` past
  periods of the same season (its position in the quarter, for months) of what was won in
  them from deals created after the same offset before them as ``as_of`` is before the
  coming period. It is its own line: `new_deal_line`.

Daily hazards are pooled over bins of `BIN_DAYS` days of the clock. With fewer than
``min_history`` won observations the won-slip law falls back to the geometric slip of
`pipeline_xl.core.forecast` (the Settings' or learned slip probability), and without
``min_history`` closed deals deals without an expected close stay unplaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.hazards import (
    HazardLaw,
    day_numbers,
    eventual,
    fit_hazards,
    quarter_position,
)
from pipeline_xl.core.history import FUNNEL_RATES, rates_for
from pipeline_xl.core.model import Derived, Model
from pipeline_xl.core.periods import Period

__all__ = [
    "CALIBRATION",
    "EXPECTED_BUCKETS",
    "NEW_DEAL_PERIODS",
    "Calibration",
    "OpenDeals",
    "borrow_laws",
    "bucket_of",
    "new_deal_line",
    "open_deals",
    "period_win_probabilities",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NEW_DEAL_PERIODS = 4
EXPECTED_BUCKETS = (30, 60, 90)  # days to the expected close: overdue or <= 30, 31-60, ...
_AGE_DAYS = 730  # the age axis, days in stage
_ITERATIONS = 8
_POSITIONS = 3
_EPOCH = np.datetime64("1970-01-01", "D")
_NS = "datetime64[ns]"


def _days(values: npt.ArrayLike) -> IntArray:
    return day_numbers(values)


@dataclass(frozen=True)
class Calibration:
    """What one model's history says about timing (module notes).

    ``slip``: the won-slip law (one stratum) or None when too few won observations;
    ``age``: the per-stage age law or None when too few closed deals; ``entered``: each
    prospect's entry day into its current stage (day number, index of the Prospects
    table); ``maturity``: days of recent log rows left out of the won-slip law.
    """

    slip: HazardLaw | None
    age: HazardLaw | None
    entered: pd.Series
    slip_observations: int
    age_observations: int


def _entry_days(model: Model) -> list[pd.Series]:
    """Per open stage, the day each deal entered it (NaN unknown), indexed like Prospects.

    The activity that brings a deal into the stage, dated for it in the Activities table,
    comes first; then the first snapshot showing the deal at or past the stage; the first
    stage's entry is otherwise the creation date.
    """
    prospects = model.prospects
    ids = pd.Index(prospects["id"].to_numpy(dtype=object))
    n_open = model.stages.n_open
    matrix = np.full((len(prospects), n_open), np.nan)
    matrix[:, 0] = _float_days(prospects["created"])
    log = model.snapshots
    if len(log) and n_open > 1:
        # First date each deal is seen at each stage, then the earliest at or past it.
        grouped = log.groupby(["id", "stage_idx"])["snapshot_date"].min()
        seen = grouped.unstack()  # noqa: PD010 - one reshape of a grouped minimum; pivot_table is slower
        seen = seen.reindex(columns=range(n_open + 1))
        firsts = seen.to_numpy(dtype=_NS)[:, ::-1]
        days = _days(firsts).astype("float64")
        days[np.isnat(firsts)] = np.inf
        reach = np.minimum.accumulate(days, axis=1)[:, ::-1]
        reach[np.isinf(reach)] = np.nan
        where = seen.index.get_indexer(ids)
        known = where >= 0
        matrix[known, 1:] = reach[where[known], 1:n_open]
    acts = model.activities
    names = [s.activity for s in model.stages.open]
    if len(acts):
        mine = acts.loc[acts["type"].isin([n for n in names if n]) & (acts["prospect_id"] != "")]
        if len(mine):
            first = mine.groupby(["type", "prospect_id"])["date"].min()
            for k, name in enumerate(names):
                if name and name in first.index.get_level_values(0):
                    dated = _float_days(ids.to_series().map(first.loc[name]))
                    matrix[:, k] = np.where(np.isnan(dated), matrix[:, k], dated)
    return [pd.Series(matrix[:, k], index=prospects.index) for k in range(n_open)]


def _float_days(values: pd.Series) -> FloatArray:
    """Day numbers as floats, NaN where the date is missing."""
    array = values.to_numpy(dtype=_NS)
    out = _days(array).astype("float64")
    out[np.isnat(array)] = np.nan
    return out


def _age_law(model: Model, entered: list[pd.Series]) -> tuple[HazardLaw | None, int]:
    prospects = model.prospects
    stages = model.stages
    as_of = int(_days(np.array([np.datetime64(model.settings.as_of, "ns")]))[0])
    status = prospects["status"].to_numpy(dtype=object)
    closed_day = _days(prospects["closed"])
    closed_known = ~prospects["closed"].isna().to_numpy()
    won = status == "won"
    lost = status == "lost"
    done = (won | lost) & closed_known & (closed_day <= as_of)
    is_open = status == "open"
    from_history = pd.Series(
        np.maximum(prospects["reached_idx"].to_numpy(dtype="int64"), 0), index=prospects.index
    )
    reached = np.where(won, stages.n_open, from_history.to_numpy(dtype="int64"))
    reached = np.where(is_open, prospects["stage_idx"].to_numpy(dtype="int64"), reached)
    parts: list[tuple[IntArray, ...]] = []
    for k in range(stages.n_open):
        start = entered[k].to_numpy(dtype="float64")
        usable = ~np.isnan(start) & (reached >= k) & (done | is_open)
        usable &= start <= as_of
        entry = np.where(usable, start, 0).astype("int64")
        end = np.where(done, closed_day, as_of)
        use = usable & (end >= entry)
        kind = np.where(done & won, 1, np.where(done & lost, 2, 0))
        parts.append((
            np.full(int(use.sum()), k, dtype="int64"), entry[use],
            np.zeros(int(use.sum()), dtype="int64"), (end - entry)[use], kind[use],
        ))  # fmt: skip
    stratum, anchor, first, last, event = (np.concatenate(p) for p in zip(*parts, strict=True))
    closed = int((event[stratum == 0] > 0).sum())
    if closed < model.settings.min_history or not (event == 1).any():
        return None, closed
    law = fit_hazards(
        stratum=stratum, anchor=anchor, first=first, last=last, event=event,
        strata=stages.n_open, low=0, high=_AGE_DAYS,
        shift=(model.settings.fiscal_start_month - 1) % _POSITIONS,
    )  # fmt: skip
    return law, closed


def _landmarks(log: pd.DataFrame, as_of: pd.Timestamp) -> list[pd.Timestamp]:
    """Snapshot dates before ``as_of``, the last of each calendar month."""
    days = pd.DatetimeIndex(log["snapshot_date"].dropna().unique())
    days = days[days < as_of].sort_values()
    if days.empty:
        return []
    last = pd.Series(days, index=days.to_period("M")).groupby(level=0).max()
    return [pd.Timestamp(d) for d in last.tolist()]


def bucket_of(days_ahead: IntArray) -> IntArray:
    """The bucket of the days from a snapshot to a deal's expected close (`EXPECTED_BUCKETS`)."""
    return np.searchsorted(np.array(EXPECTED_BUCKETS, dtype="int64"), days_ahead, side="left")


def _slip_law(model: Model) -> tuple[HazardLaw | None, int]:
    """The won-slip law: landmark observations of deals open with an expected close.

    Each snapshot date (the last of each month) is a landmark; every deal open then with an
    expected close is one observation, at risk from the day after until it is won
    (event 1), lost (event 2) or, still open, ``as_of`` (censored). Strata: stage x bucket
    of days to the expected close, then each bucket pooled over stages, then all pooled.
    """
    log = model.snapshots
    prospects = model.prospects.drop_duplicates("id")
    as_of = pd.Timestamp(model.settings.as_of)
    if not len(log):
        return None, 0
    n_open = model.stages.n_open
    n_buckets = len(EXPECTED_BUCKETS) + 1
    marks = _landmarks(log, as_of)
    log = log.sort_values(["id", "snapshot_date"], kind="stable")
    ids = log["id"].to_numpy(dtype=object)
    starts = _days(log["snapshot_date"])
    same = np.zeros(len(ids), dtype=bool)
    same[:-1] = ids[:-1] == ids[1:]
    never = np.iinfo("int64").max
    until = np.full(len(ids), never, dtype="int64")
    until[:-1] = np.where(same[:-1], starts[1:], never)
    usable = (log["status"] == "open").to_numpy() & log["expected_close"].notna().to_numpy()
    usable &= ids != ""
    final = prospects.set_index("id")
    status = log["id"].map(final["status"]).fillna("open").to_numpy(dtype=object)
    closed = log["id"].map(final["closed"]).to_numpy(dtype=_NS)
    done = np.isin(status, ["won", "lost"]) & ~np.isnat(closed) & (closed <= as_of.to_datetime64())
    today = _day_number(as_of.date())
    end = np.where(done, np.where(done, _days(closed), 0), today)
    kind = np.where(done & (status == "won"), 1, np.where(done, 2, 0))
    rows = np.flatnonzero(usable)
    starts, until, end, kind = starts[rows], until[rows], end[rows], kind[rows]
    stage = np.clip(log["stage_idx"].to_numpy(dtype="int64")[rows], 0, n_open - 1)
    expected = _days(log["expected_close"])[rows]
    parts: list[tuple[IntArray, ...]] = []
    for mark in marks:
        day = _day_number(mark.date())
        keep = np.flatnonzero((starts <= day) & (until > day) & (end > day))
        fine = stage[keep] * n_buckets + bucket_of(expected[keep] - day)
        parts.append((fine, np.full(len(keep), day, dtype="int64"), end[keep] - day, kind[keep]))
    if not parts or not sum(len(p[0]) for p in parts):
        return None, 0
    fine, anchor, last, event = (np.concatenate(p) for p in zip(*parts, strict=True))
    wins = int((event == 1).sum())
    if wins < model.settings.min_history:
        return None, wins
    coarse = n_open * n_buckets + fine % n_buckets
    pooled = np.full(len(fine), n_open * n_buckets + n_buckets, dtype="int64")
    law = fit_hazards(
        stratum=np.concatenate([fine, coarse, pooled]), anchor=np.tile(anchor, 3),
        first=np.ones(3 * len(fine), dtype="int64"), last=np.tile(last, 3),
        event=np.tile(event, 3), strata=n_open * n_buckets + n_buckets + 1, low=0,
        high=_AGE_DAYS, shift=(model.settings.fiscal_start_month - 1) % _POSITIONS,
    )  # fmt: skip
    return law, wins


_ENTRY_DAYS: Derived[list[pd.Series]] = Derived(
    _entry_days, reads=("prospects", "stages", "snapshots", "activities")
)


def _current_entry(model: Model, entered: list[pd.Series]) -> pd.Series:
    """The day each prospect entered its current stage (its creation when not known).

    ``entered`` is `_entry_days` of this model or of a later one holding the same deals
    (entries are facts: a stage reached by then was entered by then); a day after
    ``as_of`` is taken as ``as_of``.
    """
    prospects = model.prospects
    stage_idx = np.clip(prospects["stage_idx"].to_numpy(dtype="int64"), 0, model.stages.n_open - 1)
    matrix = np.column_stack(
        [e.reindex(prospects.index).to_numpy(dtype="float64") for e in entered]
    )
    current = matrix[np.arange(len(prospects)), stage_idx]
    # No date for the stage: counted from creation (an upper bound of the time in stage).
    current = np.where(np.isnan(current), matrix[:, 0], current)
    current = np.minimum(current, _day_number(model.settings.as_of))
    return pd.Series(current, index=prospects.index)


def _learn(model: Model) -> Calibration:
    entered = _ENTRY_DAYS.of(model)
    slip, n_slip = _slip_law(model)
    age, n_age = _age_law(model, entered)
    return Calibration(
        slip=slip,
        age=age,
        entered=_current_entry(model, entered),
        slip_observations=n_slip,
        age_observations=n_age,
    )


def borrow_laws(model: Model, source: Model) -> None:
    """Give ``model`` the funnel rates and timing laws learned from ``source``.

    ``model`` is ``source`` as it stood on an earlier day (`pipeline_xl.core.timeline`),
    and keeps its own stage entries: for a baseline rebuilt at a period's start and
    forecast with today's rates (as the weighted baseline uses today's stage
    probabilities); a backtest learns them anew.
    """
    learned = CALIBRATION.of(source)
    entered = _current_entry(model, _ENTRY_DAYS.of(source))
    CALIBRATION.known(model, dataclasses.replace(learned, entered=entered))
    FUNNEL_RATES.known(model, FUNNEL_RATES.of(source))


CALIBRATION: Derived[Calibration] = Derived(
    _learn, reads=("prospects", "stages", "snapshots", "activities", "settings")
)
"""The `Calibration` of a model, once per model."""


# --------------------------------------------------------------------------- per-period odds


@dataclass(frozen=True)
class OpenDeals:
    """The open deals a forecast places, as arrays (index: the Prospects table's)."""

    index: pd.Index
    owner: npt.NDArray[np.object_]
    stage: IntArray
    expected: IntArray  # day number; meaningless where ``dated`` is False
    dated: BoolArray
    entered: FloatArray  # day the deal entered its stage, NaN unknown
    probability: FloatArray  # P(win): override or the owner's shrunk P(win | stage)
    override: BoolArray  # the deal's own probability was typed in


def open_deals(model: Model, rows: pd.DataFrame, probability: FloatArray) -> OpenDeals:
    """`OpenDeals` of ``rows`` (open rows of the model's Prospects table)."""
    calibration = CALIBRATION.of(model)
    expected = rows["expected_close"].to_numpy(dtype=_NS)
    dated = ~np.isnat(expected)
    return OpenDeals(
        index=rows.index,
        owner=rows["owner"].to_numpy(dtype=object),
        stage=np.clip(rows["stage_idx"].to_numpy(dtype="int64"), 0, model.stages.n_open - 1),
        expected=np.where(dated, _days(expected), 0),
        dated=dated,
        entered=calibration.entered.reindex(rows.index).to_numpy(dtype="float64"),
        probability=probability,
        override=~np.isnan(rows["probability"].to_numpy(dtype="float64")),
    )


def _owner_factor(model: Model, deals: OpenDeals) -> FloatArray:
    """The owner's shrunk P(win | stage) over the team's, per deal (1 for the team's)."""
    team = np.array(rates_for(model, "").win_probabilities, dtype="float64")
    codes, names = pd.factorize(deals.owner)
    ratios = np.ones((len(names), len(team)), dtype="float64")
    for i, owner in enumerate(names):
        if owner:
            mine = np.array(rates_for(model, str(owner)).win_probabilities, dtype="float64")
            ratios[i] = np.divide(mine, team, out=np.ones_like(mine), where=team > 0)
    return ratios[codes, deals.stage] if len(names) else np.ones(0, dtype="float64")


@dataclass(frozen=True)
class _Days:
    """The days after ``as_of`` up to the last period's end, and the periods' day spans."""

    as_of: int
    count: int
    spans: list[tuple[int, int]]  # per period: first and last offset (1-based), empty if lo > hi


def _days_ahead(as_of: date, periods: Sequence[Period]) -> _Days:
    today = _day_number(as_of)
    spans = []
    last = today
    for period in periods:
        lo = max(_day_number(period.start), today + 1)
        hi = _day_number(period.end) - 1
        spans.append((lo - today, hi - today))
        last = max(last, hi)
    return _Days(today, last - today, spans)


def _day_number(day: date) -> int:
    return int((np.datetime64(day, "D") - _EPOCH).astype("int64"))


def _cuts(days: _Days) -> IntArray:
    """Offsets where running sums are read: 0 and every span's ends, in order."""
    marks = {0}
    for lo, hi in days.spans:
        if lo <= hi:
            marks |= {lo - 1, hi}
    return np.array(sorted(marks), dtype="int64")


def _by_period(running: FloatArray, cuts: IntArray, days: _Days) -> FloatArray:
    """Per period, the sum of daily values, from running sums read at ``cuts``."""
    out = np.zeros((running.shape[0], len(days.spans)), dtype="float64")
    for j, (lo, hi) in enumerate(days.spans):
        if lo <= hi:
            end, start = np.searchsorted(cuts, [hi, lo - 1])
            out[:, j] = running[:, end] - running[:, start]
    return out


def _run(
    law: HazardLaw, stratum: IntArray, clock: IntArray, days: _Days, cuts: IntArray,
    *, competing: bool,
) -> FloatArray:  # fmt: skip
    """Running sums of P(won on each coming day), read at ``cuts`` (deals x cuts).

    Starts from a deal open at the end of ``as_of`` with clock ``clock`` (so conditioned
    on not being closed by then). With ``competing`` the loss hazard runs too (age law);
    otherwise the law is of wins alone (the won-slip law: every observation was won).
    """
    out = np.zeros((len(stratum), len(cuts)), dtype="float64")
    alive = np.ones(len(stratum), dtype="float64")
    total = np.zeros(len(stratum), dtype="float64")
    column = {int(c): i for i, c in enumerate(cuts.tolist())}
    last = int(cuts.max()) if cuts.size else 0
    positions = quarter_position(days.as_of + np.arange(last + 1, dtype="int64"), law.shift)
    for step in range(1, last + 1):
        win, loss = law.hazards(stratum, clock + step, int(positions[step]))
        risk = np.minimum(win + loss, 1.0) if competing else win
        total += alive * np.minimum(win, risk)
        alive *= 1.0 - risk
        if step in column:
            out[:, column[step]] = total
    return out


def _geometric(
    expected: IntArray, days: _Days, cuts: IntArray, model: Model, slip: float
) -> FloatArray:
    """The geometric slip law (`pipeline_xl.core.forecast` notes) as running sums at ``cuts``.

    A win lands in the workbook period holding the later of the expected close and the
    day after ``as_of``, or ``k`` periods later with probability ``slip**k (1 - slip)``;
    inside a period it is spread evenly over its days after ``as_of``.
    """
    settings = model.settings
    period = settings.period_of(_date(days.as_of + 1))
    landing = np.maximum(expected, days.as_of + 1)
    out = np.zeros((len(expected), len(cuts)), dtype="float64")
    before = np.zeros(len(expected), dtype="float64")  # mass of the periods already passed
    level = np.full(len(expected), -1, dtype="int64")  # periods since landing, -1 not yet
    last = int(cuts.max()) if cuts.size else 0
    while True:
        start, end = _day_number(period.start), _day_number(period.end)
        lo = max(start, days.as_of + 1) - days.as_of
        hi = end - 1 - days.as_of
        if lo > last:
            break
        lands = (landing >= start) & (landing < end)
        level = np.where(lands, 0, np.where(level >= 0, level + 1, -1))
        mass = np.where(level >= 0, (1.0 - slip) * slip ** np.maximum(level, 0), 0.0)
        inside = (cuts >= lo) & (cuts <= hi)
        share = (cuts[inside] - lo + 1) / (hi - lo + 1)
        out[:, inside] = before[:, None] + mass[:, None] * share[None, :]
        before = before + mass
        period = period.next()
    return out


def _date(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_number)


def period_win_probabilities(
    model: Model, deals: OpenDeals, periods: Sequence[Period], slip: float
) -> tuple[FloatArray, BoolArray]:
    """P(won inside each period) per open deal (rows) and period (columns); placed deals.

    Days up to ``as_of`` count for nothing (a deal open on ``as_of`` is not won by then).
    ``slip`` is the geometric slip probability used when the won-slip law could not be
    learned. A deal is placed when it has an expected close, or when it has a known
    entry into its stage and the age law could be learned.
    """
    calibration = CALIBRATION.of(model)
    days = _days_ahead(model.settings.as_of, periods)
    cuts = _cuts(days)
    n = len(deals.owner)
    out = np.zeros((n, len(periods)), dtype="float64")
    placed = np.zeros(n, dtype=bool)
    dated = deals.dated
    age = calibration.age
    factor = _owner_factor(model, deals)
    known = ~np.isnan(deals.entered)
    if dated.any():
        law = calibration.slip
        if law is not None:
            strata = _slip_strata(model, law, deals, days.as_of)
            start = np.zeros(len(strata), dtype="int64")
            raw = _by_period(_run(law, strata, start, days, cuts, competing=True), cuts, days)
            # A typed probability keeps its level: the law then only gives the timing.
            total_odds = eventual(law, strata, start)
            typed = np.divide(
                deals.probability[dated],
                total_odds,
                out=np.zeros(len(strata)),
                where=total_odds > 0,
            )
            scale = np.where(deals.override[dated], typed, factor[dated])
            timing = raw * scale[:, None]
            # Capped on the whole future, never on the periods asked for: a period's
            # odds must not depend on which other periods are computed with it.
            whole = total_odds * scale
            over = whole > 1.0
            timing[over] /= whole[over, None]
            out[dated] = timing
        else:
            running = _geometric(deals.expected[dated], days, cuts, model, slip)
            out[dated] = deals.probability[dated][:, None] * _by_period(running, cuts, days)
        placed |= dated
    undated = ~dated & known
    if age is not None and undated.any():
        clock = days.as_of - deals.entered[undated].astype("int64")
        running = _run(age, deals.stage[undated], clock, days, cuts, competing=True)
        odds = _by_period(running, cuts, days) * factor[undated][:, None]
        whole = eventual(age, deals.stage[undated], clock) * factor[undated]
        over = whole > 1.0
        odds[over] /= whole[over, None]
        out[undated] = odds
        placed |= undated
    return out, placed


def _slip_strata(model: Model, law: HazardLaw, deals: OpenDeals, as_of: int) -> IntArray:
    """Each dated deal's stratum: stage x bucket, else its bucket pooled, else all pooled."""
    n_open = model.stages.n_open
    n_buckets = len(EXPECTED_BUCKETS) + 1
    dated = deals.dated
    bucket = bucket_of(deals.expected[dated] - as_of)
    fine = deals.stage[dated] * n_buckets + bucket
    coarse = n_open * n_buckets + bucket
    enough = law.observations >= model.settings.min_history
    pooled = n_open * n_buckets + n_buckets
    return np.where(enough[fine], fine, np.where(enough[coarse], coarse, pooled))


# --------------------------------------------------------------------------- new deals


def _season(period: Period) -> tuple[int, int]:
    """How far back a comparable period lies: (steps of ``period.next``, 1 step)."""
    return (3, 1) if period.kind == "month" else (1, 1)


def new_deal_line(model: Model, periods: Sequence[Period]) -> pd.DataFrame:
    """Revenue expected from deals not created yet and won inside each period, per owner.

    One row per period (label) and owner with any amount, the team (``""``) first with the
    sum: period, owner, amount, basis (how many past periods the mean is over). Periods
    ending on or before ``as_of`` get nothing. See the module notes.
    """
    prospects = model.prospects
    as_of = model.settings.as_of
    won = prospects.loc[
        (prospects["status"] == "won")
        & prospects["closed"].notna()
        & prospects["created"].notna()
        & (prospects["closed"] <= pd.Timestamp(as_of))
    ]
    columns = ["period", "owner", "amount", "basis"]
    if won.empty:
        return pd.DataFrame(columns=columns)
    first_win = pd.Timestamp(won["closed"].min()).date()
    closed = won["closed"].to_numpy(dtype=_NS)
    created = won["created"].to_numpy(dtype=_NS)
    codes, owners = pd.factorize(won["owner"].to_numpy(dtype=object))
    amounts = np.nan_to_num(won["amount"].to_numpy(dtype="float64"))
    records: list[tuple[str, str, float, int]] = []
    for period in periods:
        if period.end <= as_of:
            continue
        lead = period.start - as_of  # how long before the period the forecast is made
        step, _ = _season(period)
        total = np.zeros(len(owners), dtype="float64")
        basis, k = 0, 1
        while basis < NEW_DEAL_PERIODS:
            past = period.next(-step * k)
            k += 1
            if past.end > as_of:
                continue
            if past.start < _period_start_of(first_win, past):
                break
            origin = np.datetime64(past.start - lead, "ns")
            inside = (closed >= np.datetime64(past.start, "ns")) & (
                closed < np.datetime64(past.end, "ns")
            )
            inside &= created > origin
            total += np.bincount(codes[inside], weights=amounts[inside], minlength=len(owners))
            basis += 1
        if not basis:
            continue
        mean = total / basis
        records.append((period.label, "", float(mean.sum()), basis))
        records += [
            (period.label, str(o), float(v), basis)
            for o, v in zip(owners, mean, strict=True)
            if o and v
        ]
    return pd.DataFrame.from_records(records, columns=columns)


def _period_start_of(day: date, like: Period) -> date:
    """The start of the period of ``like``'s kind and calendar that holds ``day``."""
    period = like
    while period.start > day:
        period = period.next(-1)
    while period.end <= day:
        period = period.next()
    return period.start
