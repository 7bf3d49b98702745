"""The Dashboard's plain Excel formulas evaluated in Python, for the values stored with them.

A workbook written by xlsxwriter holds, for each formula, the value a reader shows before
any recalculation (previews, Protected View, python-calamine, LibreOffice for ordinary
formulas). `native_values` gives those values for the native cells of
`dashboard_spec.dashboard_layout`, following the formulas' own rules cell by cell: text compares
ignore case, ``SUMIFS``/``AVERAGEIFS`` skip cells that are not numbers, an element that
errors inside ``IFERROR`` counts as 0, and ``ROUNDUP(ROUND(x, 9), 0)`` gives the counts.
Excel (and LibreOffice after a recalculation) computes the same numbers; a test checks it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import reduce

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.contract import PROSPECTS, SETTINGS_TABLE, STAGES, TARGETS
from pipeline_xl.core.excel import EPOCH_1900, FIRST_SERIAL, excel_serial
from pipeline_xl.udfs.values import DIV0, NA, VALUE
from pipeline_xl.workbook.dashboard_spec import (
    HEADLINE_ID,
    NO_FORECAST_YET,
    OMITTED,
    OPEN,
    WON,
    DashboardLayout,
    setting_label,
)

__all__ = [
    "excel_round_up_count",
    "excel_value",
    "native_values",
    "period_end",
    "period_start",
    "serial",
]

Cell = float | str | bool | None


Result = float | str


def serial(day: date) -> float:
    """Excel serial number of a date (1900 date system); a time of day is dropped."""
    if isinstance(day, datetime):
        day = day.date()
    return excel_serial(day)


def _from_serial(number: float) -> date:
    return EPOCH_1900 + timedelta(days=math.floor(number))


def excel_value(value: object) -> Cell:
    """The cell value Excel holds for what the builder writes (dates become serials)."""
    out: Cell
    if value is None or value is pd.NaT or isinstance(value, bool):
        out = value if isinstance(value, bool) else None
    elif isinstance(value, pd.Timestamp | datetime | date):
        out = serial(value)
    elif isinstance(value, str):
        out = value or None
    else:
        try:
            number = float(value)  # type: ignore[arg-type]  # numpy scalars and ints
        except (TypeError, ValueError):
            return str(value) or None
        out = None if math.isnan(number) else number
    return out


# The columns read during one `native_values` call, each converted once: (frame, header).
_READ: ContextVar[dict[tuple[int, str], list[Cell]] | None] = ContextVar("_READ", default=None)


def _column(frame: pd.DataFrame | None, header: str) -> list[Cell]:
    if frame is None or header not in frame.columns:
        return []
    read = _READ.get()
    key = (id(frame), header)  # the frames outlive the call that reads them
    if read is not None and key in read:
        return read[key]
    series = frame[header]
    typed = _typed_column(series)
    if typed is not None:
        if read is not None:
            read[key] = typed
        return typed
    out: list[Cell] = []
    append = out.append
    for v in series.tolist():
        kind = type(v)
        if kind is float:
            append(None if v != v else v)  # noqa: PLR0124 - NaN test in a hot loop
        elif kind is str:
            append(v or None)
        elif kind is date:
            append(excel_serial(v))  # what `serial` gives, without its checks
        else:
            append(excel_value(v))
    if read is not None:
        read[key] = out
    return out


@dataclass(frozen=True)
class _Vector:
    """A column as arrays, for the conditions of ``SUMIFS`` over a large table.

    ``number``: the number cells (NaN elsewhere); ``folded``: text cells casefolded, ""
    for a blank, None for a number or a boolean (so ``folded == text.casefold()`` is
    `_eq` cell by cell); ``text``: whether the cell is text or a boolean.
    """

    number: npt.NDArray[np.float64]
    is_number: npt.NDArray[np.bool_]
    folded: npt.NDArray[np.object_]
    text: npt.NDArray[np.bool_]

    def eq(self, text: str) -> npt.NDArray[np.bool_]:
        """`_eq` of every cell with ``text``."""
        found: npt.NDArray[np.bool_] = self.folded == text.casefold()
        return found


def _vector(frame: pd.DataFrame | None, header: str) -> _Vector:
    cells = _column(frame, header)
    read = _VECTORS.get()
    key = (id(frame), header)
    if read is not None and key in read:
        return read[key]
    n = len(cells)
    is_number = np.fromiter((isinstance(c, float) for c in cells), dtype=bool, count=n)
    number = np.fromiter(
        (c if isinstance(c, float) else math.nan for c in cells), dtype="float64", count=n
    )
    folded = np.empty(n, dtype=object)
    folded[:] = [c.casefold() if isinstance(c, str) else ("" if c is None else None) for c in cells]
    text = np.fromiter((isinstance(c, str | bool) for c in cells), dtype=bool, count=n)
    out = _Vector(number, is_number, folded, text)
    if read is not None:
        read[key] = out
    return out


_VECTORS: ContextVar[dict[tuple[int, str], _Vector] | None] = ContextVar("_VECTORS", default=None)


def _running_sum(values: npt.NDArray[np.float64]) -> float:
    """``out = 0.0; out += v`` over ``values`` in order (a formula's left-to-right sum)."""
    return float(reduce(operator.add, values.tolist(), 0.0))


def _typed_column(series: pd.Series) -> list[Cell] | None:
    """`excel_value` of a date or number column, a whole column at a time (None: other)."""
    if pd.api.types.is_datetime64_any_dtype(series) and getattr(series.dt, "tz", None) is None:
        days = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")  # no time
        counts = (days - np.datetime64(EPOCH_1900, "D")).astype("int64").astype("float64")
        numbers = np.where(np.isnat(days), math.nan, counts)
        early = numbers < FIRST_SERIAL  # Excel's 29 February 1900: one less before it
        numbers = np.where(early, numbers - 1, numbers)
    elif pd.api.types.is_float_dtype(series) or (
        pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series)
    ):
        numbers = series.to_numpy(dtype="float64", na_value=math.nan)
    else:
        return None
    return [None if x != x else x for x in numbers.tolist()]  # noqa: PLR0124 - NaN test


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.15g}"
    return value


def _eq(value: Cell, text: str) -> bool:
    """Excel's ``cell = "text"``: case-insensitive, a blank equals ""."""
    if value is None:
        return text == ""
    return isinstance(value, str) and value.casefold() == text.casefold()


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _date(year: float, month: float, day: float = 1) -> float:
    y, m = int(year), int(month)
    y += (m - 1) // 12
    m = (m - 1) % 12 + 1
    return serial(date(y, m, 1)) + int(day) - 1


def period_start(value: Cell, fiscal_start: Cell) -> Result:
    """``dashboard_spec.period_start_expr`` evaluated on one value."""
    if isinstance(value, float):
        d = _from_serial(value)
        return _date(d.year, d.month)
    if not isinstance(value, str):
        return VALUE
    upper = value.upper()
    quarter = _number(value[-1:])
    if "Q" not in upper:
        year, month = _number(value[:4]), _number(value[5:7])
    elif upper.startswith("FY"):
        fiscal_year = _number(value[2:6])
        if fiscal_year is None or quarter is None or not isinstance(fiscal_start, float):
            return VALUE
        year, month = fiscal_year - (fiscal_start > 1), fiscal_start + 3 * (quarter - 1)
    else:
        year = _number(value[:4])
        month = 3 * quarter - 2 if quarter is not None else None
    if year is None or month is None:
        return VALUE
    return _date(year, month)


def period_end(start: Result, label: Cell) -> Result:
    """First day after the period (one month, or three for a quarter label)."""
    if not isinstance(start, float):
        return start
    d = _from_serial(start)
    months = 3 if "Q" in _text(label).upper() else 1
    return _date(d.year, d.month + months)


def excel_round_up_count(numerator: Result, denominator: Result) -> Result:
    """``ROUNDUP(ROUND(numerator / denominator, 9), 0)``."""
    if isinstance(numerator, str):
        return numerator
    if isinstance(denominator, str):
        return denominator
    if denominator == 0:
        return DIV0
    ratio = numerator / denominator
    if not math.isfinite(ratio):
        return VALUE
    try:
        rounded = Decimal(repr(ratio)).quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return VALUE
    whole = math.ceil(rounded) if rounded >= 0 else math.floor(rounded)
    return float(whole)


@dataclass(frozen=True)
class _Tables:
    prospects: pd.DataFrame | None
    stages: pd.DataFrame | None
    targets: pd.DataFrame | None
    settings: pd.DataFrame | None


def _setting(settings: pd.DataFrame | None, name: str) -> Cell:
    names = _column(settings, SETTINGS_TABLE.header("setting"))
    values = _column(settings, SETTINGS_TABLE.header("value"))
    for key, value in zip(names, values, strict=False):
        if _eq(key, name):
            return 0.0 if value is None else value
    return NA


@dataclass(frozen=True)
class _Window:
    start: Result
    end: Result
    as_of: Cell
    owner: str


def _target(t: _Tables, w: _Window, fiscal_start: Cell) -> Result:
    if isinstance(w.start, str) or isinstance(w.end, str):
        return w.start if isinstance(w.start, str) else w.end
    periods = _column(t.targets, TARGETS.header("period"))
    owners = _column(t.targets, TARGETS.header("owner"))
    revenue = _column(t.targets, TARGETS.header("revenue"))
    in_window: list[bool] = []
    amounts: list[float | None] = []
    for p, r in zip(periods, revenue, strict=False):
        start = period_start(p, fiscal_start)
        in_window.append(isinstance(start, float) and w.start <= start < w.end)
        amounts.append(None if isinstance(r, str | bool) else (r or 0.0))

    def total(mask: Callable[[int], bool]) -> float:
        out = 0.0
        for i, ok in enumerate(in_window):
            amount = amounts[i]
            if ok and mask(i) and amount is not None:
                out += amount
        return out

    if w.owner:
        return total(lambda i: _eq(owners[i], w.owner))
    team = [i for i, ok in enumerate(in_window) if ok and _eq(owners[i], "")]
    if team:
        return total(lambda i: _eq(owners[i], ""))
    return total(lambda i: True)


def _won(t: _Tables, w: _Window) -> Result:
    if isinstance(w.start, str) or isinstance(w.end, str):
        return w.start if isinstance(w.start, str) else w.end
    if not isinstance(w.as_of, float):
        return NA
    amount = _vector(t.prospects, PROSPECTS.header("amount"))
    closed = _vector(t.prospects, PROSPECTS.header("closed")).number
    keep = amount.is_number & _vector(t.prospects, PROSPECTS.header("status")).eq(WON)
    keep &= (w.start <= closed) & (closed < w.end) & (closed <= w.as_of)  # NaN: False
    if w.owner:
        keep &= _vector(t.prospects, PROSPECTS.header("owner")).eq(w.owner)
    return _running_sum(amount.number[keep])


def _stage_probabilities(t: _Tables) -> dict[str, float]:
    """``SUMIFS(tblStages[Probability], tblStages[Stage], stage)`` for every stage name."""
    out: dict[str, float] = {}
    for name, prob in zip(
        _column(t.stages, STAGES.header("stage")),
        _column(t.stages, STAGES.header("probability")),
        strict=False,
    ):
        if isinstance(prob, float):
            key = _text(name).casefold()
            out[key] = out.get(key, 0.0) + prob
    return out


def _weighted(t: _Tables, w: _Window) -> Result:
    if isinstance(w.start, str) or isinstance(w.end, str):
        return w.start if isinstance(w.start, str) else w.end
    if not isinstance(w.as_of, float):
        return NA

    def col(field: str) -> _Vector:
        return _vector(t.prospects, PROSPECTS.header(field))

    amount, expected = col("amount"), col("expected_close")
    keep = col("status").eq(OPEN) & ~col("category").eq(OMITTED) & expected.is_number
    if w.owner:
        keep &= col("owner").eq(w.owner)
    landing = np.maximum(expected.number, w.as_of)
    keep &= (w.start <= landing) & (landing < w.end) & ~amount.text
    rows = np.flatnonzero(keep)
    stage_probability = _stage_probabilities(t)
    probs = _column(t.prospects, PROSPECTS.header("probability"))
    stages = _column(t.prospects, PROSPECTS.header("stage"))
    chances = []
    for i in rows.tolist():
        prob, stage = probs[i], stages[i]
        if isinstance(prob, float):
            chances.append(prob)
        else:
            p = stage_probability.get(_text(stage).casefold(), 0.0)
            chances.append(0.0 if stage is None else p)
    amounts = amount.number[rows]
    amounts = np.where(np.isnan(amounts), 0.0, amounts)  # a blank amount counts 0
    return _running_sum(amounts * np.array(chances, dtype="float64"))


def _average_won(t: _Tables, as_of: Cell, owner: str) -> Result:
    if not isinstance(as_of, float):
        return NA
    amount = _vector(t.prospects, PROSPECTS.header("amount"))
    status = _vector(t.prospects, PROSPECTS.header("status"))
    closed = _vector(t.prospects, PROSPECTS.header("closed")).number

    def mean(keep: npt.NDArray[np.bool_]) -> Result:
        picked = amount.number[keep & amount.is_number].tolist()
        return sum(picked) / len(picked) if picked else DIV0

    won = status.eq(WON) & (closed <= as_of)  # NaN: False
    team = mean(won)
    result = team
    if owner:
        mine = mean(won & _vector(t.prospects, PROSPECTS.header("owner")).eq(owner))
        result = mine if isinstance(mine, float) else team
    if isinstance(result, str):
        result = mean(status.eq(OPEN))
    return result


def _minus(a: Result, *others: Result) -> Result:
    for x in (a, *others):
        if isinstance(x, str):
            return x
    assert isinstance(a, float)  # noqa: S101 - narrowed by the loop above
    return a - sum(float(x) for x in others)


def native_values(
    layout: DashboardLayout,
    tables: Mapping[str, pd.DataFrame],
    periods: Mapping[str, Cell],
    owner: str = "",
    *,
    refresh_as_of: date,
) -> dict[str, Result]:
    """Value of every native Dashboard cell, keyed by cell id.

    ``tables`` are the tables as written (spec headers; the Settings table gives the
    as-of date and fiscal start, as the workbook's names do); ``periods`` maps "month" and
    "quarter" to the period cells' values; ``owner`` is the owner cell ("" = team);
    ``refresh_as_of`` is the ``RefreshAsOf`` name, which ``AsOfDate`` falls back on when
    the Settings as-of date is blank.
    """
    token, vectors = _READ.set({}), _VECTORS.set({})
    try:
        return _native_values(layout, tables, periods, owner, refresh_as_of=refresh_as_of)
    finally:
        _VECTORS.reset(vectors)
        _READ.reset(token)


def _native_values(
    layout: DashboardLayout,
    tables: Mapping[str, pd.DataFrame],
    periods: Mapping[str, Cell],
    owner: str,
    *,
    refresh_as_of: date,
) -> dict[str, Result]:
    t = _Tables(
        *(tables.get(table.sheet) for table in (PROSPECTS, STAGES, TARGETS, SETTINGS_TABLE))
    )
    typed = _setting(t.settings, setting_label("as_of"))
    as_of: Cell = typed if isinstance(typed, float) and typed else serial(refresh_as_of)
    fiscal = _setting(t.settings, setting_label("fiscal_start_month"))
    out: dict[str, Result] = {}
    stages_activity = _column(t.stages, STAGES.header("activity"))
    stages_name = _column(t.stages, STAGES.header("stage"))
    stages_conv = _column(t.stages, STAGES.header("conversion"))
    n_open = len(layout.plan_rows) - 1
    for kind, col in (("month", "h"), ("quarter", "i")):
        label = periods.get(kind)
        start = period_start(label, fiscal)
        w = _Window(start, period_end(start, label), as_of, owner)
        target = _target(t, w, fiscal)
        won = _won(t, w)
        weighted = _weighted(t, w)
        avg = _average_won(t, as_of, owner)
        gap = _minus(target, won, weighted)
        if isinstance(gap, float):
            gap = max(0.0, gap)
        as_of_out: Result = as_of if isinstance(as_of, float | str) else 0.0
        out |= {
            f"native.period.{col}": label if isinstance(label, float | str) else 0.0,
            f"native.start.{col}": start,
            f"native.end.{col}": w.end,
            f"native.as_of.{col}": as_of_out,
            f"native.target.{col}": target,
            f"native.won.{col}": won,
            f"native.weighted.{col}": weighted,
            f"native.avg_deal.{col}": avg,
            f"native.gap.{col}": gap,
            f"target.{kind}": target,
            f"period.{kind}": label if isinstance(label, float | str) else 0.0,
        }
        count: Result = excel_round_up_count(gap, avg)
        out[f"native.required.{n_open}.{col}"] = count
        for k in range(n_open - 1, -1, -1):
            rate = stages_conv[k] if k < len(stages_conv) else None
            rate_value: Result = 0.0 if rate is None or isinstance(rate, bool) else rate
            count = excel_round_up_count(count, rate_value)
            out[f"native.required.{k}.{col}"] = count
    for k in range(n_open + 1):
        activity = _text(stages_activity[k]) if k < len(stages_activity) else ""
        if k == n_open:
            out[f"native.label.{k}"] = f"Deals won ({activity})"
            continue
        name = _text(stages_name[k]) if k < len(stages_name) else ""
        out[f"native.label.{k}"] = f"{activity} ({name})"
        rate = stages_conv[k] if k < len(stages_conv) else None
        out[f"native.rate.{k}"] = rate if isinstance(rate, float | str) else 0.0
    for native in layout.natives:
        if native.alias:  # a cell shown as it is elsewhere: its value
            out[native.id] = out.get(native.alias, 0.0)
    # The headline reads PIPE_* cells: without their values (a spreadsheet without the
    # add-in) it asks for a refresh; `pipeline_xl.workbook.cache` fills it in with them.
    out[HEADLINE_ID] = NO_FORECAST_YET
    return out
