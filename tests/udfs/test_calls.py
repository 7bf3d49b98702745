"""PIPE_CALL, and PIPE_HIT_PROBABILITY of an amount, called as Excel calls them."""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline_xl.core.calls import CallBook
from pipeline_xl.core.errors import InputError
from pipeline_xl.udfs import PIPE_CALL, PIPE_HIT_PROBABILITY, convert

HEADER = [
    "Period", "Owner", "Call type", "Amount", "Submitted on", "Submitted by",
    "Manager adjustment", "Comment",
]  # fmt: skip
CALLS = [
    HEADER,
    ["2026-03", "Anna Brandt", "Commit", 100000.0, datetime(2026, 2, 27), "Anna", None, None],
    ["2026-03", "Anna Brandt", "Commit", 120000.0, datetime(2026, 3, 9), "Anna", None, None],
    ["2026-03", "Anna Brandt", "Commit", 110000.0, datetime(2026, 3, 9), "Anna", None, None],
    ["2026-03", "Anna Brandt", "Best case", 150000.0, datetime(2026, 3, 9), "Anna", None, None],
    ["2026-03", None, "Commit", 300000.0, datetime(2026, 3, 16), "Sara", 280000.0, None],
    ["FY2027-Q1", None, "Commit", 900000.0, datetime(2026, 3, 16), "Sara", None, None],
]
SETTINGS = [
    ["Setting", "Value"],
    ["As-of date", datetime(2026, 3, 10)],
    ["Fiscal year start month", 4.0],
]


class TestPipeCall:
    def test_the_latest_call_as_of_a_date(self):
        assert PIPE_CALL(CALLS, "2026-03", "Anna Brandt") == 110000.0  # same day: later row
        assert PIPE_CALL(CALLS, "2026-03", "anna brandt", None, datetime(2026, 3, 8)) == 100000.0
        assert PIPE_CALL(CALLS, "2026-03", "Anna Brandt", "best case") == 150000.0

    def test_nobody_called_is_na(self):
        assert PIPE_CALL(CALLS, "2026-03", "Anna Brandt", None, datetime(2026, 2, 1)) == "#N/A"
        assert PIPE_CALL(CALLS, "2026-04", "Anna Brandt") == "#N/A"
        assert PIPE_CALL(CALLS, "2026-03", "Bob") == "#N/A"
        assert PIPE_CALL(CALLS, "2026-03", None, "most likely") == "#N/A"

    def test_the_team_call_with_its_adjustment(self):
        assert PIPE_CALL(CALLS, "2026-03") == 280000.0
        assert PIPE_CALL(CALLS, datetime(2026, 3, 31)) == 280000.0  # a date in the month

    def test_the_settings_give_the_as_of_date_and_the_fiscal_calendar(self):
        # As of 2026-03-10 the team had not called March yet; FY2027-Q1 (April start) is
        # April-June 2026, the quarter the team called on the 16th.
        assert PIPE_CALL(CALLS, "2026-03", None, None, None, SETTINGS) == "#N/A"
        assert PIPE_CALL(CALLS, "2026-03", None, None, datetime(2026, 3, 31), SETTINGS) == 280000.0
        q1 = [[datetime(2026, 4, 1), datetime(2026, 6, 30)]]
        assert (
            PIPE_CALL(CALLS, "FY2027-Q1", None, None, datetime(2026, 3, 31), SETTINGS) == 900000.0
        )
        assert PIPE_CALL(CALLS, q1, None, None, datetime(2026, 3, 31), SETTINGS) == 900000.0
        # Without the Settings the calendar year applies: FY2027-Q1 is January-March 2027.
        assert PIPE_CALL(CALLS, q1, None, None, datetime(2026, 3, 31)) == "#N/A"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((CALLS, "2026-03", None, "worst case"), "not a call type"),
            ((CALLS, None), "period is empty"),
            ((CALLS[1:], "2026-03"), "not a header row"),
            (([*CALLS, ["2026-03", None, "Commit", -1.0, datetime(2026, 3, 1)]], "2026-03"),
             "row 8, Amount: negative call"),
            ((CALLS, "2026-03", None, None, "soon"), "as_of"),
        ],
    )  # fmt: skip
    def test_refused_with_the_argument_named(self, args, message):
        with pytest.raises(InputError, match=message):
            PIPE_CALL(*args)

    def test_a_table_is_validated_once(self):
        first = convert.calls_of(CALLS)
        assert convert.calls_of([list(r) for r in CALLS]) is first
        assert isinstance(first.book, CallBook)


class TestReachingAnAmount:
    def test_the_chance_of_an_amount_is_the_chance_of_the_same_target(self, sample_tables):
        p = sample_tables["Prospects"]
        amount = 400000.0
        targets = [["Period", "Owner", "Revenue target"], ["2026-12", None, amount]]
        assert PIPE_HIT_PROBABILITY(p, amount, "2026-12") == PIPE_HIT_PROBABILITY(
            p, targets, "2026-12"
        )
        assert PIPE_HIT_PROBABILITY(p, [[amount]], "2026-12") == PIPE_HIT_PROBABILITY(
            p, amount, "2026-12"
        )

    def test_a_higher_amount_is_less_likely(self, sample_tables):
        p = sample_tables["Prospects"]
        low, high = (PIPE_HIT_PROBABILITY(p, a, "2026-12") for a in (1.0, 5_000_000.0))
        assert low == 1.0
        assert high < low

    def test_a_call_nobody_made_stays_na(self, sample_tables):
        p = sample_tables["Prospects"]
        assert PIPE_HIT_PROBABILITY(p, "#N/A", "2026-12") == "#N/A"
        assert PIPE_HIT_PROBABILITY(p, "#REF!", "2026-12") == "#N/A"
        with pytest.raises(InputError, match="targets"):
            PIPE_HIT_PROBABILITY(p, -5.0, "2026-12")

    def test_an_owner_amount_is_that_owners(self, sample_tables):
        p = sample_tables["Prospects"]
        owner = p[1][p[0].index("Owner")]
        targets = [["Period", "Owner", "Revenue target"], ["2026-12", owner, 50000.0]]
        chance = PIPE_HIT_PROBABILITY(p, 50000.0, "2026-12", owner)
        assert chance == PIPE_HIT_PROBABILITY(p, targets, "2026-12", owner)
        assert chance != PIPE_HIT_PROBABILITY(p, 50000.0, "2026-12")


def test_the_sample_calls_give_a_team_call(sample_tables):
    calls = sample_tables["Forecast calls"]
    assert PIPE_CALL(calls, "2026-11", None, None, datetime(2026, 11, 30)) > 0
