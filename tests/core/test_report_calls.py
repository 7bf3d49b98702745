"""The Variance sheet's call blocks on the sample company, checked against the sheet's own
figures and against the calls read one by one (second witnesses, not the same code)."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta

import pandas as pd
import pytest

from pipeline_xl.core import contract
from pipeline_xl.core.calls import latest_call
from pipeline_xl.core.forecast import period_forecast
from pipeline_xl.core.model import Model
from pipeline_xl.core.report_model import Block, Report
from pipeline_xl.core.reports import build_report
from pipeline_xl.core.sample import generate
from pipeline_xl.core.schema import validate
from pipeline_xl.core.timeline import as_seen, first_date
from pipeline_xl.core.variance import calibrated_baselines, forecasts_as_they_stood

AS_OF = date(2026, 11, 30)


@pytest.fixture(scope="module")
def sample() -> tuple[Model, Report]:
    data = generate(1000, as_of=AS_OF)
    model = validate(*(data.tables[t.sheet] for t in contract.DATA_TABLES), as_of=data.as_of)
    return as_seen(model), build_report(model)


def _block(report: Report, start: str) -> Block:
    found = [b for b in report.sheet(contract.VARIANCE).blocks if b.title.startswith(start)]
    assert len(found) == 1, start
    return found[0]


def _variance(report: Report) -> pd.DataFrame:
    return _block(report, "By period and owner").frame


class TestCallAccuracy:
    def test_the_team_first_then_the_reps_by_bias_highest_first(self, sample):
        table = _block(sample[1], "Call accuracy").frame
        assert table["owner"].iloc[0] == "Team"
        reps = table.iloc[1:]
        assert reps["call_bias"].is_monotonic_decreasing
        assert (table["periods"] == 6).all()

    def test_the_sample_has_optimists_and_sandbaggers(self, sample):
        table = _block(sample[1], "Call accuracy").frame.set_index("owner")
        readings = set(table["reading"].iloc[1:])
        assert {"optimistic", "sandbagging"} <= readings
        optimists = table.loc[table["reading"] == "optimistic", "call_bias"]
        sandbaggers = table.loc[table["reading"] == "sandbagging", "call_bias"]
        assert (optimists > 0.1).all()
        assert (sandbaggers < -0.1).all()
        # Sandbaggers' commits are beaten more often than optimists' are.
        hit = table["hit_rate"]
        assert hit[sandbaggers.index].mean() > hit[optimists.index].mean()

    def test_won_and_the_system_are_the_variance_tables(self, sample):
        # The accuracy's won and system forecast add up the Variance table's rows of the
        # last six closed months, read here from the sheet's own block.
        table = _block(sample[1], "Call accuracy").frame.set_index("owner")
        variance = _variance(sample[1])
        closed = variance.loc[variance["state"] == "closed"]
        last = sorted(set(closed["period"]))[-6:]
        rows = closed.loc[closed["period"].isin(last)].groupby("owner")
        for owner, group in rows:
            assert table.loc[owner, "won"] == pytest.approx(group["won"].sum()), owner
            assert table.loc[owner, "forecast"] == pytest.approx(group["baseline"].sum()), owner

    def test_the_calls_are_the_opening_commits_as_submitted(self, sample):
        model, report = sample
        table = _block(report, "Call accuracy").frame.set_index("owner")
        variance = _variance(report)
        months = sorted(set(variance.loc[variance["state"] == "closed", "period"]))[-6:]
        calls = model.calls.loc[model.calls["type"] == "commit"]
        for owner in ("Team", *[o for o in table.index if o != "Team"]):
            name = "" if owner == "Team" else owner
            said = 0.0
            for label in months:
                period = model.settings.parse_period(label)
                mine = calls.loc[(calls["owner"] == name) & (calls["period"] == label)]
                before = mine.loc[mine["submitted_on"] <= pd.Timestamp(period.start)]
                first = before if len(before) else mine
                pick = first.sort_values(["submitted_on", "row"]).iloc[-1 if len(before) else 0]
                said += float(pick["amount"])
            assert table.loc[owner, "call"] == said, owner


class TestTeamWeeks:
    def test_calls_standing_and_the_system_as_it_stood(self, sample):
        model, report = sample
        weeks = _block(report, "Team call by week").frame
        november = model.settings.parse_period("2026-11")
        assert weeks["week"].tolist() == [date(2026, 11, d) for d in (1, 8, 15, 22, 29)]
        ends = [date(2026, 11, d) for d in (7, 14, 21, 28, 30)]
        for end, commit in zip(ends, weeks["commit"], strict=True):
            assert commit == latest_call(model.calls, november, "", as_of=end).value
        team = _variance(report).set_index(["period", "owner"]).loc[("2026-11", "Team")]
        assert weeks["system"].iloc[-1] == pytest.approx(team["expected"])
        assert weeks["won_to_date"].iloc[-1] == pytest.approx(team["won"])


class TestForecastsAsTheyStood:
    def test_a_periods_first_day_is_its_calibrated_baseline(self, sample):
        model, _ = sample
        october = model.settings.parse_period("2026-10")
        base = calibrated_baselines(model, [october]).set_index("owner")["baseline"]
        owner = str(base.index[1])
        for who in ("", owner):
            got = forecasts_as_they_stood(model, october, [october.start], who)
            assert got == [pytest.approx(base[who])]

    def test_the_as_of_day_is_todays_forecast_and_before_the_records_nothing(self, sample):
        model, _ = sample
        november = model.settings.parse_period("2026-11")
        early = first_date(model) - timedelta(days=1)
        got = forecasts_as_they_stood(model, november, [early, AS_OF, AS_OF + timedelta(1)])
        today = period_forecast(model, november).expected
        assert math.isnan(got[0])
        assert got[1:] == [pytest.approx(today), pytest.approx(today)]
        assert math.isnan(forecasts_as_they_stood(model, november, [AS_OF], "Nobody")[0])


class TestCallsTable:
    def test_each_months_figures_are_the_variance_tables(self, sample):
        _, report = sample
        rows = _block(report, "Forecast calls by period and owner").frame
        variance = _variance(report).set_index(["period", "owner"])
        months = rows.loc[~rows["period"].str.contains("Q")]
        assert len(months) > 50
        for row in months.itertuples(index=False):
            expected = variance.loc[(row.period, row.owner)]
            assert row.won == pytest.approx(expected["won"])
            assert row.expected == pytest.approx(expected["expected"])
            assert row.call_minus_won == pytest.approx(row.latest - row.won)
            assert row.gap0 == ""  # the empty column before the trend
            if row.state == "closed":
                assert row.met == ("F" if row.won >= row.latest else "U")
            else:
                assert row.met is None

    def test_the_trend_is_right_of_the_variance_table(self, sample):
        # Its long text widens its column: not one of the Variance table's.
        _, report = sample
        calls = [c.key for c in _block(report, "Forecast calls by period and owner").columns]
        width = len(_block(report, "By period and owner").columns)
        assert calls.index("trend") == width
        assert calls[width - 1].startswith("gap")
        # The F/U column sits in the Variance table's first F/U column.
        variance = [c.header for c in _block(report, "By period and owner").columns]
        assert variance.index("F/U") == calls.index("met")

    def test_a_quarter_adds_up_its_months(self, sample):
        _, report = sample
        rows = _block(report, "Forecast calls by period and owner").frame
        quarter = rows.loc[(rows["period"] == "2026-Q3") & (rows["owner"] == "Team")].iloc[0]
        variance = _variance(report)
        months = variance.loc[
            variance["period"].isin(["2026-07", "2026-08", "2026-09"])
            & (variance["owner"] == "Team")
        ]
        assert quarter["won"] == pytest.approx(months["won"].sum())


def test_a_workbook_without_calls_gets_one_note(sample):
    model, _ = sample
    report = build_report(dataclasses.replace(model, calls=model.calls.iloc[:0]))
    block = _block(report, "Call accuracy")
    assert block.frame.empty
    assert block.notes[0].startswith("No forecast call yet")
    assert not [b for b in report.sheet(contract.VARIANCE).blocks if "by week" in b.title]
