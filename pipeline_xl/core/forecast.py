"""Forecasts per period and owner: won, weighted pipeline, categories and Monte Carlo ranges.

Semantics (design notes, section 6, "Weighted pipeline", "Expected period result" and
"Monte Carlo"):

* Owners and the team: a row with owner ``""`` is the whole team (as in the Targets table);
  team numbers are the sum over owners, deals with a blank owner included.
* Won in period P: the amounts of won deals whose ``closed`` date falls in P and is on or
  before ``as_of`` (a won deal without a close date lands nowhere).
* Landing period of an open deal: the period of its expected close; an overdue deal
  (expected close before ``as_of``) lands in the current period (the one holding
  ``as_of``); a deal without an expected close lands nowhere and is counted in
  ``unplaced`` so reports can say so.
* Deal probability: the per-deal override when set, else P(win | its stage) learned by
  `pipeline_xl.core.history.funnel_rates` for the deal's owner (owner history, then team
  history); when history is too thin (source ``"stages"``) it is the Stages table's own
  ``probability`` of the stage. The source each owner used is reported.
* Weighted pipeline of P = sum over open deals landing in P of amount x probability.
  Expected = won + weighted. Category forecasts: commit = won + open amounts marked
  ``commit``; best case = commit + open amounts marked ``best_case``; pipeline = all open
  amounts landing in P (unweighted). Deals marked ``omitted`` are left out of every open
  figure, the Monte Carlo included.
* Slip: learned from the Snapshots change log (`slip_probability`).
* Monte Carlo: each open deal wins with its probability; a win slips at least k periods
  past its landing period with probability ``slip**k`` (exactly k: ``slip**k * (1 - slip)``);
  a win that would slip past the last simulated period closes after the horizon and is in
  no period, so a period's numbers do not depend on how many later periods are simulated.
  A period's total is its won amount plus the simulated wins landing in it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.history import RateSource, rates_for
from pipeline_xl.core.model import Derived, Model, Settings
from pipeline_xl.core.periods import Period, periods_between

__all__ = [
    "MAX_PERIODS",
    "MonteCarloResult",
    "PeriodForecast",
    "SlipSource",
    "deal_probabilities",
    "forecast_table",
    "hit_probability",
    "period_forecast",
    "probability_sources",
    "simulate",
    "slip_probability",
    "stage_probabilities",
]

SlipSource = Literal["history", "setting", "argument"]
MAX_PERIODS = 24  # longest default forecast table, in periods
_SOURCE_ORDER: tuple[RateSource, ...] = ("history", "team history", "stages")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_NS = "datetime64[ns]"
_TWO32 = 2.0**32
_MAX32 = 2**32 - 1
_DENSE_SHARE = 0.1  # see _dense_levels
_CHUNK_PAIRS = 2**19  # trial-deal pairs per Monte Carlo chunk (measured fastest near this)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
DateArray = npt.NDArray[np.datetime64]
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class PeriodForecast:
    """Forecast of one owner (``""`` = team) for one period.

    ``source`` names where the stage probabilities came from (``history``, ``team
    history`` or ``stages``; the team lists every source its owners used). ``unplaced``
    counts the owner's open deals without an expected close (in no period).
    """

    period: Period
    owner: str
    won: float
    weighted: float
    expected: float
    commit: float
    best_case: float
    pipeline: float
    open_count: int
    target: float
    gap: float
    source: str
    unplaced: int


@dataclass(frozen=True)
class MonteCarloResult:
    """Simulated ranges per period.

    ``table`` has one row per requested period: period (label), target, won, p10, p50,
    p90, mean and hit_probability (P(total >= target), NaN without a target). ``slip`` is
    the slip probability used and ``slip_source`` where it came from (``history``,
    ``setting`` or ``argument``); ``unplaced`` counts the open deals of ``owner`` (``""``:
    team) left out for want of an expected close.
    """

    table: pd.DataFrame
    trials: int
    slip: float
    slip_source: SlipSource
    owner: str
    unplaced: int


@dataclass(frozen=True)
class _Book:
    """Open and won deals as arrays, ready for per-period sums."""

    owner: ObjArray
    amount: FloatArray
    landing: DateArray  # NaT = unplaced
    probability: FloatArray
    category: ObjArray
    counted: BoolArray  # not omitted
    won_owner: ObjArray
    won_closed: DateArray
    won_amount: FloatArray
    sources: dict[str, RateSource]


def _ts(day: date) -> np.datetime64:
    return np.datetime64(day, "ns")


def _rate_source_per_owner(model: Model, owners: Sequence[str]) -> dict[str, RateSource]:
    return _stage_rates(model, owners)[1]


def _stage_rates(
    model: Model, owners: Sequence[str]
) -> tuple[dict[str, FloatArray], dict[str, RateSource]]:
    stages = model.stages
    table_p = np.array([s.probability for s in stages.open], dtype="float64")
    per_stage: dict[str, FloatArray] = {}
    sources: dict[str, RateSource] = {}
    for owner in owners:
        rates = rates_for(model, owner)
        sources[owner] = rates.source
        learned = np.array(rates.win_probabilities, dtype="float64")
        per_stage[owner] = table_p if rates.source == "stages" else learned
    return per_stage, sources


def stage_probabilities(model: Model) -> tuple[dict[str, FloatArray], dict[str, RateSource]]:
    """P(win | open stage k) for the team (``""``) and every owner, and the source used.

    Learned by `pipeline_xl.core.history.funnel_rates` (owner history, then team history);
    with too little history, the Stages table's ``probability`` column. Owners come from
    Prospects and Snapshots; an owner missing here is best given the team's values.
    """
    owners = set(model.prospects["owner"].astype(str).tolist())
    if len(model.snapshots):
        owners |= set(model.snapshots["owner"].astype(str).tolist())
    return _stage_rates(model, ["", *sorted(o for o in owners if o)])


def _probabilities(model: Model) -> tuple[pd.Series, dict[str, RateSource]]:
    prospects = model.prospects
    open_rows = prospects.loc[prospects["status"] == "open"]
    owners = open_rows["owner"].to_numpy(dtype=object)
    stage_idx = open_rows["stage_idx"].to_numpy(dtype="int64")
    stage_idx = np.clip(stage_idx, 0, model.stages.n_open - 1)
    per_stage, sources = _stage_rates(model, sorted(set(owners.tolist())))
    probs = np.zeros(len(open_rows), dtype="float64")
    for owner, values in per_stage.items():
        mask = owners == owner
        probs[mask] = values[stage_idx[mask]]
    override = open_rows["probability"].to_numpy(dtype="float64")
    probs = np.where(np.isnan(override), probs, override)
    probs = np.nan_to_num(np.clip(probs, 0.0, 1.0), nan=0.0)
    return pd.Series(probs, index=open_rows.index, name="probability"), sources


def deal_probabilities(model: Model) -> pd.Series:
    """Win probability of every open deal, indexed like the open rows of ``prospects``.

    The per-deal override when set, else P(win | stage) for the deal's owner (history,
    then team history, then the Stages table's probability); clipped to [0, 1].
    `probability_sources` says which source each owner used.
    """
    return _probabilities(model)[0]


def probability_sources(model: Model) -> dict[str, RateSource]:
    """Which source (``history``, ``team history``, ``stages``) each open deal's owner used."""
    return _probabilities(model)[1]


def _book(model: Model) -> _Book:
    return _BOOK.of(model)


def _make_book(model: Model) -> _Book:
    prospects = model.prospects
    as_of = _ts(model.settings.as_of)
    probs, sources = _probabilities(model)
    open_rows = prospects.loc[prospects["status"] == "open"]
    expected = open_rows["expected_close"].to_numpy(dtype=_NS)
    landing = np.where(np.isnat(expected) | (expected >= as_of), expected, as_of)
    category = open_rows["category"].to_numpy(dtype=object)
    closed = prospects["closed"].to_numpy(dtype=_NS)
    won = (prospects["status"] == "won").to_numpy() & ~np.isnat(closed) & (closed <= as_of)
    return _Book(
        owner=open_rows["owner"].to_numpy(dtype=object),
        amount=np.nan_to_num(open_rows["amount"].to_numpy(dtype="float64")),
        landing=landing.astype(_NS),
        probability=probs.to_numpy(dtype="float64"),
        category=category,
        counted=category != "omitted",
        won_owner=prospects["owner"].to_numpy(dtype=object)[won],
        won_closed=closed[won],
        won_amount=np.nan_to_num(prospects["amount"].to_numpy(dtype="float64")[won]),
        sources=sources,
    )


def _combined_source(sources: dict[str, RateSource], model: Model) -> str:
    used = set(sources.values())
    if not used:
        used = set(_rate_source_per_owner(model, [""]).values())
    return ", ".join(s for s in _SOURCE_ORDER if s in used)


def _won_in(book: _Book, period: Period, owner: str) -> float:
    mask = (book.won_closed >= _ts(period.start)) & (book.won_closed < _ts(period.end))
    if owner:
        mask &= book.won_owner == owner
    return float(book.won_amount[mask].sum())


def _forecast(book: _Book, model: Model, period: Period, owner: str, source: str) -> PeriodForecast:
    mine = book.counted if not owner else book.counted & (book.owner == owner)
    lands = mine & (book.landing >= _ts(period.start)) & (book.landing < _ts(period.end))
    amount = book.amount[lands]
    category = book.category[lands]
    won = _won_in(book, period, owner)
    weighted = float((amount * book.probability[lands]).sum())
    commit = won + float(amount[category == "commit"].sum())
    expected = won + weighted
    target = model.target(period, owner)
    return PeriodForecast(
        period=period,
        owner=owner,
        won=won,
        weighted=weighted,
        expected=expected,
        commit=commit,
        best_case=commit + float(amount[category == "best_case"].sum()),
        pipeline=float(amount.sum()),
        open_count=int(lands.sum()),
        target=target,
        gap=target - expected,
        source=source,
        unplaced=int((mine & np.isnat(book.landing)).sum()),
    )


def _source_of(book: _Book, model: Model, owner: str) -> str:
    if not owner:
        return _combined_source(book.sources, model)
    if owner in book.sources:
        return book.sources[owner]
    return _rate_source_per_owner(model, [owner])[owner]


def period_forecast(model: Model, period: Period | str, owner: str = "") -> PeriodForecast:
    """Won, weighted, expected and category forecasts of ``owner`` (``""`` = team).

    ``period`` is a `Period` or a label parsed with the workbook's fiscal calendar.

    Raises:
        InputError: ``period`` is not a period.

    """
    resolved = model.settings.parse_period(period)
    book = _book(model)
    return _forecast(book, model, resolved, owner, _source_of(book, model, owner))


def _window(periods: list[Period], current: Period, cap: int) -> list[Period]:
    """At most ``cap`` consecutive periods, centred on the current one when it must be cut."""
    if len(periods) <= cap:
        return periods
    here = periods.index(current) if current in periods else 0
    first = min(max(here - cap // 2, 0), len(periods) - cap)
    return periods[first : first + cap]


def _default_periods(book: _Book, model: Model) -> list[Period]:
    settings = model.settings
    current = settings.current_period
    first, last = current.start, current.start
    targets = model.targets
    starts, ends = targets["start"].dropna(), targets["end"].dropna()
    if len(starts) and len(ends):
        first = min(first, pd.Timestamp(starts.min()).date())
        last = max(last, (pd.Timestamp(ends.max()) - pd.Timedelta(days=1)).date())
    placed = book.landing[~np.isnat(book.landing)]
    if placed.size:
        last = max(last, pd.Timestamp(placed.max()).date())
    periods = periods_between(first, last, settings.granularity, settings.fiscal_start_month)
    return _window(periods, current, MAX_PERIODS)


def _resolve(book: _Book, model: Model, periods: Sequence[Period | str] | None) -> list[Period]:
    if periods is None:
        return _default_periods(book, model)
    return [model.settings.parse_period(p) for p in periods]


def _owners(book: _Book, model: Model) -> list[str]:
    names = set(book.owner.tolist()) | set(book.won_owner.tolist())
    names |= set(model.targets["owner"].astype(str).tolist()) if len(model.targets) else set()
    return sorted(n for n in names if n)


def forecast_table(model: Model, periods: Sequence[Period | str] | None = None) -> pd.DataFrame:
    """One row per period and owner, the team row (owner ``""``) first in each period.

    Default periods run, in the workbook's granularity, from the earliest target's period
    (or the current period if earlier) to the last period holding open deals or targets,
    at most `MAX_PERIODS` of them (centred on the current period when cut). Columns:
    period (label), start, end, owner, won, weighted, expected, commit, best_case,
    pipeline, open_count, target, gap, source, unplaced.

    Raises:
        InputError: a period label is not a period.

    """
    book = _book(model)
    wanted = _resolve(book, model, periods)
    owners = _owners(book, model)
    extra = [o for o in owners if o not in book.sources]
    sources: dict[str, str] = {**book.sources, **_rate_source_per_owner(model, extra)}
    sources[""] = _combined_source(book.sources, model)
    names = pd.Index(owners)
    n = len(owners)
    open_code = names.get_indexer(pd.Index(book.owner))
    won_code = names.get_indexer(pd.Index(book.won_owner))
    weighted_amount = book.amount * book.probability
    commit_amount = np.where(book.category == "commit", book.amount, 0.0)
    best_amount = np.where(book.category == "best_case", book.amount, 0.0)
    unplaced_mask = book.counted & np.isnat(book.landing)
    unplaced = _by_owner(unplaced_mask, open_code, np.ones(len(open_code)), n)

    records = []
    for period in wanted:
        start, end = _ts(period.start), _ts(period.end)
        lands = book.counted & (book.landing >= start) & (book.landing < end)
        won_in = (book.won_closed >= start) & (book.won_closed < end)
        won = _by_owner(won_in, won_code, book.won_amount, n)
        weighted = _by_owner(lands, open_code, weighted_amount, n)
        pipeline = _by_owner(lands, open_code, book.amount, n)
        commit = _by_owner(lands, open_code, commit_amount, n)
        best = _by_owner(lands, open_code, best_amount, n)
        count = _by_owner(lands, open_code, np.ones(len(open_code)), n)
        team_target, owner_targets = model.period_targets(period)
        for i, owner in enumerate(["", *owners]):
            target = team_target if not owner else owner_targets.get(owner, float("nan"))
            expected = won[i] + weighted[i]
            records.append({
                "period": period.label, "start": period.start, "end": period.end,
                "owner": owner, "won": won[i], "weighted": weighted[i], "expected": expected,
                "commit": won[i] + commit[i], "best_case": won[i] + commit[i] + best[i],
                "pipeline": pipeline[i], "open_count": int(count[i]), "target": target,
                "gap": target - expected, "source": sources[owner],
                "unplaced": int(unplaced[i]),
            })  # fmt: skip
    columns = [
        "period",
        "start",
        "end",
        "owner",
        "won",
        "weighted",
        "expected",
        "commit",
        "best_case",
        "pipeline",
        "open_count",
        "target",
        "gap",
        "source",
        "unplaced",
    ]
    table = pd.DataFrame(records, columns=columns)
    for name in ("start", "end"):
        table[name] = pd.to_datetime(table[name]).astype("datetime64[ns]")
    return table


def _by_owner(mask: BoolArray, codes: IntArray, values: FloatArray, n: int) -> list[float]:
    """Team total then one sum per owner code (rows with code -1 count for the team only)."""
    picked = values[mask]
    own = codes[mask]
    known = own >= 0
    per_owner = np.bincount(own[known], weights=picked[known], minlength=n)
    return [float(picked.sum()), *(float(v) for v in per_owner)]


def _period_number(days: DateArray, kind: str, fiscal_start: int) -> IntArray:
    """Running period number of each date (month count since 1970 divided by period length)."""
    months: IntArray = days.astype("datetime64[M]").astype("int64")
    number: IntArray = (months - (fiscal_start - 1)) // _MONTHS[kind]
    return number


def _period_end(days: DateArray, settings: Settings) -> DateArray:
    """First day after the reporting period holding each date (NaT stays NaT)."""
    kind = settings.granularity
    number = _period_number(days, kind, settings.fiscal_start_month)
    end_month = (number + 1) * _MONTHS[kind] + (settings.fiscal_start_month - 1)
    ends = end_month.astype("datetime64[M]").astype(_NS)
    return np.where(np.isnat(days), np.datetime64("NaT", "ns"), ends)


def slip_probability(model: Model) -> tuple[float, SlipSource]:
    """Share of deals that slipped past the period they were expected to close in.

    Each deal's observations are its Snapshots rows dated on or before ``as_of`` (the state
    at a date is the latest row on or before it) followed by its Prospects row, observed at
    ``as_of``. An event is a deal seen open with an expected close in period P and seen
    again on or after P's end; it is judged at the first such later observation and
    counted once per deal and period. It slipped when that observation is still open with
    an expected close in a later period. With fewer than ``min_history`` events the
    Settings value is used: returns (probability, ``"history"`` or ``"setting"``).
    """
    settings = model.settings
    fallback: tuple[float, SlipSource] = (float(settings.slip_probability), "setting")
    snaps = model.snapshots
    as_of = _ts(settings.as_of)
    if not len(snaps):
        return fallback
    log = pd.DataFrame(
        {
            "id": snaps["id"].astype(str).to_numpy(dtype=object),
            "seen": snaps["snapshot_date"].to_numpy(dtype=_NS),
            "order": 0,
            "row": snaps["row"].to_numpy(dtype="int64"),
            "status": snaps["status"].astype(str).to_numpy(dtype=object),
            "expected": snaps["expected_close"].to_numpy(dtype=_NS),
        }
    )
    log = log.loc[(log["id"] != "") & (log["seen"] <= as_of)]
    prospects = model.prospects.drop_duplicates("id")
    prospects = prospects.loc[prospects["id"].isin(log["id"])]
    now = pd.DataFrame(
        {
            "id": prospects["id"].astype(str).to_numpy(dtype=object),
            "seen": np.full(len(prospects), as_of, dtype=_NS),
            "order": 1,
            "row": prospects["row"].to_numpy(dtype="int64"),
            "status": prospects["status"].astype(str).to_numpy(dtype=object),
            "expected": prospects["expected_close"].to_numpy(dtype=_NS),
        }
    )
    obs = pd.concat([log, now], ignore_index=True).sort_values(
        ["id", "seen", "order", "row"], kind="stable"
    )
    ids = obs["id"].to_numpy(dtype=object)
    seen = obs["seen"].to_numpy(dtype=_NS)
    status = obs["status"].to_numpy(dtype=object)
    expected = obs["expected"].to_numpy(dtype=_NS)
    if len(ids) < 2:
        return fallback
    ends = _period_end(expected, settings)
    same = ids[1:] == ids[:-1]
    is_open = status[:-1] == "open"
    dated = ~np.isnat(expected[:-1])
    ended = np.zeros(len(ids) - 1, dtype=bool)
    ended[dated] = ends[:-1][dated] <= seen[1:][dated]
    event = same & is_open & dated & ended
    later = np.zeros(len(ids) - 1, dtype=bool)
    next_dated = ~np.isnat(expected[1:])
    later[dated & next_dated] = expected[1:][dated & next_dated] >= ends[:-1][dated & next_dated]
    slipped = (status[1:] == "open") & later
    events = pd.DataFrame(
        {"id": ids[:-1][event], "end": ends[:-1][event], "slipped": slipped[event]}
    ).drop_duplicates(["id", "end"], keep="first")
    if len(events) < settings.min_history or len(events) == 0:
        return fallback
    return float(events["slipped"].mean()), "history"


def _check_slip(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise InputError(
            "slip probability out of range", value=value, expected="a number from 0 to 1"
        )
    return float(value)


def _slip_thresholds(prob: FloatArray, slip: float, levels: int) -> list[IntArray]:
    """Thresholds ``t[k]`` on a uniform 32-bit draw ``u``, for k = 0 .. ``levels``.

    The deal wins and slips at least k periods when ``u <= t[k]`` (k = 0: it wins); -1
    means never. ``P(u <= t) = (t + 1) / 2**32``, so ``t = ceil(p * slip**k * 2**32) - 1``
    is exact to 2**-32.
    """
    out: list[IntArray] = []
    previous = np.full(len(prob), _MAX32, dtype="int64")
    for k in range(levels + 1):
        scaled = np.ceil(prob * slip**k * _TWO32).astype("int64")
        previous = np.minimum(scaled - 1, previous)
        out.append(previous)
    return out


def _dense_levels(prob: FloatArray, slip: float, horizon: int) -> int:
    """How many slip levels (0, 1, ...) to sum densely; rarer ones are handled sparsely.

    A dense level costs a few passes over every (trial, deal) pair; a sparse win costs
    about ten times one such pass (measured), so a level is dense while more than about
    one pair in ten reaches it.
    """
    if slip <= 0.0:
        return 1
    levels = 1
    while levels < horizon and float(np.mean(prob)) * slip**levels > _DENSE_SHARE:
        levels += 1
    return levels


def _draws(
    rng: np.random.Generator, trials: int, n: int, chunk: int
) -> Iterator[tuple[int, npt.NDArray[np.uint32]]]:
    """Uniform 32-bit integers, ``chunk`` trials x ``n`` deals at a time, in trial-major order.

    Taken from the generator's 64-bit stream (two per draw), so the numbers do not depend on
    ``chunk``: a half left over at the end of a chunk starts the next one.
    """
    spare = np.empty(0, dtype="uint32")
    for first in range(0, trials, chunk):
        m = min(chunk, trials - first)
        raw = rng.bit_generator.random_raw((m * n - spare.size + 1) // 2)
        stream = np.asarray(raw, dtype="uint64").view("uint32")
        if spare.size:
            stream = np.concatenate([spare, stream])
        spare = stream[m * n :].copy()
        yield first, stream[: m * n].reshape(m, n)


@dataclass(frozen=True)
class _Level:
    """Deals that win and slip exactly ``k`` periods: ``start <= u <= start + width``."""

    k: int
    cols: int  # the first ``cols`` deals (by landing period) still land inside the horizon
    start: npt.NDArray[np.uint32]
    width: npt.NDArray[np.uint32]
    amount: FloatArray  # 0 for deals that can never be at this level
    segments: list[tuple[int, int, int]]  # (landing period, first deal, end deal)


def _levels(
    limits: list[IntArray], amount: FloatArray, bounds: list[int], horizon: int
) -> list[_Level]:
    out = []
    for k in range(len(limits) - 1):
        cols = bounds[horizon - k]
        if cols == 0:
            continue
        lower, upper = limits[k + 1][:cols], limits[k][:cols]
        width = upper - lower - 1  # exactly level k: lower < u <= upper
        segments = [(j, bounds[j], bounds[j + 1]) for j in range(horizon - k)]
        out.append(
            _Level(
                k=k,
                cols=cols,
                start=np.minimum(lower + 1, _MAX32).astype("uint32"),
                width=np.maximum(width, 0).astype("uint32"),
                amount=np.where(width >= 0, amount[:cols], 0.0),
                segments=[s for s in segments if s[1] < s[2]],
            )
        )
    return out


def _simulate_totals(
    rng: np.random.Generator,
    *,
    prob: FloatArray,
    amount: FloatArray,
    base: IntArray,
    horizon: int,
    slip: float,
    trials: int,
    chunk: int | None,
) -> FloatArray:
    """Simulated win amounts per trial (rows) and horizon period (columns).

    One uniform 32-bit integer ``u`` per trial and deal (deals ordered by landing period,
    see `_draws`). A deal wins and slips at least k periods when ``u`` falls under
    ``p * slip**k`` (k = 0: it wins). Common slip levels are summed densely: for each
    level, an indicator matrix of the pairs at exactly that level times each landing
    period's amounts (float64 matrix-vector products, so sums are exact to rounding) lands
    k periods later. The rare deeper slips are found sparsely, given their level from
    ``u`` and added with one bincount. Wins that would land past the horizon are dropped.
    """
    out = np.zeros((trials, horizon), dtype="float64")
    if len(prob) == 0 or horizon == 0 or slip >= 1.0:
        return out  # with slip 1 every win slips past any horizon
    order = np.argsort(base, kind="stable")
    prob, amount, base = prob[order], amount[order], base[order]
    n = len(prob)
    bounds = np.searchsorted(base, np.arange(horizon + 1)).tolist()
    dense = _dense_levels(prob, slip, horizon)
    limits = _slip_thresholds(prob, slip, dense)
    levels = _levels(limits, amount, bounds, horizon)
    deep_cols = bounds[horizon - dense] if slip > 0.0 else 0
    deep_upto = np.maximum(limits[dense][:deep_cols], 0).astype("uint32")
    log_p = np.log(prob)
    log_slip = float(np.log(slip)) if slip > 0.0 else 0.0
    size = min(chunk or max(1, _CHUNK_PAIRS // n), trials)
    gaps = np.empty(size * n, dtype="uint32")
    hits = np.empty(size * n, dtype="float64")
    flags = np.empty(size * deep_cols, dtype=bool)
    cells = horizon + 1  # one extra column collects wins that slip past the horizon
    for first, u in _draws(rng, trials, n, size):
        m = len(u)
        block = out[first : first + m]
        for level in levels:
            gap = gaps[: m * level.cols].reshape(m, level.cols)
            hit = hits[: m * level.cols].reshape(m, level.cols)
            np.subtract(u[:, : level.cols], level.start, out=gap)
            np.less_equal(gap, level.width, out=hit, casting="unsafe")
            for j, lo, hi in level.segments:
                block[:, j + level.k] += hit[:, lo:hi] @ level.amount[lo:hi]
        if not deep_cols:
            continue
        flag = flags[: m * deep_cols].reshape(m, deep_cols)
        np.less_equal(u[:, :deep_cols], deep_upto, out=flag)
        row, col = np.divmod(np.flatnonzero(flag), deep_cols)
        x = (u[row, col] + 0.5) * (1.0 / _TWO32)  # u as a uniform in (0, 1)
        steps = np.clip(np.floor((np.log(x) - log_p[col]) / log_slip), dense, horizon)
        land = np.minimum(base[col] + steps.astype("int64"), horizon)
        moved = np.bincount(row * cells + land, weights=amount[col], minlength=m * cells)
        block += moved.reshape(m, cells)[:, :horizon]
    return out


def simulate(
    model: Model,
    rng: np.random.Generator,
    *,
    trials: int | None = None,
    periods: Sequence[Period | str] | None = None,
    owner: str = "",
    slip: float | None = None,
    chunk: int | None = None,
) -> MonteCarloResult:
    """Monte Carlo ranges (P10/P50/P90, mean, P(total >= target)) per period.

    Each open deal (not omitted, with an expected close) wins with its probability and,
    given a win, slips at least k periods with probability ``slip**k`` (module notes); a
    period's total is its won amount plus the simulated wins landing in it. Percentiles
    use numpy's default (linear) method over ``trials`` (default: Settings ``mc_trials``).
    ``slip`` defaults to `slip_probability`. The same generator state gives the same
    numbers, whatever ``chunk``: the number of trials done at a time (default: about
    half a million trial-deal pairs, which keeps the working set in the processor's cache
    and memory small).

    Raises:
        InputError: a period is not a period of the workbook's granularity, or ``trials``,
            ``slip`` or ``chunk`` is out of range.

    """
    settings = model.settings
    n_trials = settings.mc_trials if trials is None else trials
    if n_trials < 1:
        raise InputError("too few Monte Carlo trials", value=n_trials, expected="at least 1")
    if chunk is not None and chunk < 1:
        raise InputError("Monte Carlo chunk too small", value=chunk, expected="at least 1")
    slip_value: float
    slip_source: SlipSource
    if slip is None:
        slip_value, slip_source = LEARNED_SLIP.of(model)
    else:
        slip_value, slip_source = slip, "argument"
    slip_value = _check_slip(slip_value)
    book = _book(model)
    wanted = _resolve(book, model, periods)
    kind, fiscal = settings.granularity, settings.fiscal_start_month
    for period in wanted:
        if period.kind != kind:
            raise InputError(
                "the simulation needs periods of the workbook's granularity",
                value=period.label,
                expected=f"a {kind}",
            )
    mine = book.counted if not owner else book.counted & (book.owner == owner)
    unplaced = int((mine & np.isnat(book.landing)).sum())
    horizon_start = _period_number(np.array([_ts(settings.as_of)]), kind, fiscal)[0]
    numbers = _period_number(np.array([_ts(p.start) for p in wanted], dtype=_NS), kind, fiscal)
    horizon_start = min(horizon_start, int(numbers.min())) if len(wanted) else horizon_start
    horizon = int(numbers.max()) - horizon_start + 1 if len(wanted) else 0
    placed = mine & ~np.isnat(book.landing) & (book.probability > 0)
    base = np.zeros(len(placed), dtype="int64")
    base[placed] = _period_number(book.landing[placed], kind, fiscal) - horizon_start
    use = placed & (base >= 0) & (base < horizon)
    totals = _simulate_totals(
        rng,
        prob=book.probability[use],
        amount=book.amount[use],
        base=base[use],
        horizon=horizon,
        slip=slip_value,
        trials=n_trials,
        chunk=chunk,
    )
    rows = []
    for period, number in zip(wanted, numbers.tolist(), strict=True):
        won = _won_in(book, period, owner)
        total = won + totals[:, number - horizon_start]
        p10, p50, p90 = np.percentile(total, [10, 50, 90])
        target = model.target(period, owner)
        hit = float("nan") if np.isnan(target) else float((total >= target).mean())
        rows.append(
            {
                "period": period.label,
                "target": target,
                "won": won,
                "p10": float(p10),
                "p50": float(p50),
                "p90": float(p90),
                "mean": float(total.mean()),
                "hit_probability": hit,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=["period", "target", "won", "p10", "p50", "p90", "mean", "hit_probability"],
    )
    return MonteCarloResult(table, n_trials, slip_value, slip_source, owner, unplaced)


def hit_probability(
    model: Model,
    period: Period | str,
    owner: str = "",
    *,
    rng: np.random.Generator,
    trials: int | None = None,
    slip: float | None = None,
) -> float:
    """P(``owner``'s total in ``period`` >= its target) by `simulate`; NaN without a target.

    Raises:
        InputError: see `simulate`.

    """
    result = simulate(model, rng, trials=trials, periods=[period], owner=owner, slip=slip)
    return float(result.table["hit_probability"].iloc[0])


_BOOK: Derived[_Book] = Derived(_make_book)
LEARNED_SLIP: Derived[tuple[float, SlipSource]] = Derived(slip_probability)
"""`slip_probability` of a model, once per model."""
