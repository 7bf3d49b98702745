"""Bring a workbook's Dashboard in step with its tables, as of the refresh's date.

The Dashboard's formulas read ``AsOfDate``: the Settings as-of date when one is typed,
else the ``RefreshAsOf`` name. A refresh writes its as-of date into that name and then
stores, for every formula of the Dashboard, the value it now has (the PIPE_* calls and
the plain formulas computed exactly as the builder computes them,
`pipeline_xl.workbook.cache.dashboard_values`), together with the date-dependent
subtitle. So the file shows the refresh's numbers before Excel recalculates anything, and
a workbook opened where Python is not there still tells one story.

The worksheet functions receive the tables as the refresh read them (header row first,
`pipeline_xl.udfs.convert.FrozenRows`), and the refresh hands over the model it
validated from them, so nothing is validated twice; the plain formulas read the same
rows as columns.

The period and owner cells are read as the user left them: a period typed over the
formula is kept and the figures are computed for it. A formula the user changed, and a
Dashboard laid out differently, are left alone (their cells are listed in the notes).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.excel import excel_serial, serial_date
from pipeline_xl.core.model import Model
from pipeline_xl.core.raw import RawWorkbook
from pipeline_xl.io.cell_update import CellEdit, cell_contents, update_cells
from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import number_text
from pipeline_xl.udfs.convert import FrozenRows, forget_models, freeze_rows
from pipeline_xl.workbook.cache import dashboard_values
from pipeline_xl.workbook.dashboard_spec import (
    REFRESH_AS_OF,
    SUBTITLE_CELL,
    SUBTITLE_FORMULA,
    DashboardLayout,
    dashboard_layout,
    subtitle_text,
)

__all__ = ["refresh_dashboard", "tables_of"]


def tables_of(raw: RawWorkbook) -> dict[str, pd.DataFrame]:
    """The workbook's tables as read, by sheet name (object columns under their headers).

    Rows are cut or padded to the header's width; cells stay as read (dates as dates).
    """
    out: dict[str, pd.DataFrame] = {}
    for name, rows in raw.tables.items():
        if not rows:
            continue
        header = ["" if h is None else str(h) for h in rows[0]]
        width = len(header)
        body = rows[1:]
        if any(len(r) != width for r in body):
            body = [list(r[:width]) + [None] * (width - len(r)) for r in body]
        frame = pd.DataFrame(body, dtype=object) if body else pd.DataFrame(columns=range(width))
        frame.columns = pd.Index(header)
        out[name] = frame
    return out


def _function_rows(raw: RawWorkbook) -> dict[str, FrozenRows]:
    """The tables as the worksheet functions receive them: rows, header first."""
    return {name: freeze_rows(rows) for name, rows in raw.tables.items() if rows}


def _cached(value: object) -> float | bool | str | None:
    """A computed value as a formula's cached value (numbers, texts, error texts)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def _layout(raw: RawWorkbook) -> DashboardLayout:
    stages = raw.stages()
    return dashboard_layout(list(stages.activities), stages.won.activity)


def refresh_dashboard(
    package: Package,
    raw: RawWorkbook,
    *,
    as_of: date,
    currency: str,
    fiscal_start: int,
    model: Model | None = None,
) -> list[str]:
    """Write ``as_of`` into ``RefreshAsOf`` and the Dashboard's values; returns notes.

    ``model``: ``raw`` validated, when the caller has it (the worksheet functions then
    use it instead of validating the tables again). Nothing happens to a workbook
    without a Dashboard or without the ``RefreshAsOf`` name (a workbook made by an older
    version, or not by ``pipeline-xl new``): the notes say so.
    """
    names = {s.name for s in package.sheets()}
    if contract.DASHBOARD not in names:
        return []
    if not package.set_workbook_name(REFRESH_AS_OF, number_text(excel_serial(as_of))):
        note = (
            f"the {contract.DASHBOARD} has no {REFRESH_AS_OF} name (a workbook from an "
            "earlier version): its figures were left as they were"
        )
        return [note]
    layout = _layout(raw)
    inputs = cell_contents(
        package, contract.DASHBOARD, [*layout.period_cells.values(), layout.owner_cell]
    )
    typed = {
        kind: str(inputs[cell][1])
        for kind, cell in layout.period_cells.items()
        if inputs[cell][0] is None and inputs[cell][1] not in (None, "")
    }
    owner_value = inputs[layout.owner_cell][1]
    owner = "" if owner_value is None else str(owner_value).strip()
    try:
        values = dashboard_values(
            layout, tables_of(raw), as_of=as_of, periods=typed or None, owner=owner,
            rows=_function_rows(raw), model=model,
        )  # fmt: skip
    finally:
        forget_models()  # the tables' copies and models kept for the functions' calls
    formulas = {p.id: (p.cell, p.formula) for p in layout.pipes}
    formulas |= {n.id: (n.cell, n.formula) for n in layout.natives}
    edits = {
        cell: CellEdit(_cached(values.get(cell_id)), formula=formula)
        for cell_id, (cell, formula) in formulas.items()
    }
    shown_as_of = values.get("native.as_of.h")
    day = serial_date(shown_as_of) if isinstance(shown_as_of, float) else None
    edits[SUBTITLE_CELL] = CellEdit(
        subtitle_text(as_of=day or as_of, currency=currency, fiscal_start=fiscal_start),
        formula=SUBTITLE_FORMULA,
    )
    result = update_cells(package, contract.DASHBOARD, edits)
    notes: list[str] = []
    if day is not None and day != as_of:
        notes.append(
            f"the {contract.DASHBOARD} follows the Settings as-of date ({day}), not this "
            f"refresh's ({as_of}): clear the Settings as-of date to follow each refresh"
        )
    block = {cell for cell_id, (cell, _) in formulas.items() if cell_id.startswith("call.")}
    missing = {r for r in block if result.skipped.get(r) == "the cell is not in the sheet"}
    if missing == block and block:  # a Dashboard made before the forecast-call block
        notes.append(
            f"the {contract.DASHBOARD} has no forecast-call block (a workbook from an "
            "earlier version): build a new workbook to get it"
        )
    kept = sorted(set(result.skipped) - missing, key=lambda ref: (len(ref), ref))
    if kept:
        shown = ", ".join(kept[:6]) + (f" and {len(kept) - 6} more" if len(kept) > 6 else "")
        notes.append(f"{contract.DASHBOARD} cells left as they were (changed by hand): {shown}")
    return notes
