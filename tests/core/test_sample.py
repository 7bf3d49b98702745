"""The seeded sample company: raw tables, history realism, change log, junk cells, speed."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import period_forecast
from pipeline_xl.core.planning import backward_plan
from pipeline_xl.core.sample import ONE_OF_EACH, SAMPLE_STAGES, SampleData, generate
from pipeline_xl.core.schema import validate

AS_OF = date(2026, 3, 15)
SHEETS = (
    "Prospects", "Stages", "Targets", "Activities", "Snapshots", "Settings", "Forecast calls",
)  # fmt: skip
PROSPECT_HEADERS = [
    "ID", "Name", "Company", "Owner", "Source", "Stage", "Amount", "Expected close",
    "Probability", "Category", "Status", "Created", "Closed", "Last activity", "Stage reached",
]  # fmt: skip
SNAPSHOT_HEADERS = [
    "Snapshot date", "ID", "Owner", "Stage", "Status", "Amount", "Expected close", "Probability",
]  # fmt: skip
STATE = ["Owner", "Stage", "Status", "Amount", "Expected close", "Probability"]
OPEN_STAGES = ["Lead", "Qualified", "Proposal", "Negotiation"]
ACTIVITY_OF = {"Lead": "Call", "Qualified": "Meeting", "Proposal": "Offer"}


@pytest.fixture(scope="module")
def sample() -> SampleData:
    return generate(3000, as_of=AS_OF, seed=7)


@pytest.fixture(scope="module")
def big() -> SampleData:
    return generate(20_000, as_of=AS_OF, seed=3)


def _state_at(log: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each deal's latest change-log row dated on or before ``day``."""
    return log[log["Snapshot date"] <= day].groupby("ID").tail(1).set_index("ID")


def _changed_cells(a: pd.DataFrame, b: pd.DataFrame) -> list[tuple[int, str]]:
    """Cells whose values differ (two blanks count as equal)."""
    out = []
    for col in a.columns:
        for i, (x, y) in enumerate(zip(a[col].tolist(), b[col].tolist(), strict=True)):
            if not ((pd.isna(x) and pd.isna(y)) or (not pd.isna(x) and x == y)):
                out.append((i, col))
    return out


def _closed_funnel(prospects: pd.DataFrame) -> np.ndarray:
    """Furthest open stage index reached by each closed deal (won = 4)."""
    closed = prospects[prospects["Status"] != "Open"]
    index = {name: k for k, name in enumerate(OPEN_STAGES)}
    return np.where(
        closed["Status"] == "Won", 4, closed["Stage reached"].map(index).to_numpy(dtype=float)
    )


class TestShape:
    def test_sheets_and_headers(self, sample):
        assert tuple(sample.tables) == SHEETS
        assert list(sample.tables["Prospects"].columns) == PROSPECT_HEADERS
        assert list(sample.tables["Snapshots"].columns) == SNAPSHOT_HEADERS
        assert list(sample.tables["Stages"].columns) == [
            "Stage", "Activity", "Probability", "Conversion", "Days to close", "Status",
        ]  # fmt: skip
        assert list(sample.tables["Targets"].columns) == [
            "Period", "Owner", "Revenue target", "Deals target",
        ]  # fmt: skip
        assert list(sample.tables["Activities"].columns) == [
            "Date", "Owner", "Activity", "Prospect ID", "Count",
        ]  # fmt: skip
        assert list(sample.tables["Settings"].columns) == ["Setting", "Value"]

    def test_attributes(self, sample):
        assert (sample.company, sample.as_of, sample.seed) == ("Acme Components", AS_OF, 7)
        with pytest.raises(dataclasses.FrozenInstanceError):
            sample.seed = 8  # type: ignore[misc]

    def test_sizes(self, sample):
        prospects = sample.tables["Prospects"]
        assert len(prospects) == 3000
        assert prospects["ID"].is_unique
        # 3000 / 150 = 20 reps.
        assert prospects["Owner"].nunique() == 20
        # History months 2024-09 .. 2026-02 (18): the first six are the run-up, so targets
        # run from 2025-03 to the as_of month 2026-03 and six more up to 2026-09: 19 months
        # for each of the 20 reps.
        targets = sample.tables["Targets"]
        assert len(targets) == 19 * 20
        assert targets["Period"].iloc[0] == "2025-03"
        assert targets["Period"].iloc[-1] == "2026-09"
        assert sample.tables["Prospects"]["Created"].min() < pd.Timestamp(2024, 10, 1)
        assert len(sample.tables["Stages"]) == 6
        assert len(sample.tables["Settings"]) == 8

    @pytest.mark.parametrize(
        ("n", "reps"),
        [
            (300, 4),  # 300 / 150 = 2, raised to the minimum of 4
            (1000, 7),  # 1000 / 150 = 6.67, rounds to 7
            (6000, 40),  # 6000 / 150 = 40 exactly
            (9000, 40),  # 9000 / 150 = 60, capped at 40
        ],
    )
    def test_default_rep_count(self, n, reps):
        assert generate(n, as_of=AS_OF).tables["Prospects"]["Owner"].nunique() == reps

    def test_explicit_reps_and_settings(self):
        data = generate(
            500, as_of=AS_OF, reps=3, currency="USD", fiscal_start_month=4, company="Beta"
        )
        assert data.tables["Prospects"]["Owner"].nunique() == 3
        assert data.tables["Targets"]["Owner"].nunique() == 3
        assert data.company == "Beta"
        values = dict(zip(*(data.tables["Settings"][c] for c in ("Setting", "Value")), strict=True))
        assert values["As-of date"] == pd.Timestamp(AS_OF)
        assert values["Currency"] == "USD"
        assert values["Fiscal year start month"] == 4.0
        assert set(values) == {
            "As-of date", "Fiscal year start month", "Period granularity", "Currency",
            "Monte Carlo trials", "Monte Carlo seed", "Stale deal days", "Slip probability",
        }  # fmt: skip

    def test_rep_names_are_first_and_last(self, sample):
        for name in sample.tables["Prospects"]["Owner"].unique():
            assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", name)

    def test_stages_table_is_the_companys(self, sample):
        table = sample.tables["Stages"]
        assert table["Stage"].tolist() == [s.name for s in SAMPLE_STAGES.all]
        assert table["Activity"].tolist()[:5] == [
            "Call",
            "Meeting",
            "Offer",
            "Negotiation",
            "Order",
        ]
        assert table["Conversion"].tolist()[:4] == [0.7, 0.75, 0.8, 0.85]
        # Probability = P(win | stage), the product of the conversions from it to Won.
        products = [0.7 * 0.75 * 0.8 * 0.85, 0.75 * 0.8 * 0.85, 0.8 * 0.85, 0.85]
        assert table["Probability"].tolist()[:4] == pytest.approx(products, abs=5e-4)
        assert table["Status"].tolist() == ["Open"] * 4 + ["Won", "Lost"]

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"n_prospects": 0},
            {"months": 0},
            {"reps": 0},
            {"fiscal_start_month": 13},
            {"messy": -1},
        ],
    )
    def test_bad_arguments(self, kwargs):
        with pytest.raises(InputError):
            generate(as_of=AS_OF, **kwargs)


class TestDeterminism:
    def test_same_arguments_same_tables(self):
        a = generate(800, as_of=AS_OF, seed=11, messy=5)
        b = generate(800, as_of=AS_OF, seed=11, messy=5)
        for sheet in SHEETS:
            assert a.tables[sheet].equals(b.tables[sheet]), sheet

    def test_other_seed_other_tables(self):
        a = generate(800, as_of=AS_OF, seed=11)
        b = generate(800, as_of=AS_OF, seed=12)
        assert not a.tables["Prospects"].equals(b.tables["Prospects"])


class TestValues:
    def test_excel_like_types(self, sample):
        prospects = sample.tables["Prospects"]
        assert prospects["Amount"].dtype == np.float64
        assert prospects["Probability"].dtype == np.float64
        for col in ("Expected close", "Created", "Closed", "Last activity"):
            assert pd.api.types.is_datetime64_any_dtype(prospects[col]), col
        for col in ("ID", "Name", "Company", "Owner", "Source", "Stage", "Status"):
            assert all(isinstance(v, str) for v in prospects[col]), col
        for col in ("Category", "Stage reached"):
            assert all(isinstance(v, str) or pd.isna(v) for v in prospects[col]), col
        assert prospects["Probability"].dropna().between(0.0, 1.0).all()
        assert sample.tables["Snapshots"]["Probability"].dropna().between(0.0, 1.0).all()
        assert set(prospects["Source"]) == {"Website", "Referral", "Outbound", "Event", "Partner"}

    def test_every_status_and_stage(self, sample):
        prospects = sample.tables["Prospects"]
        assert set(prospects["Status"]) == {"Open", "Won", "Lost"}
        status_of = {**dict.fromkeys(OPEN_STAGES, "Open"), "Won": "Won", "Lost": "Lost"}
        assert (prospects["Stage"].map(status_of) == prospects["Status"]).all()
        assert set(prospects.loc[prospects["Status"] == "Open", "Stage"]) == set(OPEN_STAGES)

    def test_dates_in_order(self, sample):
        prospects = sample.tables["Prospects"]
        as_of = pd.Timestamp(AS_OF)
        closed = prospects["Status"] != "Open"
        assert (prospects["Created"] >= pd.Timestamp(2024, 9, 1)).all()
        assert (prospects["Created"] <= as_of).all()
        assert (prospects.loc[closed, "Closed"] <= as_of).all()
        assert (prospects.loc[closed, "Closed"] > prospects.loc[closed, "Created"]).all()
        assert prospects.loc[~closed, "Closed"].isna().all()
        assert prospects["Expected close"].notna().all()
        assert (prospects["Last activity"] <= as_of).all()
        assert (prospects["Last activity"] >= prospects["Created"]).all()
        assert prospects["Created"].is_monotonic_increasing
        assert (prospects["Created"].dt.day_of_week < 5).all()  # prospects come in on weekdays

    def test_stage_reached_only_for_lost(self, sample):
        prospects = sample.tables["Prospects"]
        lost = prospects["Status"] == "Lost"
        assert prospects.loc[lost, "Stage reached"].isin(OPEN_STAGES).all()
        assert prospects.loc[~lost, "Stage reached"].isna().all()
        # Deals are lost at every stage, most of them early.
        counts = prospects.loc[lost, "Stage reached"].value_counts()
        assert set(counts.index) == set(OPEN_STAGES)
        assert counts["Lead"] > counts["Negotiation"]

    def test_amounts(self, big):
        amounts = big.tables["Prospects"]["Amount"]
        assert 16_000 <= amounts.median() <= 24_000
        assert (amounts > 0).all()
        assert (amounts % 10 == 0).all()
        assert amounts.max() > 5 * amounts.median()  # log-normal: a long right tail

    def test_amounts_change_during_a_deal(self, big):
        log = big.tables["Snapshots"]
        distinct = log.groupby("ID")["Amount"].nunique()
        assert 0.01 < (distinct > 1).mean() < 0.3

    def test_open_deals(self, big):
        prospects = big.tables["Prospects"]
        as_of = pd.Timestamp(AS_OF)
        open_ = prospects[prospects["Status"] == "Open"]
        ahead = (open_["Expected close"] - as_of).dt.days
        assert (ahead < 0).any()  # some overdue
        assert (ahead > 60).any()  # some months ahead
        assert (ahead <= 200).all()  # at most about six months ahead
        assert 0.05 <= open_["Probability"].notna().mean() <= 0.16  # ~10% overrides
        stale = (as_of - open_["Last activity"]).dt.days > 30
        assert 0.02 < stale.mean() < 0.5
        closed = prospects[prospects["Status"] != "Open"]
        assert closed["Probability"].isna().all()
        assert (closed["Last activity"] == closed["Closed"]).all()

    def test_every_category_on_open_deals(self, big):
        prospects = big.tables["Prospects"]
        tagged = prospects[prospects["Category"].notna()]
        assert set(tagged["Category"]) == {"Commit", "Best case", "Pipeline", "Omitted"}
        assert (prospects["Category"].notna() == (prospects["Status"] == "Open")).all()
        committed = tagged.loc[tagged["Category"].isin(["Commit", "Best case"]), "Stage"]
        assert committed.isin(["Proposal", "Negotiation"]).all()
        late = prospects[prospects["Stage"] == "Negotiation"]["Category"]
        early = prospects[prospects["Stage"] == "Proposal"]["Category"]
        assert (late == "Commit").mean() > (early == "Commit").mean()

    def test_learned_conversions_near_the_table(self, big):
        reached = _closed_funnel(big.tables["Prospects"])
        table = [0.7, 0.75, 0.8, 0.85]
        # Cohort conversion c_k = deals that reached k+1 / deals that reached k.
        learned = [(reached > k).sum() / (reached >= k).sum() for k in range(4)]
        assert np.allclose(learned, table, atol=0.08)
        assert not np.allclose(learned, table, atol=0.002)

    def test_days_to_close_plausible(self, big):
        prospects = big.tables["Prospects"].set_index("ID")
        won = prospects[prospects["Status"] == "Won"]
        acts = big.tables["Activities"]
        acts = acts[acts["Prospect ID"].isin(won.index)]
        for activity, table_days in [("Call", 95), ("Meeting", 70), ("Offer", 42)]:
            rows = acts[acts["Activity"] == activity]
            closed = won.loc[rows["Prospect ID"], "Closed"].to_numpy()
            days = (closed - rows["Date"].to_numpy()) / np.timedelta64(1, "D")
            assert 0.6 * table_days <= np.median(days) <= 1.25 * table_days, activity


class TestActivities:
    def test_one_row_per_stage_entry(self, sample):
        prospects = sample.tables["Prospects"]
        acts = sample.tables["Activities"]
        per_deal = acts[acts["Prospect ID"].notna()]
        assert (per_deal["Count"] == 1.0).all()
        index = {name: k for k, name in enumerate(OPEN_STAGES)}
        # Open: every stage up to the current one; lost: up to the furthest reached;
        # won: all four open stages plus the order.
        expected = np.select(
            [prospects["Status"] == "Open", prospects["Status"] == "Lost"],
            [prospects["Stage"].map(index) + 1, prospects["Stage reached"].map(index) + 1],
            5,
        )
        counts = per_deal["Prospect ID"].value_counts().reindex(prospects["ID"]).to_numpy()
        assert (counts == expected).all()

    def test_activity_dates(self, sample):
        prospects = sample.tables["Prospects"].set_index("ID")
        acts = sample.tables["Activities"]
        assert acts["Date"].is_monotonic_increasing
        assert (acts["Date"] <= pd.Timestamp(AS_OF)).all()
        calls = acts[(acts["Activity"] == "Call") & acts["Prospect ID"].notna()]
        assert (calls["Date"].to_numpy() == prospects.loc[calls["Prospect ID"], "Created"]).all()
        orders = acts[acts["Activity"] == "Order"]
        assert (orders["Date"].to_numpy() == prospects.loc[orders["Prospect ID"], "Closed"]).all()
        assert len(orders) == (prospects["Status"] == "Won").sum()

    def test_aggregated_cold_calls(self, sample):
        acts = sample.tables["Activities"]
        pooled = acts[acts["Prospect ID"].isna()]
        assert len(pooled) > 0
        assert (pooled["Count"] > 1).all()
        assert (pooled["Activity"] == "Call").all()


class TestTargets:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_set_like_a_sales_director(self, seed):
        data = generate(3000, as_of=AS_OF, seed=seed)
        prospects, targets = data.tables["Prospects"], data.tables["Targets"]
        won = prospects[prospects["Status"] == "Won"]
        by_month = won.groupby(won["Closed"].dt.strftime("%Y-%m"))["Amount"].sum()
        team = targets.groupby("Period")["Revenue target"].sum()
        shown = [m for m in team.index if m < "2026-03"]  # target months before as_of's
        attainment = by_month.reindex(shown).fillna(0.0) / team[shown]
        assert 0.85 <= by_month.reindex(shown).sum() / team[shown].sum() <= 1.05
        assert attainment.between(0.7, 1.3).mean() >= 0.75  # mostly 70% to 130%
        assert (attainment > 0.4).all()  # no month without wins: the run-up is over

    def test_the_as_of_month_is_behind(self):
        for as_of in (AS_OF, date(2026, 12, 7), date(2027, 5, 2)):
            data = generate(1000, as_of=as_of)
            model = validate(*(data.tables[sheet] for sheet in SHEETS), as_of=as_of)
            period = model.settings.current_period
            forecast = period_forecast(model, period, method="calibrated")
            assert forecast.gap > 0.1 * forecast.target, as_of
            assert backward_plan(model, period, method="calibrated").deals > 0

    def test_targets_positive_and_consistent(self, sample):
        targets = sample.tables["Targets"]
        assert (targets["Revenue target"] > 0).all()
        assert (targets["Revenue target"] % 100 == 0).all()
        assert (targets["Deals target"] >= 1).all()
        assert (targets["Deals target"] % 1 == 0).all()
        per_period = targets.groupby("Period").size()
        assert (per_period == 20).all()
        assert set(targets["Owner"]) == set(sample.tables["Prospects"]["Owner"])


class TestSnapshots:
    def test_snapshot_dates(self, sample):
        dates = pd.DatetimeIndex(sample.tables["Snapshots"]["Snapshot date"].unique())
        # Month ends 2024-09-30 .. 2026-02-28 (18 of them), then as_of 2026-03-15.
        assert len(dates) == 19
        assert dates[0] == pd.Timestamp(2024, 9, 30)
        assert dates[-2] == pd.Timestamp(2026, 2, 28)
        assert dates[-1] == pd.Timestamp(AS_OF)
        assert dates[:-1].is_month_end.all()
        assert dates.is_monotonic_increasing

    def test_latest_state_is_the_prospects_table(self, sample):
        prospects = sample.tables["Prospects"].set_index("ID")
        state = _state_at(sample.tables["Snapshots"], pd.Timestamp(AS_OF))
        assert state.index.sort_values().equals(prospects.index.sort_values())
        assert state.loc[prospects.index, STATE].equals(prospects[STATE])

    def test_log_is_compact(self, sample):
        log = sample.tables["Snapshots"]
        previous = log.groupby("ID")[STATE].shift()
        seen = log.groupby("ID").cumcount() > 0
        same = pd.concat(
            [(log[c] == previous[c]) | (log[c].isna() & previous[c].isna()) for c in STATE],
            axis=1,
        ).all(axis=1)
        assert not (same & seen).any()
        assert len(log) < 3 * len(sample.tables["Prospects"])

    def test_pipeline_at_a_month_end(self, sample):
        prospects = sample.tables["Prospects"].set_index("ID")
        day = pd.Timestamp(2025, 6, 30)
        state = _state_at(sample.tables["Snapshots"], day)
        # Exactly the deals created by then, each closed by then in its final status.
        created = prospects.index[prospects["Created"] <= day]
        assert state.index.sort_values().equals(created.sort_values())
        closed = prospects.loc[created][prospects.loc[created, "Closed"] <= day]
        assert (state.loc[closed.index, "Status"] == closed["Status"]).all()
        still_open = prospects.loc[created][~(prospects.loc[created, "Closed"] <= day)]
        assert (state.loc[still_open.index, "Status"] == "Open").all()

    def test_slip_rate(self, big):
        log = big.tables["Snapshots"]
        dates = sorted(log["Snapshot date"].unique())
        expected = slipped = 0
        for before, after in itertools.pairwise(dates):
            then = _state_at(log, before)
            due = then[(then["Status"] == "Open") & (then["Expected close"] > before)]
            due = due[due["Expected close"] <= after]
            now = _state_at(log, after).loc[due.index]
            expected += len(due)
            slipped += int((now["Status"] == "Open").sum())
        assert 0.15 <= slipped / expected <= 0.35

    def test_overdue_deals_get_pushed(self, big):
        log = big.tables["Snapshots"]
        previous = log.groupby("ID")[["Expected close", "Stage", "Snapshot date"]].shift()
        pushed = (
            (log["Status"] == "Open")
            & (log["Stage"] == previous["Stage"])
            & (previous["Expected close"] < log["Snapshot date"])
            & (log["Expected close"] > previous["Expected close"])
        )
        assert pushed.sum() > 100


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 150),
    seed=st.integers(0, 2**32 - 1),
    months=st.integers(1, 24),
    as_of=st.dates(date(2015, 1, 1), date(2035, 12, 31)),
)
@example(n=9, seed=0, months=2, as_of=date(2015, 1, 1))  # shorter than the 3-month smoothing
@example(n=40, seed=1, months=1, as_of=date(2026, 5, 31))  # as_of on a month end (Sunday)
def test_invariants_hold_for_any_arguments(n, seed, months, as_of):
    data = generate(n, as_of=as_of, seed=seed, months=months)
    prospects = data.tables["Prospects"]
    day = pd.Timestamp(as_of)
    assert len(prospects) == n
    assert (prospects["Created"] <= day).all()
    assert (prospects["Closed"].dropna() <= day).all()
    lost = prospects["Status"] == "Lost"
    assert prospects.loc[lost, "Stage reached"].isin(OPEN_STAGES).all()
    state = _state_at(data.tables["Snapshots"], day)
    assert state.loc[prospects["ID"], STATE].reset_index(drop=True).equals(prospects[STATE])
    assert (data.tables["Targets"]["Revenue target"] >= 0).all()
    shown = months - min(6, months // 2) + 7  # the run-up months have no target
    assert len(data.tables["Targets"]) == data.tables["Targets"]["Owner"].nunique() * shown


class TestMessy:
    def test_clean_by_default(self, sample):
        prospects = sample.tables["Prospects"]
        assert prospects["Stage"].isin([*OPEN_STAGES, "Won", "Lost"]).all()
        assert not prospects["Name"].str.startswith("=").any()
        assert (prospects["Amount"] > 0).all()

    def test_every_kind_of_junk(self, sample):
        messy = generate(3000, as_of=AS_OF, seed=7, messy=9)
        clean = sample.tables["Prospects"]
        prospects = messy.tables["Prospects"]
        changed = _changed_cells(prospects, clean)
        # Nine kinds, nine distinct rows: exactly nine cells differ.
        assert len(changed) == 9
        junk = {col: [prospects.loc[i, col] for i, c in changed if c == col] for _, col in changed}
        amounts = junk["Amount"]
        assert "n/a" in amounts
        assert any(isinstance(a, str) and re.fullmatch(r"\d{1,3}( \d{3})* €", a) for a in amounts)
        assert any(isinstance(a, float) and a < 0 for a in amounts)
        assert "#N/A" in junk["Expected close"]
        assert any(
            isinstance(d, str) and re.fullmatch(r"\d\d/\d\d/\d{4}", d)
            for d in junk["Expected close"]
        )
        assert junk["Stage"] == ["Prospecting"]
        assert junk["Name"] == ['=HYPERLINK("http://example.com","x")']
        assert junk["Probability"] == [35.0]
        assert prospects["ID"].duplicated().sum() == 1
        for sheet in SHEETS[1:]:
            assert messy.tables[sheet].equals(sample.tables[sheet]), sheet

    def test_junk_count_bounded(self, sample):
        messy = generate(3000, as_of=AS_OF, seed=7, messy=25).tables["Prospects"]
        assert 9 <= len(_changed_cells(messy, sample.tables["Prospects"])) <= 25

    def test_untouched_columns_keep_their_types(self):
        # One junk cell: only its column changes type; the others stay as a reader gives them.
        messy = generate(200, as_of=AS_OF, seed=5, messy=1).tables["Prospects"]
        objects = [c for c in ("Amount", "Probability") if messy[c].dtype == object]
        dates = [c for c in ("Expected close", "Created") if messy[c].dtype == object]
        assert len(objects) + len(dates) <= 1

    def test_a_single_prospect(self):
        data = generate(1, as_of=AS_OF, messy=9)
        assert len(data.tables["Prospects"]) == 1


class TestValidation:
    @staticmethod
    def _validate(data: SampleData):
        return validate(*(data.tables[sheet] for sheet in SHEETS), as_of=data.as_of)

    def test_clean_sample_has_no_errors(self, sample):
        model = self._validate(sample)
        assert not (model.issues["severity"] == "error").any()
        assert len(model.prospects) == len(sample.tables["Prospects"])
        assert len(model.snapshots) == len(sample.tables["Snapshots"])
        assert len(model.activities) == len(sample.tables["Activities"])
        assert len(model.targets) == len(sample.tables["Targets"])
        assert model.settings.as_of == AS_OF
        lost = model.prospects[model.prospects["status"] == "lost"]
        assert (lost["reached_idx"] >= 0).all()

    def test_messy_sample_has_issues(self):
        model = self._validate(generate(500, as_of=AS_OF, seed=2, messy=9))
        issues = model.issues[model.issues["sheet"] == "Prospects"]
        assert (issues["severity"] == "error").sum() >= 1
        assert "Prospecting" in issues["value"].tolist()

    def test_one_of_each_shows_each_problem_once(self):
        model = self._validate(generate(1000, as_of=AS_OF, messy=ONE_OF_EACH))
        issues = model.issues
        # A text amount and a day-first date are read as meant; the seven other kinds of
        # junk are each reported once, on their own row.
        assert len(issues) == 7
        assert issues["row"].is_unique
        kinds = ["missing amount", "above zero", "Excel error", "unknown stage",
                 "ID repeated", "formula", "0-100 scale"]  # fmt: skip
        for kind in kinds:
            assert issues["problem"].str.contains(kind).sum() == 1, kind


class TestLarge:
    def test_hundred_thousand(self):
        data = generate(100_000, as_of=AS_OF)
        assert len(data.tables["Prospects"]) == 100_000
        assert data.tables["Prospects"]["Owner"].nunique() == 40
