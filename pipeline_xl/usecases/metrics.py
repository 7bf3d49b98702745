"""Headline metrics of a workbook or of a CRM export (``pipeline-xl metrics``).

A workbook is validated as it is, as of its Settings date (or the given one). An export
is mapped like ``import`` does, with a Stages table made of the preset's stages and the
stages it uses (`crm.export_stages_table`), and is as of its latest close, creation or
activity date unless an as-of date is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from pipeline_xl.core import crm
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.metrics import Metrics, compute_metrics
from pipeline_xl.core.model import Model, Settings
from pipeline_xl.core.schema import validate, validate_stages
from pipeline_xl.io.exports import read_export
from pipeline_xl.io.reader import is_pipeline_workbook, read_workbook
from pipeline_xl.usecases.importing import convert, preset_named

__all__ = ["MetricsResult", "export_model", "metrics_of"]


@dataclass(frozen=True)
class MetricsResult:
    """Metrics of a workbook or an export, and where they came from."""

    source: Path
    kind: str  # "workbook" or "export"
    metrics: Metrics
    model: Model
    notes: tuple[str, ...] = ()
    currency: str = ""  # the workbook's currency; an export does not say

    def to_dict(self) -> dict[str, object]:
        """`Metrics.to_dict` plus the source and the issue counts (JSON-ready)."""
        severity = self.model.issues["severity"]
        return {
            **self.metrics.to_dict(),
            "source": str(self.source),
            "source_kind": self.kind,
            "currency": self.currency,
            "issues_errors": int((severity == "error").sum()),
            "issues_warnings": int((severity == "warning").sum()),
        }


def _latest_date(incoming: crm.Incoming) -> date | None:
    latest: date | None = None
    for name in ("closed", "created", "last_activity"):
        header = PROSPECTS.header(name)
        for value in incoming.values.get(header, np.empty(0, dtype=object)).tolist():
            if isinstance(value, datetime):
                day = value.date()
                latest = day if latest is None or day > latest else latest
    return latest


def export_model(
    path: Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    as_of: date | None = None,
) -> tuple[Model, list[str]]:
    """The validated model of a CRM export file, and notes on how it was read.

    Raises:
        InputError: a bad file or option, or an export without any date and no ``as_of``.

    """
    chosen = preset_named(preset)
    export = read_export(path)
    first = crm.resolve_mapping(
        export.headers, preset=chosen, explicit=crm.parse_map(mapping), where=path.name
    )
    stage_texts = export.frame.iloc[:, first.columns["stage"][0]].tolist()
    stages_table = crm.export_stages_table(chosen, stage_texts)
    stages = validate_stages(stages_table)[0]
    _, incoming = convert(export, stages, preset=chosen, mapping_text=mapping)
    notes = [f"{n.severity}: {n.text}" for n in incoming.notes] + list(incoming.conflicts)
    day = as_of or _latest_date(incoming)
    if day is None:
        raise InputError(
            f"{path.name} has no close or creation date to date it",
            expected="--as-of YYYY-MM-DD",
        )
    if as_of is None:
        notes.append(f"as of {day.isoformat()}: the latest date in the export (--as-of to change)")
    if not len(incoming):
        raise InputError(f"{path.name} has no deal with an ID", expected="one row per deal")
    model = validate(
        crm.prospects_frame_from(incoming),
        stages_table,
        settings=Settings(as_of=day),
        header_rows={PROSPECTS.sheet: export.header_row},
    )
    return model, notes


def metrics_of(
    source: str | Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    as_of: date | None = None,
    owner: str = "",
) -> MetricsResult:
    """Headline metrics (`metrics.compute_metrics`) of a workbook or of an export file.

    Raises:
        InputError: a bad file or option, or an export without any date and no ``as_of``.

    """
    path = Path(source)
    if is_pipeline_workbook(path):
        model = read_workbook(path).validate(as_of=as_of)
        metrics = compute_metrics(model, owner)
        return MetricsResult(path, "workbook", metrics, model, currency=model.settings.currency)
    model, notes = export_model(path, preset=preset, mapping=mapping, as_of=as_of)
    return MetricsResult(path, "export", compute_metrics(model, owner), model, tuple(notes))
