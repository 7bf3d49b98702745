"""Weighted and category forecasts, slip learned from snapshots, and the Monte Carlo ranges."""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core import forecast as _forecast
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import (
    MAX_PERIODS,
    deal_probabilities,
    probability_sources,
    slip_probability,
    stage_probabilities,
)
from pipeline_xl.core.model import (
    Model,
    Settings,
    Stage,
    Stages,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)

AS_OF = date(2026, 6, 15)
STAGES = default_stages()  # stage probabilities: Lead .05, Qualified .2, Proposal .5, Negot. .8

# The worked examples here are the weighted method's (stage probability times amount,
# geometric slip); the calibrated default has its own tests (test_calibration and
# test_default_method below).
hit_probability = functools.partial(_forecast.hit_probability, method="weighted")
forecast_table = functools.partial(_forecast.forecast_table, method="weighted")
period_forecast = functools.partial(_forecast.period_forecast, method="weighted")
simulate = functools.partial(_forecast.simulate, method="weighted")


def make_model(prospects, targets=(), snapshots=(), **options):
    return Model(
        prospects=prospects_frame(list(prospects)),
        stages=STAGES,
        targets=targets_frame(list(targets)),
        activities=pd.DataFrame(),
        snapshots=snapshots_frame(list(snapshots)),
        settings=Settings(as_of=options.pop("as_of", AS_OF), **options),
        issues=pd.DataFrame(),
    )


def book():
    """Two reps with too little history (3 closed deals < 30): stage probabilities apply."""
    ann = [
        # July 2026.
        {
            "stage": "Proposal",
            "amount": 10000.0,
            "expected_close": date(2026, 7, 10),
            "category": "commit",
        },  # 0.5 -> 5000
        {
            "stage": "Negotiation",
            "amount": 20000.0,
            "expected_close": date(2026, 7, 20),
            "category": "best_case",
        },  # 0.8 -> 16000
        {
            "stage": "Lead",
            "amount": 40000.0,
            "expected_close": date(2026, 7, 31),
            "probability": 0.25,
        },  # override -> 10000
        {
            "stage": "Negotiation",
            "amount": 50000.0,
            "expected_close": date(2026, 7, 5),
            "category": "omitted",
        },  # left out of everything
        # August 2026.
        {"stage": "Qualified", "amount": 5000.0, "expected_close": date(2026, 8, 1)},
        # June 2026: one on time, one overdue since April.
        {
            "stage": "Proposal",
            "amount": 8000.0,
            "expected_close": date(2026, 6, 25),
            "category": "commit",
        },  # 0.5 -> 4000
        {
            "stage": "Negotiation",
            "amount": 10000.0,
            "expected_close": date(2026, 4, 30),
            "category": "best_case",
        },  # 0.8 -> 8000
        # No expected close: in no period.
        {"stage": "Qualified", "amount": 9000.0},
        # Won deals.
        {"stage": "Won", "amount": 12000.0, "closed": date(2026, 6, 10)},
        {"stage": "Won", "amount": 3000.0, "closed": date(2026, 6, 20)},  # after as_of
        {"stage": "Won", "amount": 4000.0, "closed": date(2026, 5, 31)},
    ]
    bob = [
        {
            "stage": "Proposal",
            "amount": 6000.0,
            "expected_close": date(2026, 7, 1),
            "category": "commit",
        },  # 0.5 -> 3000
        {"stage": "Won", "amount": 1000.0, "closed": date(2026, 6, 1)},
    ]
    rows = [{**r, "owner": "Ann"} for r in ann] + [{**r, "owner": "Bob"} for r in bob]
    return [{**r, "id": f"D{i}"} for i, r in enumerate(rows)]


TARGETS = [
    {"period": "2026-07", "owner": "", "revenue": 60000.0},
    {"period": "2026-07", "owner": "Ann", "revenue": 40000.0},
    {"period": "2026-06", "owner": "", "revenue": 30000.0},
]


class TestDealProbabilities:
    def test_stage_defaults_and_override(self):
        model = make_model(book())
        probs = deal_probabilities(model)
        open_rows = model.prospects.loc[model.prospects["status"] == "open"]
        assert list(probs.index) == list(open_rows.index)
        # Proposal .5, Negotiation .8, Lead with override .25, Negotiation .8, Qualified .2,
        # Proposal .5, Negotiation .8, Qualified .2, then Bob's Proposal .5.
        assert probs.tolist() == [0.5, 0.8, 0.25, 0.8, 0.2, 0.5, 0.8, 0.2, 0.5]
        assert probability_sources(model) == {"Ann": "stages", "Bob": "stages"}

    def test_learned_history_switches_on_with_enough_closed_deals(self):
        # Cy closed 10 deals: 4 won; lost after reaching Lead x2, Qualified x2, Proposal,
        # Negotiation. Cohorts: Lead 10, Qualified 8, Proposal 6, Negotiation 5, Won 4.
        closed = [{"stage": "Won", "amount": 1.0, "closed": date(2026, 3, 1)}] * 4
        closed += [
            {"stage": "Lost", "reached_idx": k, "closed": date(2026, 3, 1)}
            for k in (0, 0, 1, 1, 2, 3)
        ]
        rows = [{**r, "owner": "Cy"} for r in closed]
        rows.append(
            {
                "owner": "Cy",
                "stage": "Proposal",
                "amount": 30000.0,
                "expected_close": date(2026, 7, 1),
            }
        )
        rows.append(
            {
                "owner": "Dee",
                "stage": "Qualified",
                "amount": 10000.0,
                "expected_close": date(2026, 7, 1),
            }
        )
        rows = [{**r, "id": f"C{i}"} for i, r in enumerate(rows)]

        learned = make_model(rows, min_history=10)
        # P(win | Proposal) = 4/6 for Cy's own history; Dee has none: team history (all
        # of it is Cy's), P(win | Qualified) = 4/8.
        assert deal_probabilities(learned).tolist() == pytest.approx([4 / 6, 0.5])
        assert probability_sources(learned) == {"Cy": "history", "Dee": "team history"}
        july = period_forecast(learned, "2026-07")
        assert july.weighted == pytest.approx(30000 * 4 / 6 + 10000 * 0.5)  # 25000
        assert july.source == "history, team history"

        per_stage, sources = stage_probabilities(learned)
        # Lead 4/10, Qualified 4/8, Proposal 4/6, Negotiation 4/5, for the team and both.
        for owner in ("", "Cy", "Dee"):
            assert per_stage[owner].tolist() == pytest.approx([0.4, 0.5, 4 / 6, 0.8])
        assert sources == {"": "history", "Cy": "history", "Dee": "team history"}

        short = make_model(rows, min_history=11)  # 10 closed deals are not enough
        # Stages table: Proposal .5 and Qualified .2 (not the products of conversions).
        assert deal_probabilities(short).tolist() == [0.5, 0.2]
        assert probability_sources(short) == {"Cy": "stages", "Dee": "stages"}
        assert stage_probabilities(short)[0][""].tolist() == [0.05, 0.2, 0.5, 0.8]
        assert period_forecast(short, "2026-07").weighted == 30000 * 0.5 + 10000 * 0.2

    def test_stages_source_uses_the_table_probability_not_the_conversion_product(self):
        stages = Stages(
            (
                Stage("Talk", "Call", 0.3, 0.5, 30.0),
                Stage("Offer", "Offer", 0.6, 0.5, 10.0),  # products: .25 and .5
                Stage("Won", "Order", 1.0, float("nan"), 0.0, "won"),
                Stage("Lost", "", 0.0, float("nan"), 0.0, "lost"),
            )
        )
        rows = [
            {"stage": "Talk", "amount": 100.0, "expected_close": date(2026, 7, 1)},
            {"stage": "Offer", "amount": 100.0, "expected_close": date(2026, 7, 1)},
        ]
        model = replace(make_model([]), prospects=prospects_frame(rows, stages), stages=stages)
        assert deal_probabilities(model).tolist() == [0.3, 0.6]
        assert period_forecast(model, "2026-07").weighted == pytest.approx(90.0)  # 30 + 60


class TestPeriodForecast:
    def test_weighted_categories_and_expected(self):
        model = make_model(book(), TARGETS)
        july = period_forecast(model, "2026-07", "Ann")
        assert july.won == 0.0  # nothing closed in July by as_of
        assert july.weighted == 31000.0  # 5000 + 16000 + 10000 (omitted deal left out)
        assert july.expected == 31000.0
        assert july.commit == 10000.0  # won 0 + commit 10000
        assert july.best_case == 30000.0  # commit 10000 + best case 20000
        assert july.pipeline == 70000.0  # 10000 + 20000 + 40000, unweighted
        assert july.open_count == 3
        assert july.target == 40000.0
        assert july.gap == 9000.0  # 40000 - 31000
        assert july.source == "stages"
        assert july.unplaced == 1  # the Qualified deal without an expected close

    def test_overdue_deal_lands_in_current_period(self):
        model = make_model(book(), TARGETS)
        june = period_forecast(model, "2026-06", "Ann")
        assert june.won == 12000.0  # the 3000 closed on 06-20 is after as_of
        # 8000 x .5 (due 06-25) + 10000 x .8 (overdue since 04-30, lands in June).
        assert june.weighted == 12000.0
        assert june.expected == 24000.0
        assert june.commit == 20000.0  # 12000 + 8000
        assert june.best_case == 30000.0  # 20000 + 10000
        assert june.pipeline == 18000.0
        assert june.open_count == 2
        april = period_forecast(model, "2026-04", "Ann")
        assert (april.weighted, april.pipeline, april.open_count) == (0.0, 0.0, 0)
        may = period_forecast(model, "2026-05", "Ann")
        assert (may.won, may.expected) == (4000.0, 4000.0)

    def test_team_is_sum_of_owners(self):
        model = make_model(book(), TARGETS)
        for label in ("2026-06", "2026-07", "2026-08"):
            team = period_forecast(model, label)
            ann = period_forecast(model, label, "Ann")
            bob = period_forecast(model, label, "Bob")
            assert team.owner == ""
            for name in ("won", "weighted", "expected", "commit", "best_case", "pipeline"):
                assert getattr(team, name) == getattr(ann, name) + getattr(bob, name)
            assert team.open_count == ann.open_count + bob.open_count
        july = period_forecast(model, "2026-07")
        assert july.weighted == 34000.0  # Ann 31000 + Bob 6000 x .5
        assert july.gap == 26000.0  # team target 60000 - 34000
        bob_july = period_forecast(model, "2026-07", "Bob")
        assert math.isnan(bob_july.target)
        assert math.isnan(bob_july.gap)
        assert period_forecast(model, "2026-06", "Bob").won == 1000.0

    def test_blank_owner_counts_for_the_team_only(self):
        rows = [
            {"owner": "", "stage": "Lead", "amount": 20000.0, "expected_close": date(2026, 7, 1)},
            {
                "owner": "Ann",
                "stage": "Proposal",
                "amount": 2000.0,
                "expected_close": date(2026, 7, 1),
            },
        ]
        model = make_model(rows)
        assert period_forecast(model, "2026-07").weighted == 2000.0  # 20000 x .05 + 2000 x .5
        assert period_forecast(model, "2026-07", "Ann").weighted == 1000.0

    def test_quarter_period(self):
        model = make_model(book(), TARGETS)
        q3 = period_forecast(model, "2026-Q3", "Ann")
        # July 31000 + August 5000 x .2 = 32000.
        assert q3.weighted == 32000.0
        assert q3.target == 40000.0  # the July target is the only one overlapping Q3

    def test_bad_period_is_an_input_error(self):
        with pytest.raises(InputError, match="not a period"):
            period_forecast(make_model(book()), "July-ish")


class TestForecastTable:
    def test_rows_match_period_forecast(self):
        model = make_model(book(), TARGETS)
        table = forecast_table(model, ["2026-06", "2026-07"])
        assert table["period"].tolist() == ["2026-06"] * 3 + ["2026-07"] * 3
        assert table["owner"].tolist() == ["", "Ann", "Bob"] * 2
        july_ann = table.loc[(table["period"] == "2026-07") & (table["owner"] == "Ann")].iloc[0]
        assert july_ann["weighted"] == 31000.0
        assert july_ann["gap"] == 9000.0
        assert july_ann["start"] == pd.Timestamp("2026-07-01")
        assert july_ann["end"] == pd.Timestamp("2026-08-01")
        team_june = table.iloc[0]
        assert team_june["expected"] == 24000.0 + 1000.0  # Ann's 24000 and Bob's won 1000
        assert team_june["target"] == 30000.0
        assert team_june["source"] == "stages"
        assert team_june["unplaced"] == 1

    def test_default_periods_run_from_first_target_to_last_deal(self):
        model = make_model(
            [{"stage": "Lead", "amount": 1.0, "expected_close": date(2026, 9, 3)}],
            [{"period": "2026-05", "revenue": 10.0}],
        )
        table = forecast_table(model)
        assert table["period"].tolist() == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]

    def test_default_periods_are_capped_around_the_current_period(self):
        targets = [
            {"period": f"{y}-{m:02d}", "revenue": 1.0}
            for y in range(2020, 2031)
            for m in range(1, 13)
        ]
        model = make_model([], targets)
        periods = forecast_table(model)["period"].tolist()
        # 132 months; June 2026 is number 77 (0-based): start 12 months earlier.
        assert len(periods) == MAX_PERIODS
        assert (periods[0], periods[-1]) == ("2025-06", "2027-05")

    def test_default_without_targets_is_the_current_period_on(self):
        model = make_model([{"stage": "Lead", "amount": 1.0, "expected_close": date(2026, 8, 1)}])
        assert forecast_table(model)["period"].tolist() == ["2026-06", "2026-07", "2026-08"]

    def test_quarterly_workbook(self):
        model = make_model(book(), TARGETS, granularity="quarter")
        table = forecast_table(model)
        # Targets in Q2 and Q3, deals up to August: Q2 and Q3.
        assert table["period"].unique().tolist() == ["2026-Q2", "2026-Q3"]
        q2_team = table.iloc[0]
        # Won: Ann 12000 + 4000 (May), Bob 1000; open June: 12000.
        assert q2_team["expected"] == 29000.0


SLIP_LOG = [
    # D1: expected in March, re-dated to May on 04-05 (slipped); won by as_of (did not).
    {
        "id": "S1",
        "snapshot_date": date(2026, 3, 1),
        "stage": "Proposal",
        "expected_close": date(2026, 3, 20),
    },
    {
        "id": "S1",
        "snapshot_date": date(2026, 4, 5),
        "stage": "Proposal",
        "expected_close": date(2026, 5, 10),
    },
    # D2: seen again on 03-25, before March ended (no event); lost by as_of (did not slip).
    {
        "id": "S2",
        "snapshot_date": date(2026, 3, 1),
        "stage": "Lead",
        "expected_close": date(2026, 3, 31),
    },
    {
        "id": "S2",
        "snapshot_date": date(2026, 3, 25),
        "stage": "Qualified",
        "expected_close": date(2026, 3, 31),
    },
    # D3: expected in April, open for July at as_of (slipped).
    {
        "id": "S3",
        "snapshot_date": date(2026, 4, 1),
        "stage": "Lead",
        "expected_close": date(2026, 4, 15),
    },
    # D4: expected in June, which has not ended at as_of (no event).
    {
        "id": "S4",
        "snapshot_date": date(2026, 5, 1),
        "stage": "Lead",
        "expected_close": date(2026, 6, 30),
    },
    # D5: April passes without a new date (did not slip), re-dated later: same event,
    # counted once.
    {
        "id": "S5",
        "snapshot_date": date(2026, 4, 1),
        "stage": "Lead",
        "expected_close": date(2026, 4, 10),
    },
    {
        "id": "S5",
        "snapshot_date": date(2026, 5, 2),
        "stage": "Qualified",
        "expected_close": date(2026, 4, 10),
    },
    {
        "id": "S5",
        "snapshot_date": date(2026, 5, 20),
        "stage": "Qualified",
        "expected_close": date(2026, 8, 1),
    },
    # D6: expected in May, open for September at as_of (slipped); a row after as_of is
    # ignored.
    {
        "id": "S6",
        "snapshot_date": date(2026, 5, 1),
        "stage": "Lead",
        "expected_close": date(2026, 5, 15),
    },
    {"id": "S6", "snapshot_date": date(2026, 7, 1), "stage": "Won"},
]
SLIP_PROSPECTS = [
    {"id": "S1", "stage": "Won", "closed": date(2026, 5, 20)},
    {"id": "S2", "stage": "Lost", "closed": date(2026, 4, 2)},
    {"id": "S3", "stage": "Lead", "expected_close": date(2026, 7, 1)},
    {"id": "S4", "stage": "Lead", "expected_close": date(2026, 7, 15)},
    {"id": "S5", "stage": "Qualified", "expected_close": date(2026, 8, 1)},
    {"id": "S6", "stage": "Lead", "expected_close": date(2026, 9, 1)},
]


class TestSlipProbability:
    def test_learned_from_change_log(self):
        # Events: S1 March (slipped), S1 May (won: no), S2 March (lost: no), S3 April
        # (slipped), S5 April (not re-dated: no), S6 May (slipped) -> 3 / 6.
        model = make_model(SLIP_PROSPECTS, snapshots=SLIP_LOG, min_history=6)
        assert slip_probability(model) == (0.5, "history")

    def test_setting_when_too_few_events(self):
        model = make_model(SLIP_PROSPECTS, snapshots=SLIP_LOG, min_history=7)
        assert slip_probability(model) == (0.2, "setting")
        assert slip_probability(make_model(SLIP_PROSPECTS, min_history=0)) == (0.2, "setting")

    def test_quarterly_periods(self):
        # By quarters: S1 Q1 re-dated to Q2 on 04-05 (slipped), S2 Q1 (lost: no); every
        # other expected close is in Q2, which has not ended at as_of -> 1 / 2.
        model = make_model(SLIP_PROSPECTS, snapshots=SLIP_LOG, min_history=2, granularity="quarter")
        assert slip_probability(model) == (0.5, "history")


def degenerate_model(**options):
    rows = [
        {"stage": "Won", "amount": 12000.0, "closed": date(2026, 6, 1)},
        {
            "stage": "Lead",
            "amount": 10000.0,
            "probability": 1.0,
            "expected_close": date(2026, 7, 2),
        },
        {
            "stage": "Negotiation",
            "amount": 5000.0,
            "probability": 0.0,
            "expected_close": date(2026, 7, 2),
        },
        {
            "stage": "Lead",
            "amount": 7000.0,
            "probability": 1.0,
            "expected_close": date(2026, 3, 2),
        },  # overdue: June
        {"stage": "Lead", "amount": 2000.0, "probability": 1.0, "expected_close": date(2026, 8, 9)},
    ]
    targets = [
        {"period": "2026-06", "revenue": 19000.0},
        {"period": "2026-07", "revenue": 10000.5},
    ]
    return make_model(rows, targets, **options)


class TestSimulate:
    def test_degenerate_without_slip_is_exact(self):
        result = simulate(
            degenerate_model(),
            np.random.default_rng(1),
            trials=300,
            periods=["2026-06", "2026-07", "2026-08"],
            slip=0.0,
        )
        table = result.table
        # June: won 12000 + overdue 7000; July: 10000 (the p = 0 deal never wins); Aug 2000.
        for column in ("p10", "p50", "p90", "mean"):
            assert table[column].tolist() == [19000.0, 10000.0, 2000.0]
        assert table["won"].tolist() == [12000.0, 0.0, 0.0]
        assert table["hit_probability"].tolist()[:2] == [1.0, 0.0]  # 19000 >= 19000; < 10000.5
        assert math.isnan(table["hit_probability"].iloc[2])
        assert (result.trials, result.slip, result.slip_source) == (300, 0.0, "argument")

    def test_slip_one_pushes_every_win_past_the_horizon(self):
        result = simulate(
            degenerate_model(), np.random.default_rng(1), trials=50, periods=["2026-07"], slip=1.0
        )
        assert result.table["p90"].tolist() == [0.0]

    def test_single_deal_hit_probability_is_its_win_probability(self):
        rows = [
            {
                "stage": "Lead",
                "amount": 500.0,
                "probability": 0.3,
                "expected_close": date(2026, 7, 1),
            }
        ]
        model = make_model(rows, [{"period": "2026-07", "revenue": 500.0}])
        trials = 4000
        hit = hit_probability(model, "2026-07", rng=np.random.default_rng(7), trials=trials, slip=0)
        # Binomial: standard error sqrt(.3 x .7 / 4000) = 0.0072; allow 4 of them.
        assert abs(hit - 0.3) < 4 * math.sqrt(0.3 * 0.7 / trials)

    def test_mean_matches_geometric_slip(self):
        # Expected total at horizon offset j: sum of a x p x s^k x (1 - s) over deals landing
        # k = j - base periods earlier (s = 0.5, so levels are dense up to 3, deeper sparse).
        deals = [
            (0.9, 1000.0, date(2026, 6, 20)),
            (0.6, 3000.0, date(2026, 7, 5)),
            (1.0, 2000.0, date(2026, 6, 1)),
            (0.4, 500.0, date(2026, 9, 9)),
        ]
        rows = [
            {"stage": "Lead", "probability": p, "amount": a, "expected_close": d}
            for p, a, d in deals
        ]
        labels = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
        trials = 20000
        result = simulate(
            make_model(rows), np.random.default_rng(3), trials=trials, periods=labels, slip=0.5
        )
        base = {date(2026, 6, 20): 0, date(2026, 7, 5): 1, date(2026, 6, 1): 0, date(2026, 9, 9): 3}
        for j, mean in enumerate(result.table["mean"]):
            expected = sum(a * p * 0.5 ** (j - base[d]) * 0.5 for p, a, d in deals if j >= base[d])
            # Each total is at most 6500: its mean's standard error is below 6500 / sqrt(n).
            assert abs(mean - expected) < 4 * 6500 / math.sqrt(trials)

    def test_slip_levels_are_geometric_and_past_the_horizon_dropped(self):
        # One sure deal landing in June, slip .5: it closes j periods later with
        # probability .5^(j+1); after January (8 periods) with .5^8 = 0.0039, in none.
        rows = [{"stage": "Lead", "probability": 1.0, "amount": 1.0, "expected_close": AS_OF}]
        labels = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"]
        labels.append("2027-01")
        trials = 40000
        result = simulate(
            make_model(rows), np.random.default_rng(5), trials=trials, periods=labels, slip=0.5
        )
        shares = result.table["mean"].to_numpy()  # amount 1: the mean is the share of trials
        for j, share in enumerate(shares):
            p = 0.5 ** (j + 1)
            assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / trials)
        beyond = 1 - shares.sum()
        assert abs(beyond - 0.5**8) < 4 * math.sqrt(0.5**8 / trials)

    def test_same_seed_same_numbers_and_chunk_does_not_matter(self):
        model = make_model(book(), TARGETS)
        first = simulate(model, np.random.default_rng(11), trials=301, slip=0.3).table
        again = simulate(model, np.random.default_rng(11), trials=301, slip=0.3).table
        chunked = simulate(model, np.random.default_rng(11), trials=301, slip=0.3, chunk=7).table
        pd.testing.assert_frame_equal(first, again)
        pd.testing.assert_frame_equal(first, chunked)
        other = simulate(model, np.random.default_rng(12), trials=301, slip=0.3).table
        assert not first.equals(other)

    def test_defaults_use_settings_and_learned_slip(self):
        model = make_model(SLIP_PROSPECTS, snapshots=SLIP_LOG, min_history=6, mc_trials=123)
        result = simulate(model, np.random.default_rng(0))
        assert (result.trials, result.slip, result.slip_source) == (123, 0.5, "history")
        assert result.table["period"].iloc[0] == "2026-06"

    def test_owner_and_unplaced(self):
        model = make_model(book(), TARGETS)
        result = simulate(
            model, np.random.default_rng(0), trials=50, periods=["2026-07"], owner="Bob", slip=0
        )
        # Bob's only July deal: 6000 at .5; every total is 0 or 6000.
        row = result.table.iloc[0]
        assert 0.0 <= row["p10"] <= row["p90"] <= 6000.0
        assert row["mean"] in {6000.0 * k / 50 for k in range(51)}
        assert (result.owner, result.unplaced) == ("Bob", 0)
        assert simulate(model, np.random.default_rng(0), trials=5, slip=0).unplaced == 1

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"trials": 0}, "too few"),
            ({"slip": 1.5}, "slip probability"),
            ({"periods": ["2026-Q3"]}, "granularity"),
            ({"periods": ["nonsense"]}, "not a period"),
            ({"chunk": 0}, "chunk"),
        ],
    )
    def test_input_errors(self, options, message):
        with pytest.raises(InputError, match=message):
            simulate(make_model(book()), np.random.default_rng(0), **options)


deal_strategy = st.tuples(
    st.floats(0.0, 1.0),  # probability
    st.integers(1, 100_000),  # amount
    st.integers(-3, 6),  # expected close, months after June 2026
    st.sampled_from(["", "commit", "omitted"]),
)


@settings(max_examples=60, deadline=None)
@given(
    deals=st.lists(deal_strategy, min_size=0, max_size=8),
    won=st.lists(st.tuples(st.integers(1, 50_000), st.integers(0, 5)), max_size=3),
    slip=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_percentiles_are_ordered_and_bounded(deals, won, slip, seed):
    def month(offset):
        year, index = divmod(5 + offset, 12)  # June 2026 is month index 5 of 2026
        return date(2026 + year, index + 1, 1)

    rows = [
        {
            "stage": "Lead",
            "probability": p,
            "amount": float(a),
            "expected_close": month(k),
            "category": c,
        }
        for p, a, k, c in deals
    ] + [{"stage": "Won", "amount": float(a), "closed": month(-k)} for a, k in won]
    model = make_model(rows)
    labels = [f"2026-{m:02d}" for m in range(1, 13)]
    table = simulate(model, np.random.default_rng(seed), trials=200, periods=labels, slip=slip)
    table = table.table
    for j, row in table.iterrows():
        start = month(j - 5)  # labels start in January
        upper = row["won"] + sum(
            a for p, a, k, c in deals if c != "omitted" and max(month(k), month(0)) <= start
        )
        assert row["won"] <= row["p10"] <= row["p50"] <= row["p90"] <= upper
        assert row["won"] <= row["mean"] <= upper


@settings(max_examples=60, deadline=None)
@given(
    deals=st.lists(
        st.tuples(
            st.sampled_from(["Lead", "Qualified", "Proposal", "Negotiation"]),
            st.floats(0.0, 1e7, allow_nan=False),
            st.one_of(st.none(), st.floats(0.0, 1.0)),
            st.integers(-40, 200),
            st.sampled_from(["Ann", "Bob", ""]),
        ),
        max_size=25,
    )
)
def test_weighted_never_exceeds_unweighted(deals):
    as_of = date(2026, 6, 15)
    rows = [
        {"id": f"O{i}", "stage": stage, "amount": amount, "probability": p, "owner": owner,
         "expected_close": date.fromordinal(as_of.toordinal() + offset)}
        for i, (stage, amount, p, offset, owner) in enumerate(deals)
    ]  # fmt: skip
    table = forecast_table(make_model(rows), ["2026-06", "2026-07", "2026-08", "2026-Q3"])
    assert (table["weighted"] <= table["pipeline"] * (1 + 1e-12)).all()
    assert (table["weighted"] >= 0).all()
    team = table.loc[table["owner"] == ""].set_index("period")
    owners = table.loc[table["owner"] != ""].groupby("period")["pipeline"].sum()
    # Deals without an owner count for the team only, so the team is at least the owners' sum.
    assert (team["pipeline"].reindex(owners.index) >= owners * (1 - 1e-12)).all()


# --------------------------------------------------------------------------- exact ranges


def exact_distribution(outcomes):
    """Exact law of a sum of independent parts, each a list of (value, probability)."""
    law = {0.0: 1.0}
    for part in outcomes:
        nxt: dict[float, float] = {}
        for total, p in law.items():
            for value, q in part:
                nxt[total + value] = nxt.get(total + value, 0.0) + p * q
        law = nxt
    return sorted(law.items())


def exact_quantile(law, level):
    """The smallest value whose cumulative probability reaches ``level``."""
    running = 0.0
    for value, p in law:
        running += p
        if running >= level:
            return value
    return law[-1][0]


def check_range(row, law, target, trials):
    # Every level falls well inside one atom of the law, so the simulated percentile is
    # that atom exactly; P(reach target) is a share of trials, within 4 standard errors.
    for column, level in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        assert row[column] == exact_quantile(law, level), column
    hit = sum(p for value, p in law if value >= target)
    assert abs(row["hit_probability"] - hit) < 4 * math.sqrt(hit * (1 - hit) / trials)


class TestExactRanges:
    TRIALS = 40_000

    def model(self, deals, targets, slip):
        rows = [
            {"id": f"X{i}", "stage": "Lead", "amount": a, "probability": p, "expected_close": d}
            for i, (a, p, d) in enumerate(deals)
        ]
        return make_model(rows, targets, slip_probability=slip)

    @pytest.mark.parametrize("method", ["weighted", "calibrated"])
    def test_without_slip(self, method):
        # July: 100 at p .6 and 50 at p .3, nothing slips: 0 (.28), 50 (.12), 100 (.42),
        # 150 (.18); cumulative .28, .40, .82, 1: P10 0, P50 100, P90 150; P(>= 100) .6.
        deals = [(100.0, 0.6, date(2026, 7, 10)), (50.0, 0.3, date(2026, 7, 20))]
        model = self.model(deals, [{"period": "2026-07", "revenue": 100.0}], 0.0)
        result = simulate(
            model, np.random.default_rng(4), trials=self.TRIALS, periods=["2026-07"],
            method=method,
        )  # fmt: skip
        law = exact_distribution([[(100.0, 0.6), (0.0, 0.4)], [(50.0, 0.3), (0.0, 0.7)]])
        check_range(result.table.iloc[0], law, 100.0, self.TRIALS)

    @pytest.mark.parametrize("method", ["weighted", "calibrated"])
    def test_with_slip(self, method):
        # Slip 1/2. A: 100 at p .8 due in June (as of June 15): June with .8 x .5 = .4,
        # July .8 x .25 = .2. B: 60 at p .9 due in July: July .9 x .5 = .45.
        # June: 0 (.6), 100 (.4): P10 0, P50 0, P90 100.
        # July: 0 (.8 x .55 = .44), 60 (.8 x .45 = .36), 100 (.2 x .55 = .11),
        # 160 (.2 x .45 = .09): P10 0, P50 60, P90 100; P(>= 100) = .20.
        deals = [(100.0, 0.8, date(2026, 6, 25)), (60.0, 0.9, date(2026, 7, 5))]
        targets = [
            {"period": "2026-06", "revenue": 100.0},
            {"period": "2026-07", "revenue": 100.0},
        ]
        model = self.model(deals, targets, 0.5)
        result = simulate(
            model, np.random.default_rng(9), trials=self.TRIALS,
            periods=["2026-06", "2026-07"], method=method,
        )  # fmt: skip
        june = exact_distribution([[(100.0, 0.4), (0.0, 0.6)]])
        july = exact_distribution([[(100.0, 0.2), (0.0, 0.8)], [(60.0, 0.45), (0.0, 0.55)]])
        check_range(result.table.iloc[0], june, 100.0, self.TRIALS)
        check_range(result.table.iloc[1], july, 100.0, self.TRIALS)
        assert result.slip == 0.5
        assert result.timing.startswith("geometric slip")


class TestCalibratedMethod:
    def test_without_history_it_is_the_slip_law_over_the_days(self):
        # As of June 15, slip 20% (the Settings'): a win lands in the month of its
        # expected close with .8, the next with .16. Ann's Proposal (.5) due July 10:
        # July 10000 x .5 x .8 = 4000; the Negotiation (.8) due April is overdue: it lands
        # from the day after as_of, so June 10000 x .8 x .8 = 6400.
        model = make_model(book(), TARGETS)
        july = period_forecast(model, "2026-07", "Ann", method="calibrated")
        weighted = period_forecast(model, "2026-07", "Ann")
        assert july.method == "calibrated"
        # Ann's July deals: 10000 x .5, 20000 x .8, 40000 x .25 (override); June's spill:
        # 8000 x .5 (due 06-25) and 10000 x .8 (overdue), each x .2 x .8 into July.
        spill = (8000 * 0.5 + 10000 * 0.8) * 0.2 * 0.8
        assert july.weighted == pytest.approx((5000 + 16000 + 10000) * 0.8 + spill)
        assert july.new_deals == 0.0
        assert july.expected == pytest.approx(july.won + july.weighted)
        assert weighted.weighted == pytest.approx(31000.0)

    def test_team_is_the_sum_of_owners(self):
        model = make_model(book(), TARGETS)
        table = forecast_table(model, ["2026-06", "2026-07", "2026-08"], method="calibrated")
        for _, group in table.groupby("period"):
            team = group.loc[group["owner"] == ""].iloc[0]
            owners = group.loc[group["owner"] != ""]
            assert team["weighted"] == pytest.approx(owners["weighted"].sum())
            assert team["expected"] == pytest.approx(owners["expected"].sum())
        # One deal (Ann's Qualified without an expected close) has no law to place it.
        assert set(table.loc[table["owner"] == "", "unplaced"]) == {1}

    def test_unknown_method(self):
        with pytest.raises(InputError, match="unknown forecast method"):
            forecast_table(make_model(book()), method="hopeful")


def test_default_method():
    """Every figure without a method is the calibrated one: the reports, the plan and the
    worksheet functions then agree without each naming it."""
    model = make_model(
        [{"stage": "Proposal", "amount": 900.0, "expected_close": date(2026, 7, 1)}],
        [{"period": "2026-07", "revenue": 500.0}],
    )
    assert _forecast.DEFAULT_METHOD == "calibrated"
    assert _forecast.period_forecast(model, "2026-07") == _forecast.period_forecast(
        model, "2026-07", method="calibrated"
    )
    assert _forecast.period_forecast(model, "2026-07") != period_forecast(model, "2026-07")
