"""What every table-driven worksheet function shares: its optional tail of arguments.

A function that reads the Prospects table computes on the same model the refresh
computes on, given the same tables. Its last arguments, all optional and in the
workbook's sheet order, say which:

``as_of``
    the as-of date (the Dashboard passes ``AsOfDate``, the Settings as-of date or the
    last refresh's); empty: the Settings table's as-of date, else the latest Created or
    Closed date of the prospects;
``stages``, ``activities``, ``settings``, ``snapshots``
    the other tables with their header rows (``tblStages[#All]`` ...): the sales process
    (default: Lead, Qualified, Proposal, Negotiation), the logged activities (stage
    entry dates), the settings (fiscal year, Monte Carlo trials and seed, slip, stale
    days) and the Snapshots log (cohort conversions and the learned slip).

Leaving a table out gives the engine less to learn from, so a figure can differ from the
report sheets' until the same tables are passed: the Dashboard passes them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import xlwings as xw

from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.udfs.args import as_period, optional_date, optional_period
from pipeline_xl.udfs.convert import model_of

__all__ = [
    "CATEGORY",
    "DOC_OWNER",
    "DOC_PERIOD",
    "DOC_PROSPECTS",
    "DOC_STAGES",
    "DOC_TARGETS",
    "TAIL",
    "book_model",
    "model_period",
    "optional_model_period",
    "tail_args",
]

CATEGORY = "pipeline-xl"
DOC_PROSPECTS = "The Prospects table with its header row, e.g. tblProspects[#All]"
DOC_STAGES = "Optional Stages table with its header row, e.g. tblStages[#All]"
DOC_TARGETS = "The Targets table with its header row, e.g. tblTargets[#All]"
DOC_PERIOD = "Period: 2026-03, 2026-Q1, FY2027, a date in the month, or two cells first/last day"
DOC_OWNER = "Optional sales rep; empty = the whole team"

TAIL: dict[str, dict[str, object]] = {
    "as_of": {"doc": "Optional as-of date, e.g. AsOfDate; empty = the Settings as-of date"},
    "stages": {"ndim": 2, "doc": DOC_STAGES},
    "activities": {"ndim": 2, "doc": "Optional Activities table, e.g. tblActivities[#All]"},
    "settings": {"ndim": 2, "doc": "Optional Settings table, e.g. tblSettings[#All]"},
    "snapshots": {"ndim": 2, "doc": "Optional Snapshots log, e.g. tblSnapshots[#All]"},
}
"""xlwings options of the optional tail arguments (every one asks for error texts)."""

F = TypeVar("F", bound=Callable[..., Any])


def tail_args(*names: str) -> Callable[[F], F]:
    """Declare the tail arguments ``names`` to xlwings (documentation and range shape)."""

    def declare(func: F) -> F:
        for name in reversed(names):
            func = xw.arg(name, err_to_str=True, **TAIL[name])(func)
        return func

    return declare


def book_model(
    prospects: object,
    stages: object = None,
    targets: object = None,
    activities: object = None,
    snapshots: object = None,
    settings: object = None,
    as_of: object = None,
) -> Model:
    """The model of the tables a function was given (`pipeline_xl.udfs.convert.model_of`)."""
    return model_of(
        prospects, stages, targets, activities, snapshots, settings,
        as_of=optional_date(as_of, "as_of"),
    )  # fmt: skip


def model_period(model: Model, value: object, argument: str = "period") -> Period:
    """A period argument read with the model's fiscal calendar."""
    return as_period(value, argument, fiscal_start=model.settings.fiscal_start_month)


def optional_model_period(model: Model, value: object, argument: str = "period") -> Period | None:
    """`model_period`, or None for an empty cell (all history)."""
    return optional_period(value, argument, fiscal_start=model.settings.fiscal_start_month)
