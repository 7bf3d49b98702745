"""Headline metrics of a workbook or of a CRM export (``pipeline-xl metrics``).

A workbook is validated as it is, as of the given date, else its Settings as-of date,
else the as-of date of its last refresh (so the figures match its report sheets), else
today. An export
is mapped like ``import`` does, needing no ID column (each deal is keyed as the import
would key it, or each row is a deal), and gets the Stages table of a new workbook with
the preset's map of its CRM's stages onto it (`crm.export_stages_table`): so the metrics
of an export are those of the same export imported into a new workbook. It is as of its
latest close, creation or activity date unless an as-of date is given. Its currency is
``--currency``, else its currency column, else the preset's. An export given without
``--preset`` whose columns are a preset's gets that preset suggested.

The data issues validation finds are listed by kind (`MetricsResult.issue_lines`), not
only counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from pipeline_xl.core import crm
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.core.currency import currency_code
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.metrics import Metrics, compute_metrics
from pipeline_xl.core.model import Model, Settings
from pipeline_xl.core.schema import validate, validate_stages
from pipeline_xl.core.timeline import as_seen
from pipeline_xl.io.exports import read_export
from pipeline_xl.io.reader import is_pipeline_workbook, read_workbook
from pipeline_xl.usecases.importing import convert, issue_lines, preset_named, suggest_preset

__all__ = ["ExportRead", "MetricsResult", "export_model", "metrics_of"]


@dataclass(frozen=True)
class MetricsResult:
    """Metrics of a workbook or an export, and where they came from.

    ``hints`` come first (a preset to use); ``notes`` say what the conversion did.
    """

    source: Path
    kind: str  # "workbook" or "export"
    metrics: Metrics
    model: Model
    notes: tuple[str, ...] = ()
    currency: str = ""  # the workbook's, or the export's when known
    hints: tuple[str, ...] = ()

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

    def issue_lines(self, limit: int = 8) -> list[str]:
        """The data issues by kind, most frequent first, with their counts and first rows."""
        return issue_lines(self.model.issues, limit)


def _latest_date(incoming: crm.Incoming) -> date | None:
    latest: date | None = None
    for name in ("closed", "created", "last_activity"):
        header = PROSPECTS.header(name)
        for value in incoming.values.get(header, np.empty(0, dtype=object)).tolist():
            if isinstance(value, datetime):
                day = value.date()
                latest = day if latest is None or day > latest else latest
    return latest


@dataclass(frozen=True)
class ExportRead:
    """A CRM export read as a new workbook would hold it after ``import``."""

    model: Model
    notes: list[str]
    currency: str  # ``--currency``, else the export's currency column, else the preset's
    hints: list[str]  # a preset to use, when none was given and the columns are one's


def export_model(
    path: Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    as_of: date | None = None,
    currency: str | None = None,
) -> ExportRead:
    """The validated model of a CRM export file, and notes on how it was read.

    Raises:
        InputError: a bad file or option, or an export without any date and no ``as_of``.

    """
    given = currency_code(currency, argument="--currency") if currency else None
    chosen = preset_named(preset)
    export = read_export(path)
    first = crm.resolve_mapping(
        export.headers,
        preset=chosen,
        explicit=crm.parse_map(mapping),
        where=path.name,
        need_key=False,
    )
    stage_texts = export.frame.iloc[:, first.columns["stage"][0]].tolist()
    stages_table = crm.export_stages_table(chosen, stage_texts)
    stages = validate_stages(stages_table)[0]
    _, incoming = convert(export, stages, preset=chosen, mapping_text=mapping, need_key=False)
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
        raise InputError(f"{path.name} has no deal", expected="one row per deal")
    model = validate(
        crm.prospects_frame_from(incoming),
        stages_table,
        settings=Settings(as_of=day),
        header_rows={PROSPECTS.sheet: export.header_row},
    )
    code = given or incoming.currency or (chosen.currency if chosen is not None else None)
    return ExportRead(model, notes, code or "", list(suggest_preset(export, chosen)))


def metrics_of(
    source: str | Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    as_of: date | None = None,
    today: date | None = None,
    owner: str = "",
    currency: str | None = None,
) -> MetricsResult:
    """Headline metrics (`metrics.compute_metrics`) of a workbook or of an export file.

    ``currency`` (an ISO 4217 code) labels an export's amounts; a workbook has its own.
    ``today`` is the last resort of a workbook's as-of date (module docstring).

    Raises:
        InputError: a bad file or option, or an export without any date and no ``as_of``.

    """
    path = Path(source)
    if is_pipeline_workbook(path):
        raw = read_workbook(path)
        model = as_seen(raw.validate(as_of=raw.as_of(given=as_of, today=today)))
        metrics = compute_metrics(model, model.owner_named(owner, argument="--owner"))
        return MetricsResult(path, "workbook", metrics, model, currency=model.settings.currency)
    read = export_model(path, preset=preset, mapping=mapping, as_of=as_of, currency=currency)
    who = read.model.owner_named(owner, argument="--owner")
    return MetricsResult(
        path,
        "export",
        compute_metrics(read.model, who),
        read.model,
        tuple(read.notes),
        currency=read.currency,
        hints=tuple(read.hints),
    )
