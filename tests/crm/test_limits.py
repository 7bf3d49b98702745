"""Export cells Excel cannot hold: cut, kept as text or cleaned, and each one reported."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_xl.core import crm
from pipeline_xl.core.crm.limits import (
    _clean_prefix,
    date_problem,
    fit_long_texts,
    number_problem,
    without_controls,
)
from pipeline_xl.core.model import default_stages

LIMIT = 32_767  # Excel's characters per cell, restated on purpose


def objects(*values: object) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class TestControls:
    def test_spacing_controls_become_spaces_and_the_others_go(self):
        cells = objects("Bell\x07 and\x0bvt\x00nul", "plain", None, 12.5, "tab\tstays")
        out, where = without_controls(cells)
        assert out.tolist() == ["Bell and vtnul", "plain", None, 12.5, "tab\tstays"]
        assert where.tolist() == [True, False, False, False, False]

    def test_a_clean_column_is_returned_as_it_is(self):
        cells = objects("a", "b")
        out, where = without_controls(cells)
        assert out is cells
        assert not where.any()


class TestLongTexts:
    def test_a_text_over_the_limit_keeps_its_first_characters(self):
        text = "x" * 40_000
        out, cut = fit_long_texts(objects("short", text))
        assert out[0] == "short"
        assert out[1] == "x" * LIMIT
        assert cut == {1: 40_000}

    def test_spaces_count_once_cleaned_up(self):
        # 33,000 characters that clean up to 16,500: nothing is cut.
        text = "a  " * 11_000
        out, cut = fit_long_texts(objects(text))
        assert cut == {}
        assert out[0] == " ".join(["a"] * 11_000)

    def test_the_cut_never_ends_in_a_space(self):
        text = ("y" * (LIMIT - 1) + " ") * 2
        out, cut = fit_long_texts(objects(text))
        assert out[0] == "y" * (LIMIT - 1)
        assert cut == {0: 2 * LIMIT}

    @given(st.text(alphabet="ab \t\n\x1c\u00a0", max_size=60), st.integers(0, 30))
    def test_the_clean_prefix_is_the_start_of_the_clean_text(self, text, size):
        whole = " ".join(text.split())
        start = _clean_prefix(text, size)
        assert whole.startswith(start)
        assert len(start) >= min(size, len(whole))


class TestNumbersAndDates:
    @pytest.mark.parametrize(
        ("cell", "number", "kept"),
        [
            ("12345678901234567890", 12345678901234567890.0, True),
            ("12,345,678,901,234,567,890", 12345678901234567890.0, True),
            ("1234567890123456.5", 1234567890123456.5, True),
            ("1000000000000000000000", 1e21, False),  # one significant digit
            ("999999999999999", 999999999999999.0, False),  # 15 digits
            ("1234567890123.4567", 1234567890123.4567, False),  # only the fraction rounds
            ("1.2345678901234567e19", 1.2345678901234567e19, True),
            (1.2345678901234567e19, 1.2345678901234567e19, False),  # a float is as stored
            ("1e308", None, True),  # parse_number refuses it: beyond Excel
            ("1e309", None, True),
            ("9e307", 9e307, False),
            ("abc", None, False),
            ("1,5", 1.5, False),
        ],
    )
    def test_numbers_excel_cannot_hold(self, cell, number, kept):
        assert (number_problem(cell, number) is not None) == kept

    def test_dates_before_1900_03_01_have_no_serial(self):
        assert date_problem(date(1850, 1, 15)) is not None
        assert date_problem(date(1900, 2, 28)) is not None
        assert date_problem(date(1900, 3, 1)) is None


class TestConvert:
    """A whole export through `convert_export`: values written and issues listed."""

    def test_each_cell_kept_or_cut_is_one_issue_with_its_export_row(self):
        frame = pd.DataFrame(
            {
                "ID": ["D-1", "D-2", "D-3", "12345678901234567890", "D-5"],
                "Name": ["n" * 40_000, "Old", "Huge", "Long ID", "Bell\x07 ring"],
                "Stage": ["Qualified"] * 5,
                "Amount": ["1000", "2000", "1e308", "12345678901234567890", "500"],
                "Expected close": ["2026-06-30", "1850-01-15", "2026-06-30", "2026-06-30", ""],
            },
            dtype=object,
        )
        mapping = crm.resolve_mapping(list(frame.columns))
        stages = default_stages()
        got = crm.convert_export(frame, mapping, stages, rows=np.arange(2, 7))
        values = got.values
        assert got.ids.tolist() == ["D-1", "D-2", "D-3", "12345678901234567890", "D-5"]
        assert values["Name"][0] == "n" * LIMIT
        assert values["Name"][4] == "Bell ring"
        assert values["Amount"].tolist() == [1000.0, 2000.0, "1e308", "12345678901234567890", 500.0]
        assert values["Expected close"].tolist()[:3] == [
            datetime(2026, 6, 30),
            "1850-01-15",
            datetime(2026, 6, 30),
        ]
        assert [(i.row, i.header, i.value) for i in got.issues] == [
            (2, "Name", "n" * 40 + "\u2026 (40,000 characters)"),
            (3, "Expected close", "1850-01-15"),
            (4, "Amount", "1e308"),
            (5, "Amount", "12345678901234567890"),
        ]
        assert got.issues[0].problem == (
            "a text of 40,000 characters, more than the 32,767 an Excel cell holds; its "
            "first 32,767 kept"
        )
        controls = [n.text for n in got.notes if "control characters" in n.text]
        assert controls == [
            (
                "Name: 1 cell held control characters that a workbook cannot store "
                "(U+0000-U+001F except tab, LF and CR); removed (export rows 6)"
            )
        ]
        unread = [n.text for n in got.notes if "could not be read" in n.text]
        assert unread == []  # the kept cells are issues, not unreadable cells

    def test_rows_left_out_take_their_issues_with_them(self):
        frame = pd.DataFrame(
            {
                "ID": ["", "D-2"],
                "Name": ["n" * 40_000, "ok"],
                "Stage": ["Qualified"] * 2,
                "Amount": ["1e308", "1"],
            },
            dtype=object,
        )
        mapping = crm.resolve_mapping(list(frame.columns))
        stages = default_stages()
        got = crm.convert_export(frame, mapping, stages)
        assert got.ids.tolist() == ["D-2"]
        assert got.issues == []
