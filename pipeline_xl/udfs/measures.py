"""History worksheet functions: win rates, deal size, cycle, velocity, stale deals.

Win rate by count = won / (won + lost); by value = won amount / (won + lost amount); open
deals are left out (`pipeline_xl.core.metrics`). Sales velocity = open opportunities x
average deal x win rate / cycle length, per day. A measure over nothing (no closed deal,
no won deal) is #DIV/0!, never 0.
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.metrics import (
    avg_won_deal,
    cycle_days,
    open_pipeline,
    stale_deals,
    velocity,
    win_rates,
)
from pipeline_xl.udfs.args import as_bool, as_count, as_number
from pipeline_xl.udfs.common import (
    CATEGORY,
    DOC_OWNER,
    DOC_PROSPECTS,
    book_model,
    optional_model_period,
    tail_args,
)
from pipeline_xl.udfs.values import guard, number_or_error

__all__ = [
    "PIPE_AVG_DEAL",
    "PIPE_CYCLE_DAYS",
    "PIPE_STALE_COUNT",
    "PIPE_VELOCITY",
    "PIPE_WIN_RATE",
]

_DOC_WINDOW = "Optional period of closing; empty = all history"
_TAIL = ("as_of", "stages", "activities", "settings", "snapshots")


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_WINDOW, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@xw.arg("by_value", doc="Optional TRUE for the win rate by value (FALSE: by count)",
        err_to_str=True)  # fmt: skip
@tail_args(*_TAIL)
@guard
def PIPE_WIN_RATE(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any = None,
    owner: Any = None,
    by_value: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Won / (won + lost) deals closed in the period (by value: won / closed amount).

    #DIV/0! when no deal closed.
    """
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    count, value = win_rates(
        model.prospects, model.settings.as_of, owner=model.owner_named(owner) or None,
        period=optional_model_period(model, period),
    )  # fmt: skip
    return number_or_error(value if as_bool(by_value, "by_value") else count)


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_WINDOW, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args(*_TAIL)
@guard
def PIPE_AVG_DEAL(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any = None,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Average amount of the deals won (in the period, or over all history); #DIV/0! if none."""
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    return number_or_error(
        avg_won_deal(
            model.prospects, model.settings.as_of, owner=model.owner_named(owner) or None,
            period=optional_model_period(model, period),
        )
    )  # fmt: skip


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("period", doc=_DOC_WINDOW, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@xw.arg("percentile", doc="Optional 50 (median, default) or 80", err_to_str=True)
@tail_args(*_TAIL)
@guard
def PIPE_CYCLE_DAYS(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    period: Any = None,
    owner: Any = None,
    percentile: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Median (or 80th percentile) days from created to closed for won deals.

    #DIV/0! when no won deal has both dates.
    """
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    which = as_number(percentile, "percentile", default=50.0)
    if which not in {50.0, 80.0}:
        raise InputError(f"percentile: {percentile!r} is not 50 or 80")
    median, p80 = cycle_days(
        model.prospects, model.settings.as_of, owner=model.owner_named(owner) or None,
        period=optional_model_period(model, period),
    )  # fmt: skip
    return number_or_error(median if which == 50.0 else p80)


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@tail_args(*_TAIL)
@guard
def PIPE_VELOCITY(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    owner: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> Any:
    """Sales velocity per day: open deals x average deal x win rate / cycle days.

    #DIV/0! without won deals to measure.
    """
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    who = model.owner_named(owner) or None
    day = model.settings.as_of
    _, count = open_pipeline(model.prospects, day, owner=who)
    rate, _ = win_rates(model.prospects, day, owner=who)
    median, _ = cycle_days(model.prospects, day, owner=who)
    return number_or_error(
        velocity(count, avg_won_deal(model.prospects, day, owner=who), rate, median)
    )


@xw.func(category=CATEGORY)
@xw.arg("prospects", ndim=2, doc=DOC_PROSPECTS, err_to_str=True)
@xw.arg("owner", doc=DOC_OWNER, err_to_str=True)
@xw.arg("days", doc="Optional days without activity that make a deal stale; empty = Settings'",
        err_to_str=True)  # fmt: skip
@tail_args(*_TAIL)
@guard
def PIPE_STALE_COUNT(  # noqa: N802 - Excel names and positional arguments
    prospects: Any,
    owner: Any = None,
    days: Any = None,
    as_of: Any = None,
    stages: Any = None,
    activities: Any = None,
    settings: Any = None,
    snapshots: Any = None,
) -> int:
    """Open deals with no activity for more than the given days (default: the Settings', 30)."""
    model = book_model(prospects, stages, None, activities, snapshots, settings, as_of)
    limit = as_count(days, "days", default=model.settings.stale_days, low=1, high=3650)
    found = stale_deals(
        model.prospects, model.settings.as_of, limit, owner=model.owner_named(owner) or None
    )
    return len(found)
