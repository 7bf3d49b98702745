"""PIPE_* functions called as plain Python with inputs shaped as Excel passes them."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.forecast import period_forecast
from pipeline_xl.core.metrics import compute_metrics
from pipeline_xl.core.planning import backward_plan, required_counts
from pipeline_xl.core.schema import validate
from pipeline_xl.udfs import (
    PIPE_AVG_DEAL,
    PIPE_COVERAGE,
    PIPE_CYCLE_DAYS,
    PIPE_FORECAST,
    PIPE_FORECAST_RANGE,
    PIPE_FUNNEL,
    PIPE_GAP,
    PIPE_HIT_PROBABILITY,
    PIPE_PLAN,
    PIPE_REQUIRED,
    PIPE_REQUIRED_CALLS,
    PIPE_REQUIRED_DEALS,
    PIPE_STALE_COUNT,
    PIPE_VELOCITY,
    PIPE_WEIGHTED,
    PIPE_WIN_RATE,
    PIPE_WON,
    convert,
)
from pipeline_xl.udfs.values import ExcelError

RATES = [0.25, 0.4, 0.625, 0.8]


class TestRequiredCalls:
    def test_worked_example(self):
        # gap 500k - 100k - 100k = 300k; 300k / 25k = 12 deals; 12/0.8 = 15; 15/0.625 = 24;
        # 24/0.4 = 60; 60/0.25 = 240 calls.
        assert PIPE_REQUIRED_CALLS(500000.0, 25000.0, RATES, 100000.0, 100000.0) == 240

    @pytest.mark.parametrize(
        "rates",
        [
            RATES,
            [[0.25, 0.4, 0.625, 0.8]],
            [[0.25], [0.4], [0.625], [0.8]],
            (0.25, 0.4, 0.625, 0.8),
        ],
        ids=["flat", "row", "column", "tuple"],
    )
    def test_rates_as_any_range_shape(self, rates):
        assert PIPE_REQUIRED_CALLS(300000.0, 25000.0, rates) == 240

    def test_empty_optional_cells_are_zero(self):
        assert PIPE_REQUIRED_CALLS(300000.0, 25000.0, RATES, None, None) == 240
        assert PIPE_REQUIRED_CALLS(300000.0, 25000.0, [*RATES, None]) == 240

    def test_whole_counts_are_not_pushed_up(self):
        # 3 deals / 0.6 is 5.000000000000001 in binary floating point: still 5 offers.
        assert PIPE_REQUIRED_CALLS(90000.0, 30000.0, [0.6]) == 5
        assert PIPE_REQUIRED_DEALS(90000.0, 30000.0) == 3

    def test_deals(self):
        assert PIPE_REQUIRED_DEALS(100000.0, 30000.0, 10000.0) == 3  # 90k / 30k
        assert PIPE_REQUIRED_DEALS(100000.0, 30000.0, 90000.0, 20000.0) == 0  # already there

    def test_same_as_engine(self):
        assert (
            PIPE_REQUIRED_CALLS(777777.0, 12345.0, RATES, 1.0, 2.0)
            == required_counts(777777.0, 12345.0, RATES, 1.0, 2.0)[0]
        )

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((1000.0, 100.0, [1.4]), "rates: position 1: 1.4 is above 1: a rate runs from 0 to 1"),
            ((1000.0, 100.0, [0.5, "abc"]), "rates: position 2: 'abc' is not a number"),
            ((1000.0, 0.0, [0.5]), "avg_deal"),
            (("x", 100.0, [0.5]), "target: 'x' is not a number"),
            ((1000.0, 100.0, [None, None]), "rates: no conversion rates given"),
            ((1000.0, 100.0, [0.5], True), "won_to_date: True is not a number"),
            ((float("inf"), 100.0, [0.5]), "target"),
        ],
    )
    def test_bad_inputs_name_the_argument(self, args, message):
        with pytest.raises(InputError, match=r"^PIPE_REQUIRED_CALLS: ") as err:
            PIPE_REQUIRED_CALLS(*args)
        assert message in str(err.value)
        assert "Traceback" not in str(err.value)


class TestTables:
    def test_forecast_matches_engine(self, sample_tables):
        prospects = sample_tables["Prospects"]
        model = convert.model_of(prospects)
        engine = validate(prospects, as_of=model.settings.as_of)
        for label in ("2026-11", "2026-12", "2026-Q4", "2027-01"):
            expected = period_forecast(engine, label)
            assert PIPE_FORECAST(prospects, label) == pytest.approx(expected.expected)
            assert PIPE_WON(prospects, label) == pytest.approx(expected.won)
            assert PIPE_WEIGHTED(prospects, label) == pytest.approx(expected.weighted)
            assert PIPE_FORECAST(prospects, label, None, "commit") == pytest.approx(expected.commit)
            assert PIPE_FORECAST(prospects, label, "", "Best case") == pytest.approx(
                expected.best_case
            )

    def test_period_as_date_serial_and_range(self, sample_tables):
        prospects = sample_tables["Prospects"]
        by_label = PIPE_FORECAST(prospects, "2026-12")
        assert PIPE_FORECAST(prospects, datetime(2026, 12, 15)) == by_label
        assert PIPE_FORECAST(prospects, 46372.0) == by_label  # serial of 2026-12-15
        assert (
            PIPE_FORECAST(prospects, [[datetime(2026, 12, 1), datetime(2026, 12, 31)]]) == by_label
        )

    def test_owner_rows_add_up_to_team(self, sample_tables):
        prospects = sample_tables["Prospects"]
        owners = {row[3] for row in prospects[1:]}
        total = sum(PIPE_WEIGHTED(prospects, "2026-12", owner) for owner in owners)
        assert total == pytest.approx(PIPE_WEIGHTED(prospects, "2026-12"))

    def test_targets_functions(self, sample_tables):
        p, t = sample_tables["Prospects"], sample_tables["Targets"]
        gap = PIPE_GAP(p, t, "2026-12")
        forecast = period_forecast(convert.model_of(p, None, t), "2026-12")
        assert gap == pytest.approx(forecast.target - forecast.expected)
        cover = PIPE_COVERAGE(p, t, "2026-12")
        assert cover == pytest.approx(forecast.pipeline / (forecast.target - forecast.won))
        hit = PIPE_HIT_PROBABILITY(p, t, "2026-12")
        assert 0.0 <= hit <= 1.0
        assert hit == PIPE_HIT_PROBABILITY(p, t, "2026-12")  # deterministic

    def test_range_is_ordered_and_seeded(self, sample_tables):
        p = sample_tables["Prospects"]
        [[p10, p50, p90]] = PIPE_FORECAST_RANGE(p, "2026-12")
        assert p10 <= p50 <= p90
        assert PIPE_FORECAST_RANGE(p, "2026-12") == [[p10, p50, p90]]
        assert PIPE_FORECAST(p, "2026-12", None, "montecarlo") == p50
        assert PIPE_FORECAST_RANGE(p, "2026-12", None, 2000.0, 9.0) != [[p10, p50, p90]]

    def test_metrics_match_engine(self, sample_tables):
        p = sample_tables["Prospects"]
        metrics = compute_metrics(convert.model_of(p))
        assert PIPE_WIN_RATE(p) == pytest.approx(metrics.win_rate)
        assert PIPE_WIN_RATE(p, None, None, True) == pytest.approx(metrics.win_rate_value)
        assert PIPE_AVG_DEAL(p) == pytest.approx(metrics.avg_won_deal)
        assert PIPE_CYCLE_DAYS(p) == pytest.approx(metrics.median_cycle_days)
        assert PIPE_CYCLE_DAYS(p, None, None, 80.0) == pytest.approx(metrics.p80_cycle_days)
        assert PIPE_VELOCITY(p) == pytest.approx(metrics.velocity)
        assert PIPE_STALE_COUNT(p) == metrics.stale_count

    def test_required_and_plan(self, sample_tables):
        p, s, t = sample_tables["Prospects"], sample_tables["Stages"], sample_tables["Targets"]
        plan = backward_plan(convert.model_of(p, s, t), "2027-01")
        assert PIPE_REQUIRED("Call", p, s, t, "2027-01") == plan.levels[0].count
        assert PIPE_REQUIRED("negotiation", p, s, t, "2027-01") == plan.levels[3].count
        assert PIPE_REQUIRED("Deals", p, s, t, "2027-01") == plan.deals
        spilled = PIPE_PLAN(p, s, t, "2027-01")
        assert spilled[0] == ["Week", "Activity", "Required", "Note"]
        calls = sum(r[2] for r in spilled[1:] if r[1] == "Call")
        assert calls == plan.levels[0].count
        with pytest.raises(InputError, match="activity: 'Lunch' is not one of Call"):
            PIPE_REQUIRED("Lunch", p, s, t, "2027-01")

    def test_funnel(self, sample_tables):
        table = PIPE_FUNNEL(500000.0, 25000.0, sample_tables["Stages"])
        assert table[0] == ["Activity", "Conversion", "Required"]
        # The sample company's conversions .7, .75, .8, .85: 20 deals need 20 / .85 = 23.5
        # -> 24 negotiations, 24 / .8 = 30 offers, 30 / .75 = 40 meetings, 40 / .7 = 57.1
        # -> 58 calls.
        assert [r[2] for r in table[1:]] == [58, 40, 30, 24, 20]
        assert table[-1][1] is None


class TestBadTables:
    def test_no_header(self, sample_tables):
        with pytest.raises(
            InputError, match=r"first row is not a header row.*tblProspects\[#All\]"
        ):
            PIPE_FORECAST(sample_tables["Prospects"][1:], "2026-12")

    def test_a_bad_row_is_left_out_as_the_report_leaves_it_out(self, sample_tables):
        rows = [list(r) for r in sample_tables["Prospects"]]
        header = rows[0]
        amount, status, closed = (header.index(h) for h in ("Amount", "Status", "Closed"))
        k = next(
            i
            for i, r in enumerate(rows[1:], start=1)
            if r[status] == "Won" and str(r[closed])[:7] == "2026-11"
        )
        before = PIPE_WON(rows, "2026-11")
        lost = float(rows[k][amount])
        rows[k][amount] = "lots"
        model = validate(rows, as_of=date(2026, 12, 7))
        errors = model.issues.loc[model.issues["severity"] == "error"]
        assert errors[["row", "column"]].values.tolist() == [[k + 1, "Amount"]]
        assert PIPE_WON(rows, "2026-11") == pytest.approx(before - lost)

    def test_bad_period(self, sample_tables):
        with pytest.raises(InputError, match=r"^PIPE_WON: period: not a period: 'soon'"):
            PIPE_WON(sample_tables["Prospects"], "soon")

    def test_unexpected_errors_are_generic(self, sample_tables, monkeypatch, caplog):
        def boom(*_args, **_kwargs):
            raise ZeroDivisionError("internal detail")

        monkeypatch.setattr("pipeline_xl.udfs.forecasts.period_forecast", boom)
        with pytest.raises(RuntimeError, match="unexpected error") as err:
            PIPE_WON(sample_tables["Prospects"], "2026-11")
        assert "internal detail" not in str(err.value)
        assert "internal detail" in caplog.text


class TestCache:
    def test_same_content_validates_once(self, sample_tables, monkeypatch):
        convert._models.clear()
        calls = []
        real = convert.validate

        def counting(*args, **kwargs):
            calls.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(convert, "validate", counting)
        prospects = sample_tables["Prospects"]
        for _ in range(5):
            copy = [list(r) for r in prospects]  # new objects each call, as Excel sends them
            PIPE_WON(copy, "2026-11")
        assert len(calls) == 1
        changed = [list(r) for r in prospects]
        changed[1][changed[0].index("Amount")] = 123.0
        PIPE_WON(changed, "2026-11")
        assert len(calls) == 2

    def test_an_error_is_remembered(self, sample_tables, monkeypatch):
        convert._models.clear()
        calls = []
        real = convert.validate

        def counting(*args, **kwargs):
            calls.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(convert, "validate", counting)
        rows = [list(r) for r in sample_tables["Prospects"]]
        rows[0][rows[0].index("Stage")] = "Xyz"  # a table without its Stage column
        for _ in range(3):
            with pytest.raises(InputError, match=r"missing column Stage"):
                PIPE_WON([list(r) for r in rows], "2026-11")
        assert len(calls) == 1

    def test_a_remembered_model_is_used(self, sample_tables, monkeypatch):
        convert._models.clear()
        prospects = sample_tables["Prospects"]
        expected = PIPE_WON(prospects, "2026-11")
        model = validate(prospects, as_of=convert._latest_date(prospects))
        convert._models.clear()
        convert.remember_model(model, convert.freeze_rows(prospects))
        monkeypatch.setattr(convert, "validate", None)  # validating again would fail
        assert PIPE_WON([list(r) for r in prospects], "2026-11") == expected

    def test_a_model_with_row_errors_is_remembered_and_used(self, sample_tables, monkeypatch):
        # Rows with errors are left out of the numbers (as the reports leave them out), so
        # the caller's model serves every function over the same tables.
        convert._models.clear()
        rows = [list(r) for r in sample_tables["Prospects"]]
        rows[5][rows[0].index("Amount")] = "lots"
        model = validate(rows, as_of=convert._latest_date(rows))
        convert.remember_model(model, rows)
        monkeypatch.setattr(convert, "validate", lambda *a, **k: pytest.fail("validated again"))
        assert PIPE_WON(rows, "2026-11") >= 0

    def test_frozen_rows_hash_once_and_equal_their_tuples(self, sample_tables):
        rows = sample_tables["Prospects"]
        frozen = convert.freeze_rows(rows)
        assert convert.freeze_rows(frozen) is frozen
        assert frozen == tuple(map(tuple, rows))
        assert hash(frozen) == hash(tuple(map(tuple, rows)))

    def test_bounded(self, sample_tables):
        convert._models.clear()
        prospects = sample_tables["Prospects"]
        amount = prospects[0].index("Amount")
        for i in range(convert.CACHE_SIZE + 5):
            rows = [list(r) for r in prospects]
            rows[1][amount] = 1000.0 + i
            PIPE_WON(rows, "2026-11")
        assert len(convert._models._items) == convert.CACHE_SIZE


def test_every_function_is_exported():
    from pipeline_xl import udfs

    names = [n for n in dir(udfs) if n.startswith("PIPE_")]
    assert sorted(names) == sorted(udfs.__all__)
    assert len(names) == 18
    for name in names:
        doc = getattr(udfs, name).__doc__
        assert doc
        assert len(doc.strip().splitlines()[0]) <= 255


def test_an_empty_measure_is_an_excel_error_not_text(sample_tables):
    prospects = sample_tables["Prospects"]
    for function in (PIPE_AVG_DEAL, PIPE_WIN_RATE, PIPE_CYCLE_DAYS):
        value = function(prospects, "2019-01")
        assert isinstance(value, ExcelError)
        assert value == "#DIV/0!"


def test_a_dataframe_is_a_table_with_its_column_names(sample_tables):
    rows = sample_tables["Prospects"]
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    assert PIPE_WON(frame, "2026-11") == PIPE_WON(rows, "2026-11")


def test_a_period_without_target_is_not_available_not_text(sample_tables):
    p, s, t = (sample_tables[k] for k in ("Prospects", "Stages", "Targets"))
    period = "2029-01"  # the sample sets no target this far ahead
    assert not any(str(r[0]).startswith("2029") for r in t[1:])
    for value in (
        PIPE_GAP(p, t, period),
        PIPE_COVERAGE(p, t, period),
        PIPE_HIT_PROBABILITY(p, t, period),
        PIPE_REQUIRED("Call", p, s, t, period),
    ):
        assert isinstance(value, ExcelError)
        assert value == "#N/A"
