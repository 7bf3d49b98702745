"""Win rates, deal size, cycle time, coverage, velocity, stale deals and stage flow."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date

import pandas as pd
import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.metrics import (
    Metrics,
    avg_won_deal,
    compute_metrics,
    coverage,
    cycle_days,
    open_pipeline,
    stage_flow,
    stale_deals,
    velocity,
    win_rates,
)
from pipeline_xl.core.model import (
    Model,
    Settings,
    activities_frame,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.periods import parse_period

AS_OF = date(2026, 6, 30)
STAGES = default_stages()
Q2 = parse_period("2026-Q2")
JUNE = parse_period("2026-06")


def deal(id_, stage, owner, amount, created, closed=None, **extra):  # noqa: PLR0917 - table rows
    return {
        "id": id_,
        "stage": stage,
        "owner": owner,
        "amount": amount,
        "created": created,
        "closed": closed,
        **extra,
    }


def book():
    """Four won, two lost and four open deals (as of 2026-06-30)."""
    return prospects_frame(
        [
            # Won, cycle Jan 1 -> Jan 11 = 10 days.
            deal("W1", "Won", "Ann", 10_000.0, "2026-01-01", "2026-01-11"),
            # Won in April, Mar 13 -> Apr 2 = 18 days left in March + 2 = 20 days.
            deal("W2", "Won", "Bob", 30_000.0, "2026-03-13", "2026-04-02"),
            # Won in June, May 11 -> Jun 10 = 20 + 10 = 30 days.
            deal("W3", "Won", "Ann", 20_000.0, "2026-05-11", "2026-06-10"),
            # Won in June, May 11 -> Jun 20 = 20 + 20 = 40 days.
            deal("W4", "Won", "Ann", 40_000.0, "2026-05-11", "2026-06-20"),
            deal("L1", "Lost", "Ann", 50_000.0, "2026-01-01", "2026-03-15"),
            deal("L2", "Lost", "Bob", 10_000.0, "2026-04-01", "2026-06-05"),
            # Open, closing in June, idle 10 days.
            deal("O1", "Proposal", "Ann", 50_000.0, "2026-04-01",
                 last_activity="2026-06-20", expected_close="2026-06-25"),
            # Open, closing in July, no activity: idle since creation, 30 + 30 = 60 days.
            deal("O2", "Lead", "Bob", 20_000.0, "2026-05-01", expected_close="2026-07-15"),
            # Open, closing in June, idle 1 (May 31) + 30 (June) = 31 days: more than 30.
            deal("O3", "Negotiation", "Ann", 30_000.0, "2026-02-01",
                 last_activity="2026-05-30", expected_close="2026-06-28"),
            # Open, closing in August, idle exactly 30 days: not more than 30.
            deal("O4", "Qualified", "Bob", 0.0, "2026-02-01",
                 last_activity="2026-05-31", expected_close="2026-08-01"),
        ]
    )  # fmt: skip


def model_of(prospects, snapshots=None, targets=None, as_of=AS_OF, **settings):
    return Model(
        prospects=prospects,
        stages=STAGES,
        targets=targets if targets is not None else targets_frame([]),
        activities=activities_frame([]),
        snapshots=snapshots if snapshots is not None else snapshots_frame([]),
        settings=Settings(as_of=as_of, **settings),
        issues=pd.DataFrame(),
    )


class TestWinRates:
    def test_all_history(self):
        by_count, by_value = win_rates(book(), AS_OF)
        assert by_count == pytest.approx(4 / 6)  # 4 won of 6 closed; open deals ignored
        # won 10+30+20+40 = 100k; lost 50+10 = 60k -> 100 / 160.
        assert by_value == pytest.approx(0.625)

    def test_period_window_counts_deals_closed_in_it(self):
        # Q2 closes: W2 (Apr 2), W3, W4, L2 -> 3 of 4; 90k / (90k + 10k).
        assert win_rates(book(), AS_OF, period=Q2) == pytest.approx((0.75, 0.9))

    def test_owner(self):
        # Ann: W1, W3, W4 won (70k), L1 lost (50k).
        assert win_rates(book(), AS_OF, owner="Ann") == pytest.approx((0.75, 70 / 120))

    def test_as_of_cuts_later_closes(self):
        # On 2026-04-30 only W1, W2 and L1 are closed: 2 of 3; 40k / 90k.
        assert win_rates(book(), date(2026, 4, 30)) == pytest.approx((2 / 3, 40 / 90))

    def test_nan_without_closed_deals(self):
        rates = win_rates(book(), AS_OF, owner="Nobody")
        assert all(math.isnan(r) for r in rates)

    def test_undated_close_counts_in_history_but_not_in_a_period(self):
        extra = prospects_frame([{"id": "W9", "stage": "Won", "amount": 60_000.0}])
        deals = pd.concat([book(), extra], ignore_index=True)
        # 5 won of 7; 160k / 220k.
        assert win_rates(deals, AS_OF) == pytest.approx((5 / 7, 160 / 220))
        assert win_rates(deals, AS_OF, period=Q2) == pytest.approx((0.75, 0.9))


class TestDealSizeAndCycle:
    def test_avg_won_deal(self):
        assert avg_won_deal(book(), AS_OF) == pytest.approx(25_000.0)  # 100k / 4
        assert avg_won_deal(book(), AS_OF, period=Q2) == pytest.approx(30_000.0)  # 90k / 3
        assert math.isnan(avg_won_deal(book(), AS_OF, owner="Nobody"))

    def test_cycle_median_and_p80(self):
        median, p80 = cycle_days(book(), AS_OF)
        # Days 10, 20, 30, 40: median (20 + 30) / 2 = 25; P80 at position 0.8 * 3 = 2.4
        # -> 30 + 0.4 * (40 - 30) = 34.
        assert (median, p80) == pytest.approx((25.0, 34.0))

    def test_cycle_in_period(self):
        # Q2: 20, 30, 40 -> median 30; P80 at 0.8 * 2 = 1.6 -> 30 + 0.6 * 10 = 36.
        assert cycle_days(book(), AS_OF, period=Q2) == pytest.approx((30.0, 36.0))

    def test_cycle_skips_negative_and_missing(self):
        extra = prospects_frame(
            [
                {
                    "id": "X1",
                    "stage": "Won",
                    "created": date(2026, 3, 1),
                    "closed": date(2026, 2, 1),
                },
                {"id": "X2", "stage": "Won", "closed": date(2026, 2, 1)},
            ]
        )
        deals = pd.concat([book(), extra], ignore_index=True)
        assert cycle_days(deals, AS_OF) == pytest.approx((25.0, 34.0))

    def test_cycle_nan_when_no_won_deal(self):
        assert all(math.isnan(v) for v in cycle_days(book(), AS_OF, owner="Nobody"))


class TestOpenPipeline:
    def test_all_open(self):
        # 50k + 20k + 30k + 0.
        assert open_pipeline(book(), AS_OF) == (100_000.0, 4)

    def test_closing_in_period(self):
        # June: O1 (Jun 25) and O3 (Jun 28).
        assert open_pipeline(book(), AS_OF, period=JUNE) == (80_000.0, 2)

    def test_owner(self):
        assert open_pipeline(book(), AS_OF, owner="Bob") == (20_000.0, 2)

    def test_deal_closed_after_as_of_was_still_open(self):
        # On 2026-05-31: W3, W4 (closed in June) were open; L2 (June 5) too; O2 and the
        # others existed (created by then). 20 + 40 + 10 + 50 + 20 + 30 + 0 = 170k, 7 deals.
        assert open_pipeline(book(), date(2026, 5, 31)) == (170_000.0, 7)

    def test_deal_created_after_as_of_did_not_exist(self):
        # On 2026-03-01: only O3 and O4 (created Feb 1) and L1 (lost Mar 15) are open.
        assert open_pipeline(book(), date(2026, 3, 1)) == (80_000.0, 3)


class TestCoverageAndVelocity:
    def test_coverage_worked_example(self):
        # 80k open / (100k target - 60k won) = 2.
        assert coverage(80_000.0, 100_000.0, 60_000.0) == pytest.approx(2.0)

    def test_coverage_once_target_is_reached(self):
        assert coverage(10.0, 100.0, 100.0) == math.inf
        assert coverage(0.0, 100.0, 150.0) == math.inf

    def test_coverage_without_target(self):
        assert math.isnan(coverage(80_000.0, float("nan"), 0.0))

    def test_velocity_worked_example(self):
        # 4 deals x 25k x 2/3 / 25 days = 66,666.67 / 25 = 2,666.67 per day.
        assert velocity(4, 25_000.0, 2 / 3, 25.0) == pytest.approx(8000 / 3)

    @pytest.mark.parametrize("cycle", [0.0, -3.0, float("nan")])
    def test_velocity_needs_a_positive_cycle(self, cycle):
        assert math.isnan(velocity(4, 25_000.0, 0.5, cycle))


class TestStaleDeals:
    def test_idle_more_than_threshold(self):
        stale = stale_deals(book(), AS_OF, 30)
        assert list(stale["id"]) == ["O2", "O3"]  # longest idle first; O4 is exactly 30
        assert list(stale["days_idle"]) == [60, 31]
        assert stale.loc[0, "last_touch"] == pd.Timestamp("2026-05-01")  # created, no activity

    def test_owner_and_threshold(self):
        assert list(stale_deals(book(), AS_OF, 29, owner="Bob")["id"]) == ["O2", "O4"]

    def test_closed_deals_are_never_stale(self):
        assert not stale_deals(book(), AS_OF, 0)["id"].str.startswith(("W", "L")).any()

    def test_undated_deal_is_not_judged(self):
        deals = prospects_frame([{"id": "U1", "stage": "Lead"}])
        assert stale_deals(deals, AS_OF, 0).empty


class TestComputeMetrics:
    def test_team_worked_example(self):
        targets = targets_frame([{"period": "2026-06", "revenue": 100_000.0}])
        m = compute_metrics(model_of(book(), targets=targets))
        assert isinstance(m, Metrics)
        assert (m.won_count, m.lost_count, m.open_count, m.stale_count) == (4, 2, 4, 2)
        assert m.win_rate == pytest.approx(4 / 6)
        assert m.win_rate_value == pytest.approx(0.625)
        assert (m.won_amount, m.lost_amount, m.open_amount) == (100_000.0, 60_000.0, 100_000.0)
        assert m.avg_won_deal == pytest.approx(25_000.0)
        assert (m.median_cycle_days, m.p80_cycle_days) == pytest.approx((25.0, 34.0))
        # June: won W3 + W4 = 60k, open O1 + O3 = 80k, target 100k -> 80 / 40 = 2.
        assert m.coverage_period == "2026-06"
        assert (m.target, m.won_in_period, m.open_in_period) == (100_000.0, 60_000.0, 80_000.0)
        assert m.coverage == pytest.approx(2.0)
        # 4 open x 25k x 2/3 / 25 days.
        assert m.velocity == pytest.approx(8000 / 3)

    def test_period_window_and_owner(self):
        targets = targets_frame([{"period": "2026-Q2", "revenue": 90_000.0, "owner": "Ann"}])
        m = compute_metrics(model_of(book(), targets=targets), owner="Ann", period=Q2)
        # Ann in Q2: W3, W4 won (60k), nothing lost.
        assert (m.period, m.coverage_period, m.owner) == ("2026-Q2", "2026-Q2", "Ann")
        assert (m.won_count, m.lost_count, m.win_rate, m.win_rate_value) == (2, 0, 1.0, 1.0)
        # Ann's open deals closing in Q2: O1 50k + O3 30k = 80k; 80 / (90 - 60).
        assert m.coverage == pytest.approx(80 / 30)
        # Ann has 2 open deals, avg won 30k, win rate 1, median cycle (30 + 40) / 2 = 35.
        assert m.velocity == pytest.approx(2 * 30_000 / 35)

    def test_to_dict_is_json_ready(self):
        m = compute_metrics(model_of(book()))  # no targets: coverage NaN
        data = m.to_dict()
        assert data["as_of"] == "2026-06-30"
        assert data["target"] is None
        assert data["coverage"] is None
        assert data["won_count"] == 4
        assert json.loads(json.dumps(data, allow_nan=False)) == data

    def test_to_dict_turns_infinite_coverage_into_none(self):
        targets = targets_frame([{"period": "2026-06", "revenue": 50_000.0}])
        m = compute_metrics(model_of(book(), targets=targets))
        assert m.coverage == math.inf  # 60k won already beats 50k
        assert m.to_dict()["coverage"] is None

    def test_empty_book(self):
        m = compute_metrics(model_of(prospects_frame([])))
        assert (m.won_count, m.open_count, m.stale_count) == (0, 0, 0)
        assert math.isnan(m.win_rate)
        assert math.isnan(m.velocity)


# --- stage flow and Little's law ---------------------------------------------------------

FLOW_AS_OF = date(2026, 3, 31)
FLOW_DEALS = {
    "A": {"owner": "Ann", "amount": 100.0},
    "B": {"owner": "Ann", "amount": 200.0},
    "C": {"owner": "Bob", "amount": 300.0},
    "D": {"owner": "Bob", "amount": 400.0},
    "E": {"owner": "Ann", "amount": 500.0},
}
# (snapshot date, deal, stage): the compact change log.
FLOW_EVENTS = [
    ("2026-01-01", "A", "Proposal"),  # first log date: A and B were already there
    ("2026-01-01", "B", "Qualified"),
    ("2026-01-11", "B", "Proposal"),
    ("2026-01-31", "A", "Negotiation"),
    ("2026-02-10", "C", "Proposal"),
    ("2026-03-02", "B", "Won"),
    ("2026-03-22", "C", "Lost"),
    ("2026-03-22", "D", "Proposal"),
    ("2026-03-22", "E", "Proposal"),
]


def flow_model(events=FLOW_EVENTS):
    log = snapshots_frame(
        [dict(snapshot_date=day, id=i, stage=s, **FLOW_DEALS[i]) for day, i, s in events]
    )
    last = {i: (day, s) for day, i, s in events}
    prospects = prospects_frame(
        [
            dict(id=i, stage=s, closed=day if s in ("Won", "Lost") else None, **FLOW_DEALS[i])
            for i, (day, s) in last.items()
        ]
    )
    return model_of(prospects, snapshots=log, as_of=FLOW_AS_OF)


class TestStageFlow:
    def test_littles_law_on_a_hand_made_log(self):
        flow = stage_flow(flow_model(), window_days=60).set_index("stage")
        proposal = flow.loc["Proposal"]
        # Window: Mar 31 - 60 days = Jan 30, so (Jan 30, Mar 31]: 60 days.
        # Entered Proposal: C (Feb 10), D, E (Mar 22) = 3; B entered Jan 11, before.
        # Exited: A on Jan 31 (30 days since Jan 1), B on Mar 2 (Jan 11 -> Mar 2 =
        # 20 + 28 + 2 = 50 days), C on Mar 22 (Feb 10 -> Mar 22 = 18 + 22 = 40 days).
        assert (proposal["entered"], proposal["exited"]) == (3, 3)
        assert proposal["avg_days_in_stage"] == pytest.approx((30 + 50 + 40) / 3)
        assert proposal["throughput"] == pytest.approx(3 / 60)
        # Little's law: 0.05 deals/day x 40 days = 2 deals; WIP D and E = 2 -> ratio 1.
        assert proposal["littles_law_wip"] == pytest.approx(2.0)
        assert proposal["wip"] == 2
        assert proposal["littles_law_ratio"] == pytest.approx(1.0)
        assert proposal["flow_ratio"] == pytest.approx(1.0)

    def test_bottleneck_is_where_arrivals_outrun_departures(self):
        flow = stage_flow(flow_model(), window_days=60).set_index("stage")
        # Negotiation: A arrived Jan 31, nobody left -> flow ratio 0 < Proposal's 1.
        assert flow.loc["Negotiation", "flow_ratio"] == 0.0
        assert list(flow.index[flow["bottleneck"]]) == ["Negotiation"]
        assert flow.loc["Negotiation", "wip"] == 1
        assert math.isnan(flow.loc["Negotiation", "avg_days_in_stage"])

    def test_window_starts_after_the_first_snapshot(self):
        flow = stage_flow(flow_model(), window_days=90).set_index("stage")
        # Mar 31 - 90 = Dec 31, before the log's first date Jan 1: window (Jan 1, Mar 31],
        # 89 days. A and B on Jan 1 were already in place, not arrivals.
        assert flow.attrs["window_days"] == 89
        assert flow.loc["Proposal", "entered"] == 4  # B, C, D, E
        assert flow.loc["Proposal", "throughput"] == pytest.approx(3 / 89)
        # Qualified: B left on Jan 11 after sitting there since (at least) Jan 1.
        assert (flow.loc["Qualified", "entered"], flow.loc["Qualified", "exited"]) == (0, 1)
        assert flow.loc["Qualified", "avg_days_in_stage"] == 10

    def test_owner(self):
        flow = stage_flow(flow_model(), window_days=60, owner="Ann").set_index("stage")
        # Ann's deals A, B, E: E entered; A and B left after 30 and 50 days.
        assert flow.loc["Proposal", ["wip", "entered", "exited"]].tolist() == [1, 1, 2]
        assert flow.loc["Proposal", "avg_days_in_stage"] == pytest.approx(40.0)

    def test_moves_after_the_last_snapshot_come_from_prospects(self):
        model = flow_model()
        prospects = model.prospects.copy()
        d = prospects.index[prospects["id"] == "D"][0]
        prospects.loc[d, ["stage", "stage_idx", "reached_idx"]] = ["Negotiation", 3, 3]
        moved = dataclasses.replace(model, prospects=prospects)
        flow = stage_flow(moved, window_days=60).set_index("stage")
        # D leaves Proposal on the as-of date (Mar 22 -> Mar 31 = 9 days).
        assert flow.loc["Proposal", "exited"] == 4
        assert flow.loc["Proposal", "avg_days_in_stage"] == pytest.approx((30 + 50 + 40 + 9) / 4)
        assert flow.loc["Negotiation", "entered"] == 2

    def test_past_as_of_reads_the_log_as_it_was(self):
        model = dataclasses.replace(flow_model(), settings=Settings(as_of=date(2026, 2, 15)))
        flow = stage_flow(model, window_days=60).set_index("stage")
        # Window (Jan 1, Feb 15] = 45 days. On Feb 15: A at Negotiation, B and C at
        # Proposal (today's table would say D and E instead).
        assert flow.attrs["window_days"] == 45
        assert flow["wip"].tolist() == [0, 0, 2, 1]
        assert flow.loc["Proposal", ["entered", "exited"]].tolist() == [2, 1]  # B, C in; A out
        assert flow.loc["Proposal", "avg_days_in_stage"] == 30
        early = dataclasses.replace(model, settings=Settings(as_of=date(2026, 1, 5)))
        assert stage_flow(early)["wip"].tolist() == [0, 1, 1, 0]  # B Qualified, A Proposal

    def test_single_snapshot_date_shows_no_movement(self):
        model = dataclasses.replace(flow_model(), settings=Settings(as_of=date(2026, 1, 1)))
        flow = stage_flow(model)
        assert flow.attrs["note"].startswith("a single snapshot date")
        assert flow["exited"].isna().all()
        assert flow["wip"].tolist() == [0, 1, 1, 0]

    def test_without_snapshots_times_are_nan(self):
        model = model_of(flow_model().prospects, as_of=FLOW_AS_OF)
        flow = stage_flow(model)
        assert flow.attrs["note"].startswith("no snapshots")
        assert flow["wip"].tolist() == [0, 0, 2, 1]
        for col in ("entered", "exited", "throughput", "avg_days_in_stage", "littles_law_wip"):
            assert flow[col].isna().all()
        assert not flow["bottleneck"].any()

    def test_conversions_come_from_cohort_history(self):
        flow = stage_flow(flow_model())
        # Two closed deals only: below min_history, so the Stages table's rates.
        assert flow.attrs["conversion_source"] == "stages"
        assert flow["conversion"].tolist() == pytest.approx(list(STAGES.conversions))

    @pytest.mark.parametrize("days", [0, -5, 2.5, True])
    def test_window_must_be_positive_days(self, days):
        with pytest.raises(InputError, match="flow window"):
            stage_flow(flow_model(), window_days=days)
