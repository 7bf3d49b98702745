"""pipeline-xl: sales-pipeline forecasts, backward activity plans and variance reports.

The package in layers, each importing only those below it (``make test`` checks this):

* ``pipeline_xl.core``: the engine. Pure pandas/numpy: no Excel or file-format library,
  no clock, no global randomness (``as_of`` dates and seeded generators are passed in);
* ``pipeline_xl.io`` (workbook files: reading, package editing, writers, LibreOffice) and
  ``pipeline_xl.udfs`` (the PIPE_* worksheet functions): adapters over the core;
* ``pipeline_xl.workbook``: the ready workbook (classic and xlwings Lite) built from the
  core's contract, with cached values computed by the worksheet functions;
* ``pipeline_xl.usecases``: new, refresh, import, metrics, rollup and demo;
* entry points: ``pipeline_xl.cli`` (the ``pipeline-xl`` command) and
  ``pipeline_xl.button`` (the workbook's Refresh button through xlwings).

The names below are the engine's public API; they are imported on first use, so
``import pipeline_xl.core.errors`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline_xl.core.errors import InputError, Issue
    from pipeline_xl.core.forecast import forecast_table, period_forecast, simulate
    from pipeline_xl.core.metrics import compute_metrics
    from pipeline_xl.core.model import Model, Settings, Stage, Stages, default_stages
    from pipeline_xl.core.periods import Period, parse_period, period_of, periods_between
    from pipeline_xl.core.planning import backward_plan, dated_plan, required_counts
    from pipeline_xl.core.reports import build_report
    from pipeline_xl.core.schema import validate
    from pipeline_xl.core.variance import variance_table

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

_HOME = {
    "InputError": "errors",
    "Issue": "errors",
    "forecast_table": "forecast",
    "period_forecast": "forecast",
    "simulate": "forecast",
    "compute_metrics": "metrics",
    "Model": "model",
    "Settings": "model",
    "Stage": "model",
    "Stages": "model",
    "default_stages": "model",
    "Period": "periods",
    "parse_period": "periods",
    "period_of": "periods",
    "periods_between": "periods",
    "backward_plan": "planning",
    "dated_plan": "planning",
    "required_counts": "planning",
    "build_report": "reports",
    "validate": "schema",
    "variance_table": "variance",
}


def __getattr__(name: str) -> object:
    """Import a public name from its core module on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'pipeline_xl' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pipeline_xl.core.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
