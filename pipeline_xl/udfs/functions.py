"""The PIPE_* worksheet functions, all in one namespace (what Excel and xlwings Lite load).

They are defined by concern: backward plans (`pipeline_xl.udfs.plans`), forecasts
(`pipeline_xl.udfs.forecasts`), history measures (`pipeline_xl.udfs.measures`) and
forecast calls (`pipeline_xl.udfs.calls`).

xlwings reads a function's type hints as converters, so arguments are annotated ``Any``
(its plain-value converter) and results ``int``, ``float`` or ``Any`` (spilled lists, and
numbers that may be an Excel error value, see `pipeline_xl.udfs.values`). Every argument
asks for Excel error values as text (``err_to_str``), so an error cell is refused with its
name instead of being read as a blank (`pipeline_xl.udfs.args`).

Docstrings are what Excel's Function Wizard shows (first 255 characters), so they are
written for the person typing the formula. Every function is pure: the same cells give
the same number on every recalculation (Monte Carlo runs are seeded). Tables are passed
whole, with their header row (``tblProspects[#All]``); the optional tail of every
table-driven function (as-of date, Stages, Activities, Settings, Snapshots) is described
in `pipeline_xl.udfs.common`.
"""

from __future__ import annotations

from pipeline_xl.udfs.calls import PIPE_CALL
from pipeline_xl.udfs.forecasts import (
    PIPE_COVERAGE,
    PIPE_FORECAST,
    PIPE_FORECAST_RANGE,
    PIPE_GAP,
    PIPE_HIT_PROBABILITY,
    PIPE_WEIGHTED,
    PIPE_WON,
)
from pipeline_xl.udfs.measures import (
    PIPE_AVG_DEAL,
    PIPE_CYCLE_DAYS,
    PIPE_STALE_COUNT,
    PIPE_VELOCITY,
    PIPE_WIN_RATE,
)
from pipeline_xl.udfs.plans import (
    PIPE_FUNNEL,
    PIPE_PLAN,
    PIPE_REQUIRED,
    PIPE_REQUIRED_CALLS,
    PIPE_REQUIRED_DEALS,
)

__all__ = [
    "PIPE_AVG_DEAL",
    "PIPE_CALL",
    "PIPE_COVERAGE",
    "PIPE_CYCLE_DAYS",
    "PIPE_FORECAST",
    "PIPE_FORECAST_RANGE",
    "PIPE_FUNNEL",
    "PIPE_GAP",
    "PIPE_HIT_PROBABILITY",
    "PIPE_PLAN",
    "PIPE_REQUIRED",
    "PIPE_REQUIRED_CALLS",
    "PIPE_REQUIRED_DEALS",
    "PIPE_STALE_COUNT",
    "PIPE_VELOCITY",
    "PIPE_WEIGHTED",
    "PIPE_WIN_RATE",
    "PIPE_WON",
]
