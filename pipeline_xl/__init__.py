"""pipeline-xl: sales-pipeline forecasts, backward activity plans and variance reports.

The core (this package minus ``pipeline_xl.io``, ``pipeline_xl.cli`` and the live and
Lite adapters) is pure: it never imports Excel libraries, never reads the clock and never
uses global randomness. ``as_of`` dates and seeded generators are passed in.
"""

from pipeline_xl.errors import InputError, Issue
from pipeline_xl.forecast import forecast_table, period_forecast, simulate
from pipeline_xl.metrics import compute_metrics
from pipeline_xl.model import Model, Settings, Stage, Stages, default_stages
from pipeline_xl.periods import Period, parse_period, period_of, periods_between
from pipeline_xl.planning import backward_plan, dated_plan, required_counts
from pipeline_xl.reports import build_report
from pipeline_xl.schema import validate
from pipeline_xl.variance import variance_table

__all__ = [
    "InputError",
    "Issue",
    "Model",
    "Period",
    "Settings",
    "Stage",
    "Stages",
    "backward_plan",
    "build_report",
    "compute_metrics",
    "dated_plan",
    "default_stages",
    "forecast_table",
    "parse_period",
    "period_forecast",
    "period_of",
    "periods_between",
    "required_counts",
    "simulate",
    "validate",
    "variance_table",
]

__version__ = "0.1.0"
