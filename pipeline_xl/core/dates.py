"""Date cells as Excel and CRM exports hand them over: one cell or a whole column.

`parse_date` reads one cell and never raises (``None`` when unreadable); `parse_dates`
reads a column as ``datetime64[ns]`` plus the `CellProblem` list, inferring the
day/month order from the whole column:

* if any ``a/b/yyyy`` value has ``b > 12`` the column is month-first, otherwise
  day-first (values whose first part is above 12 are read day-first anyway);
  `date_order` gives the evidence itself (how many distinct texts only read month
  first, only day first, or either way), for readers that decide per column and report
  what they could not tell.

Excel serial numbers use the 1900 date system (`pipeline_xl.core.excel`): serials below
61 fall in Excel's fake 1900-02-29 zone and are never real sales dates, so they are
rejected with a problem instead of guessed. Two-digit years follow Excel's window: 00-29
are 20xx, 30-99 are 19xx. Accepted texts: ISO with an optional time, ``15/03/2026``,
``15.03.26``, ``15-03-2026``, ``20260315`` and month names in English or French
(``15 mars 2026``, ``Mar 15, 2026``, ``15-Mar-26``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.cells import (
    BLANK_WORDS,
    EXCEL_ERRORS,
    CellProblem,
    DateArray,
    FloatArray,
    as_array,
    factorize,
    infer_kind,
    is_missing,
    parse_number,
    spread,
)
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.excel import EPOCH_1900, FIRST_SERIAL, serial_date

__all__ = [
    "DateOrder",
    "date_order",
    "parse_as_of",
    "parse_date",
    "parse_dates",
    "parse_month",
]

_EPOCH64 = np.datetime64(EPOCH_1900, "D")
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; keep whole years inside it.
_MIN_DAY = date(1678, 1, 1)
_MAX_DAY = date(2261, 12, 31)
_MAX_SERIAL = (_MAX_DAY - EPOCH_1900).days
_NAT: Any = np.datetime64("NaT", "ns")
_MONTHS_IN_YEAR = 12


_MONTHS = {
    "jan": 1, "january": 1, "janv": 1, "janvier": 1,
    "feb": 2, "february": 2, "fev": 2, "fevr": 2, "fevrier": 2,
    "mar": 3, "march": 3, "mars": 3,
    "apr": 4, "april": 4, "avr": 4, "avril": 4,
    "may": 5, "mai": 5,
    "jun": 6, "june": 6, "juin": 6,
    "jul": 7, "july": 7, "juil": 7, "juillet": 7,
    "aug": 8, "august": 8, "aou": 8, "aout": 8,
    "sep": 9, "sept": 9, "september": 9, "septembre": 9,
    "oct": 10, "october": 10, "octobre": 10,
    "nov": 11, "november": 11, "novembre": 11,
    "dec": 12, "december": 12, "decembre": 12,
}  # fmt: skip
_WEEKDAYS = frozenset(
    {"mon", "monday", "tue", "tues", "tuesday", "wed", "wednesday", "thu", "thur", "thurs",
     "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday", "lun", "lundi", "mardi",
     "mer", "mercredi", "jeu", "jeudi", "ven", "vendredi", "sam", "samedi", "dim", "dimanche",
     "le", "the", "of", "er"}
)  # fmt: skip
_TIME_RE = re.compile(
    r"(?:[T ]\s*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[ap]\.?m\.?)?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2})?)$",
    re.IGNORECASE,
)
_YMD_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_WORD_RE = re.compile(r"[^\W\d_]+|\d+")


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        year += 2000 if year < 30 else 1900
    return year


def _make_date(year: int, month: int, day: int) -> date | str:
    try:
        found = date(year, month, day)
    except ValueError:
        return "not a date"
    if not _MIN_DAY <= found <= _MAX_DAY:
        return "date out of range"
    return found


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()


def _date_text(  # noqa: PLR0911 - one early return per accepted format
    text: str, *, month_first: bool
) -> date | str | None:
    """Parse date text: a date, None for a blank word, or the problem text."""
    stripped = " ".join(text.split())
    if stripped.casefold() in BLANK_WORDS:
        return None
    if stripped.upper() in EXCEL_ERRORS:
        return f"Excel error {stripped.upper()}"
    core = _TIME_RE.sub("", stripped).strip()
    if match := _YMD_RE.match(core):
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _DMY_RE.match(core):
        first, second = int(match[1]), int(match[2])
        if (month_first and first <= 12) or (second > 12 >= first):
            first, second = second, first
        return _make_date(_year(match[3]), second, first)
    if match := _COMPACT_RE.match(core):
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if core.isdigit() and len(core) <= 6:
        return _serial_date(float(core))
    return _named_month_date(core)


def _named_month_date(text: str) -> date | str:
    """``15 mars 2026``, ``Mar 15, 2026``, ``15-Mar-26``, ``lundi 1er mars 2026``."""
    words = [_fold(w) for w in _WORD_RE.findall(text)]
    words = [w for w in words if w not in _WEEKDAYS]
    names = [w for w in words if not w.isdigit()]
    numbers = [w for w in words if w.isdigit()]
    if len(names) != 1 or names[0] not in _MONTHS or len(numbers) != 2:
        return "not a date"
    day_text, year_text = numbers
    if len(day_text) == 4:  # 2026 Mar 15
        day_text, year_text = year_text, day_text
    if len(day_text) > 2 or len(year_text) not in {2, 4}:
        return "not a date"
    return _make_date(_year(year_text), _MONTHS[names[0]], int(day_text))


def _serial_date(serial: float) -> date | str:
    if not math.isfinite(serial):
        return "not a date"
    if serial < FIRST_SERIAL:
        return "number too small for an Excel date (serials start at 61, 1900-03-01)"
    day = serial_date(serial) if serial <= _MAX_SERIAL else None
    return "date out of range" if day is None else day


def _date_cell(value: object, *, month_first: bool) -> tuple[date | None, str | None]:
    """One cell as a date: (date or None, problem or None)."""
    if is_missing(value):
        return None, None
    if isinstance(value, bool | np.bool_):
        return None, "TRUE/FALSE is not a date"
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        if not _MIN_DAY <= day <= _MAX_DAY:
            return None, "date out of range"
        return day, None
    found: date | str | None
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            found = _serial_date(float(value))
        except OverflowError:
            found = "date out of range"
    elif isinstance(value, str):
        found = _date_text(value, month_first=month_first)
    else:
        found = "not a date"
    if isinstance(found, str):
        return None, found
    return found, None


def parse_date(value: object, *, month_first: bool = False) -> date | None:
    """Read one cell as a date; None when blank or unreadable.

    Accepts datetime/date/Timestamp (the time is dropped), Excel serial numbers from 61
    on, ISO text with an optional time, ``15/03/2026``, ``15.03.26``, ``15-03-2026``
    (day first unless ``month_first``), ``20260315`` and month names in English or
    French (``15 mars 2026``, ``Mar 15, 2026``, ``15-Mar-26``).
    """
    try:
        day, _ = _date_cell(value, month_first=month_first)
    except Exception:  # noqa: BLE001 - a cell parser must never raise
        return None
    return day


def parse_as_of(text: str | None, *, option: str = "--as-of") -> date | None:
    """An as-of date typed by a user (``2026-11-30``, ``30/11/2026`` ...); None when blank.

    The one parser of as-of dates given on a command line or as an argument.

    Raises:
        InputError: the text is not a date; the message names ``option``.

    """
    if text is None or not str(text).strip():
        return None
    day = parse_date(str(text).strip())
    if day is None:
        raise InputError(f"{option}: not a date", value=text, expected="a date such as 2026-11-30")
    return day


def parse_month(value: object) -> int | None:
    """A month number (1-12) from a number or an English or French month name."""
    if isinstance(value, str):
        words = _WORD_RE.findall(value)
        if len(words) == 1:
            return _MONTHS.get(_fold(words[0]).rstrip("."))
        return None
    number = parse_number(value)
    if number is not None and number.is_integer() and 1 <= number <= 12:
        return int(number)
    return None


@dataclass(frozen=True, slots=True)
class DateOrder:
    """What the ``a/b/yy`` and ``a/b/yyyy`` texts of a column say about day/month order.

    Counts are of distinct texts: ``month_first`` can only be month first (``6/13/24``),
    ``day_first`` only day first (``13/6/24``), ``ambiguous`` either (``3/4/24``; ``4/4/24``
    reads the same both ways and is not counted). ``month_example`` and ``day_example``
    are the first text of each kind. Evidence adds up (``a + b``) over columns or files.
    """

    month_first: int = 0
    day_first: int = 0
    ambiguous: int = 0
    month_example: str = ""
    day_example: str = ""
    ambiguous_example: str = ""

    def __add__(self, other: DateOrder) -> DateOrder:
        return DateOrder(
            self.month_first + other.month_first,
            self.day_first + other.day_first,
            self.ambiguous + other.ambiguous,
            self.month_example or other.month_example,
            self.day_example or other.day_example,
            self.ambiguous_example or other.ambiguous_example,
        )

    @property
    def order(self) -> Literal["month", "day"] | None:
        """The order the texts tell: the kind seen more often; None when neither is seen."""
        if not self.month_first and not self.day_first:
            return None
        return "month" if self.month_first > self.day_first else "day"

    @property
    def mixed(self) -> bool:
        """Both orders seen: some texts only read month first, others only day first."""
        return bool(self.month_first and self.day_first)


def date_order(values: Sequence[object] | pd.Series | npt.NDArray[Any]) -> DateOrder:
    """The day/month evidence of a column's text dates, from every distinct value."""
    arr = as_array(values)
    if arr.dtype.kind != "O" or not len(arr):
        return DateOrder()
    counts = [0, 0, 0]
    examples = ["", "", ""]
    for text in pd.unique(arr):
        if not isinstance(text, str) or not text[:1].isdigit():
            continue
        match = _DMY_RE.match(_TIME_RE.sub("", text.strip()))
        if not match:
            continue
        first, second = int(match[1]), int(match[2])
        if first == second or not first or not second or min(first, second) > _MONTHS_IN_YEAR:
            continue  # reads the same both ways, or not a date at all
        kind = 2
        if second > _MONTHS_IN_YEAR:
            kind = 0
        elif first > _MONTHS_IN_YEAR:
            kind = 1
        counts[kind] += 1
        examples[kind] = examples[kind] or text.strip()
    return DateOrder(counts[0], counts[1], counts[2], examples[0], examples[1], examples[2])


def parse_dates(
    values: Sequence[object] | pd.Series | npt.NDArray[Any],
) -> tuple[DateArray, list[CellProblem]]:
    """Read a column as ``datetime64[ns]`` at midnight (NaT for blank) plus its problems.

    The day/month order is inferred from the whole column (module docstring).
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    arr = as_array(values)
    if arr.dtype.kind == "M":
        return _datetime_column(arr)
    if arr.dtype.kind in "fiu":
        return _serial_column(arr.astype(np.float64))
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    kind = infer_kind(arr)
    try:
        if kind in {"datetime", "datetime64", "date", "empty"}:
            # cache=False: hashing Timestamp objects costs more than converting them all.
            converted = pd.to_datetime(cast(Any, arr), cache=False)
            if getattr(converted, "tz", None) is None:
                days, bad = _datetime_column(np.asarray(converted))
                if not bad:
                    return days, []
        elif kind in {"floating", "integer", "mixed-integer-float"}:
            return _serial_column(arr.astype(np.float64))
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        pass  # the cell-by-cell path below finds and reports the culprits
    factorized = factorize(arr)
    month_first = date_order(factorized[1]).month_first > 0

    def parse(value: object) -> tuple[object, str | None, bool]:
        try:
            day, problem = _date_cell(value, month_first=month_first)
        except Exception:  # noqa: BLE001 - a cell parser must never raise
            return _NAT, "not a date", True
        return (_NAT if day is None else np.datetime64(day, "ns")), problem, True

    results, index, problems = spread(arr, factorized, parse, _NAT)
    return np.asarray(results, dtype="datetime64[ns]")[index], problems


def _datetime_column(arr: npt.NDArray[Any]) -> tuple[DateArray, list[CellProblem]]:
    """datetime64 of any unit to midnight ``datetime64[ns]``; out-of-range days are problems."""
    days = arr.astype("datetime64[D]")
    bad = ~np.isnat(days) & ((days < np.datetime64(_MIN_DAY)) | (days > np.datetime64(_MAX_DAY)))
    problems = [CellProblem(i, arr[i], "date out of range") for i in np.flatnonzero(bad).tolist()]
    days[bad] = np.datetime64("NaT")
    return days.astype("datetime64[ns]"), problems


def _serial_column(serials: FloatArray) -> tuple[DateArray, list[CellProblem]]:
    """Excel serial numbers to dates, vectorised; out-of-range serials are problems."""
    present = ~np.isnan(serials)
    ok = present & (serials >= FIRST_SERIAL) & (serials <= _MAX_SERIAL)
    days = np.where(ok, serials, 0).astype(np.int64)
    out = (_EPOCH64 + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    out[~ok] = _NAT
    problems = []
    for i in np.flatnonzero(present & ~ok).tolist():
        found = _serial_date(float(serials[i]))
        problem = found if isinstance(found, str) else "not a date"
        problems.append(CellProblem(i, float(serials[i]), problem))
    return out, problems
