"""Backtest the forecast methods on a workbook or a CRM export (``pipeline-xl backtest``).

A workbook is validated as it is, as of its Settings date (or the one given); its
Snapshots log and Activities table date the pipeline of each period's start. An export
is mapped as ``import`` maps it (`pipeline_xl.usecases.metrics.export_model`) and is as
of its latest date; its pipeline of a past day is rebuilt from the deals' created and
closed dates alone. Each period of the range is forecast with every method from the
pipeline as it stood when the forecast was made, and scored against what was won
(`pipeline_xl.core.backtest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pipeline_xl.core.backtest import Backtest, backtest, default_range, span
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model
from pipeline_xl.core.periods import Period
from pipeline_xl.io.reader import is_pipeline_workbook, read_workbook
from pipeline_xl.usecases.metrics import export_model

__all__ = ["BacktestResult", "backtest_of"]


@dataclass(frozen=True)
class BacktestResult:
    """A backtest of a workbook or an export, and where it came from."""

    source: Path
    kind: str  # "workbook" or "export"
    backtest: Backtest
    model: Model
    notes: tuple[str, ...] = ()
    currency: str = ""  # the workbook's currency; an export does not say

    def to_dict(self) -> dict[str, object]:
        """`Backtest.to_dict`: ``{"periods": [...], "summary": {...}}``."""
        return self.backtest.to_dict()


def _period(model: Model, label: str, option: str) -> Period:
    try:
        return model.settings.parse_period(label)
    except InputError as err:
        raise InputError(
            f"{option}: {err}", value=label, expected="a period such as 2017-06"
        ) from err


def backtest_of(
    source: str | Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    first: str | None = None,
    last: str | None = None,
    horizon: int = 1,
    as_of: date | None = None,
    today: date | None = None,
    trials: int | None = None,
) -> BacktestResult:
    """Backtest every forecast method on a workbook or an export file.

    ``first`` / ``last``: the first and last periods (labels; default: the last twelve
    periods closed before the as-of date). ``horizon``: periods ahead the forecasts are
    made (1: on each period's first day). ``trials``: Monte Carlo trials (default: the
    Settings'). ``today``: the last resort of a workbook's as-of date, as for ``metrics``.

    Raises:
        InputError: a bad file, option or period, or a forecast date before anything the
            source has dated.

    """
    path = Path(source)
    notes: list[str] = []
    if is_pipeline_workbook(path):
        raw = read_workbook(path)
        model = raw.validate(as_of=raw.as_of(given=as_of, today=today))
        kind, currency = "workbook", model.settings.currency
    else:
        read = export_model(path, preset=preset, mapping=mapping, as_of=as_of)
        model, notes = read.model, read.notes
        kind, currency = "export", read.currency
    default_first, default_last = default_range(model)
    start = _period(model, first, "--from") if first else default_first
    end = _period(model, last, "--to") if last else default_last
    if end.end > model.settings.as_of + timedelta(days=1):
        raise InputError(
            f"{end.label} is not over on {model.settings.as_of}: it cannot be scored yet",
            value=end.label,
            expected="--to a period that ended by the as-of date",
        )
    if end.start < start.start:
        raise InputError(
            "the backtest range ends before it starts",
            value=f"{start.label} to {end.label}",
            expected="--from on or before --to",
        )
    result = backtest(model, span(start, end), horizon=horizon, trials=trials)
    return BacktestResult(path, kind, result, model, tuple(notes), currency)
