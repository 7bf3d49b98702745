"""A seeded sample company: the raw workbook tables of a realistic B2B sales team.

`generate` simulates a company's sales history with one seeded
``numpy.random.Generator`` and returns the six input sheets exactly as a user keeps
them in the workbook (user-facing headers, Excel-like values: float numbers,
``datetime64`` dates, text, blanks as NaN/None). Demos, tests and benchmarks use it.

How the history is simulated (every step vectorised over deals):

* Prospects are created on weekdays over ``months`` months before ``as_of``, with a
  seasonal pattern (quiet summer and December) and mild growth. The first `WARMUP_MONTHS`
  months (at most half the history) are the run-up: the deals they create close during
  the months shown, and targets start after them, so the first target month already
  sees a pipeline in steady state.
* The company records opportunities, not raw leads: its Stages table (`SAMPLE_STAGES`)
  converts 70% of Leads, 75% of Qualified deals, 80% of Proposals and 85% of
  Negotiations (so P(win | Lead) is about 36%, README, Definitions). Every deal
  starts at the first open stage; at each stage it converts with its rep's rate
  (scattered around the table on the logit scale, so rates learned from history differ a
  bit from the table) or is lost.
* Time in stage k is log-normal with mean ``days_to_close[k] - days_to_close[k + 1]``
  (the last open stage: its own days to close); a few dying deals linger 3 to 8 times
  longer before they are lost.
* Quarter-end push: about half of the wins due in the first three weeks of a quarter
  that are in the last open stage a few days before it starts are closed in the last
  ten days of the quarter before.
* Amounts are log-normal (median about 20k, rounded to 10); some are revised on entering
  the proposal stage and discounted on entering the last open stage.
* The rep estimates the close date on entering each stage, optimistically most of the
  time (about half of the won deals close after the month first expected); once a
  still-open deal's expected close has passed, the rep usually pushes it out at the next
  month-end review.
* Snapshots are a change log taken at every month end and at ``as_of``: a deal gets a
  row when it is new or when its stage, status, amount, expected close or probability
  changed, so the pipeline at any snapshot date is the last row of each deal up to it.
  The Prospects sheet is the state at the last snapshot, ``as_of``.
* Forecast categories: Negotiation deals are mostly Commit, Proposals mostly Best case
  or Pipeline, earlier deals Pipeline; a few deals, and half of the dying ones, are
  Omitted.
* Activities hold one row per stage entry (the activity that brings a deal into the
  stage, the order on winning) and, per rep and month, one total of cold calls that
  belong to no prospect.
* Targets per rep and month, as a sales director sets them: the team's smoothed won
  revenue with the quarter-end pattern the history shows, raised by a small ambition and
  split over the reps by their share of the wins, from the first month after the run-up
  to six months past ``as_of``. The month of ``as_of`` is a stretch month: its target is
  a fifth above the larger of its plan and what the team really wins in it (the
  simulation knows), so the team is behind and the backward plan has work to show.
* Forecast calls: each rep's and the manager's weekly calls per month, some reps
  optimistic, some sandbagging (`pipeline_xl.core.sample_calls`, its own generator).
* ``messy`` plants typical junk cells; with `ONE_OF_EACH` (what the demo uses) the
  data-issues sheet shows each kind of problem once. Tests, benchmarks and a new
  workbook's sample stay clean by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.contract import CALLS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Stage, Stages
from pipeline_xl.core.sample_calls import sample_calls
from pipeline_xl.core.sample_text import (
    JUNK,
    NEVER,
    company_names,
    dates_of,
    day_number,
    deal_ids,
    frame,
    make_messy,
    month_labels,
    month_of,
    month_start,
    person_names,
    rep_names,
    settings_table,
    stage_names,
    stages_table,
    status_names,
    to_weekday,
    weekday,
)

__all__ = ["ONE_OF_EACH", "SAMPLE_STAGES", "WARMUP_MONTHS", "SampleData", "generate"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]

SAMPLE_STAGES = Stages(
    (
        Stage("Lead", "Call", 0.357, 0.70, 95.0),
        Stage("Qualified", "Meeting", 0.51, 0.75, 70.0),
        Stage("Proposal", "Offer", 0.68, 0.80, 42.0),
        Stage("Negotiation", "Negotiation", 0.85, 0.85, 18.0),
        Stage("Won", "Order", 1.0, float("nan"), 0.0, "won"),
        Stage("Lost", "", 0.0, float("nan"), 0.0, "lost"),
    )
)
"""The sample company's sales process (its Stages sheet)."""
WARMUP_MONTHS = 6
ONE_OF_EACH = len(JUNK)
"""``messy`` for one junk cell of each kind: what the demo plants."""

_SOURCES = ("Website", "Referral", "Outbound", "Event", "Partner")
_SOURCE_SHARE = (0.32, 0.14, 0.30, 0.10, 0.14)
_SOURCE_AMOUNT = (-0.15, 0.10, -0.05, 0.0, 0.20)  # log-amount shift by source
_SOURCE_LEAD_CONVERSION = (-0.1, 0.6, -0.35, 0.05, 0.35)  # logit shift at the first stage
# Relative number of new prospects by calendar month (quiet August and December).
_SEASON = (1.10, 1.05, 1.10, 1.00, 1.00, 0.95, 0.80, 0.65, 1.10, 1.15, 1.05, 0.70)
_MEDIAN_AMOUNT = 20_000.0
_AMOUNT_SIGMA = 0.6
_STAGE_SIGMA = 0.5  # log-normal spread of the time spent in a stage
_OVERRIDE_SHARE = 0.10  # share of deals whose rep overrides the stage probability
_PUSH_PROB = 0.8  # chance that an overdue open deal gets a new expected close
_QUARTER_PUSH = 0.5  # share of early-quarter wins pulled into the quarter before
_STRETCH = 1.2  # the as-of month's target over its plan or what it really brings
# Log-normal (mean, sd) of estimated / true time to close: reps are optimistic about
# three times out of four.
_ESTIMATE_BIAS = (-0.25, 0.4)
_MAX_REPS = 1000
_CALLS_STREAM = 15  # the forecast calls' own generator: seeded (seed, this)


@dataclass(frozen=True, eq=False)
class SampleData:
    """The raw tables of a generated sample company, keyed by sheet name.

    ``tables`` holds "Prospects", "Stages", "Targets", "Activities", "Snapshots",
    "Settings" and "Forecast calls" as a user keeps them in the workbook (not yet
    validated).
    """

    tables: dict[str, pd.DataFrame]
    company: str
    as_of: date
    seed: int


@dataclass(frozen=True)
class _Context:
    """What every step of the simulation shares; day numbers count from 1970-01-01."""

    stages: Stages
    as_of_day: int
    first_month: int  # first history month, counted from 1970-01
    shown_month: int  # first target month (after the run-up)
    fiscal_start: int
    ids: ObjArray
    rep_names: ObjArray

    @property
    def as_of_month(self) -> int:
        """The month of as_of, counted from 1970-01."""
        return int(month_of(np.array([self.as_of_day], dtype=np.int64))[0])


@dataclass(frozen=True)
class _Deals:
    """The simulated life of every deal; day numbers count from 1970-01-01."""

    created: IntArray
    rep: IntArray
    source: IntArray
    final: IntArray  # furthest open stage reached before closing; n_open = won
    entry: IntArray  # (n, n_open + 1): day the deal enters stage k (Won last); NEVER if not
    close: IntArray  # day the deal is won or lost (may lie after as_of)
    amount: FloatArray  # (n, n_open): amount while in open stage k
    override: FloatArray  # (n, n_open): probability override while in stage k, NaN if none
    estimate: IntArray  # (n, n_open): expected close set on entering stage k
    dying: BoolArray  # lost deals that lingered

    @property
    def won(self) -> BoolArray:
        """Whether the deal ends up won (maybe after as_of)."""
        won: BoolArray = self.final == self.entry.shape[1] - 1
        return won


@dataclass(frozen=True)
class _State:
    """Each deal's state at the last snapshot (as_of)."""

    code: IntArray  # open stage index, n_open for won, -1 for lost
    amount: FloatArray
    expected: IntArray
    probability: FloatArray


def generate(
    n_prospects: int = 1000,
    *,
    as_of: date,
    seed: int = 7,
    months: int = 18,
    reps: int | None = None,
    company: str = "Acme Components",
    currency: str = "EUR",
    fiscal_start_month: int = 1,
    messy: int = 0,
) -> SampleData:
    """Generate a realistic sample company's workbook tables, deterministically.

    Args:
        n_prospects: number of prospects (deals) created in the history window.
        as_of: the "today" of the sample; nothing is closed after it.
        seed: seed of the one ``numpy.random.Generator`` every draw comes from.
        months: length of the history window before ``as_of``, in months (its first
            `WARMUP_MONTHS`, at most half of it, are the run-up before the targets).
        reps: number of sales reps; default ``max(4, n_prospects / 150)`` capped at 40.
        company: the selling company's name.
        currency: currency code written to the Settings sheet.
        fiscal_start_month: first month of the fiscal year (Settings sheet).
        messy: number of prospect cells to replace with typical junk (0, the default:
            clean; `ONE_OF_EACH`: one cell of each kind, as the demo plants).

    Returns:
        The raw tables, keyed by sheet name, plus ``company``, ``as_of`` and ``seed``.

    Raises:
        InputError: an argument is out of range.

    """
    _check(n_prospects, months, reps, fiscal_start_month, messy)
    n_reps = reps if reps is not None else min(40, max(4, round(n_prospects / 150)))
    rng = np.random.default_rng(seed)
    stages = SAMPLE_STAGES
    as_of_day = day_number(as_of)
    as_of_month = int(month_of(np.array([as_of_day], dtype=np.int64))[0])
    ctx = _Context(
        stages=stages,
        as_of_day=as_of_day,
        first_month=as_of_month - months,
        shown_month=as_of_month - months + min(WARMUP_MONTHS, months // 2),
        fiscal_start=fiscal_start_month,
        ids=deal_ids(n_prospects),
        rep_names=rep_names(rng, n_reps),
    )
    deals = _simulate(rng, ctx, rng.gamma(6.0, 1.0, n_reps))
    log, state = _snapshot_log(rng, ctx, deals)
    prospects = _prospects(rng, ctx, deals, state)
    activities = _activities(rng, ctx, deals)
    targets = _targets(rng, ctx, deals)
    if messy:
        prospects = make_messy(rng, prospects, messy, currency)
    tables = {
        "Prospects": frame(prospects),
        "Stages": stages_table(stages),
        "Targets": targets,
        "Activities": activities,
        "Snapshots": log,
        "Settings": settings_table(as_of, currency, fiscal_start_month),
        CALLS.sheet: _calls(seed, ctx, deals),
    }
    return SampleData(tables=tables, company=company, as_of=as_of, seed=seed)


def _calls(seed: int, ctx: _Context, deals: _Deals) -> pd.DataFrame:
    """The Forecast calls sheet, drawn from its own generator (the other sheets stay put)."""
    rng = np.random.default_rng([seed, _CALLS_STREAM])
    manager = next(n for n in person_names(rng, 50) if n not in set(ctx.rep_names.tolist()))
    won = deals.won
    return sample_calls(
        rng, rep_names=ctx.rep_names, manager=str(manager), won_rep=deals.rep[won],
        won_day=deals.close[won], won_amount=deals.amount[won, -1],
        first_month=ctx.shown_month, as_of_day=ctx.as_of_day, fiscal_start=ctx.fiscal_start,
    )  # fmt: skip


def _check(n: int, months: int, reps: int | None, fiscal_start: int, messy: int) -> None:
    if n < 1:
        raise InputError("too few prospects", value=n, expected="at least 1")
    if months < 1:
        raise InputError("history too short", value=months, expected="at least 1 month")
    if reps is not None and not 1 <= reps <= _MAX_REPS:
        raise InputError("number of reps out of range", value=reps, expected="1 to 1000")
    if not 1 <= fiscal_start <= 12:
        raise InputError(
            "fiscal-year start month out of range", value=fiscal_start, expected="1 to 12"
        )
    if messy < 0:
        raise InputError("negative number of messy cells", value=messy, expected="0 or more")


def _snapshot_days(ctx: _Context) -> IntArray:
    """Every month end from the first history month before ``as_of``, then ``as_of``."""
    months = np.arange(ctx.first_month + 1, ctx.as_of_month + 1, dtype=np.int64)
    ends = month_start(months) - 1
    ends = ends[ends < ctx.as_of_day]
    return np.append(ends, ctx.as_of_day).astype(np.int64)


# --- the simulation ---------------------------------------------------------------------


def _created_days(rng: np.random.Generator, n: int, first_month: int, as_of_day: int) -> IntArray:
    """Creation day of each prospect: weekdays only, seasonal, slowly growing."""
    first_day = int(month_start(np.array([first_month], dtype=np.int64))[0])
    days = np.arange(first_day, as_of_day + 1, dtype=np.int64)
    days = days[weekday(days) < 5]
    if days.size == 0:  # a window of one weekend: create on as_of itself
        days = np.array([as_of_day], dtype=np.int64)
    season = np.array(_SEASON)[month_of(days) % 12]
    growth = 1.0 + 0.15 * (days - days[0]) / max(1, int(days[-1] - days[0]))
    weight = season * growth
    return np.sort(rng.choice(days, size=n, p=weight / weight.sum()))


def _logit(p: FloatArray) -> FloatArray:
    return np.log(p / (1.0 - p))


def _simulate(rng: np.random.Generator, ctx: _Context, rep_volume: FloatArray) -> _Deals:
    """Draw every deal's path through the stages, its timing and amounts."""
    stages, n = ctx.stages, ctx.ids.size
    n_open = stages.n_open
    rows = np.arange(n)
    created = _created_days(rng, n, ctx.first_month, ctx.as_of_day)
    rep = rng.choice(rep_volume.size, size=n, p=rep_volume / rep_volume.sum()).astype(np.int64)
    source = rng.choice(len(_SOURCES), size=n, p=np.array(_SOURCE_SHARE)).astype(np.int64)

    # Conversion: per-rep skill plus per-rep-and-stage noise around the table (logit scale).
    table = _logit(np.clip(np.array(stages.conversions, dtype=np.float64), 0.01, 0.99))
    skill = rng.normal(0.0, 0.3, rep_volume.size)[:, None]
    rep_logit = table[None, :] + skill + rng.normal(0.0, 0.2, (rep_volume.size, n_open))
    deal_logit = rep_logit[rep].copy()
    deal_logit[:, 0] += np.array(_SOURCE_LEAD_CONVERSION)[source] - 0.1
    converts = rng.random((n, n_open)) < 1.0 / (1.0 + np.exp(-deal_logit))
    final = np.where(converts.all(axis=1), n_open, np.argmin(converts, axis=1)).astype(np.int64)

    # Time in stage k: log-normal around the gap between consecutive days-to-close.
    to_close = np.array([s.days_to_close for s in stages.open], dtype=np.float64)
    mean_days = np.maximum(3.0, to_close - np.append(to_close[1:], 0.0))
    pace = np.exp(rng.normal(-0.045, 0.3, n))[:, None]  # slow deals are slow everywhere
    noise = rng.normal(-(_STAGE_SIGMA**2) / 2, _STAGE_SIGMA, (n, n_open))
    duration = mean_days[None, :] * pace * np.exp(noise)
    lost = final < n_open
    dying = lost & (rng.random(n) < 0.06)
    linger = np.where(dying, rng.uniform(3.0, 8.0, n), 1.0)
    duration[rows[lost], final[lost]] *= linger[lost]
    ends = created[:, None] + np.cumsum(np.maximum(1, np.rint(duration)), axis=1).astype(np.int64)
    close = to_weekday(ends[rows, np.minimum(final, n_open - 1)])
    entry = np.empty((n, n_open + 1), dtype=np.int64)
    entry[:, 0] = created
    entry[:, 1:] = to_weekday(ends)
    entry[:, 1:n_open] = np.minimum(entry[:, 1:n_open], close[:, None])
    won = final == n_open
    close = _quarter_push(rng, ctx, close, won, entry[:, n_open - 1])
    entry[won, n_open] = close[won]
    entry[np.arange(n_open + 1)[None, :] > final[:, None]] = NEVER

    return _Deals(
        created=created,
        rep=rep,
        source=source,
        final=final,
        entry=entry,
        close=close,
        amount=_amounts(rng, stages, ctx.rep_names.size, rep, source),
        override=_overrides(rng, stages, n),
        estimate=_estimates(rng, entry[:, :n_open], close),
        dying=dying,
    )


def _quarter_push(
    rng: np.random.Generator, ctx: _Context, close: IntArray, won: BoolArray, ready: IntArray
) -> IntArray:
    """Pull some wins due early in a quarter into the last ten days of the quarter before.

    Only wins due in the first three weeks of a quarter's first month, already in the last
    open stage a few days before the quarter ends, are pulled (half of them).
    """
    month = month_of(close)
    start = month_start(month)
    first_month = (month - (ctx.fiscal_start - 1)) % 3 == 0
    quarter_end = start - 1
    day = quarter_end - rng.integers(0, 10, close.size)
    day = day - np.where(weekday(day) == 5, 1, np.where(weekday(day) == 6, 2, 0))
    pull = won & first_month & (close - start < 21) & (ready <= quarter_end - 3)
    pull &= rng.random(close.size) < _QUARTER_PUSH
    return np.where(pull, np.maximum(day, ready + 1), close)


def _amounts(
    rng: np.random.Generator, stages: Stages, n_reps: int, rep: IntArray, source: IntArray
) -> FloatArray:
    """Amount while in each open stage: log-normal, revised at proposal, discounted last."""
    n, n_open = rep.size, stages.n_open
    rep_shift = rng.normal(0.0, 0.15, n_reps)[rep]
    mu = np.log(_MEDIAN_AMOUNT) + np.array(_SOURCE_AMOUNT)[source] + rep_shift
    first = np.maximum(500.0, np.round(np.exp(rng.normal(mu, _AMOUNT_SIGMA)), -1))
    amount = np.empty((n, n_open), dtype=np.float64)
    amount[:, 0] = first
    revise = rng.random((n, n_open)) < 0.35
    factor = np.exp(rng.normal(0.03, 0.15, (n, n_open)))
    discount = rng.random((n, n_open)) < 0.4
    off = rng.uniform(0.85, 0.99, (n, n_open))
    for k in range(1, n_open):
        prev = amount[:, k - 1]
        if k == n_open - 1:
            changed = np.where(discount[:, k], prev * off[:, k], prev)
        elif k == n_open - 2:
            changed = np.where(revise[:, k], prev * factor[:, k], prev)
        else:
            changed = prev
        amount[:, k] = np.maximum(500.0, np.round(changed, -1))
    return amount


def _overrides(rng: np.random.Generator, stages: Stages, n: int) -> FloatArray:
    """Per-stage probability overrides: about 10% of deals, rounded to 5 points."""
    default = np.array([s.probability for s in stages.open], dtype=np.float64)
    flag = rng.random((n, stages.n_open)) < _OVERRIDE_SHARE
    value = default[None, :] + rng.normal(0.0, 0.15, (n, stages.n_open))
    value = np.clip(np.round(value * 20.0) / 20.0, 0.05, 0.95)
    return np.where(flag, value, np.nan)


def _estimate(rng: np.random.Generator, start: IntArray, close: IntArray) -> IntArray:
    """The rep's expected close from day ``start``: usually a little before the truth."""
    factor = np.exp(rng.normal(*_ESTIMATE_BIAS, start.shape))
    ahead = np.clip(np.rint((close - start) * factor), 7, 180).astype(np.int64)
    return np.where(start >= NEVER, NEVER, to_weekday(start + ahead))


def _estimates(rng: np.random.Generator, entry: IntArray, close: IntArray) -> IntArray:
    return _estimate(rng, entry, np.broadcast_to(close[:, None], entry.shape))


def _snapshot_log(
    rng: np.random.Generator, ctx: _Context, deals: _Deals
) -> tuple[pd.DataFrame, _State]:
    """Replay the history month end by month end and log what changed.

    Returns the Snapshots sheet (the change log) and every deal's state at the last
    snapshot, which is as_of.
    """
    stages = ctx.stages
    n, n_open = deals.created.size, stages.n_open
    rows = np.arange(n)
    expected = np.full(n, NEVER, dtype=np.int64)
    last_stage = np.full(n, -1, dtype=np.int64)
    existed = np.zeros(n, dtype=bool)
    code = np.zeros(n, dtype=np.int64)
    amount = np.zeros(n, dtype=np.float64)
    probability = np.full(n, np.nan)
    logged_expected = expected
    parts: list[tuple[IntArray, ...]] = []
    float_parts: list[tuple[FloatArray, FloatArray]] = []
    for snap in _snapshot_days(ctx).tolist():
        exists = deals.created <= snap
        stage = (deals.entry[:, 1:n_open] <= snap).sum(axis=1).astype(np.int64)
        moved = exists & (stage != last_stage)
        expected = np.where(moved, deals.estimate[rows, stage], expected)
        is_open = exists & (deals.close > snap)
        # Reps review overdue deals at month ends (not at a mid-month as_of).
        review = month_of(np.array([snap, snap + 1], dtype=np.int64))
        overdue = is_open & (expected < snap) & (rng.random(n) < _PUSH_PROB)
        overdue &= bool(review[0] != review[1])
        pushed = _estimate(rng, np.full(n, snap, dtype=np.int64), deals.close)
        expected = np.where(overdue, pushed, expected)
        last_stage = np.where(exists, stage, last_stage)

        new_code = np.where(is_open, stage, np.where(deals.won, n_open, -1))
        new_amount = deals.amount[rows, stage]
        new_prob = np.where(is_open, deals.override[rows, stage], np.nan)
        same_prob = (new_prob == probability) | (np.isnan(new_prob) & np.isnan(probability))
        changed = exists & (
            ~existed
            | (new_code != code)
            | (new_amount != amount)
            | (expected != logged_expected)
            | ~same_prob
        )
        idx = np.flatnonzero(changed).astype(np.int64)
        parts.append((np.full(idx.size, snap, dtype=np.int64), idx, new_code[idx], expected[idx]))
        float_parts.append((new_amount[idx], new_prob[idx]))
        existed, code, amount, probability = exists, new_code, new_amount, new_prob
        logged_expected = expected
    deal = np.concatenate([p[1] for p in parts])
    codes = np.concatenate([p[2] for p in parts])
    log = frame(
        {
            "Snapshot date": dates_of(np.concatenate([p[0] for p in parts])),
            "ID": ctx.ids[deal],
            "Owner": ctx.rep_names[deals.rep[deal]],
            "Stage": stage_names(stages)[codes],
            "Status": status_names(codes, n_open),
            "Amount": np.concatenate([f[0] for f in float_parts]),
            "Expected close": dates_of(np.concatenate([p[3] for p in parts])),
            "Probability": np.concatenate([f[1] for f in float_parts]),
        }
    )
    return log, _State(code=code, amount=amount, expected=expected, probability=probability)


# --- the tables -------------------------------------------------------------------------


def _categories(
    rng: np.random.Generator, code: IntArray, dying: BoolArray, n_open: int
) -> ObjArray:
    """Forecast categories of the open deals: confident late, Pipeline early, a few Omitted."""
    n = code.size
    is_open = (code >= 0) & (code < n_open)
    draw = rng.random(n)
    last = code == n_open - 1
    before = code == n_open - 2
    commit = np.where(last, 0.55, np.where(before, 0.10, 0.0))
    best = commit + np.where(last, 0.30, np.where(before, 0.35, 0.0))
    omitted = np.where(dying, 0.5, 0.04)
    category = np.full(n, "Pipeline", dtype=object)
    category[draw < best] = "Best case"
    category[draw < commit] = "Commit"
    category[draw > 1.0 - omitted] = "Omitted"
    category[~is_open] = None
    return category


def _prospects(
    rng: np.random.Generator, ctx: _Context, deals: _Deals, state: _State
) -> dict[str, npt.NDArray[np.generic]]:
    """The Prospects sheet as columns, in the state of the last snapshot (as_of)."""
    stages, as_of_day = ctx.stages, ctx.as_of_day
    n, n_open = deals.created.size, stages.n_open
    rows = np.arange(n)
    code = state.code
    is_open = (code >= 0) & (code < n_open)
    names = stage_names(stages)
    category = _categories(rng, code, deals.dying, n_open)

    # Last activity: the latest stage entry, or a recent follow-up for most open deals.
    last_entry = deals.entry[rows, np.clip(code, 0, n_open - 1)]
    followed = rng.random(n) < 0.7
    recent = as_of_day - np.rint(rng.exponential(8.0, n)).astype(np.int64)
    recent = recent - np.where(weekday(recent) == 5, 1, np.where(weekday(recent) == 6, 2, 0))
    activity = np.where(followed & ~deals.dying, np.maximum(last_entry, recent), last_entry)
    closed = ~is_open
    activity = np.where(closed, deals.close, activity)
    closed_day = np.where(closed, deals.close, NEVER)

    reached = np.full(n, None, dtype=object)
    lost = code == -1
    reached[lost] = names[deals.final[lost]]
    return {
        "ID": ctx.ids,
        "Name": person_names(rng, n),
        "Company": company_names(rng, n),
        "Owner": ctx.rep_names[deals.rep],
        "Source": np.array(_SOURCES, dtype=object)[deals.source],
        "Stage": names[code],
        "Amount": state.amount.copy(),
        "Expected close": dates_of(state.expected),
        "Probability": state.probability.copy(),
        "Category": category,
        "Status": status_names(code, n_open),
        "Created": dates_of(deals.created),
        "Closed": dates_of(closed_day),
        "Last activity": dates_of(activity),
        "Stage reached": reached,
    }


def _activities(rng: np.random.Generator, ctx: _Context, deals: _Deals) -> pd.DataFrame:
    """One row per stage entry up to as_of, plus monthly totals of cold calls per rep."""
    stages, as_of_day, ids, rep_names = ctx.stages, ctx.as_of_day, ctx.ids, ctx.rep_names
    done = deals.entry <= as_of_day
    deal_idx, stage_idx = np.nonzero(done)
    kinds = np.array([*stages.activities, stages.won.activity], dtype=object)
    day = deals.entry[deal_idx, stage_idx]

    # Cold calls: one aggregated row per rep and month, on the month's last weekday.
    months = np.arange(ctx.first_month, ctx.as_of_month + 1, dtype=np.int64)
    ends = month_start(months + 1) - 1
    ends = np.minimum(
        ends - np.where(weekday(ends) == 5, 1, 0) - (weekday(ends) == 6) * 2, as_of_day
    )
    n_reps = rep_names.size
    call_rep = np.repeat(np.arange(n_reps), months.size)
    call_day = np.tile(ends, n_reps)
    calls = 2 + rng.poisson(rng.uniform(15.0, 45.0, n_reps)[call_rep])

    dates = np.concatenate([day, call_day])
    order = np.argsort(dates, kind="stable")
    n_calls = call_day.size
    return frame(
        {
            "Date": dates_of(dates[order]),
            "Owner": np.concatenate([rep_names[deals.rep[deal_idx]], rep_names[call_rep]])[order],
            "Activity": np.concatenate(
                [kinds[stage_idx], np.full(n_calls, stages.open[0].activity, dtype=object)]
            )[order],
            "Prospect ID": np.concatenate([ids[deal_idx], np.full(n_calls, None, dtype=object)])[
                order
            ],
            "Count": np.concatenate([np.ones(day.size), calls.astype(np.float64)])[order],
        }
    )


def _targets(rng: np.random.Generator, ctx: _Context, deals: _Deals) -> pd.DataFrame:
    """Monthly revenue and deal targets per rep, from the first shown month to as_of + 6 months.

    The team's plan for a month is its won revenue smoothed over five months (centred,
    shorter at the ends) times the quarter-end pattern of the history (won over smoothed,
    by the month's position in its quarter), times a small ambition and noise; months
    from as_of on continue the recent level with slight growth. The as_of month is a
    stretch month: `_STRETCH` times the larger of its plan and what the team really wins
    in it (module notes). Each rep gets a share that mixes their won revenue and an equal
    split.
    """
    rep_names = ctx.rep_names
    n_reps = rep_names.size
    n_hist = ctx.as_of_month - ctx.first_month  # full months before the as_of month
    n_months = n_hist + 7
    won = np.flatnonzero(deals.won & (deals.close <= ctx.as_of_day))
    month = month_of(deals.close[won]) - ctx.first_month
    full = (month >= 0) & (month < n_hist)
    won_amount = deals.amount[won, -1]
    rep_won = np.bincount(
        deals.rep[won][full] * n_hist + month[full],
        weights=won_amount[full],
        minlength=n_reps * n_hist,
    ).reshape(n_reps, n_hist)
    team = rep_won.sum(axis=0)
    months = np.arange(n_months, dtype=np.int64) + ctx.first_month
    position = (months - (ctx.fiscal_start - 1)) % 3
    if team.sum() > 0:
        window = np.ones(5)
        sums = np.convolve(np.pad(team, 2), window, mode="valid")
        counts = np.convolve(np.pad(np.ones(n_hist), 2), window, mode="valid")
        level = sums / counts
        steady = level[min(n_hist - 1, n_hist // 3) :]
        ratio = np.divide(team, level, out=np.ones(n_hist), where=level > 0)
        pattern = np.array(
            [ratio[position[:n_hist] == q].mean() if (position[:n_hist] == q).any() else 1.0
             for q in range(3)]
        )  # fmt: skip
        pattern = pattern / pattern.mean()
        recent = float(steady[-6:].mean())
    else:  # no win yet: what the pipeline should bring in on average
        per_month = deals.created.size / max(1, n_hist + 1)
        recent = per_month * float(deals.amount[:, -1].mean()) * 0.3
        level = np.full(n_hist, recent)
        pattern = np.ones(3)
    ahead = recent * (1.0 + 0.01 * np.arange(1, 8))
    ambition = rng.uniform(1.0, 1.06)
    plan = np.concatenate([level, ahead]) * pattern[position] * ambition
    plan *= np.exp(rng.normal(0.0, 0.05, n_months))
    plan[n_hist] = _STRETCH * max(plan[n_hist], _month_total(ctx, deals))

    rep_total = rep_won.sum(axis=1)
    share = np.full(n_reps, 1.0 / n_reps)
    if rep_total.sum() > 0:
        share = 0.3 * share + 0.7 * rep_total / rep_total.sum()
    noise = np.exp(rng.normal(0.0, 0.05, (n_reps, n_months)))
    revenue = np.round(plan[None, :] * share[:, None] * noise, -2)
    average = float(won_amount.mean()) if won.size else _MEDIAN_AMOUNT
    shown = slice(ctx.shown_month - ctx.first_month, None)
    revenue = revenue[:, shown]
    labels = np.array(month_labels(months[shown]), dtype=object)
    return frame(
        {
            "Period": np.repeat(labels, n_reps),
            "Owner": np.tile(rep_names, labels.size),
            "Revenue target": revenue.T.ravel(),
            "Deals target": np.maximum(1.0, np.ceil(revenue.T.ravel() / average)),
        }
    )


def _month_total(ctx: _Context, deals: _Deals) -> float:
    """What the team really wins in the as_of month, after as_of included (the simulation's)."""
    first_day = int(month_start(np.array([ctx.as_of_month], dtype=np.int64))[0])
    next_first = int(month_start(np.array([ctx.as_of_month + 1], dtype=np.int64))[0])
    won = deals.won & (deals.close >= first_day) & (deals.close < next_first)
    return float(deals.amount[won, -1].sum())
