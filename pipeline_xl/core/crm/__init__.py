"""CRM exports into the Prospects table: presets, column mapping, conversion and the upsert.

An export is a table of text or typed cells with a header row. Importing it takes three
steps, all pure (no file access, no Excel library, no clock):

1. `resolve_mapping` (`mapping`): which export column feeds which Prospects field. An
   explicit ``--map`` wins, then the preset (`presets`: the column names of each CRM's
   standard deals export), then the header synonyms of the workbook contract. An export
   without an ID column is keyed by name, company and created date (`keys`).
2. `convert_export` (`convert`): cells to typed values (numbers with the file's decimal
   separator, rates, dates in the day/month order their column tells), stage names to
   the workbook's stage names, statuses to the contract's words, quirks fixed and
   reported; the result is an `Incoming` (`incoming`).
3. `plan_upsert` (`upsert`): the new Prospects rows. Deals are matched by ID: new IDs
   are appended, changed deals get only their mapped cells rewritten, every other column
   (including columns the user added) and every deal missing from the export is kept as
   it is.

Stages: each preset maps its CRM's standard stages onto the workbook's own process
(Prospecting and Engaging, Maven's open stages before any offer, become Lead and
Qualified; `presets` gives every preset's map and why); a ``--stage-map`` overrides it
and is stored in the workbook's Settings for the next imports (`stage_map_for`). An
export read on its own (``metrics``) gets the Stages table of a new workbook
(`standalone`), so its metrics are those the export shows once imported.

Modules, bottom first: `presets` and `incoming`, then `mapping` and `keys`, then
`convert`, `upsert` and `standalone`. Every workbook name (fields, headers, kinds, status
words) comes from `pipeline_xl.core.contract`; only the CRMs' own column and stage names
are spelled out here.
"""

from __future__ import annotations

from pipeline_xl.core.crm.convert import convert_export, price_list
from pipeline_xl.core.crm.incoming import Incoming, Note
from pipeline_xl.core.crm.keys import deal_key
from pipeline_xl.core.crm.mapping import (
    FIELDS,
    KEY_FIELDS,
    REQUIRED,
    ColumnMapping,
    format_stage_map,
    known_header,
    matching_preset,
    parse_map,
    parse_stage_map,
    preset_stage_map,
    resolve_mapping,
    stage_map_for,
)
from pipeline_xl.core.crm.presets import PRESETS, Preset
from pipeline_xl.core.crm.standalone import export_stages_table, prospects_frame_from
from pipeline_xl.core.crm.upsert import UpsertPlan, WriteKind, plan_upsert

__all__ = [
    "FIELDS",
    "KEY_FIELDS",
    "PRESETS",
    "REQUIRED",
    "ColumnMapping",
    "Incoming",
    "Note",
    "Preset",
    "UpsertPlan",
    "WriteKind",
    "convert_export",
    "deal_key",
    "export_stages_table",
    "format_stage_map",
    "known_header",
    "matching_preset",
    "parse_map",
    "parse_stage_map",
    "plan_upsert",
    "preset_stage_map",
    "price_list",
    "prospects_frame_from",
    "resolve_mapping",
    "stage_map_for",
]
