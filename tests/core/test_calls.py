"""Forecast calls: the latest-call rule, the opening call, the weekly trend and accuracy."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core import contract
from pipeline_xl.core.calls import (
    CallBook,
    call_accuracy,
    call_kind,
    call_rows,
    compact_amount,
    form_calls,
    latest_call,
    new_calls,
    opening_call,
    team_weeks,
    trend_text,
    weekly_calls,
)
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Settings, calls_frame, prospects_frame
from pipeline_xl.core.periods import parse_period
from pipeline_xl.core.schema import validate

MARCH = parse_period("2026-03")
Q1 = parse_period("2026-Q1")
# Restated on purpose (a second witness of the contract).
HEADER = [
    "Period", "Owner", "Call type", "Amount", "Submitted on", "Submitted by",
    "Manager adjustment", "Comment",
]  # fmt: skip


def calls() -> pd.DataFrame:
    """Anna's and the team's calls for March 2026, in the order they were typed."""
    return calls_frame([
        {"period": "2026-03", "owner": "Anna Brandt", "amount": 100.0,
         "submitted_on": date(2026, 2, 27)},  # row 2: the opening call
        {"period": "2026-03", "owner": "Anna Brandt", "amount": 120.0,
         "submitted_on": date(2026, 3, 9)},  # row 3
        {"period": "2026-03", "owner": "Anna Brandt", "amount": 110.0,
         "submitted_on": date(2026, 3, 9)},  # row 4: same day, a later row: it wins
        {"period": "2026-03", "owner": "Anna Brandt", "amount": 150.0, "type": "best_case",
         "submitted_on": date(2026, 3, 9)},  # row 5
        {"period": "2026-03", "owner": "", "amount": 300.0, "adjustment": 280.0,
         "submitted_on": date(2026, 3, 16)},  # row 6: the team, adjusted
        {"period": "2026-Q1", "owner": "", "amount": 900.0,
         "submitted_on": date(2026, 1, 5)},  # row 7: a quarter
    ])  # fmt: skip


class TestLatestCall:
    def test_the_latest_call_on_or_before_the_date_counts(self):
        table = calls()
        assert latest_call(table, MARCH, "Anna Brandt", as_of=date(2026, 3, 8)).value == 100.0
        assert latest_call(table, MARCH, "Anna Brandt", as_of=date(2026, 2, 26)) is None
        assert latest_call(table, MARCH, "Anna Brandt", as_of=date(2026, 2, 27)).value == 100.0

    def test_of_two_calls_the_same_day_the_later_row_wins(self):
        found = latest_call(calls(), MARCH, "Anna Brandt", as_of=date(2026, 3, 9))
        assert (found.value, found.row) == (110.0, 4)

    def test_the_later_row_wins_whatever_the_order_of_the_table(self):
        table = calls().iloc[::-1].reset_index(drop=True)
        assert latest_call(table, MARCH, "Anna Brandt").row == 4

    def test_without_a_date_the_latest_of_all(self):
        assert latest_call(calls(), MARCH, "anna  BRANDT").value == 110.0

    def test_each_type_is_its_own_call(self):
        assert latest_call(calls(), MARCH, "Anna Brandt", "best_case").value == 150.0
        assert latest_call(calls(), MARCH, "Anna Brandt", "most_likely") is None

    def test_a_manager_adjustment_replaces_the_amount(self):
        found = latest_call(calls(), MARCH)
        assert (found.value, found.amount, found.adjustment) == (280.0, 300.0, 280.0)

    def test_a_blank_owner_is_the_team_only(self):
        assert latest_call(calls(), MARCH, "").owner == ""
        assert latest_call(calls(), MARCH, "Bob") is None

    def test_periods_match_by_their_days(self):
        two_dates = parse_period("2026-01-01")  # a month; Q1 is three
        assert latest_call(calls(), Q1).value == 900.0
        assert latest_call(calls(), two_dates) is None

    @given(
        st.lists(st.tuples(st.integers(0, 20), st.integers(0, 1000)), min_size=0, max_size=25),
        st.integers(-1, 21),
    )
    @settings(max_examples=60, deadline=None)
    def test_equals_the_brute_force_rule(self, rows, day):
        start = date(2026, 3, 1)
        table = calls_frame([
            {"period": "2026-03", "owner": "Ann", "amount": float(a),
             "submitted_on": start + timedelta(days=d)}
            for d, a in rows
        ])  # fmt: skip
        as_of = start + timedelta(days=day)
        eligible = [
            (d, i, a) for i, (d, a) in enumerate(rows) if start + timedelta(days=d) <= as_of
        ]
        found = latest_call(table, MARCH, "Ann", as_of=as_of)
        if not eligible:
            assert found is None
        else:
            assert found.value == float(max(eligible)[2])


class TestOpeningCall:
    def test_the_call_standing_on_the_first_day(self):
        assert opening_call(calls(), MARCH, "Anna Brandt").value == 100.0

    def test_else_the_first_call_made_in_the_period(self):
        assert opening_call(calls(), MARCH, "").value == 280.0

    def test_none_when_nothing_was_called(self):
        assert opening_call(calls(), MARCH, "Bob") is None


class TestWeeklyTrend:
    def test_the_call_standing_at_the_end_of_each_week(self):
        # March 2026: weeks from the 1st (1-7, 8-14, 15-21, 22-28, 29-31); as of the 18th
        # the third week is cut at the 18th and the later weeks have not begun.
        weeks = weekly_calls(calls(), MARCH, "Anna Brandt", as_of=date(2026, 3, 18))
        assert weeks == [
            (date(2026, 3, 1), 100.0),
            (date(2026, 3, 8), 110.0),
            (date(2026, 3, 15), 110.0),
        ]
        team = weekly_calls(calls(), MARCH, "", as_of=date(2026, 3, 31))
        assert [v for _, v in team] == [None, None, 280.0, 280.0, 280.0]

    def test_trend_text(self):
        assert trend_text([None, 110_000.0, 1_250_000.0, 950.0]) == (
            "W1 - · W2 110k · W3 1.25M · W4 950"
        )
        assert compact_amount(-12_345.0) == "-12.3k"
        # Only the weeks where the call moved: week 2 had no call yet either, weeks 4 and 5
        # kept week 3's call, week 6 moved it.
        assert trend_text([None, None, 120_000.0, 120_000.0, 120_000.0, 90_000.0]) == (
            "W1 - · W3 120k · W6 90k"
        )
        assert trend_text([]) == ""

    def test_team_weeks_with_won_to_date(self):
        prospects = prospects_frame([
            {"id": "A", "stage": "Won", "amount": 40.0, "closed": date(2026, 3, 3)},
            {"id": "B", "stage": "Won", "amount": 60.0, "closed": date(2026, 3, 12)},
            {"id": "C", "stage": "Won", "amount": 99.0, "closed": date(2026, 2, 27)},
        ])  # fmt: skip
        weeks = team_weeks(calls(), prospects, MARCH, date(2026, 3, 18))
        assert weeks["week_end"].tolist() == [
            date(2026, 3, 7),
            date(2026, 3, 14),
            date(2026, 3, 18),
        ]
        assert weeks["won_to_date"].tolist() == [40.0, 100.0, 100.0]
        assert weeks["commit"].isna().tolist() == [True, True, False]
        assert weeks["commit"].iloc[2] == 280.0


def _variance(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    """A variance table: (period, owner, state, won, baseline); expected = won, target
    = won + 100."""
    records = []
    for label, owner, state, won, base in rows:
        p = parse_period(label)
        records.append({
            "period": label, "start": pd.Timestamp(p.start), "end": pd.Timestamp(p.end),
            "owner": owner, "state": state, "won": won, "expected": won, "baseline": base,
            "target": won + 100.0,
        })  # fmt: skip
    return pd.DataFrame(records)


class TestAccuracy:
    def test_worked_example(self):
        # Ann calls 120 and 90 for January and February (opening calls), won 100 and 100:
        #   WAPE = (|100-120| + |100-90|) / 200 = 30/200 = 15%;
        #   bias = ((120-100) + (90-100)) / 200 = 10/200 = +5%; hit rate 1/2 (100 >= 90).
        # The system's baselines 80 and 130: WAPE = (20 + 30) / 200 = 25%, bias = 10/200.
        # Bob calls 50 in January only (his February call came after it ended), won 100:
        #   WAPE 50%, bias -50%, hit rate 1; his system baseline 100: WAPE 0, bias 0.
        # March is still open: not scored.
        table = calls_frame([
            {"period": "2026-01", "owner": "Ann", "amount": 120.0,
             "submitted_on": date(2025, 12, 30)},
            {"period": "2026-01", "owner": "Ann", "amount": 500.0,
             "submitted_on": date(2026, 1, 20)},  # later calls do not count
            {"period": "2026-02", "owner": "Ann", "amount": 90.0,
             "submitted_on": date(2026, 2, 2), "adjustment": 70.0},  # scored as called
            {"period": "2026-01", "owner": "Bob", "amount": 50.0,
             "submitted_on": date(2026, 1, 1)},
            {"period": "2026-02", "owner": "Bob", "amount": 75.0,
             "submitted_on": date(2026, 3, 2)},
            {"period": "2026-03", "owner": "Ann", "amount": 10.0,
             "submitted_on": date(2026, 3, 1)},
        ])  # fmt: skip
        variance = _variance([
            ("2026-01", "Ann", "closed", 100.0, 80.0),
            ("2026-02", "Ann", "closed", 100.0, 130.0),
            ("2026-03", "Ann", "current", 5.0, 50.0),
            ("2026-01", "Bob", "closed", 100.0, 100.0),
            ("2026-02", "Bob", "closed", 0.0, 20.0),
        ])  # fmt: skip
        acc = call_accuracy(table, variance, date(2026, 3, 15)).set_index("owner")
        ann, bob = acc.loc["Ann"], acc.loc["Bob"]
        assert ann["periods"] == 2
        assert ann["call"] == 210.0
        assert ann["call_wape"] == pytest.approx(0.15)
        assert ann["call_bias"] == pytest.approx(0.05)
        assert ann["forecast_wape"] == pytest.approx(0.25)
        assert ann["forecast_bias"] == pytest.approx(0.05)
        assert ann["hit_rate"] == pytest.approx(0.5)
        assert ann["reading"] == "balanced"
        assert (bob["periods"], bob["call_wape"], bob["call_bias"]) == (1, 0.5, -0.5)
        assert (bob["forecast_wape"], bob["hit_rate"], bob["reading"]) == (0.0, 1.0, "sandbagging")
        assert list(acc.index) == ["Ann", "Bob"]  # by bias, highest first

    def test_only_the_last_closed_periods_and_the_team_first(self):
        months = ["2025-10", "2025-11", "2025-12", "2026-01"]
        table = calls_frame(
            [{"period": m, "owner": o, "amount": a, "submitted_on": parse_period(m).start}
             for m in months for o, a in (("", 100.0), ("Low", 50.0), ("High", 200.0))]
        )  # fmt: skip
        variance = _variance(
            [(m, o, "closed", 100.0, 100.0) for m in months for o in ("", "Low", "High")]
        )
        acc = call_accuracy(table, variance, date(2026, 2, 10), periods=3)
        assert acc["owner"].tolist() == ["", "High", "Low"]
        assert acc["periods"].tolist() == [3, 3, 3]
        assert acc["reading"].tolist() == ["balanced", "optimistic", "sandbagging"]

    def test_no_call_no_row(self):
        variance = _variance([("2026-01", "Ann", "closed", 100.0, 80.0)])
        assert call_accuracy(calls_frame([]), variance, date(2026, 3, 1)).empty


class TestCallRows:
    def test_a_quarter_adds_up_its_months_and_other_periods_are_counted(self):
        variance = _variance([
            ("2026-01", "", "closed", 300.0, 0.0),
            ("2026-02", "", "closed", 250.0, 0.0),
            ("2026-03", "", "current", 200.0, 0.0),
            ("2026-03", "Anna Brandt", "current", 60.0, 0.0),
        ])  # fmt: skip
        extra = pd.concat([calls(), calls_frame([
            {"period": "2025-11", "owner": "", "amount": 5.0, "submitted_on": date(2025, 11, 3)},
        ])], ignore_index=True)  # fmt: skip
        rows, hidden = call_rows(extra, variance, date(2026, 3, 18))
        assert hidden == 1  # November is not on the sheet
        assert rows["period"].tolist() == ["2026-Q1", "2026-03", "2026-03"]  # by first day
        quarter, team, anna = (rows.iloc[i] for i in range(3))
        assert (team["owner"], team["latest"], team["opening"]) == ("", 280.0, 300.0)
        assert (anna["latest"], anna["best_case"], anna["won"]) == (110.0, 150.0, 60.0)
        assert anna["call_minus_won"] == 50.0
        assert anna["target"] == 160.0
        assert math.isnan(anna["most_likely"])
        assert anna["trend"] == "W1 100 · W2 110"  # week 3 kept week 2's call
        assert (quarter["won"], quarter["expected"], quarter["state"]) == (750.0, 750.0, "current")
        assert quarter["target"] == 1050.0  # three months' targets: 400 + 350 + 300


class TestTable:
    def test_bad_rows_are_data_issues_with_their_excel_rows(self):
        rows = [
            HEADER,
            ["2026-03", "Anna Brandt", "Commit", 100.0, datetime(2026, 3, 2), "Anna", None, None],
            ["2026-13", "Anna Brandt", "Commit", 100.0, datetime(2026, 3, 2), None, None, None],
            ["2026-03", "anna brandt", "Worst case", 100.0, datetime(2026, 3, 2), None, None, None],
            ["2026-03", "Anna Brandt", "Commit", -5.0, datetime(2026, 3, 2), None, None, None],
            ["2026-03", "Anna Brandt", "Commit", 100.0, None, None, None, None],
            ["2026-03", "Anna Brandt", None, "#N/A", datetime(2026, 3, 2), None, -3.0, "=1+1"],
            ["2026-03", None, "ML", "12 000", "2026-03-04", None, "11000", None],
        ]
        model = validate(
            [["ID", "Stage", "Amount"], ["D1", "Lead", 10.0]],
            calls=rows,
            as_of=date(2026, 3, 18),
        )
        issues = model.issues.loc[model.issues["sheet"] == contract.CALLS.sheet]
        errors = issues.loc[issues["severity"] == "error"]
        assert sorted(errors["row"].tolist()) == [3, 4, 5, 6, 7]
        assert set(issues.loc[issues["severity"] == "warning", "row"]) >= {7}
        assert model.calls["row"].tolist() == [2, 8]
        team = model.calls.iloc[1]
        assert (team["type"], team["amount"], team["value"]) == ("most_likely", 12000.0, 11000.0)
        assert model.calls.iloc[0]["owner"] == "Anna Brandt"

    def test_a_blank_call_type_is_a_commit(self):
        rows = [HEADER, ["2026-03", "Ann", None, 100.0, datetime(2026, 3, 2), None, None, None]]
        model = validate([["ID", "Stage", "Amount"], ["D1", "Lead", 10.0]], calls=rows,
                         as_of=date(2026, 3, 18))  # fmt: skip
        assert model.calls["type"].tolist() == ["commit"]
        assert "read as Commit" in " ".join(model.issues["problem"])

    def test_the_sample_company_calls_validate_cleanly(self):
        from pipeline_xl.core.sample import generate

        data = generate(300, as_of=date(2026, 3, 18), seed=4)
        model = validate(*(data.tables[t.sheet] for t in contract.DATA_TABLES), as_of=data.as_of)
        assert len(model.calls) == len(data.tables[contract.CALLS.sheet])
        assert (model.issues["sheet"] != contract.CALLS.sheet).all()


class TestNewCalls:
    def test_one_row_per_amount_in_type_order(self):
        rows = new_calls(
            MARCH, "Ann", {"best_case": 150.0, "commit": 120.0, "most_likely": None},
            submitted_on=date(2026, 3, 18), submitted_by="Ann", comment="ok",
        )  # fmt: skip
        assert [(r["type"], r["amount"]) for r in rows] == [("Commit", 120.0), ("Best case", 150.0)]
        assert {r["period"] for r in rows} == {"2026-03"}

    @pytest.mark.parametrize(
        "amounts",
        [{}, {"commit": None}, {"commit": -1.0}, {"commit": math.inf}, {"worst": 1.0}],
    )
    def test_refused(self, amounts):
        with pytest.raises(InputError):
            new_calls(MARCH, "", amounts, submitted_on=date(2026, 3, 18))

    def test_the_form(self):
        settings = Settings(as_of=date(2026, 3, 18))
        rows = form_calls(
            [None, " Anna  ", "120 000", None, 150000.0, "=HYPERLINK()", "Ann"],
            settings, date(2026, 3, 18),
        )  # fmt: skip
        assert [r["period"] for r in rows] == ["2026-03", "2026-03"]
        assert rows[0]["owner"] == "Anna"
        assert rows[0]["amount"] == 120000.0
        assert rows[0]["comment"] == "=HYPERLINK()"  # text: writers keep it text
        quarter = form_calls(["2026-Q2", None, 5.0], settings, date(2026, 3, 18))
        assert quarter[0]["period"] == "2026-Q2"
        with pytest.raises(InputError, match="Most likely is not an amount"):
            form_calls([None, None, 1.0, "lots"], settings, date(2026, 3, 18))
        with pytest.raises(InputError, match="not a period"):
            form_calls(["soon", None, 1.0], settings, date(2026, 3, 18))

    def test_call_kind(self):
        assert call_kind(None) == "commit"
        assert call_kind("Best case") == "best_case"
        assert call_kind("most_likely") == "most_likely"
        with pytest.raises(InputError, match="not a call type"):
            call_kind("worst")


def test_the_book_reads_each_group_once():
    book = CallBook(calls())
    found = book.rows(MARCH.start, MARCH.end, "ANNA BRANDT", "commit")
    assert book.frame.loc[found, "row"].tolist() == [2, 3, 4]
    assert np.array_equal(book.rows(MARCH.start, MARCH.end, "Nobody", "commit"), [])
