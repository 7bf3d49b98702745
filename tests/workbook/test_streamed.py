"""The table rows written as XML after xlsxwriter: every part as xlsxwriter writes it.

The second witness is xlsxwriter itself: the same workbook built with every cell written
through it (``write_table(..., stream=False)``) must come out part for part, byte for
byte, the same.
"""

from __future__ import annotations

import functools
import io
import math
import zipfile
from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.sample import generate
from pipeline_xl.workbook import builder
from pipeline_xl.workbook.data_sheets import write_table
from tests.workbook.handmade import AS_OF, hand_tables


def _parts(tables: dict[str, pd.DataFrame], *, stream: bool, as_of: date) -> dict[str, bytes]:
    writer = functools.partial(write_table, stream=stream)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builder, "write_table", writer)
        data = builder.workbook_bytes(company="Streamed & Co", tables=tables, as_of=as_of)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _same_parts(tables: dict[str, pd.DataFrame], as_of: date) -> None:
    cell_by_cell = _parts(tables, stream=False, as_of=as_of)
    streamed = _parts(tables, stream=True, as_of=as_of)
    assert list(streamed) == list(cell_by_cell)
    for name, data in cell_by_cell.items():
        assert streamed[name] == data, name


def test_hand_made_company():
    _same_parts(hand_tables(), AS_OF)


def test_messy_sample_company():
    data = generate(400, as_of=date(2026, 11, 30), seed=5, messy=12)
    _same_parts(data.tables, data.as_of)


def test_empty_tables():
    tables = {name: frame.iloc[:0] for name, frame in hand_tables().items()}
    _same_parts(tables, AS_OF)


ODD_VALUES = st.one_of(
    st.none(),
    st.just(math.nan),
    st.just(math.inf),
    st.booleans(),
    st.integers(-(10**17), 10**17),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["=1+1", "+33 1", "-x", "@me", " pad ", "a\x01b", "_x0041_", "\U0001f600"]),
    st.text(max_size=20),
    st.dates(date(1899, 12, 20), date(2100, 1, 1)),
    st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1)),
)


def test_text_beyond_a_cell_is_cut_as_xlsxwriter_cuts_it():
    tables = hand_tables()
    prospects = tables["Prospects"].copy()
    names = prospects["Name"].astype(object).to_numpy().copy()
    names[0], names[1] = "y" * 40_000, "\U0001f600" * 16_384  # 32,768 UTF-16 units
    prospects["Name"] = names
    tables["Prospects"] = prospects
    _same_parts(tables, AS_OF)


@settings(max_examples=15, deadline=None)
@given(names=st.lists(ODD_VALUES, min_size=1, max_size=6), amounts=st.lists(ODD_VALUES, max_size=6))
def test_odd_cells(names, amounts):
    """Any value in a text column and in a number column, blank or not, typed or not."""
    tables = hand_tables()
    prospects = tables["Prospects"].copy()
    n = min(len(prospects), len(names))
    notes = pd.Series([*names[:n], *[None] * (len(prospects) - n)], dtype=object)
    prospects["Name"] = notes.to_numpy()
    values = [*amounts, *[None] * len(prospects)][: len(prospects)]
    prospects["Amount"] = pd.Series(values, dtype=object).to_numpy()
    tables["Prospects"] = prospects
    _same_parts(tables, AS_OF)
