"""Backtest: forecasts made from the pipeline as it stood, scored against what was won."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.cli import main
from pipeline_xl.core import contract
from pipeline_xl.core.backtest import BACKTEST_METHODS, backtest, default_range, span
from pipeline_xl.core.errors import InputError
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
from pipeline_xl.core.sample import generate
from pipeline_xl.core.schema import validate
from pipeline_xl.core.variance import score

MAVEN = Path(__file__).resolve().parents[3] / "shared" / "data" / "maven-crm"
DEMO_AS_OF = date(2026, 12, 7)  # the demo's as-of in these tests (it uses today's by default)


class TestScore:
    def test_wape_and_bias(self):
        # A = 100, 200; F = 150, 150: WAPE = (50 + 50) / 300; bias = (300 - 300) / 300.
        wape, bias = score([100.0, 200.0], [150.0, 150.0])
        assert wape == pytest.approx(1 / 3)
        assert bias == 0.0
        # F = 120, 240: WAPE = 60 / 300 = bias.
        assert score([100.0, 200.0], [120.0, 240.0]) == pytest.approx((0.2, 0.2))

    def test_nothing_won_has_no_score(self):
        assert all(math.isnan(v) for v in score([0.0], [5.0]))


def tiny() -> Model:
    """Wins of 100, 200, 300 and 400 in March to June 2026, one open deal; as of 2026-06-20."""
    rows = [
        {"id": f"W{m}", "stage": "Won", "amount": 100.0 * (m - 2), "owner": "Ann",
         "created": date(2026, 1, 5), "closed": date(2026, m, 10)}
        for m in (3, 4, 5, 6)
    ] + [
        {"id": "O1", "stage": "Negotiation", "amount": 1000.0, "owner": "Ann",
         "created": date(2026, 5, 2), "expected_close": date(2026, 6, 25)},
    ]  # fmt: skip
    return Model(
        prospects=prospects_frame(rows),
        stages=default_stages(),
        targets=targets_frame([{"period": "2026-06", "revenue": 500.0}]),
        activities=activities_frame([]),
        snapshots=snapshots_frame([]),
        settings=Settings(as_of=date(2026, 6, 20), mc_trials=200),
        issues=pd.DataFrame(),
    )


class TestWorkedExample:
    def test_naive_methods_and_actuals(self):
        result = backtest(tiny(), [parse_period("2026-05"), parse_period("2026-06")])
        may, june = result.periods.to_dict("records")
        # Made on May 1: previous = April's 200; mean of Feb, Mar, Apr = (0 + 100 + 200) / 3.
        assert (may["made_on"], may["actual"]) == (date(2026, 5, 1), 300.0)
        assert (may["previous"], may["mean_3"]) == (200.0, 100.0)
        # Made on June 1: previous = May's 300; mean of Mar, Apr, May = 200.
        assert (june["actual"], june["previous"], june["mean_3"]) == (400.0, 300.0, 200.0)
        # O1 was created on May 2: on May 1 nothing is open, so the weighted forecast of May
        # is what was won by then (0). On June 1 O1 is open, and nothing dates its stage
        # then (no snapshot, no activity): it stood at the first stage, Lead (.05), due
        # in June: 1000 x .05 = 50.
        assert may["weighted"] == 0.0
        assert june["weighted"] == pytest.approx(50.0)
        summary = result.summary.set_index("method")
        # previous: |300 - 200| + |400 - 300| = 200 over 700; bias (500 - 700) / 700.
        assert summary.loc["previous", "wape"] == pytest.approx(200 / 700)
        assert summary.loc["previous", "bias"] == pytest.approx(-200 / 700)
        assert list(summary.index) == list(BACKTEST_METHODS)

    def test_two_periods_ahead(self):
        result = backtest(tiny(), [parse_period("2026-06")], horizon=2)
        june = result.periods.iloc[0]
        # Made on May 1: previous = April (200), mean of Feb-Apr = 100.
        assert june["made_on"] == date(2026, 5, 1)
        assert (june["previous"], june["mean_3"]) == (200.0, 100.0)

    def test_json_shape(self):
        data = backtest(tiny(), [parse_period("2026-06")]).to_dict()
        assert set(data) == {"periods", "summary"}
        (period,) = data["periods"]
        assert set(period) == {"period", "actual", "forecasts"}
        assert set(period["forecasts"]) == set(BACKTEST_METHODS)
        assert set(data["summary"]["calibrated"]) == {"wape", "bias"}
        json.dumps(data)

    def test_bad_horizon_and_period(self):
        with pytest.raises(InputError, match="horizon"):
            backtest(tiny(), horizon=0)
        with pytest.raises(InputError, match="granularity"):
            backtest(tiny(), [parse_period("2026-Q2")])
        with pytest.raises(InputError, match="dated that early"):
            backtest(tiny(), [parse_period("2025-06")])


# --------------------------------------------------------------------------- no peeking


@cache
def small_sample() -> Model:
    data = generate(300, as_of=DEMO_AS_OF, seed=3)
    return validate(*(data.tables[t.sheet] for t in contract.DATA_TABLES), as_of=DEMO_AS_OF)


PERIOD = parse_period("2026-09")
START = pd.Timestamp(PERIOD.start)
FORECASTS = ["weighted", "calibrated", "monte_carlo_p50", "previous", "mean_3"]


def plant(model: Model, kind: str, days: int, pick: int) -> Model:
    """The model with one change dated ``days`` after the period's first day."""
    later = START + timedelta(days=days)
    prospects, log, acts = model.prospects, model.snapshots, model.activities
    open_then = prospects.loc[
        (prospects["created"] <= START) & ~(prospects["closed"] <= START)
    ].index
    row = open_then[pick % len(open_then)]
    deal = prospects.loc[row, "id"]
    if kind == "new deal":
        extra = prospects_frame(
            [{"id": "NEW", "owner": prospects.loc[row, "owner"], "stage": "Won",
              "amount": 50_000.0, "created": later.date(), "closed": later.date()}],
            model.stages,
        )  # fmt: skip
        prospects = pd.concat([prospects, extra], ignore_index=True)
    elif kind == "log row":
        extra = snapshots_frame(
            [{"snapshot_date": later.date(), "id": deal, "stage": "Lost", "amount": 1.0}],
            model.stages,
        )
        log = pd.concat([log, extra], ignore_index=True)
    elif kind == "activity":
        extra = activities_frame(
            [{"date": later.date(), "type": "Negotiation", "prospect_id": deal}]
        )
        acts = pd.concat([acts, extra], ignore_index=True)
    else:  # the deal's outcome, known only later, turns the other way
        prospects = prospects.copy()
        won = prospects.loc[row, "status"] == "won"
        stage, status, idx = ("Lost", "lost", -1) if won else ("Won", "won", model.stages.n_open)
        prospects.loc[row, ["stage", "status"]] = [stage, status]
        prospects.loc[row, ["stage_idx", "reached_idx"]] = [idx, idx]
        prospects.loc[row, "closed"] = later
    return Model(
        prospects=prospects, stages=model.stages, targets=model.targets, activities=acts,
        snapshots=log, settings=model.settings, issues=model.issues,
    )  # fmt: skip


@settings(max_examples=12, deadline=None)
@given(
    kind=st.sampled_from(["new deal", "log row", "activity", "outcome"]),
    days=st.integers(1, 80),
    pick=st.integers(0, 10_000),
)
def test_the_backtest_never_uses_what_came_after_the_period_start(kind, days, pick):
    model = small_sample()
    before = backtest(model, [PERIOD], trials=300).periods.iloc[0]
    after = backtest(plant(model, kind, days, pick), [PERIOD], trials=300).periods.iloc[0]
    for method in FORECASTS:
        assert after[method] == before[method], method


def test_a_planted_change_is_seen_from_a_later_start():
    # The same planted deal is seen by a forecast made after it: the check above can fail.
    model = small_sample()
    planted = plant(model, "new deal", 5, 0)
    later = parse_period("2026-10")
    assert backtest(planted, [later], trials=300).periods.iloc[0]["previous"] == (
        backtest(model, [later], trials=300).periods.iloc[0]["previous"] + 50_000.0
    )


# --------------------------------------------------------------------------- acceptance


@pytest.mark.skipif(
    not (MAVEN / "sales_pipeline.csv").exists(), reason=f"no Maven export at {MAVEN}"
)
def test_maven_calibrated_beats_the_three_month_mean():
    from pipeline_xl.usecases.backtest import backtest_of

    result = backtest_of(
        MAVEN / "sales_pipeline.csv", preset="maven", first="2017-06", last="2017-12", trials=500
    )
    summary = result.backtest.summary.set_index("method")
    assert summary.loc["calibrated", "wape"] < summary.loc["mean_3", "wape"]
    assert summary.loc["calibrated", "wape"] <= 0.15  # the goal


def test_sample_company_last_twelve_months():
    data = generate(as_of=DEMO_AS_OF)
    model = validate(*(data.tables[t.sheet] for t in contract.DATA_TABLES), as_of=DEMO_AS_OF)
    first, last = default_range(model)
    assert (first.label, last.label) == ("2025-12", "2026-11")
    result = backtest(model, span(first, last), trials=500)
    calibrated = result.summary.set_index("method").loc["calibrated"]
    assert abs(calibrated["bias"]) <= 0.10
    assert calibrated["wape"] <= 0.25
    assert np.isfinite(result.periods["monte_carlo_p50"]).all()


def test_command_line_json(tmp_path, capsys):
    data = generate(300, as_of=DEMO_AS_OF, seed=3)
    export = tmp_path / "deals.csv"
    data.tables["Prospects"].to_csv(export, index=False)
    code = main(["backtest", str(export), "--from", "2026-09", "--to", "2026-10", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["period"] for p in out["periods"]] == ["2026-09", "2026-10"]
    assert set(out["summary"]) == set(BACKTEST_METHODS)
    code = main(["backtest", str(export), "--to", "2027-01"])
    assert code == 2  # not over yet: refused


@pytest.mark.skipif(
    not (MAVEN / "sales_pipeline.csv").exists(), reason=f"no Maven export at {MAVEN}"
)
def test_the_default_range_waits_for_three_periods_of_history():
    from pipeline_xl.usecases.metrics import export_model

    read = export_model(MAVEN / "sales_pipeline.csv", preset="maven")
    first, last = default_range(read.model)
    # Maven's first win is in 2017-03: scoring starts three months later.
    assert (first.label, last.label) == ("2017-06", "2017-11")
