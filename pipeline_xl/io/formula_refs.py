"""Move a formula's relative references, as Excel does when it fills a formula down.

`shift_formula` gives the text a formula would have ``rows`` rows lower and ``cols``
columns to the right: relative row and column parts of A1 references (``G2``, ``G$2``,
``$G2``, ranges ``G2:H9``, whole rows ``2:4`` and whole columns ``G:H``) move,
absolute parts (``$``) stay. A reference moved off the sheet becomes ``#REF!``, as in
Excel. Text in double quotes, sheet names in single quotes and everything in square
brackets (structured references such as ``tblProspects[[#This Row],[Amount]]``,
external workbook numbers) are left as they are; so are function names (a name
followed by ``(``) and defined names (Excel forbids names that read as references).
"""

from __future__ import annotations

import re

from pipeline_xl.io.sheetxml import column_index, column_letter

__all__ = ["MAX_COL", "MAX_ROW", "shift_formula"]

MAX_ROW = 1_048_576
MAX_COL = 16_384

_TOKEN = re.compile(
    r""""(?:[^"]|"")*"
    |'(?:[^']|'')*'
    |\[(?:[^\[\]]|\[[^\[\]]*\])*\]
    |(?<![\w.$])(?P<c1>\$?)(?P<col>[A-Za-z]{1,3})(?P<r1>\$?)(?P<row>\d+)(?![\w(.!\[])
    |(?<![\w.$:])(?P<a1>\$?)(?P<ra>\d+):(?P<a2>\$?)(?P<rb>\d+)(?![\w(.!\[:])
    |(?<![\w.$:])(?P<b1>\$?)(?P<ca>[A-Za-z]{1,3}):(?P<b2>\$?)(?P<cb>[A-Za-z]{1,3})(?![\w(.!\[:])
    """,
    re.X,
)


def _row(dollar: str, number: int, rows: int) -> str | None:
    moved = number if dollar else number + rows
    return f"{dollar}{moved}" if 1 <= moved <= MAX_ROW else None


def _col(dollar: str, letters: str, cols: int) -> str | None:
    index = column_index(letters)
    if index > MAX_COL:
        return None
    moved = index if dollar else index + cols
    return f"{dollar}{column_letter(moved)}" if 1 <= moved <= MAX_COL else None


def shift_formula(formula: str, rows: int, cols: int = 0) -> str:
    """``formula`` as it reads ``rows`` rows lower and ``cols`` columns to the right."""
    if not rows and not cols:
        return formula

    def move(m: re.Match[str]) -> str:
        if m.group("col") is not None:
            col = _col(m.group("c1"), m.group("col"), cols)
            row = _row(m.group("r1"), int(m.group("row")), rows)
            return "#REF!" if col is None or row is None else col + row
        if m.group("ra") is not None:
            first = _row(m.group("a1"), int(m.group("ra")), rows)
            last = _row(m.group("a2"), int(m.group("rb")), rows)
            return "#REF!" if first is None or last is None else f"{first}:{last}"
        if m.group("ca") is not None:
            first = _col(m.group("b1"), m.group("ca"), cols)
            last = _col(m.group("b2"), m.group("cb"), cols)
            return "#REF!" if first is None or last is None else f"{first}:{last}"
        return m.group(0)

    return _TOKEN.sub(move, formula)
