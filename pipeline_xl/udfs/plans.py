"""Backward-planning worksheet functions: from a revenue target to countable activities.

deals = ceil(gap / average deal), then each earlier activity = ceil(next count / its
conversion), back to the first activity; a count that is mathematically whole is never
pushed up by binary rounding (`pipeline_xl.core.planning`). For a table-driven plan the
team's plan is the team's own (team target - team won - team expected pipeline, with the
team's rates); an owner's plan is that owner's, and owners' plans need not add up to the
team's (an owner ahead of target needs nothing, another behind needs whole deals).
"""

from __future__ import annotations

import math
from typing import Any

import xlwings as xw

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.planning import backward_plan, dated_plan, funnel_table, required_counts
from pipeline_xl.udfs.args import as_amount, as_rates, as_text
from pipeline_xl.udfs.common import (
    CATEGORY,
    DOC_OWNER,
    DOC_PERIOD,
    DOC_PROSPECTS,
    DOC_TARGETS,
    book_model,
    model_period,
    tail_args,
)
from pipeline_xl.udfs.convert import frame_rows, stages_of
from pipeline_xl.udfs.values import NA, guard

__all__ = [
    "PIPE_FUNNEL",
    "PIPE_PLAN",
    "PIPE_REQUIRED",
    "PIPE_REQUIRED_CALLS",
    "PIPE_REQUIRED_DEALS",
]

_DOC_STAGES = "The Stages table with its header row, e.g. tblStages[#All]"


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period", err_to_str=True)
@xw.arg("avg_deal", doc="Average won deal size", err_to_str=True)
@xw.arg(
    "rates",
    ndim=1,
    doc="Conversion rates from the first activity to won, in order (25% or 0.25)",
    err_to_str=True,
)
@xw.arg("won_to_date", doc="Optional revenue already won in the period", err_to_str=True)
@xw.arg(
    "expected_pipeline", doc="Optional weighted open pipeline expected to close", err_to_str=True
)
@guard
def PIPE_REQUIRED_CALLS(  # noqa: N802 - Excel function names are upper case
    target: Any,
    avg_deal: Any,
    rates: Any,
    won_to_date: Any = None,
    expected_pipeline: Any = None,
) -> int:
    """First-stage activities (e.g. calls) needed to reach the target.

    deals = ceil(gap / average deal), then each earlier count = ceil(next / its rate).
    Rates run from 0 to 1 (type 25% or 0.25).
    """
    counts = required_counts(
        as_amount(target, "target"), as_amount(avg_deal, "avg_deal", positive=True),
        as_rates(rates), as_amount(won_to_date, "won_to_date", default=0.0),
        as_amount(expected_pipeline, "expected_pipeline", default=0.0),
    )  # fmt: skip
    return counts[0]


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period", err_to_str=True)
@xw.arg("avg_deal", doc="Average won deal size", err_to_str=True)
@xw.arg("won_to_date", doc="Optional revenue already won in the period", err_to_str=True)
@xw.arg(
    "expected_pipeline", doc="Optional weighted open pipeline expected to close", err_to_str=True
)
@guard
def PIPE_REQUIRED_DEALS(  # noqa: N802 - Excel function names are upper case
    target: Any, avg_deal: Any, won_to_date: Any = None, expected_pipeline: Any = None
) -> int:
    """Deals still to win: ceil((target - won - expected pipeline) / average deal), at least 0."""
    counts = required_counts(
        as_amount(target, "target"), as_amount(avg_deal, "avg_deal", positive=True), [1.0],
        as_amount(won_to_date, "won_to_date", default=0.0),
        as_amount(expected_pipeline, "expected_pipeline", default=0.0),
    )  # fmt: skip
    return counts[-1]


@xw.func(category=CATEGORY)
@xw.arg(
    "activity", doc="Activity or stage name (Call, Meeting, Offer...) or Deals", err_to_str=True
)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES, err_to_str=True)
@xw.arg("targets", ndim=2, doc=DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "activities", "settings", "snapshots")
@guard
def PIPE_REQUIRED(  # noqa: N802 - Excel names and positional arguments
    activity: Any,
    prospects: Any,
    stages: Any,
    targets: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """How many of an activity the period's target still needs, from the team's history.

    Blank owner: the team's own plan. Rates and average deal come from closed deals (else
    the Stages table). #N/A when the period has no target for that owner.
    """
    model = book_model(prospects, stages, targets, activities, snapshots, settings, as_of)
    p, who = model_period(model, period), model.owner_named(owner)
    if math.isnan(model.target(p, who)):
        return NA  # no target: nothing to plan for
    plan = backward_plan(model, p, who)
    wanted = as_text(activity).casefold()
    for level in plan.levels:
        if wanted in {level.activity.casefold(), level.stage.casefold()}:
            return level.count
    if wanted in {"deal", "deals"}:
        return plan.deals
    names = ", ".join(level.activity for level in plan.levels)
    raise InputError(f"activity: {activity!r} is not one of {names} or Deals")


@xw.func(category=CATEGORY)
@xw.arg("target", doc="Revenue target for the period", err_to_str=True)
@xw.arg("avg_deal", doc="Average won deal size", err_to_str=True)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES, err_to_str=True)
@guard
def PIPE_FUNNEL(target: Any, avg_deal: Any, stages: Any) -> Any:  # noqa: N802 - Excel name
    """Spills the backward funnel: activity, conversion rate and required count per stage."""
    table = funnel_table(
        as_amount(target, "target"), as_amount(avg_deal, "avg_deal", positive=True),
        stages_of(stages),
    )  # fmt: skip
    return frame_rows(table, ["Activity", "Conversion", "Required"])


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("stages", ndim=2, doc=_DOC_STAGES, err_to_str=True)
@xw.arg("targets", ndim=2, doc=DOC_TARGETS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args("as_of", "activities", "settings", "snapshots")
@guard
def PIPE_PLAN(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    stages: Any,
    targets: Any,
    period: Any,
    owner: Any = None,
    as_of: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Spills the dated plan: week, activity, required count; too-late work listed first."""
    model = book_model(prospects, stages, targets, activities, snapshots, settings, as_of)
    who = model.owner_named(owner)
    plan = dated_plan(model, model_period(model, period), who)
    out: list[list[Any]] = [["Week", "Activity", "Required", "Note"]]
    late = plan.too_late.loc[plan.too_late["owner"] == who]
    out.extend(
        [rec["needed_by"], rec["activity"], int(rec["count"]), "too late"]
        for rec in late.to_dict("records")
    )
    rows = plan.rows.loc[plan.rows["owner"] == who]
    out.extend(
        [rec["bucket_start"], rec["activity"], int(rec["required"]), ""]
        for rec in rows.to_dict("records")
    )
    return out
