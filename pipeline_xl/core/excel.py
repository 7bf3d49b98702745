"""Excel's date numbers: the one rule every reader and writer of dates uses.

Excel stores a date as a serial number of days since an epoch, the time of day as the
fraction. Two date systems exist:

* the 1900 system (every current workbook): day 0 is 1899-12-30, so 1900-03-01 is
  serial 61. Excel also counts a 29 February 1900 that never was (serial 60, a copy of
  Lotus 1-2-3's mistake), so serials 1 to 60 do not match the plain day count: 1 is
  1900-01-01, not 1899-12-31;
* the 1904 system (old Mac workbooks, ``date1904`` in the workbook part): day 0 is
  1904-01-01, with no fake day.

Excel's other limits are stated here too, for every writer to respect: a cell holds at
most `TEXT_LIMIT` characters of text; a number keeps `SIGNIFICANT_DIGITS` significant
digits and must stay below `NUMBER_LIMIT` in size (Excel's largest number is
9.99999999999999E+307).

`excel_serial` writes a date as Excel counts it, fake day included, in either system.
`serial_date` reads a serial back only where it names a real day: serials below 61 in
the 1900 system fall in the fake zone (never real sales dates, and ambiguous), so they
give None rather than a guess; so do serials after 9999-12-31, Excel's last date, and
NaN or infinities. `has_serial` says whether a day lies in the range that reads back.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

__all__ = [
    "EPOCH_1900",
    "EPOCH_1904",
    "FIRST_SERIAL",
    "FIRST_SERIAL_DATE",
    "LAST_DATE",
    "NUMBER_LIMIT",
    "SIGNIFICANT_DIGITS",
    "TEXT_LIMIT",
    "excel_epoch",
    "excel_serial",
    "has_serial",
    "serial_date",
]

EPOCH_1900 = date(1899, 12, 30)
"""Day 0 of the 1900 date system, as counted from 1900-03-01 on."""
EPOCH_1904 = date(1904, 1, 1)
"""Day 0 of the 1904 date system."""
FIRST_SERIAL = 61
"""The first 1900-system serial that names a real day: 1900-03-01."""
FIRST_SERIAL_DATE = date(1900, 3, 1)
"""The first day whose 1900-system serial reads back (the fake 1900-02-29 is before it)."""
LAST_DATE = date(9999, 12, 31)
"""Excel's last date."""
TEXT_LIMIT = 32_767
"""The most characters of text one Excel cell holds."""
SIGNIFICANT_DIGITS = 15
"""The significant digits Excel keeps of a number (12345678901234567890 would lose its
last five)."""
NUMBER_LIMIT = 1e308
"""Numbers of this size and more are beyond Excel (its largest is 9.99999999999999E+307)."""

_ORDINAL_1900 = EPOCH_1900.toordinal()
_ORDINAL_1904 = EPOCH_1904.toordinal()
_SECONDS_PER_DAY = 86_400.0
_MICROSECONDS_PER_DAY = 86_400_000_000.0


def excel_epoch(*, date1904: bool = False) -> date:
    """Day 0 of the 1900 (default) or 1904 date system."""
    return EPOCH_1904 if date1904 else EPOCH_1900


def excel_serial(value: date, *, date1904: bool = False) -> float:
    """The serial number Excel stores for a date or datetime (its time as the fraction).

    In the 1900 system days before 1900-03-01 are one lower than the plain count from
    1899-12-30, since Excel counts a 29 February 1900 after them: 1900-01-01 is 1.
    """
    if date1904:
        serial = float(value.toordinal() - _ORDINAL_1904)
    else:
        days = value.toordinal() - _ORDINAL_1900
        serial = float(days if days >= FIRST_SERIAL else days - 1)
    if isinstance(value, datetime):
        serial += (value.hour * 3600 + value.minute * 60 + value.second) / _SECONDS_PER_DAY
        serial += value.microsecond / _MICROSECONDS_PER_DAY
    return serial


def has_serial(value: date, *, date1904: bool = False) -> bool:
    """Whether a day's serial reads back as that day (1900-03-01 on, or 1904-01-01 on)."""
    day = value.date() if isinstance(value, datetime) else value
    return day >= (EPOCH_1904 if date1904 else FIRST_SERIAL_DATE)


def serial_date(serial: float, *, date1904: bool = False) -> date | None:
    """The day a serial number names (its fraction, the time, dropped).

    None for NaN and infinities, for serials before the first real day (61 in the 1900
    system, 0 in the 1904 system) and for serials after 9999-12-31.
    """
    epoch = excel_epoch(date1904=date1904)
    first = 0 if date1904 else FIRST_SERIAL
    last = (LAST_DATE - epoch).days
    if not first <= serial < last + 1:  # also NaN, which compares false
        return None
    return epoch + timedelta(days=math.floor(serial))
