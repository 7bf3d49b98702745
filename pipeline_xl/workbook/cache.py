"""Values for the Dashboard's PIPE_* cells, computed by calling the worksheet functions.

`engine_values` calls each ``PIPE_*`` function of the ``udfs`` package the way Excel
would through xlwings: whole tables as lists of rows (header first; ``None`` for a blank
cell, ``datetime`` for a date, ``float`` for a number), a one-column range as a flat list,
single cells as their value. What comes back is stored with the formula, so the file shows
the engine's numbers before any recalculation.

A function that is missing gives no value; a function that raises `InputError` gives its
message (what the cell would show); any other failure is logged and gives no value, since
a workbook must still be written when one figure cannot be computed.
"""

from __future__ import annotations

import importlib
import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import ModuleType

import pandas as pd

from pipeline_xl.core.errors import InputError
from pipeline_xl.workbook.spec import Arg, DashboardLayout, PipeCell

__all__ = ["CachedValue", "engine_values", "excel_rows"]

log = logging.getLogger(__name__)
CachedValue = float | str
_TABLE_SHEETS = {
    "tblProspects": "Prospects",
    "tblStages": "Stages",
    "tblTargets": "Targets",
    "tblActivities": "Activities",
    "tblSnapshots": "Snapshots",
    "tblSettings": "Settings",
}
_CELL = re.compile(r"^\$?([A-Z]+)\$?(\d+)$")


def _excel_cell(value: object) -> object:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, bool | str | datetime):
        return value or None if isinstance(value, str) else value
    try:
        number = float(value)  # type: ignore[arg-type]  # numpy scalars and ints
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else number


def excel_rows(frame: pd.DataFrame) -> list[list[object]]:
    """A table as xlwings hands a ``tbl[#All]`` range to a function: header row first."""
    rows: list[list[object]] = [[str(c) for c in frame.columns]]
    columns = [[_excel_cell(v) for v in frame[c].tolist()] for c in frame.columns]
    rows += [list(r) for r in zip(*columns, strict=True)]
    return rows


def _plain(ref: str) -> str:
    return ref.replace("$", "")


def _range_cells(ref: str) -> list[str]:
    first, _, last = _plain(ref).partition(":")
    m1, m2 = _CELL.match(first), _CELL.match(last or first)
    if m1 is None or m2 is None or m1[1] != m2[1]:
        raise ValueError(f"only one-column ranges are supported: {ref}")
    return [f"{m1[1]}{r}" for r in range(int(m1[2]), int(m2[2]) + 1)]


def _argument(
    arg: Arg, tables: Mapping[str, list[list[object]]], cells: Mapping[str, object]
) -> object:
    if arg.kind == "table":
        return tables[arg.ref]
    if arg.kind == "text":
        return arg.ref
    if arg.kind == "omit":
        return None
    if arg.kind == "range":
        return [cells.get(c) for c in _range_cells(arg.ref)]
    return cells.get(_plain(arg.ref))


def _number_or_text(value: object) -> float | str | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number):
            return None
        return number if math.isfinite(number) else "#NUM!"
    if isinstance(value, str):
        return value
    return None


def _result(cell: PipeCell, value: object) -> CachedValue | None:
    if cell.pick:
        flat: list[object] = []
        if isinstance(value, Sequence) and not isinstance(value, str):
            for item in value:
                if isinstance(item, Sequence) and not isinstance(item, str):
                    flat.extend(item)
                else:
                    flat.append(item)
        return _number_or_text(flat[cell.pick - 1]) if len(flat) >= cell.pick else None
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = value[0] if value else None
        if isinstance(value, Sequence) and not isinstance(value, str):
            value = value[0] if value else None
    return _number_or_text(value)


def engine_values(
    layout: DashboardLayout,
    tables: Mapping[str, pd.DataFrame],
    cells: Mapping[str, object],
    *,
    module: str | ModuleType = "pipeline_xl.udfs",
) -> dict[str, CachedValue]:
    """Cached values for the PIPE_* cells of ``layout``, keyed by cell id.

    Args:
        layout: the Dashboard layout.
        tables: the tables as written, keyed by sheet name.
        cells: values of the other Dashboard cells the formulas read, by plain address
            (``"B6"``, ``"B7"``, ``"A29"``, ``"H10"`` ...); blank cells may be left out.
        module: the module (or its name) that defines the PIPE_* functions.

    """
    try:
        mod = importlib.import_module(module) if isinstance(module, str) else module
    except ImportError:
        return {}
    rows = {
        name: excel_rows(tables[sheet]) for name, sheet in _TABLE_SHEETS.items() if sheet in tables
    }
    out: dict[str, CachedValue] = {}
    for cell in layout.pipes:
        function = getattr(mod, cell.function, None)
        if not callable(function):
            continue
        try:
            args = [_argument(a, rows, cells) for a in cell.args]
            while args and args[-1] is None:
                args.pop()
            value = _result(cell, function(*args))
        except InputError as err:
            value = str(err)
        except Exception:  # one failing figure must not stop the build
            log.warning("could not compute %s for %s", cell.function, cell.id, exc_info=True)
            continue
        if value is not None:
            out[cell.id] = value
    return out
