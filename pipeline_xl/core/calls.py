"""Forecast calls: the call as of a date, how it moved week by week, and how accurate it was.

A call is one row of the Forecast calls table (`pipeline_xl.core.contract.CALLS`): what an
owner (blank: the whole team, the manager's own call) says a period will bring, of one
type (commit: the firm number; most likely; best case), submitted on a day by someone,
with an optional manager adjustment and a comment. Rows are only ever added: a new call
for the same period and owner is a new row, so the table is the calls' whole history.

* **The call as of a date** (`latest_call`): among the calls for that period, owner and
  type submitted on or before the date, the latest; of two submitted the same day, the
  later row. Its value is the manager's adjustment when there is one, else the amount.
  Without a date the latest call of all counts. Periods match by their days (``2026-Q1``
  and ``2026-01-01`` to ``2026-03-31`` are one period); owners ignoring case, accents and
  spaces (`contract.norm_key`).
* **The opening call** (`opening_call`): the call as of the period's first day, else the
  first call submitted during the period. The refresh sets it against the system's
  baseline forecast, made on the same first day (`pipeline_xl.core.variance`).
* **The weekly history** (`weekly_calls`): the call standing at the end of each week of
  the period (weeks of seven days from its first day, the last one shorter,
  `period_weeks`), up to the as-of date; a week before any call has none. As text
  (`trend_text`) only the weeks where the call moved are named.
* **Accuracy** (`call_accuracy`), per owner over the last `ACCURACY_PERIODS` closed
  periods in which the owner made an opening commit call: A = won, F = that commit as the
  owner submitted it (the owner's own word: adjustments left out); WAPE = sum |A - F| /
  sum A and bias = sum (F - A) / sum A (`pipeline_xl.core.variance.score`, README,
  Definitions), and the same for the system's baseline forecast over the same periods; the
  hit rate is the share of those periods in which won reached the commit. A bias above
  `BIAS_TOLERANCE` reads "optimistic", below minus that "sandbagging".

Nothing here reads the clock: every as-of date is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.cells import clean_text, parse_number
from pipeline_xl.core.contract import (
    CALL_FORM_FIELDS,
    CALL_TYPE_LABELS,
    DASHBOARD,
    call_type_word,
    norm_key,
)
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Settings
from pipeline_xl.core.periods import Period
from pipeline_xl.core.variance import score

__all__ = [
    "ACCURACY_PERIODS",
    "BIAS_TOLERANCE",
    "CALL_TYPES",
    "Call",
    "CallBook",
    "call_accuracy",
    "call_kind",
    "call_rows",
    "compact_amount",
    "form_calls",
    "latest_call",
    "new_calls",
    "opening_call",
    "period_weeks",
    "team_weeks",
    "trend_text",
    "weekly_calls",
]

CALL_TYPES: tuple[str, ...] = tuple(CALL_TYPE_LABELS)
"""commit, most_likely, best_case: the contract's call types, in that order."""
ACCURACY_PERIODS = 6
"""How many of the last closed periods the accuracy table scores."""
BIAS_TOLERANCE = 0.10
"""A call bias beyond +/- this reads as optimistic / sandbagging."""

_NS = "datetime64[ns]"
_WEEK = 7


@dataclass(frozen=True, slots=True)
class Call:
    """One call as the table holds it; ``value`` is what counts (the adjustment, if any)."""

    period: str
    owner: str
    kind: str
    value: float
    amount: float
    adjustment: float
    submitted_on: date
    submitted_by: str
    comment: str
    row: int


def call_kind(text: object, argument: str = "type") -> str:
    """The call type ``text`` names (blank: commit).

    Raises:
        InputError: not a call type.

    """
    if text is None or not str(text).strip():
        return "commit"
    found = call_type_word(text)
    if found is None:
        words = ", ".join(CALL_TYPE_LABELS.values())
        raise InputError(f"{argument}: {str(text).strip()!r} is not a call type", expected=words)
    return found


def _ts(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.date() if isinstance(day, datetime) else day)


def _ns(day: date) -> np.datetime64:
    return np.datetime64(_ts(day).value, "ns")


_Key = tuple[np.datetime64, np.datetime64, str, str]


class CallBook:
    """A calls table indexed by period, owner and type, each group in submission order.

    Built once (owners are matched through `norm_key` per distinct name), then every
    question about one period, owner and type reads its group alone.
    """

    def __init__(self, calls: pd.DataFrame) -> None:
        frame = calls.sort_values(["submitted_on", "row"], kind="stable").reset_index(drop=True)
        codes, names = pd.factorize(frame["owner"].astype(str))
        keys = np.array([norm_key(n) for n in names] or [""], dtype=object)
        owner_key = keys[np.maximum(codes, 0)] if len(frame) else np.array([], dtype=object)
        self.frame = frame
        self._records = frame.to_dict("records")
        self.days = frame["submitted_on"].to_numpy(dtype=_NS)
        self.values = frame["value"].to_numpy(dtype="float64")
        starts = frame["start"].to_numpy(dtype=_NS)
        ends = frame["end"].to_numpy(dtype=_NS)
        kinds = frame["type"].to_numpy(dtype=object)
        groups: dict[_Key, list[int]] = {}
        for i, key in enumerate(zip(starts, ends, owner_key.tolist(), kinds.tolist(), strict=True)):
            groups.setdefault(key, []).append(i)
        self._groups = {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}

    def rows(self, start: date, end: date, owner: str, kind: str) -> npt.NDArray[np.int64]:
        """Positions of the calls for one period, owner and type, oldest first."""
        key = (_ns(start), _ns(end), norm_key(owner), kind)
        return self._groups.get(key, np.zeros(0, dtype=np.int64))

    def call(self, position: int) -> Call:
        """The call at ``position``."""
        row = self._records[position]
        return Call(
            period=str(row["period"]),
            owner=str(row["owner"]),
            kind=str(row["type"]),
            value=float(row["value"]),
            amount=float(row["amount"]),
            adjustment=float(row["adjustment"]),
            submitted_on=pd.Timestamp(row["submitted_on"]).date(),
            submitted_by=str(row["submitted_by"]),
            comment=str(row["comment"]),
            row=int(row["row"]),
        )

    def _until(self, found: npt.NDArray[np.int64], day: date | None) -> npt.NDArray[np.int64]:
        if day is None or not found.size:
            return found
        n = int(np.searchsorted(self.days[found], _ns(day), side="right"))
        return found[:n]

    def latest(
        self, period: Period, owner: str = "", kind: str = "commit", as_of: date | None = None
    ) -> Call | None:
        """The call as of ``as_of`` (module notes)."""
        found = self._until(self.rows(period.start, period.end, owner, kind), as_of)
        return self.call(int(found[-1])) if found.size else None

    def opening(
        self, period: Period, owner: str = "", kind: str = "commit", as_of: date | None = None
    ) -> Call | None:
        """The call as of the period's first day, else the first made in it (to ``as_of``)."""
        found = self._until(self.rows(period.start, period.end, owner, kind), as_of)
        before = self._until(found, period.start)
        if before.size:
            return self.call(int(before[-1]))
        inside = found[self.days[found] < _ns(period.end)] if found.size else found
        return self.call(int(inside[0])) if inside.size else None

    def weekly(
        self, period: Period, owner: str = "", kind: str = "commit", as_of: date | None = None
    ) -> list[tuple[date, float | None]]:
        """(week's first day, the call standing at its end or on ``as_of``) per week begun."""
        found = self.rows(period.start, period.end, owner, kind)
        days = self.days[found]
        out: list[tuple[date, float | None]] = []
        for first, last in period_weeks(period, as_of):
            n = int(np.searchsorted(days, _ns(last), side="right"))
            out.append((first, float(self.values[found[n - 1]]) if n else None))
        return out


def latest_call(
    calls: pd.DataFrame,
    period: Period,
    owner: str = "",
    kind: str = "commit",
    as_of: date | None = None,
) -> Call | None:
    """The call of ``owner`` ("" = team) for ``period`` as of ``as_of`` (module notes)."""
    return CallBook(calls).latest(period, owner, kind, as_of)


def opening_call(
    calls: pd.DataFrame,
    period: Period,
    owner: str = "",
    kind: str = "commit",
    as_of: date | None = None,
) -> Call | None:
    """The call as of the period's first day, else the first made in it (up to ``as_of``)."""
    return CallBook(calls).opening(period, owner, kind, as_of)


def period_weeks(period: Period, as_of: date | None) -> list[tuple[date, date]]:
    """(first day, last day) of each week of ``period`` begun by ``as_of`` (last one cut)."""
    out = []
    first = period.start
    last_day = period.end - timedelta(days=1)
    while first <= last_day and (as_of is None or first <= as_of):
        end = min(first + timedelta(days=_WEEK - 1), last_day)
        if as_of is not None:
            end = min(end, as_of)
        out.append((first, end))
        first += timedelta(days=_WEEK)
    return out


def weekly_calls(
    calls: pd.DataFrame,
    period: Period,
    owner: str = "",
    kind: str = "commit",
    as_of: date | None = None,
) -> list[tuple[date, float | None]]:
    """(week's first day, the call standing at its end or on ``as_of``) for each week begun."""
    return CallBook(calls).weekly(period, owner, kind, as_of)


def compact_amount(value: float) -> str:
    """An amount in a few characters: ``950``, ``12k``, ``120k``, ``1.25M``."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e3:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}"


def trend_text(values: Sequence[float | None]) -> str:
    """The weekly calls as text: ``W1 - · W3 110k · W5 120k`` (``-``: no call yet).

    A week whose call is the previous week's is left out: what remains is where the call
    moved, and the week it did.
    """
    shown = [
        f"W{i} {'-' if v is None else compact_amount(v)}"
        for i, v in enumerate(values, start=1)
        if i == 1 or v != values[i - 2]
    ]
    return " · ".join(shown)


def _span(start: object, end: object) -> Period:
    """The period [start, end) of two timestamps (its kind plays no part in matching)."""
    return Period(pd.Timestamp(start).date(), pd.Timestamp(end).date(), "month")  # type: ignore[arg-type]


class _Spans:
    """The variance table's rows per owner as arrays, to add up a call's period."""

    def __init__(self, variance: pd.DataFrame) -> None:
        self.by_owner: dict[str, pd.DataFrame] = {
            str(o): g for o, g in variance.groupby("owner", sort=False)
        }
        self.arrays = {
            o: (g["start"].to_numpy(dtype=_NS), g["end"].to_numpy(dtype=_NS))
            for o, g in self.by_owner.items()
        }

    def covering(self, owner: str, start: date, end: date) -> pd.DataFrame | None:
        """The rows of ``owner`` that tile [start, end) exactly, else None."""
        if owner not in self.arrays:
            return None
        starts, ends = self.arrays[owner]
        inside = (starts >= _ns(start)) & (ends <= _ns(end))
        days = int(((ends[inside] - starts[inside]) // np.timedelta64(1, "D")).sum())
        if not inside.any() or days != (end - start).days:
            return None
        return self.by_owner[owner].loc[inside]


def _state(rows: pd.DataFrame) -> str:
    states = set(rows["state"].astype(str))
    return states.pop() if len(states) == 1 else "current"


_ROW_COLUMNS = [
    "period", "start", "end", "owner", "state", "target", "opening", "latest", "called_on",
    "most_likely", "best_case", "expected", "won", "call_minus_won", "call_minus_expected",
    "trend",
]  # fmt: skip


def call_rows(calls: pd.DataFrame, variance: pd.DataFrame, as_of: date) -> tuple[pd.DataFrame, int]:
    """Every period and owner with a call by ``as_of``, beside the system's figures.

    ``variance`` is a `pipeline_xl.core.variance.variance_table`. A call's period is shown
    when that table's periods tile it (a quarter of a monthly workbook adds its months'
    won, expected and target). Columns: period, start, end, owner, state, target (NaN
    without one), opening, latest (the commit as of ``as_of``), called_on, most_likely,
    best_case, expected, won, call_minus_won, call_minus_expected, trend (`trend_text`
    of the commit). Returns the
    rows (by period, the team first, then owners by name) and how many (period, owner)
    pairs with calls could not be shown.
    """
    known = calls.loc[calls["submitted_on"] <= _ts(as_of)] if len(calls) else calls
    if known.empty:
        return pd.DataFrame(columns=_ROW_COLUMNS), 0
    pairs = known.drop_duplicates(["start", "end", "owner"])[["period", "start", "end", "owner"]]
    book = CallBook(known)
    spans = _Spans(variance)
    records = []
    hidden = 0
    for pair in pairs.itertuples(index=False):
        period = _span(pair.start, pair.end)
        owner = str(pair.owner)
        rows = spans.covering(owner, period.start, period.end)
        if rows is None:
            hidden += 1
            continue
        latest = {k: book.latest(period, owner, k) for k in CALL_TYPES}
        opening = book.opening(period, owner)
        commit = latest["commit"]
        won, expected = float(rows["won"].sum()), float(rows["expected"].sum())
        target = float(rows["target"].sum(min_count=len(rows)))
        value = commit.value if commit is not None else math.nan
        weeks = [v for _, v in book.weekly(period, owner, "commit", as_of)]
        records.append({
            "period": str(pair.period), "start": pair.start, "end": pair.end, "owner": owner,
            "state": _state(rows), "target": target,
            "opening": opening.amount if opening is not None else math.nan,
            "latest": value,
            "called_on": commit.submitted_on if commit is not None else None,
            "most_likely": latest["most_likely"].value if latest["most_likely"] else math.nan,
            "best_case": latest["best_case"].value if latest["best_case"] else math.nan,
            "expected": expected, "won": won,
            "call_minus_won": value - won, "call_minus_expected": value - expected,
            "trend": trend_text(weeks) if commit is not None else "",
        })  # fmt: skip
    out = pd.DataFrame.from_records(records, columns=_ROW_COLUMNS)
    if out.empty:
        return out, hidden
    out = out.assign(_team=out["owner"] != "", _days=out["end"] - out["start"])
    out = out.sort_values(["start", "_days", "_team", "owner"], kind="stable")
    return out.drop(columns=["_team", "_days"]).reset_index(drop=True), hidden


_ACCURACY_COLUMNS = [
    "owner", "periods", "won", "call", "call_wape", "call_bias", "forecast", "forecast_wape",
    "forecast_bias", "hit_rate", "reading",
]  # fmt: skip


def _reading(bias: float) -> str:
    if math.isnan(bias):
        return ""
    if bias > BIAS_TOLERANCE:
        return "optimistic"
    if bias < -BIAS_TOLERANCE:
        return "sandbagging"
    return "balanced"


def call_accuracy(
    calls: pd.DataFrame,
    variance: pd.DataFrame,
    as_of: date,
    periods: int = ACCURACY_PERIODS,
) -> pd.DataFrame:
    """Per owner, the opening commits against won and the system's baseline (module notes).

    ``variance`` is a `pipeline_xl.core.variance.variance_table`; its last ``periods``
    closed periods are scored. Columns: owner, periods, won, call, call_wape, call_bias,
    forecast, forecast_wape, forecast_bias, hit_rate, reading. The team ("") comes first,
    then owners by call bias, highest first (the most optimistic at the top).
    """
    known = calls.loc[calls["submitted_on"] <= _ts(as_of)] if len(calls) else calls
    closed = variance.loc[variance["state"] == "closed"]
    starts = sorted(set(closed["start"]))[-periods:] if periods > 0 else []
    closed = closed.loc[closed["start"].isin(starts)]
    book = CallBook(known)
    records = []
    for owner, group in closed.groupby("owner", sort=True):
        won, said, system = [], [], []
        for row in group.itertuples(index=False):
            period = _span(row.start, row.end)
            opening = book.opening(period, str(owner))
            if opening is None:
                continue
            won.append(float(str(row.won)))
            said.append(opening.amount)
            system.append(float(str(row.baseline)))
        if not said:
            continue
        a, f, s = (np.asarray(x, dtype="float64") for x in (won, said, system))
        has_base = ~np.isnan(s)
        call_wape, call_bias = score(a, f)
        base_wape, base_bias = (
            score(a[has_base], s[has_base]) if has_base.any() else (math.nan, math.nan)
        )
        records.append({
            "owner": str(owner), "periods": len(said), "won": float(a.sum()),
            "call": float(f.sum()), "call_wape": call_wape, "call_bias": call_bias,
            "forecast": float(s[has_base].sum()) if has_base.any() else math.nan,
            "forecast_wape": base_wape, "forecast_bias": base_bias,
            "hit_rate": float((a >= f).mean()), "reading": _reading(call_bias),
        })  # fmt: skip
    out = pd.DataFrame.from_records(records, columns=_ACCURACY_COLUMNS)
    if out.empty:
        return out
    team = out.loc[out["owner"] == ""]
    reps = out.loc[out["owner"] != ""].sort_values(
        ["call_bias", "owner"], ascending=[False, True], na_position="last", kind="stable"
    )
    return pd.concat([team, reps], ignore_index=True)


def team_weeks(
    calls: pd.DataFrame, prospects: pd.DataFrame, period: Period, as_of: date
) -> pd.DataFrame:
    """The team's calls of each type standing at each week's end, and won to date then.

    Columns: week (first day), week_end (its last day, or ``as_of``), commit,
    most_likely, best_case (NaN before any call), won_to_date (won deals closed from the
    period's first day to the week's end).
    """
    columns: dict[str, list[object]] = {
        "week": [], "week_end": [last for _, last in period_weeks(period, as_of)],
    }  # fmt: skip
    book = CallBook(calls)
    for kind in CALL_TYPES:
        weeks = book.weekly(period, "", kind, as_of)
        columns["week"] = [w for w, _ in weeks]
        columns[kind] = [math.nan if v is None else v for _, v in weeks]
    won = prospects.loc[(prospects["status"] == "won") & prospects["closed"].notna()]
    closed = won["closed"].to_numpy(dtype=_NS)
    amounts = np.nan_to_num(won["amount"].to_numpy(dtype="float64"))
    start = np.datetime64(period.start, "ns")
    totals: list[object] = []
    for _, last in period_weeks(period, as_of):
        inside = (closed >= start) & (closed <= np.datetime64(last, "ns"))
        totals.append(float(amounts[inside].sum()))
    columns["won_to_date"] = totals
    return pd.DataFrame(columns)


def new_calls(
    period: Period,
    owner: str,
    amounts: dict[str, float | None],
    *,
    submitted_on: date,
    submitted_by: str = "",
    comment: str = "",
) -> list[dict[str, object]]:
    """The rows one submission adds to the table: one per call type given, in type order.

    ``amounts`` maps call types (``commit``, ``most_likely``, ``best_case``) to amounts
    (None: not called). Rows are keyed by contract field name; the manager adjustment
    stays blank.

    Raises:
        InputError: no amount, a negative or non-finite one, or an unknown type.

    """
    unknown = [k for k in amounts if k not in CALL_TYPES]
    if unknown:
        raise InputError(f"unknown call type {unknown[0]!r}", expected=", ".join(CALL_TYPES))
    given = {k: v for k, v in amounts.items() if v is not None}
    if not given:
        raise InputError(
            "no call amount given", expected="a commit, most likely or best case amount"
        )
    for kind, value in given.items():
        if not math.isfinite(value) or value < 0:
            raise InputError(
                f"{CALL_TYPE_LABELS[kind]}: not an amount",
                value=value,
                expected="a number of 0 or more",
            )
    return [
        {
            "period": period.label,
            "owner": owner,
            "type": CALL_TYPE_LABELS[kind],
            "amount": float(given[kind]),
            "submitted_on": submitted_on,
            "submitted_by": submitted_by,
            "adjustment": None,
            "comment": comment,
        }
        for kind in CALL_TYPES
        if kind in given
    ]


def form_calls(values: Sequence[object], settings: Settings, day: date) -> list[dict[str, object]]:
    """The rows the Dashboard's call form adds, dated ``day`` (`new_calls`).

    ``values`` are the form's cells in `contract.CALL_FORM_FIELDS` order. A blank period
    is the month of ``day``; other periods are read with the workbook's fiscal calendar.
    Amounts may be numbers or number text (``120 000``, ``120,000.50``).

    Raises:
        InputError: an unreadable period or amount, or no amount at all.

    """
    cells = dict(zip(CALL_FORM_FIELDS, [*values, *[None] * len(CALL_FORM_FIELDS)], strict=False))
    text = clean_text(cells["period"])
    if text:
        try:
            period = settings.parse_period(cells["period"])
        except (InputError, ValueError) as err:
            raise InputError(
                f"{DASHBOARD}: call form: the period {text!r} is not a period",
                expected="a month (2026-03) or a quarter (2026-Q1), or blank",
            ) from err
    else:
        period = settings.period_of(day, "month")
    amounts: dict[str, float | None] = {}
    for kind in CALL_TYPES:
        cell = cells[kind]
        number = parse_number(cell) if clean_text(cell) else None
        if clean_text(cell) and number is None:
            raise InputError(
                f"{DASHBOARD}: call form: {CALL_TYPE_LABELS[kind]} is not an amount",
                value=cell,
                expected="a number such as 120000",
            )
        amounts[kind] = number
    return new_calls(
        period,
        clean_text(cells["owner"]),
        amounts,
        submitted_on=day,
        submitted_by=clean_text(cells["by"]),
        comment=clean_text(cells["comment"]),
    )
