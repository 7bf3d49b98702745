"""Excel worksheet functions (PIPE_*) over the pipeline-xl engine.

Import them in Python (``from pipeline_xl.udfs import PIPE_REQUIRED_CALLS``) or register them in
Excel through xlwings ("UDF Modules" = ``udfs`` or a module that re-exports them).
"""

from pipeline_xl.udfs.functions import (
    PIPE_AVG_DEAL,
    PIPE_CALL,
    PIPE_COVERAGE,
    PIPE_CYCLE_DAYS,
    PIPE_FORECAST,
    PIPE_FORECAST_RANGE,
    PIPE_FUNNEL,
    PIPE_GAP,
    PIPE_HIT_PROBABILITY,
    PIPE_PLAN,
    PIPE_REQUIRED,
    PIPE_REQUIRED_CALLS,
    PIPE_REQUIRED_DEALS,
    PIPE_STALE_COUNT,
    PIPE_VELOCITY,
    PIPE_WEIGHTED,
    PIPE_WIN_RATE,
    PIPE_WON,
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
