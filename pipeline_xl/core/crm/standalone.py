"""An export read on its own (``metrics`` on an export file): its Stages and Prospects tables.

The export gets the Stages table a new workbook has (`model.default_stages`), plus each
stage it uses that neither that table nor the preset's map (`mapping.preset_stage_map`)
knows, as an open stage (`export_stages_table`); its converted deals become a raw
Prospects table (`prospects_frame_from`) for validation. So the metrics of an export are
those of the same export imported into a new workbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import PROSPECTS, STAGES, norm_key, status_word
from pipeline_xl.core.crm.incoming import Incoming
from pipeline_xl.core.crm.mapping import preset_stage_map, stage_spellings
from pipeline_xl.core.crm.presets import Preset
from pipeline_xl.core.model import Stage, default_stages

__all__ = ["export_stages_table", "prospects_frame_from"]


def export_stages_table(
    preset: Preset | None, incoming_stages: Sequence[object]
) -> list[list[object]]:
    """A Stages table for an export read on its own (``metrics`` on an export file).

    The open stages of a new workbook (`model.default_stages`), then each stage the
    export uses that neither they nor the preset's map (`mapping.preset_stage_map`)
    know, in order of first appearance, as open stages; then Won and Lost.
    """
    default = default_stages()
    columns = ("stage", "activity", "probability", "conversion", "days_to_close", "status")
    rows: list[list[object]] = [[STAGES.header(c) for c in columns]]

    def row(s: Stage) -> list[object]:
        return [s.name, s.activity, s.probability, s.conversion, s.days_to_close, s.status]

    rows.extend(row(s) for s in default.open)
    known = {norm_key(s.name) for s in default.all}
    known |= {norm_key(crm) for crm in preset_stage_map(preset, default)}
    for text in incoming_stages:
        cleaned = clean_text(text)
        keys = {norm_key(t) for t in stage_spellings(cleaned)}
        if not cleaned or keys & known or status_word(cleaned) in {"won", "lost"}:
            continue
        known |= keys
        rows.append([cleaned, cleaned, None, None, None, "open"])
    rows.extend(row(s) for s in (default.won, default.lost) if s is not None)
    return rows


def prospects_frame_from(incoming: Incoming) -> pd.DataFrame:
    """The incoming deals as a raw Prospects table (workbook headers) for validation."""
    data: dict[str, Any] = {PROSPECTS.header("id"): pd.Series(incoming.ids, dtype=object)}
    for h, v in incoming.values.items():
        data[h] = pd.Series(v, dtype=object)
    return pd.DataFrame(data)
