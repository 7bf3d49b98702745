"""Excel number formats shared by every writer (workbook builder, headless and live)."""

from __future__ import annotations

__all__ = ["currency_format"]

_CURRENCY_PREFIX = {"USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "AUD": "A$"}
_CURRENCY_SUFFIX = {"EUR": "€", "CHF": "CHF", "SEK": "kr", "NOK": "kr", "DKK": "kr", "PLN": "zł"}


def currency_format(currency: str, *, decimals: int = 0, red_negative: bool = False) -> str:
    """Excel number format showing whole amounts with the currency's symbol."""
    code = currency.strip().upper()
    digits = "#,##0" + ("." + "0" * decimals if decimals else "")
    if code in _CURRENCY_PREFIX:
        sym = _CURRENCY_PREFIX[code].replace('"', "")
        pos, neg = f'"{sym}"{digits}', f'-"{sym}"{digits}'
    else:
        sym = _CURRENCY_SUFFIX.get(code, code or "").replace('"', "")
        pos, neg = f'{digits} "{sym}"', f'-{digits} "{sym}"'
    if red_negative:
        neg = "[Red]" + neg
    return f"{pos};{neg}"
