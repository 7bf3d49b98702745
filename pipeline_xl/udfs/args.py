"""Worksheet-function arguments: what Excel hands over, checked and turned into values.

Excel (through xlwings) hands over a single cell as a scalar, a one-row or one-column
range as a flat list and a block as nested lists: ``None`` for an empty cell, floats for
numbers, ``datetime`` for date cells, and an error cell as its text (``#N/A``; the
functions ask xlwings for error texts so an error is never mistaken for a blank).

The rules, the same for every function:

* a cell where a value is needed that is empty or holds an Excel error is refused, and
  the message names the argument (and the position inside a range);
* numbers must be finite; money amounts (target, won to date, expected pipeline) must not
  be negative and an average deal must be above zero;
* a rate is a number from 0 to 1: a cell formatted as a percentage holds 0.35 for 35%,
  so 35 is refused with the hint to type 35% (one rule for every function and for the
  Stages table); a conversion rate must also be above 0;
* a true/false argument accepts TRUE/FALSE, 1/0 and the words true/false, yes/no,
  oui/non, vrai/faux; anything else is refused;
* a period is a label (``2026-03``, ``2026-Q1``, ``FY2027``), a date or serial number, or
  two cells (first and last day), within Excel's dates (1900 to 9999);
* results that are counts must fit Excel's 15 significant digits.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from pipeline_xl.core.cells import EXCEL_ERRORS
from pipeline_xl.core.contract import norm_key
from pipeline_xl.core.dates import parse_date
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.periods import Period, parse_period

__all__ = [
    "MAX_COUNT",
    "as_amount",
    "as_bool",
    "as_count",
    "as_number",
    "as_period",
    "as_rate",
    "as_rates",
    "as_text",
    "flatten",
    "is_blank",
    "optional_date",
    "optional_period",
]

MAX_COUNT = 10**15 - 1
"""The largest whole number Excel shows exactly (15 significant digits)."""

_FIRST_DAY = date(1900, 1, 1)
_LAST_DAY = date(9999, 12, 31)
_TRUE = frozenset(map(norm_key, ("true", "yes", "oui", "vrai", "1")))
_FALSE = frozenset(map(norm_key, ("false", "no", "non", "faux", "0")))


def is_blank(value: object) -> bool:
    """An empty cell (None, or text of spaces only)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _error_text(value: object) -> str | None:
    if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
        return value.strip().upper()
    return None


def _where(argument: str, position: int | None) -> str:
    return argument if position is None else f"{argument}: position {position}"


def _need(value: object, argument: str, what: str, position: int | None = None) -> None:
    """Refuse an empty or error cell where ``what`` is needed."""
    error = _error_text(value)
    if error is not None:
        raise InputError(f"{_where(argument, position)} holds {error}; {what} is needed")
    if is_blank(value):
        raise InputError(f"{_where(argument, position)} is empty; {what} is needed")


def as_number(
    value: object, argument: str, *, default: float | None = None, position: int | None = None
) -> float:
    """A cell as a finite number; an empty optional cell gives ``default``."""
    if default is not None and is_blank(value):
        return default
    _need(value, argument, "a number", position)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{_where(argument, position)}: {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{_where(argument, position)}: {value!r} is not a finite number")
    return number


def as_amount(
    value: object, argument: str, *, default: float | None = None, positive: bool = False
) -> float:
    """A money amount: not negative (above zero with ``positive``)."""
    number = as_number(value, argument, default=default)
    if number < 0 or (positive and number == 0):
        expected = "above 0" if positive else "0 or more"
        raise InputError(f"{argument}: {number:,.10g} is not allowed (expected {expected})")
    return number


def as_count(value: object, argument: str, *, default: int, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``; empty gives ``default``."""
    number = as_number(value, argument, default=float(default))
    if not number.is_integer() or not low <= number <= high:
        raise InputError(f"{argument}: {value!r} is not a whole number from {low:,} to {high:,}")
    return int(number)


def as_rate(
    value: object, argument: str, *, position: int | None = None, above_zero: bool = False
) -> float:
    """A rate from 0 to 1 (35% is 0.35); ``above_zero`` refuses 0."""
    number = as_number(value, argument, position=position)
    where = _where(argument, position)
    if number > 1:
        hint = (
            f"; for {number:g} percent type {number:g}% or {number / 100:g}"
            if number <= 100
            else ""
        )
        raise InputError(
            f"{where}: {number:g} is above 1: a rate runs from 0 to 1 (0% to 100%){hint}"
        )
    if number < 0 or (above_zero and number == 0):
        low = "above 0" if above_zero else "from 0"
        raise InputError(f"{where}: {number:g} is not a rate {low} to 1 (0% to 100%)")
    return number


def flatten(value: object) -> list[object]:
    """The cells of a range in reading order (rows, then columns)."""
    if isinstance(value, list | tuple):
        out: list[object] = []
        for item in value:
            out.extend(flatten(item))
        return out
    return [value]


def as_rates(value: object, argument: str = "rates") -> list[float]:
    """Conversion rates in order, from a row, a column or a single cell.

    Empty cells after the last rate are ignored (a range drawn a little too long); an
    empty or error cell before it is refused with its position.
    """
    cells = flatten(value)
    while cells and is_blank(cells[-1]):
        cells.pop()
    if not cells:
        raise InputError(f"{argument}: no conversion rates given")
    return [
        as_rate(cell, argument, position=i, above_zero=True)
        for i, cell in enumerate(cells, start=1)
    ]


def as_bool(value: object, argument: str, *, default: bool = False) -> bool:
    """TRUE/FALSE, 1/0, true/false, yes/no, oui/non, vrai/faux; empty gives ``default``."""
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    _need(value, argument, "TRUE or FALSE")
    key = norm_key(value if not isinstance(value, float) or not value.is_integer() else int(value))
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise InputError(f"{argument}: {value!r} is not TRUE or FALSE (nor 1/0, yes/no, oui/non)")


def as_text(value: object) -> str:
    """A text cell with its spaces tidied; empty gives ``""``."""
    if is_blank(value):
        return ""
    return " ".join(str(value).split())


def _in_excel(period: Period, argument: str, shown: object) -> Period:
    if period.start < _FIRST_DAY or period.end - timedelta(days=1) > _LAST_DAY:
        raise InputError(
            f"{argument}: {shown!r} is outside Excel's dates (1900-01-01 to 9999-12-31)"
        )
    return period


def _as_date(value: object, argument: str) -> date:
    _need(value, argument, "a date")
    day = parse_date(value)
    if day is None:
        raise InputError(f"{argument}: {value!r} is not a date")
    return day


def as_period(value: object, argument: str = "period", *, fiscal_start: int = 1) -> Period:
    """A period cell: a label, a date, a serial number, or two cells [first day, last day].

    Labels are ``2026-03``, ``2026-Q1``, ``FY2027``; quarters and fiscal years follow
    ``fiscal_start`` (the workbook's fiscal-year start month).
    """
    if isinstance(value, list | tuple):
        cells = flatten(value)
        while cells and is_blank(cells[-1]):
            cells.pop()
        if len(cells) == 1:
            return as_period(cells[0], argument, fiscal_start=fiscal_start)
        if len(cells) != 2:
            raise InputError(f"{argument}: give one period or two dates (first and last day)")
        first, last = (_as_date(c, argument) for c in cells)
        if last < first:
            raise InputError(f"{argument}: the last day {last} is before the first day {first}")
        if last >= _LAST_DAY:
            raise InputError(f"{argument}: {last} is Excel's last date or later")
        return _in_excel(Period(first, last + timedelta(days=1), "month"), argument, value)
    _need(value, argument, "a period (for example 2026-Q1 or 2026-03)")
    try:
        period = parse_period(value, fiscal_start)
    except InputError as err:
        raise InputError(f"{argument}: {err}") from None
    except (ValueError, OverflowError):
        raise InputError(
            f"{argument}: {value!r} is outside Excel's dates (1900-01-01 to 9999-12-31)"
        ) from None
    return _in_excel(period, argument, value)


def optional_period(
    value: object, argument: str = "period", *, fiscal_start: int = 1
) -> Period | None:
    """`as_period`, or None for an empty cell (all history)."""
    return None if is_blank(value) else as_period(value, argument, fiscal_start=fiscal_start)


def optional_date(value: object, argument: str = "as_of") -> date | None:
    """A date cell (a date, a serial number or date text), or None for an empty cell."""
    if is_blank(value):
        return None
    day = _as_date(value, argument)
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise InputError(f"{argument}: {day} is outside Excel's dates (1900 to 9999)")
    return day
