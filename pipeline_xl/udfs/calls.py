"""Forecast-call worksheet functions: the call that stands for a period, as of a date.

The Forecast calls table (``tblCalls[#All]``) holds every call ever made, one row per
call and type; the latest call on or before the as-of date is the call as of that date
(`pipeline_xl.core.calls`). A period or owner nobody called gives ``#N/A``: the figure
does not exist, and formulas built on it (``IFERROR``, ``ISNA``) can tell. The type
argument is named ``call_type``: ``Type`` is a reserved word of VBA, where classic Excel
declares every function's arguments.
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

from pipeline_xl.core.calls import call_kind
from pipeline_xl.udfs.args import as_period, as_text, optional_date
from pipeline_xl.udfs.common import CATEGORY, DOC_OWNER, DOC_PERIOD, TAIL
from pipeline_xl.udfs.convert import calls_of
from pipeline_xl.udfs.values import NA, guard

__all__ = ["PIPE_CALL"]

_DOC_CALLS = "The Forecast calls table with its header row, e.g. tblCalls[#All]"
_DOC_TYPE = "Optional call type: commit (default), most likely or best case"
_DOC_AS_OF = "Optional as-of date, e.g. AsOfDate; empty = the Settings as-of date, else all calls"


@xw.func(category=CATEGORY)
@xw.arg("calls", ndim=2, doc=_DOC_CALLS, err_to_str=True)
@xw.arg("period", doc=DOC_PERIOD, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@xw.arg("call_type", doc=_DOC_TYPE, err_to_str=True)
@xw.arg("as_of", doc=_DOC_AS_OF, err_to_str=True)
@xw.arg("settings", err_to_str=True, **TAIL["settings"])
@guard
def PIPE_CALL(  # noqa: N802 - Excel names and positional arguments
    calls: Any,
    period: Any,
    owner: Any = None,
    call_type: Any = None,
    as_of: Any = None,
    settings: Any = None,
) -> Any:
    """The latest forecast call for the period on or before the as-of date; #N/A if none.

    A blank owner is the team's own call; a manager adjustment replaces the amount.
    """
    given = calls_of(calls, settings)
    fiscal = given.settings.fiscal_start_month
    day = optional_date(as_of, "as_of") or given.as_of
    kind = call_kind(as_text(call_type), "call_type")
    found = given.book.latest(
        as_period(period, fiscal_start=fiscal), as_text(owner), kind, as_of=day
    )
    return NA if found is None else found.value
