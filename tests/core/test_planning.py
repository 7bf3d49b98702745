"""Backward planning: scalar reverse funnel, plans from history, dated plan and inflow."""

from __future__ import annotations

import functools
import itertools
import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline_xl.core import planning as _planning
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    Model,
    Settings,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.planning import (
    MAX_COUNT,
    funnel_table,
    inflow,
    required_calls,
    required_counts,
)

RATES = [0.25, 0.4, 0.625, 0.8]  # the default Stages table: Call, Meeting, Offer, Negotiation

# The worked examples here are the weighted method's (stage probability times amount,
# geometric slip); the calibrated default has its own tests (test_calibration and
# test_default_method below).
backward_plan = functools.partial(_planning.backward_plan, method="weighted")
dated_plan = functools.partial(_planning.dated_plan, method="weighted")


def reference_counts(target, avg_deal, rates, won=Fraction(0), pipeline=Fraction(0)):
    """Section 6 with exact fractions: deals = ceil(gap / avg), count_k = ceil(next / c_k)."""
    gap = max(Fraction(0), target - won - pipeline)
    n = math.ceil(gap / avg_deal)
    counts = [n]
    for rate in reversed(rates):
        n = math.ceil(Fraction(n) / rate)
        counts.append(n)
    return tuple(reversed(counts))


class TestRequiredCounts:
    def test_worked_example(self):
        # The gap is 500000 - 100000 - 100000 = 300000, so 300000 / 25000 = 12 deals.
        # Negotiations 12 / 0.8 = 15, offers 15 / 0.625 = 24, meetings 24 / 0.4 = 60,
        # and calls 60 / 0.25 = 240.
        counts = required_counts(500_000, 25_000, RATES, 100_000, 100_000)
        assert counts == (240, 60, 24, 15, 12)
        assert required_calls(500_000, 25_000, RATES, 100_000, 100_000) == 240

    def test_rounds_up_at_every_level(self):
        # 630000 / 30000 = 21 deals; 21 / 0.7 = 30; 30 / 0.7 = 42.86 -> 43;
        # 43 / 0.7 = 61.43 -> 62; 62 / 0.7 = 88.57 -> 89.
        assert required_counts(630_000.0, 30_000.0, [0.7, 0.7, 0.7, 0.7]) == (89, 62, 43, 30, 21)
        # 10001 / 5000 = 2.0002 -> 3 deals: a started deal is a whole deal.
        assert required_counts(10_001, 5_000, [0.5]) == (6, 3)

    @pytest.mark.parametrize(
        ("deals", "rate", "needed"),
        [
            (21, 0.7, 30),  # 21 / 0.7 is 30.000000000000004 in floats
            (21, 0.35, 60),  # 60.00000000000001
            (57, 0.57, 100),  # 100.00000000000001
            (69, 0.69, 100),
            (145, 0.29, 500),  # 500.00000000000006
            (7, 0.07, 100),  # 99.99999999999999 in floats: must not drop to 99 either
            (3, 0.6, 5),
            (100, 0.1, 1000),
        ],
    )
    def test_whole_rate_quotients_are_not_pushed_up(self, deals, rate, needed):
        assert required_counts(deals, 1, [rate]) == (needed, deals)

    @pytest.mark.parametrize(
        ("target", "avg_deal", "won", "pipeline", "deals"),
        [
            (90_000.0, 30_000.0, 0.0, 0.0, 3),
            (2.1, 0.3, 0.0, 0.0, 7),  # 7.000000000000001 in floats
            (4.2, 0.6, 0.0, 0.0, 7),
            (0.4, 0.1, 0.1, 0.0, 3),  # (0.4 - 0.1) / 0.1 is 3.0000000000000004
            (0.3, 0.1, 0.1, 0.2, 0),  # 0.3 - 0.1 - 0.2 is 5.6e-17, not a sliver of a deal
            (1_000_000.3, 0.1, 0.1, 0.2, 10_000_000),  # gap 1000000.0 exactly
        ],
    )
    def test_whole_deal_counts_are_not_pushed_up(self, target, avg_deal, won, pipeline, deals):
        assert required_counts(target, avg_deal, [1.0], won, pipeline)[-1] == deals

    def test_exact_types_and_sequences(self):
        # 2 deals at a 2/7 conversion need exactly 7 negotiations.
        assert required_counts(2, 1, [Fraction(2, 7)]) == (7, 2)
        assert required_counts(Decimal("2.1"), Decimal("0.3"), (Decimal("0.7"),)) == (10, 7)
        assert required_counts(500_000, 25_000, np.array(RATES), 100_000, 100_000)[0] == 240
        assert required_counts(500_000, 25_000, pd.Series(RATES))[0] == 400
        assert required_counts(np.float64(100.0), np.int64(50), 0.5) == (4, 2)

    def test_won_beyond_target_needs_nothing(self):
        assert required_counts(100_000, 25_000, RATES, won_to_date=150_000) == (0, 0, 0, 0, 0)
        assert required_counts(0, 25_000, RATES) == (0, 0, 0, 0, 0)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((100, 10, [1.4]), "rates: 1.4 is not a conversion rate above 0 and at most 1"),
            ((100, 10, [0.5, 0.0]), "rates: 0.0 is not a conversion rate above 0 and at most 1"),
            ((100, 10, [-0.2]), "rates: -0.2 is not a conversion rate above 0 and at most 1"),
            ((100, 10, [math.nan]), "rates: nan is not a conversion rate above 0 and at most 1"),
            ((100, 10, ["50%"]), "rates: '50%' is not a conversion rate above 0 and at most 1"),
            ((100, 10, [None]), "rates: None is not a conversion rate above 0 and at most 1"),
            (
                (100, 10, [Fraction(11, 10)]),
                "rates: Fraction(11, 10) is not a conversion rate above 0 and at most 1",
            ),
            ((100, 10, []), "rates: needs at least one conversion rate"),
            ((100, 10, "0.5"), "rates: expected a list of conversion rates"),
            ((100, 0, [0.5]), "avg_deal: must be greater than 0"),
            ((100, -5.0, [0.5]), "avg_deal: must be greater than 0"),
            ((-1, 10, [0.5]), "target: must be 0 or more"),
            ((math.inf, 10, [0.5]), "target: inf is not a finite number"),
            ((100, math.nan, [0.5]), "avg_deal: nan is not a finite number"),
            (("lots", 10, [0.5]), "target: 'lots' is not a number"),
            ((True, 10, [0.5]), "target: True is not a number"),
            ((None, 10, [0.5]), "target: is empty, a number is needed"),
            ((100, 10, [0.5], math.nan), "won_to_date: nan is not a finite number"),
            ((100, 10, [0.5], 0, "x"), "expected_pipeline: 'x' is not a number"),
        ],
    )
    def test_bad_inputs_name_the_argument(self, args, message):
        with pytest.raises(InputError) as caught:
            required_counts(*args)
        assert message in str(caught.value)
        assert caught.value.column == message.split(":")[0]

    def test_error_carries_the_value(self):
        with pytest.raises(InputError) as caught:
            required_counts(100, 10, [0.5, 1.4])
        assert (caught.value.column, caught.value.value) == ("rates", 1.4)


money = st.decimals(min_value=0, max_value=10_000_000, places=2)
positive_money = st.decimals(min_value=Decimal("0.01"), max_value=1_000_000, places=2)
rate_decimals = st.decimals(min_value=Decimal("0.0001"), max_value=1, places=4)


class TestRequiredCountsProperties:
    @settings(max_examples=100, deadline=None)
    @given(money, positive_money, st.lists(rate_decimals, min_size=1, max_size=6), money, money)
    def test_equals_fraction_reference(self, target, avg, rates, won, pipeline):
        want = reference_counts(
            Fraction(target), Fraction(avg), [Fraction(r) for r in rates], Fraction(won),
            Fraction(pipeline),
        )  # fmt: skip
        args = (float(target), float(avg), [float(r) for r in rates], float(won), float(pipeline))
        if max(want) > MAX_COUNT:  # an absurd plan is refused, whatever its size
            with pytest.raises(InputError, match="number of activities"):
                required_counts(*args)
        else:
            assert required_counts(*args) == want

    @settings(max_examples=100, deadline=None)
    @given(
        positive_money,
        st.integers(0, 500),
        money,
        st.lists(st.integers(1, 100), min_size=1, max_size=5),
    )
    def test_whole_cases_equal_reference(self, avg, deals, won, percents):
        # Targets that are an exact multiple of the deal size, rates in whole percent:
        # the quotients land on integers far more often than random inputs do.
        target = avg * deals + won
        rates = [Fraction(p, 100) for p in percents]
        got = required_counts(float(target), float(avg), [p / 100 for p in percents], float(won))
        assert got == reference_counts(Fraction(target), Fraction(avg), rates, Fraction(won))
        assert got[-1] == deals

    @settings(max_examples=100, deadline=None)
    @given(money, money, positive_money, st.lists(rate_decimals, min_size=1, max_size=5))
    def test_non_decreasing_in_target(self, t1, t2, avg, rates):
        low, high = sorted((float(t1), float(t2)))
        floats = [float(r) for r in rates]
        try:
            bigger = required_calls(high, float(avg), floats)
        except InputError:
            assume(False)  # beyond MAX_COUNT: refused, nothing to compare
        assert required_calls(low, float(avg), floats) <= bigger

    @settings(max_examples=100, deadline=None)
    @given(
        money,
        positive_money,
        st.lists(rate_decimals, min_size=1, max_size=5),
        st.data(),
    )
    def test_non_increasing_in_each_rate(self, target, avg, rates, data):
        k = data.draw(st.integers(0, len(rates) - 1))
        lower = data.draw(st.decimals(min_value=Decimal("0.0001"), max_value=rates[k], places=4))
        before = [float(r) for r in rates]
        after = list(before)
        after[k] = float(lower)
        try:
            more = required_counts(float(target), float(avg), after)
        except InputError:
            assume(False)  # beyond MAX_COUNT: refused, nothing to compare
        less = required_counts(float(target), float(avg), before)
        assert all(m >= n for m, n in zip(more, less, strict=True))

    @settings(max_examples=100, deadline=None)
    @given(money, positive_money, st.lists(rate_decimals, min_size=1, max_size=6))
    def test_each_level_at_least_the_next(self, target, avg, rates):
        try:
            counts = required_counts(float(target), float(avg), [float(r) for r in rates])
        except InputError:
            assume(False)  # beyond MAX_COUNT: refused, nothing to compare
        assert all(a >= b for a, b in itertools.pairwise(counts))


class TestFunnelTable:
    def test_with_stages(self):
        table = funnel_table(500_000, 25_000, default_stages(), 100_000, 100_000)
        assert list(table.columns) == ["activity", "conversion", "required"]
        assert list(table["activity"]) == ["Call", "Meeting", "Offer", "Negotiation", "Order"]
        assert list(table["required"]) == [240, 60, 24, 15, 12]
        assert list(table["conversion"][:4]) == RATES
        assert math.isnan(table["conversion"].iloc[4])
        assert table["required"].dtype == "int64"

    def test_with_bare_rates(self):
        table = funnel_table(100, 50, [0.5])
        assert list(table["activity"]) == ["Stage 1", "Deals"]
        assert list(table["required"]) == [4, 2]

    def test_bad_rates(self):
        with pytest.raises(InputError, match="rates: 2 is not a conversion rate above 0"):
            funnel_table(100, 50, [2])


# ----------------------------------------------------------------------------- model-based

STAGES = default_stages()  # lead days from the table: 90, 60, 30, 14


def make_model(prospects, targets, as_of, *, min_history=30, granularity="month"):
    return Model(
        prospects=prospects_frame(prospects, STAGES),
        stages=STAGES,
        targets=targets_frame(targets),
        activities=pd.DataFrame(),
        snapshots=snapshots_frame([], STAGES),
        settings=Settings(as_of=as_of, min_history=min_history, granularity=granularity),
        issues=pd.DataFrame(),
    )


def old_wins(*owners):
    """One 25000 win per owner in 2025: too little history, so the Stages table's rates and
    lead times apply, and the average deal is 25000.
    """
    return [
        {
            "id": f"OLD{i}",
            "stage": "Won",
            "owner": owner,
            "amount": 25_000.0,
            "created": date(2025, 3, 1),
            "closed": date(2025, 6, 1),
        }
        for i, owner in enumerate(owners)
    ]


class TestBackwardPlan:
    def test_from_model(self):
        # June 2026: target 345000; won in June 25000; an open Proposal deal of 40000
        # closing in June weighs 0.5 x 40000 = 20000 (Stages probability, thin history).
        # gap = 345000 - 25000 - 20000 = 300000 -> 12 deals -> 15, 24, 60, 240 (as above).
        prospects = [
            *old_wins("Ann", "Ann"),
            {
                "stage": "Won",
                "owner": "Ann",
                "amount": 25_000.0,
                "created": date(2026, 2, 1),
                "closed": date(2026, 6, 5),
            },
            {
                "stage": "Proposal",
                "owner": "Ann",
                "amount": 40_000.0,
                "created": date(2026, 4, 1),
                "expected_close": date(2026, 6, 20),
            },
        ]
        model = make_model(
            prospects, [{"period": "2026-06", "revenue": 345_000.0}], date(2026, 6, 10)
        )
        plan = backward_plan(model, "2026-06")
        assert (plan.target, plan.won, plan.expected_pipeline) == (345_000.0, 25_000.0, 20_000.0)
        assert (plan.gap, plan.avg_deal, plan.source) == (300_000.0, 25_000.0, "stages")
        assert plan.counts == (240, 60, 24, 15, 12)
        assert plan.deals == 12
        assert [lv.activity for lv in plan.levels] == [
            "Call",
            "Meeting",
            "Offer",
            "Negotiation",
            "Order",
        ]
        assert [lv.stage for lv in plan.levels][-1] == "Won"
        assert [lv.conversion for lv in plan.levels][:4] == RATES

    def test_history_rates_are_exact_ratios(self):
        # 17 closed deals: 10 lost at Lead, 5 lost after Negotiation, 2 won (50000 each).
        # Cohorts 17, 7, 7, 7, won 2: conversions 7/17, 1, 1, 2/7.
        # Target 100000 -> 2 deals; 2 / (2/7) = 7 negotiations (the float 0.2857142857142857
        # read as a decimal would give 7.00000000000000035 -> 8); 7, 7, then 7 / (7/17) = 17.
        rows = [{"stage": "Lost", "reached_idx": 0, "closed": date(2026, 1, 5)} for _ in range(10)]
        rows += [{"stage": "Lost", "reached_idx": 3, "closed": date(2026, 1, 5)} for _ in range(5)]
        rows += [
            {
                "stage": "Won",
                "amount": 50_000.0,
                "closed": date(2026, 2, 1),
                "created": date(2026, 1, 1),
            }
            for _ in range(2)
        ]
        model = make_model(
            rows, [{"period": "2026-Q3", "revenue": 100_000.0}], date(2026, 6, 30), min_history=5
        )
        plan = backward_plan(model, "2026-Q3")
        assert plan.source == "history"
        assert plan.counts == (17, 7, 7, 7, 2)

    def test_no_target(self):
        model = make_model(
            old_wins("Ann"),
            [{"period": "2026-06", "owner": "Ann", "revenue": 1.0}],
            date(2026, 3, 1),
        )
        with pytest.raises(InputError, match="no target for owner Bob in 2026-07"):
            backward_plan(model, "2026-07", "Bob")
        with pytest.raises(InputError, match="no target for the team in 2026-07"):
            backward_plan(model, "2026-07")

    def test_no_deal_size(self):
        model = make_model([], [{"period": "2026-06", "revenue": 1.0}], date(2026, 3, 1))
        with pytest.raises(InputError, match="no average deal size"):
            backward_plan(model, "2026-06")


def june_model(as_of, targets=None, prospects=None):
    """June 2026 with a team target of 300000 and nothing won or open in June:
    12 deals -> 15 negotiations, 24 offers, 60 meetings, 240 calls.
    """
    return make_model(
        prospects if prospects is not None else old_wins("Ann", "Bob"),
        targets if targets is not None else [{"period": "2026-06", "revenue": 300_000.0}],
        as_of,
    )


def by_bucket(rows, owner=""):
    mine = rows.loc[rows["owner"] == owner]
    return {(r.bucket_start.date(), r.activity): r.required for r in mine.itertuples()}


class TestDatedPlan:
    def test_monthly_windows_by_hand(self):
        # Lead days 90/60/30/14 before June (2026-06-01 .. 07-01, 30 days):
        # calls [03-03, 04-02): 29 days in March, 1 in April -> 240*29/30 = 232, 8;
        # meetings [04-02, 05-02): 29 + 1 days -> 60*29/30 = 58, 2; offers [05-02, 06-01)
        # -> 24 in May; negotiations [05-18, 06-17): 14 + 16 days -> 15*14/30 = 7, 8.
        plan = dated_plan(june_model(date(2026, 2, 1)), "2026-06", freq="month")
        assert by_bucket(plan.rows) == {
            (date(2026, 3, 1), "Call"): 232,
            (date(2026, 4, 1), "Call"): 8,
            (date(2026, 4, 1), "Meeting"): 58,
            (date(2026, 5, 1), "Meeting"): 2,
            (date(2026, 5, 1), "Offer"): 24,
            (date(2026, 5, 1), "Negotiation"): 7,
            (date(2026, 6, 1), "Negotiation"): 8,
        }
        assert plan.too_late.empty
        assert plan.warnings == ()
        assert list(plan.rows.columns) == ["bucket_start", "owner", "activity", "required"]
        assert plan.rows["required"].dtype == "int64"
        assert plan.rows["bucket_start"].dtype == "datetime64[ns]"

    def test_too_late_part(self):
        # as_of 2026-03-16: 13 of the 30 call days are gone -> 240*13/30 = 104 too late,
        # needed by 03-15; the rest of March (16 days) gets 128 and April 1 gets 8.
        plan = dated_plan(june_model(date(2026, 3, 16)), "2026-06", freq="month")
        rows = by_bucket(plan.rows)
        assert (rows[date(2026, 3, 1), "Call"], rows[date(2026, 4, 1), "Call"]) == (128, 8)
        assert plan.too_late.to_dict("records") == [
            {"owner": "", "activity": "Call", "count": 104, "needed_by": pd.Timestamp("2026-03-15")}
        ]
        assert plan.warnings == ("too late for 2026-06: 104 calls were needed by 2026-03-15",)

    def test_weekly_largest_remainder(self):
        # Negotiations [05-18 (a Monday), 06-17): weeks of 7, 7, 7, 7 and 2 days.
        # Quotas 15*7/30 = 3.5 (x4) and 15*2/30 = 1: floors 3,3,3,3,1 = 13; the 2 units
        # left go to the tied .5 remainders, earliest first -> 4, 4, 3, 3, 1.
        plan = dated_plan(june_model(date(2026, 2, 1)), "2026-06", freq="week")
        rows = by_bucket(plan.rows)
        weeks = [date(2026, 5, 18) + timedelta(days=7 * i) for i in range(5)]
        assert [rows[w, "Negotiation"] for w in weeks] == [4, 4, 3, 3, 1]
        assert all(d.weekday() == 0 for d, _ in rows)

    def test_rows_start_at_the_as_of_bucket(self):
        plan = dated_plan(june_model(date(2026, 4, 8)), "2026-06", freq="week")
        assert plan.rows["bucket_start"].min() == pd.Timestamp("2026-04-06")  # that Monday
        # Every call was due before 04-02: all 240 are too late, plus 6 of 30 meeting days
        # (04-02 .. 04-07): 60*6/30 = 12 meetings, needed by 04-07.
        late = {r.activity: (r.count, r.needed_by.date()) for r in plan.too_late.itertuples()}
        assert late == {"Call": (240, date(2026, 4, 1)), "Meeting": (12, date(2026, 4, 7))}
        assert plan.warnings == (
            "too late for 2026-06: 240 calls were needed by 2026-04-01",
            "too late for 2026-06: 12 meetings were needed by 2026-04-07",
        )

    def test_owners_and_team_sum(self):
        # Ann and Bob: 150000 each -> 6 deals; 6/0.8 = 7.5 -> 8; 8/0.625 = 12.8 -> 13;
        # 13/0.4 = 32.5 -> 33; 33/0.25 = 132 calls each.
        # Calls at as_of 03-16: quotas 132*13/30 = 57.2 (late), *16/30 = 70.4 (March),
        # *1/30 = 4.4 (April): floors 57, 70, 4 leave 1 unit for the largest remainder,
        # tied .4 for March and April -> March. Late 57, March 71, April 4 per owner.
        targets = [
            {"period": "2026-06", "owner": "Ann", "revenue": 150_000.0},
            {"period": "2026-06", "owner": "Bob", "revenue": 150_000.0},
        ]
        plan = dated_plan(june_model(date(2026, 3, 16), targets), "2026-06", freq="month")
        assert [p.owner for p in plan.plans] == ["Ann", "Bob"]
        assert all(p.counts == (132, 33, 13, 8, 6) for p in plan.plans)
        ann, team = by_bucket(plan.rows, "Ann"), by_bucket(plan.rows, "")
        assert (ann[date(2026, 3, 1), "Call"], ann[date(2026, 4, 1), "Call"]) == (71, 4)
        for key, n in team.items():
            assert n == ann[key] + by_bucket(plan.rows, "Bob")[key]
        late = plan.too_late.set_index("owner")["count"].to_dict()
        assert late == {"": 114, "Ann": 57, "Bob": 57}
        assert plan.warnings == ("too late for 2026-06: 114 calls were needed by 2026-03-15",)
        assert list(plan.rows["owner"].unique()) == ["", "Ann", "Bob"]

    def test_one_owner_named_in_warning(self):
        targets = [{"period": "2026-06", "owner": "Ann", "revenue": 150_000.0}]
        plan = dated_plan(
            june_model(date(2026, 3, 16), targets), "2026-06", owner="Ann", freq="month"
        )
        assert set(plan.rows["owner"]) == {"Ann"}
        assert plan.warnings == ("too late for 2026-06 (Ann): 57 calls were needed by 2026-03-15",)

    def test_bad_freq(self):
        with pytest.raises(InputError, match="freq: 'day' is not week or month"):
            dated_plan(june_model(date(2026, 2, 1)), "2026-06", freq="day")  # type: ignore[arg-type]

    @settings(max_examples=30, deadline=None)
    @given(st.integers(0, 150), st.sampled_from(["week", "month"]), st.integers(1, 60))
    def test_buckets_and_late_add_up_to_levels(self, offset, freq, ann_k):
        targets = [
            {"period": "2026-06", "owner": "Ann", "revenue": 5_000.0 * ann_k},
            {"period": "2026-Q2", "owner": "Bob", "revenue": 90_000.0},
        ]
        as_of = date(2026, 2, 1) + timedelta(days=offset)
        plan = dated_plan(june_model(as_of, targets), "2026-06", freq=freq)
        bucket = as_of - timedelta(days=as_of.weekday()) if freq == "week" else as_of.replace(day=1)
        assert (plan.rows["bucket_start"] >= pd.Timestamp(bucket)).all()
        for p in plan.plans:
            for level in p.levels[:-1]:
                rows = plan.rows.loc[
                    (plan.rows["owner"] == p.owner) & (plan.rows["activity"] == level.activity)
                ]
                late = plan.too_late.loc[
                    (plan.too_late["owner"] == p.owner)
                    & (plan.too_late["activity"] == level.activity)
                ]
                assert rows["required"].sum() + late["count"].sum() == level.count


class TestInflow:
    def prospects(self):
        created = [("Web", date(2026, 2, 10))] * 2 + [("Event", date(2026, 2, 20))]
        created += [("Web", date(2026, 3, 2))] * 60 + [("", date(2026, 3, 9))] * 40
        created += [("Web", date(2026, 3, 20))]  # after as_of: not counted yet
        return [*old_wins("Ann", "Bob")] + [
            {"source": source, "created": day, "owner": "Ann"} for source, day in created
        ]

    def test_needed_actual_and_starved(self):
        # June's 240 calls fall in [03-03, 04-02): 29 days in March, 1 in April ->
        # needed 232 and 8. March has started and got 100 new prospects: starved.
        # April has not started (as_of 03-16): not starved although 0 < 8.
        model = june_model(date(2026, 3, 16), prospects=self.prospects())
        report = inflow(model, ["2026-02", "2026-03", "2026-04", "2026-05"])
        rows = report.rows
        assert list(rows.columns) == [
            "period", "needed", "actual", "(no source)", "Event", "Web", "starved"
        ]  # fmt: skip
        assert list(rows["period"]) == ["2026-02", "2026-03", "2026-04", "2026-05"]
        assert list(rows["needed"]) == [0, 232, 8, 0]
        assert list(rows["actual"]) == [3, 100, 0, 0]
        assert list(rows["Web"]) == [2, 60, 0, 0]
        assert list(rows["Event"]) == [1, 0, 0, 0]
        assert list(rows["(no source)"]) == [0, 40, 0, 0]
        assert list(rows["starved"]) == [False, True, False, False]
        assert report.warnings == ("pipeline starved in 2026-03: 100 new prospects, 232 needed",)

    def test_window_outside_the_periods_still_counts(self):
        # Only April asked for: March's 232 calls are outside, April still gets 8.
        model = june_model(date(2026, 3, 16), prospects=self.prospects())
        assert list(inflow(model, ["2026-04"]).rows["needed"]) == [8]

    def test_no_future_target(self):
        model = june_model(date(2026, 8, 1), prospects=self.prospects())
        report = inflow(model, ["2026-03"])
        assert list(report.rows["needed"]) == [0]
        assert not report.rows["starved"].any()
        assert report.warnings[0].startswith("no target")

    def test_overlapping_periods(self):
        model = june_model(date(2026, 3, 16))
        with pytest.raises(InputError, match="periods: 2026-03 overlaps 2026-Q1"):
            inflow(model, ["2026-Q1", "2026-03"])


def test_absurd_plan_is_an_input_error_not_an_overflow():
    # A won deal of 1e-100 makes the average deal absurd: 1e6 / 1e-100 deals.
    prospects = [{"id": "W", "stage": "Won", "amount": 1e-100, "closed": date(2026, 1, 5)}]
    model = make_model(prospects, [{"period": "2026-03", "revenue": 1e6}], date(2026, 2, 1))
    with pytest.raises(InputError, match=r"would need .* calls: check the amounts"):
        backward_plan(model, "2026-03")
