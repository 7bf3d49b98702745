"""Forecasts per period and owner: won, weighted pipeline, categories and Monte Carlo ranges.

Semantics (README, Definitions, "Weighted pipeline", "Expected period result" and
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

Two methods (``method``):

* ``weighted``: the rules above;
* ``calibrated`` (the default, `DEFAULT_METHOD`): each open deal's probability of being
  won inside each period is learned from history (`pipeline_xl.core.calibration`: the
  won-slip law for deals with an expected close, a survival estimate by stage and age
  for deals without, a quarter-end season), so ``weighted`` is the sum of amount x P(won
  inside the period) and deals without an expected close are forecast too; ``new_deals``
  is the revenue expected from deals not created yet (its own column, zero for the
  weighted method) and expected = won + weighted + new deals. Commit, best case,
  pipeline and open counts stay those of the landing period. The Monte Carlo draws each
  deal's period from the same law, and adds the new-deal line to every trial as it is
  (its expectation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.calibration import (
    CALIBRATION,
    new_deal_line,
    open_deals,
    period_win_probabilities,
)
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.history import RateSource, rates_for
from pipeline_xl.core.model import Derived, DerivedBy, Model
from pipeline_xl.core.periods import Period, period_of, periods_between
from pipeline_xl.core.sampling import bernoulli_totals, geometric_tails, simulate_totals
from pipeline_xl.core.slip import SlipSource, period_number, slip_probability

__all__ = [
    "DEFAULT_METHOD",
    "LEARNED_SLIP",
    "MAX_PERIODS",
    "METHODS",
    "Method",
    "MonteCarloResult",
    "PeriodForecast",
    "SlipSource",
    "deal_probabilities",
    "forecast_table",
    "hit_probability",
    "period_forecast",
    "period_range",
    "probability_sources",
    "simulate",
    "slip_probability",
    "stage_probabilities",
]

Method = Literal["weighted", "calibrated"]
METHODS: tuple[Method, ...] = ("weighted", "calibrated")
DEFAULT_METHOD: Method = "calibrated"
"""The method of every figure the product shows unless a method is named: the one that
scores best in the backtest (`pipeline_xl.core.backtest`)."""
MAX_PERIODS = 24  # longest default forecast table, in periods
_SOURCE_ORDER: tuple[RateSource, ...] = ("history", "team history", "stages")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_NS = "datetime64[ns]"

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
    counts the owner's open deals the method cannot place in any period (the weighted
    method: those without an expected close). ``new_deals``: revenue expected from deals
    not created yet (calibrated method; 0 otherwise), included in ``expected``.
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
    new_deals: float = 0.0
    method: Method = DEFAULT_METHOD


@dataclass(frozen=True)
class MonteCarloResult:
    """Simulated ranges per period.

    ``table`` has one row per requested period: period (label), target, won, new_deals
    (the calibrated method's new-deal line, in every trial), p10, p50, p90, mean and
    hit_probability (P(total >= target), NaN without a target). ``slip`` is the geometric
    slip probability (the weighted method's law, the calibrated method's fallback) and
    ``slip_source`` where it came from (``history``, ``setting`` or ``argument``);
    ``timing`` says which law placed the wins; ``unplaced`` counts the open deals of
    ``owner`` (``""``: team) that could not be placed.
    """

    table: pd.DataFrame
    trials: int
    slip: float
    slip_source: SlipSource
    owner: str
    unplaced: int
    method: Method = DEFAULT_METHOD
    timing: str = "geometric slip"


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
    index: pd.Index  # the open rows of the Prospects table


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
    codes, names = pd.factorize(owners, sort=True)
    per_stage, sources = _stage_rates(model, [str(n) for n in names])
    probs = np.zeros(len(open_rows), dtype="float64")
    if len(names):
        matrix = np.array([per_stage[str(n)] for n in names])
        probs = matrix[codes, stage_idx]
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
        index=open_rows.index,
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


def _calibrated_odds(model: Model, periods: tuple[Period, ...]) -> tuple[FloatArray, BoolArray]:
    book = _book(model)
    deals = open_deals(model, model.prospects.loc[book.index], book.probability)
    needs_slip = CALIBRATION.of(model).slip is None and bool(deals.dated.any())
    slip = LEARNED_SLIP.of(model)[0] if needs_slip else 0.0
    return period_win_probabilities(model, deals, periods, slip)


_CALIBRATED_ODDS: DerivedBy[tuple[Period, ...], tuple[FloatArray, BoolArray]] = DerivedBy(
    _calibrated_odds
)


def _new_deals(model: Model, periods: tuple[Period, ...]) -> dict[tuple[str, str], float]:
    line = new_deal_line(model, periods)
    return {
        (str(p), str(o)): float(a)
        for p, o, a in zip(line["period"], line["owner"], line["amount"], strict=True)
    }


_NEW_DEALS: DerivedBy[tuple[Period, ...], dict[tuple[str, str], float]] = DerivedBy(_new_deals)


def _check_method(method: str) -> Method:
    if method not in METHODS:
        raise InputError("unknown forecast method", value=method, expected=" or ".join(METHODS))
    return "calibrated" if method == "calibrated" else "weighted"


def _forecast(
    book: _Book, model: Model, period: Period, owner: str, *, source: str, method: Method
) -> PeriodForecast:
    mine = book.counted if not owner else book.counted & (book.owner == owner)
    lands = mine & (book.landing >= _ts(period.start)) & (book.landing < _ts(period.end))
    amount = book.amount[lands]
    category = book.category[lands]
    won = _won_in(book, period, owner)
    new = 0.0
    if method == "calibrated":
        odds, placed = _CALIBRATED_ODDS.of(model, (period,))
        weighted = float((book.amount[mine] * odds[mine, 0]).sum())
        unplaced = int((mine & ~placed).sum())
        new = _NEW_DEALS.of(model, (period,)).get((period.label, owner), 0.0)
    else:
        weighted = float((amount * book.probability[lands]).sum())
        unplaced = int((mine & np.isnat(book.landing)).sum())
    commit = won + float(amount[category == "commit"].sum())
    expected = won + weighted + new
    target = model.target(period, owner)
    return PeriodForecast(
        period=period, owner=owner, won=won, weighted=weighted, expected=expected,
        commit=commit, best_case=commit + float(amount[category == "best_case"].sum()),
        pipeline=float(amount.sum()), open_count=int(lands.sum()), target=target,
        gap=target - expected, source=source, unplaced=unplaced, new_deals=new, method=method,
    )  # fmt: skip


def _source_of(book: _Book, model: Model, owner: str) -> str:
    if not owner:
        return _combined_source(book.sources, model)
    if owner in book.sources:
        return book.sources[owner]
    return _rate_source_per_owner(model, [owner])[owner]


def period_forecast(
    model: Model, period: Period | str, owner: str = "", method: Method = DEFAULT_METHOD
) -> PeriodForecast:
    """Won, weighted, expected and category forecasts of ``owner`` (``""`` = team).

    ``period`` is a `Period` or a label parsed with the workbook's fiscal calendar;
    ``method`` is ``weighted`` or ``calibrated`` (module notes).

    Raises:
        InputError: ``period`` is not a period, or ``method`` is unknown.

    """
    chosen = _check_method(method)
    resolved = model.settings.parse_period(period)
    book = _book(model)
    return _forecast(
        book, model, resolved, owner, source=_source_of(book, model, owner), method=chosen
    )


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
    elif book.won_closed.size:
        # No target: the won history of this fiscal year and the previous one.
        year = period_of(current.start, "year", settings.fiscal_start_month)
        earlier = year.start.replace(year=year.start.year - 1)
        won_first = pd.Timestamp(book.won_closed.min()).date()
        first = min(first, max(earlier, won_first))
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


def forecast_table(
    model: Model,
    periods: Sequence[Period | str] | None = None,
    method: Method = DEFAULT_METHOD,
) -> pd.DataFrame:
    """One row per period and owner, the team row (owner ``""``) first in each period.

    Default periods run, in the workbook's granularity, from the earliest target's period
    (without targets: the previous fiscal year's first period holding a win) or the
    current period if earlier, to the last period holding open deals or targets,
    at most `MAX_PERIODS` of them (centred on the current period when cut). Columns:
    period (label), start, end, owner, won, weighted, expected, commit, best_case,
    pipeline, open_count, target, gap, source, unplaced, new_deals. ``method``:
    ``weighted`` or ``calibrated`` (module notes).

    Raises:
        InputError: a period label is not a period, or ``method`` is unknown.

    """
    chosen = _check_method(method)
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
    new_deals: dict[tuple[str, str], float] = {}
    if chosen == "calibrated":
        odds, placed = _CALIBRATED_ODDS.of(model, tuple(wanted))
        unplaced_mask = book.counted & ~placed
        new_deals = _NEW_DEALS.of(model, tuple(wanted))
    unplaced = _by_owner(unplaced_mask, open_code, np.ones(len(open_code)), n)

    records = []
    for j, period in enumerate(wanted):
        start, end = _ts(period.start), _ts(period.end)
        lands = book.counted & (book.landing >= start) & (book.landing < end)
        won_in = (book.won_closed >= start) & (book.won_closed < end)
        won = _by_owner(won_in, won_code, book.won_amount, n)
        if chosen == "calibrated":
            weighted = _by_owner(book.counted, open_code, book.amount * odds[:, j], n)
        else:
            weighted = _by_owner(lands, open_code, weighted_amount, n)
        pipeline = _by_owner(lands, open_code, book.amount, n)
        commit = _by_owner(lands, open_code, commit_amount, n)
        best = _by_owner(lands, open_code, best_amount, n)
        count = _by_owner(lands, open_code, np.ones(len(open_code)), n)
        team_target, owner_targets = model.period_targets(period)
        for i, owner in enumerate(["", *owners]):
            target = team_target if not owner else owner_targets.get(owner, float("nan"))
            new = new_deals.get((period.label, owner), 0.0)
            expected = won[i] + weighted[i] + new
            records.append({
                "period": period.label, "start": period.start, "end": period.end,
                "owner": owner, "won": won[i], "weighted": weighted[i], "expected": expected,
                "commit": won[i] + commit[i], "best_case": won[i] + commit[i] + best[i],
                "pipeline": pipeline[i], "open_count": int(count[i]), "target": target,
                "gap": target - expected, "source": sources[owner],
                "unplaced": int(unplaced[i]), "new_deals": new,
            })  # fmt: skip
    columns = [
        "period", "start", "end", "owner", "won", "weighted", "expected", "commit",
        "best_case", "pipeline", "open_count", "target", "gap", "source", "unplaced",
        "new_deals",
    ]  # fmt: skip
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


def _check_slip(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise InputError(
            "slip probability out of range", value=value, expected="a number from 0 to 1"
        )
    return float(value)


def _slip_of(model: Model, slip: float | None) -> tuple[float, SlipSource]:
    if slip is None:
        value, source = LEARNED_SLIP.of(model)
    else:
        value, source = slip, "argument"
    return _check_slip(value), source


def _timing(model: Model, method: Method) -> str:
    if method == "weighted":
        return "geometric slip"
    calibration = CALIBRATION.of(model)
    parts = [
        f"won-slip law ({calibration.slip_observations} won observations)"
        if calibration.slip is not None
        else "geometric slip (too few won observations for the won-slip law)"
    ]
    if calibration.age is not None:
        parts.append(f"age law ({calibration.age_observations} closed deals)")
    return "; ".join(parts)


def simulate(
    model: Model,
    rng: np.random.Generator,
    *,
    trials: int | None = None,
    periods: Sequence[Period | str] | None = None,
    owner: str = "",
    slip: float | None = None,
    chunk: int | None = None,
    method: Method = DEFAULT_METHOD,
    reach: float | None = None,
) -> MonteCarloResult:
    """Monte Carlo ranges (P10/P50/P90, mean, P(total >= target)) per period.

    ``weighted``: each open deal (not omitted, with an expected close) wins with its
    probability and, given a win, slips at least k periods with probability ``slip**k``
    (module notes). ``calibrated``: each open deal the calibrated forecast places wins in
    each period with its learned probability (`pipeline_xl.core.calibration`), and the
    new-deal line is added to every trial. A period's total is its won amount plus the
    simulated wins landing in it. Percentiles are simulated totals (the inverted empirical
    distribution, never an interpolation) over ``trials`` (default: Settings
    ``mc_trials``). ``slip`` defaults to `slip_probability` (for the calibrated method it
    is only the fallback law). The same generator state gives the same numbers, whatever
    ``chunk``. ``reach``: an amount in place of each period's target (a call), same draws.

    Raises:
        InputError: a period is not a period of the workbook's granularity, or ``trials``,
            ``slip``, ``chunk`` or ``method`` is out of range.

    """
    settings = model.settings
    chosen = _check_method(method)
    n_trials = settings.mc_trials if trials is None else trials
    if n_trials < 1:
        raise InputError("too few Monte Carlo trials", value=n_trials, expected="at least 1")
    if chunk is not None and chunk < 1:
        raise InputError("Monte Carlo chunk too small", value=chunk, expected="at least 1")
    slip_value, slip_source = _slip_of(model, slip)
    book = _book(model)
    wanted = list(dict.fromkeys(_resolve(book, model, periods)))
    kind, fiscal = settings.granularity, settings.fiscal_start_month
    for period in wanted:
        if period.kind != kind:
            raise InputError(
                "the simulation needs periods of the workbook's granularity",
                value=period.label,
                expected=f"a {kind}",
            )
    mine = book.counted if not owner else book.counted & (book.owner == owner)
    horizon_start = period_number(np.array([_ts(settings.as_of)]), kind, fiscal)[0]
    numbers = period_number(np.array([_ts(p.start) for p in wanted], dtype=_NS), kind, fiscal)
    horizon_start = min(horizon_start, int(numbers.min())) if wanted else horizon_start
    horizon = int(numbers.max()) - horizon_start + 1 if wanted else 0
    new_line: dict[tuple[str, str], float] = {}
    if chosen == "calibrated":
        # Each period's total alone: its percentiles and hit probability need only its own
        # distribution, in which every deal wins with its learned probability for it.
        odds, placed = _CALIBRATED_ODDS.of(model, tuple(wanted))
        new_line = _NEW_DEALS.of(model, tuple(wanted))
        unplaced = int((mine & ~placed).sum())
        per_period = [
            bernoulli_totals(rng, odds[mine, j], book.amount[mine], n_trials, chunk)
            for j in range(len(wanted))
        ]
        totals = np.column_stack(per_period) if per_period else np.zeros((n_trials, 0))
        slots = list(range(len(wanted)))
    else:
        unplaced = int((mine & np.isnat(book.landing)).sum())
        placed_mask = mine & ~np.isnat(book.landing) & (book.probability > 0)
        base = np.zeros(len(placed_mask), dtype="int64")
        base[placed_mask] = period_number(book.landing[placed_mask], kind, fiscal) - horizon_start
        use = placed_mask & (base >= 0) & (base < horizon)
        totals = simulate_totals(
            rng, tails=geometric_tails(book.probability[use], slip_value, horizon),
            amount=book.amount[use], base=base[use], horizon=horizon, trials=n_trials,
            chunk=chunk,
        )  # fmt: skip
        slots = [n - horizon_start for n in numbers.tolist()]
    rows = []
    for period, slot in zip(wanted, slots, strict=True):
        won = _won_in(book, period, owner)
        new = new_line.get((period.label, owner), 0.0)
        total = won + new + totals[:, slot]
        # Outcomes of the simulation, not interpolations between two of them.
        p10, p50, p90 = np.percentile(total, [10, 50, 90], method="inverted_cdf")
        target = model.target(period, owner) if reach is None else reach
        hit = float("nan") if np.isnan(target) else float((total >= target).mean())
        rows.append({
            "period": period.label, "target": target, "won": won, "new_deals": new,
            "p10": float(p10), "p50": float(p50), "p90": float(p90),
            "mean": float(total.mean()), "hit_probability": hit,
        })  # fmt: skip
    columns = [
        "period", "target", "won", "new_deals", "p10", "p50", "p90", "mean", "hit_probability",
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    return MonteCarloResult(
        table, n_trials, slip_value, slip_source, owner, unplaced, chosen, _timing(model, chosen)
    )


def hit_probability(
    model: Model,
    period: Period | str,
    owner: str = "",
    *,
    rng: np.random.Generator,
    trials: int | None = None,
    slip: float | None = None,
    method: Method = DEFAULT_METHOD,
) -> float:
    """P(``owner``'s total in ``period`` >= its target) by `simulate`; NaN without a target.

    Raises:
        InputError: see `simulate`.

    """
    result = simulate(
        model, rng, trials=trials, periods=[period], owner=owner, slip=slip, method=method
    )
    return float(result.table["hit_probability"].iloc[0])


def period_range(
    model: Model,
    period: Period | str,
    owner: str = "",
    *,
    trials: int | None = None,
    seed: int | None = None,
    slip: float | None = None,
    method: Method = DEFAULT_METHOD,
    reach: float | None = None,
) -> MonteCarloResult:
    """The Monte Carlo range of one period (`simulate`'s result), simulated on its own.

    Every surface that shows a range or a chance of target for a (period, owner) calls
    this with the same arguments, so the Dashboard, the Forecast range sheet and the
    worksheet functions show the same numbers: a generator seeded with ``seed`` (default:
    Settings ``mc_seed``) for this period alone, ``trials`` default Settings ``mc_trials``,
    ``slip`` default the learned one (`slip_probability`). A month or quarter of another
    granularity than the workbook's is simulated on the workbook seen at that granularity.
    ``reach``: an amount to reach in place of the target (the chance a call is reached).
    The same model and arguments give the same result, simulated once.

    Raises:
        InputError: ``period`` is not a month or a quarter of the fiscal calendar, or see
            `simulate`.

    """
    settings = model.settings
    resolved = settings.parse_period(period)
    fiscal = settings.fiscal_start_month
    if resolved.kind == "year" or resolved != period_of(resolved.start, resolved.kind, fiscal):
        raise InputError(
            "the Monte Carlo range needs a month or a quarter",
            value=resolved.label,
            expected="a month (2026-03) or a quarter (2026-Q1)",
        )
    trials = settings.mc_trials if trials is None else trials
    seed = settings.mc_seed if seed is None else seed
    return _RANGES.of(model, (resolved, owner, trials, seed, slip, method, reach))


def _range(
    model: Model, key: tuple[Period, str, int, int, float | None, Method, float | None]
) -> MonteCarloResult:
    period, owner, trials, seed, slip, method, reach = key
    kind = model.settings.granularity
    seen = (
        model
        if period.kind == kind
        else _AT_KIND.of(model, "month" if kind == "quarter" else "quarter")
    )
    return simulate(
        seen, np.random.default_rng(seed), trials=trials, periods=[period], owner=owner,
        slip=slip, method=method, reach=reach,
    )  # fmt: skip


def _at_kind(model: Model, kind: Literal["month", "quarter"]) -> Model:
    CALIBRATION.of(model)  # learned once, handed over: it does not read the granularity
    return model.derive(settings=dataclasses.replace(model.settings, granularity=kind))


_RANGES: DerivedBy[
    tuple[Period, str, int, int, float | None, Method, float | None], MonteCarloResult
] = DerivedBy(_range)
"""`period_range` once per model and arguments (the report and the Dashboard share it)."""
_AT_KIND: DerivedBy[Literal["month", "quarter"], Model] = DerivedBy(_at_kind)
"""The model seen at another granularity, once per model, with what it shares."""


_BOOK: Derived[_Book] = Derived(
    _make_book, reads=("prospects", "stages", "snapshots", "settings", "targets")
)
LEARNED_SLIP: Derived[tuple[float, SlipSource]] = Derived(
    slip_probability, reads=("prospects", "snapshots", "settings", "granularity")
)
"""`slip_probability` of a model, once per model."""
