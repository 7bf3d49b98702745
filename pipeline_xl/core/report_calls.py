"""The Variance sheet's forecast-call blocks: accuracy, the team's weeks, every call.

Three blocks follow the Variance sheet's own (`pipeline_xl.core.reports`), built from the
Forecast calls table with `pipeline_xl.core.calls` and from the Variance table the sheet
already shows, so the system's figures beside each call are the sheet's own:

1. **Call accuracy**: per owner over the last closed periods, WAPE and bias of the
   opening commit calls and of the system's baseline forecast side by side, and the hit
   rate; owners sorted by call bias, so a rep whose calls run high (or low) stands out;
2. **Team call by week** for the current period: the team's commit, most likely and best
   case standing at the end of each week, beside the system's forecast as the pipeline
   stood that day (rebuilt from the Snapshots log and the deals' dates,
   `pipeline_xl.core.variance.forecasts_as_they_stood`) and the won amount to date, with
   a line chart;
3. **Forecast calls by period and owner**: the target, the opening and latest call, the
   latest most likely and best case, the system's expected result, won, whether won
   reached the commit (F) or not (U) once the period is closed, the call against won and
   against expected, and the weekly trend of the commit (the weeks it moved). The
   columns follow the Variance table's kinds where they can (its F/U in the same
   column). The trend, a long text, goes in the first column the sheet's wider tables
   leave free
   (``free_column``, after empty columns when needed), so their columns keep their
   widths.

A workbook without calls gets one note saying how to add them.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline_xl.core.calls import (
    ACCURACY_PERIODS,
    BIAS_TOLERANCE,
    call_accuracy,
    call_rows,
    team_weeks,
)
from pipeline_xl.core.contract import CALLS
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.core.report_model import Block, ChartSpec, Column
from pipeline_xl.core.report_parts import block, note, owner_labels
from pipeline_xl.core.variance import forecasts_as_they_stood

__all__ = ["ACCURACY_TITLE", "CALLS_TITLE", "call_blocks"]

ACCURACY_TITLE = "Call accuracy"
CALLS_TITLE = "Forecast calls by period and owner"

_ACCURACY_COLUMNS = (
    Column("owner", "Owner", "text"),
    Column("reading", "Calls run", "text"),
    Column("periods", "Periods", "int"),
    Column("won", "Won", "amount"),
    Column("call", "Commit calls", "amount"),
    Column("call_wape", "Call WAPE", "pct"),
    Column("call_bias", "Call bias", "pct"),
    Column("forecast", "System forecast", "amount"),
    Column("forecast_wape", "System WAPE", "pct"),
    Column("forecast_bias", "System bias", "pct"),
    Column("hit_rate", "Hit rate", "pct"),
)
_WEEK_COLUMNS = (
    Column("label", "Week", "text"),
    Column("week", "From", "date"),
    Column("week_end", "To", "date"),
    Column("commit", "Commit", "amount"),
    Column("most_likely", "Most likely", "amount"),
    Column("best_case", "Best case", "amount"),
    Column("system", "System forecast", "amount"),
    Column("won_to_date", "Won to date", "amount"),
)
_CALL_COLUMNS = (
    Column("period", "Period", "text"),
    Column("owner", "Owner", "text"),
    Column("state", "State", "text"),
    Column("target", "Target", "amount"),
    Column("opening", "Opening call", "amount"),
    Column("latest", "Latest call", "amount"),
    Column("called_on", "Called on", "date"),
    Column("most_likely", "Most likely", "amount"),
    Column("best_case", "Best case", "amount"),
    Column("expected", "Expected", "amount"),
    Column("won", "Won", "amount"),
    Column("met", "F/U", "flag"),
    Column("call_minus_won", "Call - won", "amount"),
    Column("call_minus_expected", "Call - expected", "amount"),
)
_TREND = Column("trend", "Commit by week", "text")

_ACCURACY_NOTES = (
    (
        f"The last {ACCURACY_PERIODS} closed periods with an opening commit: the call as of "
        "the period's first day, else the first made in it, as submitted (adjustments left "
        "out)."
    ),
    (
        "A = won, F = that call, or the system's baseline forecast of the same first day: "
        "WAPE = sum |A - F| / sum A; bias = sum (F - A) / sum A."
    ),
    (
        "Hit rate: share of periods where won reached the commit. Calls run optimistic above "
        f"+{BIAS_TOLERANCE:.0%} bias, sandbagging below -{BIAS_TOLERANCE:.0%}; highest bias "
        "first."
    ),
)
_WEEKS_NOTE = (
    "Calls standing at each week's end; System forecast: the expected result as the "
    "pipeline stood that day."
)
_CALLS_NOTES = (
    (
        "Latest call: the last commit submitted by the as-of date (a later row wins a tie; a "
        "manager adjustment replaces the amount)."
    ),
    (
        "Expected: the system's forecast, as above. F/U: F when won reached the commit of a "
        "closed period, U when it did not."
    ),
    "Commit by week: the weeks of the period in which the commit moved (- = no call yet).",
)
_NO_CALLS = (
    f"No forecast call yet. Add rows to the {CALLS.sheet} sheet ({CALLS.name}): period, "
    "owner (blank = the team), call type (Commit, Most likely, Best case), amount and the "
    "day it was submitted; or run pipeline-xl call Book.xlsm --period ... --commit ..."
)


def _accuracy(model: Model, variance: pd.DataFrame, as_of: date) -> Block:
    table = call_accuracy(model.calls, variance, as_of)
    if table.empty:
        return note(
            ACCURACY_TITLE,
            _ACCURACY_COLUMNS,
            "No closed period has an opening commit call yet: a period is scored once it is over.",
        )
    shown = table.assign(owner=owner_labels(table["owner"]))
    return block(ACCURACY_TITLE, shown, _ACCURACY_COLUMNS, notes=_ACCURACY_NOTES)


def _weeks(model: Model, current: Period, as_of: date, currency: str) -> Block:
    title = f"Team call by week - {current.label}"
    weeks = team_weeks(model.calls, model.prospects, current, as_of)
    called = weeks[["commit", "most_likely", "best_case"]].notna().to_numpy().any()
    if weeks.empty or not called:
        return note(
            title,
            _WEEK_COLUMNS,
            f"No team call for {current.label} yet: the team's call is a row with a blank owner.",
        )
    weeks["system"] = forecasts_as_they_stood(model, current, list(weeks["week_end"]))
    weeks["label"] = [f"W{i}" for i in range(1, len(weeks) + 1)]
    chart = ChartSpec(
        kind="line",
        title=f"Team {current.label}: calls, system forecast and won to date",
        categories="label",
        series=("commit", "most_likely", "best_case", "system", "won_to_date"),
        y_title=currency,
    )
    return block(title, weeks, _WEEK_COLUMNS, charts=(chart,), notes=(_WEEKS_NOTE,))


def _calls(model: Model, variance: pd.DataFrame, as_of: date, free_column: int) -> Block:
    rows, hidden = call_rows(model.calls, variance, as_of)
    notes = list(_CALLS_NOTES)
    if hidden:
        notes.append(
            f"{hidden} period and owner pairs with calls are outside the periods shown "
            "here (or not made of them); PIPE_CALL reads them."
        )
    # At least one empty column: the trend's text never touches the numbers before it.
    spaces = max(1, free_column - 1 - len(_CALL_COLUMNS))
    gaps = [Column(f"gap{i}", "", "text") for i in range(spaces)]
    closed = (rows["state"] == "closed") & rows["latest"].notna()
    met = np.where(closed, np.where(rows["won"] >= rows["latest"], "F", "U"), "")
    shown = rows.assign(owner=owner_labels(rows["owner"]), met=met, **{c.key: None for c in gaps})
    return block(CALLS_TITLE, shown, (*_CALL_COLUMNS, *gaps, _TREND), notes=notes)


def call_blocks(
    model: Model,
    variance: pd.DataFrame,
    *,
    current: Period,
    as_of: date,
    currency: str,
    free_column: int = 0,
) -> list[Block]:
    """The Variance sheet's call blocks (module notes); one note when there is no call.

    ``variance`` is the sheet's `pipeline_xl.core.variance.variance_table`;
    ``free_column`` the 1-based column from which the sheet's other tables leave the
    columns free (0: right after the calls table's own columns).
    """
    calls = model.calls
    if calls.empty or not (calls["submitted_on"] <= pd.Timestamp(as_of)).any():
        return [note(ACCURACY_TITLE, _ACCURACY_COLUMNS, _NO_CALLS)]
    return [
        _accuracy(model, variance, as_of),
        _weeks(model, current, as_of, currency),
        _calls(model, variance, as_of, free_column),
    ]
