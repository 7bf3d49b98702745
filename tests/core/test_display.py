"""The one column-width rule: text and number widths, padding, bounds."""

from __future__ import annotations

import pytest

from pipeline_xl.core.display import (
    MAX_COLUMN_WIDTH,
    MIN_COLUMN_WIDTH,
    column_width,
    shown,
    shown_width,
    text_width,
)
from pipeline_xl.core.errors import InputError


class TestTextWidth:
    def test_ascii_counts_characters(self):
        assert text_width("Proposal") == 8
        assert text_width("") == 0

    def test_wide_characters_count_two_and_the_longest_line_counts(self):
        assert text_width("営業") == 4  # two East Asian wide characters
        assert text_width("short\nthe longer line") == 15
        assert text_width("é\n営業x") == 5


class TestShownWidth:
    @pytest.mark.parametrize(
        ("number", "kind", "width"),
        [
            (0.125, "pct", 5),  # "12.5%"
            (46356.0, "date", 10),  # yyyy-mm-dd
            (1234.5, "number", 8),  # "1,234.50"
            (1234567.0, "amount", 13),  # "1,234,567" and " EUR"
            (-1234.0, "int", 6),  # "-1,234"
            (1e15, "amount", 12),  # too large for digits: scientific
        ],
    )
    def test_worked_examples(self, number, kind, width):
        assert shown_width(number, kind, "EUR") == width


class TestColumnWidth:
    def test_padding(self):
        # 13 characters -> 13 * 1.1 + 2 = 16.3
        assert column_width(13) == pytest.approx(16.3)

    def test_bounds(self):
        assert column_width(0) == MIN_COLUMN_WIDTH
        assert column_width(500) == MAX_COLUMN_WIDTH
        assert (MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH) == (6.0, 60.0)

    def test_an_explicit_width_wins_within_the_bounds(self):
        assert column_width(40, 31.5) == 31.5
        assert column_width(40, 2) == MIN_COLUMN_WIDTH
        assert column_width(2, 90) == MAX_COLUMN_WIDTH


class TestShown:
    """A value from the user's files is quoted by its start in every message."""

    def test_short_texts_whole_long_ones_cut_with_their_length(self):
        assert shown("Acme") == "Acme"
        assert shown("x" * 40) == "x" * 40
        assert shown("x" * 40_000) == "x" * 40 + "\u2026 (40,000 characters)"
        assert shown("abcdef", limit=3) == "abc\u2026 (6 characters)"

    def test_an_input_error_quotes_a_long_value_by_its_start(self):
        err = InputError("unknown currency", value="E" * 100_000, expected="an ISO code")
        assert str(err) == (
            f"unknown currency: {'E' * 40!r}\u2026 (100,000 characters) (expected an ISO code)"
        )
        assert str(InputError("bad", value="short")) == "bad: 'short'"
