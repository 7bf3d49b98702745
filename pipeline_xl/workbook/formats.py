"""The xlsxwriter formats of the ready workbook, made once per distinct set of properties.

Every cell format of the data sheets and the Dashboard comes from `Formats`: the font and
palette are `pipeline_xl.core.display.STYLE` (shared with the report writers), amounts are
whole numbers without a symbol (the currency is a setting an import may change), text
columns use Excel's built-in "@" format so a typed ``2026-03`` or ``00123`` stays text.
Text starts one indent in and dates sit centred, so a number right-aligned in one column
never touches the text of the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from pipeline_xl.core.display import STYLE

__all__ = ["Formats", "Writer"]

_ALIGN: dict[str, dict[str, object]] = {
    "text": {"indent": 1},
    "period": {"indent": 1},
    "status": {"indent": 1},
    "date": {"align": "center"},
    "month": {"align": "center"},
    "period_cell": {"align": "right"},
    "date_cell": {"align": "right"},
}
_HEADER_ALIGN: dict[str, dict[str, object]] = {
    **{k: {"align": "right"} for k in ("amount", "percent", "count", "number", "mixed")},
    "date": {"align": "center"},
}
_TEXT = 49  # the built-in "@" (Text) number format


class Formats:
    """xlsxwriter formats made once per distinct set of properties."""

    def __init__(self, workbook: Workbook, currency: str) -> None:
        self._wb = workbook
        self.currency = currency
        self._cache: dict[tuple[tuple[str, object], ...], Format] = {}
        self.num: dict[str, str | int] = {
            "text": _TEXT,
            "period": _TEXT,
            "status": _TEXT,
            # No currency symbol in the built sheets: an import may set another currency
            # later (Settings), and the Dashboard's subtitle and the headers name it; the
            # report sheets, rewritten at each refresh, carry the symbol.
            "amount": "#,##0;-#,##0",
            "date": "yyyy-mm-dd",
            "date_cell": "yyyy-mm-dd",
            "month": "yyyy-mm",
            "percent": "0.0%",
            "ratio": '0.00"x"',
            "days": "#,##0",
            "count": "#,##0",
            "number": "General",
            "label": "General",
            "period_cell": "General",
            "int": "0",
            "mixed": "General",
        }

    def get(self, **props: object) -> Format:
        """The format with these xlsxwriter properties (on the workbook font)."""
        key = tuple(sorted(props.items()))
        found = self._cache.get(key)
        if found is None:
            found = self._wb.add_format({"font_name": STYLE.font, "font_size": 11, **props})
            self._cache[key] = found
        return found

    def cell(
        self, kind: str, *, fill: str | None = None, quote: bool = False, right: bool = False
    ) -> Format:
        """A data cell of ``kind``: its number format and alignment, an input fill, a quote."""
        align = {"align": "right"} if right else _ALIGN.get(kind, {})
        props: dict[str, object] = {"num_format": self.num[kind], **align}
        if fill:
            props |= {"bg_color": fill, "border": 1, "border_color": STYLE.border}
        if quote:
            props["quote_prefix"] = True
        return self.get(**props)

    def header(self, kind: str = "text") -> Format:
        """A table header cell, aligned like the column's values."""
        return self.get(
            bold=True,
            text_wrap=True,
            valign="vcenter",
            font_color=STYLE.header_font,
            bg_color=STYLE.header_fill,
            **_HEADER_ALIGN.get(kind, {"align": "left", "indent": 1}),
        )


@dataclass
class Writer:
    """A worksheet and the formats of its workbook."""

    sheet: Worksheet
    formats: Formats
