"""pipeline-xl: sales-pipeline forecasts, backward activity plans and variance reports.

The core (this package minus ``pipeline_xl.io``, ``pipeline_xl.cli`` and the live and
Lite adapters) is pure: it never imports Excel libraries, never reads the clock and never
uses global randomness. ``as_of`` dates and seeded generators are passed in.
"""

from pipeline_xl.errors import InputError, Issue
from pipeline_xl.model import Model, Settings, Stage, Stages, default_stages
from pipeline_xl.periods import Period, parse_period, period_of, periods_between

__all__ = [
    "InputError",
    "Issue",
    "Model",
    "Period",
    "Settings",
    "Stage",
    "Stages",
    "default_stages",
    "parse_period",
    "period_of",
    "periods_between",
]

__version__ = "0.1.0"
