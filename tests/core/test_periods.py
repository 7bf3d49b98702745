"""Fiscal calendar: labels both ways, the period of a date, ranges, edge cases."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.periods import Period, parse_period, period_of, periods_between


class TestLabels:
    @pytest.mark.parametrize(
        ("label", "fiscal_start", "start", "end", "canonical"),
        [
            ("2026-03", 1, date(2026, 3, 1), date(2026, 4, 1), "2026-03"),
            ("2026-12", 4, date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
            ("2026-Q1", 1, date(2026, 1, 1), date(2026, 4, 1), "2026-Q1"),
            # A calendar quarter stays a calendar quarter whatever the fiscal start.
            ("2026-Q1", 4, date(2026, 1, 1), date(2026, 4, 1), "2026-Q1"),
            # April fiscal year: FY2027 = 2026-04-01 .. 2027-03-31, Q2 = Jul-Sep 2026.
            ("FY2027-Q2", 4, date(2026, 7, 1), date(2026, 10, 1), "FY2027-Q2"),
            ("FY2027-Q4", 4, date(2027, 1, 1), date(2027, 4, 1), "FY2027-Q4"),
            ("FY2027", 4, date(2026, 4, 1), date(2027, 4, 1), "FY2027"),
            # November fiscal year: Q1 of FY2027 runs Nov 2026 - Jan 2027, across the year end.
            ("FY2027-Q1", 11, date(2026, 11, 1), date(2027, 2, 1), "FY2027-Q1"),
            ("2026", 1, date(2026, 1, 1), date(2027, 1, 1), "2026"),
            ("fy27-q2", 4, date(2026, 7, 1), date(2026, 10, 1), "FY2027-Q2"),
            ("Q3 2026", 1, date(2026, 7, 1), date(2026, 10, 1), "2026-Q3"),
            ("2026Q4", 1, date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
            ("03/2026", 1, date(2026, 3, 1), date(2026, 4, 1), "2026-03"),
            (" 2026-03 ", 1, date(2026, 3, 1), date(2026, 4, 1), "2026-03"),
        ],
    )
    def test_parse_and_format(self, label, fiscal_start, start, end, canonical):
        period = parse_period(label, fiscal_start)
        assert (period.start, period.end, period.label) == (start, end, canonical)
        assert parse_period(period.label, fiscal_start) == period

    def test_january_fiscal_quarters_have_calendar_labels(self):
        assert period_of(date(2026, 5, 31), "quarter").label == "2026-Q2"

    @pytest.mark.parametrize("bad", ["2026-13", "Q5 2026", "soon", "", None, True, -3.0, 1e9])
    def test_rejects(self, bad):
        with pytest.raises(InputError, match="not a period"):
            parse_period(bad)

    def test_bad_fiscal_start(self):
        with pytest.raises(InputError, match="1 to 12"):
            parse_period("2026-03", 13)


class TestPeriodOf:
    def test_dates_and_serials(self):
        # Excel serial 46082 is 2026-03-01 (days since 1899-12-30).
        assert parse_period(46082.0).start == date(2026, 3, 1)
        assert parse_period(46082, kind="quarter").label == "2026-Q1"
        assert parse_period(61).label == "1900-03"  # the first true serial
        assert parse_period(datetime(2026, 3, 9, 15, 30), 4, "quarter").label == "FY2026-Q4"
        assert parse_period("2026-03-09", 4, "year").label == "FY2026"

    @pytest.mark.parametrize("serial", [60, 1.5, 0, 2_958_466, float("nan")])
    def test_serials_without_a_true_day(self, serial):
        # below 61 Excel's fake 1900-02-29 shifts the days; past 9999-12-31 no date
        with pytest.raises(InputError, match="not a period"):
            parse_period(serial)

    @pytest.mark.parametrize(
        ("day", "fiscal_start", "label"),
        [
            (date(2026, 3, 31), 4, "FY2026-Q4"),
            (date(2026, 4, 1), 4, "FY2027-Q1"),
            (date(2026, 12, 31), 11, "FY2027-Q1"),
            (date(2027, 1, 31), 11, "FY2027-Q1"),
            (date(2027, 2, 1), 11, "FY2027-Q2"),
            (date(2026, 10, 31), 11, "FY2026-Q4"),
        ],
    )
    def test_fiscal_quarter_edges(self, day, fiscal_start, label):
        assert period_of(day, "quarter", fiscal_start).label == label

    @settings(max_examples=200, deadline=None)
    @given(
        day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
        fiscal_start=st.integers(1, 12),
        kind=st.sampled_from(["month", "quarter", "year"]),
    )
    def test_contains_and_roundtrip(self, day, fiscal_start, kind):
        period = period_of(day, kind, fiscal_start)
        assert period.contains(day)
        assert parse_period(period.label, fiscal_start) == period
        assert period.next().start == period.end
        assert period.next(-1).end == period.start


class TestBetween:
    def test_quarters_across_year_end(self):
        labels = [
            p.label for p in periods_between(date(2026, 11, 5), date(2027, 5, 1), "quarter", 4)
        ]
        assert labels == ["FY2027-Q3", "FY2027-Q4", "FY2028-Q1"]

    def test_months(self):
        got = periods_between(date(2026, 1, 31), date(2026, 3, 1), "month")
        assert [p.label for p in got] == ["2026-01", "2026-02", "2026-03"]

    def test_empty_when_reversed(self):
        assert periods_between(date(2026, 3, 1), date(2026, 1, 1), "month") == []

    def test_period_days(self):
        assert Period(date(2024, 2, 1), date(2024, 3, 1), "month").days == 29
