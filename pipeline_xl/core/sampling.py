"""The Monte Carlo kernel: each open deal wins in one period (or none) per trial, exactly.

A deal's landing law is given by its *tails*: ``tails[i, k]`` = P(deal ``i`` is won and
lands ``k`` or more periods after its base period ``base[i]``), for k = 0 .. horizon
(non-increasing in k; k = 0 is its win probability). The geometric slip of the weighted
forecast has ``tails[i, k] = p_i slip**k``; the calibrated forecast gives each deal its
own law over the horizon from base 0. A win landing at or past the horizon is in no
period.

One uniform 32-bit integer ``u`` per trial and deal decides everything: the deal wins and
lands at least k periods after its base when ``u <= t[k]`` with
``t[k] = ceil(tails[k] 2**32) - 1``, exact to 2**-32. Common levels are summed densely
(indicator matrices times amounts, float64 matrix-vector products); the rare deeper ones
are found sparsely and placed by comparing ``u`` with their thresholds.

`bernoulli_totals` is the kernel for one period alone, where each deal wins each trial
independently with its own probability (the calibrated forecast's periods: only each
period's own distribution is reported). Deals likely enough to win are drawn densely on
the same thresholds, their wins packed 8 deals to a byte and each byte read as an index
into the sums of the 256 sets of winners of its 8 deals (no float per trial and deal, no
matrix product); for the unlikely ones (below `SPARSE_BELOW`) the trials won are a
Bernoulli process drawn as geometric gaps between wins: the same law, at a cost that
grows with the wins instead of with the trials.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SPARSE_BELOW", "bernoulli_totals", "geometric_tails", "simulate_totals"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_TWO32 = 2.0**32
_MAX32 = 2**32 - 1
_DENSE_SHARE = 0.1  # see _dense_levels
_CHUNK_PAIRS = 2**19  # trial-deal pairs per chunk (measured fastest near this)
SPARSE_BELOW = 0.05  # deals less likely than this to win a trial are drawn sparsely


def geometric_tails(prob: FloatArray, slip: float, horizon: int) -> FloatArray:
    """Tails ``p slip**k`` for k = 0 .. ``horizon`` (the weighted forecast's slip law)."""
    powers = float(slip) ** np.arange(horizon + 1, dtype="float64")
    return np.asarray(prob, dtype="float64")[:, None] * powers[None, :]


def _thresholds(tails: FloatArray) -> npt.NDArray[np.int64]:
    """``ceil(tails 2**32) - 1`` per level, made non-increasing along each row (-1: never)."""
    scaled = np.ceil(np.clip(tails, 0.0, 1.0) * _TWO32).astype("int64") - 1
    return np.minimum.accumulate(np.minimum(scaled, _MAX32), axis=1)


def _dense_levels(tails: FloatArray, horizon: int) -> int:
    """How many levels (0, 1, ...) to sum densely; rarer ones are handled sparsely.

    A dense level costs a few passes over every (trial, deal) pair; a sparse win costs
    about ten times one such pass (measured), so a level is dense while more than about
    one pair in ten reaches it.
    """
    levels = 1
    while levels < horizon and float(np.mean(tails[:, levels])) > _DENSE_SHARE:
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
    """Deals that win and land exactly ``k`` periods late: ``start <= u <= start + width``."""

    k: int
    cols: int  # the first ``cols`` deals (by base period) still land inside the horizon
    start: npt.NDArray[np.uint32]
    width: npt.NDArray[np.uint32]
    amount: FloatArray  # 0 for deals that can never be at this level
    segments: list[tuple[int, int, int]]  # (base period, first deal, end deal)


def _levels(
    limits: npt.NDArray[np.int64], amount: FloatArray, bounds: list[int], horizon: int, dense: int
) -> list[_Level]:
    out = []
    for k in range(dense):
        cols = bounds[horizon - k]
        if cols == 0:
            continue
        lower, upper = limits[:cols, k + 1], limits[:cols, k]
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


def simulate_totals(
    rng: np.random.Generator,
    *,
    tails: FloatArray,
    amount: FloatArray,
    base: IntArray,
    horizon: int,
    trials: int,
    chunk: int | None = None,
) -> FloatArray:
    """Simulated win amounts per trial (rows) and horizon period (columns).

    ``tails`` has one row per deal and ``horizon + 1`` columns (module notes); ``base``
    is each deal's base period, 0 .. ``horizon - 1``. The same generator state gives the
    same numbers whatever ``chunk`` (trials done at a time; default about half a million
    trial-deal pairs, which keeps the working set in the processor's cache).
    """
    out = np.zeros((trials, horizon), dtype="float64")
    if len(amount) == 0 or horizon == 0:
        return out
    order = np.argsort(base, kind="stable")
    tails, amount, base = tails[order], amount[order], base[order]
    limits = _thresholds(tails[:, : horizon + 1])
    if not (limits[:, 0] > limits[:, horizon]).any():
        return out  # every win lands past the horizon
    n = len(amount)
    bounds = np.searchsorted(base, np.arange(horizon + 1)).tolist()
    dense = _dense_levels(tails, horizon)
    levels = _levels(limits, amount, bounds, horizon, dense)
    deep_cols = bounds[horizon - dense] if dense < horizon else 0
    deep_upto = np.maximum(limits[:deep_cols, dense], 0).astype("uint32")
    deep_any = deep_cols > 0 and bool((limits[:deep_cols, dense] >= 0).any())
    size = min(chunk or max(1, _CHUNK_PAIRS // n), trials)
    gaps = np.empty(size * n, dtype="uint32")
    hits = np.empty(size * n, dtype="float64")
    flags = np.empty(size * deep_cols, dtype=bool)
    cells = horizon + 1  # one extra column collects wins that land past the horizon
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
        if not deep_any:
            continue
        flag = flags[: m * deep_cols].reshape(m, deep_cols)
        np.less_equal(u[:, :deep_cols], deep_upto, out=flag)
        flag &= limits[None, :deep_cols, dense] >= 0
        row, col = np.divmod(np.flatnonzero(flag), deep_cols)
        beyond = limits[col, dense + 1 : horizon + 1] >= u[row, col].astype("int64")[:, None]
        steps = dense + beyond.sum(axis=1)
        land = np.minimum(base[col] + steps, horizon)
        moved = np.bincount(row * cells + land, weights=amount[col], minlength=m * cells)
        block += moved.reshape(m, cells)[:, :horizon]
    return out


def bernoulli_totals(
    rng: np.random.Generator,
    prob: FloatArray,
    amount: FloatArray,
    trials: int,
    chunk: int | None = None,
) -> FloatArray:
    """Total won per trial when deal ``i`` wins each trial independently with ``prob[i]``.

    Module notes. The same generator state gives the same numbers whatever ``chunk``.
    """
    out = np.zeros(trials, dtype="float64")
    p = np.clip(np.asarray(prob, dtype="float64"), 0.0, 1.0)
    values = np.asarray(amount, dtype="float64")
    dense = p >= SPARSE_BELOW
    if dense.any() and trials:
        limit = (np.ceil(p[dense] * _TWO32).astype("int64") - 1).clip(0, _MAX32)
        limit32 = limit.astype("uint32")
        n = len(limit32)
        sums, offsets = _subset_sums(values[dense])
        size = min(chunk or max(1, _CHUNK_PAIRS // n), trials)
        won = np.empty(size * n, dtype=bool)
        for first, u in _draws(rng, trials, n, size):
            hit = won[: u.size].reshape(u.shape)
            np.less_equal(u, limit32, out=hit)
            keys = np.packbits(hit, axis=1, bitorder="little").astype(np.intp)
            keys += offsets
            out[first : first + len(u)] = sums[keys].sum(axis=1)
    rare = np.flatnonzero((p > 0.0) & ~dense)
    if len(rare) and trials:
        deal, where = _bernoulli_process(rng, p[rare], trials)
        out += np.bincount(where, weights=values[rare][deal], minlength=trials)
    return out


def _subset_sums(amount: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Per block of 8 deals, the amount won for each of the 256 sets of winners.

    Returns the sums flattened (block ``b``, winners' bits ``k`` at ``256 b + k``, bit
    ``i`` for the block's deal ``i``) and each block's offset ``256 b``, so a trial's
    total is the sum over blocks of the sums picked by its packed win bits.
    """
    blocks = -(-len(amount) // 8)
    padded = np.zeros(blocks * 8, dtype="float64")
    padded[: len(amount)] = amount
    grid = padded.reshape(blocks, 8)
    sums = np.zeros((blocks, 256), dtype="float64")
    for bit in range(8):
        low = 1 << bit
        sums[:, low : 2 * low] = sums[:, :low] + grid[:, bit : bit + 1]
    return sums.ravel(), np.arange(blocks, dtype=np.intp) * 256


_SPREAD = 6.0  # gaps drawn at first per deal: mean wins + 6 standard deviations + 8


def _bernoulli_process(
    rng: np.random.Generator, p: FloatArray, trials: int
) -> tuple[IntArray, IntArray]:
    """The trials each deal wins, as (deal, trial) pairs: geometric gaps between wins.

    A Bernoulli(``p``) process over ``trials``: the gap to the next win is geometric.
    Gaps are drawn for every deal at once, then again for the deals whose gaps ran out
    before the last trial.
    """
    deals: list[IntArray] = []
    trials_won: list[IntArray] = []
    live = np.arange(len(p))
    start = np.full(len(p), -1, dtype="int64")  # last position drawn per deal
    while len(live):
        q = p[live]
        mean = trials * q
        need = np.ceil(mean + _SPREAD * np.sqrt(mean * (1.0 - q)) + 8.0).astype("int64")
        owner = np.repeat(np.arange(len(live)), need)
        # A gap past the last trial ends the deal's wins; capping it keeps the running
        # sum from overflowing when p is tiny (a gap of 2**63 - 1 at p = 1e-300).
        gaps = np.minimum(rng.geometric(np.repeat(q, need)), trials + 1)
        running = np.cumsum(gaps.astype("int64"))
        ends = np.cumsum(need)
        before = np.repeat(np.concatenate([[0], running[ends[:-1] - 1]]), need)
        position = start[live][owner] + running - before
        hit = position < trials
        deals.append(live[owner[hit]])
        trials_won.append(position[hit])
        last = position[ends - 1]
        short = last < trials - 1  # the gaps ran out before the last trial: draw on
        start[live[short]] = last[short]
        live = live[short]
    return np.concatenate(deals), np.concatenate(trials_won)
