"""The sample company's forecast calls: what each rep and the manager committed to, week by week.

`sample_calls` writes the Forecast calls sheet of the sample company
(`pipeline_xl.core.sample`) from the deals the simulation will win, with its own seeded
generator (the other sheets stay as they are):

* every rep calls each month of the targets: an opening call on the last Friday before
  the month, then on most Mondays of the month (a rep skips a week one time in five), up
  to ``as_of``; each call gives a commit, a most likely and a best case;
* a call is what the rep has won so far in the month plus the rest of what the month
  will bring as the rep senses it (mostly what it will really bring, which the simulation
  knows, partly the rep's usual month), seen through the rep's temperament and some
  noise that shrinks as the month goes by: about a third of the reps are optimistic
  (they call 18% to 35% above), a third sandbag (15% to 30% below), the rest are close;
  most likely and best case add a share of the rest on top of the commit;
* the manager (a blank owner: the team) calls the team's month on the same days: the
  sum of the reps' commits standing, trimmed by 5%; and the quarter at its opening and
  at each month's opening. The manager adjusts some of the optimistic reps' commits
  down towards what their record says (the Manager adjustment column);
* a commit that moved more than 15% since the rep's previous one carries a comment.

Amounts are rounded to the thousand; dates are ``datetime64`` and blanks NaN or None, as
a user's sheet holds them.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.periods import period_of
from pipeline_xl.core.sample_text import (
    dates_of,
    month_labels,
    month_of,
    month_start,
    weekday,
)

__all__ = ["CALL_HEADERS", "sample_calls"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

CALL_HEADERS = (
    "Period", "Owner", "Call type", "Amount", "Submitted on", "Submitted by",
    "Manager adjustment", "Comment",
)  # fmt: skip
"""The sheet's headers, as a user keeps them."""

_TYPES = ("Commit", "Most likely", "Best case")
_ON_TOP = (1.0, 1.12, 1.35)  # most likely and best case: more of the rest of the month
_TEMPERAMENTS = ((1.18, 1.35), (0.70, 0.85), (0.95, 1.05))  # optimistic, sandbagging, close
_SKIP = 0.2  # chance a rep skips a weekly call
_TRIM = 0.95  # the manager trims the sum of the reps' commits
_ADJUST = 0.3  # share of an optimistic rep's commits the manager adjusts
_MOVED = 0.15  # a commit that moved more than this since the last one carries a comment
_ROUND = 1000.0
_HABIT = 0.25  # weight of the rep's usual month in what the rep senses is still to come
_FRIDAY, _MONDAY = 4, 0
_UP = ("Signed earlier than planned", "New deal in negotiation", "Pulled a deal in")
_DOWN = ("A deal slipped to next month", "Customer postponed the order", "Lost a big deal")


def _temperaments(rng: np.random.Generator, n: int) -> FloatArray:
    """Each rep's call / truth ratio: optimistic, sandbagging and close reps, shuffled."""
    kinds = np.full(n, 2, dtype=np.int64)
    if n >= 3:
        third = max(1, round(n * 0.3))
        kinds[:third] = 0
        kinds[third : 2 * third] = 1
    kinds = rng.permutation(kinds)
    low = np.array([_TEMPERAMENTS[k][0] for k in kinds.tolist()])
    high = np.array([_TEMPERAMENTS[k][1] for k in kinds.tolist()])
    return rng.uniform(low, high)


def _call_days(month: int, as_of_day: int) -> IntArray:
    """The opening call (last Friday before the month) and the month's Mondays, to as_of."""
    first = int(month_start(np.array([month], dtype=np.int64))[0])
    end = int(month_start(np.array([month + 1], dtype=np.int64))[0])
    friday = first - 1 - int((weekday(np.array([first - 1]))[0] - _FRIDAY) % 7)
    days = np.arange(first, end, dtype=np.int64)
    mondays = days[weekday(days) == _MONDAY]
    out = np.concatenate([[friday], mondays]).astype(np.int64)
    return out[out <= as_of_day]


def _rounded(value: FloatArray) -> FloatArray:
    return np.maximum(0.0, np.round(value / _ROUND) * _ROUND)


class _Rows:
    """The sheet's rows as columns, appended call by call."""

    def __init__(self) -> None:
        self.columns: dict[str, list[object]] = {h: [] for h in CALL_HEADERS}

    def add(
        self,
        period: str,
        owner: str | None,
        amounts: FloatArray,
        *,
        day: int,
        by: str,
        adjustment: float = float("nan"),
        comment: str | None = None,
    ) -> None:
        """One call: a row for each type (the adjustment and comment on the commit's)."""
        for i, kind in enumerate(_TYPES):
            values = (
                period, owner, kind, float(amounts[i]), day, by,
                adjustment if i == 0 else float("nan"), comment if i == 0 else None,
            )  # fmt: skip
            for header, value in zip(CALL_HEADERS, values, strict=True):
                self.columns[header].append(value)

    def frame(self) -> pd.DataFrame:
        data: dict[str, object] = dict(self.columns)
        data["Submitted on"] = dates_of(np.array(self.columns["Submitted on"], dtype=np.int64))
        for header in ("Amount", "Manager adjustment"):
            data[header] = np.array(self.columns[header], dtype=np.float64)
        for header in ("Owner", "Comment"):
            data[header] = np.array(self.columns[header], dtype=object)
        return pd.DataFrame({h: pd.Series(data[h]) for h in CALL_HEADERS})


def sample_calls(
    rng: np.random.Generator,
    *,
    rep_names: ObjArray,
    manager: str,
    won_rep: IntArray,
    won_day: IntArray,
    won_amount: FloatArray,
    first_month: int,
    as_of_day: int,
    fiscal_start: int,
) -> pd.DataFrame:
    """The Forecast calls sheet (module notes).

    ``won_rep``, ``won_day`` and ``won_amount`` describe every deal the simulation wins,
    also after ``as_of``; months count from 1970-01 and days from 1970-01-01. Calls run
    from ``first_month`` to the month after ``as_of`` (whose opening call may be made).
    """
    n_reps = rep_names.size
    temper = _temperaments(rng, n_reps)
    optimistic = temper > _TEMPERAMENTS[0][0] - 1e-9
    last_month = int(month_of(np.array([as_of_day], dtype=np.int64))[0]) + 1
    rows = _Rows()
    won_month = month_of(won_day)
    months = max(1, last_month - first_month)
    shown = (won_month >= first_month) & (won_month < last_month)
    usual = np.bincount(won_rep[shown], won_amount[shown], minlength=n_reps) / months
    quarter_opened: set[str] = set()
    for month in range(first_month, last_month + 1):
        label = month_labels(np.array([month], dtype=np.int64))[0]
        first = int(month_start(np.array([month], dtype=np.int64))[0])
        end = int(month_start(np.array([month + 1], dtype=np.int64))[0])
        in_month = won_month == month
        truth = np.bincount(won_rep[in_month], won_amount[in_month], minlength=n_reps)
        standing = np.full(n_reps, np.nan)
        for k, day in enumerate(_call_days(month, as_of_day).tolist()):
            before = in_month & (won_day < day)
            so_far = np.bincount(won_rep[before], won_amount[before], minlength=n_reps)
            left = min(1.0, max(0.0, (end - day) / (end - first)))
            rest = np.maximum(truth - so_far, 0.0) * (1 - _HABIT) + usual * left * _HABIT
            noise = np.exp(rng.normal(0.0, 0.05 + 0.2 * left, n_reps))
            calls = np.stack([_rounded(so_far + rest * temper * noise * f) for f in _ON_TOP])
            skip = (rng.random(n_reps) < _SKIP) & (k > 0)
            adjust = optimistic & (rng.random(n_reps) < _ADJUST)
            for r in np.flatnonzero(~skip).tolist():
                commit, previous = calls[0, r], standing[r]
                comment = None
                if previous > 0 and abs(commit - previous) > _MOVED * previous:
                    words = _UP if commit > previous else _DOWN
                    comment = words[int(rng.integers(len(words)))]
                fair = float(_rounded(so_far[r : r + 1] + rest[r : r + 1])[0])
                adjustment = fair if adjust[r] and commit > fair else float("nan")
                rows.add(label, rep_names[r], calls[:, r], day=day, by=rep_names[r],
                         adjustment=adjustment, comment=comment)  # fmt: skip
                standing[r] = commit
            team = np.nansum(standing) * _TRIM
            called = np.isfinite(standing)
            if called.any():
                more = float(rest[called].sum())
                amounts = _rounded(np.array([team, team + 0.12 * more, team + 0.35 * more]))
                rows.add(label, None, amounts, day=day, by=manager)
            _quarter_call(
                rows, rng, month=month, day=day, fiscal_start=fiscal_start,
                opened=quarter_opened, manager=manager, won=(won_day, won_amount),
            )  # fmt: skip
    return rows.frame()


def _quarter_call(
    rows: _Rows,
    rng: np.random.Generator,
    *,
    month: int,
    day: int,
    fiscal_start: int,
    opened: set[str],
    manager: str,
    won: tuple[IntArray, FloatArray],
) -> None:
    """The manager's quarter call: at the quarter's opening and each month's opening call."""
    won_day, won_amount = won
    first_day = date.fromordinal(
        date(1970, 1, 1).toordinal() + int(month_start(np.array([month], dtype=np.int64))[0])
    )
    quarter = period_of(first_day, "quarter", fiscal_start)
    is_opening = day < int(month_start(np.array([month], dtype=np.int64))[0])
    if not is_opening or (quarter.start != first_day and quarter.label not in opened):
        return
    opened.add(quarter.label)
    start = (quarter.start - date(1970, 1, 1)).days
    end = (quarter.end - date(1970, 1, 1)).days
    inside = (won_day >= start) & (won_day < end)
    truth = float(won_amount[inside].sum())
    so_far = float(won_amount[inside & (won_day < day)].sum())
    rest = truth - so_far
    noise = float(np.exp(rng.normal(0.0, 0.08)))
    commit = so_far + rest * _TRIM * noise
    amounts = _rounded(np.array([commit, commit + 0.12 * rest, commit + 0.35 * rest]))
    rows.add(quarter.label, None, amounts, day=day, by=manager)
