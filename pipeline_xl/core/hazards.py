"""Daily hazards of winning and losing on a clock axis, with a quarter-end season.

The estimator behind `pipeline_xl.core.calibration`: discrete-time competing risks
(Kaplan-Meier / Aalen-Johansen on whole days). An observation is at risk at every clock
value from its first to its last and then ends: won, lost, or still open (censored). The
daily hazard of an event is events / deals at risk, pooled over bins of `BIN_DAYS` clock
days, per stratum; a seasonal factor multiplies it by the position of the calendar day's
month in its quarter (first, second, third) and by band (clock below or from `YOUNG_DAYS`),
fitted with the base hazards as ``h(x, day) = h0(x) g(position, band)`` by alternating
Poisson estimates, the factors averaging 1 over the exposure in each band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "BIN_DAYS",
    "YOUNG_DAYS",
    "HazardLaw",
    "day_numbers",
    "eventual",
    "fit_hazards",
    "quarter_position",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BIN_DAYS = 7
YOUNG_DAYS = 30
_ITERATIONS = 8
_POSITIONS = 3
_EPOCH = np.datetime64("1970-01-01", "D")
_NS = "datetime64[ns]"


def day_numbers(values: npt.ArrayLike) -> IntArray:
    """Day numbers since 1970-01-01 (NaT as the smallest int64)."""
    array = np.asarray(values, dtype=_NS).astype("datetime64[D]")
    return (array - _EPOCH).astype("int64")


def quarter_position(days: IntArray, shift: int = 0) -> IntArray:
    """0, 1 or 2: the position of each day's month in its quarter (fiscal: ``shift`` months)."""
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype("int64")
    return (months - shift) % _POSITIONS


@dataclass(frozen=True)
class HazardLaw:
    """Daily hazards of winning (and losing) on a clock axis, per stratum, with a calendar factor.

    ``win[s, b]`` / ``loss[s, b]``: daily hazard in clock bin ``b`` (clock values
    ``low + b * BIN_DAYS`` onwards) of stratum ``s``; ``win_season[band, position]``
    multiplies it (band 0: clock below ``young``). ``observations`` and ``wins`` count
    what each stratum was learned from.
    """

    low: int
    high: int
    young: int
    shift: int
    win: FloatArray
    loss: FloatArray
    win_season: FloatArray
    loss_season: FloatArray
    observations: IntArray
    wins: IntArray

    def hazards(
        self, stratum: IntArray, clock: IntArray, position: int
    ) -> tuple[FloatArray, FloatArray]:
        """Daily win and loss hazards at ``clock`` on a day of quarter ``position``, per deal."""
        clipped = np.clip(clock, self.low, self.high)
        bins = (clipped - self.low) // BIN_DAYS
        band = (clipped >= self.young).astype("int64")
        win = self.win[stratum, bins] * self.win_season[band, position]
        loss = self.loss[stratum, bins] * self.loss_season[band, position]
        beyond = clock > self.high  # past the last clock observed: nothing more is known
        return np.where(beyond, 0.0, np.clip(win, 0.0, 1.0)), np.clip(loss, 0.0, 1.0)


def fit_hazards(
    *,
    stratum: IntArray,
    anchor: IntArray,
    first: IntArray,
    last: IntArray,
    event: IntArray,
    strata: int,
    low: int,
    high: int,
    young: int = YOUNG_DAYS,
    shift: int = 0,
) -> HazardLaw:
    """Fit a `HazardLaw` from observations on a clock axis.

    Observation ``i`` (of ``stratum[i]``) is at risk at clock values ``first[i]`` ..
    ``last[i]`` (calendar day = ``anchor[i]`` + clock) and ends at ``last[i]`` with
    ``event[i]``: 1 won, 2 lost, 0 still open (censored). Clock values outside
    ``low .. high`` are clipped to it. Quarters start ``shift`` months after January,
    April, July and October (a fiscal year's). The seasonal factors are normalised to an
    exposure-weighted mean of 1 in each band.
    """
    first = np.clip(first, low, high)
    last = np.clip(last, low, high)
    keep = last >= first
    stratum, anchor, first, last, event = (
        stratum[keep], anchor[keep], first[keep], last[keep], event[keep],
    )  # fmt: skip
    width = high - low + 1
    n_bins = (width + BIN_DAYS - 1) // BIN_DAYS
    cells = 2 * _POSITIONS
    exposure = _exposure(
        stratum, anchor + low, first - low, last - low,
        strata=strata, width=width, young=young - low, shift=shift,
    )  # fmt: skip
    exposure = exposure.reshape(strata, width, cells)
    exposure = np.add.reduceat(exposure, np.arange(0, width, BIN_DAYS), axis=1)
    ends = last - low
    ends_cell = _POSITIONS * (last >= young) + quarter_position(anchor + last, shift)
    index = (stratum * n_bins + ends // BIN_DAYS) * cells + ends_cell
    size = strata * n_bins * cells
    won = np.bincount(index[event == 1], minlength=size).reshape(strata, n_bins, cells)
    lost = np.bincount(index[event == 2], minlength=size).reshape(strata, n_bins, cells)
    win, win_season = _alternate(won.astype("float64"), exposure)
    loss, loss_season = _alternate(lost.astype("float64"), exposure)
    return HazardLaw(
        low=low,
        high=high,
        young=young,
        shift=shift,
        win=win,
        loss=loss,
        win_season=win_season.reshape(2, _POSITIONS),
        loss_season=loss_season.reshape(2, _POSITIONS),
        observations=np.bincount(stratum, minlength=strata).astype("int64"),
        wins=np.bincount(stratum[event == 1], minlength=strata).astype("int64"),
    )


def _exposure(
    stratum: IntArray, anchor: IntArray, lo: IntArray, hi: IntArray,
    *, strata: int, width: int, young: int, shift: int,
) -> FloatArray:  # fmt: skip
    """Deal-days at risk per (stratum, clock offset, cell), from difference arrays.

    ``anchor`` is the calendar day of offset 0. Observations are grouped by (stratum,
    anchor day): each group adds +1 at its first
    clock offset and -1 after its last, a running sum gives the deals at risk at each
    offset, and each offset's calendar day gives its cell (band, position in quarter).
    """
    cells = 2 * _POSITIONS
    out = np.zeros(strata * width * cells, dtype="float64")
    if not len(stratum):
        return out
    key = stratum * (2**33) + (anchor - anchor.min())
    groups, code = np.unique(key, return_inverse=True)
    diff = np.zeros((len(groups), width + 1), dtype="float64")
    np.add.at(diff, (code, lo), 1.0)
    np.add.at(diff, (code, hi + 1), -1.0)
    at_risk = np.cumsum(diff[:, :width], axis=1)
    group_stratum = groups // (2**33)
    group_anchor = groups % (2**33) + anchor.min()
    offsets = np.arange(width, dtype="int64")
    day = group_anchor[:, None] + offsets[None, :]
    cell = _POSITIONS * (offsets[None, :] >= young) + quarter_position(day, shift)
    index = (group_stratum[:, None] * width + offsets[None, :]) * cells + cell
    counts = np.bincount(index.ravel(), weights=at_risk.ravel(), minlength=out.size)
    return np.asarray(counts, dtype="float64")


def _alternate(events: FloatArray, exposure: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Base hazards (strata x bins) and seasonal factors (cells) of ``h0 x g``, alternately."""
    season = np.ones(events.shape[2], dtype="float64")
    per_bin = events.sum(axis=2)
    for _ in range(_ITERATIONS):
        weighted = (exposure * season).sum(axis=2)
        base = np.divide(per_bin, weighted, out=np.zeros_like(per_bin), where=weighted > 0)
        expected = (exposure * base[:, :, None]).sum(axis=(0, 1))
        seen = events.sum(axis=(0, 1))
        season = np.divide(seen, expected, out=np.ones_like(seen), where=expected > 0)
        # One scale per band: the base hazard carries it, the factors average 1.
        weight = (exposure * base[:, :, None]).sum(axis=(0, 1))
        for band in range(2):
            cols = slice(band * _POSITIONS, (band + 1) * _POSITIONS)
            total = weight[cols].sum()
            if total > 0 and season[cols] @ weight[cols] > 0:
                season[cols] *= total / (season[cols] @ weight[cols])
    weighted = (exposure * season).sum(axis=2)
    base = np.divide(per_bin, weighted, out=np.zeros_like(per_bin), where=weighted > 0)
    return base, season


# --------------------------------------------------------------------------- the learned model


def eventual(law: HazardLaw, stratum: IntArray, clock: IntArray) -> FloatArray:
    """P(won at some later clock value | open at ``clock``), without the season.

    ``(F(end) - F(u)) / S(u)``: ``F`` the cumulative incidence of wins, ``S`` the share
    still open, over the law's clock range (the seasonal factors average 1).
    """
    ages = np.arange(law.low, law.high + 1, dtype="int64")
    bins = (ages - law.low) // BIN_DAYS
    win = np.clip(law.win[:, bins], 0.0, 1.0)
    risk = np.clip(win + np.clip(law.loss[:, bins], 0.0, 1.0), 0.0, 1.0)
    still = np.cumprod(1.0 - risk, axis=1)
    before = np.concatenate([np.ones((len(win), 1)), still[:, :-1]], axis=1)
    incidence = np.cumsum(before * win, axis=1)
    u = np.clip(clock, law.low, law.high) - law.low
    alive = still[stratum, u]
    later = incidence[stratum, -1] - incidence[stratum, u]
    odds = np.divide(later, alive, out=np.zeros(len(u)), where=alive > 1e-12)
    return np.where(clock > law.high, 0.0, odds)
