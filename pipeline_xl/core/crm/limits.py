"""Export cells that Excel cannot hold as they come: fitted, or kept as text, and reported.

An import never writes what Excel would refuse, repair or show as something else
(`pipeline_xl.core.excel` states the limits):

* control characters that XML 1.0 cannot carry (U+0000-U+0008, U+000B, U+000C,
  U+000E-U+001F, U+FFFE, U+FFFF) are removed (`without_controls`); the spacing ones
  (U+000B, U+000C, U+001C-U+001F) become a space, which the clean-up of spaces every
  text gets then merges. The caller reports the column and its export rows;
* a text longer than `excel.TEXT_LIMIT` characters once its spaces are cleaned up keeps
  its first 32,767 characters (`fit_long_texts`). Only the part a cell keeps is ever
  cleaned up, so a field of 100 MB costs one scan, not copies of it;
* a date before 1900-03-01 (`date_problem`) has no serial in Excel's 1900 date system
  (serials below 61 name the fake 29 February 1900 zone, which no reader takes back as
  a date): the cell keeps its text as found;
* a number of `excel.NUMBER_LIMIT` or more, or one whose whole part has more
  significant digits than the `excel.SIGNIFICANT_DIGITS` Excel keeps, and would change
  (12345678901234567890 would lose its last five digits; 1000000000000000000000 would
  not), is kept as its text (`number_problem`). Digits of a fraction beyond the 15th
  are float rounding, not a loss: such numbers are written as numbers.

Each fitted or kept cell becomes an `incoming.CellIssue` (the caller knows the export
row and the field).
"""

from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.crm.incoming import ObjectArray
from pipeline_xl.core.excel import (
    FIRST_SERIAL_DATE,
    NUMBER_LIMIT,
    SIGNIFICANT_DIGITS,
    TEXT_LIMIT,
)

__all__ = [
    "CONTROL_CHARACTERS",
    "date_problem",
    "fit_long_texts",
    "number_problem",
    "without_controls",
]

CONTROL_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
"""The characters XML 1.0 cannot carry (a regular-expression class body)."""
_CONTROL_RE = re.compile(f"[{CONTROL_CHARACTERS}]")
_SPACING = frozenset("\x0b\x0c\x1c\x1d\x1e\x1f")
_WORD_RE = re.compile(r"\S+")
_EXPONENT_RE = re.compile(r"\d[eE][+-]?\d")
_NOT_DIGIT_RE = re.compile(r"\D")
_SEPARATORS_RE = re.compile(r"[\s,'\u00a0\u202f]")


def _replace_control(match: re.Match[str]) -> str:
    return " " if match.group(0) in _SPACING else ""


def without_controls(values: ObjectArray) -> tuple[ObjectArray, npt.NDArray[np.bool_]]:
    """The cells without the control characters XML cannot carry, and where there were any.

    The spacing controls become a space, the others are removed (module docstring).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    hit = np.zeros(len(uniques) + 1, dtype=bool)
    fixed = np.empty(len(uniques) + 1, dtype=object)
    for i, value in enumerate(uniques):
        fixed[i] = value
        if isinstance(value, str) and _CONTROL_RE.search(value):
            fixed[i] = _CONTROL_RE.sub(_replace_control, value)
            hit[i] = True
    where = hit[codes]
    if not where.any():
        return values, where
    out = values.copy()
    out[where] = fixed[codes[where]]
    return out, where


def _clean_prefix(text: str, size: int) -> str:
    """The start of ``text`` with its spaces cleaned up, ``size`` characters or more.

    Cleaned up as ``" ".join(text.split())`` would; shorter only when that whole text is.
    """
    words: list[str] = []
    length = -1
    for match in _WORD_RE.finditer(text):
        start = match.start()
        words.append(text[start : min(match.end(), start + size)])
        length += len(words[-1]) + 1
        if length >= size:
            break
    return " ".join(words)


def fit_long_texts(values: ObjectArray) -> tuple[ObjectArray, dict[int, int]]:
    """Texts cut to `excel.TEXT_LIMIT` characters once cleaned up, and the cut ones.

    Returns the cells (texts over the limit as their clean first 32,767 characters,
    texts that fit once cleaned up as their clean text) and, by position, the length in
    characters of each text that was cut.
    """
    long = np.fromiter(
        (isinstance(v, str) and len(v) > TEXT_LIMIT for v in values),
        dtype=bool,
        count=len(values),
    )
    if not long.any():
        return values, {}
    out = values.copy()
    cut: dict[int, int] = {}
    for pos in np.flatnonzero(long).tolist():
        text = str(values[pos])
        kept = _clean_prefix(text, TEXT_LIMIT + 1)
        if len(kept) > TEXT_LIMIT:
            kept = kept[:TEXT_LIMIT].rstrip()
            cut[pos] = len(text)
        out[pos] = kept
    return out, cut


def date_problem(day: date) -> str | None:
    """Why Excel cannot hold a day read from an export (None: it can)."""
    if day < FIRST_SERIAL_DATE:
        return (
            f"a date before {FIRST_SERIAL_DATE.isoformat()}, which Excel's dates cannot "
            "hold; kept as its text"
        )
    return None


def _whole_digits_lost(cell: object, number: float) -> bool:
    """Whether Excel's 15 significant digits change the whole part of ``number``."""
    if isinstance(cell, bool | float | np.floating):
        return False  # a float cell already holds what its source could store
    text = str(cell)
    if _EXPONENT_RE.search(text):
        return float(f"{number:.{SIGNIFICANT_DIGITS}g}") != number
    digits = _NOT_DIGIT_RE.sub("", text).lstrip("0")
    whole = int(math.log10(abs(number))) + 1
    return any(d != "0" for d in digits[SIGNIFICANT_DIGITS:whole])


def _beyond(cell: object) -> bool:
    """Whether a cell that reads as no number is one beyond Excel's range (``1e309``)."""
    text = _SEPARATORS_RE.sub("", str(cell))
    try:
        return not abs(float(text)) < NUMBER_LIMIT
    except (ValueError, OverflowError):
        return False


def number_problem(cell: object, number: float | None) -> str | None:
    """Why Excel cannot hold the number ``cell`` holds (None: it can, or it is no number).

    ``number`` is the cell as read (`cells.parse_number`), None when it did not read:
    numbers from 1e308 on do not, and are told apart here.
    """
    if number is None or not abs(number) < NUMBER_LIMIT:
        if number is None and not _beyond(cell):
            return None
        return "a number beyond Excel's (its largest is 9.99999999999999E+307); kept as text"
    if abs(number) >= 10.0**SIGNIFICANT_DIGITS and _whole_digits_lost(cell, number):
        return (
            f"more than {SIGNIFICANT_DIGITS} significant digits before the decimal mark, "
            "which Excel would round; kept as text"
        )
    return None
