"""Currency codes: ISO 4217 only, with the code meant when a name or symbol is typed."""

from __future__ import annotations

import pytest

from pipeline_xl.core.currency import COMMON_CODES, CURRENCY_CODES, currency_code
from pipeline_xl.core.errors import InputError


class TestCurrencyCode:
    @pytest.mark.parametrize(
        ("typed", "code"), [("EUR", "EUR"), ("usd", "USD"), (" chf ", "CHF"), ("XOF", "XOF")]
    )
    def test_codes_in_any_case(self, typed, code):
        assert currency_code(typed) == code

    @pytest.mark.parametrize(
        ("typed", "meant"),
        [("euro", "the three-letter code: EUR"), ("EURO", "EUR"), ("Euros", "EUR"), ("€", "EUR"),
         ("pound sterling", "GBP"), ("$", "USD, CAD or AUD"), ("Swiss franc", "CHF")],
    )  # fmt: skip
    def test_a_name_or_symbol_is_refused_with_the_code_meant(self, typed, meant):
        with pytest.raises(InputError) as caught:
            currency_code(typed, argument="--currency")
        message = str(caught.value)
        assert message.startswith("--currency: not an ISO 4217 currency code")
        assert repr(typed) in message
        assert meant in message

    @pytest.mark.parametrize("typed", ["XYZ", "EU", "12", "E U R"])
    def test_other_text_gets_the_common_codes(self, typed):
        with pytest.raises(InputError, match="such as EUR, USD, GBP"):
            currency_code(typed)

    def test_blank_is_no_code(self):
        with pytest.raises(InputError, match="currency: no currency code"):
            currency_code("  ")

    def test_the_lists_are_three_capital_letters_and_common_codes_are_accepted(self):
        assert all(len(c) == 3 and c.isalpha() and c.isupper() for c in CURRENCY_CODES)
        assert set(COMMON_CODES) <= CURRENCY_CODES
        assert len(CURRENCY_CODES) > 150  # the currencies in use, not a short list


def test_a_settings_currency_that_is_no_code_is_a_warning():
    from pipeline_xl.core.schema import validate

    prospects = [["ID", "Stage", "Amount"], ["A", "Lead", 10.0]]
    settings = [["Setting", "Value"], ["As-of date", "2026-03-31"], ["Currency", "euro"]]
    model = validate(prospects, None, None, None, None, settings)
    assert model.settings.currency == "euro"  # kept as typed: nothing is guessed
    issues = model.issues
    found = issues[(issues["sheet"] == "Settings") & (issues["severity"] == "warning")]
    assert found["row"].tolist() == [3]
    assert found["problem"].tolist() == [
        "not an ISO 4217 currency code; amounts are labelled as typed (the three-letter code: EUR)"
    ]
