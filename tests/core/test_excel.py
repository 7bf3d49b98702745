"""Excel's date serial numbers: both date systems, the fake 1900-02-29, the range."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_xl.core.excel import (
    EPOCH_1900,
    EPOCH_1904,
    excel_epoch,
    excel_serial,
    has_serial,
    serial_date,
)


class TestExcelSerial:
    def test_worked_examples(self):
        # 2025-01-01 is serial 45658; 2026-01-01 = 45658 + 365 = 46023;
        # 2026-11-30 is day 334 of 2026 (31+28+31+30+31+30+31+31+30+31 = 304, + 30),
        # so 46023 + 333 = 46356; 2026-03-01 12:00 = 46023 + 59 + 0.5 = 46082.5.
        assert excel_serial(date(2026, 1, 1)) == 46023
        assert excel_serial(date(2026, 1, 5)) == 46027
        assert excel_serial(date(2026, 11, 30)) == 46356
        assert excel_serial(datetime(2026, 3, 1, 12, 0)) == 46082.5
        # 06:00:00.5 is 21600.5 seconds of the day's 86400
        half_second = excel_serial(datetime(2026, 1, 5, 6, 0, 0, 500_000))
        assert half_second == pytest.approx(46027 + 21600.5 / 86400, abs=1e-9)

    def test_the_fake_leap_day(self):
        assert excel_serial(date(1900, 3, 1)) == 61  # the first serial after 1900-02-29
        assert excel_serial(date(1900, 2, 28)) == 59  # one lower than the plain count
        assert excel_serial(date(1900, 1, 1)) == 1

    def test_1904_system(self):
        assert excel_epoch(date1904=True) == EPOCH_1904
        assert excel_epoch() == EPOCH_1900
        assert excel_serial(date(1904, 1, 2), date1904=True) == 1
        # the systems are 1462 days apart: 4 years of 365 days, one leap day, the fake one
        assert excel_serial(date(2026, 1, 1), date1904=True) == 46023 - 1462


class TestSerialDate:
    def test_worked_examples(self):
        assert serial_date(46082) == date(2026, 3, 1)
        assert serial_date(46082.99) == date(2026, 3, 1)  # the time is dropped
        assert serial_date(61) == date(1900, 3, 1)
        assert serial_date(2_958_465) == date(9999, 12, 31)
        assert serial_date(0, date1904=True) == date(1904, 1, 1)

    @pytest.mark.parametrize("serial", [60.9, 60, 1, 0, -5, 2_958_466, math.nan, math.inf])
    def test_no_real_day(self, serial):
        assert serial_date(serial) is None

    def test_no_real_day_1904(self):
        assert serial_date(-1, date1904=True) is None
        assert serial_date(2_957_003, date1904=True) == date(9999, 12, 31)
        assert serial_date(2_957_004, date1904=True) is None

    def test_has_serial(self):
        assert has_serial(date(1900, 3, 1))
        assert has_serial(datetime(1900, 3, 1, 8))
        assert not has_serial(date(1900, 2, 28))
        assert has_serial(date(1904, 1, 1), date1904=True)
        assert not has_serial(date(1903, 12, 31), date1904=True)

    @given(day=st.dates(min_value=date(1900, 3, 1)), date1904=st.booleans())
    def test_round_trip(self, day, date1904):
        if date1904 and day < EPOCH_1904:
            return
        assert serial_date(excel_serial(day, date1904=date1904), date1904=date1904) == day
