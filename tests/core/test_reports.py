"""The refresh's report: sheets, blocks, numbers carried from the engine, robustness, layout."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.contract import REPORT_SHEETS as SHEET_NAMES
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    Model,
    Settings,
    Stage,
    Stages,
    activities_frame,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.report_model import Block, Report, ReportSheet, place
from pipeline_xl.core.reports import (
    TEAM_LABEL,
    TOP_MOVES,
    _team_per_bucket,
    build_report,
)
from pipeline_xl.core.sample import generate
from pipeline_xl.core.schema import validate
from pipeline_xl.core.snapshots import snapshot_dates
from pipeline_xl.core.variance import variance_table

AS_OF = date(2026, 3, 15)
SAMPLE_AS_OF = date(2026, 11, 30)
SHEETS = ("Prospects", "Stages", "Targets", "Activities", "Snapshots", "Settings")
STAGES = default_stages()  # Lead .05, Qualified .2, Proposal .5, Negotiation .8


def sample_model(n: int = 1000, **kwargs: object) -> Model:
    data = generate(n, as_of=SAMPLE_AS_OF, **kwargs)
    return validate(*(data.tables[s] for s in SHEETS), as_of=data.as_of)


@pytest.fixture(scope="module")
def sample() -> tuple[Model, Report]:
    model = sample_model()
    return model, build_report(model)


@pytest.fixture(scope="module")
def messy() -> tuple[Model, Report]:
    model = sample_model(500, seed=2, messy=9)
    return model, build_report(model)


def tiny(**changes: object) -> Model:
    """Ann and Bob as of 2026-03-15: too little history, so Stages table probabilities."""
    prospects = prospects_frame([
        {"id": "W1", "owner": "Ann", "stage": "Won", "amount": 80.0,
         "created": date(2026, 1, 10), "closed": date(2026, 3, 5)},
        {"id": "L1", "owner": "Bob", "stage": "Lost", "amount": 120.0,
         "created": date(2026, 1, 5), "closed": date(2026, 2, 10)},
        {"id": "O1", "owner": "Ann", "stage": "Proposal", "amount": 100.0,
         "created": date(2026, 2, 1), "expected_close": date(2026, 3, 20)},
        {"id": "O2", "owner": "Bob", "stage": "Negotiation", "amount": 200.0,
         "created": date(2026, 2, 1), "expected_close": date(2026, 3, 25)},
        {"id": "O3", "owner": "Bob", "stage": "Lead", "amount": 1000.0,
         "created": date(2026, 3, 1), "expected_close": date(2026, 4, 10)},
    ])  # fmt: skip
    targets = targets_frame([
        {"period": "2026-03", "owner": "Ann", "revenue": 100.0},
        {"period": "2026-03", "owner": "Bob", "revenue": 100.0},
    ])  # fmt: skip
    fields: dict[str, object] = {
        "prospects": prospects,
        "stages": STAGES,
        "targets": targets,
        "activities": activities_frame([]),
        "snapshots": snapshots_frame([]),
        "settings": Settings(as_of=AS_OF, mc_trials=500),
        "issues": pd.DataFrame(),
    }
    fields.update(changes)
    return Model(**fields)


def blocks_of(sheet: ReportSheet, title: str) -> list[Block]:
    return [b for b in sheet.blocks if b.title == title]


def block(report: Report, sheet: str, title: str) -> Block:
    found = blocks_of(report.sheet(sheet), title)
    assert len(found) == 1, [b.title for b in report.sheet(sheet).blocks]
    return found[0]


def as_rows(b: Block) -> list[dict[str, object]]:
    keys = [c.key for c in b.columns]
    return [dict(zip(keys, values, strict=True)) for values in b.values()]


def all_notes(sheet: ReportSheet) -> str:
    return "\n".join(n for b in sheet.blocks for n in b.notes)


def check_text_columns(report: Report) -> None:
    for sheet in report.sheets:
        for b in sheet.blocks:
            assert b.columns, (sheet.name, b.title)  # writers need a header row
            for j, column in enumerate(b.columns):
                values = [row[j] for row in b.values()]
                if column.kind == "text":
                    assert all(isinstance(v, str) for v in values), (sheet.name, b.title, column)
                if column.kind == "flag":
                    assert set(values) <= {"F", "U", None}


# --------------------------------------------------------------------------- structure


class TestStructure:
    def test_sheet_names_and_order(self, sample):
        _, report = sample
        assert tuple(s.name for s in report.sheets) == SHEET_NAMES
        assert SHEET_NAMES == (
            "Variance", "Activity plan", "Forecast range", "Pipeline flow", "Data issues",
        )  # fmt: skip
        assert report.as_of == SAMPLE_AS_OF
        assert report.currency == "EUR"

    def test_titles_and_subtitles(self, sample):
        _, report = sample
        variance = report.sheet("Variance")
        assert variance.title == "Variance against target and forecast"
        assert variance.subtitle.startswith("As of 2026-11-30 · EUR · probabilities from ")
        for sheet in report.sheets:
            assert sheet.title
            assert sheet.subtitle.startswith("As of 2026-11-30 · EUR")
        assert "timing learned from history" in report.sheet("Forecast range").subtitle

    def test_text_columns_hold_text(self, sample, messy):
        check_text_columns(sample[1])
        check_text_columns(messy[1])

    def test_every_block_has_its_columns(self, sample):
        _, report = sample
        for sheet in report.sheets:
            for b in sheet.blocks:
                assert b.columns  # even an empty block shows its header row
                assert list(b.frame.columns) == [c.key for c in b.columns]
                for chart in b.charts:
                    keys = {c.key for c in b.columns}
                    assert chart.categories in keys
                    assert set(chart.series) | set(chart.line_series) <= keys

    def test_freq_is_checked(self):
        with pytest.raises(InputError, match="week or month"):
            build_report(tiny(), freq="day")


class TestLayout:
    def test_blocks_do_not_overlap_and_charts_sit_right(self, sample):
        _, report = sample
        for sheet in report.sheets:
            placed = place(sheet)
            assert placed[0].title_row == 4  # rows 1-2 title and subtitle, row 3 blank
            used_until = 3
            for p in placed:
                assert p.title_row > used_until  # below everything of the block above
                assert p.header_row == p.title_row + 1
                assert p.last_row == p.header_row + len(p.block.frame)
                table_end = p.notes_row + len(p.block.notes) - 1
                charts_end = max((c.row + c.rows - 1 for c in p.charts), default=0)
                for c in p.charts:
                    assert c.col > len(p.block.columns)  # to the right of the table
                    assert c.row >= p.title_row
                for a, b in zip(p.charts, p.charts[1:], strict=False):
                    assert b.row >= a.row + a.rows  # stacked, not overlapping
                used_until = max(table_end, charts_end, p.last_row)

    def test_variance_sheet_has_a_combo_chart_of_team_rows(self, sample):
        _, report = sample
        team = block(report, "Variance", "Team by period")
        (chart,) = team.charts
        assert chart.kind == "column"
        assert chart.series == ("won", "expected")
        assert chart.line_series == ("target",)
        assert chart.categories == "period"


# --------------------------------------------------------------------------- variance


class TestVariance:
    def test_team_rows_equal_the_variance_table(self, sample):
        model, report = sample
        expected = variance_table(model, method="calibrated")
        expected = expected.loc[expected["owner"] == ""].sort_values("start").reset_index(drop=True)
        team = block(report, "Variance", "Team by period")
        assert list(team.frame["period"]) == list(expected["period"])
        for key in ("target", "won", "expected", "variance_target", "variance_target_pct"):
            np.testing.assert_array_equal(team.frame[key].to_numpy(), expected[key].to_numpy())
        full = block(report, "Variance", "By period and owner")
        rows = full.frame.loc[full.frame["owner"] == TEAM_LABEL].reset_index(drop=True)
        for key in ("won", "weighted", "expected", "baseline", "variance_forecast"):
            np.testing.assert_array_equal(rows[key].to_numpy(), expected[key].to_numpy())
        flags = [f if f else None for f in expected["flag_target"]]
        assert list(rows["flag_target"]) == flags

    def test_rows_sorted_by_period_then_team_first(self, sample):
        _, report = sample
        frame = block(report, "Variance", "By period and owner").frame
        periods = list(frame["period"])
        assert periods == sorted(periods)  # yyyy-mm labels sort as dates
        for _, group in frame.groupby("period", sort=False):
            owners = list(group["owner"])
            assert owners[0] == TEAM_LABEL
            assert owners[1:] == sorted(owners[1:])

    def test_worked_example(self):
        report = build_report(tiny())
        frame = block(report, "Variance", "By period and owner").frame
        march = frame.loc[(frame["period"] == "2026-03") & (frame["owner"] == TEAM_LABEL)]
        row = march.iloc[0]
        # Team target = Ann 100 + Bob 100 = 200. Won: W1 80 (closed 2026-03-05).
        # Two closed deals teach no timing: a win lands in its expected month with
        # probability 1 - slip = 0.8 (the Settings' slip 20%), so the calibrated weighted
        # pipeline is O1 Proposal 100 x 0.5 x 0.8 + O2 Negotiation 200 x 0.8 x 0.8 = 168,
        # and no new-deal line (no earlier month with a win).
        # Expected = 80 + 168 = 248; variance = 248 - 200 = 48 (F), 48 / 200 = 24%.
        assert row["target"] == 200.0
        assert row["won"] == 80.0
        assert row["weighted"] == pytest.approx(168.0)
        assert row["new_deals"] == 0.0
        assert row["expected"] == pytest.approx(248.0)
        assert row["variance_target"] == pytest.approx(48.0)
        assert row["variance_target_pct"] == pytest.approx(0.24)
        assert row["flag_target"] == "F"
        assert row["state"] == "current"
        # Baseline: the pipeline rebuilt on 2026-03-01 from the deals' own dates (no
        # snapshots): W1, O1, O2 and O3 open at the first stage (nothing dates a later
        # one), Lead 0.05; W1 has no expected close, O3 lands in April, so
        # 100 x 0.05 x 0.8 + 200 x 0.05 x 0.8 = 12; var. forecast = 248 - 12 = 236 (F).
        assert row["baseline"] == pytest.approx(12.0)
        assert row["variance_forecast"] == pytest.approx(236.0)
        assert row["flag_forecast"] == "F"

    def test_accuracy_needs_a_closed_period(self):
        report = build_report(tiny())
        accuracy = block(report, "Variance", "Forecast accuracy")
        assert accuracy.frame.empty
        assert "No closed period" in accuracy.notes[0]

    def test_accuracy_from_snapshots(self, sample):
        _, report = sample
        accuracy = block(report, "Variance", "Forecast accuracy")
        assert accuracy.frame["owner"].iloc[0] == TEAM_LABEL
        assert [c.header for c in accuracy.columns][-2:] == ["WAPE", "Bias"]
        row = accuracy.frame.iloc[0]
        # WAPE = sum |A - F| / sum A >= |sum (F - A)| / sum A = |bias|.
        assert row["wape"] >= abs(row["bias"]) - 1e-12


# --------------------------------------------------------------------------- activity plan


class TestActivityPlan:
    def test_current_and_next_period(self, sample):
        model, report = sample
        sheet = report.sheet("Activity plan")
        current = model.settings.current_period
        titles = [b.title for b in sheet.blocks]
        for period in (current, current.next()):
            assert f"Required against done - {period.label}" in titles
            assert f"Weekly plan - {period.label}" in titles
        team = block(report, "Activity plan", f"Required against done - {current.label}")
        assert list(team.frame["activity"]) == list(model.stages.activities)
        assert set(team.frame["owner"]) == {TEAM_LABEL}
        (chart,) = team.charts
        assert chart.kind == "bar"
        assert chart.series == ("required_to_date", "done_to_date")

    def test_team_equals_sum_of_owners(self, sample):
        model, report = sample
        label = model.settings.current_period.next().label
        team = block(report, "Activity plan", f"Required against done - {label}").frame
        owners = block(report, "Activity plan", f"Required against done by owner - {label}").frame
        summed = owners.groupby("activity", sort=False)[["required", "done_to_date"]].sum()
        team = team.set_index("activity")
        np.testing.assert_array_equal(team["required"], summed.loc[team.index, "required"])
        np.testing.assert_array_equal(team["done_to_date"], summed.loc[team.index, "done_to_date"])

    def test_weekly_plan_has_no_empty_rows_and_late_warnings(self, sample):
        model, report = sample
        label = model.settings.current_period.next().label
        plan = block(report, "Activity plan", f"Weekly plan - {label}")
        assert [c.header for c in plan.columns] == ["Week", "Owner", "Activity", "Required"]
        assert (plan.frame["required"] > 0).all()
        assert any(n.startswith(f"too late for {label}") for n in plan.notes)

    def test_team_per_week_fills_the_engine_gap(self):
        variance = pd.DataFrame({
            "owner": ["", "", "Ann"],
            "activity": ["Call", "Offer", "Call"],
            "remaining": [5.0, 3.0, 4.0],
            "per_bucket": [np.nan, np.nan, 2.0],
        })  # fmt: skip
        rows = pd.DataFrame({
            "owner": ["", "", "", "", "Ann"],
            "activity": ["Call", "Call", "Call", "Offer", "Call"],
            "required": [2, 0, 3, 0, 2],
        })  # fmt: skip
        got = _team_per_bucket(variance, rows)
        # Team Call: 2 weeks with work left (the 0 week does not count): 5 / 2 = 2.5.
        # Team Offer: no week with work: blank. Ann keeps the engine's value 2.0.
        assert got.iloc[0] == 2.5
        assert math.isnan(got.iloc[1])
        assert got.iloc[2] == 2.0

    def test_period_without_target_is_a_note(self):
        report = build_report(tiny())  # April has no target
        sheet = report.sheet("Activity plan")
        april = blocks_of(sheet, "Required against done - 2026-04")
        assert len(april) == 1
        assert april[0].frame.empty
        assert "no target" in april[0].notes[0]
        assert "2026-04" in april[0].notes[0]

    def test_monthly_plan(self, sample):
        model, _ = sample
        report = build_report(model, freq="month")
        label = model.settings.current_period.next().label
        plan = block(report, "Activity plan", f"Monthly plan - {label}")
        assert plan.columns[0].header == "Month"
        team = block(report, "Activity plan", f"Required against done - {label}")
        assert team.columns[-1].header == "Per month"


# --------------------------------------------------------------------------- forecast range


class TestForecastRange:
    def test_percentiles_are_ordered(self, sample):
        model, report = sample
        team = block(report, "Forecast range", "Team range by period").frame
        current = model.settings.current_period
        assert list(team["period"]) == [current.next(i).label for i in range(6)]
        assert (team["p10"] <= team["p50"]).all()
        assert (team["p50"] <= team["p90"]).all()
        assert (team["won"] <= team["p10"]).all()  # wins only add to what is won
        owners = block(report, "Forecast range", f"By owner - {current.label}").frame
        assert len(owners) > 1
        assert (owners["p10"] <= owners["p50"]).all()
        assert (owners["p50"] <= owners["p90"]).all()
        assert owners["hit_probability"].between(0, 1).all()

    def test_same_seed_same_numbers(self, sample):
        model, report = sample
        again = build_report(model, seed=model.settings.mc_seed)
        pd.testing.assert_frame_equal(
            block(report, "Forecast range", "Team range by period").frame,
            block(again, "Forecast range", "Team range by period").frame,
        )

    def test_worked_example_without_uncertainty(self):
        prospects = tiny().prospects.assign(probability=1.0)
        model = tiny(
            prospects=prospects, settings=Settings(as_of=AS_OF, mc_trials=50, slip_probability=0.0)
        )
        report = build_report(model)
        team = block(report, "Forecast range", "Team range by period").frame.set_index("period")
        # Every open deal wins for sure, in its own period (no slip):
        # March: won 80 + O1 100 + O2 200 = 380 >= target 200, so P(hit) = 1.
        assert team.loc["2026-03", ["p10", "p50", "p90"]].tolist() == [380.0, 380.0, 380.0]
        assert team.loc["2026-03", "hit_probability"] == 1.0
        # April: O3 1000, no target: P(hit) blank.
        assert team.loc["2026-04", "p50"] == 1000.0
        assert math.isnan(team.loc["2026-04", "hit_probability"])
        owners = block(report, "Forecast range", "By owner - 2026-03").frame.set_index("owner")
        # Ann: 80 + 100 = 180; Bob: 200 (O3 lands in April).
        assert owners.loc["Ann", "p50"] == 180.0
        assert owners.loc["Bob", "p50"] == 200.0
        assert owners["hit_probability"].tolist() == [1.0, 1.0]
        notes = block(report, "Forecast range", "Team range by period").notes
        assert any("slip 0.0%, from the Settings sheet" in n for n in notes)


# --------------------------------------------------------------------------- pipeline flow


class TestPipelineFlow:
    def test_blocks(self, sample):
        _, report = sample
        titles = [b.title for b in report.sheet("Pipeline flow").blocks]
        assert titles[0] == "Inflow of new prospects by source"
        assert titles[1] == "Work in progress and flow per stage"
        assert titles[2].startswith("Movement from ")
        assert titles[3:] == ["Moved deals", "Headline metrics", "Win odds per stage (learned)"]

    def test_inflow(self, sample):
        model, report = sample
        inflow = block(report, "Pipeline flow", "Inflow of new prospects by source")
        current = model.settings.current_period
        assert list(inflow.frame["period"]) == [current.next(i).label for i in range(-5, 3)]
        headers = [c.header for c in inflow.columns]
        assert headers[:3] == ["Period", "Needed", "Actual"]
        assert headers[-1] == "Starved"
        sources = [c.key for c in inflow.columns[3:-1]]
        assert (inflow.frame[sources].sum(axis=1) == inflow.frame["actual"]).all()

    def test_stage_flow_and_bottleneck(self, sample):
        model, report = sample
        flow = block(report, "Pipeline flow", "Work in progress and flow per stage")
        assert list(flow.frame["stage"]) == [s.name for s in model.stages.open]
        assert list(flow.frame["bottleneck"]).count("bottleneck") == 1
        assert set(flow.frame["bottleneck"]) <= {"bottleneck", ""}
        assert flow.charts[0].series == ("wip",)
        # Little's law column = throughput x average days in stage.
        np.testing.assert_allclose(
            flow.frame["littles_law_wip"],
            flow.frame["throughput"] * flow.frame["avg_days_in_stage"],
        )

    def test_movement_between_the_latest_two_snapshots(self, sample):
        _, report = sample
        dates = snapshot_dates(report.snapshots)
        title = f"Movement from {dates[-2].isoformat()} to {dates[-1].isoformat()}"
        summary = block(report, "Pipeline flow", title).frame
        assert summary["change"].iloc[0] == "new"
        assert "pulled in" in list(summary["change"])
        moved = block(report, "Pipeline flow", "Moved deals")
        total = int(summary["count"].sum())
        assert total > TOP_MOVES
        assert len(moved.frame) == TOP_MOVES
        assert moved.notes[0].startswith(f"{total} deals moved")
        size = moved.frame["amount_change"].abs().to_numpy()
        assert (size[:-1] >= size[1:]).all()

    def test_headline_metrics_worked_example(self):
        report = build_report(tiny())
        metrics = block(report, "Pipeline flow", "Headline metrics")
        assert [c.header for c in metrics.columns] == ["Metric", "Value"]
        values = dict(metrics.values())
        # Closed: W1 won 80, L1 lost 120. By count 1 / 2 = 50 %; by value 80 / 200 = 40 %.
        assert values["Win rate by count (%)"] == 50.0
        assert values["Win rate by value (%)"] == 40.0
        assert values["Average won deal (EUR)"] == 80.0
        # W1: created 2026-01-10, closed 2026-03-05: 21 + 28 + 5 = 54 days.
        assert values["Cycle time, median (days)"] == 54.0
        # Open: O1 100 + O2 200 + O3 1000 = 1300; coverage March = (100 + 200) / (200 - 80).
        assert values["Open pipeline (EUR)"] == 1300.0
        assert values["Coverage 2026-03 (x)"] == pytest.approx(300 / 120)

    def test_single_snapshot_date_is_a_note(self):
        report = build_report(tiny())
        sheet = report.sheet("Pipeline flow")
        (moves,) = blocks_of(sheet, "Movement since the previous snapshot")
        assert "two snapshot dates" in moves.notes[0]


# --------------------------------------------------------------------------- data issues


class TestDataIssues:
    def test_every_issue_row_is_carried_as_text(self, messy):
        model, report = messy
        issues = block(report, "Data issues", "Problems found")
        assert len(model.issues) > 0
        assert len(issues.frame) == len(model.issues)
        assert [c.header for c in issues.columns] == [
            "Sheet", "Row", "Column", "Value", "Problem", "Severity",
        ]  # fmt: skip
        assert issues.columns[3].kind == "text"
        rows = as_rows(issues)
        for row, (_, issue) in zip(rows, model.issues.iterrows(), strict=True):
            assert row["sheet"] == issue["sheet"]
            assert row["row"] == issue["row"]
            assert row["problem"] == issue["problem"]
            assert row["severity"] == issue["severity"]
            assert isinstance(row["value"], str)
        formulas = [r["value"] for r in rows if str(r["value"]).startswith("=")]
        assert formulas
        assert formulas[0].startswith("=HYPERLINK(")

    def test_no_problems(self):
        report = build_report(tiny())
        (only,) = report.sheet("Data issues").blocks
        assert only.frame.empty
        # 5 prospects + 2 targets + 0 activities + 0 snapshots.
        assert only.notes == ("No problems found in 7 rows.",)

    def test_values_written_as_text(self):
        values = [
            -57800.0, 0.25, np.datetime64("2026-01-02T10:30"), pd.Timestamp("2026-01-03"),
            True, "=1+1", None,
        ]  # fmt: skip
        issues = pd.DataFrame({
            "sheet": ["Prospects"] * 7,
            "row": pd.array([3, 4, 5, 6, 7, 8, None], dtype="Int64"),
            "column": ["Amount", "Amount", "Created", "Closed", "Won", "Name", "ID"],
            "value": pd.Series(values, dtype=object),
            "problem": ["p"] * 7,
            "severity": ["error"] * 7,
        })  # fmt: skip
        report = build_report(tiny(issues=issues))
        rows = as_rows(block(report, "Data issues", "Problems found"))
        assert [r["value"] for r in rows] == [
            "-57800", "0.25", "2026-01-02 10:30:00", "2026-01-03", "TRUE", "=1+1", "",
        ]  # fmt: skip
        assert [r["row"] for r in rows] == [3, 4, 5, 6, 7, 8, None]
        assert "7 errors" in report.sheet("Data issues").subtitle


# --------------------------------------------------------------------------- snapshots


class TestSnapshots:
    def test_as_of_recorded_once(self):
        model = tiny()
        report = build_report(model)
        log = report.snapshots
        assert snapshot_dates(log) == [AS_OF]
        # Every prospect with an id, once.
        assert sorted(log["id"]) == sorted(model.prospects["id"])
        again = build_report(dataclasses.replace(model, snapshots=log))
        pd.testing.assert_frame_equal(again.snapshots, log)

    def test_sample_log_already_holding_as_of(self, sample):
        model, report = sample
        assert SAMPLE_AS_OF in snapshot_dates(model.snapshots)
        log = report.snapshots
        on_day = log.loc[log["snapshot_date"] == pd.Timestamp(SAMPLE_AS_OF)]
        assert not on_day["id"].duplicated().any()
        again = build_report(dataclasses.replace(model, snapshots=log))
        pd.testing.assert_frame_equal(again.snapshots, log)

    def test_second_snapshot_date_gives_movement(self):
        model = tiny()
        first = build_report(model).snapshots
        # A week later O1 advanced to Negotiation.
        later = model.prospects.copy()
        later.loc[later["id"] == "O1", ["stage", "stage_idx", "reached_idx"]] = [
            "Negotiation", 3, 3,
        ]  # fmt: skip
        moved = dataclasses.replace(
            model,
            prospects=later,
            snapshots=first,
            settings=dataclasses.replace(model.settings, as_of=date(2026, 3, 22)),
        )
        report = build_report(moved)
        assert snapshot_dates(report.snapshots) == [AS_OF, date(2026, 3, 22)]
        summary = block(report, "Pipeline flow", "Movement from 2026-03-15 to 2026-03-22")
        counts = dict(zip(summary.frame["change"], summary.frame["count"], strict=True))
        assert counts["advanced"] == 1
        assert sum(counts.values()) == 1
        (deal,) = as_rows(block(report, "Pipeline flow", "Moved deals"))
        assert (deal["id"], deal["stage_before"], deal["stage_after"]) == (
            "O1", "Proposal", "Negotiation",
        )  # fmt: skip


# --------------------------------------------------------------------------- robustness


def two_stage_model() -> Model:
    stages = Stages((
        Stage("Talk", "Call", 0.3, 0.5, 30.0),
        Stage("Offer", "Offer", 0.6, 0.5, 10.0),
        Stage("Won", "Order", 1.0, float("nan"), 0.0, "won"),
        Stage("Lost", "", 0.0, float("nan"), 0.0, "lost"),
    ))  # fmt: skip
    prospects = prospects_frame(
        [
            {"id": "A", "owner": "Ann", "stage": "Talk", "amount": 100.0,
             "created": date(2026, 2, 1), "expected_close": date(2026, 3, 30)},
            {"id": "B", "owner": "Ann", "stage": "Offer", "amount": 50.0,
             "created": date(2026, 2, 1), "expected_close": date(2026, 4, 30)},
            {"id": "C", "owner": "Ann", "stage": "Won", "amount": 70.0,
             "created": date(2026, 1, 1), "closed": date(2026, 3, 1)},
        ],
        stages,
    )  # fmt: skip
    return tiny(
        prospects=prospects,
        stages=stages,
        activities=activities_frame([
            {"date": date(2026, 3, 2), "owner": "Ann", "type": "Call", "count": 3.0},
        ]),
        targets=targets_frame([
            {"period": "2026-03", "revenue": 500.0},
            {"period": "2026-04", "revenue": 500.0},
        ]),
    )  # fmt: skip


def one_owner_target() -> Model:
    targets = targets_frame([
        {"period": "2026-03", "owner": "Ann", "revenue": 500.0},
        {"period": "2026-04", "owner": "Ann", "revenue": 500.0},
    ])  # fmt: skip
    return tiny(targets=targets)


ROBUSTNESS = {
    "no targets": lambda: tiny(targets=targets_frame([])),
    "no activities, no snapshots": tiny,
    "one prospect": lambda: tiny(prospects=tiny().prospects.iloc[[2]].reset_index(drop=True)),
    "all deals closed": lambda: tiny(prospects=tiny().prospects.iloc[:2].reset_index(drop=True)),
    "two open stages": two_stage_model,
    "one owner with a target": one_owner_target,
    "no amounts": lambda: tiny(prospects=tiny().prospects.assign(amount=np.nan)),
}


class TestRobustness:
    @pytest.mark.parametrize("case", list(ROBUSTNESS))
    def test_builds(self, case):
        model = ROBUSTNESS[case]()
        report = build_report(model)
        assert tuple(s.name for s in report.sheets) == SHEET_NAMES
        check_text_columns(report)
        for sheet in report.sheets:
            assert sheet.blocks
            place(sheet)
        team = block(report, "Forecast range", "Team range by period").frame
        assert (team["p10"] <= team["p90"]).all()

    def test_no_targets_gives_notes(self):
        report = build_report(tiny(targets=targets_frame([])))
        notes = all_notes(report.sheet("Activity plan"))
        assert "no target for the team in 2026-03" in notes
        assert "no target for the team in 2026-04" in notes
        inflow = block(report, "Pipeline flow", "Inflow of new prospects by source")
        assert any("no target" in n for n in inflow.notes)

    def test_two_open_stages(self):
        report = build_report(two_stage_model())
        flow = block(report, "Pipeline flow", "Work in progress and flow per stage")
        assert list(flow.frame["stage"]) == ["Talk", "Offer"]
        assert list(flow.frame["wip"]) == [1, 1]
        plan = block(report, "Activity plan", "Required against done - 2026-03")
        assert list(plan.frame["activity"]) == ["Call", "Offer"]


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]),
            st.sampled_from(["", "Ann", "Bob"]),
            st.one_of(st.none(), st.just(0.0), st.floats(1.0, 1e6)),
            st.integers(-90, 90),
        ),
        min_size=1,
        max_size=12,
    ),
    st.booleans(),
)
def test_any_small_book_builds(deals, with_targets):
    records = [
        {"id": f"D{i}", "stage": stage, "owner": owner, "amount": amount,
         "created": pd.Timestamp(AS_OF) - pd.Timedelta(days=120),
         "expected_close": pd.Timestamp(AS_OF) + pd.Timedelta(days=offset),
         "closed": pd.Timestamp(AS_OF) + pd.Timedelta(days=min(offset, 0))
         if stage in ("Won", "Lost") else None}
        for i, (stage, owner, amount, offset) in enumerate(deals)
    ]  # fmt: skip
    targets = targets_frame(
        [{"period": "2026-03", "revenue": 1000.0}, {"period": "2026-04", "revenue": 1000.0}]
        if with_targets
        else []
    )
    model = tiny(prospects=prospects_frame(records), targets=targets)
    report = build_report(model)
    check_text_columns(report)
    team = block(report, "Forecast range", "Team range by period").frame
    assert (team["p10"] <= team["p50"]).all()
    assert (team["p50"] <= team["p90"]).all()


# --------------------------------------------------------------------------- one state


class TestAsItStood:
    def test_a_past_date_is_a_view(self, sample):
        model, _ = sample
        past = dataclasses.replace(
            model, settings=dataclasses.replace(model.settings, as_of=date(2026, 9, 30))
        )
        report = build_report(past, seed=1)
        assert report.view
        assert report.snapshots.empty  # nothing may be recorded in the past
        for sheet in report.sheets:
            assert sheet.subtitle.startswith("As it stood on 2026-09-30 · EUR"), sheet.name

    def test_today_is_recorded(self, sample):
        _, report = sample
        assert not report.view
        assert len(report.snapshots) > 0

    def test_every_sheet_counts_the_same_open_deals(self, sample):
        # One state for every sheet: Pipeline flow's open deals are the forecast's.
        model, report = sample
        metrics = block(report, "Pipeline flow", "Headline metrics").frame.set_index("metric")
        assert metrics.loc["Open deals", "value"] == (model.prospects["status"] == "open").sum()


class TestWinOdds:
    def test_counts_beside_every_rate(self, sample):
        model, report = sample
        odds = block(report, "Pipeline flow", "Win odds per stage (learned)").frame
        assert [c.header for c in block(report, "Pipeline flow", odds_title()).columns] == [
            "Owner", "Stage", "Closed deals that reached it", "Won", "Own P(win)",
            "P(win) used", "Weight of own deals",
        ]  # fmt: skip
        team = odds.loc[odds["owner"] == TEAM_LABEL]
        closed = model.prospects.loc[model.prospects["status"].isin(["won", "lost"])]
        won = int((closed["status"] == "won").sum())
        # The team's first stage: every closed deal reached it; P(win) = won / closed.
        first = team.iloc[0]
        assert first["reached"] == len(closed)
        assert first["won"] == won
        assert first["used"] == pytest.approx(won / len(closed))
        owners = odds.loc[odds["owner"] != TEAM_LABEL]
        # Shrunk rates lie between the owner's own and the team's.
        merged = owners.merge(team[["stage", "used"]], on="stage", suffixes=("", "_team"))
        low = np.minimum(merged["own"], merged["used_team"]) - 1e-12
        high = np.maximum(merged["own"], merged["used_team"]) + 1e-12
        assert ((merged["used"] >= low) & (merged["used"] <= high)).all()


def odds_title() -> str:
    return "Win odds per stage (learned)"
