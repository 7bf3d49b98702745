"""The pipeline as it stood on any date: one model per date, rebuilt from what was dated by then.

`as_it_stood` gives the pipeline on a date (every period of a backtest reads it);
`as_seen` is the model every figure for an as-of date is computed from, whatever shows it
(report sheets, Dashboard, worksheet functions, ``metrics``). Dates of a model:

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
  row dated on or before ``day`` (as `pipeline_xl.core.snapshots.pipeline_as_of` reads
  it), else today's values at the first open stage (for a deal closed since, without
  its expected close and probability: those were written after the day); either way
  it is moved on to the furthest stage whose activity (the Stages table's activity for
  it) the Activities table first dates for the deal after that log row and by ``day``;
* its last activity is today's when dated by ``day``, else its latest activity by then;
  category, name, company and source are today's (the log does not record them);
* the log and the Activities table keep their rows dated on or before ``day`` (in date
  order); targets, stages, settings and the data issues are the model's own.

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
from pipeline_xl.core.model import Derived, DerivedBy, Model, Stages

__all__ = ["as_it_stood", "as_seen", "first_date", "is_past", "recorded_until"]

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
    return _DATES.of(model)[1]


def first_date(model: Model) -> date | None:
    """The earliest snapshot or creation date; None when the model has neither."""
    return _DATES.of(model)[0]


def _dates(model: Model) -> tuple[date | None, date | None]:
    return _first_date(model), _recorded_until(model)


def _recorded_until(model: Model) -> date | None:
    prospects = model.prospects
    closed = prospects["closed"].where(prospects["status"].isin(_CLOSED))
    found = [
        _latest(model.snapshots["snapshot_date"]) if len(model.snapshots) else None,
        _latest(prospects["created"]),
        _latest(closed),
    ]
    days = [d for d in found if d is not None]
    return max(days) if days else None


def _first_date(model: Model) -> date | None:
    found = [
        _earliest(model.snapshots["snapshot_date"]) if len(model.snapshots) else None,
        _earliest(model.prospects["created"]),
    ]
    days = [d for d in found if d is not None]
    return min(days) if days else None


_DATES: Derived[tuple[date | None, date | None]] = Derived(_dates, reads=("prospects", "snapshots"))


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


@dataclass(frozen=True)
class _Index:
    """A model's log and activities arranged once, so a state on any day is a few array passes.

    ``log``: the log rows with a date and an id, by id then date (log order within a day),
    each valid from its date until the deal's next row (``until``, NaT for the last);
    ``firsts``: per prospect (rows of the Prospects table) and open stage, the first
    date of the activity that brings a deal there; ``keys`` / ``days``: the activities of
    prospects as sorted ``code * _SPAN + day`` keys, ``codes`` the prospects' codes.
    """

    log: pd.DataFrame
    since: npt.NDArray[np.datetime64]
    until: npt.NDArray[np.datetime64]
    firsts: npt.NDArray[np.datetime64]
    keys: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int64]
    by_date: pd.DataFrame  # the Snapshots table by date (log order within a day), dated rows
    acts_by_date: pd.DataFrame  # the Activities table by date, dated rows
    prospect_row: npt.NDArray[np.int64]  # per log row, its deal's row in Prospects (-1 none)

    def snapshots_by(self, ts: pd.Timestamp) -> pd.DataFrame:
        """The log's rows dated on or before ``ts``."""
        dates = self.by_date["snapshot_date"].to_numpy(dtype=_NS)
        return self.by_date.iloc[: int(np.searchsorted(dates, ts.to_datetime64(), "right"))]

    def activities_by(self, ts: pd.Timestamp) -> pd.DataFrame:
        """The Activities table's rows dated on or before ``ts``."""
        if not len(self.acts_by_date):
            return self.acts_by_date
        dates = self.acts_by_date["date"].to_numpy(dtype=_NS)
        return self.acts_by_date.iloc[: int(np.searchsorted(dates, ts.to_datetime64(), "right"))]


_SPAN = 1 << 32  # room for any day number in an activity key
_EPOCH = np.datetime64("1970-01-01", "D")


def _day_numbers(values: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    return (values.astype("datetime64[D]") - _EPOCH).astype("int64")


def _index(model: Model) -> _Index:
    snaps = model.snapshots
    dated = snaps.loc[snaps["snapshot_date"].notna()]
    dates = dated["snapshot_date"].to_numpy(dtype=_NS)
    by_date = dated.iloc[np.argsort(dates, kind="stable")]
    log = dated.loc[dated["id"] != ""]
    codes_log, _ = pd.factorize(log["id"].to_numpy(dtype=object))
    log = log.iloc[np.lexsort((log["snapshot_date"].to_numpy(dtype=_NS), codes_log))]
    ids = log["id"].to_numpy(dtype=object)
    since = log["snapshot_date"].to_numpy(dtype=_NS)
    until = np.full(len(log), np.datetime64("NaT"), dtype=_NS)
    same = np.zeros(len(log), dtype=bool)
    same[:-1] = ids[:-1] == ids[1:]
    until[:-1] = np.where(same[:-1], since[1:], np.datetime64("NaT"))
    prospects = model.prospects
    pid = pd.Index(prospects["id"].to_numpy(dtype=object))
    n_open = model.stages.n_open
    firsts = np.full((len(prospects), n_open), np.datetime64("NaT"), dtype=_NS)
    acts = model.activities
    keys = np.zeros(0, dtype="int64")
    codes = np.full(len(prospects), -1, dtype="int64")
    acts_by_date = acts
    if len(acts):
        acts = acts.loc[acts["date"].notna()]
        acts_by_date = acts.iloc[np.argsort(acts["date"].to_numpy(dtype=_NS), kind="stable")]
        acts = acts.loc[acts["prospect_id"] != ""]
        act_ids = acts["prospect_id"].to_numpy(dtype=object)
        act_codes, names = pd.factorize(act_ids)
        act_days = _day_numbers(acts["date"].to_numpy(dtype=_NS))
        keys = np.sort(act_codes * _SPAN + act_days)
        codes = pd.Index(names).get_indexer(pid).astype("int64")
        level = {name: k for k, name in enumerate(model.stages.activities) if name}
        stage = acts["type"].map(level).to_numpy(dtype="float64")
        useful = ~np.isnan(stage)
        if useful.any():
            # The first day per (deal, stage): the least key over its activities.
            cell = act_codes[useful] * n_open + stage[useful].astype("int64")
            first = pd.Series(act_days[useful]).groupby(cell).min()
            rows = codes >= 0
            for k in range(n_open):
                at = pd.Index(first.index).get_indexer(codes[rows] * n_open + k)
                found = at >= 0
                days = first.to_numpy()[at[found]]
                target = np.flatnonzero(rows)[found]
                firsts[target, k] = (_EPOCH + days.astype("timedelta64[D]")).astype(_NS)
    first_row = pd.Series(np.arange(len(prospects)), index=pid)
    first_row = first_row[~first_row.index.duplicated()]
    prospect_row = pd.Index(first_row.index).get_indexer(ids)
    prospect_row = np.where(prospect_row >= 0, first_row.to_numpy()[prospect_row], -1)
    return _Index(
        log, since, until, firsts, keys, codes, by_date, acts_by_date,
        prospect_row.astype("int64"),
    )  # fmt: skip


_INDEX: Derived[_Index] = Derived(_index, reads=("prospects", "stages", "snapshots", "activities"))


def _log_rows(index: _Index, ts: pd.Timestamp, n: int) -> npt.NDArray[np.int64]:
    """Per prospect row, its log row valid at the end of ``ts`` (as `pipeline_as_of`); -1."""
    at = ts.to_datetime64()
    valid = (index.since <= at) & (np.isnat(index.until) | (index.until > at))
    valid &= index.prospect_row >= 0
    out = np.full(n, -1, dtype="int64")
    out[index.prospect_row[valid]] = np.flatnonzero(valid)
    return out


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
    index = _INDEX.of(model)
    log = index.snapshots_by(ts)
    acts = index.activities_by(ts)
    prospects = _prospects_on(model, index, ts)
    return dataclasses.replace(
        model, prospects=prospects, snapshots=log, activities=acts, settings=settings
    )


def _activity_stage(
    firsts: npt.NDArray[np.datetime64], ts: pd.Timestamp, after: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.int64]:
    """Furthest open stage whose activity is first dated in (``after``, ``ts``]; -1 none."""
    at = ts.to_datetime64()
    dated = ~np.isnat(firsts) & (firsts <= at)
    dated &= np.isnat(after)[:, None] | (firsts > after[:, None])
    levels = np.arange(firsts.shape[1], dtype="int64")
    best: npt.NDArray[np.int64] = np.where(dated, levels[None, :], -1).max(axis=1, initial=-1)
    return best


def _last_activity(
    index: _Index, rows: npt.NDArray[np.int64], ts: pd.Timestamp
) -> npt.NDArray[np.datetime64]:
    """The latest activity dated by ``ts`` of the prospects at ``rows`` (NaT: none)."""
    out = np.full(len(rows), np.datetime64("NaT"), dtype=_NS)
    codes = index.codes[rows]
    known = codes >= 0
    if not len(index.keys) or not known.any():
        return out
    day = int(_day_numbers(np.array([ts.to_datetime64()]))[0])
    at = np.searchsorted(index.keys, codes[known] * _SPAN + day, side="right") - 1
    found = (at >= 0) & (index.keys[np.maximum(at, 0)] // _SPAN == codes[known])
    days = index.keys[np.maximum(at, 0)] % _SPAN
    dates = (_EPOCH + days.astype("timedelta64[D]")).astype(_NS)
    out[np.flatnonzero(known)[found]] = dates[found]
    return out


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

    def take_log(
        self, use: npt.NDArray[np.bool_], log: pd.DataFrame, at: npt.NDArray[np.int64]
    ) -> None:
        """Overwrite the deals of ``use`` with the rows ``at`` of ``log`` (in the same order)."""
        self.stage_idx[use] = log["stage_idx"].to_numpy(dtype="int64")[at]
        self.status[use] = log["status"].to_numpy(dtype=object)[at]
        self.owner[use] = log["owner"].to_numpy(dtype=object)[at]
        self.amount[use] = log["amount"].to_numpy(dtype="float64")[at]
        self.expected[use] = log["expected_close"].to_numpy(dtype=_NS)[at]
        self.probability[use] = log["probability"].to_numpy(dtype="float64")[at]
        self.logged_on[use] = log["snapshot_date"].to_numpy(dtype=_NS)[at]


def _kept(
    prospects: pd.DataFrame, log_rows: npt.NDArray[np.int64], ts: pd.Timestamp
) -> npt.NDArray[np.int64]:
    """Rows of the deals that existed at ``ts``: created by then, or in the log by then."""
    created = prospects["created"].to_numpy(dtype=_NS)
    exists = (~np.isnat(created) & (created <= ts.to_datetime64())) | (log_rows >= 0)
    return np.flatnonzero(exists)


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


def _prospects_on(model: Model, index: _Index, ts: pd.Timestamp) -> pd.DataFrame:
    """The Prospects table rebuilt as it stood at the end of ``ts`` (module notes)."""
    stages = model.stages
    log_rows = _log_rows(index, ts, len(model.prospects))
    rows = _kept(model.prospects, log_rows, ts)
    log_rows = log_rows[rows]
    out = model.prospects.iloc[rows]
    closed_at = out["closed"].to_numpy(dtype=_NS)
    final = out["status"].isin(_CLOSED).to_numpy()
    is_open = ~(final & (np.isnat(closed_at) | (closed_at <= ts.to_datetime64())))
    n_open = stages.n_open

    state = _State.of(out)
    state.stage_idx[is_open] = 0
    state.status[is_open] = "open"
    # A deal closed since: what its row says today (an expected close that may be its
    # real close, no probability) was written after the day, so it is not known then.
    closed_since = is_open & final
    state.expected[closed_since] = np.datetime64("NaT")
    state.probability[closed_since] = np.nan
    use = is_open & (log_rows >= 0)
    if use.any():
        state.take_log(use, index.log, log_rows[use])
    moved = _activity_stage(index.firsts[rows], ts, state.logged_on)
    still_open = is_open & (state.status == "open")
    advance = still_open & (moved > state.stage_idx)
    state.stage_idx[advance] = np.minimum(moved[advance], n_open - 1)
    _stage_names(stages, state, still_open)

    last = out["last_activity"].to_numpy(dtype=_NS).copy()
    late = ~np.isnat(last) & (last > ts.to_datetime64())
    last[late] = _last_activity(index, rows[late], ts)
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


def as_seen(model: Model, day: date | None = None) -> Model:
    """The model every figure for ``day`` (default: the as-of date) is computed from.

    `as_it_stood` on ``day``, keeping only the snapshots taken before it: a snapshot on
    ``day`` is a refresh's own record of that day (a second refresh on the same day finds
    the first one's), so leaving it out makes the figures the same before and after a
    refresh, on the report sheets and in the Dashboard's formulas alike. The same model
    and day give the same object, so what is learned from it is learned once for every
    surface that shows it.

    Raises:
        InputError: see `as_it_stood`.

    """
    return _SEEN.of(model, _day(day or model.settings.as_of))


def _as_seen(model: Model, day: date) -> Model:
    stood = as_it_stood(model, day)
    ts = pd.Timestamp(stood.settings.as_of)
    log = stood.snapshots
    if log.empty or not (log["snapshot_date"] >= ts).any():
        return stood
    return dataclasses.replace(stood, snapshots=log.loc[log["snapshot_date"] < ts])


_SEEN: DerivedBy[date, Model] = DerivedBy(_as_seen)
