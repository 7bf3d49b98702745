"""Cell parsing: numbers and text as Excel and CRM exports hand them over.

Dates are read by `pipeline_xl.core.dates`, on the same helpers.

One-cell functions (`parse_number`, `clean_text`) never raise; bad input gives ``None``
(or ``""``). Column functions (`parse_numbers`, `clean_texts`) return a typed array plus
the list of `CellProblem` found, and infer conventions from the whole column:

* decimal separator: if any value clearly uses a decimal comma (``12,5``,
  ``1.234,50``, ``0,125``), ambiguous values such as ``1.234`` or ``1,234`` follow the
  comma convention; otherwise the dot convention (``1,234`` is one thousand two hundred
  thirty-four);
* size: a number of `excel.NUMBER_LIMIT` (1e308) or more, beyond Excel's largest, is
  "number too large", as infinities are.

Speed: a column is parsed once per distinct value (``pandas.factorize``) and columns
that already hold floats or datetimes take vectorised paths, so a clean 100k-row column
costs milliseconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.excel import NUMBER_LIMIT

__all__ = [
    "BLANK_WORDS",
    "EXCEL_ERRORS",
    "CellProblem",
    "DateArray",
    "FloatArray",
    "ObjectArray",
    "as_array",
    "clean_text",
    "clean_text_codes",
    "clean_texts",
    "excel_error",
    "factorize",
    "infer_kind",
    "is_blank",
    "is_missing",
    "parse_distinct",
    "parse_number",
    "parse_numbers",
    "spread",
]

EXCEL_ERRORS = frozenset(
    {"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "#CALC!"}
)
BLANK_WORDS = frozenset({"", "-", "--", "\u2013", "\u2014", "n/a", "na", "none", "null", "nan"})
_FORMULA_START = ("=", "+", "-", "@")

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
    return is_missing(value)


def is_missing(value: object) -> bool:
    """None, NaN, NaT or NA (not blank text)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return isinstance(value, np.datetime64) and bool(np.isnat(value))


def as_array(values: Sequence[object] | pd.Series | npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A 1-D numpy array view of a column, keeping typed dtypes (float, datetime)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            values = values.reshape(-1)
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def spread(
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


def factorize(values: ObjectArray) -> tuple[npt.NDArray[np.intp], ObjectArray]:
    """Codes and distinct values of a column (missing values get code -1)."""
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
    arr = as_array(values)
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    return spread(arr, factorize(arr), parse, blank)


def _bool_like(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, int | float | np.number) and value in (0, 1)


def infer_kind(values: npt.NDArray[Any]) -> str:
    """What a column holds, as pandas names it (``floating``, ``string``, ``datetime`` ...)."""
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
    if stripped.casefold() in BLANK_WORDS:
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
    if not abs(value) < NUMBER_LIMIT:  # also NaN and infinities
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
    if is_missing(value):
        return None, None
    if isinstance(value, bool | np.bool_):
        return None, "TRUE/FALSE is not a number"
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:
            return None, "number too large"
        if not abs(number) < NUMBER_LIMIT:
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
    arr = as_array(values)
    if arr.dtype.kind in "fiu":
        out = arr.astype(np.float64)
        bad = np.abs(out) >= NUMBER_LIMIT
        problems = [
            CellProblem(int(i), arr[i].item(), "number too large") for i in np.flatnonzero(bad)
        ]
        out[bad] = np.nan
        return out, problems
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    kind = infer_kind(arr)
    if kind in {"floating", "integer", "mixed-integer-float", "empty"}:
        try:
            out = arr.astype(np.float64)  # None becomes NaN
        except (OverflowError, ValueError, TypeError):
            pass
        else:
            if not (np.abs(out) >= NUMBER_LIMIT).any():
                return out, []
    factorized = factorize(arr)
    convention: Convention = "dot"
    if any(isinstance(u, str) and _comma_signal(u) for u in factorized[1]):
        convention = "comma"

    def parse(value: object) -> tuple[float, str | None, bool]:
        try:
            number, problem = _number_cell(value, convention, rate=rate)
        except Exception:  # noqa: BLE001 - a cell parser must never raise
            return math.nan, "not a number", True
        return (math.nan if number is None else number), problem, True

    results, index, problems = spread(arr, factorized, parse, math.nan)
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
    if is_missing(value):
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
    arr = as_array(values)
    if arr.dtype.kind != "O":
        arr = arr.astype(object)
    codes, uniques = factorize(arr)
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

    results, index, problems = spread(arr, (codes, uniques), parse, "")
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
