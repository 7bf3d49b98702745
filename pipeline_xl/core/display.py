"""How the workbook looks, shared by every writer: number formats, colours, fonts, widths.

Also how a count reads in a message (`counted`: "1 warning", "3 warnings") and how a
value from the user's files is quoted in one (`shown`: a short prefix, so a field of a
million characters never floods the terminal).

The workbook builder, the headless report writer and the live (xlwings) writer all take
their currency formats and palette from here, so a report sheet looks like the sheets
the builder made.

Column widths (in characters, Excel's unit) follow one rule: a column is as wide as the
widest value it shows (`text_width` for text, where East Asian wide characters count
two and the longest line of a multi-line text counts; `shown_width` for a number as its
display kind shows it), times 1.1 plus 2 for the cell's padding, kept between
`MIN_COLUMN_WIDTH` and `MAX_COLUMN_WIDTH` (`column_width`). A width a report column
asks for replaces the content's but is kept within the same bounds.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = [
    "MAX_COLUMN_WIDTH",
    "MIN_COLUMN_WIDTH",
    "SHOWN_CHARACTERS",
    "STYLE",
    "Style",
    "column_width",
    "counted",
    "currency_format",
    "shown",
    "shown_width",
    "text_width",
]

MIN_COLUMN_WIDTH = 6.0
"""Narrowest column a writer sets (characters)."""
MAX_COLUMN_WIDTH = 60.0
"""Widest column a writer sets (characters), however long its texts: longer ones wrap or
overflow."""
_DATE_WIDTH = 10.0  # yyyy-mm-dd
_HUGE_WIDTH = 12.0  # numbers of 1e15 and more show in scientific notation

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


SHOWN_CHARACTERS = 40
"""The most characters of a value that a message quotes (`shown`)."""


def shown(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """``text`` as a message quotes it: whole up to ``limit`` characters, else cut.

    A longer text is its first ``limit`` characters, an ellipsis and its length
    (``Lorem ipsum\u2026 (40,000 characters)``).
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\u2026 ({len(text):,} characters)"


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


def text_width(text: str) -> float:
    """Characters a text takes: its longest line, East Asian wide characters counting 2."""
    if text.isascii() and "\n" not in text:
        return float(len(text))
    longest = 0.0
    for line in text.split("\n"):
        wide = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        longest = max(longest, float(wide))
    return longest


def shown_width(number: float, kind: str, currency: str) -> float:
    """Characters a number takes as a column of ``kind`` shows it.

    ``pct`` one decimal and a percent sign, ``date`` ``yyyy-mm-dd``, ``number`` two
    decimals, ``amount`` whole with thousands separators and the currency code, anything
    else (``int``) whole with thousands separators.
    """
    if kind == "pct":
        return float(len(f"{number:.1%}"))
    if kind == "date":
        return _DATE_WIDTH
    if kind == "number":
        return float(len(f"{number:,.2f}"))
    if abs(number) >= 1e15:
        return _HUGE_WIDTH
    digits = float(len(f"{number:,.0f}"))
    if kind == "amount":
        return digits + len(currency) + 1
    return digits


def column_width(content: float, explicit: float | None = None) -> float:
    """The width to set for a column whose widest value takes ``content`` characters.

    ``explicit``, when given, is the width asked for instead of the content's. Either is
    kept within `MIN_COLUMN_WIDTH` and `MAX_COLUMN_WIDTH`, rounded to 2 decimals.
    """
    width = content * 1.1 + 2.0 if explicit is None else explicit
    return round(min(max(width, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH), 2)
