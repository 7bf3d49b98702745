"""Cohort conversions, learned win odds, lead times and pro-rated targets."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.history import funnel_rates, lead_times, reached_stages, shrink
from pipeline_xl.core.model import (
    activities_frame,
    default_stages,
    prospects_frame,
    snapshots_frame,
    target_for,
    targets_frame,
)
from pipeline_xl.core.periods import parse_period

AS_OF = date(2026, 6, 30)
STAGES = default_stages()  # Lead, Qualified, Proposal, Negotiation (+ Won, Lost)


def closed_book():
    """40 closed deals with known furthest stages, plus 2 open ones that must be ignored.

    reached Lead only (lost): 10; reached Qualified (lost): 10; reached Proposal (lost): 6;
    reached Negotiation (lost): 4; won: 10 (amounts 10k..100k, mean 55k).
    Cohorts: Lead 40, Qualified 30, Proposal 20, Negotiation 14, Won 10.
    """
    rows = []
    for furthest, n in ((0, 10), (1, 10), (2, 6), (3, 4)):
        rows += [
            {
                "stage": "Lost",
                "reached_idx": furthest,
                "amount": 1000.0,
                "owner": "Ann",
                "closed": date(2026, 3, 1),
                "created": date(2026, 1, 1),
            }
            for _ in range(n)
        ]
    rows += [
        {
            "stage": "Won",
            "amount": 10000.0 * (i + 1),
            "owner": "Ann",
            "closed": date(2026, 3, 1 + i),
            "created": date(2026, 1, 1),
        }
        for i in range(10)
    ]
    rows += [{"stage": "Proposal", "amount": 5000.0, "owner": "Ann"}] * 2
    return prospects_frame([{**r, "id": f"D{i}"} for i, r in enumerate(rows)])


class TestFunnelRates:
    def test_cohort_conversions_from_history(self):
        rates = funnel_rates(closed_book(), STAGES, as_of=AS_OF, min_history=30)
        assert rates.source == "history"
        assert rates.reached == (40, 30, 20, 14)
        # c = 30/40, 20/30, 14/20, 10/14; P(win|k) = 10 / cohort_k.
        assert rates.conversions == pytest.approx((0.75, 2 / 3, 0.7, 10 / 14))
        assert rates.win_probabilities == pytest.approx((0.25, 1 / 3, 0.5, 10 / 14))
        assert rates.avg_deal == pytest.approx(55000.0)
        assert (rates.won, rates.lost, rates.assumed_first_stage) == (10, 30, 0)

    def test_falls_back_to_stages_when_history_is_short(self):
        rates = funnel_rates(closed_book(), STAGES, as_of=AS_OF, min_history=41)
        assert rates.source == "stages"
        assert rates.conversions == STAGES.conversions
        # Products of the table's conversions: 0.8, 0.625*0.8, 0.4*0.5, 0.25*0.2.
        assert rates.win_probabilities == pytest.approx((0.05, 0.2, 0.5, 0.8))
        assert rates.avg_deal == pytest.approx(55000.0)  # still the won deals' mean

    def test_owner_without_history_uses_team(self):
        book = closed_book()
        rates = funnel_rates(book, STAGES, as_of=AS_OF, owner="Bob", min_history=30)
        assert rates.source == "team history"

    def test_closed_after_as_of_is_ignored(self):
        rates = funnel_rates(closed_book(), STAGES, as_of=date(2026, 3, 5), min_history=30)
        # Won deals closed 2026-03-06 .. 03-10 are in the future: 5 won remain, 35 closed.
        assert rates.won == 5
        assert rates.reached[0] == 35

    def test_unknown_reach_counts_as_first_stage_and_snapshots_fill_it(self):
        book = prospects_frame(
            [
                {"id": "L1", "stage": "Lost", "closed": date(2026, 2, 1)},
                {"id": "W1", "stage": "Won", "closed": date(2026, 2, 1), "amount": 10.0},
            ]
        )
        rates = funnel_rates(book, STAGES, as_of=AS_OF, min_history=2)
        assert rates.assumed_first_stage == 1
        assert rates.reached == (2, 1, 1, 1)
        log = snapshots_frame(
            [{"id": "L1", "stage": "Proposal", "snapshot_date": date(2026, 1, 1)}]
        )
        assert list(reached_stages(book, log)) == [2, 4]
        rates = funnel_rates(book, STAGES, as_of=AS_OF, min_history=2, snapshots=log)
        assert rates.assumed_first_stage == 0
        assert rates.reached == (2, 2, 2, 1)


class TestLeadTimes:
    def test_from_created_and_snapshots(self):
        # Three won deals created 2026-01-01, closed after 30, 60 and 90 days.
        rows = [
            {
                "id": f"W{i}",
                "stage": "Won",
                "created": date(2026, 1, 1),
                "closed": date(2026, 1, 1) + timedelta(days=30 * (i + 1)),
            }
            for i in range(3)
        ]
        book = prospects_frame(rows)
        log = snapshots_frame(
            [
                {"id": f"W{i}", "stage": s, "snapshot_date": d}
                for i in range(3)
                for s, d in (
                    ("Qualified", date(2026, 1, 11)),
                    ("Proposal", date(2026, 1, 21)),
                    ("Negotiation", date(2026, 1, 26)),
                )
            ]
        )
        days, source = lead_times(book, STAGES, as_of=AS_OF, snapshots=log, min_history=3)
        assert source == "history"
        # Close after 30/60/90 days -> median 60 from creation; minus 10, 20, 25 days.
        assert days == (60.0, 50.0, 40.0, 35.0)

    def test_stage_table_without_enough_history(self):
        days, source = lead_times(closed_book(), STAGES, as_of=AS_OF, min_history=30)
        assert source == "stages"
        assert days == (90.0, 60.0, 30.0, 14.0)


class TestTargetFor:
    def test_pro_rating(self):
        targets = targets_frame(
            [
                {"period": "2026-01", "owner": "Ann", "revenue": 100.0},
                {"period": "2026-02", "owner": "Ann", "revenue": 200.0},
                {"period": "2026-Q1", "owner": "Bob", "revenue": 900.0},
            ]
        )
        assert target_for(targets, parse_period("2026-Q1"), "Ann") == 300.0
        # February holds 28 of the quarter's 90 days: 900 * 28 / 90 = 280.
        assert target_for(targets, parse_period("2026-02"), "Bob") == pytest.approx(280.0)
        assert target_for(targets, parse_period("2026-Q1")) == pytest.approx(1200.0)
        assert target_for(targets, parse_period("2026-Q2"), "Ann") != target_for(
            targets, parse_period("2026-Q2"), "Ann"
        )  # NaN: no target

    def test_team_rows_win_over_sum(self):
        targets = targets_frame(
            [
                {"period": "2026-03", "owner": "Ann", "revenue": 100.0},
                {"period": "2026-03", "owner": "", "revenue": 150.0},
            ]
        )
        assert target_for(targets, parse_period("2026-03")) == 150.0


class TestShrinkage:
    def test_owner_rates_shrink_toward_the_team(self):
        # Ann's 40 closed deals (closed_book) plus Bob: 2 deals that reached Negotiation,
        # both won, and nothing else.
        rows = [*closed_book().to_dict("records")]
        bob = [
            {"stage": "Won", "amount": 5000.0, "owner": "Bob", "closed": date(2026, 3, 2),
             "created": date(2026, 1, 1)}
            for _ in range(2)
        ]  # fmt: skip
        book = prospects_frame([*rows, *({**r, "id": f"B{i}"} for i, r in enumerate(bob))])
        team = funnel_rates(book, STAGES, as_of=AS_OF, min_history=30)
        # Team cohorts: Lead 42, Qualified 32, Proposal 22, Negotiation 16; 12 won.
        assert team.reached == (42, 32, 22, 16)
        assert team.win_probabilities == pytest.approx((12 / 42, 12 / 32, 12 / 22, 12 / 16))
        bob_rates = funnel_rates(book, STAGES, as_of=AS_OF, owner="Bob", min_history=30)
        assert bob_rates.source == "history"
        assert bob_rates.reached == (2, 2, 2, 2)
        # Raw 2 / 2 = 100% at every stage; shrunk (2 + 30 x P_team) / (2 + 30).
        assert bob_rates.raw_win_probabilities == (1.0, 1.0, 1.0, 1.0)
        expected = [(2 + 30 * p) / 32 for p in (12 / 42, 12 / 32, 12 / 22, 12 / 16)]
        assert bob_rates.win_probabilities == pytest.approx(expected)
        assert bob_rates.weights == pytest.approx((2 / 32,) * 4)
        # Negotiation: (2 + 30 x 0.75) / 32 = 24.5 / 32, not 100%.
        assert bob_rates.win_probabilities[3] == pytest.approx(24.5 / 32)
        # Conversions follow as P_k / P_k+1; the last converts to Won.
        assert bob_rates.conversions[3] == pytest.approx(24.5 / 32)
        assert bob_rates.conversions[0] == pytest.approx(expected[0] / expected[1])

    def test_thin_team_history_keeps_the_stages_table_for_everyone(self):
        book = closed_book()
        ann = funnel_rates(book, STAGES, as_of=AS_OF, owner="Ann", min_history=41)
        assert ann.source == "stages"
        assert ann.win_probabilities == pytest.approx((0.05, 0.2, 0.5, 0.8))


@settings(max_examples=200, deadline=None)
@given(
    won=st.integers(0, 50),
    extra=st.lists(st.integers(0, 60), min_size=4, max_size=4),
    team=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
    strength=st.floats(0.0, 500.0),
)
def test_shrunk_rates_lie_between_the_owners_and_the_teams(won, extra, team, strength):
    # n_k >= won (a won deal reached every stage) and n_k does not grow with k.
    reached = np.array([won + sum(extra[k:]) for k in range(4)], dtype="float64")
    shrunk, weights = shrink(won, reached, team, strength)
    raw = np.divide(won, reached, out=np.array(team, dtype="float64"), where=reached > 0)
    low = np.minimum(raw, team) - 1e-12
    high = np.maximum(raw, team) + 1e-12
    assert ((shrunk >= low) & (shrunk <= high)).all()
    assert ((weights >= 0) & (weights <= 1)).all()
    # More of the owner's own deals never weigh less.
    assert (np.diff(weights) <= 1e-12).all()


class TestLeadTimesFromActivities:
    def test_activity_dates_win_over_month_end_snapshots(self):
        # Three won deals; each activity dated exactly: offer 20, 25 and 30 days before
        # the close, meeting 40/50/60, call (creation) 60/75/90. Month-end snapshots
        # would see them later; the activities are used.
        close = date(2026, 5, 31)
        deals, acts, log = [], [], []
        for i, (call, meet, offer, nego) in enumerate(
            [(60, 40, 20, 10), (75, 50, 25, 12), (90, 60, 30, 15)]
        ):
            deal = f"W{i}"
            deals.append({"id": deal, "stage": "Won", "closed": close,
                          "created": close - timedelta(days=call)})  # fmt: skip
            for kind, days in (("Call", call), ("Meeting", meet), ("Offer", offer),
                               ("Negotiation", nego)):  # fmt: skip
                acts.append({"date": close - timedelta(days=days), "type": kind,
                             "prospect_id": deal})  # fmt: skip
            log.append({"id": deal, "stage": "Negotiation", "snapshot_date": date(2026, 5, 30)})
        days, source = lead_times(
            prospects_frame(deals), STAGES, as_of=AS_OF, snapshots=snapshots_frame(log),
            activities=activities_frame(acts), min_history=3,
        )  # fmt: skip
        assert source == "activities"
        assert days == (75.0, 50.0, 25.0, 12.0)  # the medians
