"""The Snapshots sheet: a compact change log of the pipeline, and what moved between two dates.

The log holds a row only for deals that are new or changed since the previous snapshot
date, so the state of the pipeline on any day is rebuilt by taking, for every deal, its
latest row dated on or before that day. Deals that leave the Prospects table are never
deleted from the log: their state stays as last seen. A log grows with the changes;
`compact_log` thins old history to one row per deal and period (checkpoints) plus the
changes since, keeping every period-end state and every state since exact.

A deal is tracked by its id; rows without an id cannot be followed and are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import SNAPSHOT_COLUMNS, Derived, Model, Stages
from pipeline_xl.core.periods import Granularity, period_of

__all__ = [
    "CHANGES",
    "LOG_ROWS",
    "compact_log",
    "fit_log",
    "movement",
    "movement_summary",
    "pipeline_as_of",
    "record_snapshot",
    "recorded_log",
    "snapshot_changes",
    "snapshot_dates",
]

# Movement categories, highest precedence first: a deal gets the first one that applies.
CHANGES = (
    "new",
    "won",
    "lost",
    "advanced",
    "regressed",
    "pushed",
    "pulled_in",
    "amount_changed",
)

_COLUMNS = list(SNAPSHOT_COLUMNS)
_TEXT = ("owner", "stage", "status")
_NUMBERS = ("amount", "probability")
_KINDS = {"int": "int64", "float": "float64", "date": "datetime64[ns]"}
# Column -> dtype for the non-text columns; the text columns stay as pandas makes them.
_DTYPES = {name: _KINDS[kind] for name, kind in SNAPSHOT_COLUMNS.items() if kind != "str"}
_STR = [name for name, kind in SNAPSHOT_COLUMNS.items() if kind == "str"]


def _day(value: date) -> pd.Timestamp:
    """Midnight of ``value`` (a date or datetime) as a Timestamp."""
    return pd.Timestamp(value).normalize()


def _dates(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype="datetime64[ns]")


def _cast(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a log-shaped frame the column order and dtypes of ``SNAPSHOT_COLUMNS``."""
    out = frame[_COLUMNS].reset_index(drop=True)
    dtypes = out.dtypes
    fix = {name: kind for name, kind in _DTYPES.items() if dtypes[name] != kind}
    if fix:
        out = out.astype(fix)
    blank = out[_STR].isna().any()
    if blank.any():
        out = out.fillna({name: "" for name in _STR if blank[name]})
    return out


def _empty_log() -> pd.DataFrame:
    return _cast(pd.DataFrame({name: pd.Series([], dtype=object) for name in _COLUMNS}))


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack log frames; empty ones are left out so they cannot change any dtype."""
    kept = [f[_COLUMNS] for f in frames if len(f)]
    if not kept:
        return _empty_log()
    return _cast(pd.concat(kept, ignore_index=True))


def pipeline_as_of(snapshots: pd.DataFrame, day: date) -> pd.DataFrame:
    """State of every deal on ``day``: its latest log row dated on or before ``day``.

    Rows with no date or no id are ignored; when a deal has two rows on the same date the
    later row in the log wins. The result has the ``SNAPSHOT_COLUMNS`` columns, one row
    per deal, ordered by id; ``snapshot_date`` says when that state was recorded.
    """
    dates = snapshots["snapshot_date"]
    usable = dates.notna() & (dates <= _day(day)) & (snapshots["id"] != "")
    ordered = snapshots.loc[usable].sort_values("snapshot_date", kind="stable")
    latest = ordered.drop_duplicates("id", keep="last")
    return _cast(latest.sort_values("id", kind="stable"))


def snapshot_dates(snapshots: pd.DataFrame) -> list[date]:
    """The distinct snapshot dates in the log, oldest first."""
    days = pd.DatetimeIndex(snapshots["snapshot_date"].dropna().unique()).sort_values()
    return [ts.date() for ts in days]


def _state_of(prospects: pd.DataFrame, day: pd.Timestamp, stages: Stages | None) -> pd.DataFrame:
    """The prospects table as log rows dated ``day`` (first row per id, blank ids left out)."""
    deals = prospects.loc[prospects["id"] != ""].drop_duplicates("id", keep="first")
    stage = deals["stage"]
    if stages is not None:
        names = {}
        for value in stage.unique():
            found = stages.find(value)
            names[value] = value if found is None else found.name
        stage = stage.map(names)
    frame = pd.DataFrame(
        {
            "row": 0,
            "snapshot_date": day,
            "id": deals["id"],
            "owner": deals["owner"],
            "stage": stage,
            "stage_idx": deals["stage_idx"],
            "status": deals["status"],
            "amount": deals["amount"],
            "expected_close": deals["expected_close"],
            "probability": deals["probability"],
        }
    )
    return _cast(frame)


def _differs(new: pd.DataFrame, old: pd.DataFrame) -> np.ndarray:
    """Row-by-row: does ``new`` differ from ``old`` in any tracked field (NaN equals NaN)."""
    out = np.zeros(len(new), dtype=bool)
    for name in _TEXT:
        out |= new[name].to_numpy(dtype=object) != old[name].to_numpy(dtype=object)
    a_idx = new["stage_idx"].to_numpy(dtype="float64")
    b_idx = old["stage_idx"].to_numpy(dtype="float64")
    out |= ~((a_idx == b_idx) | (np.isnan(a_idx) & np.isnan(b_idx)))
    for name in _NUMBERS:
        a = new[name].to_numpy(dtype="float64")
        b = old[name].to_numpy(dtype="float64")
        out |= ~np.isclose(a, b, rtol=1e-12, atol=1e-9, equal_nan=True)
    a_day = _dates(new["expected_close"])
    b_day = _dates(old["expected_close"])
    out |= ~((a_day == b_day) | (np.isnat(a_day) & np.isnat(b_day)))
    return out


def _changed_rows(current: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``current`` whose id is missing from ``before`` or whose state differs."""
    old = before.set_index("id").reindex(current["id"])
    new = current.set_index("id")
    known = old["snapshot_date"].notna().to_numpy()
    keep = ~known | _differs(new, old)
    return current.iloc[np.flatnonzero(keep)]


def snapshot_changes(
    snapshots: pd.DataFrame, prospects: pd.DataFrame, day: date, stages: Stages | None = None
) -> pd.DataFrame:
    """The log rows that recording ``prospects`` on ``day`` adds: deals new or changed.

    The comparison is with the state rebuilt as of the latest snapshot date before
    ``day`` (rows already dated ``day`` are ignored, since recording replaces them). The
    tracked fields are owner, stage, stage index, status, amount, expected close and
    probability. Stage names are written in the Stages table's spelling when known.
    """
    ts = _day(day)
    earlier = snapshots.loc[snapshots["snapshot_date"] < ts]
    current = _state_of(prospects, ts, stages)
    return _cast(_changed_rows(current, pipeline_as_of(earlier, ts)))


def record_snapshot(
    snapshots: pd.DataFrame, prospects: pd.DataFrame, day: date, stages: Stages | None = None
) -> pd.DataFrame:
    """The whole change log after recording the prospects' state on ``day``.

    Adds the rows of `snapshot_changes`. Rows already dated ``day`` are replaced, so
    recording the same day twice gives the same log as recording it once; only a row of
    a deal missing from ``prospects`` is kept, since a removed deal stays as last seen.
    Recording a
    day earlier than the latest snapshot date (a back-fill) also adds, on the next later
    date, the rows needed to keep the state as of every later date exactly as it was.
    The log comes back ordered by date (log order within a date) with ``row`` renumbered
    2, 3, ... as the sheet is written back under its header row.
    """
    ts = _day(day)
    dates = snapshots["snapshot_date"]
    present = snapshots["id"].isin(prospects["id"])
    kept = snapshots.loc[(dates != ts) | ~present]
    added = snapshot_changes(snapshots, prospects, day, stages)
    frames = [kept, added]
    later = dates.loc[dates > ts]
    if len(later):
        following = pd.Timestamp(later.min())
        truth = pipeline_as_of(snapshots, following)
        got = pipeline_as_of(_concat([kept, added]), following)
        got = got.set_index("id").reindex(truth["id"])
        restore = truth.loc[_differs(truth.set_index("id"), got)].copy()
        restore["snapshot_date"] = following
        frames.append(restore)
    log = _concat(frames)
    log = log.sort_values("snapshot_date", kind="stable", na_position="last")
    log["row"] = np.arange(2, len(log) + 2, dtype="int64")
    return log.reset_index(drop=True)


def compact_log(
    snapshots: pd.DataFrame,
    before: date,
    granularity: Granularity = "quarter",
    fiscal_start: int = 1,
) -> pd.DataFrame:
    """The change log with its rows dated before ``before`` thinned to checkpoints.

    Of a deal's rows dated in a period (of ``granularity``) that starts before
    ``before``, only the last (by date, then log order) is kept: the deal's state at the
    end of that period. Rows dated on or after the start of ``before``'s period, and rows
    without a date or an id, are kept as they are, in log order. So the log holds one row
    per deal and period of old history plus every change since, and `pipeline_as_of`
    gives exactly the same state on the last day of any period and on any day from the
    start of ``before``'s period on. What changed inside an old period is forgotten.
    """
    start = _day(period_of(_day(before).date(), granularity, fiscal_start).start)
    dates = snapshots["snapshot_date"]
    old = (dates < start).to_numpy() & (snapshots["id"] != "").to_numpy()
    if not old.any():
        return snapshots
    positions = np.flatnonzero(old)
    rows = snapshots.iloc[positions]
    order = np.argsort(_dates(rows["snapshot_date"]), kind="stable")
    checkpoints = pd.DataFrame(
        {
            "id": rows["id"].to_numpy(dtype=object)[order],
            "period": _period_starts(rows["snapshot_date"], granularity, fiscal_start)[order],
            "at": positions[order],
        }
    ).drop_duplicates(["id", "period"], keep="last")
    keep = ~old
    keep[checkpoints["at"].to_numpy()] = True
    return snapshots.iloc[np.flatnonzero(keep)]


LOG_ROWS = 1_048_575  # the data rows an Excel sheet holds under the header
_HORIZONS = (8, 4, 2, 1, 0)  # quarters before the as-of quarter, farthest first


def fit_log(
    snapshots: pd.DataFrame, as_of: date, fiscal_start: int = 1, limit: int = LOG_ROWS
) -> tuple[pd.DataFrame, date | None]:
    """The log, compacted (`compact_log`, by quarter) only as far as needed to fit ``limit``.

    Changes before the start of the quarter two years before ``as_of``'s are thinned
    first, then one year, two quarters, one quarter, the current quarter: the first that
    fits is returned with its horizon (None: the log is returned as it is, because it
    fits or because it holds nothing before the current quarter). A log that still does
    not fit comes back as compact as it gets.
    """
    if len(snapshots) <= limit:
        return snapshots, None
    current = period_of(_day(as_of).date(), "quarter", fiscal_start)
    compact, horizon = snapshots, current.start
    for back in _HORIZONS:
        horizon = current.next(-back).start
        compact = compact_log(snapshots, horizon, "quarter", fiscal_start)
        if len(compact) <= limit:
            break
    return (snapshots, None) if len(compact) == len(snapshots) else (compact, horizon)


def _period_starts(values: pd.Series, granularity: Granularity, fiscal_start: int) -> np.ndarray:
    """Start of the period containing each date (NaT stays NaT)."""
    days = pd.DatetimeIndex(values.astype("datetime64[ns]"))
    known = days.dropna().unique()
    starts = pd.DatetimeIndex(
        [period_of(ts.date(), granularity, fiscal_start).start for ts in known]
    ).astype("datetime64[ns]")
    lookup = pd.Series(starts, index=known)
    return _dates(lookup.reindex(days))


def movement(
    snapshots: pd.DataFrame,
    start: date,
    end: date,
    granularity: Granularity = "month",
    fiscal_start: int = 1,
    *,
    prospects: pd.DataFrame | None = None,
    stages: Stages | None = None,
) -> pd.DataFrame:
    """Deals that moved between the pipeline as of ``start`` and as of ``end``.

    The end state is the Prospects table when ``prospects`` is given (the freshest data),
    else the log as of ``end``. Each changed deal gets one ``change``, the first that
    applies in the order of `CHANGES`: new (absent at ``start``), won, lost, advanced or
    regressed (stage index up or down; reopening a lost deal reads as advanced, a won one
    as regressed), pushed or pulled_in (expected close in a later or earlier period of
    ``granularity``), amount_changed. Deals gone from the end state are not listed.

    Columns: id, owner, change, stage_before, stage_after, status_before, status_after,
    amount_before, amount_after, amount_change (after minus before, a new deal counting
    from 0), expected_close_before, expected_close_after. Ordered by change, then id.

    Raises:
        InputError: ``end`` is before ``start``.

    """
    if _day(end) < _day(start):
        raise InputError(
            "the movement window ends before it starts",
            value=f"{start} to {end}",
            expected="an end date on or after the start date",
        )
    before = pipeline_as_of(snapshots, start)
    if prospects is None:
        after = pipeline_as_of(snapshots, end)
    else:
        after = _state_of(prospects, _day(end), stages)
    merged = after.merge(
        before, on="id", how="left", suffixes=("_after", "_before"), indicator=True
    )
    is_new = (merged["_merge"] == "left_only").to_numpy()
    status_a = merged["status_after"].to_numpy(dtype=object)
    status_b = merged["status_before"].fillna("").to_numpy(dtype=object)
    idx_a = merged["stage_idx_after"].to_numpy(dtype="float64")
    idx_b = merged["stage_idx_before"].to_numpy(dtype="float64")
    close_a = _period_starts(merged["expected_close_after"], granularity, fiscal_start)
    close_b = _period_starts(merged["expected_close_before"], granularity, fiscal_start)
    both_dates = ~np.isnat(close_a) & ~np.isnat(close_b)
    amount_a = merged["amount_after"].to_numpy(dtype="float64")
    amount_b = merged["amount_before"].to_numpy(dtype="float64")
    conditions = [
        is_new,
        (status_a == "won") & (status_b != "won"),
        (status_a == "lost") & (status_b != "lost"),
        idx_a > idx_b,
        idx_a < idx_b,
        both_dates & (close_a > close_b),
        both_dates & (close_a < close_b),
        ~np.isclose(amount_a, amount_b, rtol=1e-12, atol=1e-9, equal_nan=True),
    ]
    change = np.select(conditions, list(CHANGES), default="")
    out = pd.DataFrame(
        {
            "id": merged["id"],
            "owner": merged["owner_after"],
            "change": change,
            "stage_before": merged["stage_before"].fillna(""),
            "stage_after": merged["stage_after"],
            "status_before": merged["status_before"].fillna(""),
            "status_after": merged["status_after"],
            "amount_before": amount_b,
            "amount_after": amount_a,
            "amount_change": amount_a - np.where(is_new, 0.0, amount_b),
            "expected_close_before": merged["expected_close_before"].astype("datetime64[ns]"),
            "expected_close_after": merged["expected_close_after"].astype("datetime64[ns]"),
        }
    )
    out = out.iloc[np.flatnonzero(change != "")].astype(
        {"id": object, "owner": object, "change": object}
    )
    order = out["change"].map({name: i for i, name in enumerate(CHANGES)})
    out = out.assign(_order=order).sort_values(["_order", "id"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def movement_summary(moves: pd.DataFrame) -> pd.DataFrame:
    """One row per change category (all of `CHANGES`, in order, zeros included).

    ``count`` is the number of deals, ``amount`` the sum of their amounts after the move
    (what was won, lost, pushed, ...), ``amount_change`` the sum of after minus before.
    """
    grouped = moves.groupby("change", sort=False)
    names = list(CHANGES)
    counts = grouped.size().reindex(names, fill_value=0)
    amounts = grouped["amount_after"].sum().reindex(names, fill_value=0.0)
    deltas = grouped["amount_change"].sum().reindex(names, fill_value=0.0)
    return pd.DataFrame(
        {
            "change": pd.Series(names, dtype=object),
            "count": counts.to_numpy(dtype="int64"),
            "amount": amounts.to_numpy(dtype="float64"),
            "amount_change": deltas.to_numpy(dtype="float64"),
        }
    )


RECORDED_LOG: Derived[pd.DataFrame] = Derived(
    lambda model: record_snapshot(
        model.snapshots, model.prospects, model.settings.as_of, model.stages
    )
)
"""The model's change log with its prospects recorded on ``as_of``, once per model."""


def recorded_log(model: Model) -> pd.DataFrame:
    """The model's change log with the prospects recorded on ``as_of`` (once per model)."""
    return RECORDED_LOG.of(model)
