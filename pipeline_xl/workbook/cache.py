"""Values for the Dashboard's PIPE_* cells, computed by calling the worksheet functions.

`engine_values` calls each ``PIPE_*`` function of the ``udfs`` package the way Excel
would through xlwings: whole tables as lists of rows (header first; ``None`` for a blank
cell, ``datetime`` for a date, ``float`` for a number), a one-column range as a flat list,
single cells as their value. What comes back is stored with the formula, so the file shows
the engine's numbers before any recalculation.

The tables are handed over as `FrozenRows` (immutable rows, hashed once), the same
objects to every function, so the worksheet functions' model cache finds the validated
model without touching a cell again; a caller that validated the tables already hands
that model over (``model``), and the tables are then not validated here at all
(`pipeline_xl.udfs.convert.remember_model`).

A function that raises `InputError` gives the text its cell shows in Excel, ``PIPE_X:
message``. Any other exception propagates: a workbook whose cached values silently went
missing would show blanks where the engine failed, so such a build fails instead. A NaN
result stores no value; an infinite one stores ``#NUM!``.

The functions are called without their cell guard (`pipeline_xl.udfs.convert.guard`):
on Windows the guard turns every error into a COM exception for Excel, which would hide
the difference between the user's mistake and a bug; unguarded, an `InputError` stays
one and a bug keeps its own traceback.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.cells import parse_number
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.excel import serial_date
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import period_of
from pipeline_xl.udfs import functions
from pipeline_xl.udfs.convert import FrozenRows, remember_tables
from pipeline_xl.workbook.dashboard_spec import (
    HEADLINE_ID,
    Arg,
    DashboardLayout,
    PipeCell,
    headline_text,
)
from pipeline_xl.workbook.native import native_values

__all__ = [
    "PIPE_FUNCTIONS",
    "CachedValue",
    "dashboard_pipe_values",
    "dashboard_values",
    "engine_values",
    "excel_rows",
    "fill_headline",
    "function_rows",
]

CachedValue = float | str
PipeFunction = Callable[..., object]
PIPE_FUNCTIONS: Mapping[str, PipeFunction] = {
    name: inspect.unwrap(getattr(functions, name)) for name in functions.__all__
}
"""The worksheet functions by name (``PIPE_WON`` ...), without their cell guard."""
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


def _excel_column(series: pd.Series) -> list[object]:
    """`_excel_cell` of every value of a column (whole-column paths for plain dtypes)."""
    if pd.api.types.is_datetime64_any_dtype(series) and getattr(series.dt, "tz", None) is None:
        moments = series.dt.to_pydatetime().tolist()
        return [None if m is pd.NaT or m is None else m for m in moments]
    if pd.api.types.is_float_dtype(series) or (
        pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series)
    ):
        numbers = series.to_numpy(dtype="float64", na_value=math.nan).tolist()
        return [None if x != x else x for x in numbers]  # noqa: PLR0124 - NaN test
    return [(v or None) if type(v) is str else _excel_cell(v) for v in series.tolist()]


def excel_rows(frame: pd.DataFrame) -> list[list[object]]:
    """A table as xlwings hands a ``tbl[#All]`` range to a function: header row first."""
    return [list(r) for r in _frozen(frame)]


def _frozen(frame: pd.DataFrame) -> FrozenRows:
    header = tuple(str(c) for c in frame.columns)
    columns = [_excel_column(frame[c]) for c in frame.columns]
    return FrozenRows((header, *zip(*columns, strict=True)))


def function_rows(tables: Mapping[str, pd.DataFrame]) -> dict[str, FrozenRows]:
    """Each table as the worksheet functions receive it (`excel_rows`), frozen once."""
    return {sheet: _frozen(frame) for sheet, frame in tables.items()}


def _plain(ref: str) -> str:
    return ref.replace("$", "")


def _range_cells(ref: str) -> list[str]:
    first, _, last = _plain(ref).partition(":")
    m1, m2 = _CELL.match(first), _CELL.match(last or first)
    if m1 is None or m2 is None or m1[1] != m2[1]:
        raise ValueError(f"only one-column ranges are supported: {ref}")
    return [f"{m1[1]}{r}" for r in range(int(m1[2]), int(m2[2]) + 1)]


def _argument(arg: Arg, tables: Mapping[str, FrozenRows], cells: Mapping[str, object]) -> object:
    if arg.kind == "table":
        return tables.get(contract.table(arg.ref).sheet)  # a table left out: an empty argument
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
    functions: Mapping[str, PipeFunction] = PIPE_FUNCTIONS,
    rows: Mapping[str, FrozenRows] | None = None,
) -> dict[str, CachedValue]:
    """Cached values for the PIPE_* cells of ``layout``, keyed by cell id.

    Args:
        layout: the Dashboard layout.
        tables: the tables as written, keyed by sheet name.
        cells: values of the other Dashboard cells the formulas read, by plain address
            (``"B6"``, ``"B7"``, ``"A29"``, ``"H10"`` ...); blank cells may be left out.
            A PIPE_* cell's own value is known to the cells after it.
        functions: the worksheet functions by name (tests hand in their own).
        rows: the tables as the functions receive them, when the caller has them
            (default: `function_rows` of ``tables``).

    Raises:
        KeyError: a cell calls a function that ``functions`` lacks.

    """
    rows = function_rows(tables) if rows is None else rows
    out: dict[str, CachedValue] = {}
    cells = dict(cells)  # a function may read an earlier function's cell (in layout order)
    for cell in layout.pipes:
        function = functions[cell.function]
        args = [_argument(a, rows, cells) for a in cell.args]
        while args and args[-1] is None:
            args.pop()
        try:
            value = _result(cell, function(*args))
        except InputError as err:
            value = f"{cell.function}: {err}"
        if value is not None:
            out[cell.id] = value
        cells[cell.cell] = value
    return out


def dashboard_values(
    layout: DashboardLayout,
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: date,
    periods: Mapping[str, str] | None = None,
    owner: str = "",
    rows: Mapping[str, FrozenRows] | None = None,
    model: Model | None = None,
) -> dict[str, object]:
    """The cached value of every Dashboard formula (plain and PIPE_*), keyed by cell id.

    ``tables`` are the workbook's tables by sheet name; ``as_of`` is the ``RefreshAsOf``
    name (the build's or the refresh's as-of date); ``periods`` the period cells' values
    ("month", "quarter"; those not given: the periods of the as-of date); ``owner`` the owner
    cell. ``rows`` and ``model``: see `dashboard_pipe_values`. The builder stores these
    values; a refresh writes them into the file again.
    """
    labels = _labels(tables, as_of, periods)
    natives = native_values(layout, tables, labels, owner, refresh_as_of=as_of)
    pipes = dashboard_pipe_values(
        layout, tables, as_of=as_of, periods=labels, owner=owner, natives=natives, rows=rows,
        model=model,
    )  # fmt: skip
    out: dict[str, object] = {**natives, **pipes}
    fill_headline(out)
    return out


def fill_headline(values: dict[str, object]) -> None:
    """Set the headline's value from the figures it reads (`dashboard_spec.headline_text`)."""
    values[HEADLINE_ID] = headline_text(
        values.get("period.month"), values.get("forecast.month"), values.get("target.month"),
        values.get("gap.month"), values.get("hit_probability.month"),
    )  # fmt: skip


def dashboard_pipe_values(
    layout: DashboardLayout,
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: date,
    periods: Mapping[str, str] | None = None,
    owner: str = "",
    natives: Mapping[str, object] | None = None,
    rows: Mapping[str, FrozenRows] | None = None,
    model: Model | None = None,
) -> dict[str, CachedValue]:
    """The PIPE_* part of `dashboard_values` (the plain formulas they read computed too).

    ``rows``: the tables as the functions receive them (default: `function_rows` of
    ``tables``). ``model``: what those rows validate to, when the caller validated them
    already with the as-of date the Dashboard shows; the functions then use it.
    """
    labels = _labels(tables, as_of, periods)
    found = natives or native_values(layout, tables, labels, owner, refresh_as_of=as_of)
    cells: dict[str, object] = {t.cell: t.text for t in layout.texts}
    cells |= {n.cell: found.get(n.id) for n in layout.natives}
    cells |= {layout.period_cells[k]: v for k, v in labels.items()}
    cells[layout.owner_cell] = owner or None
    day = found.get("native.as_of.h")
    cells["AsOfDate"] = day if isinstance(day, float) else None
    given = function_rows(tables) if rows is None else rows
    _remember(model, given, serial_date(day) if isinstance(day, float) else None)
    return engine_values(layout, tables, cells, rows=given)


def _remember(model: Model | None, rows: Mapping[str, FrozenRows], day: date | None) -> None:
    """Validate the tables once for the calls with and without the Targets table.

    ``model`` is used when it was validated for ``day``; else the tables are validated
    here, once (`pipeline_xl.udfs.convert.remember_tables`).
    """
    if day is None or contract.PROSPECTS.sheet not in rows:
        return
    tables = (
        rows.get(t.sheet)
        for t in (
            contract.STAGES,
            contract.TARGETS,
            contract.ACTIVITIES,
            contract.SNAPSHOTS,
            contract.SETTINGS_TABLE,
        )
    )
    shown = None if model is None else model.settings.as_of
    given = model if shown == day and not isinstance(shown, datetime) else None
    remember_tables(rows[contract.PROSPECTS.sheet], *tables, as_of=day, model=given)


def _labels(
    tables: Mapping[str, pd.DataFrame], as_of: date, periods: Mapping[str, str] | None
) -> dict[str, str]:
    """The period cells' values: those given, else the periods of ``as_of``."""
    fiscal = _fiscal_start(tables)
    return {
        "month": period_of(as_of, "month", fiscal).label,
        "quarter": period_of(as_of, "quarter", fiscal).label,
        **(periods or {}),
    }


def _fiscal_start(tables: Mapping[str, pd.DataFrame]) -> int:
    """The Settings table's fiscal-year start month (1 when absent or unreadable)."""
    frame = tables.get(contract.SETTINGS_TABLE.sheet)
    if frame is None or frame.empty:
        return 1
    for label, value in zip(frame.iloc[:, 0].tolist(), frame.iloc[:, 1].tolist(), strict=True):
        setting = contract.setting_named(label) if isinstance(label, str) else None
        if setting is not None and setting.key == "fiscal_start_month":
            number = parse_number(value)
            if number is not None and number.is_integer() and 1 <= number <= 12:
                return int(number)
    return 1
