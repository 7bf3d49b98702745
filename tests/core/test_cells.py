"""Cell parsing: numbers, dates and text as Excel and CRM exports hand them over."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.cells import (
    EXCEL_ERRORS,
    CellProblem,
    clean_text,
    clean_text_codes,
    clean_texts,
    excel_error,
    is_blank,
    parse_distinct,
    parse_number,
    parse_numbers,
)
from pipeline_xl.core.dates import DateOrder, date_order, parse_date, parse_dates, parse_month

NBSP, NNBSP = "\u00a0", "\u202f"


def _nan_or(value: float | None) -> float:
    return math.nan if value is None else value


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


class TestParseNumber:
    """One cell as a number."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (12.5, 12.5),
            (3, 3.0),
            (np.float32(2.5), 2.5),
            (np.int64(7), 7.0),
            ("42", 42.0),
            ("  42  ", 42.0),
            ("12 000 €", 12000.0),
            ("1,234.50", 1234.5),
            ("1.234,50", 1234.5),  # decimal comma, dot thousands
            ("1 234,50", 1234.5),
            (f"1{NBSP}234,50", 1234.5),  # no-break space thousands
            (f"1{NNBSP}234,50", 1234.5),  # narrow no-break space thousands
            ("$1,200", 1200.0),
            ("-$1,200", -1200.0),
            ("EUR 1 200", 1200.0),
            ("1200 USD", 1200.0),
            ("1'234.50", 1234.5),  # Swiss apostrophe thousands
            ("(1,234)", -1234.0),  # accounting negative
            ("-12.5", -12.5),
            ("\u22123", -3.0),  # Unicode minus sign
            ("12,5", 12.5),  # clear decimal comma: 1 digit after the comma
            ("0,125", 0.125),  # leading zero: a decimal comma
            ("1,234", 1234.0),  # ambiguous: dot convention by default
            ("1.234", 1.234),
            ("1,234,567", 1234567.0),
            ("1.234.567", 1234567.0),
            ("1,23,456.50", 123456.5),  # Indian grouping
            ("1.5E+03", 1500.0),
            (".5", 0.5),
        ],
    )
    def test_examples(self, value, expected):
        assert parse_number(value) == pytest.approx(expected, abs=0)

    @pytest.mark.parametrize(
        "value",
        ["-", "", "   ", "n/a", "N/A", "na", "NA", "none", "None", "null", None, math.nan],
    )
    def test_blank_words_are_blank(self, value):
        assert parse_number(value) is None

    @pytest.mark.parametrize("code", sorted(EXCEL_ERRORS))
    def test_excel_errors_are_blank(self, code):
        assert parse_number(code) is None
        assert parse_number(code.lower()) is None

    @pytest.mark.parametrize(
        "value",
        [
            True,
            False,
            np.bool_(True),
            "abc",
            "12.5.3",  # not a valid grouping
            "1-2",
            math.inf,
            -math.inf,
            10**400,  # too large for a float
            "1e999",
            date(2026, 1, 1),
            datetime(2026, 1, 1),
            object(),
            "45%",  # a percentage is only a number when a rate is asked for
        ],
    )
    def test_not_numbers(self, value):
        assert parse_number(value) is None

    def test_percent_as_rate(self):
        assert parse_number("45%", rate=True) == pytest.approx(0.45)
        assert parse_number("12,5 %", rate=True) == pytest.approx(0.125)
        # A plain number stays as it is even for a rate: 35 is not 0.35 here.
        assert parse_number(35, rate=True) == 35.0

    def test_decimal_comma_flag_resolves_ambiguous_values(self):
        assert parse_number("1,234", decimal_comma=True) == pytest.approx(1.234)
        assert parse_number("1.234", decimal_comma=True) == 1234.0
        # Unambiguous values ignore the flag.
        assert parse_number("1,234.5", decimal_comma=True) == 1234.5


class TestParseNumbers:
    """A column as float64, with the decimal convention inferred from the whole column."""

    def test_one_decimal_comma_switches_the_column(self):
        out, problems = parse_numbers(["1.234", "12,5", "1,234"])
        # "12,5" clearly uses a decimal comma, so "1.234" is 1234 and "1,234" is 1.234.
        assert out.tolist() == [1234.0, 12.5, 1.234]
        assert problems == []

    def test_dot_convention_without_a_clear_comma(self):
        out, _ = parse_numbers(["1,234", "1.5", None])
        assert out[:2].tolist() == [1234.0, 1.5]
        assert math.isnan(out[2])

    def test_problems_name_position_value_and_reason(self):
        out, problems = parse_numbers([1.0, "#REF!", True, "x", None, "-"])
        assert out[0] == 1.0
        assert np.isnan(out[1:]).all()
        assert problems == [
            CellProblem(1, "#REF!", "Excel error #REF!"),
            CellProblem(2, True, "TRUE/FALSE is not a number"),
            CellProblem(3, "x", "not a number"),
        ]

    def test_true_is_not_read_as_one(self):
        # pandas.factorize treats True and 1.0 as one key: each must still be read alone.
        out, problems = parse_numbers([1.0, True, 1, False, 0.0, 1.0])
        assert out[[0, 2, 4, 5]].tolist() == [1.0, 1.0, 0.0, 1.0]
        assert np.isnan(out[[1, 3]]).all()
        assert [p.index for p in problems] == [1, 3]

    def test_float_arrays_take_the_fast_path(self):
        out, problems = parse_numbers(np.array([1.5, np.nan, np.inf]))
        assert out[0] == 1.5
        assert np.isnan(out[1:]).all()
        assert problems == [CellProblem(2, math.inf, "number too large")]

    def test_series_and_object_floats(self):
        out, problems = parse_numbers(pd.Series([1.0, None, 2], dtype=object))
        assert out[0] == 1.0
        assert math.isnan(out[1])
        assert out[2] == 2.0
        assert problems == []

    def test_huge_int_among_floats(self):
        out, problems = parse_numbers([1.0, 10**400])
        assert out[0] == 1.0
        assert math.isnan(out[1])
        assert [p.index for p in problems] == [1]

    def test_rates(self):
        out, _ = parse_numbers(["45%", 0.3, "12,5%"], rate=True)
        assert out == pytest.approx([0.45, 0.3, 0.125])

    @settings(max_examples=80, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.none(),
                st.booleans(),
                st.floats(),
                st.integers(min_value=-(10**30), max_value=10**30),
                st.text(alphabet="0123456789.,-() $€%'\u00a0", max_size=9),
                st.sampled_from(["n/a", "#N/A", "-", "", "1.234", "1,234", "12,5"]),
            ),
            max_size=30,
        )
    )
    def test_column_matches_cells_under_one_convention(self, values):
        out, problems = parse_numbers(values)
        matches = [
            all(
                _same(out[i], _nan_or(parse_number(v, decimal_comma=comma)))
                for i, v in enumerate(values)
            )
            for comma in (False, True)
        ]
        assert any(matches)
        if not any(isinstance(v, str) and ("," in v or v.count(".") > 1) for v in values):
            assert matches[0]  # nothing hints at a decimal comma
        assert all(math.isnan(out[p.index]) for p in problems)


class TestParseDate:
    """One cell as a date."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (datetime(2026, 3, 15, 10, 30), date(2026, 3, 15)),  # time of day dropped
            (date(2026, 3, 15), date(2026, 3, 15)),
            (pd.Timestamp("2026-03-15 08:00"), date(2026, 3, 15)),
            (np.datetime64("2026-03-15T08:00"), date(2026, 3, 15)),
            (datetime(2026, 3, 15, 23, tzinfo=timezone(timedelta(hours=-5))), date(2026, 3, 15)),
            # Serial 46096: 2026-01-01 is 46023 (2025-01-01 is 45658, plus 365);
            # + 31 (January) + 28 (February) + 14 = 46096 -> 2026-03-15.
            (46096, date(2026, 3, 15)),
            (46096.75, date(2026, 3, 15)),  # a time fraction is dropped
            (61, date(1900, 3, 1)),  # first serial after the fake 1900-02-29
            ("46096", date(2026, 3, 15)),
            ("2026-03-15", date(2026, 3, 15)),
            ("2026-03-15T10:30:00", date(2026, 3, 15)),
            ("2026-03-15 10:30", date(2026, 3, 15)),
            ("2026-03-15T10:30:00Z", date(2026, 3, 15)),
            ("2026/03/15", date(2026, 3, 15)),
            ("15/03/2026", date(2026, 3, 15)),
            ("15.03.2026", date(2026, 3, 15)),
            ("15-03-2026", date(2026, 3, 15)),
            ("15/03/26", date(2026, 3, 15)),  # two-digit year: 00-29 -> 20xx
            ("15/03/95", date(1995, 3, 15)),  # 30-99 -> 19xx
            ("01/02/2026", date(2026, 2, 1)),  # ambiguous: day first by default
            ("03/15/2026", date(2026, 3, 15)),  # 15 cannot be a month
            ("15/03/2026 10:30", date(2026, 3, 15)),
            ("20260315", date(2026, 3, 15)),
            ("15 mars 2026", date(2026, 3, 15)),
            ("1er février 2026", date(2026, 2, 1)),
            ("lundi 2 mars 2026", date(2026, 3, 2)),
            ("15 août 2026", date(2026, 8, 15)),
            ("Mar 15, 2026", date(2026, 3, 15)),
            ("March 15 2026", date(2026, 3, 15)),
            ("15 March 2026", date(2026, 3, 15)),
            ("15-Mar-26", date(2026, 3, 15)),
            ("Sunday, March 15, 2026", date(2026, 3, 15)),
            ("2026 Mar 15", date(2026, 3, 15)),
            ("15 Mar 2026 10:30 PM", date(2026, 3, 15)),
        ],
    )
    def test_examples(self, value, expected):
        assert parse_date(value) == expected

    def test_month_first_flag(self):
        assert parse_date("01/02/2026", month_first=True) == date(2026, 1, 2)
        # A first part above 12 can only be the day.
        assert parse_date("15/03/2026", month_first=True) == date(2026, 3, 15)

    @pytest.mark.parametrize(
        "value",
        [
            None,
            math.nan,
            pd.NaT,
            "",
            "-",
            "n/a",
            "#N/A",
            "#VALUE!",
            True,
            "garbage",
            "31/02/2026",  # no such day
            "13/13/2026",
            60,  # Excel's fake 1900-02-29
            1,  # serials below 61 are rejected, not guessed
            0,
            -5,
            math.inf,
            10**400,
            date(3000, 1, 1),  # outside datetime64[ns]
            "15 mars",  # no year
            "Mars 2026",
            object(),
        ],
    )
    def test_not_dates(self, value):
        assert parse_date(value) is None


class TestParseDates:
    """A column as midnight datetime64[ns], with the day/month order inferred."""

    def test_month_first_when_a_second_part_is_above_12(self):
        out, problems = parse_dates(["01/02/2026", "03/15/2026", None])
        assert list(out[:2]) == [np.datetime64("2026-01-02"), np.datetime64("2026-03-15")]
        assert np.isnat(out[2])
        assert problems == []

    def test_day_first_otherwise(self):
        out, _ = parse_dates(["01/02/2026", "15/03/2026"])
        assert list(out) == [np.datetime64("2026-02-01"), np.datetime64("2026-03-15")]

    def test_datetimes_become_midnight_ns(self):
        out, problems = parse_dates([datetime(2026, 1, 1, 5, 30), None, pd.Timestamp("2026-02-01")])
        assert out.dtype == np.dtype("datetime64[ns]")
        assert out[0] == np.datetime64("2026-01-01")
        assert np.isnat(out[1])
        assert out[2] == np.datetime64("2026-02-01")
        assert problems == []

    def test_datetime64_any_unit_and_out_of_range(self):
        values = np.array(["2026-01-01T05:00", "3000-01-01"], dtype="datetime64[s]")
        out, problems = parse_dates(values)
        assert out[0] == np.datetime64("2026-01-01")
        assert np.isnat(out[1])
        assert [(p.index, p.problem) for p in problems] == [(1, "date out of range")]

    def test_timezone_aware_series_keeps_wall_dates(self):
        series = pd.Series(pd.to_datetime(["2026-03-15 23:00"]).tz_localize("America/New_York"))
        out, _ = parse_dates(series)
        assert out[0] == np.datetime64("2026-03-15")

    def test_serial_column(self):
        out, problems = parse_dates([46096.0, 10, None])
        assert out[0] == np.datetime64("2026-03-15")
        assert np.isnat(out[1:]).all()
        assert [p.index for p in problems] == [1]
        assert "61" in problems[0].problem

    def test_mixed_column_reports_each_bad_cell(self):
        out, problems = parse_dates([date(2026, 1, 1), "x", True, "#N/A", "2026-01-05"])
        assert out[0] == np.datetime64("2026-01-01")
        assert out[4] == np.datetime64("2026-01-05")
        assert [(p.index, p.problem) for p in problems] == [
            (1, "not a date"),
            (2, "TRUE/FALSE is not a date"),
            (3, "Excel error #N/A"),
        ]

    @settings(max_examples=80, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.none(),
                st.booleans(),
                st.floats(min_value=-10, max_value=200_000),
                st.dates(min_value=date(1600, 1, 1), max_value=date(2400, 1, 1)),
                st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
                st.builds(
                    "{:02d}/{:02d}/{}".format,
                    st.integers(1, 31),
                    st.integers(1, 31),
                    st.sampled_from(["2026", "26", "1999"]),
                ),
                st.sampled_from(["2026-03-15", "15 mars 2026", "x", "#N/A", ""]),
            ),
            max_size=30,
        )
    )
    def test_column_matches_cells_under_one_order(self, values):
        out, problems = parse_dates(values)
        got = [None if np.isnat(v) else pd.Timestamp(v).date() for v in out]
        assert any(
            got == [parse_date(v, month_first=first) for v in values] for first in (False, True)
        )
        assert all(got[p.index] is None for p in problems)


class TestDateOrder:
    """The day/month evidence of a column's text dates."""

    def test_counts_distinct_texts_of_each_kind(self):
        values = ["6/13/24", "6/13/24", "13/6/2024", "3/4/24", "4/4/24", "2024-03-04",
                  "7/30/2024 14:05", None, 45000.0, "lots"]  # fmt: skip
        found = date_order(values)
        # 6/13/24 and 7/30/2024 only read month first; 13/6/2024 only day first; 3/4/24
        # either way; 4/4/24 reads the same both ways and ISO text tells nothing.
        assert found == DateOrder(2, 1, 1, "6/13/24", "13/6/2024", "3/4/24")
        assert found.order == "month"
        assert found.mixed

    def test_order_of_clear_columns_and_none_when_untold(self):
        assert date_order(["6/13/24", "1/2/24"]).order == "month"
        assert date_order(["13.06.2024", "01.02.2024"]).order == "day"
        untold = date_order(["1/2/24", "2024-06-13"])
        assert untold.order is None
        assert untold.ambiguous == 1
        assert not untold.mixed
        assert date_order(np.array([1.0, 2.0])) == DateOrder()

    def test_evidence_adds_up(self):
        total = date_order(["6/13/24"]) + date_order(["1/2/24", "25/12/2024"])
        assert (total.month_first, total.day_first, total.ambiguous) == (1, 1, 1)
        assert (total.month_example, total.day_example) == ("6/13/24", "25/12/2024")

    def test_the_whole_column_counts_not_its_first_rows(self):
        values = ["1/2/24"] * 10_000 + ["6/13/24"]
        assert date_order(values).order == "month"
        assert parse_dates(values)[0][0] == np.datetime64("2024-01-02")


class TestCleanText:
    """Text cells: stripped, spaces collapsed, formulas kept as text with a warning."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("  alice  SMITH ", "alice SMITH"),
            (f"a{NBSP}b\tc\nd", "a b c d"),
            (None, ""),
            (math.nan, ""),
            (1001.0, "1001"),  # an ID typed as a number
            (1001, "1001"),
            (12.5, "12.5"),
            (True, "TRUE"),
            (datetime(2026, 3, 15), "2026-03-15"),
            (datetime(2026, 3, 15, 10, 30), "2026-03-15 10:30:00"),
            (date(2026, 3, 15), "2026-03-15"),
            ("#N/A", ""),
            ("=SUM(A1)", "=SUM(A1)"),
            ("-", "-"),
        ],
    )
    def test_examples(self, value, expected):
        assert clean_text(value) == expected

    def test_column_problems(self):
        values = [" Bob ", "=HYPERLINK(x)", "#REF!", "+33 6 12", "@me", "Bob", None, "-"]
        out, problems = clean_texts(values)
        assert out.tolist() == ["Bob", "=HYPERLINK(x)", "", "+33 6 12", "@me", "Bob", "", "-"]
        assert [(p.index, p.problem, p.lost) for p in problems] == [
            (1, "looks like a formula; kept as text", False),
            (2, "Excel error #REF!", True),
            (3, "looks like a formula; kept as text", False),
            (4, "looks like a formula; kept as text", False),
        ]

    def test_clean_column_has_no_problems(self):
        out, problems = clean_texts(pd.Series(["a", "b c", None, "a"]))
        assert out.tolist() == ["a", "b c", "", "a"]
        assert problems == []

    def test_codes_spread_the_table(self):
        codes, table, _ = clean_text_codes([" x", "y", None, "x"])
        assert table[codes].tolist() == ["x", "y", "", "x"]

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.none(),
                st.text(alphabet=" \t\u00a0\u202fab=+-@#!/NA", max_size=8),
                st.sampled_from(["#N/A", " #REF! ", "=A1", "x  y"]),
            ),
            max_size=30,
        )
    )
    def test_column_matches_cells(self, values):
        out, problems = clean_texts(values)
        assert out.tolist() == [clean_text(v) for v in values]
        flagged = [
            i
            for i, v in enumerate(values)
            if excel_error(v) or (len(out[i]) > 1 and out[i][0] in "=+-@")
        ]
        assert [p.index for p in problems] == flagged
        assert all(p.value is values[p.index] for p in problems)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.one_of(st.none(), st.booleans(), st.floats(), st.integers()), max_size=20))
    def test_mixed_column_matches_cells(self, values):
        out, _ = clean_texts(values)
        assert out.tolist() == [clean_text(v) for v in values]


class TestHelpers:
    """Small public helpers."""

    def test_excel_error_and_blank(self):
        assert excel_error(" #div/0! ") == "#DIV/0!"
        assert excel_error("#REFS") is None
        assert excel_error(3) is None
        assert is_blank("  ")
        assert is_blank(math.nan)
        assert is_blank(pd.NaT)
        assert not is_blank(0)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [(4, 4), (4.0, 4), ("avril", 4), ("April", 4), ("Apr.", 4), ("Août", 8), (13, None),
         (4.5, None), ("x", None), (None, None)],
    )  # fmt: skip
    def test_parse_month(self, value, expected):
        assert parse_month(value) == expected

    def test_parse_distinct_calls_once_per_value(self):
        calls = []

        def parse(value):
            calls.append(value)
            return str(value).upper(), None, True

        results, index, problems = parse_distinct(["a", "b", "a", None, "a"], parse, "")
        assert [results[i] for i in index] == ["A", "B", "A", "", "A"]
        assert calls == ["a", "b"]
        assert problems == []


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(),
        st.integers(min_value=-(10**500), max_value=10**500),
        st.text(max_size=20),
        st.dates(),
        st.datetimes(),
        st.sampled_from(sorted(EXCEL_ERRORS)),
    )
)
def test_cell_parsers_never_raise(value):
    parse_number(value)
    parse_number(value, rate=True)
    parse_date(value)
    clean_text(value)
    parse_numbers([value, value])
    parse_dates([value, value])
    clean_texts([value, value])
