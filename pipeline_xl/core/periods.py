"""Months, quarters and fiscal years with any start month.

Labels parse and format both ways:

* ``2026-03``: calendar month March 2026;
* ``2026-Q1``: calendar quarter January-March 2026;
* ``FY2027-Q2``: second quarter of fiscal year 2027. A fiscal year is named after the
  calendar year in which it ends, so with an April start FY2027 runs from 2026-04-01 to
  2027-03-31 and FY2027-Q2 is July-September 2026;
* ``2026`` and ``FY2027``: whole calendar and fiscal years.

A `Period` is half-open: ``start <= day < end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.excel import serial_date

__all__ = [
    "Granularity",
    "Period",
    "parse_period",
    "period_of",
    "periods_between",
]

Granularity = Literal["month", "quarter", "year"]

_MONTH_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_REV_RE = re.compile(r"^(\d{1,2})[-/.](\d{4})$")
_QUARTER_RE = re.compile(r"^(FY)?\s*(\d{4}|\d{2})\s*[-/ ]?\s*Q([1-4])$")
_QUARTER_REV_RE = re.compile(r"^Q([1-4])\s*[-/ ]?\s*(FY)?\s*(\d{4})$")
_YEAR_RE = re.compile(r"^(FY)?\s*(\d{4})$")
_EXPECTED = "a period such as 2026-03, 2026-Q1, FY2027-Q2, 2026, FY2027 or a date"


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A month, quarter or year; quarters and years follow the fiscal start month."""

    start: date
    end: date
    kind: Granularity
    fiscal_start: int = 1

    @property
    def label(self) -> str:
        """The canonical label (``2026-03``, ``2026-Q1``, ``FY2027-Q2``, ``FY2027``)."""
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        fiscal_year = self.fiscal_year
        prefix = "" if self.fiscal_start == 1 else "FY"
        if self.kind == "year":
            return f"{prefix}{fiscal_year}"
        return f"{prefix}{fiscal_year}-Q{self.quarter}"

    @property
    def fiscal_year(self) -> int:
        """Fiscal year of the period's first day (named after the year it ends in)."""
        return _fiscal_year_of(self.start, self.fiscal_start)

    @property
    def quarter(self) -> int:
        """Fiscal quarter (1-4) of the period's first day."""
        offset = (self.start.month - self.fiscal_start) % 12
        return offset // 3 + 1

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days

    def __str__(self) -> str:
        return self.label

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls inside the period."""
        return self.start <= day < self.end

    def next(self, count: int = 1) -> Period:
        """The period ``count`` steps later (earlier when negative)."""
        step = {"month": 1, "quarter": 3, "year": 12}[self.kind] * count
        return _make(
            self.kind, _add_months(self.start.year, self.start.month, step), self.fiscal_start
        )


def _fiscal_year_of(day: date, fiscal_start: int) -> int:
    if fiscal_start == 1:
        return day.year
    return day.year + 1 if day.month >= fiscal_start else day.year


def _make(kind: Granularity, year_month: tuple[int, int], fiscal_start: int) -> Period:
    year, month = year_month
    length = {"month": 1, "quarter": 3, "year": 12}[kind]
    end_year, end_month = _add_months(year, month, length)
    return Period(date(year, month, 1), date(end_year, end_month, 1), kind, fiscal_start)


def _check_fiscal_start(fiscal_start: int) -> None:
    if not 1 <= fiscal_start <= 12:
        raise InputError(
            "fiscal-year start month out of range",
            value=fiscal_start,
            expected="a month number from 1 to 12",
        )


def period_of(day: date | datetime, kind: Granularity, fiscal_start: int = 1) -> Period:
    """The period of the given kind that contains ``day``."""
    _check_fiscal_start(fiscal_start)
    if isinstance(day, datetime):
        day = day.date()
    if kind == "month":
        return _make("month", (day.year, day.month), fiscal_start)
    months = 3 if kind == "quarter" else 12
    offset = (day.month - fiscal_start) % 12
    start_offset = -(offset % months)
    return _make(kind, _add_months(day.year, day.month, start_offset), fiscal_start)


def _fiscal_quarter(fiscal_year: int, quarter: int, fiscal_start: int) -> Period:
    # Fiscal year N starts in fiscal_start of year N-1 (or of N when fiscal_start == 1).
    first_year = fiscal_year if fiscal_start == 1 else fiscal_year - 1
    ym = _add_months(first_year, fiscal_start, 3 * (quarter - 1))
    return _make("quarter", ym, fiscal_start)


def _fiscal_year_period(fiscal_year: int, fiscal_start: int) -> Period:
    first_year = fiscal_year if fiscal_start == 1 else fiscal_year - 1
    return _make("year", (first_year, fiscal_start), fiscal_start)


def parse_period(value: object, fiscal_start: int = 1, kind: Granularity = "month") -> Period:
    """Parse a period label, a date or an Excel serial number.

    Labels are case-insensitive and tolerate a few spellings (``2026Q1``,
    ``Q1 2026``, ``FY27-Q2``, ``03/2026``). ``2026-Q1`` is the calendar quarter; with a
    non-January fiscal start use ``FY2027-Q2`` for fiscal quarters. A date (or serial
    number) gives the period of ``kind`` that contains it; serial numbers follow
    `pipeline_xl.core.excel.serial_date` (61, 1900-03-01, to 9999-12-31).

    Raises:
        InputError: the value is not a period.

    """
    _check_fiscal_start(fiscal_start)
    if isinstance(value, Period):
        return value
    if isinstance(value, datetime | date):
        return period_of(value, kind, fiscal_start)
    if isinstance(value, bool):
        raise InputError("not a period", value=value, expected=_EXPECTED)
    if isinstance(value, int | float):
        day = serial_date(value)
        if day is None:  # NaN, outside Excel's dates, or in its fake 1900-02-29 zone
            raise InputError("not a period", value=value, expected=_EXPECTED)
        return period_of(day, kind, fiscal_start)
    if not isinstance(value, str):
        raise InputError("not a period", value=value, expected=_EXPECTED)
    found = _parse_label(value.strip().upper(), fiscal_start)
    if found is not None:
        return found
    try:
        return period_of(date.fromisoformat(value.strip()[:10]), kind, fiscal_start)
    except ValueError:
        pass
    raise InputError("not a period", value=value, expected=_EXPECTED)


def _parse_label(text: str, fiscal_start: int) -> Period | None:
    """Parse an upper-cased period label; None when it is not one."""
    month_year: tuple[int, int] | None = None
    if match := _MONTH_RE.match(text):
        month_year = int(match[2]), int(match[1])
    elif match := _MONTH_REV_RE.match(text):
        month_year = int(match[1]), int(match[2])
    if month_year is not None:
        month, year = month_year
        return _make("month", (year, month), fiscal_start) if 1 <= month <= 12 else None
    if match := _QUARTER_RE.match(text):
        fiscal, year_text, quarter = match[1], match[2], int(match[3])
    elif match := _QUARTER_REV_RE.match(text):
        quarter, fiscal, year_text = int(match[1]), match[2], match[3]
    elif match := _YEAR_RE.match(text):
        year = int(match[2])
        return _fiscal_year_period(year, fiscal_start) if match[1] else _make("year", (year, 1), 1)
    else:
        return None
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    if fiscal:
        return _fiscal_quarter(year, quarter, fiscal_start)
    return _make("quarter", (year, 3 * quarter - 2), 1)


def periods_between(
    first: date, last: date, kind: Granularity, fiscal_start: int = 1
) -> list[Period]:
    """Every period of ``kind`` from the one containing ``first`` to the one containing ``last``.

    Empty when ``last`` is before ``first``.
    """
    if last < first:
        return []
    current = period_of(first, kind, fiscal_start)
    final = period_of(last, kind, fiscal_start)
    out = [current]
    while current != final:
        current = current.next()
        out.append(current)
    return out
