"""The pipeline as it stood on any date: one model per date, rebuilt from what was dated by then.

`as_it_stood` gives the model every sheet of one refresh reads (and every period of a
backtest). Dates of a model:

* its **record date** (`recorded_until`): the latest of the Snapshots log's dates, the
  deals' creation dates and the won and lost deals' close dates. The Prospects table is
  the state on that date;
* its **first date** (`first_date`): the earliest snapshot or creation date.

On or after the record date the model is taken as it is (only ``as_of`` changes): the
Prospects table is the freshest state. Before it, the state on ``day`` is rebuilt:

* a deal exists when it was created on or before ``day`` or the log shows it by then; a
  deal with neither a creation date nor a log row by then is left out (nothing says it
  existed);
* a deal won or lost on or before ``day`` (or won or lost without a close date) keeps its
  final state; any other deal is open, with no close date;
* an open deal's owner, stage, amount, expected close and probability are its latest log
  row dated on or before ``day`` (`pipeline_as_of`), else today's values at the first
  open stage; either way it is moved on to the furthest stage whose activity (the
  Stages table's activity for it) the Activities table records for the deal after that
  log row and by ``day``, never past its stage of today;
* its last activity is today's when dated by ``day``, else its latest activity by then;
  category, name, company and source are today's (the log does not record them);
* the log and the Activities table keep their rows dated on or before ``day``; targets,
  stages, settings and the data issues are the model's own.

A date before the first date cannot be rebuilt: `as_it_stood` refuses it with an
`InputError` that says from when the workbook knows its pipeline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.contract import SNAPSHOTS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model, Stages
from pipeline_xl.core.snapshots import pipeline_as_of

__all__ = ["as_it_stood", "first_date", "is_past", "recorded_until"]

_NS = "datetime64[ns]"
_CLOSED = ("won", "lost")


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _latest(values: pd.Series) -> date | None:
    found = values.dropna()
    return None if found.empty else pd.Timestamp(found.max()).date()


def _earliest(values: pd.Series) -> date | None:
    found = values.dropna()
    return None if found.empty else pd.Timestamp(found.min()).date()


def recorded_until(model: Model) -> date | None:
    """The model's record date: latest snapshot, creation or close date; None when undated."""
    prospects = model.prospects
    closed = prospects["closed"].where(prospects["status"].isin(_CLOSED))
    found = [
        _latest(model.snapshots["snapshot_date"]) if len(model.snapshots) else None,
        _latest(prospects["created"]),
        _latest(closed),
    ]
    days = [d for d in found if d is not None]
    return max(days) if days else None


def first_date(model: Model) -> date | None:
    """The earliest snapshot or creation date; None when the model has neither."""
    found = [
        _earliest(model.snapshots["snapshot_date"]) if len(model.snapshots) else None,
        _earliest(model.prospects["created"]),
    ]
    days = [d for d in found if d is not None]
    return min(days) if days else None


def is_past(model: Model, day: date | None = None) -> bool:
    """Whether ``day`` (default: the model's as-of) lies before the model's record date."""
    until = recorded_until(model)
    return until is not None and _day(day or model.settings.as_of) < until


def _refuse(model: Model, day: date) -> None:
    first = first_date(model)
    if first is None:
        raise InputError(
            f"cannot rebuild the pipeline as it stood on {day.isoformat()}: the workbook has "
            "no snapshot and no deal with a creation date",
            sheet=SNAPSHOTS.sheet,
            value=day.isoformat(),
            expected=f"an as-of date on or after {recorded_until(model)}",
        )
    if day < first:
        raise InputError(
            f"cannot rebuild the pipeline as it stood on {day.isoformat()}: nothing in the "
            f"workbook is dated that early (its first snapshot or deal is from {first})",
            sheet=SNAPSHOTS.sheet,
            value=day.isoformat(),
            expected=f"an as-of date on or after {first.isoformat()}",
        )


def as_it_stood(model: Model, day: date | None = None) -> Model:
    """The model as the pipeline stood at the end of ``day`` (default: its as-of date).

    The result's settings carry ``as_of = day``. See the module notes for the rules.

    Raises:
        InputError: ``day`` lies before everything the workbook has dated (nothing to
            rebuild from).

    """
    when = _day(day or model.settings.as_of)
    settings = model.settings
    if settings.as_of != when:
        settings = dataclasses.replace(settings, as_of=when)
    if not is_past(model, when):
        return (
            model if settings is model.settings else dataclasses.replace(model, settings=settings)
        )
    _refuse(model, when)
    ts = pd.Timestamp(when)
    snaps = model.snapshots
    log = snaps.loc[snaps["snapshot_date"].notna() & (snaps["snapshot_date"] <= ts)]
    acts = model.activities
    if len(acts):
        acts = acts.loc[acts["date"].notna() & (acts["date"] <= ts)]
    prospects = _prospects_on(model.prospects, model.stages, log, acts, ts)
    return dataclasses.replace(
        model, prospects=prospects, snapshots=log, activities=acts, settings=settings
    )


def _activity_stage(
    acts: pd.DataFrame,
    stages: Stages,
    ids: npt.NDArray[np.object_],
    after: npt.NDArray[np.datetime64],
) -> npt.NDArray[np.int64]:
    """Furthest open stage whose activity the deal shows after ``after`` (NaT: ever); -1 none."""
    out = np.full(len(ids), -1, dtype=np.int64)
    if not len(acts) or not len(ids):
        return out
    kinds = {name: k for k, name in enumerate(stages.activities) if name}
    level = acts["type"].map(kinds)
    useful = acts.loc[level.notna() & (acts["prospect_id"] != "")]
    if useful.empty:
        return out
    frame = pd.DataFrame(
        {"id": useful["prospect_id"].to_numpy(dtype=object), "date": useful["date"].to_numpy(_NS),
         "level": level.loc[useful.index].to_numpy(dtype="int64")}
    )  # fmt: skip
    since = pd.Series(after, index=pd.Index(ids)).groupby(level=0).first()
    frame["since"] = frame["id"].map(since)
    keep = frame["since"].isna() | (frame["date"] > frame["since"])
    best = frame.loc[keep].groupby("id")["level"].max()
    found = pd.Series(ids).map(best)
    return found.fillna(-1).to_numpy(dtype="int64")


def _last_activity(acts: pd.DataFrame, ids: npt.NDArray[np.object_]) -> npt.NDArray[np.datetime64]:
    if not len(acts) or not len(ids):
        return np.full(len(ids), np.datetime64("NaT"), dtype=_NS)
    latest = acts.loc[acts["prospect_id"] != ""].groupby("prospect_id")["date"].max()
    return pd.Series(ids).map(latest).to_numpy(dtype=_NS)


@dataclass
class _State:
    """The tracked fields of the deals kept, as arrays to rebuild in place."""

    stage_idx: npt.NDArray[np.int64]
    status: npt.NDArray[np.object_]
    owner: npt.NDArray[np.object_]
    amount: npt.NDArray[np.float64]
    expected: npt.NDArray[np.datetime64]
    probability: npt.NDArray[np.float64]
    logged_on: npt.NDArray[np.datetime64]

    @classmethod
    def of(cls, deals: pd.DataFrame) -> _State:
        """Today's values of ``deals``, not logged yet."""
        return cls(
            stage_idx=deals["stage_idx"].to_numpy(dtype="int64").copy(),
            status=deals["status"].to_numpy(dtype=object).copy(),
            owner=deals["owner"].to_numpy(dtype=object).copy(),
            amount=deals["amount"].to_numpy(dtype="float64").copy(),
            expected=deals["expected_close"].to_numpy(dtype=_NS).copy(),
            probability=deals["probability"].to_numpy(dtype="float64").copy(),
            logged_on=np.full(len(deals), np.datetime64("NaT"), dtype=_NS),
        )

    def take_log(self, use: npt.NDArray[np.bool_], rows: pd.DataFrame) -> None:
        """Overwrite the deals of ``use`` with their log rows (``rows``, in the same order)."""
        self.stage_idx[use] = rows["stage_idx"].to_numpy(dtype="int64")
        self.status[use] = rows["status"].to_numpy(dtype=object)
        self.owner[use] = rows["owner"].to_numpy(dtype=object)
        self.amount[use] = rows["amount"].to_numpy(dtype="float64")
        self.expected[use] = rows["expected_close"].to_numpy(dtype=_NS)
        self.probability[use] = rows["probability"].to_numpy(dtype="float64")
        self.logged_on[use] = rows["snapshot_date"].to_numpy(dtype=_NS)


def _kept(
    prospects: pd.DataFrame, state: pd.DataFrame | None, ts: pd.Timestamp
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_]]:
    """The deals that existed at ``ts`` and, for each, whether the log shows it by then."""
    ids = prospects["id"].to_numpy(dtype=object)
    in_log = (
        np.zeros(len(ids), dtype=bool)
        if state is None
        else (pd.Index(state.index).get_indexer(ids) >= 0) & (ids != "")
    )
    created = prospects["created"].to_numpy(dtype=_NS)
    exists = (~np.isnat(created) & (created <= ts.to_datetime64())) | in_log
    return prospects.loc[exists], in_log[exists]


def _stage_names(stages: Stages, state: _State, still_open: npt.NDArray[np.bool_]) -> None:
    """Stage indexes of the deals closed in the log, for the names `_named` gives them."""
    n_open = stages.n_open
    closed_in_log = ~still_open & np.isin(state.status, _CLOSED)
    state.stage_idx[closed_in_log & (state.status == "won")] = n_open
    state.stage_idx[closed_in_log & (state.status == "lost")] = -1


def _named(stages: Stages, stage_idx: npt.NDArray[np.int64], today: npt.NDArray[np.object_],
           rebuilt: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:  # fmt: skip
    """Stage names: today's where not rebuilt, else the Stages table's name of the index."""
    lost = stages.lost
    names = np.array(
        [s.name for s in stages.open] + [stages.won.name, lost.name if lost else "Lost"],
        dtype=object,
    )
    out = today.copy()
    out[rebuilt] = names[stage_idx[rebuilt]]
    return out


def _prospects_on(
    prospects: pd.DataFrame, stages: Stages, log: pd.DataFrame, acts: pd.DataFrame, ts: pd.Timestamp
) -> pd.DataFrame:
    """The Prospects table rebuilt as it stood at the end of ``ts`` (module notes)."""
    state_log = pipeline_as_of(log, ts.date()).set_index("id") if len(log) else None
    out, in_log = _kept(prospects, state_log, ts)
    ids = out["id"].to_numpy(dtype=object)
    closed_at = out["closed"].to_numpy(dtype=_NS)
    final = out["status"].isin(_CLOSED).to_numpy()
    is_open = ~(final & (np.isnat(closed_at) | (closed_at <= ts.to_datetime64())))
    n_open = stages.n_open
    today_idx = out["stage_idx"].to_numpy(dtype="int64")
    won_cap = np.where(out["status"] == "won", n_open - 1, out["reached_idx"])
    cap = np.clip(np.where(final, won_cap, today_idx), 0, n_open - 1)

    state = _State.of(out)
    state.stage_idx[is_open] = 0
    state.status[is_open] = "open"
    use = is_open & in_log
    if state_log is not None and use.any():
        state.take_log(use, state_log.loc[ids[use]])
    moved = _activity_stage(acts, stages, ids, state.logged_on)
    still_open = is_open & (state.status == "open")
    advance = still_open & (moved > state.stage_idx)
    state.stage_idx[advance] = np.minimum(
        moved[advance], np.maximum(cap[advance], state.stage_idx[advance])
    )
    _stage_names(stages, state, still_open)

    last = out["last_activity"].to_numpy(dtype=_NS).copy()
    late = ~np.isnat(last) & (last > ts.to_datetime64())
    last[late] = _last_activity(acts, ids[late])
    reached = out["reached_idx"].to_numpy(dtype="int64").copy()
    reached[still_open] = state.stage_idx[still_open]
    closed = closed_at.copy()
    closed[is_open] = np.datetime64("NaT")
    rebuilt: pd.DataFrame = out.assign(
        owner=state.owner,
        stage=_named(stages, state.stage_idx, out["stage"].to_numpy(dtype=object), is_open),
        stage_idx=state.stage_idx,
        reached_idx=reached,
        amount=state.amount,
        expected_close=state.expected,
        probability=state.probability,
        status=state.status,
        closed=closed,
        last_activity=last,
    )
    return rebuilt
