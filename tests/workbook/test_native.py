"""The Python mirror of the Dashboard's plain Excel formulas, on numbers worked out by hand."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.contract import PROSPECTS, STAGES
from pipeline_xl.workbook import native
from pipeline_xl.workbook.dashboard_spec import period_start_expr
from pipeline_xl.workbook.native import (
    DIV0,
    VALUE,
    _eq,
    excel_round_up_count,
    native_values,
    period_end,
    period_start,
    serial,
)
from pipeline_xl.workbook.prepare import prepare
from tests.workbook.handmade import AS_OF, hand_tables


def _values(owner: str = "", fiscal_start: int = 1):
    prepared = prepare(hand_tables(), currency="EUR", fiscal_start=fiscal_start, as_of=AS_OF)
    return native_values(
        prepared.layout, prepared.by_sheet, prepared.periods, owner, refresh_as_of=AS_OF
    )


class TestPeriods:
    @pytest.mark.parametrize(
        ("label", "fiscal", "start", "end"),
        [
            ("2026-03", 1.0, date(2026, 3, 1), date(2026, 4, 1)),
            ("2026-12", 1.0, date(2026, 12, 1), date(2027, 1, 1)),
            ("2026-Q1", 1.0, date(2026, 1, 1), date(2026, 4, 1)),
            ("2026-q4", 1.0, date(2026, 10, 1), date(2027, 1, 1)),
            # FY2027 starts in April 2026: Q2 = July-September 2026.
            ("FY2027-Q2", 4.0, date(2026, 7, 1), date(2026, 10, 1)),
            # FY2027 with an October start: Q4 = July-September 2027 (month 10 + 9 rolls over).
            ("FY2027-Q4", 10.0, date(2027, 7, 1), date(2027, 10, 1)),
            # With a January start "FY" years are calendar years.
            ("FY2026-Q3", 1.0, date(2026, 7, 1), date(2026, 10, 1)),
        ],
    )
    def test_labels(self, label, fiscal, start, end):
        s = period_start(label, fiscal)
        assert s == serial(start)
        assert period_end(s, label) == serial(end)

    def test_a_date_means_its_month(self):
        assert period_start(serial(date(2026, 3, 17)), 1.0) == serial(date(2026, 3, 1))

    @pytest.mark.parametrize("bad", ["March", "", None, "2026-Qx", True])
    def test_not_a_period(self, bad):
        assert period_start(bad, 1.0) == VALUE

    def test_expression_mentions_every_case(self):
        expr = period_start_expr("B6")
        for part in ("ISNUMBER(B6)", 'SEARCH("Q",B6)', 'LEFT(B6,2)="FY"', "FiscalStartMonth"):
            assert part in expr


class TestRoundUpCount:
    @pytest.mark.parametrize(
        ("num", "den", "expected"),
        [
            (3.0, 0.6, 5.0),  # 3 / 0.6 = 5.000000000000001 in floats: still 5
            (12.0, 0.8, 15.0),  # 14.999999999999998 in floats
            (24.0, 0.4, 60.0),
            (300000.0, 25000.0, 12.0),
            (365000.0, 25000.0, 15.0),  # 14.6 -> 15
            (0.0, 25000.0, 0.0),
        ],
    )
    def test_counts(self, num, den, expected):
        assert excel_round_up_count(num, den) == expected

    def test_errors(self):
        assert excel_round_up_count(1.0, 0.0) == DIV0
        assert excel_round_up_count(VALUE, 1.0) == VALUE


class TestNativeValues:
    def test_month_by_hand(self):
        v = _values()
        assert v["native.period.h"] == "2026-03"
        assert v["native.start.h"] == serial(date(2026, 3, 1))
        assert v["native.end.h"] == serial(date(2026, 4, 1))
        assert v["native.as_of.h"] == serial(AS_OF)
        assert v["native.target.h"] == 500000.0  # the blank-owner March row
        assert v["native.won.h"] == 100000.0  # P1-P4, 4 x 25,000 closed in March
        # P6 180,000 x 0.5 (Proposal) + P10 40,000 x 0.25 (override; overdue -> March).
        # P11's amount is text ("12 000 €"): 0, as IFERROR makes it in Excel.
        assert v["native.weighted.h"] == 100000.0
        assert v["native.avg_deal.h"] == 25000.0  # five won deals of 25,000
        assert v["native.gap.h"] == 300000.0  # 500,000 - 100,000 - 100,000
        # 300,000 / 25,000 = 12 deals; 12/0.8 = 15; 15/0.625 = 24; 24/0.4 = 60; 60/0.25 = 240.
        counts = [v[f"native.required.{k}.h"] for k in range(5)]
        assert counts == [240.0, 60.0, 24.0, 15.0, 12.0]
        assert v["target.month"] == 500000.0

    def test_quarter_by_hand(self):
        v = _values()
        assert v["native.target.i"] == 590000.0  # 90,000 (Jan) + 500,000 (Mar) team rows
        assert v["native.won.i"] == 125000.0  # P5 (January) too
        assert v["native.weighted.i"] == 100000.0  # P8 closes in May, P9 is omitted
        assert v["native.gap.i"] == 365000.0  # 590,000 - 125,000 - 100,000
        # 365,000/25,000 = 14.6 -> 15; 15/0.8 = 18.75 -> 19; 19/0.625 = 30.4 -> 31;
        # 31/0.4 = 77.5 -> 78; 78/0.25 = 312.
        counts = [v[f"native.required.{k}.i"] for k in range(5)]
        assert counts == [312.0, 78.0, 31.0, 19.0, 15.0]

    def test_owner(self):
        v = _values(owner="alice smith")  # compares ignore case, as Excel's do
        assert v["native.target.h"] == 0.0  # no March row for Alice
        assert v["native.target.i"] == 70000.0  # her February row
        assert v["native.won.i"] == 75000.0  # P1, P3, P5
        assert v["native.weighted.h"] == 100000.0  # P6 and P10 are hers
        assert v["native.gap.i"] == 0.0  # 70,000 - 75,000 - 100,000 < 0

    def test_labels_and_rates(self):
        v = _values()
        assert v["native.label.0"] == "Call (Lead)"
        assert v["native.label.4"] == "Deals won (Order)"
        assert [v[f"native.rate.{k}"] for k in range(4)] == [0.25, 0.4, 0.625, 0.8]

    def test_fiscal_quarter(self):
        v = _values(fiscal_start=4)
        assert v["native.period.i"] == "FY2026-Q4"  # January-March 2026
        assert v["native.target.i"] == 590000.0


# --------------------------------------------------------------------------- large tables

_NUMBER = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2))
_DAY = st.sampled_from([46000.0, 46010.0, 45990.0, 46100.0])  # serials around the window
_ODD = st.one_of(st.none(), st.booleans(), st.sampled_from(["", "x", "12 000"]))
_STATUS = st.sampled_from(["Won", "Open", "won", "OPEN", "Lost"])
_CATEGORY = st.sampled_from(["commit", "Omitted", "omitted", "Won"])


def _mostly(common: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``common`` nine times in ten, else an odd cell (blank, boolean, text)."""
    return st.integers(0, 9).flatmap(lambda k: common if k else _ODD)


_FIELD_CELLS = {
    "amount": _mostly(_NUMBER),
    "status": _mostly(_STATUS),
    "closed": _mostly(_DAY),
    "owner": _mostly(st.sampled_from(["Won", "x", "X"])),
    "expected_close": _mostly(_DAY),
    "category": _mostly(_CATEGORY),
    "probability": st.one_of(st.none(), st.floats(0, 1), _ODD),
}
_FIELDS = ("amount", "status", "closed", "owner", "expected_close", "category", "probability")


def _reference_won(cells, w):
    """``SUMIFS`` of won amounts, cell by cell (the formula's own rules)."""
    out = 0.0
    for amount, status, closed, owner in zip(
        cells["amount"], cells["status"], cells["closed"], cells["owner"], strict=True
    ):
        if (
            isinstance(amount, float)
            and _eq(status, "Won")
            and isinstance(closed, float)
            and w.start <= closed < w.end
            and closed <= w.as_of
            and (not w.owner or _eq(owner, w.owner))
        ):
            out += amount
    return out


def _reference_weighted(cells, w, chance_of):
    out = 0.0
    for i, amount in enumerate(cells["amount"]):
        ec = cells["expected_close"][i]
        if not (
            _eq(cells["status"][i], "Open")
            and not _eq(cells["category"][i], "Omitted")
            and isinstance(ec, float)
            and (not w.owner or _eq(cells["owner"][i], w.owner))
        ):
            continue
        landing = max(ec, w.as_of)
        if not w.start <= landing < w.end or isinstance(amount, str | bool):
            continue
        prob, stage = cells["probability"][i], cells["stage"][i]
        p = prob if isinstance(prob, float) else chance_of.get(str(stage).casefold(), 0.0)
        if stage is None and not isinstance(prob, float):
            p = 0.0
        out += (amount or 0.0) * p
    return out


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(*[_FIELD_CELLS[f] for f in _FIELDS],
                            st.sampled_from(["Lead", "Won", None])), max_size=30),
    owner=st.sampled_from(["", "won", "x"]),
)  # fmt: skip
def test_column_sums_follow_the_formulas_cell_by_cell(rows, owner):
    """The array sums of `native` give the formulas' cell-by-cell results, exactly."""
    headers = [PROSPECTS.header(f) for f in _FIELDS] + [PROSPECTS.header("stage")]
    prospects = pd.DataFrame(rows, columns=headers, dtype=object)
    stages = pd.DataFrame(
        {STAGES.header("stage"): ["Lead", "Won"], STAGES.header("probability"): [0.1, 1.0]}
    )
    tables = native._Tables(prospects, stages, None, None)
    w = native._Window(45995.0, 46050.0, 46005.0, owner)
    cells = {f: native._column(prospects, PROSPECTS.header(f)) for f in (*_FIELDS, "stage")}
    assert native._won(tables, w) == _reference_won(cells, w)
    chance = {"lead": 0.1, "won": 1.0}
    assert native._weighted(tables, w) == _reference_weighted(cells, w, chance)
    won = [
        a
        for a, s, c in zip(cells["amount"], cells["status"], cells["closed"], strict=True)
        if isinstance(a, float) and _eq(s, "Won") and isinstance(c, float) and c <= w.as_of
    ]
    average = native._average_won(tables, w.as_of, "")
    if won:
        assert average == sum(won) / len(won)


@settings(max_examples=60, deadline=None)
@given(
    moments=st.lists(
        st.one_of(st.none(), st.datetimes(datetime(1899, 12, 31), datetime(2200, 1, 1)))
    ),
    numbers=st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False))),
    counts=st.lists(st.integers(-(10**12), 10**12)),
)  # fmt: skip
def test_typed_columns_read_as_cell_by_cell(moments, numbers, counts):
    """Date, number and whole-number columns give `excel_value` of each cell."""
    for values, dtype in ((moments, "datetime64[ns]"), (numbers, "float64"), (counts, "int64")):
        series = pd.Series(values, dtype=dtype)
        frame = pd.DataFrame({"x": series})
        expected = [native.excel_value(v) for v in series.tolist()]
        assert native._column(frame, "x") == expected
