"""Conversions between what Excel passes to a worksheet function and the engine's values.

Excel (through xlwings) hands over a single cell as a scalar, a one-row or one-column
range as a flat list and a block as nested lists, with ``None`` for empty cells, floats
for numbers and ``datetime`` for date cells. Everything a PIPE_* function needs from such
values is done here, once, so each function body stays a few lines.

Tables are validated strictly: any row that validation would leave out becomes an error
in the cell, because a budget model must not silently lose a deal. A validated model is
kept in a small least-recently-used cache keyed on the table contents, so a sheet with
hundreds of PIPE_* cells over the same table validates it once.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.cells import parse_date
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model, Settings, Stages
from pipeline_xl.core.periods import Period, parse_period
from pipeline_xl.core.schema import match_headers, validate, validate_stages

__all__ = [
    "CACHE_SIZE",
    "as_number",
    "as_owner",
    "as_period",
    "as_rates",
    "as_rows",
    "frame_rows",
    "guard",
    "model_of",
    "stages_of",
]

log = logging.getLogger("pipeline_xl.udfs")

CACHE_SIZE = 16
P = ParamSpec("P")
R = TypeVar("R")


def _cell_error(message: str, fallback: Callable[[str], Exception]) -> Exception:
    """The exception to raise so Excel shows ``message`` as is (no traceback).

    On Windows the COM exception's description is what the cell shows; elsewhere (tests,
    plain Python) the ``fallback`` exception carries the same message.
    """
    try:
        from win32com.server.exception import COMException  # noqa: PLC0415 - Windows only
    except ImportError:
        return fallback(message)
    error: Exception = COMException(description=message)
    return error


def guard(func: Callable[P, R]) -> Callable[P, R]:
    """Turn errors into short cell messages: the user's own text, or a generic one.

    An `InputError` keeps its message; anything else is logged with its traceback and
    replaced by a generic text, so a cell never shows a traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InputError as err:
            raise _cell_error(f"{func.__name__}: {err}", InputError) from None
        except Exception as err:
            log.exception("%s failed", func.__name__)
            message = f"{func.__name__}: unexpected error (details in the pipeline-xl log)"
            raise _cell_error(message, RuntimeError) from err

    return wrapper


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_number(value: object, argument: str, *, default: float | None = None) -> float:
    """A cell as a finite number; an empty optional cell gives ``default``."""
    if _blank(value) and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{argument}: {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{argument}: {value!r} is not a finite number")
    return number


def _flatten(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        out: list[object] = []
        for item in value:
            out.extend(_flatten(item))
        return out
    return [value]


def as_rates(value: object, argument: str = "rates") -> list[float]:
    """A row, a column, a block or a single cell of conversion rates, empty cells skipped."""
    cells = [v for v in _flatten(value) if not _blank(v)]
    if not cells:
        raise InputError(f"{argument}: no conversion rates given")
    rates = []
    for cell in cells:
        if isinstance(cell, bool) or not isinstance(cell, int | float):
            raise InputError(f"{argument}: {cell!r} is not a rate between 0 and 1")
        rates.append(float(cell))
    return rates


def as_owner(value: object) -> str:
    """An owner cell: empty means the whole team."""
    if _blank(value):
        return ""
    return " ".join(str(value).split())


def as_period(value: object, argument: str = "period") -> Period:
    """A period cell: a label, a date, a serial number, or two cells [first day, last day].

    Labels are ``2026-03``, ``2026-Q1``, ``FY2027`` (January fiscal years).
    """
    if isinstance(value, list | tuple):
        cells = [v for v in _flatten(value) if not _blank(v)]
        if len(cells) == 1:
            return as_period(cells[0], argument)
        if len(cells) != 2:
            raise InputError(f"{argument}: give one period or two dates (first and last day)")
        first, last = (_as_date(c, argument) for c in cells)
        if last < first:
            raise InputError(f"{argument}: the last day {last} is before the first day {first}")
        return Period(first, last + timedelta(days=1), "month")
    if _blank(value):
        raise InputError(f"{argument}: no period given (for example 2026-Q1 or 2026-03)")
    try:
        return parse_period(value)
    except InputError as err:
        raise InputError(f"{argument}: {err}") from None


def _as_date(value: object, argument: str) -> date:
    day = parse_date(value)
    if day is None:
        raise InputError(f"{argument}: {value!r} is not a date")
    return day


def as_rows(value: object, argument: str) -> list[list[object]]:
    """A range as rows of cells (a single row or cell becomes one row)."""
    if isinstance(value, list | tuple):
        # Excel passes rectangular ranges: the first row tells whether rows are nested.
        if value and isinstance(value[0], list | tuple):
            return [r if isinstance(r, list) else list(r) for r in value]
        return [list(value)]
    if value is None:
        raise InputError(f"{argument}: the range is empty")
    return [[value]]


def _freeze(rows: list[list[object]]) -> tuple[tuple[object, ...], ...]:
    return tuple(map(tuple, rows))


def _with_header(value: object, argument: str) -> list[list[object]]:
    rows = as_rows(value, argument)
    table = contract.table(argument)
    found = match_headers([("" if c is None else str(c)) for c in rows[0]], table)
    if len(found) < 2:
        raise InputError(
            f"{argument}: the first row is not a header row; pass the whole table with its "
            f"headers, for example {table.all_ref}"
        )
    return rows


def _latest_date(rows: Sequence[Sequence[object]]) -> date:
    """The as-of date of a table: its latest created / closed / last-activity date."""
    header = [("" if c is None else str(c)) for c in rows[0]]
    found = match_headers(header, contract.PROSPECTS)
    latest: date | None = None
    for field in ("created", "closed", "last_activity"):
        column = found.get(field)
        if column is None:
            continue
        for row in rows[1:]:
            cell = row[column] if column < len(row) else None
            day = parse_date(cell) if cell is not None else None
            if day is not None and (latest is None or day > latest):
                latest = day
    if latest is None:
        raise InputError(
            "prospects: no Created, Closed or Last activity date to date the table; "
            "add those columns to the table"
        )
    return latest


def _refuse_errors(issues: pd.DataFrame) -> None:
    """Raise the first row error: a worksheet function never drops a row silently."""
    errors = issues.loc[issues["severity"] == "error"] if len(issues) else issues
    if len(errors):
        first = errors.iloc[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        sheet = str(first["sheet"]).lower()
        raise InputError(
            f"{sheet} row {first['row']}, {first['column']}: {first['problem']} "
            f"({first['value']!r}){more}"
        )


class _Cache:
    """Least-recently-used models keyed on the exact table contents (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[object, Model] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, build: Callable[[], Model]) -> Model:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        model = build()
        with self._lock:
            self._items[key] = model
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return model

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_models = _Cache(CACHE_SIZE)


def model_of(prospects: object, stages: object = None, targets: object = None) -> Model:
    """Validated model of the tables passed to a function (cached on their contents).

    The as-of date is the latest Created / Closed / Last activity date in the prospects
    table, so the result depends only on the arguments.
    """
    p_rows = _with_header(prospects, "prospects")
    s_rows = _with_header(stages, "stages") if not _blank_range(stages) else None
    t_rows = _with_header(targets, "targets") if not _blank_range(targets) else None
    key = (_freeze(p_rows), s_rows and _freeze(s_rows), t_rows and _freeze(t_rows))

    def build() -> Model:
        as_of = _latest_date(p_rows)
        settings = Settings(as_of=as_of)
        model = validate(p_rows, s_rows, t_rows, settings=settings, as_of=as_of)
        _refuse_errors(model.issues)
        return model

    return _models.get(key, build)


def _blank_range(value: object) -> bool:
    return all(_blank(v) for v in _flatten(value))


def stages_of(value: object) -> Stages:
    """The Stages table passed to a function, validated (any row error is the cell's error)."""
    rows = _with_header(value, "stages")
    stages, issues = validate_stages(rows)
    _refuse_errors(issues)
    return stages


def frame_rows(frame: pd.DataFrame, header: Sequence[str]) -> list[list[Any]]:
    """A result table as rows for Excel to spill, header first; NaN becomes empty."""
    body = frame.astype(object).where(frame.notna(), None).values.tolist()
    return [list(header), *body]
