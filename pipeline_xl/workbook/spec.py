"""What the ready workbook holds, declared once: sheets, tables, columns, formats, lists, cells.

The builder (``builder.py``) only follows this spec; tests read the same constants, so a
change of layout is made here and checked everywhere.

Dashboard cells are identified by an id such as ``won.month`` or ``required.0.quarter``
(see `dashboard_layout`). A ``cached`` mapping handed to the builder uses these ids; each
formula is written with that value so the file shows numbers before any recalculation.

The Dashboard holds two backward plans side by side (design notes, section 6: deals =
ceil(gap / average deal), each earlier activity = ceil(next count / its conversion)):

* the Python engine's, ``PIPE_REQUIRED`` (rates and deal size learned from history);
* the same arithmetic as plain Excel formulas, readable without Python, on inputs taken
  from the tables with native formulas: the target (Targets rows whose period starts in
  the plan period), won to date, the weighted pipeline with the Stages table's
  probabilities (per-deal overrides first), the average won deal and the Stages table's
  conversions. ``ROUND(x, 9)`` before each ``ROUNDUP`` removes binary floating-point
  noise, so a count that is mathematically whole is never pushed up.

Only functions that LibreOffice 25.2 and Excel 2016+ both have are used; the array
formulas are classic single-cell array (CSE) formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pipeline_xl.core.display import STYLE, currency_format

__all__ = [
    "CATEGORY_LIST",
    "DEFINED_NAMES",
    "MACROS",
    "SETTINGS_ROWS",
    "SHEETS",
    "STAGE_STATUS_LIST",
    "STATUS_LIST",
    "STYLE",
    "TABLES",
    "XLWINGS_CONF_ROWS",
    "Arg",
    "Column",
    "DashboardLayout",
    "Kind",
    "NativeCell",
    "PipeCell",
    "SettingRow",
    "TableSpec",
    "TextCell",
    "currency_format",
    "dashboard_layout",
    "pipe_formula",
    "table_by_name",
]

SHEETS: tuple[str, ...] = (
    "Dashboard",
    "Prospects",
    "Stages",
    "Targets",
    "Activities",
    "Settings",
    "Snapshots",
    "xlwings.conf",
)
"""Sheet order of the workbook (the Lite variant drops ``xlwings.conf``)."""

Kind = Literal["text", "period", "amount", "date", "percent", "count", "number", "mixed", "status"]
"""How a column is written and formatted (``mixed``: per-row format, Settings values)."""

STATUS_LIST = ("Open", "Won", "Lost")
STAGE_STATUS_LIST = ("Open", "Won", "Lost")
CATEGORY_LIST = ("Commit", "Best case", "Pipeline", "Omitted")
GRANULARITY_LIST = ("Month", "Quarter")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a data table."""

    header: str
    kind: Kind = "text"
    width: float = 12.0  # minimum width; the builder widens it to fit the values
    input_fill: bool = False  # yellow "type here" fill on the data cells
    validation: str | None = None  # key of `_VALIDATIONS`
    note: str | None = None  # comment on the header cell


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An Excel table on a data sheet."""

    sheet: str
    name: str
    columns: tuple[Column, ...]
    freeze: tuple[int, int] = (1, 0)
    first_cell: tuple[int, int] = (0, 0)  # (row, col) of the header's first cell

    @property
    def headers(self) -> tuple[str, ...]:
        """Column headers in order."""
        return tuple(c.header for c in self.columns)


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "Prospects",
        "tblProspects",
        (
            Column("ID", "text", 9),
            Column("Name", "text", 16),
            Column("Company", "text", 18),
            Column("Owner", "text", 14, validation="owner"),
            Column("Source", "text", 10),
            Column(
                "Stage",
                "text",
                12,
                validation="stage",
                note="Pick a stage of the Stages sheet.",
            ),
            Column("Amount", "amount", 12),
            Column("Expected close", "date", 12),
            Column(
                "Probability",
                "percent",
                11,
                note="Leave blank to use the stage's probability; type 35% to override.",
            ),
            Column(
                "Category",
                "text",
                11,
                validation="category",
                note="Forecast category: Commit, Best case, Pipeline or Omitted.",
            ),
            Column("Status", "text", 8, validation="status"),
            Column("Created", "date", 11),
            Column("Closed", "date", 11),
            Column("Last activity", "date", 11),
            Column(
                "Stage reached",
                "text",
                11,
                validation="stage",
                note="For lost deals: the furthest open stage the deal reached.",
            ),
        ),
        freeze=(1, 2),
    ),
    TableSpec(
        "Stages",
        "tblStages",
        (
            Column("Stage", "text", 14),
            Column("Activity", "text", 13, note="What brings a deal into this stage."),
            Column(
                "Probability",
                "percent",
                11,
                input_fill=True,
                note="Chance that a deal sitting in this stage is won.",
            ),
            Column(
                "Conversion",
                "percent",
                11,
                input_fill=True,
                note="Share of the deals reaching this stage that go on to the next one.",
            ),
            Column(
                "Days to close",
                "count",
                12,
                input_fill=True,
                note="Typical days from entering this stage to closing.",
            ),
            Column("Status", "text", 8, validation="stage_status"),
        ),
    ),
    TableSpec(
        "Targets",
        "tblTargets",
        (
            Column(
                "Period",
                "period",
                10,
                note="A month (2026-03), a quarter (2026-Q1) or a fiscal quarter (FY2027-Q2).",
            ),
            Column("Owner", "text", 16, validation="owner", note="Blank = the whole team."),
            Column("Revenue target", "amount", 14, input_fill=True),
            Column("Deals target", "count", 11, input_fill=True),
        ),
    ),
    TableSpec(
        "Activities",
        "tblActivities",
        (
            Column("Date", "date", 11),
            Column("Owner", "text", 16, validation="owner"),
            Column("Activity", "text", 12, validation="activity"),
            Column("Prospect ID", "text", 11),
            Column("Count", "count", 8),
        ),
    ),
    TableSpec(
        "Settings",
        "tblSettings",
        (
            Column("Setting", "text", 24),
            Column("Value", "mixed", 14, input_fill=True),
        ),
    ),
    TableSpec(
        "Settings",
        "tblOwners",
        (Column("Owner", "text", 18, input_fill=True, note="The sales team: one name a row."),),
        first_cell=(0, 3),
    ),
    TableSpec(
        "Snapshots",
        "tblSnapshots",
        (
            Column("Snapshot date", "date", 12),
            Column("ID", "text", 9),
            Column("Owner", "text", 16),
            Column("Stage", "text", 12),
            Column("Status", "text", 8),
            Column("Amount", "amount", 12),
            Column("Expected close", "date", 12),
            Column("Probability", "percent", 11),
        ),
    ),
)
"""The data tables; ``tblOwners`` (Settings, column D) feeds the owner drop-downs."""


def table_by_name(name: str) -> TableSpec:
    """The table spec called ``name`` (e.g. ``tblProspects``)."""
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(name)


DEFINED_NAMES: dict[str, str] = {
    "StageList": "=tblStages[Stage]",
    "OwnerList": "=tblOwners[Owner]",
    "ActivityList": "=tblStages[Activity]",
    "AsOfDate": '=INDEX(tblSettings[Value],MATCH("As-of date",tblSettings[Setting],0))',
    "FiscalStartMonth": (
        '=INDEX(tblSettings[Value],MATCH("Fiscal year start month",tblSettings[Setting],0))'
    ),
}
"""Workbook names. Array names used by the native plan are added by `period_start_expr`."""


def period_start_expr(ref: str) -> str:
    """Excel expression: first day of the period a label (or date) in ``ref`` names.

    Understands ``2026-03``, ``2026-Q1``, ``FY2027-Q2`` (with ``FiscalStartMonth``) and
    dates (the month containing them). Works on one cell or, inside an array formula, on a
    whole column.
    """
    r = ref
    fiscal = (
        f"DATE(VALUE(MID({r},3,4))-(FiscalStartMonth>1),"
        f"FiscalStartMonth+3*(VALUE(RIGHT({r},1))-1),1)"
    )
    calendar_q = f"DATE(VALUE(LEFT({r},4)),3*VALUE(RIGHT({r},1))-2,1)"
    month = f"DATE(VALUE(LEFT({r},4)),VALUE(MID({r},6,2)),1)"
    return (
        f"IF(ISNUMBER({r}),DATE(YEAR({r}),MONTH({r}),1),"
        f'IF(ISNUMBER(SEARCH("Q",{r})),IF(LEFT({r},2)="FY",{fiscal},{calendar_q}),{month}))'
    )


ARRAY_NAMES: dict[str, str] = {
    # First day of each Targets row's period.
    "TargetStart": "=" + period_start_expr("tblTargets[Period]"),
    # Where an open deal lands: its expected close, or the as-of date when overdue.
    "DealLanding": (
        "=IF(tblProspects[Expected close]<AsOfDate,AsOfDate,tblProspects[Expected close])"
    ),
    # Per-deal probability override, else the Stages table's probability of its stage.
    "DealProbability": (
        "=IF(ISNUMBER(tblProspects[Probability]),tblProspects[Probability],"
        "SUMIFS(tblStages[Probability],tblStages[Stage],tblProspects[Stage]))"
    ),
}
DEFINED_NAMES.update(ARRAY_NAMES)


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One row of the Settings table and how its value cell is formatted and checked."""

    name: str
    kind: Literal["date", "int", "text", "percent", "number"]
    validation: dict[str, object] | None = None


SETTINGS_ROWS: tuple[SettingRow, ...] = (
    SettingRow("As-of date", "date", {"validate": "date", "criteria": ">", "value": 1}),
    SettingRow(
        "Fiscal year start month",
        "int",
        {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 12},
    ),
    SettingRow(
        "Period granularity", "text", {"validate": "list", "source": list(GRANULARITY_LIST)}
    ),
    SettingRow("Currency", "text"),
    SettingRow(
        "Monte Carlo trials",
        "int",
        {"validate": "integer", "criteria": "between", "minimum": 100, "maximum": 1_000_000},
    ),
    SettingRow("Monte Carlo seed", "int", {"validate": "integer", "criteria": ">=", "value": 0}),
    SettingRow("Stale deal days", "int", {"validate": "integer", "criteria": ">=", "value": 1}),
    SettingRow(
        "Slip probability",
        "percent",
        {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1},
    ),
    SettingRow("Minimum history", "int", {"validate": "integer", "criteria": ">=", "value": 1}),
)
"""Known settings (sheet order); other rows of a given Settings table are kept as they are."""

VALIDATIONS: dict[str, dict[str, object]] = {
    "stage": {
        "validate": "list",
        "source": "=StageList",
        "error_title": "Unknown stage",
        "error_message": "Pick a stage from the Stages sheet.",
    },
    "owner": {
        "validate": "list",
        "source": "=OwnerList",
        "error_type": "warning",
        "error_title": "New owner?",
        "error_message": "This name is not in the owner list (Settings sheet). Keep it?",
    },
    "activity": {
        "validate": "list",
        "source": "=ActivityList",
        "error_type": "warning",
        "error_title": "Unknown activity",
        "error_message": "This activity is not in the Stages sheet. Keep it?",
    },
    "status": {
        "validate": "list",
        "source": list(STATUS_LIST),
        "error_title": "Status",
        "error_message": "Open, Won or Lost.",
    },
    "stage_status": {
        "validate": "list",
        "source": list(STAGE_STATUS_LIST),
        "error_title": "Status",
        "error_message": "Open, Won or Lost.",
    },
    "category": {
        "validate": "list",
        "source": list(CATEGORY_LIST),
        "error_title": "Forecast category",
        "error_message": "Commit, Best case, Pipeline or Omitted.",
    },
}
"""Data-validation options (xlsxwriter form) by the key a `Column` names."""

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

MACROS = {"refresh": "SampleCall", "import": "ImportPythonUDFs"}
"""Macros of xlwings' standalone quickstart VBA that the two buttons run."""


# ---------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------

ArgKind = Literal["table", "cell", "text", "omit", "range"]


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a PIPE_* call: a whole table, a cell, a range, a text or omitted."""

    kind: ArgKind
    ref: str = ""  # table name, A1 cell/range (with $ as written) or the text literal

    def formula(self) -> str:
        """The argument as written in the formula."""
        if self.kind == "table":
            return f"{self.ref}[#All]"
        if self.kind == "text":
            return '"' + self.ref.replace('"', '""') + '"'
        if self.kind == "omit":
            return ""
        return self.ref


def pipe_formula(function: str, args: Sequence[Arg]) -> str:
    """``=FUNCTION(arg1,arg2,...)`` with trailing omitted arguments dropped."""
    parts = [a.formula() for a in args]
    while parts and parts[-1] == "":
        parts.pop()
    return f"={function}({','.join(parts)})"


Fmt = Literal["amount", "percent", "ratio", "days", "count", "date", "period", "text"]


@dataclass(frozen=True, slots=True)
class PipeCell:
    """A cell computed by a Python worksheet function.

    ``pick`` k > 0 takes the k-th value of a one-row result through ``INDEX``, so the
    cell works in every Excel (no dynamic arrays needed) and keeps its cached value.
    """

    id: str
    cell: str
    function: str
    args: tuple[Arg, ...]
    fmt: Fmt
    pick: int = 0

    @property
    def formula(self) -> str:
        """The formula text."""
        call = pipe_formula(self.function, self.args)
        return f"=INDEX({call[1:]},1,{self.pick})" if self.pick else call


@dataclass(frozen=True, slots=True)
class NativeCell:
    """A cell computed by a plain Excel formula (``array``: a single-cell array formula)."""

    id: str
    cell: str
    formula: str
    fmt: Fmt
    array: bool = False


@dataclass(frozen=True, slots=True)
class TextCell:
    """Fixed text: a label, a heading, a note; ``role`` picks the style."""

    cell: str
    text: str
    role: Literal[
        "title",
        "subtitle",
        "section",
        "colhead",
        "label",
        "note",
        "legend_input",
        "legend_formula",
        "legend_pipe",
        "input",
    ] = "label"
    merge_to: str | None = None


@dataclass(frozen=True)
class DashboardLayout:
    """Every cell of the Dashboard, plus its inputs and where the buttons go."""

    texts: tuple[TextCell, ...]
    pipes: tuple[PipeCell, ...]
    natives: tuple[NativeCell, ...]
    period_cells: dict[str, str]  # "month"/"quarter" -> input cell
    owner_cell: str
    buttons: dict[str, str]  # "refresh"/"import" -> anchor cell
    widths: dict[str, float]
    plan_rows: tuple[int, ...]  # 1-based rows of the plan, first activity .. deals
    last_row: int

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of every formula cell (PIPE_* first, then the plain formulas)."""
        return tuple(p.id for p in self.pipes) + tuple(n.id for n in self.natives)

    def cell_of(self, cell_id: str) -> str:
        """A1 address of a formula cell by its id."""
        found = {p.id: p.cell for p in self.pipes} | {n.id: n.cell for n in self.natives}
        return found[cell_id]


_P = Arg("table", "tblProspects")
_S = Arg("table", "tblStages")
_T = Arg("table", "tblTargets")
_OWNER = Arg("cell", "$B$7")

# (id, label, function, needs targets, extra trailing args, format)
_KEY_FIGURES: tuple[tuple[str, str, str, bool, tuple[Arg, ...], Fmt], ...] = (
    ("won", "Won to date", "PIPE_WON", False, (), "amount"),
    ("weighted", "Weighted pipeline", "PIPE_WEIGHTED", False, (), "amount"),
    (
        "forecast_weighted",
        "Forecast: won + weighted",
        "PIPE_FORECAST",
        False,
        (Arg("text", "weighted"),),
        "amount",
    ),
    (
        "forecast_commit",
        "Forecast: commit",
        "PIPE_FORECAST",
        False,
        (Arg("text", "commit"),),
        "amount",
    ),
    (
        "forecast_best_case",
        "Forecast: best case",
        "PIPE_FORECAST",
        False,
        (Arg("text", "best_case"),),
        "amount",
    ),
    (
        "forecast_montecarlo",
        "Forecast: Monte Carlo median (P50)",
        "PIPE_FORECAST",
        False,
        (Arg("text", "montecarlo"),),
        "amount",
    ),
    ("gap", "Gap to target (target - forecast)", "PIPE_GAP", True, (), "amount"),
    ("coverage", "Pipeline coverage", "PIPE_COVERAGE", True, (), "ratio"),
    ("hit_probability", "Chance of reaching target", "PIPE_HIT_PROBABILITY", True, (), "percent"),
    ("win_rate", "Win rate (by count)", "PIPE_WIN_RATE", False, (), "percent"),
    ("avg_deal", "Average won deal", "PIPE_AVG_DEAL", False, (), "amount"),
    ("cycle_days", "Sales cycle (days, median)", "PIPE_CYCLE_DAYS", False, (), "days"),
    ("velocity", "Sales velocity (per day, all open)", "PIPE_VELOCITY", False, (), "amount"),
    ("stale_count", "Stale open deals (today)", "PIPE_STALE_COUNT", False, (), "count"),
)


_NOTES = (
    (
        "How the Excel plan works: deals = ROUNDUP(gap / average deal); each earlier"
        " activity = ROUNDUP(next count / its conversion), back to the first activity."
    ),
    (
        "ROUND(..., 9) before ROUNDUP removes floating-point noise, so a whole count"
        " (e.g. 3 / 0.6 = 5) is never pushed up to the next number."
    ),
    (
        "The engine (PIPE_*) learns conversions, probabilities and deal size from closed"
        " history; the Excel plan uses the Stages sheet, so the two can differ."
    ),
    (
        "Target: Targets rows whose period starts in the plan period (a blank owner is a"
        " team row). Overdue open deals count in the current period."
    ),
)
# Functions that describe the pipeline today, whatever the period: (prospects, [owner]).
_NO_PERIOD = frozenset({"PIPE_VELOCITY", "PIPE_STALE_COUNT"})
_PERIOD_COLS = {"month": "B", "quarter": "C"}
_NATIVE_COLS = {"month": "H", "quarter": "I"}
_KEY_FIRST_ROW = 9
_RANGE_ROW = _KEY_FIRST_ROW + len(_KEY_FIGURES) + 1  # section row of the forecast range
_PLAN_HEAD = _RANGE_ROW + 4  # section row of both backward plans


def _key_figures() -> tuple[list[TextCell], list[PipeCell], list[NativeCell]]:
    texts = [
        TextCell("A3", "Legend:", "note"),
        TextCell("B3", "Input: type here", "legend_input"),
        TextCell("C3", "Excel formula", "legend_formula"),
        TextCell("D3", "Python: PIPE_*", "legend_pipe"),
        TextCell("A5", "Key figures", "section"),
        TextCell("B5", "Current month", "colhead"),
        TextCell("C5", "Current quarter", "colhead"),
        TextCell("A6", "Period (type another to compare)"),
        TextCell("A7", "Owner (blank = whole team)"),
        TextCell("A8", "Target (Targets sheet)"),
    ]
    natives = [
        NativeCell(f"target.{kind}", f"{col}8", f"={_NATIVE_COLS[kind]}10", "amount")
        for kind, col in _PERIOD_COLS.items()
    ]
    pipes: list[PipeCell] = []
    for row, (fid, label, function, needs_targets, extra, fmt) in enumerate(
        _KEY_FIGURES, start=_KEY_FIRST_ROW
    ):
        texts.append(TextCell(f"A{row}", label))
        for kind, col in _PERIOD_COLS.items():
            tables = (_P, _T) if needs_targets else (_P,)
            period = () if function in _NO_PERIOD else (Arg("cell", f"{col}$6"),)
            args = (*tables, *period, _OWNER, *extra)
            pipes.append(PipeCell(f"{fid}.{kind}", f"{col}{row}", function, args, fmt))
    r = _RANGE_ROW
    texts += [
        TextCell(f"A{r}", "Forecast range (Monte Carlo)", "section"),
        TextCell(f"B{r}", "P10", "colhead"),
        TextCell(f"C{r}", "P50", "colhead"),
        TextCell(f"D{r}", "P90", "colhead"),
        TextCell(f"A{r + 1}", "Current month"),
        TextCell(f"A{r + 2}", "Current quarter"),
    ]
    pipes += [
        PipeCell(
            f"range.{kind}.{pick}",
            f"{target}{r + 1 + i}",
            "PIPE_FORECAST_RANGE",
            (_P, Arg("cell", f"${col}$6"), _OWNER),
            "amount",
            pick=pick,
        )
        for i, (kind, col) in enumerate(_PERIOD_COLS.items())
        for pick, target in enumerate("BCD", start=1)
    ]
    return texts, pipes, natives


def _native_target(c: str) -> str:
    window = f"(TargetStart>={c}$7)*(TargetStart<{c}$8)"
    team_rows = f'{window}*(tblTargets[Owner]="")'

    def total(mask: str) -> str:
        return f"SUM(IFERROR({mask}*tblTargets[Revenue target],0))"

    return (
        f'=IF($B$7<>"",{total(window + "*(tblTargets[Owner]=$B$7)")},'
        f"IF(SUM(IFERROR({team_rows},0))>0,{total(team_rows)},{total(window)}))"
    )


def _native_inputs() -> tuple[list[TextCell], list[NativeCell]]:
    texts = [
        TextCell("F5", "Backward plan in Excel formulas", "section", merge_to="G5"),
        TextCell("H5", "Month", "colhead"),
        TextCell("I5", "Quarter", "colhead"),
        TextCell("F6", "Period"),
        TextCell("F7", "Period start"),
        TextCell("F8", "Period end (exclusive)"),
        TextCell("F9", "As-of date (Settings)"),
        TextCell("F10", "Target"),
        TextCell("F11", "Won to date"),
        TextCell("F12", "Weighted pipeline (Stages probabilities)"),
        TextCell("F13", "Average won deal"),
        TextCell("F14", "Gap = target - won - pipeline (min 0)"),
    ]
    blank_owner = '$B$7=""'
    avg_team = (
        'AVERAGEIFS(tblProspects[Amount],tblProspects[Status],"won",'
        'tblProspects[Closed],"<="&AsOfDate)'
    )
    avg_owner = avg_team[:-1] + ",tblProspects[Owner],$B$7)"
    avg_open = 'AVERAGEIFS(tblProspects[Amount],tblProspects[Status],"open")'
    natives: list[NativeCell] = []
    for kind, c in _NATIVE_COLS.items():
        key = c.lower()
        won = (
            f'tblProspects[Amount],tblProspects[Status],"won",'
            f'tblProspects[Closed],">="&{c}$7,tblProspects[Closed],"<"&{c}$8,'
            f'tblProspects[Closed],"<="&AsOfDate'
        )
        weighted = (
            '=SUM(IFERROR((tblProspects[Status]="open")*(tblProspects[Category]<>"omitted")'
            f"*ISNUMBER(tblProspects[Expected close])*(DealLanding>={c}$7)*(DealLanding<{c}$8)"
            f"*IF({blank_owner},1,tblProspects[Owner]=$B$7)"
            "*tblProspects[Amount]*DealProbability,0))"
        )
        natives += [
            NativeCell(f"native.period.{key}", f"{c}6", f"={_PERIOD_COLS[kind]}$6", "period"),
            NativeCell(f"native.start.{key}", f"{c}7", "=" + period_start_expr(f"{c}$6"), "date"),
            NativeCell(
                f"native.end.{key}",
                f"{c}8",
                f'=DATE(YEAR({c}$7),MONTH({c}$7)+IF(ISNUMBER(SEARCH("Q",{c}$6)),3,1),1)',
                "date",
            ),
            NativeCell(f"native.as_of.{key}", f"{c}9", "=AsOfDate", "date"),
            NativeCell(f"native.target.{key}", f"{c}10", _native_target(c), "amount", array=True),
            NativeCell(
                f"native.won.{key}",
                f"{c}11",
                f"=IF({blank_owner},SUMIFS({won}),SUMIFS({won},tblProspects[Owner],$B$7))",
                "amount",
            ),
            NativeCell(f"native.weighted.{key}", f"{c}12", weighted, "amount", array=True),
            NativeCell(
                f"native.avg_deal.{key}",
                f"{c}13",
                f"=IFERROR(IF({blank_owner},{avg_team},IFERROR({avg_owner},{avg_team})),"
                f"{avg_open})",
                "amount",
            ),
            NativeCell(f"native.gap.{key}", f"{c}14", f"=MAX(0,{c}$10-{c}$11-{c}$12)", "amount"),
        ]
    return texts, natives


def _plans(
    activities: Sequence[str], won_activity: str
) -> tuple[list[TextCell], list[PipeCell], list[NativeCell], tuple[int, ...]]:
    n_open = len(activities)
    h = _PLAN_HEAD
    texts = [
        TextCell(f"A{h}", "Backward plan (Python engine)", "section"),
        TextCell(f"B{h}", "Month", "colhead"),
        TextCell(f"C{h}", "Quarter", "colhead"),
        TextCell(f"F{h}", "Activity needed (stage)", "section"),
        TextCell(f"G{h}", "Conversion", "colhead"),
        TextCell(f"H{h}", "Month", "colhead"),
        TextCell(f"I{h}", "Quarter", "colhead"),
    ]
    pipes: list[PipeCell] = []
    natives: list[NativeCell] = []
    rows = tuple(range(h + 1, h + 2 + n_open))
    for k, r in enumerate(rows):
        is_deals = k == n_open
        name = won_activity if is_deals else activities[k]
        texts.append(TextCell(f"A{r}", name or ("Deals" if is_deals else f"Stage {k + 1}")))
        pipes += [
            PipeCell(
                f"required.{k}.{kind}",
                f"{col}{r}",
                "PIPE_REQUIRED",
                (Arg("cell", f"$A{r}"), _P, _S, _T, Arg("cell", f"{col}$6"), _OWNER),
                "count",
            )
            for kind, col in _PERIOD_COLS.items()
        ]
        if is_deals:
            label = f'="Deals won ("&INDEX(tblStages[Activity],{n_open + 1})&")"'
        else:
            label = f'=INDEX(tblStages[Activity],{k + 1})&" ("&INDEX(tblStages[Stage],{k + 1})&")"'
            rate = f"=INDEX(tblStages[Conversion],{k + 1})"
            natives.append(NativeCell(f"native.rate.{k}", f"G{r}", rate, "percent"))
        natives.append(NativeCell(f"native.label.{k}", f"F{r}", label, "text"))
        for c in _NATIVE_COLS.values():
            step = f"{c}$14/{c}$13" if is_deals else f"{c}{r + 1}/$G{r}"
            natives.append(
                NativeCell(
                    f"native.required.{k}.{c.lower()}",
                    f"{c}{r}",
                    f"=ROUNDUP(ROUND({step},9),0)",
                    "count",
                )
            )
    check = rows[-1] + 1
    rates = f"$G${rows[0]}:$G${rows[-2]}"
    texts.append(TextCell(f"F{check}", "Check: PIPE_REQUIRED_CALLS on these inputs"))
    pipes += [
        PipeCell(
            f"check_calls.{c.lower()}",
            f"{c}{check}",
            "PIPE_REQUIRED_CALLS",
            tuple(
                Arg("range", rates) if ref == "rates" else Arg("cell", f"{c}${ref}")
                for ref in ("10", "13", "rates", "11", "12")
            ),
            "count",
        )
        for c in _NATIVE_COLS.values()
    ]
    return texts, pipes, natives, rows


def dashboard_layout(activities: Sequence[str], won_activity: str) -> DashboardLayout:
    """The Dashboard for a process whose open stages bring in these activities.

    Columns A-D: key figures and the engine's plan (B = current month, C = current
    quarter); columns F-I: the same backward plan in plain Excel formulas (H = month,
    I = quarter). Cell ids: ``<figure>.month|quarter`` (e.g. ``won.month``),
    ``range.month|quarter.1|2|3`` (P10, P50, P90), ``required.<k>.month|quarter``
    (k = 0 first activity ... n_open = deals), ``check_calls.h|i`` and ``native.<name>.h|i``
    for the plain formulas (``native.required.<k>.h`` ...).
    """
    if not activities:
        raise ValueError("the process needs at least one open stage")
    texts, pipes, natives = _key_figures()
    native_texts, native_inputs = _native_inputs()
    plan_texts, plan_pipes, plan_natives, plan_rows = _plans(activities, won_activity)
    note_row = plan_rows[-1] + 3
    notes = [TextCell(f"A{note_row + i}", t, "note") for i, t in enumerate(_NOTES)]
    return DashboardLayout(
        texts=(*texts, *native_texts, *plan_texts, *notes),
        pipes=(*pipes, *plan_pipes),
        natives=(*natives, *native_inputs, *plan_natives),
        period_cells={"month": "B6", "quarter": "C6"},
        owner_cell="B7",
        buttons={"refresh": "F1", "import": "H1"},
        widths={"A": 34, "B": 15, "C": 15, "D": 15, "E": 3, "F": 40, "G": 11, "H": 15, "I": 15},
        plan_rows=plan_rows,
        last_row=note_row + len(notes) - 1,
    )
