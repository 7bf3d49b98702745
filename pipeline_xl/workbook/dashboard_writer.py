"""Write the Dashboard sheet: the layout of `pipeline_xl.workbook.dashboard_spec` as cells.

Each formula is written with its cached value (``values``, by cell id), so the file shows
numbers before any recalculation; a value that is not a finite number or a text is
stored as no value (NaN) or ``#NUM!`` (infinity). An array formula without a value
stores 0, which Excel and LibreOffice replace when they calculate.

In an xlwings Lite workbook the PIPE_* calls are stored as ``_xldudf_PIPE_...``: that is
how a file holds a call to an Office add-in's custom function.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol

from pipeline_xl.workbook.dashboard_spec import (
    SUBTITLE_CELL,
    SUBTITLE_FORMULA,
    DashboardLayout,
    subtitle_text,
)
from pipeline_xl.workbook.formats import Formats, Writer
from pipeline_xl.workbook.spec import STYLE, VALIDATIONS

__all__ = ["CLASSIC_HINT", "LITE_HINT", "LITE_PREFIX", "write_dashboard"]

_PIPE_CALL = re.compile(r"(?<![A-Za-z0-9_.])(PIPE_[A-Z_]+\()")
LITE_PREFIX = "_xldudf_"
"""How a file stores a call to an Office add-in's custom function (xlwings Lite's)."""

CLASSIC_HINT = (
    "First use (Windows): Import functions once (needs Trust access to the VBA project "
    "object model), then Ctrl+Alt+F9, save."
)
"""The note beside the buttons. Importing the functions recalculates nothing: until a full
recalculation (Ctrl+Alt+F9) the cells keep the values they had, #NAME? included."""

LITE_HINT = (
    "Python runs in the xlwings Lite add-in: open it once from the ribbon and save; it then "
    "starts with this file."
)
"""The Lite note: Lite starts a workbook's code by itself only once the add-in was opened
for it and the workbook saved (xlwings Lite change log, 1.0.0.0-28)."""


def _dashboard_formats(fm: Formats) -> dict[str, Any]:
    base = {"valign": "vcenter"}
    section = {"bold": True, "font_color": STYLE.header_font, "bg_color": STYLE.header_fill}
    return {
        "title": fm.get(bold=True, font_size=18, font_color=STYLE.title_font, **base),
        "subtitle": fm.get(italic=True, font_color=STYLE.note_font, **base),
        "section": fm.get(**section, **base),
        "colhead": fm.get(**section, align="right", **base),
        "label": fm.get(**base),
        "note": fm.get(italic=True, font_size=9, font_color=STYLE.note_font, **base),
        "legend_input": fm.get(
            bg_color=STYLE.input_fill, border=1, border_color=STYLE.border, align="center", **base
        ),
        "legend_formula": fm.get(
            bg_color=STYLE.formula_fill, border=1, border_color=STYLE.border, align="center", **base
        ),
        "legend_pipe": fm.get(
            bg_color=STYLE.pipe_fill, border=1, border_color=STYLE.border, align="center", **base
        ),
        "input": fm.get(
            bg_color=STYLE.input_fill,
            border=1,
            border_color=STYLE.border,
            num_format=49,
            align="right",
            **base,
        ),
        "input_amount": fm.get(
            bg_color=STYLE.input_fill,
            border=1,
            border_color=STYLE.border,
            num_format=fm.num["amount"],
            align="right",
            **base,
        ),
        "button": fm.get(
            bold=True,
            font_color="#FFFFFF",
            bg_color=STYLE.header_fill,
            align="center",
            border=1,
            **base,
        ),
    }


def _value(value: object) -> float | str:
    """A cached value as xlsxwriter stores it ("" = none)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number):
            return ""
        return number if math.isfinite(number) else "#NUM!"
    return value if isinstance(value, str) else ""


def _stored(formula: str, *, lite: bool) -> str:
    """The formula as the file stores it: Lite functions carry Excel's add-in prefix."""
    return _PIPE_CALL.sub(LITE_PREFIX + r"\1", formula) if lite else formula


def _fmt_kind(fmt: str) -> str:
    return {"text": "label", "period": "period_cell", "date": "date_cell"}.get(fmt, fmt)


def _write_pipes(
    w: Writer, layout: DashboardLayout, values: Mapping[str, object], *, lite: bool
) -> None:
    ws, fm = w.sheet, w.formats
    for pipe in layout.pipes:
        formula = _stored(pipe.formula, lite=lite)
        # Right-aligned: a message such as "target reached" lines up with the numbers.
        fmt = fm.cell(_fmt_kind(pipe.fmt), fill=STYLE.pipe_fill, right=True)
        cached = values.get(pipe.id)
        row, col = xl_cell_to_rowcol(pipe.cell)
        ws.write_formula(row, col, formula, fmt, _value(cached))


def _write_natives(
    w: Writer, layout: DashboardLayout, values: Mapping[str, object], *, lite: bool
) -> None:
    ws, fm = w.sheet, w.formats
    inputs = set(layout.period_cells.values())  # written as inputs by `write_dashboard`
    for native in layout.natives:
        if native.cell in inputs:
            continue
        if native.fmt == "headline":  # a sentence over the key figures, not a figure
            fmt = fm.get(bold=True, font_size=12, font_color=STYLE.title_font)
        else:
            fmt = fm.cell(_fmt_kind(native.fmt), fill=STYLE.formula_fill)
        cached = _value(values.get(native.id))
        row, col = xl_cell_to_rowcol(native.cell)
        formula = _stored(native.formula, lite=lite)
        if native.array:
            ws.write_array_formula(row, col, row, col, formula, fmt, cached or 0)
        else:
            ws.write_formula(row, col, formula, fmt, cached)


def _write_heading(
    w: Writer,
    styles: Mapping[str, Format],
    *,
    company: str,
    currency: str,
    as_of: date,
    fiscal_start: int,
    lite: bool,
) -> None:
    ws = w.sheet
    ws.set_row(0, 34)
    ws.hide_gridlines(2)
    ws.merge_range("A1:D1", "", styles["title"])
    ws.write_string(
        "A1", f"{company}: sales pipeline" if company else "Sales pipeline", styles["title"]
    )
    ws.merge_range("A2:D2", "", styles["subtitle"])
    shown = subtitle_text(as_of=as_of, currency=currency, fiscal_start=fiscal_start)
    ws.write_formula(SUBTITLE_CELL, SUBTITLE_FORMULA, styles["subtitle"], shown)
    hint = LITE_HINT if lite else CLASSIC_HINT
    ws.merge_range("F3:I3", "", styles["note"])
    ws.write_string("F3", hint, styles["note"])


def _write_call_form(w: Writer, layout: DashboardLayout) -> None:
    """Drop-downs and input hints of the forecast-call form (its cells are texts)."""
    form = layout.call_form
    if not form:
        return
    ws = w.sheet
    ws.data_validation(
        form["owner"],
        {**VALIDATIONS["owner"], "error_message": "This name is not in the owner list. Keep it?"},
    )
    ws.data_validation(
        form["period"],
        {
            "validate": "any",
            "input_title": "Period",
            "input_message": "A month (2026-03) or a quarter (2026-Q1); blank: the month shown.",
        },
    )
    for name in ("commit", "most_likely", "best_case"):
        ws.data_validation(
            form[name],
            {
                "validate": "decimal",
                "criteria": ">=",
                "value": 0,
                "error_title": "Call amount",
                "error_message": "An amount of 0 or more.",
            },
        )


def write_dashboard(
    w: Writer,
    layout: DashboardLayout,
    periods: Mapping[str, str],
    values: Mapping[str, object],
    *,
    company: str,
    currency: str,
    as_of: date,
    fiscal_start: int,
    lite: bool,
) -> None:
    """Write the Dashboard: heading, texts, inputs, formulas with ``values``, page setup.

    ``periods`` are the labels of the period input cells ("month", "quarter").
    """
    ws, fm = w.sheet, w.formats
    styles = _dashboard_formats(fm)
    for col, width in layout.widths.items():
        ws.set_column(f"{col}:{col}", width)
    _write_heading(
        w, styles, company=company, currency=currency, as_of=as_of, fiscal_start=fiscal_start,
        lite=lite,
    )  # fmt: skip
    for text in layout.texts:
        style = styles[text.role]
        if text.merge_to:
            ws.merge_range(f"{text.cell}:{text.merge_to}", "", style)
        ws.write_string(text.cell, text.text, style)
    formulas = {n.cell: n.formula for n in layout.natives}
    for kind, cell in layout.period_cells.items():
        # The period of the as-of date by formula; typing a period over it compares (the
        # cell is formatted as text, so a typed 2026-03 stays a label).
        ws.write_formula(cell, _stored(formulas[cell], lite=lite), styles["input"], periods[kind])
        ws.data_validation(
            cell,
            {
                "validate": "any",
                "input_title": "Period",
                "input_message": "A month (2026-03), a quarter (2026-Q1) or FY2027-Q2.",
            },
        )
    owner_row, owner_col = xl_cell_to_rowcol(layout.owner_cell)
    ws.merge_range(owner_row, owner_col, owner_row, owner_col + 1, "", styles["input"])
    ws.data_validation(
        owner_row,
        owner_col,
        owner_row,
        owner_col + 1,
        {**VALIDATIONS["owner"], "error_message": "This name is not in the owner list. Keep it?"},
    )
    _write_call_form(w, layout)
    _write_pipes(w, layout, values, lite=lite)
    _write_natives(w, layout, values, lite=lite)
    ws.set_landscape()
    ws.fit_to_pages(1, 1)
    ws.print_area(0, 0, layout.last_row - 1, layout.last_col)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.activate()
