"""How the ready workbook presents its data tables; every name comes from the contract.

`pipeline_xl.core.contract` declares the sheets, the Excel table names, the fields with
their headers and column order, the settings labels and the status and category words.
This module adds presentation only, keyed by contract field name: the column's display
kind, its minimum width, the yellow "type here" fill, its drop-down list and the note on
its header. `TABLES` walks each contract table's fields in order, so a column added to
the contract without a presentation here (or a presentation naming no field) is refused
when this module loads.

Settings: the ready workbook writes the contract's settings in the contract's order,
each with its Excel data validation (`SETTINGS_ROWS`). The Owner setting names the rep a
personal workbook belongs to; it is written only when a given Settings table holds it.

Drop-down lists: stages, activities and owners come from the tables themselves (the
workbook names `STAGE_LIST`, `ACTIVITY_LIST`, `OWNER_LIST`); statuses and forecast
categories are the contract's labels; the period granularities are this module's
`GRANULARITY_LIST`, words the contract understands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pipeline_xl.core import contract
from pipeline_xl.core.display import STYLE, currency_format

__all__ = [
    "ACTIVITY_LIST",
    "CALL_COMMAND",
    "GRANULARITY_LIST",
    "LIST_NAMES",
    "MACROS",
    "OWNER_LIST",
    "REFRESH_COMMAND",
    "SETTINGS_ROWS",
    "STAGE_LIST",
    "STYLE",
    "TABLES",
    "VALIDATIONS",
    "XLWINGS_CONF_ROWS",
    "Column",
    "Kind",
    "Look",
    "SettingRow",
    "TableSpec",
    "currency_format",
    "table_by_name",
]

Kind = Literal["text", "period", "amount", "date", "percent", "count", "number", "mixed", "status"]
"""How a column is written and formatted (``mixed``: per-row format, Settings values)."""

GRANULARITY_LIST: tuple[str, ...] = ("Month", "Quarter")
"""The Period granularity drop-down (each is a word `contract.granularity_word` reads)."""


@dataclass(frozen=True, slots=True)
class Look:
    """The presentation of one field: everything about its column but its name."""

    kind: Kind = "text"
    width: float = 12.0  # minimum width; the builder widens it to fit the values
    input_fill: bool = False  # yellow "type here" fill on the data cells
    validation: str | None = None  # key of `VALIDATIONS`
    note: str | None = None  # comment on the header cell


@dataclass(frozen=True, slots=True)
class Column:
    """One written column: its header and look.

    ``field`` is the contract field; None for a column of the user's own that the
    contract does not know (kept after the contract's columns).
    """

    header: str
    kind: Kind = "text"
    width: float = 12.0
    input_fill: bool = False
    validation: str | None = None
    note: str | None = None
    field: str | None = None

    @classmethod
    def of(cls, field: contract.Field, look: Look) -> Column:
        """The column of a contract field presented with ``look``."""
        return cls(
            header=field.header,
            kind=look.kind,
            width=look.width,
            input_fill=look.input_fill,
            validation=look.validation,
            note=look.note,
            field=field.name,
        )


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An Excel table on a data sheet: a contract table and the look of its columns."""

    table: contract.Table
    columns: tuple[Column, ...]
    freeze: tuple[int, int] = (1, 0)
    first_cell: tuple[int, int] = (0, 0)  # (row, col) of the header's first cell

    @property
    def sheet(self) -> str:
        """The sheet the table sits on."""
        return self.table.sheet

    @property
    def name(self) -> str:
        """The Excel table name (``tblProspects``)."""
        return self.table.name

    @property
    def headers(self) -> tuple[str, ...]:
        """Column headers in order."""
        return tuple(c.header for c in self.columns)


def _one_of(words: Sequence[str]) -> str:
    """``"Open, Won or Lost."``: the words of a list, as an error message says them."""
    return f"{', '.join(words[:-1])} or {words[-1]}." if len(words) > 1 else f"{words[0]}."


def _spec(
    table: contract.Table,
    looks: Mapping[str, Look],
    *,
    freeze: tuple[int, int] = (1, 0),
    first_cell: tuple[int, int] = (0, 0),
) -> TableSpec:
    """The table's columns in contract order, each with its look.

    Raises:
        ValueError: a field has no look, or a look names no field of the table.

    """
    names = [f.name for f in table.fields]
    missing = [n for n in names if n not in looks]
    unknown = [n for n in looks if n not in names]
    if missing or unknown:
        raise ValueError(f"{table.name}: no look for {missing}, looks for no field {unknown}")
    columns = tuple(Column.of(f, looks[f.name]) for f in table.fields)
    return TableSpec(table, columns, freeze, first_cell)


_PROSPECTS = _spec(
    contract.PROSPECTS,
    {
        "id": Look("text", 9),
        "name": Look("text", 16),
        "company": Look("text", 18),
        "owner": Look("text", 14, validation="owner"),
        "source": Look("text", 10),
        "stage": Look(
            "text",
            12,
            validation="stage",
            note=f"Pick a stage of the {contract.STAGES.sheet} sheet.",
        ),
        "amount": Look("amount", 12),
        "expected_close": Look("date", 12),
        "probability": Look(
            "percent",
            11,
            note="Leave blank to use the stage's probability; type 35% to override.",
        ),
        "category": Look(
            "text",
            11,
            validation="category",
            note=f"Forecast category: {_one_of(list(contract.CATEGORY_LABELS.values()))}",
        ),
        "status": Look("text", 8, validation="status"),
        "created": Look("date", 11),
        "closed": Look("date", 11),
        "last_activity": Look("date", 11),
        "reached": Look(
            "text",
            11,
            validation="stage",
            note="For lost deals: the furthest open stage the deal reached.",
        ),
    },
    freeze=(1, 2),
)
_STAGES = _spec(
    contract.STAGES,
    {
        "stage": Look("text", 14),
        "activity": Look("text", 13, note="What brings a deal into this stage."),
        "probability": Look(
            "percent", 11, input_fill=True, note="Chance that a deal sitting in this stage is won."
        ),
        "conversion": Look(
            "percent",
            11,
            input_fill=True,
            note="Share of the deals reaching this stage that go on to the next one.",
        ),
        "days_to_close": Look(
            "count", 12, input_fill=True, note="Typical days from entering this stage to closing."
        ),
        "status": Look("text", 8, validation="stage_status"),
    },
)
_TARGETS = _spec(
    contract.TARGETS,
    {
        "period": Look(
            "period",
            10,
            note="A month (2026-03), a quarter (2026-Q1) or a fiscal quarter (FY2027-Q2).",
        ),
        "owner": Look("text", 16, validation="owner", note="Blank = the whole team."),
        "revenue": Look("amount", 14, input_fill=True),
        "deals": Look("count", 11, input_fill=True),
    },
)
_ACTIVITIES = _spec(
    contract.ACTIVITIES,
    {
        "date": Look("date", 11),
        "owner": Look("text", 16, validation="owner"),
        "type": Look("text", 12, validation="activity"),
        "prospect_id": Look("text", 11),
        "count": Look("count", 8),
    },
)
_SETTINGS = _spec(
    contract.SETTINGS_TABLE,
    {"setting": Look("text", 24), "value": Look("mixed", 14, input_fill=True)},
)
_OWNERS = _spec(
    contract.OWNERS,
    {"owner": Look("text", 18, input_fill=True, note="The sales team: one name a row.")},
    first_cell=(0, 3),
)
_CALLS = _spec(
    contract.CALLS,
    {
        "period": Look(
            "period", 10, note="The month (2026-03) or quarter (2026-Q1) the call is for."
        ),
        "owner": Look(
            "text", 16, validation="owner", note="Blank = the team (the manager's call)."
        ),
        "type": Look(
            "text",
            12,
            validation="call_type",
            note=f"Call type: {_one_of(list(contract.CALL_TYPE_LABELS.values()))}",
        ),
        "amount": Look("amount", 13, input_fill=True),
        "submitted_on": Look(
            "date",
            12,
            note="The day of the call. Add a row for a new call: the latest on or before a "
            "date is the call as of that date.",
        ),
        "submitted_by": Look("text", 16),
        "adjustment": Look(
            "amount",
            13,
            input_fill=True,
            note="A manager's adjusted amount: it replaces the amount in every figure (call "
            "accuracy still scores the amount called).",
        ),
        "comment": Look("text", 30),
    },
)
_SNAPSHOTS = _spec(
    contract.SNAPSHOTS,
    {
        "snapshot_date": Look("date", 12),
        "id": Look("text", 9),
        "owner": Look("text", 16),
        "stage": Look("text", 12),
        "status": Look("text", 8),
        "amount": Look("amount", 12),
        "expected_close": Look("date", 12),
        "probability": Look("percent", 11),
    },
)


def _in_sheet_order(specs: Sequence[TableSpec]) -> tuple[TableSpec, ...]:
    """Tables in the workbook's sheet order (two on one sheet: the contract's order)."""
    if {s.table for s in specs} != set(contract.TABLES):
        raise ValueError("every contract table needs its presentation")
    rank = {t: i for i, t in enumerate(contract.TABLES)}
    return tuple(
        sorted(specs, key=lambda s: (contract.WORKBOOK_SHEETS.index(s.sheet), rank[s.table]))
    )


TABLES: tuple[TableSpec, ...] = _in_sheet_order(
    (_PROSPECTS, _STAGES, _TARGETS, _ACTIVITIES, _CALLS, _SNAPSHOTS, _SETTINGS, _OWNERS)
)
"""The data tables in the order they are written; ``tblOwners`` (Settings, column D)
feeds the owner drop-downs."""


def table_by_name(name: str) -> TableSpec:
    """The table spec of a contract table, by Excel table name, key or sheet."""
    wanted = contract.table(name)
    return next(spec for spec in TABLES if spec.table is wanted)


STAGE_LIST = "StageList"
OWNER_LIST = "OwnerList"
ACTIVITY_LIST = "ActivityList"
LIST_NAMES: dict[str, str] = {
    STAGE_LIST: "=" + contract.STAGES.ref("stage"),
    OWNER_LIST: "=" + contract.OWNERS.ref("owner"),
    ACTIVITY_LIST: "=" + contract.STAGES.ref("activity"),
}
"""Workbook names over table columns that feed the drop-down lists."""


_STATUSES = list(contract.STATUS_LABELS.values())
_STATUS_TITLE = contract.STAGES.header("status")
_CATEGORIES = list(contract.CATEGORY_LABELS.values())
_CALL_TYPES = list(contract.CALL_TYPE_LABELS.values())
VALIDATIONS: dict[str, dict[str, object]] = {
    "stage": {
        "validate": "list",
        "source": f"={STAGE_LIST}",
        "error_title": "Unknown stage",
        "error_message": f"Pick a stage from the {contract.STAGES.sheet} sheet.",
    },
    "owner": {
        "validate": "list",
        "source": f"={OWNER_LIST}",
        "error_type": "warning",
        "error_title": "New owner?",
        "error_message": (
            f"This name is not in the owner list ({contract.OWNERS.sheet} sheet). Keep it?"
        ),
    },
    "activity": {
        "validate": "list",
        "source": f"={ACTIVITY_LIST}",
        "error_type": "warning",
        "error_title": "Unknown activity",
        "error_message": f"This activity is not in the {contract.STAGES.sheet} sheet. Keep it?",
    },
    "status": {
        "validate": "list",
        "source": _STATUSES,
        "error_title": _STATUS_TITLE,
        "error_message": _one_of(_STATUSES),
    },
    "stage_status": {
        "validate": "list",
        "source": _STATUSES,
        "error_title": _STATUS_TITLE,
        "error_message": _one_of(_STATUSES),
    },
    "category": {
        "validate": "list",
        "source": _CATEGORIES,
        "error_title": "Forecast category",
        "error_message": _one_of(_CATEGORIES),
    },
    "call_type": {
        "validate": "list",
        "source": _CALL_TYPES,
        "error_title": "Call type",
        "error_message": _one_of(_CALL_TYPES),
    },
}
"""Data-validation options (xlsxwriter form) by the key a `Look` names."""


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One written row of the Settings table: the contract's setting and its validation."""

    setting: contract.Setting
    validation: dict[str, object] | None = None

    @property
    def label(self) -> str:
        """The label written in the Setting column."""
        return self.setting.label

    @property
    def kind(self) -> Literal["date", "int", "text", "percent"]:
        """How the value cell is formatted."""
        kind = self.setting.kind
        return "text" if kind == "granularity" else kind


_SETTING_VALIDATIONS: dict[str, dict[str, object] | None] = {
    "as_of": {"validate": "date", "criteria": ">", "value": 1},
    "fiscal_start_month": {
        "validate": "integer",
        "criteria": "between",
        "minimum": 1,
        "maximum": 12,
    },
    "granularity": {"validate": "list", "source": list(GRANULARITY_LIST)},
    "currency": None,
    "mc_trials": {
        "validate": "integer",
        "criteria": "between",
        "minimum": 100,
        "maximum": 1_000_000,
    },
    "mc_seed": {"validate": "integer", "criteria": ">=", "value": 0},
    "stale_days": {"validate": "integer", "criteria": ">=", "value": 1},
    "slip_probability": {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1},
    "min_history": {"validate": "integer", "criteria": ">=", "value": 1},
}


def _setting_rows() -> tuple[SettingRow, ...]:
    known = {s.key for s in contract.SETTINGS}
    unknown = sorted(set(_SETTING_VALIDATIONS) - known)
    if unknown:
        raise ValueError(f"validations for settings the contract does not know: {unknown}")
    return tuple(
        SettingRow(s, _SETTING_VALIDATIONS[s.key])
        for s in contract.SETTINGS
        if s.key in _SETTING_VALIDATIONS
    )


SETTINGS_ROWS: tuple[SettingRow, ...] = _setting_rows()
"""The settings a ready workbook writes, in the contract's order; other rows of a given
Settings table are kept after them as they are."""

XLWINGS_CONF_ROWS: tuple[tuple[str, str | bool], ...] = (
    ("Interpreter_Win", "python"),
    ("Interpreter_Mac", ""),
    ("PYTHONPATH", ""),
    ("Conda Path", ""),
    ("Conda Env", ""),
    ("UDF Modules", "{module}"),
    ("Debug UDFs", False),
    ("Use UDF Server", False),
    ("Show Console", False),
)
"""Key/value rows xlwings reads from A1 down (same keys and order as its quickstart)."""

REFRESH_COMMAND = "import pipeline_xl.button;pipeline_xl.button.refresh_caller()"
"""The Python the Refresh reports button runs (through xlwings' ``RunPython``)."""
CALL_COMMAND = "import pipeline_xl.button;pipeline_xl.button.call_caller()"
"""The Python the Add call button runs: it appends the Dashboard's call form to tblCalls."""

MACROS = {
    "refresh": f"'RunPython \"{REFRESH_COMMAND}\"'",
    "import": "ImportPythonUDFs",
    "call": f"'RunPython \"{CALL_COMMAND}\"'",
}
"""What the buttons run, from xlwings' standalone VBA project (nothing else is in it).

Refresh and Add call: a call of its public ``RunPython`` with `REFRESH_COMMAND` (or
`CALL_COMMAND`), written the way Excel stores a button macro with an argument (the
quoted call). Unlike the quickstart's
``SampleCall``, which imports the module named after the workbook's file (a copy saved
as "Book (1).xlsm" looks for ``Book (1).py``), the command does not depend on the file
name. Import functions: its ``ImportPythonUDFs`` macro."""
