"""The Dashboard's forecast-call block: the call beside the system's forecast, and a call form.

Columns K-M, to the right of the backward plans, so the block is the tool's own and
takes none of the cells a user works in. For the Dashboard's periods (L = the month
cell, M = the quarter cell) and owner (blank: the team):

* the period and the target, shown as the Dashboard's own cells hold them;
* the latest commit call as of ``AsOfDate`` (``PIPE_CALL``; ``#N/A`` when nobody called);
* the system's forecast: the expected result (``PIPE_FORECAST`` with its default,
  calibrated method: the Variance sheet's Expected) and the Monte Carlo median (P50, the
  Forecast range sheet's);
* the chance the call is reached: P(outcome >= call) of the same Monte Carlo run
  (``PIPE_HIT_PROBABILITY`` given the call's cell instead of the Targets table; one
  `pipeline_xl.core.forecast.period_range` behind both).

Below it, a small form: period (blank: the current month), owner (blank: the team),
commit, most likely and best case amounts, a comment and who calls. The **Add call**
button (classic workbook) or the button cell (xlwings Lite) appends one row per amount
given to ``tblCalls`` (`pipeline_xl.usecases.calls_live`) and writes what it did in the
status cell. The script finds the form through two workbook names, `contract.CALL_FORM`
(the input cells) and `contract.CALL_STATUS` (`call_names`). Every formula is written
with its cached value, like the rest of the Dashboard, and a refresh rewrites those
values; the form's cells are the user's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline_xl.core import contract
from pipeline_xl.workbook.dashboard_spec import TAIL, Arg, NativeCell, PipeCell, TextCell

__all__ = ["CallBlock", "call_block", "call_names"]

CALL_FORM_FIELDS = contract.CALL_FORM_FIELDS

_LABEL, _MONTH, _QUARTER = "K", "L", "M"
_COLUMNS = {"month": _MONTH, "quarter": _QUARTER}
_HEAD = 5
_PROSPECTS = Arg("table", contract.PROSPECTS.name)
_FORM_LABELS = {
    "period": "Period (blank = the current month)",
    "owner": "Owner (blank = the team)",
    "commit": "Commit",
    "most_likely": "Most likely",
    "best_case": "Best case",
    "comment": "Comment",
    "by": "Submitted by",
}
_AMOUNTS = frozenset({"commit", "most_likely", "best_case"})


def _absolute(ref: str) -> str:
    """``B6`` as ``$B$6``."""
    plain = ref.replace("$", "")
    letters = "".join(ch for ch in plain if ch.isalpha())
    return f"${letters}${plain[len(letters) :]}"


@dataclass(frozen=True)
class CallBlock:
    """The block's cells, its form's input cells, the button's anchor and its columns."""

    texts: tuple[TextCell, ...]
    pipes: tuple[PipeCell, ...]
    natives: tuple[NativeCell, ...]
    form: dict[str, str]  # field -> input cell; "status" -> the message cell
    button: str
    widths: dict[str, float]
    last_row: int


def call_block(
    period_cells: Mapping[str, str], native_cells: Mapping[str, str], *, owner: str
) -> CallBlock:
    """The block for Dashboard period cells ``period_cells`` ("month"/"quarter" -> A1).

    ``native_cells`` maps the Dashboard's plain-formula ids to their cells (the target
    is ``target.month`` / ``target.quarter``); ``owner`` is the owner cell (``$B$7``).
    Cell ids: ``call.period|target|call|forecast|montecarlo|reach.month|quarter``.
    """
    h = _HEAD
    texts = [
        TextCell(f"{_LABEL}{h}", "Forecast call (owner as in B7)", "section"),
        TextCell(f"{_MONTH}{h}", "Current month", "colhead"),
        TextCell(f"{_QUARTER}{h}", "Current quarter", "colhead"),
    ]
    labels = (
        ("period", "Period"),
        ("target", f"Target ({contract.TARGETS.sheet} sheet)"),
        ("call", "Latest commit call"),
        ("forecast", "System forecast: expected"),
        ("montecarlo", "System forecast: Monte Carlo P50"),
        ("reach", "Chance of reaching the call"),
    )
    rows = {key: h + 1 + i for i, (key, _) in enumerate(labels)}
    texts += [TextCell(f"{_LABEL}{rows[key]}", text) for key, text in labels]
    natives: list[NativeCell] = []
    pipes: list[PipeCell] = []
    who = Arg("cell", owner)
    for kind, col in _COLUMNS.items():
        natives += [
            NativeCell(f"call.period.{kind}", f"{col}{rows['period']}",
                       "=" + _absolute(period_cells[kind]), "period", alias=f"period.{kind}"),
            NativeCell(f"call.target.{kind}", f"{col}{rows['target']}",
                       "=" + _absolute(native_cells[f"target.{kind}"]), "amount",
                       alias=f"target.{kind}"),
        ]  # fmt: skip
        period = Arg("cell", f"{col}${rows['period']}")
        call_cell = Arg("cell", f"{col}${rows['call']}")
        pipes += [
            PipeCell(
                f"call.call.{kind}", f"{col}{rows['call']}", "PIPE_CALL",
                (Arg("table", contract.CALLS.name), period, who, Arg("text", "commit"),
                 Arg("name", "AsOfDate"), Arg("table", contract.SETTINGS_TABLE.name)),
                "amount",
            ),
            PipeCell(
                f"call.forecast.{kind}", f"{col}{rows['forecast']}", "PIPE_FORECAST",
                (_PROSPECTS, period, who, Arg("omit"), *TAIL), "amount",
            ),
            PipeCell(
                f"call.montecarlo.{kind}", f"{col}{rows['montecarlo']}", "PIPE_FORECAST",
                (_PROSPECTS, period, who, Arg("text", "montecarlo"), *TAIL), "amount",
            ),
            PipeCell(
                f"call.reach.{kind}", f"{col}{rows['reach']}", "PIPE_HIT_PROBABILITY",
                (_PROSPECTS, call_cell, period, who, *TAIL), "percent",
            ),
        ]  # fmt: skip
    form_head = rows["reach"] + 2
    texts.append(
        TextCell(
            f"{_LABEL}{form_head}",
            "Add a forecast call",
            "section",
            merge_to=f"{_QUARTER}{form_head}",
        )
    )
    form: dict[str, str] = {}
    for i, name in enumerate(CALL_FORM_FIELDS, start=form_head + 1):
        texts.append(TextCell(f"{_LABEL}{i}", _FORM_LABELS[name]))
        merge = f"{_QUARTER}{i}" if name == "comment" else None
        cell = f"{_MONTH}{i}"
        if name in _AMOUNTS:
            texts.append(TextCell(cell, "", "input_amount"))
        else:
            texts.append(TextCell(cell, "", "input", merge_to=merge))
        form[name] = f"{_MONTH}{i}"
    button_row = form_head + len(CALL_FORM_FIELDS) + 1
    status_row = button_row + 2
    form["status"] = f"{_LABEL}{status_row}"
    # Two short lines: a note runs over the empty cells to its right, and the block is
    # the page's right edge (the print area ends with column M).
    notes = (
        f"Each amount given adds a row to {contract.CALLS.name} ({contract.CALLS.sheet}),",
        "dated today: a new call never replaces an old one.",
    )
    texts += [TextCell(f"{_LABEL}{status_row + 1 + i}", t, "note") for i, t in enumerate(notes)]
    return CallBlock(
        texts=tuple(texts),
        pipes=tuple(pipes),
        natives=tuple(natives),
        form=form,
        button=f"{_LABEL}{button_row}",
        widths={"J": 3, _LABEL: 34, _MONTH: 15, _QUARTER: 15},
        last_row=status_row + len(notes),
    )


def call_names(form: Mapping[str, str]) -> dict[str, str]:
    """The workbook names of the call form (``form``: `CallBlock.form`), as formulas."""
    sheet = f"'{contract.DASHBOARD}'" if " " in contract.DASHBOARD else contract.DASHBOARD
    first, last = form[CALL_FORM_FIELDS[0]], form[CALL_FORM_FIELDS[-1]]
    return {
        contract.CALL_FORM: f"={sheet}!{_absolute(first)}:{_absolute(last)}",
        contract.CALL_STATUS: f"={sheet}!{_absolute(form['status'])}",
    }
