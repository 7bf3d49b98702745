"""How the workbook looks, shared by every writer: number formats, colours and fonts.

Also how a count reads in a message (`counted`: "1 warning", "3 warnings").

The workbook builder, the headless report writer and the live (xlwings) writer all take
their currency formats and palette from here, so a report sheet looks like the sheets
the builder made.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STYLE", "Style", "counted", "currency_format"]

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


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``1 warning``, ``2,089 warnings``: a count and its noun in the matching number.

    ``plural`` when the noun does not simply take an ``s`` (``1 was``/``2 were`` style
    agreement is the caller's).
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


@dataclass(frozen=True, slots=True)
class Style:
    """Colours and fonts (Office palette; fills chosen to print well in grey too)."""

    font: str = "Calibri"
    input_fill: str = "#FFF2CC"  # light yellow: type here
    formula_fill: str = "#EDEDED"  # grey: Excel formula
    pipe_fill: str = "#DDEBF7"  # light blue: Python function (PIPE_*)
    header_fill: str = "#1F4E78"  # dark blue section headers
    header_font: str = "#FFFFFF"
    title_font: str = "#1F4E78"
    note_font: str = "#595959"
    border: str = "#BFBFBF"
    table_style: str = "Table Style Medium 2"


STYLE = Style()
