"""What closed history says about the funnel: cohort conversions, win odds, deal size, lead times.

Stage conversion is counted by cohort (design notes, section 6): ``c_k`` = closed deals
that reached stage k+1 / closed deals that reached stage k, where a won deal reached every
stage. Counting only closed deals avoids the bias of open deals whose outcome is unknown.
``P(win | stage k)`` is the product of the conversions from k to Won, which equals
won / closed deals that reached k.

A lost deal's furthest stage comes from the Prospects "Stage reached" column, else from the
highest stage it shows in the Snapshots change log, else it is counted as lost at the first
stage (the only thing known for sure is that it entered the pipeline); the result says how
many deals needed that assumption.

When there are fewer than ``min_history`` usable closed deals (for an owner: first the team's
history is tried), the Stages table's conversions are used instead, and ``source`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from pipeline_xl.model import Stages

__all__ = ["FunnelRates", "RateSource", "funnel_rates", "lead_times", "reached_stages"]

RateSource = Literal["history", "team history", "stages"]


@dataclass(frozen=True, slots=True)
class FunnelRates:
    """Conversion rates, win odds and average deal for one owner (or the team)."""

    stages: tuple[str, ...]
    activities: tuple[str, ...]
    reached: tuple[int, ...]
    conversions: tuple[float, ...]
    win_probabilities: tuple[float, ...]
    avg_deal: float
    won: int
    lost: int
    assumed_first_stage: int
    source: RateSource


def reached_stages(prospects: pd.DataFrame, snapshots: pd.DataFrame | None = None) -> pd.Series:
    """Furthest open stage index each deal reached (won = n_open), -1 where unknown.

    Takes the larger of the Prospects value and the highest stage in the snapshot log.
    """
    reached = prospects["reached_idx"].to_numpy(dtype="int64").copy()
    reached = np.maximum(reached, prospects["stage_idx"].to_numpy(dtype="int64"))
    if snapshots is not None and len(snapshots):
        best = snapshots.groupby("id", sort=False)["stage_idx"].max()
        from_log = prospects["id"].map(best).fillna(-1).to_numpy(dtype="int64")
        reached = np.maximum(reached, from_log)
    return pd.Series(reached, index=prospects.index, name="reached_idx")


def _closed_history(prospects: pd.DataFrame, as_of: date, owner: str | None) -> pd.DataFrame:
    closed = prospects["status"].isin(["won", "lost"])
    closed &= prospects["closed"].isna() | (prospects["closed"] <= pd.Timestamp(as_of))
    if owner:
        closed &= prospects["owner"] == owner
    return prospects.loc[closed]


def _rates_from(
    history: pd.DataFrame, reached: pd.Series, stages: Stages
) -> tuple[np.ndarray, int, int, int, float]:
    n_open = stages.n_open
    r = reached.loc[history.index].to_numpy(dtype="int64")
    won_mask = (history["status"] == "won").to_numpy()
    r = np.where(won_mask, n_open, r)
    assumed = int(((r < 0) & ~won_mask).sum())
    r = np.where(r < 0, 0, r)
    # counts[k] = closed deals that reached stage k (k = n_open means Won).
    counts = np.array([(r >= k).sum() for k in range(n_open + 1)], dtype="int64")
    won_amounts = history.loc[won_mask, "amount"]
    avg = float(won_amounts.mean()) if len(won_amounts) else float("nan")
    return counts, int(won_mask.sum()), int((~won_mask).sum()), assumed, avg


def funnel_rates(
    prospects: pd.DataFrame,
    stages: Stages,
    *,
    as_of: date,
    owner: str | None = None,
    snapshots: pd.DataFrame | None = None,
    min_history: int = 30,
) -> FunnelRates:
    """Conversions, P(win | stage) and average won deal, learned from closed history.

    Uses deals closed on or before ``as_of``. For an owner with too little history the
    team's history is used, and with too little team history the Stages table.
    """
    reached = reached_stages(prospects, snapshots)
    names = tuple(s.name for s in stages.open)
    candidates: list[tuple[str | None, RateSource]] = [(owner, "history")]
    if owner:
        candidates.append((None, "team history"))
    fallback_avg = float("nan")
    for who, source in candidates:
        history = _closed_history(prospects, as_of, who)
        counts, won, lost, assumed, avg = _rates_from(history, reached, stages)
        if np.isnan(fallback_avg):
            fallback_avg = avg
        if won + lost >= min_history and won > 0 and (counts[:-1] > 0).all():
            conversions = counts[1:] / counts[:-1]
            win_p = counts[-1] / counts[:-1]
            return FunnelRates(
                names,
                stages.activities,
                tuple(int(c) for c in counts[:-1]),
                tuple(float(c) for c in conversions),
                tuple(float(p) for p in win_p),
                avg,
                won,
                lost,
                assumed,
                source,
            )
    conv = np.array(stages.conversions, dtype="float64")
    win_p = np.cumprod(conv[::-1])[::-1]
    if np.isnan(fallback_avg):
        open_amounts = prospects.loc[prospects["status"] == "open", "amount"]
        fallback_avg = float(open_amounts.mean()) if len(open_amounts) else float("nan")
    return FunnelRates(
        names,
        stages.activities,
        tuple(0 for _ in names),
        tuple(float(c) for c in conv),
        tuple(float(p) for p in win_p),
        fallback_avg,
        0,
        0,
        0,
        "stages",
    )


def lead_times(
    prospects: pd.DataFrame,
    stages: Stages,
    *,
    as_of: date,
    snapshots: pd.DataFrame | None = None,
    min_history: int = 30,
    quantile: float = 0.5,
) -> tuple[tuple[float, ...], RateSource]:
    """Days from entering each open stage to closing, for won deals (``L_k``, section 6).

    Stage 0 uses created -> closed. Later stages use the first snapshot that shows the deal
    at or past the stage. Each stage needs ``min_history`` observations, else the whole
    set falls back to the Stages table's days to close.
    """
    table = tuple(float(s.days_to_close) for s in stages.open)
    won = prospects.loc[
        (prospects["status"] == "won")
        & prospects["closed"].notna()
        & (prospects["closed"] <= pd.Timestamp(as_of))
    ]
    if len(won) < min_history:
        return table, "stages"
    cycle = (won["closed"] - won["created"]).dt.days
    cycle = cycle[cycle >= 0]
    if len(cycle) < min_history:
        return table, "stages"
    out = [float(cycle.quantile(quantile))]
    if stages.n_open > 1:
        if snapshots is None or not len(snapshots):
            return table, "stages"
        log = snapshots.loc[snapshots["id"].isin(won["id"])]
        closed_at = won.drop_duplicates("id").set_index("id")["closed"]
        for k in range(1, stages.n_open):
            entered = log.loc[log["stage_idx"] >= k].groupby("id")["snapshot_date"].min()
            days = (closed_at.reindex(entered.index) - entered).dt.days.dropna()
            days = days[days >= 0]
            if len(days) < min_history:
                return table, "stages"
            out.append(float(days.quantile(quantile)))
    return tuple(out), "history"
