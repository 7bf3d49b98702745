"""The Dashboard of the ready workbook, declared once: every cell, formula and workbook name.

The builder only follows this layout; tests read the same values, so a change of layout
is made here and checked everywhere. Table and column references are built from the
contract (`contract.PROSPECTS.ref("amount")` is ``tblProspects[Amount]``), as are the
settings labels the formulas look up and the status and category words they compare
with (Excel compares text without case, so ``"won"`` matches a cell holding ``Won``).

Dashboard cells are identified by an id such as ``won.month`` or ``required.0.quarter``
(see `dashboard_layout`). A ``cached`` mapping handed to the builder uses these ids; each
formula is written with that value so the file shows numbers before any recalculation.

The Dashboard holds two backward plans side by side (README, Definitions: deals =
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
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pipeline_xl.core import contract
from pipeline_xl.workbook.spec import LIST_NAMES

__all__ = [
    "ARRAY_NAMES",
    "DEFINED_NAMES",
    "HEADLINE_CELL",
    "HEADLINE_ID",
    "NO_FORECAST_YET",
    "OMITTED",
    "OPEN",
    "REFRESH_AS_OF",
    "SUBTITLE_CELL",
    "SUBTITLE_FORMULA",
    "TAIL",
    "WON",
    "Arg",
    "DashboardLayout",
    "Fmt",
    "NativeCell",
    "PipeCell",
    "TextCell",
    "dashboard_layout",
    "date_text_expr",
    "headline_text",
    "month_label_expr",
    "period_start_expr",
    "pipe_formula",
    "quarter_label_expr",
    "setting_label",
    "subtitle_text",
]

_P = contract.PROSPECTS
_S = contract.STAGES
_T = contract.TARGETS
_SET = contract.SETTINGS_TABLE


def setting_label(key: str) -> str:
    """The Settings-table label of the setting ``key`` (``"as_of"`` -> ``As-of date``)."""
    found = contract.setting_named(key)
    if found is None or found.key != key:
        raise KeyError(f"the contract has no setting {key!r}")
    return found.label


def _category(word: str) -> str:
    """A forecast category key of the contract, checked."""
    if word not in contract.CATEGORY_LABELS:
        raise KeyError(f"the contract has no forecast category {word!r}")
    return word


WON: contract.StatusWord = "won"
OPEN: contract.StatusWord = "open"
OMITTED = _category("omitted")
"""The status and category words the plain formulas compare the Prospects columns with."""


def _quoted(word: str) -> str:
    """A word as a formula's text literal."""
    return f'"{word}"'


def _setting_lookup(key: str) -> str:
    """``INDEX(tblSettings[Value],MATCH("<label>",tblSettings[Setting],0))``."""
    return f'INDEX({_SET.ref("value")},MATCH("{setting_label(key)}",{_SET.ref("setting")},0))'


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


_EXPECTED = _P.ref("expected_close")
_DEAL_PROBABILITY = _P.ref("probability")
ARRAY_NAMES: dict[str, str] = {
    # First day of each Targets row's period.
    "TargetStart": "=" + period_start_expr(_T.ref("period")),
    # Where an open deal lands: its expected close, or the as-of date when overdue.
    "DealLanding": f"=IF({_EXPECTED}<AsOfDate,AsOfDate,{_EXPECTED})",
    # Per-deal probability override, else the Stages table's probability of its stage.
    "DealProbability": (
        f"=IF(ISNUMBER({_DEAL_PROBABILITY}),{_DEAL_PROBABILITY},"
        f"SUMIFS({_S.ref('probability')},{_S.ref('stage')},{_P.ref('stage')}))"
    ),
}
"""Array names the native plan reads (each evaluates to one value per table row)."""

REFRESH_AS_OF = contract.REFRESH_AS_OF

DEFINED_NAMES: dict[str, str] = {
    **LIST_NAMES,
    "AsOfDate": (
        f"=IF(ISNUMBER({_setting_lookup('as_of')}),{_setting_lookup('as_of')},{REFRESH_AS_OF})"
    ),
    "FiscalStartMonth": "=" + _setting_lookup("fiscal_start_month"),
    **ARRAY_NAMES,
}
"""Every formula name: the drop-down lists, two settings and the array names. ``AsOfDate``
is the Settings as-of date when one is typed, else the as-of date of the last refresh
(`REFRESH_AS_OF`, a constant name the builder and every refresh write)."""


def date_text_expr(day: str) -> str:
    """Excel expression: the ISO text of the date ``day`` (``2026-03-31``), without TEXT."""
    return f'YEAR({day})&"-"&RIGHT("0"&MONTH({day}),2)&"-"&RIGHT("0"&DAY({day}),2)'


_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
SUBTITLE_CELL = "A2"
SUBTITLE_FORMULA = (
    f'="As of "&{date_text_expr("AsOfDate")}&"  |  amounts in "&{_setting_lookup("currency")}'
    '&"  |  fiscal year starts in "&CHOOSE(FiscalStartMonth,'
    + ",".join(f'"{m}"' for m in _MONTH_NAMES)
    + ")"
)
"""The Dashboard's subtitle, by formula: it always names the date its figures are for."""


def subtitle_text(*, as_of: date, currency: str, fiscal_start: int) -> str:
    """The value `SUBTITLE_FORMULA` shows for these settings."""
    return (
        f"As of {as_of:%Y-%m-%d}  |  amounts in {currency}  |  fiscal year starts in "
        f"{_MONTH_NAMES[fiscal_start - 1]}"
    )


def month_label_expr(day: str) -> str:
    """Excel expression: the month label (``2026-03``) of the date ``day``.

    Built without TEXT, whose format codes depend on Excel's language.
    """
    return f'YEAR({day})&"-"&RIGHT("0"&MONTH({day}),2)'


def quarter_label_expr(day: str) -> str:
    """Excel expression: the quarter label of ``day`` with ``FiscalStartMonth``.

    ``2026-Q4`` for a January fiscal year, ``FY2027-Q3`` otherwise (a fiscal year is
    named after the calendar year in which it ends), as `pipeline_xl.core.periods` labels.
    """
    calendar_q = f'YEAR({day})&"-Q"&(INT((MONTH({day})-1)/3)+1)'
    fiscal_q = (
        f'"FY"&(YEAR({day})+(MONTH({day})>=FiscalStartMonth))'
        f'&"-Q"&(INT(MOD(MONTH({day})-FiscalStartMonth,12)/3)+1)'
    )
    return f"IF(FiscalStartMonth=1,{calendar_q},{fiscal_q})"


ArgKind = Literal["table", "cell", "text", "omit", "range", "name"]


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a PIPE_* call: a table, a cell, a range, a name, a text or omitted."""

    kind: ArgKind
    ref: str = ""  # Excel table name, A1 cell/range (with $ as written) or the text literal

    def formula(self) -> str:
        """The argument as written in the formula."""
        if self.kind == "table":
            return contract.table(self.ref).all_ref
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


Fmt = Literal["amount", "percent", "ratio", "days", "count", "date", "period", "text", "headline"]


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
    """A cell computed by a plain Excel formula (``array``: a single-cell array formula).

    ``alias``: the id of the cell the formula shows as it is (``=$B$8``), whose value it has.
    """

    id: str
    cell: str
    formula: str
    fmt: Fmt
    array: bool = False
    alias: str = ""


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
        "input_amount",
        "button",
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
    call_form: dict[str, str] = field(default_factory=dict)  # form field -> input cell

    @property
    def last_col(self) -> int:
        """0-based index of the last column the Dashboard uses (a column with a width)."""
        return max(_column_index(c) for c in self.widths)

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of every formula cell (PIPE_* first, then the plain formulas)."""
        return tuple(p.id for p in self.pipes) + tuple(n.id for n in self.natives)

    def cell_of(self, cell_id: str) -> str:
        """A1 address of a formula cell by its id."""
        found = {p.id: p.cell for p in self.pipes} | {n.id: n.cell for n in self.natives}
        return found[cell_id]


def _column_index(letters: str) -> int:
    """0-based index of a column's letters (``A`` 0, ``M`` 12, ``AA`` 26)."""
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number - 1


_PROSPECTS_ARG = Arg("table", _P.name)
_STAGES_ARG = Arg("table", _S.name)
_TARGETS_ARG = Arg("table", _T.name)
_OWNER = Arg("cell", "$B$7")
_AS_OF = Arg("name", "AsOfDate")
_OMIT = Arg("omit")
TAIL: tuple[Arg, ...] = (
    _AS_OF,
    _STAGES_ARG,
    Arg("table", contract.ACTIVITIES.name),
    Arg("table", _SET.name),
    Arg("table", contract.SNAPSHOTS.name),
)
"""The tail every Dashboard call passes: the as-of date and every other table, so each
figure is computed on the tables the refresh reads (`pipeline_xl.udfs.common`)."""
_TAIL_NO_STAGES = tuple(a for a in TAIL if a is not _STAGES_ARG)
# Optional arguments a function has between its own and the tail (left empty).
_GAPS = {
    "PIPE_WON": 0,
    "PIPE_WEIGHTED": 0,
    "PIPE_FORECAST": 1,  # method
    "PIPE_GAP": 0,
    "PIPE_COVERAGE": 0,
    "PIPE_HIT_PROBABILITY": 0,
    "PIPE_WIN_RATE": 1,  # by_value
    "PIPE_AVG_DEAL": 0,
    "PIPE_CYCLE_DAYS": 1,  # percentile
    "PIPE_VELOCITY": 0,
    "PIPE_STALE_COUNT": 1,  # days
}

# (id, label, function, needs targets, extra trailing args, format)
_KEY_FIGURES: tuple[tuple[str, str, str, bool, tuple[Arg, ...], Fmt], ...] = (
    ("won", "Won to date", "PIPE_WON", False, (), "amount"),
    ("weighted", "Expected from open deals", "PIPE_WEIGHTED", False, (), "amount"),
    # The default method: the figure of the Variance and Forecast range sheets.
    ("forecast", "Forecast (won + open + new deals)", "PIPE_FORECAST", False, (), "amount"),
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
    ("gap", "Gap to target (negative = ahead)", "PIPE_GAP", True, (), "amount"),
    ("coverage", "Pipeline coverage", "PIPE_COVERAGE", True, (), "ratio"),
    ("hit_probability", "Chance of reaching target", "PIPE_HIT_PROBABILITY", True, (), "percent"),
    ("win_rate", "Win rate (closed in period)", "PIPE_WIN_RATE", False, (), "percent"),
    ("avg_deal", "Average deal won in period", "PIPE_AVG_DEAL", False, (), "amount"),
    ("cycle_days", "Sales cycle, days (won in period)", "PIPE_CYCLE_DAYS", False, (), "days"),
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
        f" history; the Excel plan uses the {_S.sheet} sheet, so the two can differ."
    ),
    (
        f"Target: {_T.sheet} rows whose period starts in the plan period (a blank owner is a"
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


HEADLINE_ID = "headline"
HEADLINE_CELL = "A4"
NO_FORECAST_YET = "Refresh to see the forecast"


def _key_row(fid: str) -> int:
    """The Dashboard row of key figure ``fid``."""
    return _KEY_FIRST_ROW + [k[0] for k in _KEY_FIGURES].index(fid)


def _headline_formula() -> str:
    """The current month in one sentence: forecast, target, the gap in words, the chance.

    ``short by 28,387`` / ``ahead by 9,790`` rather than a signed gap; without a target the
    sentence says so, and before the engine has run (no PIPE_* values) it says to refresh.
    FIXED writes the thousands separators of Excel's own locale.
    """
    c = _PERIOD_COLS["month"]
    forecast, gap, chance = (f"{c}{_key_row(k)}" for k in ("forecast", "gap", "hit_probability"))
    target = f"{c}8"
    start = f'{c}$6&": forecast "&FIXED({forecast},0)'
    full = (
        f'{start}&" against a target of "&FIXED({target},0)&", "'
        f'&IF({gap}>0,"short by "&FIXED({gap},0),"ahead by "&FIXED(-{gap},0))'
        f'&"; chance of reaching it "&FIXED(100*{chance},0)&"%"'
    )
    no_target = f'{start}&"; no target for this period ({_T.sheet} sheet)"'
    return f'=IFERROR({full},IFERROR({no_target},"{NO_FORECAST_YET}"))'


def _fixed(value: float) -> str:
    """Excel's FIXED(value, 0) in an English locale: halves away from zero, with commas."""
    whole = Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole:,}"


def headline_text(
    period: object, forecast: object, target: object, gap: object, chance: object
) -> str:
    """The value the headline formula shows for these cell values (errors as text)."""
    if not isinstance(forecast, float) or isinstance(period, float):
        return NO_FORECAST_YET
    start = f"{period}: forecast {_fixed(forecast)}"
    if not (isinstance(target, float) and isinstance(gap, float) and isinstance(chance, float)):
        return f"{start}; no target for this period ({_T.sheet} sheet)"
    words = f"short by {_fixed(gap)}" if gap > 0 else f"ahead by {_fixed(-gap)}"
    return (
        f"{start} against a target of {_fixed(target)}, {words}; chance of reaching it "
        f"{_fixed(100 * chance)}%"
    )


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
        TextCell("A8", f"Target ({_T.sheet} sheet)"),
    ]
    natives = [
        NativeCell(f"target.{kind}", f"{col}8", f"={_NATIVE_COLS[kind]}10", "amount")
        for kind, col in _PERIOD_COLS.items()
    ]
    natives += [
        NativeCell(HEADLINE_ID, HEADLINE_CELL, _headline_formula(), "headline"),
        NativeCell("period.month", "B6", "=" + month_label_expr("AsOfDate"), "period"),
        NativeCell("period.quarter", "C6", "=" + quarter_label_expr("AsOfDate"), "period"),
    ]
    pipes: list[PipeCell] = []
    for row, (fid, label, function, needs_targets, extra, fmt) in enumerate(
        _KEY_FIGURES, start=_KEY_FIRST_ROW
    ):
        texts.append(TextCell(f"A{row}", label))
        for kind, col in _PERIOD_COLS.items():
            tables = (_PROSPECTS_ARG, _TARGETS_ARG) if needs_targets else (_PROSPECTS_ARG,)
            period = () if function in _NO_PERIOD else (Arg("cell", f"{col}$6"),)
            gaps = (_OMIT,) * (_GAPS[function] - len(extra))
            args = (*tables, *period, _OWNER, *extra, *gaps, *TAIL)
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
            (_PROSPECTS_ARG, Arg("cell", f"${col}$6"), _OWNER, _OMIT, _OMIT, *TAIL),
            "amount",
            pick=pick,
        )
        for i, (kind, col) in enumerate(_PERIOD_COLS.items())
        for pick, target in enumerate("BCD", start=1)
    ]
    return texts, pipes, natives


def _native_target(c: str) -> str:
    owner, revenue = _T.ref("owner"), _T.ref("revenue")
    window = f"(TargetStart>={c}$7)*(TargetStart<{c}$8)"
    team_rows = f'{window}*({owner}="")'

    def total(mask: str) -> str:
        return f"SUM(IFERROR({mask}*{revenue},0))"

    return (
        f'=IF($B$7<>"",{total(window + f"*({owner}=$B$7)")},'
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
        TextCell("F9", f"{setting_label('as_of')} ({_SET.sheet})"),
        TextCell("F10", "Target"),
        TextCell("F11", "Won to date"),
        TextCell("F12", f"Weighted pipeline ({_S.sheet} probabilities)"),
        TextCell("F13", "Average won deal"),
        TextCell("F14", "Gap = target - won - pipeline (min 0)"),
    ]
    amount, status, closed, owner = (
        _P.ref(f) for f in ("amount", "status", "closed", "owner")
    )  # fmt: skip
    won_word, open_word = _quoted(WON), _quoted(OPEN)
    blank_owner = '$B$7=""'
    avg_team = f'AVERAGEIFS({amount},{status},{won_word},{closed},"<="&AsOfDate)'
    avg_owner = avg_team[:-1] + f",{owner},$B$7)"
    avg_open = f"AVERAGEIFS({amount},{status},{open_word})"
    natives: list[NativeCell] = []
    for kind, c in _NATIVE_COLS.items():
        key = c.lower()
        won = (
            f"{amount},{status},{won_word},"
            f'{closed},">="&{c}$7,{closed},"<"&{c}$8,'
            f'{closed},"<="&AsOfDate'
        )
        weighted = (
            f"=SUM(IFERROR(({status}={open_word})*({_P.ref('category')}<>{_quoted(OMITTED)})"
            f"*ISNUMBER({_EXPECTED})*(DealLanding>={c}$7)*(DealLanding<{c}$8)"
            f"*IF({blank_owner},1,{owner}=$B$7)"
            f"*{amount}*DealProbability,0))"
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
                f"=IF({blank_owner},SUMIFS({won}),SUMIFS({won},{owner},$B$7))",
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
    activity, stage, conversion = (_S.ref(f) for f in ("activity", "stage", "conversion"))
    tables = (_PROSPECTS_ARG, _STAGES_ARG, _TARGETS_ARG)
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
                (Arg("cell", f"$A{r}"), *tables, Arg("cell", f"{col}$6"), _OWNER, *_TAIL_NO_STAGES),
                "count",
            )
            for kind, col in _PERIOD_COLS.items()
        ]
        if is_deals:
            label = f'="Deals won ("&INDEX({activity},{n_open + 1})&")"'
        else:
            label = f'=INDEX({activity},{k + 1})&" ("&INDEX({stage},{k + 1})&")"'
            rate = f"=INDEX({conversion},{k + 1})"
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
    I = quarter); columns K-M: the forecast call beside the system's forecast and the
    call form (`pipeline_xl.workbook.dashboard_calls`). Cell ids:
    ``<figure>.month|quarter`` (e.g. ``won.month``),
    ``range.month|quarter.1|2|3`` (P10, P50, P90), ``required.<k>.month|quarter``
    (k = 0 first activity ... n_open = deals), ``check_calls.h|i`` and ``native.<name>.h|i``
    for the plain formulas (``native.required.<k>.h`` ...), ``call.<figure>.month|quarter``
    for the forecast-call block.
    """
    if not activities:
        raise ValueError("the process needs at least one open stage")
    # The call block builds on this module's cells: imported here, once both are loaded.
    from pipeline_xl.workbook.dashboard_calls import call_block  # noqa: PLC0415

    texts, pipes, natives = _key_figures()
    native_texts, native_inputs = _native_inputs()
    plan_texts, plan_pipes, plan_natives, plan_rows = _plans(activities, won_activity)
    note_row = plan_rows[-1] + 3
    notes = [TextCell(f"A{note_row + i}", t, "note") for i, t in enumerate(_NOTES)]
    period_cells = {"month": "B6", "quarter": "C6"}
    calls = call_block(period_cells, {n.id: n.cell for n in natives}, owner="$B$7")
    return DashboardLayout(
        texts=(*texts, *native_texts, *plan_texts, *notes, *calls.texts),
        pipes=(*pipes, *plan_pipes, *calls.pipes),
        natives=(*natives, *native_inputs, *plan_natives, *calls.natives),
        period_cells=period_cells,
        owner_cell="B7",
        buttons={"refresh": "F1", "import": "H1", "call": calls.button},
        widths={
            "A": 34,
            "B": 15,
            "C": 15,
            "D": 15,
            "E": 3,
            "F": 40,
            "G": 11,
            "H": 15,
            "I": 15,
            **calls.widths,
        },
        plan_rows=plan_rows,
        last_row=max(note_row + len(notes) - 1, calls.last_row),
        call_form=calls.form,
    )
