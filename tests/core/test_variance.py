"""Variance against target and baseline forecast, forecast accuracy, activity variance."""

from __future__ import annotations

import functools
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline_xl.core import variance as _variance
from pipeline_xl.core.model import (
    Model,
    Settings,
    activities_frame,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.variance import (
    baseline_forecasts,
    forecast_accuracy,
)

STAGES = default_stages()  # probabilities Lead .05, Qualified .2, Proposal .5, Negotiation .8

# Worked examples of the weighted method (the calibrated default is tested with the reports).
variance_table = functools.partial(_variance.variance_table, method="weighted")
activity_variance = functools.partial(_variance.activity_variance, method="weighted")


def book(activities=()) -> Model:
    """Ann's small book, as of 2026-03-15 (too little history: Stages table probabilities)."""
    prospects = prospects_frame([
        {"id": "W1", "owner": "Ann", "stage": "Won", "amount": 80.0, "closed": date(2026, 2, 10)},
        {"id": "W2", "owner": "Ann", "stage": "Won", "amount": 50.0, "closed": date(2026, 3, 5)},
        {"id": "O1", "owner": "Ann", "stage": "Proposal", "amount": 100.0,
         "expected_close": date(2026, 3, 20)},
        {"id": "O2", "owner": "Ann", "stage": "Negotiation", "amount": 100.0,
         "expected_close": date(2026, 4, 10), "probability": 0.3},
    ])  # fmt: skip
    log = snapshots_frame([
        {"snapshot_date": date(2026, 1, 31), "id": "W1", "owner": "Ann", "stage": "Proposal",
         "amount": 80.0, "expected_close": date(2026, 2, 15)},
        {"snapshot_date": date(2026, 1, 31), "id": "O1", "owner": "Ann", "stage": "Qualified",
         "amount": 100.0, "expected_close": date(2026, 3, 20)},
        {"snapshot_date": date(2026, 2, 28), "id": "W1", "owner": "Ann", "stage": "Won",
         "amount": 80.0, "expected_close": date(2026, 2, 15)},
        {"snapshot_date": date(2026, 2, 28), "id": "O1", "owner": "Ann", "stage": "Proposal",
         "amount": 100.0, "expected_close": date(2026, 3, 20)},
        {"snapshot_date": date(2026, 2, 28), "id": "W2", "owner": "Ann", "stage": "Negotiation",
         "amount": 50.0, "expected_close": date(2026, 3, 5)},
    ])  # fmt: skip
    targets = targets_frame(
        [
            {"period": "2026-02", "owner": "Ann", "revenue": 100.0},
            {"period": "2026-03", "owner": "Ann", "revenue": 200.0},
            {"period": "2026-04", "owner": "Ann", "revenue": 1000.0},
        ]
    )
    return Model(
        prospects=prospects, stages=STAGES, targets=targets,
        activities=activities_frame(list(activities)), snapshots=log,
        settings=Settings(as_of=date(2026, 3, 15)), issues=pd.DataFrame(),
    )  # fmt: skip


def row(table: pd.DataFrame, period: str, owner: str = "") -> pd.Series:
    found = table.loc[(table["period"] == period) & (table["owner"] == owner)]
    assert len(found) == 1
    return found.iloc[0]


class TestBaseline:
    def test_pipeline_as_it_stood(self):
        model = book()
        periods = [model.settings.parse_period(p) for p in ("2026-02", "2026-03", "2026-04")]
        base = baseline_forecasts(model, periods)
        team = base.loc[base["owner"] == ""].set_index("period")["baseline"]
        # Feb, from 2026-01-31: W1 at Proposal, 80 x 0.5 = 40 (O1 expected in March).
        # Mar, from 2026-02-28: O1 Proposal 100 x 0.5 + W2 Negotiation 50 x 0.8 = 90;
        #   W1 was already won then.
        # Apr, from 2026-02-28: nothing expected in April yet = 0.
        assert team.to_dict() == pytest.approx({"2026-02": 40.0, "2026-03": 90.0, "2026-04": 0.0})
        assert set(base["baseline_date"]) == {date(2026, 1, 31), date(2026, 2, 28)}

    def test_no_snapshot_before_period(self):
        model = book()
        assert baseline_forecasts(model, [model.settings.parse_period("2026-01")]).empty


class TestVarianceTable:
    def test_worked_example(self):
        table = variance_table(book(), ["2026-02", "2026-03", "2026-04"])
        feb = row(table, "2026-02")
        # Closed: expected = won 80; target 100 -> -20 (-20%, U); baseline 40 -> +40 (+100%, F).
        assert feb["state"] == "closed"
        assert (feb["expected"], feb["variance_target"], feb["flag_target"]) == (80.0, -20.0, "U")
        assert feb["variance_target_pct"] == pytest.approx(-0.2)
        assert (feb["variance_forecast"], feb["flag_forecast"]) == (40.0, "F")
        assert feb["variance_forecast_pct"] == pytest.approx(1.0)
        mar = row(table, "2026-03", "Ann")
        # Current: won 50 + O1 100 x 0.5 = 100; target 200 -> -100 (U); baseline 90 -> +10.
        assert mar["state"] == "current"
        assert mar["expected"] == pytest.approx(100.0)
        assert mar["variance_target"] == pytest.approx(-100.0)
        assert mar["variance_forecast_pct"] == pytest.approx(10 / 90)
        apr = row(table, "2026-04")
        # Future: O2 100 x override 0.3 = 30; baseline 0 -> variance 30, no percentage.
        assert apr["state"] == "future"
        assert apr["expected"] == pytest.approx(30.0)
        assert apr["variance_forecast"] == pytest.approx(30.0)
        assert np.isnan(apr["variance_forecast_pct"])
        assert apr["variance_target"] == pytest.approx(30.0 - 1000.0)

    def test_no_target_no_flag(self):
        table = variance_table(book(), ["2026-05"])
        may = row(table, "2026-05")
        assert np.isnan(may["target"])
        assert may["flag_target"] == ""

    def test_accuracy(self):
        accuracy = forecast_accuracy(variance_table(book(), ["2026-02", "2026-03", "2026-04"]))
        team = accuracy.loc[accuracy["owner"] == ""].iloc[0]
        # Only February is closed: A = 80, F = 40 -> WAPE 40/80, bias (40-80)/80.
        assert team["periods"] == 1
        assert team["wape"] == pytest.approx(0.5)
        assert team["bias"] == pytest.approx(-0.5)


class TestActivityVariance:
    def test_required_against_done(self):
        model = book(
            [
                {"date": date(2026, 1, 15), "owner": "Ann", "type": "Call", "count": 100.0},
                {"date": date(2026, 2, 10), "owner": "Ann", "type": "Call", "count": 5.0},
                {"date": date(2026, 2, 15), "owner": "Ann", "type": "Meeting", "count": 20.0},
                {"date": date(2026, 1, 20), "owner": "Bob", "type": "Call", "count": 7.0},
            ]
        )
        frame = activity_variance(model, "2026-04", owner="Ann").set_index("activity")
        # Gap 1000 - 0 won - 30 weighted = 970; average won deal (80+50)/2 = 65 -> 15 deals;
        # 15/0.8 -> 19 negotiations, /0.625 -> 31 offers, /0.4 -> 78 meetings, /0.25 -> 312.
        assert frame["required"].to_dict() == {
            "Call": 312, "Meeting": 78, "Offer": 31, "Negotiation": 19,
        }  # fmt: skip
        # Calls happen 90 days before close: window [2026-01-01, 2026-01-31), all past.
        assert frame.loc["Call", "required_to_date"] == 312
        assert (
            frame.loc["Call", "done_to_date"] == 100.0
        )  # Bob's and the February calls don't count
        assert frame.loc["Call", "variance_to_date"] == -212.0
        # Meetings 60 days before: [2026-01-31, 2026-03-02), all past; 20 done.
        assert frame.loc["Meeting", "required_to_date"] == 78
        assert frame.loc["Meeting", "variance_to_date"] == -58.0
        # Offers 30 days before: [2026-03-02, 2026-04-01), partly still ahead.
        offers = frame.loc["Offer"]
        assert 0 < offers["required_to_date"] < 31
        assert offers["remaining"] == 31.0


def test_rounding_noise_is_not_unfavourable():
    from pipeline_xl.core.variance import _flag

    flags = _flag(pd.Series([-1e-10, 0.0, 1e-10, -0.01, 5.0, float("nan")]))
    assert flags.tolist() == ["F", "F", "F", "U", "F", ""]
