"""What closed history says about the funnel: cohort conversions, win odds, deal size, lead times.

Stage conversion is counted by cohort (README, Definitions): ``c_k`` = closed deals
that reached stage k+1 / closed deals that reached stage k, where a won deal reached every
stage. Counting only closed deals avoids the bias of open deals whose outcome is unknown.
``P(win | stage k)`` is the product of the conversions from k to Won, which equals
won / closed deals that reached k.

A lost deal's furthest stage comes from the Prospects "Stage reached" column, else from the
highest stage it shows in the Snapshots change log, else it is counted as lost at the first
stage (the only thing known for sure is that it entered the pipeline); the result says how
many deals needed that assumption.

When the team has fewer than ``min_history`` usable closed deals, the Stages table's
conversions are used for the team and every owner, and ``source`` says so.

Small samples: an owner's win odds shrink toward the team's in proportion to the evidence.
With ``n_k`` of the owner's closed deals that reached stage k, ``w`` of them won, and the
team's ``P_k``, the owner's ``P(win | k) = (w + m P_k) / (n_k + m)``: the mean of a beta
prior centred on the team's rate with ``m`` pseudo-deals (``m`` = ``min_history``),
updated with the owner's deals. The owner's raw rate ``w / n_k`` carries the weight
``n_k / (n_k + m)``; an owner with no closed deal takes the team's rates ("team history").
The owner's conversions follow as ``P_k / P_{k+1}``.

Lead times ``L_k`` (days from entering stage k to closing, won deals) come from the
Activities table where it dates the activity that brings each deal into the stage, else
from the first snapshot that shows the deal there (a month-end snapshot sees the change
late), with creation standing for the first stage's entry.
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
    "FUNNEL_RATES",
    "LEAD_TIMES",
    "FunnelRates",
    "LeadSource",
    "RateSource",
    "funnel_rates",
    "lead_times",
    "model_funnel_rates",
    "model_lead_times",
    "rates_for",
    "reached_stages",
    "shrink",
]

RateSource = Literal["history", "team history", "stages"]
LeadSource = Literal["activities", "history", "stages"]


@dataclass(frozen=True, slots=True)
class FunnelRates:
    """Conversion rates, win odds and average deal for one owner (or the team).

    ``reached``, ``won`` and ``lost`` are the counts behind the rates (closed deals that
    reached each stage). For an owner, ``raw_win_probabilities`` are won / reached of the
    owner's own deals (NaN where none reached the stage) and ``weights`` the share each
    carries in the shrunk ``win_probabilities``; for the team both are its own rates and 1.
    """

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
    raw_win_probabilities: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()


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
    win_p = tuple(float(p) for p in reached[-1] / reached[:-1])
    return FunnelRates(
        tuple(s.name for s in stages.open), stages.activities,
        tuple(int(c) for c in reached[:-1]),
        tuple(float(c) for c in reached[1:] / reached[:-1]),
        win_p, avg, counts.won, counts.lost, counts.assumed, source,
        win_p, tuple(1.0 for _ in win_p),
    )  # fmt: skip


def shrink(
    won: int, reached: npt.ArrayLike, team: npt.ArrayLike, strength: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Shrunk win odds ``(won + m P_k) / (n_k + m)`` and the weights ``n_k / (n_k + m)``.

    ``reached`` holds ``n_k`` (closed deals that reached stage k), ``team`` the prior
    ``P_k`` and ``strength`` the pseudo-count ``m`` (module notes). With ``m = 0`` the raw
    rate is returned where ``n_k > 0`` (the team's where it is 0).
    """
    n = np.asarray(reached, dtype="float64")
    prior = np.asarray(team, dtype="float64")
    m = max(float(strength), 0.0)
    total = n + m
    weight = np.divide(n, total, out=np.zeros_like(n), where=total > 0)
    raw = np.divide(float(won), n, out=prior.copy(), where=n > 0)
    return weight * raw + (1.0 - weight) * prior, weight


def _shrunk(mine: _Counts, team: FunnelRates, stages: Stages, strength: float) -> FunnelRates:
    reached = mine.reached[:-1].astype("float64")
    win_p, weights = shrink(mine.won, reached, team.win_probabilities, strength)
    following = np.append(win_p[1:], 1.0)
    conversions = np.divide(win_p, following, out=np.zeros_like(win_p), where=following > 0)
    raw = np.divide(float(mine.won), reached, out=np.full_like(reached, np.nan), where=reached > 0)
    avg = mine.won_amount / mine.won if mine.won else team.avg_deal
    return FunnelRates(
        tuple(s.name for s in stages.open), stages.activities,
        tuple(int(c) for c in mine.reached[:-1]),
        tuple(float(c) for c in conversions), tuple(float(p) for p in win_p),
        avg, mine.won, mine.lost, mine.assumed, "history",
        tuple(float(p) for p in raw), tuple(float(w) for w in weights),
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


def _team_rates(team: _Counts, stages: Stages, min_history: int, avg: float) -> FunnelRates:
    if _enough(team, min_history):
        return _from_counts(team, stages, "history")
    return _table_rates(stages, avg)


def _owner_rates(
    mine: _Counts | None, team_rates: FunnelRates, stages: Stages, min_history: int, avg: float
) -> FunnelRates:
    """An owner's rates: the team's table rates, the team's, or the owner's shrunk to them."""
    if team_rates.source == "stages":
        return dataclasses.replace(team_rates, avg_deal=avg)
    if mine is None or mine.won + mine.lost == 0:
        return dataclasses.replace(team_rates, avg_deal=avg, source="team history")
    return _shrunk(mine, team_rates, stages, float(min_history))


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

    Uses deals closed on or before ``as_of``. The team needs ``min_history`` closed deals,
    else the Stages table is used; an owner's rates shrink toward the team's (module notes).
    """
    reached = reached_stages(prospects, snapshots).to_numpy(dtype="int64")
    per_owner, team = _owner_counts(prospects, reached, stages, as_of)
    team_rates = _team_rates(team, stages, min_history, _fallback_avg(prospects, team, None))
    if not owner:
        return team_rates
    mine = per_owner.get(owner)
    avg = _fallback_avg(prospects, team, mine)
    return _owner_rates(mine, team_rates, stages, min_history, avg)


def _all_funnel_rates(model: Model) -> dict[str, FunnelRates]:
    prospects, stages = model.prospects, model.stages
    reached = reached_stages(prospects, model.snapshots).to_numpy(dtype="int64")
    per_owner, team = _owner_counts(prospects, reached, stages, model.settings.as_of)
    min_history = model.settings.min_history
    team_rates = _team_rates(team, stages, min_history, _fallback_avg(prospects, team, None))
    out = {"": team_rates}
    names = set(prospects["owner"].tolist()) | set(model.targets["owner"].tolist())
    for owner in sorted(str(n) for n in names if n):
        mine = per_owner.get(owner)
        avg = _fallback_avg(prospects, team, mine)
        out[owner] = _owner_rates(mine, team_rates, stages, min_history, avg)
    return out


FUNNEL_RATES: Derived[dict[str, FunnelRates]] = Derived(
    _all_funnel_rates, reads=("prospects", "stages", "snapshots", "settings", "targets")
)
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


LEAD_TIMES: Derived[tuple[tuple[float, ...], LeadSource]] = Derived(
    lambda model: lead_times(
        model.prospects,
        model.stages,
        as_of=model.settings.as_of,
        snapshots=model.snapshots,
        activities=model.activities,
        min_history=model.settings.min_history,
    ),
    reads=("prospects", "stages", "snapshots", "activities", "settings"),
)
"""`lead_times` (median) of a model, once per model."""


def model_lead_times(model: Model) -> tuple[tuple[float, ...], LeadSource]:
    """`lead_times` (median) of the model, computed once per model."""
    return LEAD_TIMES.of(model)


def _entered_by_activity(
    activities: pd.DataFrame | None, stages: Stages, ids: pd.Index, as_of: date
) -> list[pd.Series]:
    """Per open stage, the first date an activity bringing each deal there is recorded."""
    if activities is None or not len(activities) or not len(ids):
        return [pd.Series(dtype="datetime64[ns]") for _ in stages.open]
    acts = activities.loc[
        activities["prospect_id"].isin(ids) & (activities["date"] <= pd.Timestamp(as_of))
    ]
    first = acts.groupby(["type", "prospect_id"])["date"].min()
    kinds = set(first.index.get_level_values(0))
    return [
        first.loc[s.activity] if s.activity and s.activity in kinds else first.iloc[:0].droplevel(0)
        for s in stages.open
    ]


def _entered_by_snapshot(snapshots: pd.DataFrame | None, ids: pd.Index, k: int) -> pd.Series:
    """The first snapshot date that shows each deal at or past open stage ``k``."""
    if snapshots is None or not len(snapshots):
        return pd.Series(dtype="datetime64[ns]")
    log = snapshots.loc[snapshots["id"].isin(ids) & (snapshots["stage_idx"] >= k)]
    return log.groupby("id")["snapshot_date"].min()


def lead_times(
    prospects: pd.DataFrame,
    stages: Stages,
    *,
    as_of: date,
    snapshots: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    min_history: int = 30,
    quantile: float = 0.5,
) -> tuple[tuple[float, ...], LeadSource]:
    """Days from entering each open stage to closing, for won deals (``L_k``, README, Definitions).

    A stage's entry is its activity's first date in the Activities table for the deal
    (``prospect_id``), else (when fewer than ``min_history`` won deals have one) the
    first snapshot that shows the deal at or past the stage; the first stage's entry is
    the creation date unless its activity is recorded. Each stage needs ``min_history``
    observations, else the whole set falls back to the Stages table's days to close.
    The source is ``activities`` when any stage used them, else ``history``.
    """
    table = tuple(float(s.days_to_close) for s in stages.open)
    won = prospects.loc[
        (prospects["status"] == "won")
        & prospects["closed"].notna()
        & (prospects["closed"] <= pd.Timestamp(as_of))
    ]
    if len(won) < min_history:
        return table, "stages"
    won = won.drop_duplicates("id")
    closed_at = won.set_index("id")["closed"]
    ids = pd.Index(closed_at.index)
    by_activity = _entered_by_activity(activities, stages, ids, as_of)
    out: list[float] = []
    used_activities = False
    for k in range(stages.n_open):
        entered = by_activity[k]
        days = (closed_at.reindex(entered.index) - entered).dt.days.dropna()
        days = days[days >= 0]
        if len(days) >= min_history:
            used_activities = True
        elif k == 0:
            days = (won["closed"] - won["created"]).dt.days.dropna()
            days = days[days >= 0]
        else:
            entered = _entered_by_snapshot(snapshots, ids, k)
            days = (closed_at.reindex(entered.index) - entered).dt.days.dropna()
            days = days[days >= 0]
        if len(days) < min_history:
            return table, "stages"
        out.append(float(days.quantile(quantile)))
    return tuple(out), "activities" if used_activities else "history"
