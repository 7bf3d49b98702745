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

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.model import Derived, Model, Stages

__all__ = [
    "FunnelRates",
    "RateSource",
    "funnel_rates",
    "lead_times",
    "model_funnel_rates",
    "model_lead_times",
    "rates_for",
    "reached_stages",
]

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


def _closed_mask(prospects: pd.DataFrame, as_of: date) -> npt.NDArray[np.bool_]:
    closed_at = prospects["closed"].to_numpy(dtype="datetime64[ns]")
    closed: npt.NDArray[np.bool_] = prospects["status"].isin(["won", "lost"]).to_numpy(dtype=bool)
    in_time: npt.NDArray[np.bool_] = np.isnat(closed_at) | (closed_at <= np.datetime64(as_of, "ns"))
    return closed & in_time


@dataclass(frozen=True, slots=True)
class _Counts:
    """Cohort counts of one owner (or the team): reached[k] for k = 0 .. n_open (Won)."""

    reached: npt.NDArray[np.int64]
    won: int
    lost: int
    assumed: int
    won_amount: float


def _owner_counts(
    prospects: pd.DataFrame, reached: npt.NDArray[np.int64], stages: Stages, as_of: date
) -> tuple[dict[str, _Counts], _Counts]:
    """Cohort counts for every owner and for the team, in one pass over closed deals."""
    n_open = stages.n_open
    mask = _closed_mask(prospects, as_of)
    won = (prospects["status"] == "won").to_numpy()[mask]
    r = np.where(won, n_open, reached[mask])
    assumed = (r < 0) & ~won
    r = np.where(r < 0, 0, r)
    amounts = np.nan_to_num(prospects["amount"].to_numpy(dtype="float64")[mask])
    codes, owners = pd.factorize(prospects["owner"].to_numpy(dtype=object)[mask])
    size = len(owners)
    levels = (
        np.stack(
            [np.bincount(codes, weights=r >= k, minlength=size) for k in range(n_open + 1)], axis=1
        )
        .astype("int64")
        .reshape(size, n_open + 1)
    )
    n_won = np.bincount(codes, weights=won, minlength=size).astype("int64")
    n_all = np.bincount(codes, minlength=size).astype("int64")
    n_assumed = np.bincount(codes, weights=assumed, minlength=size).astype("int64")
    won_sum = np.bincount(codes, weights=np.where(won, amounts, 0.0), minlength=size)
    per_owner = {
        str(owner): _Counts(
            levels[i], int(n_won[i]), int(n_all[i] - n_won[i]), int(n_assumed[i]),
            float(won_sum[i]),
        )
        for i, owner in enumerate(owners)
    }  # fmt: skip
    team = _Counts(
        levels.sum(axis=0).astype("int64") if size else np.zeros(n_open + 1, dtype="int64"),
        int(n_won.sum()), int(n_all.sum() - n_won.sum()), int(n_assumed.sum()),
        float(won_sum.sum()),
    )  # fmt: skip
    return per_owner, team


def _from_counts(counts: _Counts, stages: Stages, source: RateSource) -> FunnelRates:
    reached = counts.reached
    avg = counts.won_amount / counts.won if counts.won else float("nan")
    return FunnelRates(
        tuple(s.name for s in stages.open), stages.activities,
        tuple(int(c) for c in reached[:-1]),
        tuple(float(c) for c in reached[1:] / reached[:-1]),
        tuple(float(p) for p in reached[-1] / reached[:-1]),
        avg, counts.won, counts.lost, counts.assumed, source,
    )  # fmt: skip


def _enough(counts: _Counts, min_history: int) -> bool:
    return (
        counts.won + counts.lost >= min_history
        and counts.won > 0
        and bool((counts.reached[:-1] > 0).all())
    )


def _table_rates(stages: Stages, avg_deal: float) -> FunnelRates:
    conv = np.array(stages.conversions, dtype="float64")
    win_p = np.cumprod(conv[::-1])[::-1]
    names = tuple(s.name for s in stages.open)
    return FunnelRates(
        names, stages.activities, tuple(0 for _ in names), tuple(float(c) for c in conv),
        tuple(float(p) for p in win_p), avg_deal, 0, 0, 0, "stages",
    )  # fmt: skip


def _choose(
    mine: _Counts | None, team: _Counts, stages: Stages, min_history: int,
    fallback_avg: float, *, is_team: bool,
) -> FunnelRates:  # fmt: skip
    if mine is not None and _enough(mine, min_history):
        return _from_counts(mine, stages, "team history" if is_team else "history")
    if not is_team and _enough(team, min_history):
        return _from_counts(team, stages, "team history")
    return _table_rates(stages, fallback_avg)


def _fallback_avg(prospects: pd.DataFrame, team: _Counts, mine: _Counts | None) -> float:
    for counts in (mine, team):
        if counts is not None and counts.won:
            return counts.won_amount / counts.won
    open_amounts = prospects.loc[prospects["status"] == "open", "amount"]
    return float(open_amounts.mean()) if len(open_amounts) else float("nan")


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
    reached = reached_stages(prospects, snapshots).to_numpy(dtype="int64")
    per_owner, team = _owner_counts(prospects, reached, stages, as_of)
    mine = per_owner.get(owner or "") if owner else team
    avg = _fallback_avg(prospects, team, mine)
    rates = _choose(mine, team, stages, min_history, avg, is_team=not owner)
    if not owner and rates.source == "team history":
        return dataclasses.replace(rates, source="history")
    return rates


def _all_funnel_rates(model: Model) -> dict[str, FunnelRates]:
    prospects, stages = model.prospects, model.stages
    reached = reached_stages(prospects, model.snapshots).to_numpy(dtype="int64")
    per_owner, team = _owner_counts(prospects, reached, stages, model.settings.as_of)
    min_history = model.settings.min_history
    team_rates = _choose(
        team, team, stages, min_history, _fallback_avg(prospects, team, None), is_team=True
    )
    if team_rates.source == "team history":
        team_rates = dataclasses.replace(team_rates, source="history")
    out = {"": team_rates}
    names = set(prospects["owner"].tolist()) | set(model.targets["owner"].tolist())
    for owner in sorted(str(n) for n in names if n):
        mine = per_owner.get(owner)
        avg = _fallback_avg(prospects, team, mine)
        out[owner] = _choose(mine, team, stages, min_history, avg, is_team=False)
    return out


FUNNEL_RATES: Derived[dict[str, FunnelRates]] = Derived(_all_funnel_rates)
"""`funnel_rates` of the team (key ``""``) and of every owner, once per model."""


def model_funnel_rates(model: Model) -> dict[str, FunnelRates]:
    """`funnel_rates` of the team (key ``""``) and of every owner, computed once per model."""
    return FUNNEL_RATES.of(model)


def rates_for(model: Model, owner: str = "") -> FunnelRates:
    """The learned rates of ``owner`` ("" = team), falling back as `funnel_rates` does."""
    table = model_funnel_rates(model)
    if owner in table:
        return table[owner]
    return funnel_rates(
        model.prospects, model.stages, as_of=model.settings.as_of, owner=owner,
        snapshots=model.snapshots, min_history=model.settings.min_history,
    )  # fmt: skip


LEAD_TIMES: Derived[tuple[tuple[float, ...], RateSource]] = Derived(
    lambda model: lead_times(
        model.prospects,
        model.stages,
        as_of=model.settings.as_of,
        snapshots=model.snapshots,
        min_history=model.settings.min_history,
    )
)
"""`lead_times` (median) of a model, once per model."""


def model_lead_times(model: Model) -> tuple[tuple[float, ...], RateSource]:
    """`lead_times` (median) of the model, computed once per model."""
    return LEAD_TIMES.of(model)


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
