"""Cached PIPE_* values: how the worksheet functions are called, what is kept."""

from __future__ import annotations

import types
from datetime import datetime

import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.workbook.cache import engine_values, excel_rows
from pipeline_xl.workbook.spec import dashboard_layout

LAYOUT = dashboard_layout(["Call", "Meeting", "Offer", "Negotiation"], "Order")
PROSPECTS = pd.DataFrame(
    {
        "ID": ["P1", "P2"],
        "Amount": [100.0, float("nan")],
        "Closed": [pd.Timestamp("2026-03-01"), pd.NaT],
        "Name": ["=A1", ""],
    }
)
TABLES = {
    "Prospects": PROSPECTS,
    "Stages": pd.DataFrame({"Stage": ["Lead"]}),
    "Targets": pd.DataFrame({"Period": ["2026-03"]}),
}
CELLS = {"B6": "2026-03", "C6": "2026-Q1", "A29": "Call", "H10": 9.0, "G29": 0.25, "G30": 0.4}


def test_excel_rows_look_like_what_excel_passes():
    rows = excel_rows(PROSPECTS)
    assert rows[0] == ["ID", "Amount", "Closed", "Name"]
    assert rows[1] == ["P1", 100.0, datetime(2026, 3, 1), "=A1"]
    assert rows[2] == ["P2", None, None, None]


def test_arguments_and_results():
    calls: dict[str, tuple[object, ...]] = {}

    def won(*args: object) -> float:
        calls.setdefault("won", args)
        return 12.5

    def forecast_range(*args: object) -> list[float]:
        return [1.0, 2.0, 3.0]

    def required_calls(*args: object) -> list[list[float]]:
        calls.setdefault("calls", args)
        return [[7.0]]

    def required(*args: object) -> float:
        raise InputError("no target for 2026-03")

    def gap(*args: object) -> float:
        raise ZeroDivisionError

    module = types.SimpleNamespace(
        PIPE_WON=won,
        PIPE_FORECAST_RANGE=forecast_range,
        PIPE_REQUIRED_CALLS=required_calls,
        PIPE_REQUIRED=required,
        PIPE_GAP=gap,
        PIPE_COVERAGE=lambda *a: float("inf"),
        PIPE_WIN_RATE=lambda *a: float("nan"),
    )
    out = engine_values(LAYOUT, TABLES, CELLS, module=module)  # type: ignore[arg-type]
    # Table as rows with its header, the period cell's text; the blank owner is left out.
    table, period = calls["won"]
    assert table == excel_rows(PROSPECTS)
    assert period == "2026-03"
    assert out["won.month"] == 12.5
    assert [out[f"range.quarter.{k}"] for k in (1, 2, 3)] == [1.0, 2.0, 3.0]
    assert out["check_calls.h"] == 7.0
    # H$10 target, H$13 (blank) average, the rates range as a flat list, H11/H12 blank.
    assert calls["calls"] == (9.0, None, [0.25, 0.4, None, None])
    assert out["required.0.month"] == "no target for 2026-03"  # the message Excel would show
    assert "gap.month" not in out  # unexpected failures give no value
    assert out["coverage.month"] == "#NUM!"
    assert "win_rate.month" not in out  # NaN: nothing to store
    assert "avg_deal.month" not in out  # function missing


def test_missing_module_gives_nothing():
    assert engine_values(LAYOUT, TABLES, CELLS, module="no_such_module_here") == {}
