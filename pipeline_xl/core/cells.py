"""Cell parsing: numbers, dates and text as Excel and CRM exports hand them over.

One-cell functions (`parse_number`, `parse_date`, `clean_text`) never raise; bad input
gives ``None`` (or ``""``). Column functions (`parse_numbers`, `parse_dates`,
`clean_texts`) return a typed array plus the list of `CellProblem` found, and infer
conventions from the whole column:

* decimal separator: if any value clearly uses a decimal comma (``12,5``,
  ``1.234,50``, ``0,125``), ambiguous values such as ``1.234`` or ``1,234`` follow the
  comma convention; otherwise the dot convention (``1,234`` is one thousand two hundred
  thirty-four);
* day/month order: if any ``a/b/yyyy`` value has ``b > 12`` the column is month-first,
  otherwise day-first (values whose first part is above 12 are read day-first anyway).
  `date_order` gives the evidence itself (how many distinct texts only read month
  first, only day first, or either way), for readers that decide per column and report
  what they could not tell.

Excel serial numbers use the 1900 date system (`pipeline_xl.core.excel`): serials below 61
fall in Excel's fake 1900-02-29 zone and are never real sales dates, so they are rejected
with a problem instead of guessed.
Two-digit years follow Excel's window: 00-29 are 20xx, 30-99 are 19xx.

Speed: a column is parsed once per distinct value (``pandas.factorize``) and columns
that already hold floats or datetimes take vectorised paths, so a clean 100k-row column
costs milliseconds.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.excel import EPOCH_1900, FIRST_SERIAL, serial_date

__all__ = [
    "EXCEL_ERRORS",
    "CellProblem",
    "DateOrder",
    "clean_text",
    "clean_text_codes",
    "clean_texts",
    "date_order",
    "excel_error",
    "is_blank",
    "parse_as_of",
    "parse_date",
    "parse_dates",
    "parse_distinct",
    "parse_month",
    "parse_number",
    "parse_numbers",
]

EXCEL_ERRORS = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!"}
)
_BLANK_WORDS = frozenset({"", "-", "--", "\u2013", "\u2014", "n/a", "na", "none", "null", "nan"})
_FORMULA_START = ("=", "+", "-", "@")
_EPOCH64 = np.datetime64(EPOCH_1900, "D")
# datetime64[ns] holds 1677-09-21 .. 2262-04-11; keep whole years inside it.
_MIN_DAY = date(1678, 1, 1)
_MAX_DAY = date(2261, 12, 31)
_MAX_SERIAL = (_MAX_DAY - EPOCH_1900).days
_NAT: Any = np.datetime64("NaT", "ns")
_MONTHS_IN_YEAR = 12

FloatArray = npt.NDArray[np.float64]
DateArray = npt.NDArray[np.datetime64]
ObjectArray = npt.NDArray[np.object_]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CellProblem:
    """A doubtful cell in a column.

    ``index`` is the 0-based position in the column; ``lost`` is True when the cell
    could not be read and was taken as blank, False when the value was kept as read.
    """

    index: int
    value: object
    problem: str
    lost: bool = True


# --------------------------------------------------------------------------- helpers


def excel_error(value: object) -> str | None:
    """The Excel error code (``#N/A``, ``#REF!`` ...) that ``value`` holds, else None."""
    if isinstance(value, str):
        code = value.strip().upper()
        if code in EXCEL_ERRORS:
            return code
    return None


def is_blank(value: object) -> bool:
    """True for an empty cell: None, NaN, NaT, NA or text made only of spaces."""
    if isinstance(value, str):
        return not value.strip()
    return _is_missing(value)


def _is_missing(value: object) -> bool:
    """None, NaN, NaT or NA (not blank text)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, np.datetime64) and bool(np.isnat(value))


def _as_array(values: Sequence[object] | pd.Series | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A 1-D numpy array view of a column, keeping typed dtypes (float, datetime)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            values = values.reshape(-1)
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def _spread(
    values: ObjectArray,
    factorized: tuple[npt.NDArray[np.intp], ObjectArray],
    parse: Callable[[object], tuple[_T, str | None, bool]],
    blank: _T,
) -> tuple[list[_T], npt.NDArray[np.intp], list[CellProblem]]:
    """Parse each distinct value once and spread the results over the column.

    Returns the distinct results (plus ``blank`` last), the index of each cell's result
    and the problems. ``pandas.factorize`` treats ``True`` and ``1.0`` as one key, so
    cells equal to 0 or 1 whose type differs from their group's are parsed on their own.
    """
    codes, uniques = factorized
    results: list[_T] = []
    notes: dict[int, tuple[str, bool]] = {}
    ambiguous: list[int] = []
    for k, unique in enumerate(uniques):
        result, problem, lost = parse(unique)
        results.append(result)
        if problem is not None:
            notes[k] = (problem, lost)
        if _bool_like(unique):
            ambiguous.append(k)
    index = codes.astype(np.intp)
    index[codes < 0] = len(results)
    results.append(blank)
    own: dict[int, tuple[str, bool] | None] = {}
    if ambiguous:
        for pos in np.flatnonzero(np.isin(codes, ambiguous)).tolist():
            cell = values[pos]
            if type(cell) is not type(uniques[codes[pos]]):
                result, problem, lost = parse(cell)
                index[pos] = len(results)
                results.append(result)
                own[pos] = None if problem is None else (problem, lost)
    problems: list[CellProblem] = []
    if notes or own:
        flagged = np.isin(codes, list(notes))
        flagged[list(own)] = True
        for pos in np.flatnonzero(flagged).tolist():
            note = own[pos] if pos in own else notes.get(int(codes[pos]))
            if note is not None:
                problems.append(CellProblem(pos, values[pos], note[0], note[1]))
    return results, index, problems


def _factorize(values: ObjectArray) -> tuple[npt.NDArray[np.intp], ObjectArray]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.intp), np.asarray(uniques, dtype=object)


def parse_distinct(
    values: Sequence[object] | pd.Series | npt.NDArray[Any],
    parse: Callable[[object], tuple[_T, str | None, bool]],
    blank: _T,
) -> tuple[list[_T], npt.NDArray[np.intp], list[CellProblem]]:
    """Apply a cell parser once per distinct value of a column.

    ``parse`` returns ``(result, problem or None, lost)``; blank cells (None, NaN) get
    ``blank``. Returns the distinct results, each cell's index into them, and the
    problems. ``results[i]`` for ``i`` in the index is the parsed value of each cell.
    """
    arr = _as_array(values)
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    return _spread(arr, _factorize(arr), parse, blank)


def _bool_like(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, int | float | np.number) and value in (0, 1)


def _infer(values: npt.NDArray[Any]) -> str:
    return str(pd.api.types.infer_dtype(values, skipna=True))


# --------------------------------------------------------------------------- numbers

_CURRENCY_SYMBOLS = "$€£¥₹₽₩₺₪฿₫₴₦¢"
_CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "CNY", "INR", "SEK", "NOK")
_CODE_RE = re.compile(rf"^(?:{'|'.join(_CURRENCY_CODES)})|(?:{'|'.join(_CURRENCY_CODES)})$", re.I)
_STRIP_RE = re.compile(rf"[\s'\u2019\u02bc{_CURRENCY_SYMBOLS}]")
_NUMBER_RE = re.compile(r"^([+-]?)([0-9.,]*[0-9][0-9.,]*|[.,][0-9]+)([eE][+-]?[0-9]+)?$")
# Thousands groups: 1-3 digits, then groups of 3 (2-digit middle groups for 1,23,456).
_GROUPS_RE = re.compile(r"^[0-9]{1,3}(?:[.,][0-9]{2,3})*[.,][0-9]{3}$")
Convention = Literal["dot", "comma"]


@dataclass(frozen=True, slots=True)
class _Scan:
    """A number's text split into parts; the separator meaning may still be open."""

    negative: bool
    percent: bool
    body: str
    exponent: str
    signal: Convention | None  # which decimal mark the text clearly uses, if any


def _scan_number(text: str) -> _Scan | str | None:
    """Scan number text: a `_Scan`, None for a blank word, or the problem text."""
    stripped = text.strip()
    if stripped.casefold() in _BLANK_WORDS:
        return None
    if stripped.upper() in EXCEL_ERRORS:
        return f"Excel error {stripped.upper()}"
    core = stripped
    negative = False
    if core.startswith("(") and core.endswith(")"):
        negative, core = True, core[1:-1]
    percent = core.endswith("%") or core.startswith("%")
    core = core.strip("%")
    core = _STRIP_RE.sub("", core.replace("\u2212", "-"))
    core = _CODE_RE.sub("", core)
    match = _NUMBER_RE.match(core)
    if match is None:
        return "not a number"
    sign, body, exponent = match.groups()
    if sign == "-":
        negative = not negative
    return _Scan(negative, percent, body, exponent or "", _signal(body))


def _signal(body: str) -> Convention | None:
    """The decimal mark a number body clearly uses, or None when it is ambiguous."""
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        return "dot" if body.rfind(".") > body.rfind(",") else "comma"
    if not dots and not commas:
        return None
    mark = "." if dots else ","
    if dots + commas > 1:  # repeated mark: a thousands separator
        return "comma" if mark == "." else "dot"
    before, after = body.split(mark)
    if len(after) != 3 or before in {"", "0"} or len(before) > 3:
        return "dot" if mark == "." else "comma"
    return None


def _resolve(scan: _Scan, convention: Convention, *, rate: bool) -> tuple[float | None, str | None]:
    """The value of a scanned number under the column's decimal convention."""
    decimal = {"dot": ".", "comma": ","}[scan.signal or convention]
    thousands = "," if decimal == "." else "."
    body = scan.body
    if body.count(decimal) > 1 or (
        thousands in body and decimal in body and body.rfind(thousands) > body.find(decimal)
    ):
        return None, "not a number"
    whole = body.split(decimal)[0]
    if thousands in whole and not _GROUPS_RE.match(whole):
        return None, "not a number"
    body = body.replace(thousands, "").replace(decimal, ".")
    try:
        value = float(body + scan.exponent)
    except ValueError:
        return None, "not a number"
    if not math.isfinite(value):
        return None, "number too large"
    if scan.negative:
        value = -value
    if scan.percent:
        if not rate:
            return None, "a percentage where a number was expected"
        value /= 100.0
    return value, None


def _number_cell(  # noqa: PLR0911 - one early return per kind of cell
    value: object, convention: Convention, *, rate: bool
) -> tuple[float | None, str | None]:
    """One cell as a number: (value or None, problem or None)."""
    if _is_missing(value):
        return None, None
    if isinstance(value, bool | np.bool_):
        return None, "TRUE/FALSE is not a number"
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:
            return None, "number too large"
        if not math.isfinite(number):
            return None, "number too large"
        return number, None
    if isinstance(value, str):
        scan = _scan_number(value)
        if scan is None:
            return None, None
        if isinstance(scan, str):
            return None, scan
        return _resolve(scan, convention, rate=rate)
    if isinstance(value, date | np.datetime64 | pd.Timestamp):
        return None, "a date where a number was expected"
    return None, "not a number"


def parse_number(value: object, *, rate: bool = False, decimal_comma: bool = False) -> float | None:
    """Read one cell as a number; None when blank or unreadable.

    Understands currency signs and codes, thousands separators (``,`` ``.`` ``'`` and
    spaces including U+00A0 and U+202F), ``(1,234)`` as negative, blank words (``-``,
    ``n/a``, ``none``) and ``45%`` as 0.45 when ``rate`` is set. Ambiguous ``1,234`` and
    ``1.234`` follow ``decimal_comma``. TRUE/FALSE and Excel errors are not numbers.
    """
    try:
        number, _ = _number_cell(value, "comma" if decimal_comma else "dot", rate=rate)
    except Exception:  # noqa: BLE001 - a cell parser must never raise
        return None
    return number


def parse_numbers(
    values: Sequence[object] | pd.Series | npt.NDArray[Any], *, rate: bool = False
) -> tuple[FloatArray, list[CellProblem]]:
    """Read a column as float64 (NaN for blank) and list the cells that could not be read.

    The decimal convention is inferred from the whole column (module docstring).
    """
    arr = _as_array(values)
    if arr.dtype.kind in "fiu":
        out = arr.astype(np.float64)
        bad = np.isinf(out)
        problems = [
            CellProblem(int(i), arr[i].item(), "number too large") for i in np.flatnonzero(bad)
        ]
        out[bad] = np.nan
        return out, problems
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    kind = _infer(arr)
    if kind in {"floating", "integer", "mixed-integer-float", "empty"}:
        try:
            out = arr.astype(np.float64)  # None becomes NaN
        except (OverflowError, ValueError, TypeError):
            pass
        else:
            if not np.isinf(out).any():
                return out, []
    factorized = _factorize(arr)
    convention: Convention = "dot"
    if any(isinstance(u, str) and _comma_signal(u) for u in factorized[1]):
        convention = "comma"

    def parse(value: object) -> tuple[float, str | None, bool]:
        try:
            number, problem = _number_cell(value, convention, rate=rate)
        except Exception:  # noqa: BLE001 - a cell parser must never raise
            return math.nan, "not a number", True
        return (math.nan if number is None else number), problem, True

    results, index, problems = _spread(arr, factorized, parse, math.nan)
    return np.asarray(results, dtype=np.float64)[index], problems


def _comma_signal(text: str) -> bool:
    """Whether number text clearly uses a decimal comma."""
    try:
        scan = _scan_number(text)
    except Exception:  # noqa: BLE001 - a cell parser must never raise
        return False
    if not isinstance(scan, _Scan) or scan.signal != "comma":
        return False
    return _resolve(scan, "comma", rate=True)[0] is not None  # only readable numbers count


# --------------------------------------------------------------------------- dates

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
    if stripped.casefold() in _BLANK_WORDS:
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
    if _is_missing(value):
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
    arr = _as_array(values)
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
    arr = _as_array(values)
    if arr.dtype.kind == "M":
        return _datetime_column(arr)
    if arr.dtype.kind in "fiu":
        return _serial_column(arr.astype(np.float64))
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    kind = _infer(arr)
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
    factorized = _factorize(arr)
    month_first = date_order(factorized[1]).month_first > 0

    def parse(value: object) -> tuple[object, str | None, bool]:
        try:
            day, problem = _date_cell(value, month_first=month_first)
        except Exception:  # noqa: BLE001 - a cell parser must never raise
            return _NAT, "not a date", True
        return (_NAT if day is None else np.datetime64(day, "ns")), problem, True

    results, index, problems = _spread(arr, factorized, parse, _NAT)
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


# --------------------------------------------------------------------------- text

_FORMULA_NOTE = "looks like a formula; kept as text"
# Once the distinct values are joined by NUL, these find the values that need a closer
# look: leading/trailing/double spaces, a formula start or a possible Excel error, and
# whitespace other than the plain space (every character for which str.isspace() holds).
_ODD_SPACE = "\t\n\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_ODD_SPACE_RE = re.compile(f"[{_ODD_SPACE}]")
_LEAD_RE = re.compile(r"\x00[ =+\-@#]")
# Every match starts inside one value (zero-width look-arounds at the NULs).
_DIRTY_RE = re.compile(rf"(?<=\x00)[ =+\-@#]| (?=\x00)|  |[{_ODD_SPACE}]")


def _text_cell(  # noqa: PLR0911 - one early return per kind of cell
    value: object,
) -> tuple[str, str | None, bool]:
    """One cell as clean text: (text, problem or None, lost)."""
    if _is_missing(value):
        return "", None, False
    if isinstance(value, str):
        text = " ".join(value.split())
        if text.upper() in EXCEL_ERRORS:
            return "", f"Excel error {text.upper()}", True
        if len(text) > 1 and text.startswith(_FORMULA_START):
            return text, _FORMULA_NOTE, False
        return text, None, False
    if isinstance(value, bool | np.bool_):
        return ("TRUE" if value else "FALSE"), None, False
    if isinstance(value, int | np.integer):
        return str(int(value)), None, False
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer() and abs(number) < 1e16:
            return str(int(number)), None, False
        return repr(number), None, False
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat(), None, False
        return value.isoformat(sep=" "), None, False
    if isinstance(value, date):
        return value.isoformat(), None, False
    return " ".join(str(value).split()), None, False


def clean_text(value: object) -> str:
    """Read one cell as text: stripped, inner whitespace collapsed, ``""`` for blank.

    Whole numbers lose their ``.0`` (an ID typed as 1001 arrives as 1001.0); Excel
    errors become ``""``. Formula-looking text is kept as it is.
    """
    try:
        return _text_cell(value)[0]
    except Exception:  # noqa: BLE001 - a cell parser must never raise
        return ""


def clean_texts(
    values: Sequence[object] | pd.Series | npt.NDArray[Any],
) -> tuple[ObjectArray, list[CellProblem]]:
    """Read a column as clean text (object array of ``str``) plus its problems.

    Problems: Excel errors (lost) and text that starts like a formula (kept, because
    the writers always store text as text).
    """
    codes, table, problems = clean_text_codes(values)
    return table[codes], problems


def clean_text_codes(
    values: Sequence[object] | pd.Series | npt.NDArray[Any],
) -> tuple[npt.NDArray[np.intp], ObjectArray, list[CellProblem]]:
    """`clean_texts` as ``(codes, table, problems)`` with ``table[codes]`` the clean column.

    ``table`` holds each distinct clean text (possibly more than once) so a caller can
    map the distinct texts once instead of every cell.
    """
    arr = _as_array(values)
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    codes, uniques = _factorize(arr)
    try:
        joined = "\x00" + "\x00".join(uniques) + "\x00"
    except TypeError:  # not all text: the general path below
        pass
    else:
        return _clean_strings(arr, codes, uniques, joined)

    def parse(value: object) -> tuple[str, str | None, bool]:
        try:
            return _text_cell(value)
        except Exception:  # noqa: BLE001 - a cell parser must never raise
            return "", "unreadable text", True

    results, index, problems = _spread(arr, (codes, uniques), parse, "")
    table = np.empty(len(results), dtype=object)
    table[:] = results
    return index, table, problems


def _clean_strings(
    arr: ObjectArray, codes: npt.NDArray[np.intp], uniques: ObjectArray, joined: str
) -> tuple[npt.NDArray[np.intp], ObjectArray, list[CellProblem]]:
    """Fast path for a column of plain strings (``joined``: its distinct values, NUL-joined).

    A few C-level scans tell whether anything needs fixing; only then does a regex pass
    locate the values to clean one by one.
    """
    clean = not (
        "  " in joined
        or " \x00" in joined
        or _LEAD_RE.search(joined)
        or _ODD_SPACE_RE.search(joined)
    )
    index = np.where(codes < 0, len(uniques), codes)
    if clean:
        return index, np.append(uniques, ""), []
    cleaned = uniques.copy()
    lengths = np.fromiter(map(len, uniques), dtype=np.int64, count=len(uniques))
    starts = np.concatenate(([1], 1 + np.cumsum(lengths + 1)[:-1]))
    hits = np.fromiter((m.start() for m in _DIRTY_RE.finditer(joined)), dtype=np.int64)
    notes: dict[int, tuple[str, bool]] = {}
    for k in np.unique(np.searchsorted(starts, hits, "right") - 1).tolist():
        text, problem, lost = _text_cell(uniques[k])
        cleaned[k] = text
        if problem is not None:
            notes[k] = (problem, lost)
    problems = []
    if notes:
        for pos in np.flatnonzero(np.isin(codes, list(notes))).tolist():
            problem, lost = notes[int(codes[pos])]
            problems.append(CellProblem(pos, arr[pos], problem, lost))
    return index, np.append(cleaned, ""), problems
