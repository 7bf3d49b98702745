"""Arguments as a careless user types them: every doubtful cell is refused by name."""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.udfs import (
    PIPE_COVERAGE,
    PIPE_FORECAST,
    PIPE_FUNNEL,
    PIPE_REQUIRED_CALLS,
    PIPE_REQUIRED_DEALS,
    PIPE_WIN_RATE,
    PIPE_WON,
)
from pipeline_xl.udfs.values import NA, ExcelError

RATES = [0.25, 0.5, 0.625, 0.8]


def _message(call, *args) -> str:
    with pytest.raises(InputError) as err:
        call(*args)
    return str(err.value)


class TestRates:
    def test_worked_example_with_every_rate_given(self):
        # 100,000 / 25,000 = 4 deals; 4 / 0.8 = 5; 5 / 0.625 = 8; 8 / 0.5 = 16; 16 / 0.25 = 64
        assert PIPE_REQUIRED_CALLS(100_000.0, 25_000.0, RATES) == 64

    def test_a_blank_inside_the_rates_is_refused_with_its_position(self):
        text = _message(PIPE_REQUIRED_CALLS, 100_000.0, 25_000.0, [0.25, None, 0.625, 0.8])
        assert "rates: position 2 is empty" in text

    def test_an_error_cell_inside_the_rates_is_refused_by_name(self):
        text = _message(PIPE_REQUIRED_CALLS, 100_000.0, 25_000.0, [0.25, "#DIV/0!", 0.625, 0.8])
        assert "rates: position 2 holds #DIV/0!" in text

    def test_blanks_after_the_last_rate_are_ignored(self):
        assert PIPE_REQUIRED_CALLS(100_000.0, 25_000.0, [*RATES, None, None]) == 64

    def test_a_rate_above_one_is_refused_with_the_percent_hint(self):
        text = _message(PIPE_REQUIRED_CALLS, 100_000.0, 25_000.0, [0.25, 1.2])
        assert "1.2 is above 1" in text
        assert "1.2%" in text

    def test_a_zero_conversion_says_what_is_allowed(self):
        text = _message(PIPE_REQUIRED_CALLS, 100_000.0, 25_000.0, [0.25, 0.0])
        assert "above 0 to 1" in text


class TestAmounts:
    def test_negative_won_to_date_is_refused(self):
        text = _message(PIPE_REQUIRED_CALLS, 100_000.0, 25_000.0, RATES, -5.0)
        assert "won_to_date: -5 is not allowed (expected 0 or more)" in text

    def test_an_error_in_won_to_date_is_not_read_as_zero(self):
        text = _message(PIPE_REQUIRED_DEALS, 100_000.0, 25_000.0, "#N/A")
        assert "won_to_date holds #N/A" in text

    def test_an_empty_target_names_the_argument(self):
        assert "target is empty; a number is needed" in _message(
            PIPE_REQUIRED_DEALS, None, 25_000.0
        )

    def test_an_absurd_plan_is_refused_not_a_301_digit_count(self):
        text = _message(PIPE_REQUIRED_CALLS, 1e300, 1.0, [0.1])
        assert "301-digit number of activities" in text

    def test_huge_amounts_give_the_same_refusal_in_the_table_driven_plan(self, sample_tables):
        text = _message(PIPE_FUNNEL, 1e308, 1.0, sample_tables["Stages"])
        assert "number of activities, more than 1,000,000,000,000" in text


class TestBooleans:
    @pytest.mark.parametrize("text", ["FALSE", "false", "no", "non", 0.0, False])
    def test_false_words_mean_false(self, sample_tables, text):
        prospects = sample_tables["Prospects"]
        by_count = PIPE_WIN_RATE(prospects, None, None, False)
        assert PIPE_WIN_RATE(prospects, None, None, text) == by_count

    @pytest.mark.parametrize("text", ["TRUE", "yes", "oui", 1.0, True])
    def test_true_words_mean_true(self, sample_tables, text):
        prospects = sample_tables["Prospects"]
        by_value = PIPE_WIN_RATE(prospects, None, None, True)
        assert PIPE_WIN_RATE(prospects, None, None, text) == by_value

    def test_anything_else_is_refused(self, sample_tables):
        text = _message(PIPE_WIN_RATE, sample_tables["Prospects"], None, None, "maybe")
        assert "by_value: 'maybe' is not TRUE or FALSE" in text


class TestOwners:
    def _owner(self, prospects) -> str:
        column = prospects[0].index("Owner")
        return next(str(r[column]) for r in prospects[1:] if r[column])

    def test_owner_names_match_ignoring_case_and_spaces(self, sample_tables):
        prospects = sample_tables["Prospects"]
        owner = self._owner(prospects)
        typed = "  " + owner.lower().replace(" ", "  ") + " "
        assert PIPE_FORECAST(prospects, "2026-12", typed) == PIPE_FORECAST(
            prospects, "2026-12", owner
        )

    def test_an_unknown_owner_is_an_error_naming_known_owners(self, sample_tables):
        prospects = sample_tables["Prospects"]
        text = _message(PIPE_WON, prospects, "2026-12", "Nobody Here")
        assert "owner: 'Nobody Here' is not an owner in this workbook" in text
        assert self._owner(prospects) in text or "more" in text

    def test_an_owner_given_as_a_range_is_refused(self, sample_tables):
        prospects = sample_tables["Prospects"]
        owner = self._owner(prospects)
        text = _message(PIPE_WON, prospects, "2026-12", [owner, owner])
        assert "owner" in text


class TestPeriods:
    @pytest.mark.parametrize("period", ["9999-12", datetime(9999, 12, 31), 2958465.0])
    def test_periods_at_excels_last_date_name_the_argument(self, sample_tables, period):
        text = _message(PIPE_WON, sample_tables["Prospects"], period)
        assert text.startswith("PIPE_WON: period")
        assert "unexpected" not in text

    def test_an_empty_period_names_the_argument(self, sample_tables):
        assert "period is empty" in _message(PIPE_WON, sample_tables["Prospects"], None)


class TestResults:
    def test_coverage_is_na_once_the_target_is_reached(self, sample_tables):
        prospects, targets = sample_tables["Prospects"], sample_tables["Targets"]
        value = PIPE_COVERAGE(prospects, targets, "2026-Q4", None)
        header = targets[0]
        period_col, revenue_col = header.index("Period"), header.index("Revenue target")
        tiny = [header] + [
            [*row[:revenue_col], 1.0, *row[revenue_col + 1 :]] if row[period_col] else row
            for row in targets[1:]
        ]
        reached = PIPE_COVERAGE(prospects, tiny, "2026-Q4", None)
        assert isinstance(value, float)
        assert reached == NA
        assert isinstance(reached, ExcelError)


def test_a_future_last_activity_never_moves_the_default_as_of(sample_tables):
    from pipeline_xl.udfs import PIPE_WEIGHTED

    prospects = [list(r) for r in sample_tables["Prospects"]]
    header = prospects[0]
    last, status = header.index("Last activity"), header.index("Status")
    open_row = next(i for i, r in enumerate(prospects[1:], start=1) if r[status] == "Open")
    before = PIPE_WEIGHTED(prospects, "2026-12")
    assert before > 0
    prospects[open_row][last] = datetime(2027, 12, 1)
    assert PIPE_WEIGHTED(prospects, "2026-12") == before
