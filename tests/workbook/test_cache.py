"""Cached PIPE_* values: how the worksheet functions are called, what is kept, what fails."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.udfs import functions
from pipeline_xl.udfs.convert import FrozenRows
from pipeline_xl.workbook.builder import engine_cache
from pipeline_xl.workbook.cache import PIPE_FUNCTIONS, engine_values, excel_rows
from pipeline_xl.workbook.dashboard_spec import dashboard_layout
from tests.workbook.handmade import AS_OF, hand_tables

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
    "Stages": pd.DataFrame({"Stage": ["Lead", "Won"], "Activity": ["Call", "Order"]}),
    "Targets": pd.DataFrame({"Period": ["2026-03"]}),
}
CELLS = {"B6": "2026-03", "C6": "2026-Q1", "A28": "Call", "H10": 9.0, "G28": 0.25, "G29": 0.4}


def _fakes(**overrides):
    """Every function the Dashboard calls, answering 1.0, with some replaced."""
    fakes = {name: (lambda *args: 1.0) for name in {p.function for p in LAYOUT.pipes}}
    return fakes | overrides


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

    def required_calls(*args: object) -> list[list[float]]:
        calls.setdefault("calls", args)
        return [[7.0]]

    def required(*args: object) -> float:
        raise InputError("no target for 2026-03")

    fakes = _fakes(
        PIPE_WON=won,
        PIPE_FORECAST_RANGE=lambda *a: [1.0, 2.0, 3.0],
        PIPE_REQUIRED_CALLS=required_calls,
        PIPE_REQUIRED=required,
        PIPE_COVERAGE=lambda *a: float("inf"),
        PIPE_WIN_RATE=lambda *a: float("nan"),
        PIPE_STALE_COUNT=lambda *a: True,
    )
    out = engine_values(LAYOUT, TABLES, CELLS, functions=fakes)
    # Table as rows with its header, the period cell's text, the blank owner, then the
    # tail: the as-of name (not in CELLS here) and the other tables as rows, or empty.
    table, period, owner, as_of, *tail = calls["won"]
    # Rows as Excel passes them, frozen (tuples) so the model cache hashes them once.
    assert isinstance(table, FrozenRows)
    assert [list(r) for r in table] == excel_rows(PROSPECTS)
    assert period == "2026-03"
    assert owner is None
    assert as_of is None
    # The tables after it are absent here.
    assert [[list(r) for r in t] for t in tail] == [excel_rows(TABLES["Stages"])]
    assert out["won.month"] == 12.5
    assert [out[f"range.quarter.{k}"] for k in (1, 2, 3)] == [1.0, 2.0, 3.0]
    assert out["check_calls.h"] == 7.0
    # H$10 target, H$13 (blank) average, the rates range as a flat list, H11/H12 blank.
    assert calls["calls"] == (9.0, None, [0.25, 0.4, None, None])
    # The text Excel shows for a user's mistake: the function's name, then the message.
    assert out["required.0.month"] == "PIPE_REQUIRED: no target for 2026-03"
    assert out["coverage.month"] == "#NUM!"
    assert "win_rate.month" not in out  # NaN: nothing to store
    assert out["stale_count.month"] == 1.0
    assert out["avg_deal.month"] == 1.0


def test_an_unexpected_failure_propagates():
    def gap(*args: object) -> float:
        raise ZeroDivisionError("a bug, not the user's mistake")

    with pytest.raises(ZeroDivisionError, match="a bug"):
        engine_values(LAYOUT, TABLES, CELLS, functions=_fakes(PIPE_GAP=gap))


def test_a_missing_function_is_an_error():
    fakes = _fakes()
    del fakes["PIPE_AVG_DEAL"]
    with pytest.raises(KeyError, match="PIPE_AVG_DEAL"):
        engine_values(LAYOUT, TABLES, CELLS, functions=fakes)


def test_the_real_functions_give_the_message_the_cell_shows():
    # No Stage column: every function that reads the prospects refuses the table.
    out = engine_values(LAYOUT, TABLES, CELLS)
    with pytest.raises(InputError) as shown:
        functions.PIPE_WON(
            excel_rows(PROSPECTS), "2026-03", None, None, excel_rows(TABLES["Stages"])
        )
    assert out["won.month"] == str(shown.value)
    assert out["won.month"].startswith("PIPE_WON: ")
    assert set(PIPE_FUNCTIONS) == set(functions.__all__)


def test_every_dashboard_figure_of_the_hand_made_company_is_cached():
    cached = engine_cache(hand_tables(), currency="EUR", fiscal_start=1, as_of=AS_OF)
    assert set(cached) == {p.id for p in LAYOUT.pipes}
    # Worked out by hand (tests/workbook/handmade.py): won in March and in Q1.
    assert cached["won.month"] == 100000.0
    assert cached["won.quarter"] == 125000.0
