"""The tables as the ready workbook will hold them, prepared from what the caller gives.

The caller hands raw tables keyed by sheet name with whatever headers it has. Each is
aligned to its contract table (`align`): headers are matched the way validation matches
them (`pipeline_xl.core.schema.match_headers`: case, spaces, accents, English and French
synonyms), the contract's columns come first in contract order (blank when missing) and
the caller's other columns are kept after them. So a workbook that validation can read
is rebuilt without losing a column, whatever its headers were.

Stages (`stage_process`): each stage's status is `contract.stage_status` (the Status
cell when it names one, else the stage name: Won, Gagné, Signée ... are won; Lost,
Perdue ... are lost). A blank Status cell is written with that status's label, so the
table states what the builder and the validator take it to mean. Open stages are
written first (in the given order), then won, then lost, because the Dashboard's plain
formulas read the k-th open stage as the k-th row. A process without an open or a won
stage is refused.

Settings (`settings_frame`): the written settings (`spec.SETTINGS_ROWS`) in contract
order with the build's as-of date, fiscal start and currency, the given values of the
other written settings (any label the contract accepts for them) and the engine's
defaults for the rest; then the given rows that name no written setting, as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.contract import OWNERS, SETTINGS_TABLE, STAGES
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Settings, Stages, default_stages
from pipeline_xl.core.periods import period_of
from pipeline_xl.core.schema import match_headers
from pipeline_xl.workbook.dashboard_spec import DashboardLayout, dashboard_layout
from pipeline_xl.workbook.native import excel_value
from pipeline_xl.workbook.spec import (
    GRANULARITY_LIST,
    SETTINGS_ROWS,
    TABLES,
    Column,
    Kind,
    SettingRow,
    TableSpec,
    table_by_name,
)

__all__ = [
    "Prepared",
    "align",
    "dashboard_periods",
    "empty_tables",
    "owner_names",
    "prepare",
    "settings_frame",
    "stage_process",
    "stages_frame",
]

_STATUS_ORDER: dict[contract.StatusWord, int] = {"open": 0, "won": 1, "lost": 2}
_FIXED_SETTINGS = frozenset({"as_of", "fiscal_start_month", "currency"})


def _blank(value: object) -> bool:
    return excel_value(value) is None or (isinstance(value, str) and not value.strip())


def align(frame: pd.DataFrame | None, spec: TableSpec) -> tuple[pd.DataFrame, tuple[Column, ...]]:
    """The spec's columns in order (blank when missing), then the frame's other columns."""
    if frame is None:
        frame = pd.DataFrame()
    n = len(frame)
    found = match_headers(list(frame.columns), spec.table)
    data: dict[str, pd.Series] = {}
    used: set[int] = set()
    for column in spec.columns:
        pos = found.get(column.field) if column.field is not None else None
        if pos is None:
            data[column.header] = pd.Series([None] * n, index=frame.index, dtype=object)
        else:
            used.add(pos)
            data[column.header] = frame.iloc[:, pos]
    extra: list[Column] = []
    for pos, col in enumerate(frame.columns):
        if pos in used or str(col) in data:
            continue
        series = frame.iloc[:, pos]
        kind: Kind = "text"
        if pd.api.types.is_datetime64_any_dtype(series):
            kind = "date"
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            kind = "number"
        data[str(col)] = series
        extra.append(Column(str(col), kind))
    out = pd.DataFrame(data, index=frame.index).reset_index(drop=True)
    return out, (*spec.columns, *extra)


def stage_process(stages: pd.DataFrame) -> tuple[pd.DataFrame, list[str], str]:
    """Stages ordered open first (as given), then won, then lost; open activities; won's.

    ``stages`` has the contract's Stages headers (as `align` gives them). Blank Status
    cells are filled with each stage's status (module docstring).

    Raises:
        InputError: no open stage or no won stage.

    """
    name, status, activity = (STAGES.header(f) for f in ("stage", "status", "activity"))
    given = stages[status].tolist()
    words = [
        contract.stage_status(s, t)
        for s, t in zip(stages[name].tolist(), given, strict=True)
    ]  # fmt: skip
    filled = [
        contract.STATUS_LABELS[w] if _blank(t) else t for w, t in zip(words, given, strict=True)
    ]
    stated = stages.assign(**{status: pd.Series(filled, index=stages.index, dtype=object)})
    rank = pd.Series([_STATUS_ORDER[w] for w in words], index=stages.index)
    ordered = stated.loc[rank.sort_values(kind="stable").index].reset_index(drop=True)
    opened = [i for i, w in enumerate(words) if w == "open"]
    won = [i for i, w in enumerate(words) if w == "won"]
    if not opened or not won:
        raise InputError(
            f"the {STAGES.sheet} table needs open stages and a "
            f"{contract.STATUS_LABELS['won']} stage",
            sheet=STAGES.sheet,
            expected="stages such as Lead, Qualified, Proposal, then Won and Lost",
        )

    def text(i: int) -> str:
        value = stages[activity].iloc[i]
        return value if isinstance(value, str) else ""

    return ordered, [text(i) for i in opened], text(won[0])


def stages_frame(stages: Stages) -> pd.DataFrame:
    """A Stages table holding ``stages`` (closing stages have no conversion or days)."""
    closing = [s.status != "open" for s in stages.all]
    both = list(zip(stages.all, closing, strict=True))
    columns: dict[str, list[object]] = {
        "stage": [s.name for s in stages.all],
        "activity": [s.activity or None for s in stages.all],
        "probability": [s.probability for s in stages.all],
        "conversion": [None if c else s.conversion for s, c in both],
        "days_to_close": [None if c else s.days_to_close for s, c in both],
        "status": [contract.STATUS_LABELS[s.status] for s in stages.all],
    }
    return pd.DataFrame({STAGES.header(f): v for f, v in columns.items()})


def _default_value(row: SettingRow, defaults: Settings) -> object:
    """The value a new workbook holds for a setting: the engine's default, as a cell."""
    value: object = getattr(defaults, row.setting.key)
    kind = row.setting.kind
    if kind == "date" and isinstance(value, date):
        return pd.Timestamp(value)
    if kind == "int" and isinstance(value, int):
        return float(value)
    if kind == "granularity":
        return next(w for w in GRANULARITY_LIST if contract.granularity_word(w) == value)
    return value


def settings_frame(
    given: pd.DataFrame | None,
    *,
    as_of: date,
    fiscal_start: int,
    currency: str,
    pin_as_of: bool = True,
) -> pd.DataFrame:
    """Known settings in contract order (the build arguments win), then the other given rows.

    The as-of date is written only with ``pin_as_of``: a blank as-of date means the day
    of each refresh.
    """
    defaults = Settings(as_of=as_of, fiscal_start_month=fiscal_start, currency=currency)
    values = {row.setting.key: _default_value(row, defaults) for row in SETTINGS_ROWS}
    if not pin_as_of:
        values["as_of"] = None
    others: list[tuple[object, object]] = []
    if given is not None and len(given.columns) >= 2:
        found = match_headers(list(given.columns), SETTINGS_TABLE)
        names = given.iloc[:, found.get("setting", 0)].tolist()
        given_values = given.iloc[:, found.get("value", 1)].tolist()
        for name, value in zip(names, given_values, strict=True):
            setting = contract.setting_named(name) if isinstance(name, str) else None
            if setting is None or setting.key not in values:
                if excel_value(name) is not None:
                    others.append((name, value))
            elif setting.key not in _FIXED_SETTINGS:
                values[setting.key] = value
    rows = [(row.label, values[row.setting.key]) for row in SETTINGS_ROWS] + others
    return pd.DataFrame(
        {
            SETTINGS_TABLE.header("setting"): [r[0] for r in rows],
            SETTINGS_TABLE.header("value"): pd.Series([r[1] for r in rows], dtype=object),
        }
    )


def owner_names(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The owner list: every owner named in Prospects, Targets and Activities, sorted."""
    seen: dict[str, str] = {}
    for table in (contract.PROSPECTS, contract.TARGETS, contract.ACTIVITIES):
        frame = tables.get(table.sheet)
        if frame is None:
            continue
        pos = match_headers(list(frame.columns), table).get("owner")
        if pos is None:
            continue
        for value in frame.iloc[:, pos].tolist():
            if isinstance(value, str) and value.strip():
                seen.setdefault(value.strip().casefold(), value.strip())
    names = sorted(seen.values(), key=str.casefold)
    return pd.DataFrame({OWNERS.header("owner"): pd.Series(names, dtype=object)})


def empty_tables() -> dict[str, pd.DataFrame]:
    """Tables of a new empty workbook: one blank prospect row and the default stages."""
    out = {
        spec.sheet: pd.DataFrame({c.header: pd.Series([None], dtype=object) for c in spec.columns})
        for spec in TABLES
        if spec.table not in (OWNERS, SETTINGS_TABLE)
    }
    out[STAGES.sheet] = stages_frame(default_stages())
    return out


def dashboard_periods(as_of: date, fiscal_start: int) -> dict[str, str]:
    """Labels of the current month and current (fiscal) quarter of ``as_of``."""
    return {
        "month": period_of(as_of, "month", fiscal_start).label,
        "quarter": period_of(as_of, "quarter", fiscal_start).label,
    }


@dataclass(frozen=True)
class Prepared:
    """The tables as they will be written, and the Dashboard that goes with them."""

    frames: dict[str, pd.DataFrame]  # by Excel table name
    columns: dict[str, tuple[Column, ...]]
    layout: DashboardLayout
    periods: dict[str, str]

    @property
    def by_sheet(self) -> dict[str, pd.DataFrame]:
        """The data tables keyed by sheet name (the owner list left out)."""
        return {t.sheet: self.frames[t.name] for t in TABLES if t.table is not OWNERS}


def prepare(
    tables: Mapping[str, pd.DataFrame],
    *,
    currency: str,
    fiscal_start: int,
    as_of: date,
    pin_as_of: bool = True,
) -> Prepared:
    """Align every table, order the stages, complete the settings, lay out the Dashboard.

    Raises:
        InputError: the Stages table has no open or no won stage.

    """
    given_stages = tables.get(STAGES.sheet)
    if given_stages is None:
        given_stages = stages_frame(default_stages())
    aligned, _ = align(given_stages, table_by_name(STAGES.name))
    ordered, activities, won_activity = stage_process(aligned)
    source: dict[contract.Table, pd.DataFrame | None] = {
        t: tables.get(t.sheet) for t in contract.DATA_TABLES
    }
    source[STAGES] = ordered
    source[SETTINGS_TABLE] = settings_frame(
        tables.get(SETTINGS_TABLE.sheet), as_of=as_of, fiscal_start=fiscal_start,
        currency=currency, pin_as_of=pin_as_of,
    )  # fmt: skip
    source[OWNERS] = owner_names(tables)
    frames: dict[str, pd.DataFrame] = {}
    columns: dict[str, tuple[Column, ...]] = {}
    for spec in TABLES:
        frames[spec.name], columns[spec.name] = align(source[spec.table], spec)
    return Prepared(
        frames,
        columns,
        dashboard_layout(activities, won_activity),
        dashboard_periods(as_of, fiscal_start),
    )
