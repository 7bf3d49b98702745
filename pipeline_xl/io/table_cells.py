"""The cells of a table's rewritten rows: values to cell XML, in the column's style.

`CellWriter` writes one value the way `tables` promises (design notes, section 5):
text as an inline string, never a formula, with a quote-prefix copy of the column's
style when it starts with ``= + - @``, and never longer than the 32,767 characters an
Excel cell holds (`excel.TEXT_LIMIT`; the import reports the cells it cut); booleans as
TRUE/FALSE; dates as serial numbers in the workbook's date system
(`pipeline_xl.core.excel`), a date that has no serial there (before 1900-03-01, or
1904-01-01) as its ISO text, never a serial that reads back as another day; numbers as
numbers; None,
NaN, NaT, infinities and ``""`` as no cell, or an empty cell carrying the column's
style when the column's own default style differs. A value's `ValueKind` says whether a
number or date may be written as such: ``text`` always writes text.

`QuoteStyles` finds or appends the quote-prefix copies in ``xl/styles.xml``: an
identical cell format (``xf``) with ``quotePrefix="1"`` is reused, else one is appended
at the end of ``cellXfs`` (existing indices never change). The other way round,
`QuoteStyles.unquoted` finds the plain twin of a quote-prefix format, so that a column
whose first cell happened to be quoted does not quote every cell.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

import numpy as np
import pandas as pd

from pipeline_xl.core.excel import TEXT_LIMIT, excel_serial, has_serial
from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import (
    QUOTE_STARTS,
    bool_cell_xml,
    column_letter,
    empty_cell_xml,
    number_cell_xml,
    text_cell_xml,
)
from pipeline_xl.io.xmledit import PREFIX, decode, set_attr, start_tag, tag_attrs

__all__ = ["CellWriter", "ColumnStyle", "QuoteStyles", "ValueKind"]

ValueKind = Literal["text", "number", "date", "auto"]
"""How a column's values are written: always as text, or numbers/dates as such."""


@dataclass
class ColumnStyle:
    """The style of one table column's data cells and its quote-prefix copy."""

    base: int  # style of a data cell
    default: int  # the column's own default style (what a missing cell shows)
    quoted: int | None = None


class QuoteStyles:
    """Quote-prefix copies of cell formats, appended to ``xl/styles.xml`` when needed."""

    def __init__(self, package: Package) -> None:
        """Read the cell formats of ``package``'s styles part (none: nothing to copy)."""
        self.package = package
        self.part = package.find("xl/styles.xml") or package.related(
            package.workbook_part, "styles"
        )
        self._xfs: list[dict[str, str]] | None = None

    def xfs(self) -> list[dict[str, str]]:
        """The attributes of each cell format of ``cellXfs``, in order."""
        if self._xfs is None:
            self._xfs = [tag_attrs(start_tag(x)) for x in self._xf_texts()]
        return self._xfs

    def _xf_texts(self) -> list[str]:
        if self.part is None:
            return []
        text = decode(self.package.part(self.part))[0]
        m = re.search(rf"<{PREFIX}cellXfs\b[^>]*>(.*?)</{PREFIX}cellXfs\s*>", text, re.S)
        if m is None:
            return []
        return re.findall(rf"<{PREFIX}xf\b[^>]*?(?:/>|>.*?</{PREFIX}xf\s*>)", m.group(1), re.S)

    def quoted(self, style: int) -> bool:
        """Whether cell format ``style`` has the quote prefix."""
        xfs = self.xfs()
        return 0 <= style < len(xfs) and xfs[style].get("quotePrefix") in ("1", "true")

    def unquoted(self, style: int) -> int:
        """``style`` itself, or the identical format without the quote prefix."""
        xfs = self.xfs()
        if not self.quoted(style):
            return style
        want = {k: v for k, v in xfs[style].items() if k != "quotePrefix"}
        for i, xf in enumerate(xfs):
            if {k: v for k, v in xf.items() if k != "quotePrefix"} == want and not self.quoted(i):
                return i
        return style

    def quote_of(self, style: int) -> int:
        """The cell format like ``style`` plus ``quotePrefix="1"``, appended if missing."""
        if self.part is None or self.quoted(style):
            return style
        texts = self._xf_texts()
        if not 0 <= style < len(texts):
            return style
        source = texts[style]
        tag = start_tag(source)
        new_xf = source.replace(tag, set_attr(tag, "quotePrefix", "1"), 1)
        want = tag_attrs(start_tag(new_xf))
        inner = source[len(tag) :]
        for i, text in enumerate(texts):
            if tag_attrs(start_tag(text)) == want and text[len(start_tag(text)) :] == inner:
                return i
        whole, encoding = decode(self.package.part(self.part))
        m = re.search(rf"(<{PREFIX}cellXfs\b[^>]*>)(.*?)(</{PREFIX}cellXfs\s*>)", whole, re.S)
        assert m is not None  # noqa: S101 - found by _xf_texts above
        opening = set_attr(m.group(1), "count", str(len(texts) + 1))
        whole = whole[: m.start()] + opening + m.group(2) + new_xf + m.group(3) + whole[m.end() :]
        self.package.set_part(self.part, whole.encode(encoding))
        self._xfs = None
        return len(texts)


class CellWriter:
    """Cell XML for one table: column styles, the date system, quote-prefix styles."""

    def __init__(
        self, styles: QuoteStyles, columns: dict[int, ColumnStyle], *, date1904: bool
    ) -> None:
        """Write cells of ``columns`` (by 1-based column), dates in the given date system."""
        self.styles = styles
        self.columns = columns
        self.date1904 = date1904

    def cell(
        self, ref: str, col: int, value: object, kind: ValueKind, *, style: int | None = None
    ) -> str | None:
        """The cell at ``ref`` (column ``col``) for ``value``, or None for no cell.

        ``style`` is the cell's own style to keep (a quote-prefix one is traded for its
        plain twin, and taken again for text that needs it); default: the column's.
        """
        column = self.columns[col]
        base = column.base if style is None else self.styles.unquoted(style)
        if _is_missing(value) or (isinstance(value, str) and value == ""):
            return empty_cell_xml(ref, base) if base != column.default else None
        if isinstance(value, bool | np.bool_):
            return bool_cell_xml(ref, bool(value), base)
        if kind != "text":
            moment = _as_date(value)
            if moment is not None and has_serial(moment, date1904=self.date1904):
                serial = excel_serial(moment, date1904=self.date1904)
                return number_cell_xml(ref, serial, base)
            if moment is not None:
                value = _date_text(moment)
            number = _as_number(value)
            if number is not None:
                return number_cell_xml(ref, number, base) if math.isfinite(number) else None
        text = _as_text(value)[:TEXT_LIMIT]
        s = base
        if text.startswith(QUOTE_STARTS):
            if style is None:
                if column.quoted is None:
                    column.quoted = self.styles.quote_of(base)
                s = column.quoted
            else:
                s = self.styles.quote_of(base)
        return text_cell_xml(ref, text, s)

    def column(self, col: int, kind: ValueKind, values: Iterable[object], first: int) -> list[str]:
        """The cells of one column for rows ``first``, ``first + 1``... (``""`` = none).

        Plain text, floats and dates take a fast path; anything else goes through `cell`.
        """
        style = self.columns[col]
        letter = column_letter(col)
        base = style.base
        blank = base != style.default
        date1904 = self.date1904
        out: list[str] = []
        append = out.append
        for n, v in enumerate(values, first):
            if v is None or v == "":
                append(empty_cell_xml(f"{letter}{n}", base) if blank else "")
            elif type(v) is str and not v.startswith(QUOTE_STARTS) and len(v) <= TEXT_LIMIT:
                append(text_cell_xml(f"{letter}{n}", v, base))
            elif type(v) is float and kind != "text" and math.isfinite(v):
                append(number_cell_xml(f"{letter}{n}", v, base))
            elif type(v) is date and kind != "text" and has_serial(v, date1904=date1904):
                append(number_cell_xml(f"{letter}{n}", excel_serial(v, date1904=date1904), base))
            else:
                append(self.cell(f"{letter}{n}", col, v, kind) or "")
        return out


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(math.isnan(value))
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def _as_date(value: object) -> date | None:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return value
    return None


def _date_text(moment: date) -> str:
    """A date as ISO text (``1850-01-15``; a time of day after a space)."""
    if isinstance(moment, datetime) and moment.time() != time():
        return moment.isoformat(sep=" ")
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def _as_number(value: object) -> float | None:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    return None


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, time):
        return value.isoformat()
    return str(value)
