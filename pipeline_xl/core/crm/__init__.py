"""CRM exports into the Prospects table: presets, column mapping, conversion and the upsert.

An export is a table of text or typed cells with a header row. Importing it takes three
steps, all pure (no file access, no Excel library, no clock):

1. `resolve_mapping` (`mapping`): which export column feeds which Prospects field. An
   explicit ``--map`` wins, then the preset (`presets`: the column names of each CRM's
   standard deals export), then the header synonyms of the workbook contract.
2. `convert_export` (`convert`): cells to typed values (numbers with the file's decimal
   separator, rates, dates), stage names to the workbook's stage names, statuses to the
   contract's words, quirks fixed and reported; the result is an `Incoming` (`incoming`).
3. `plan_upsert` (`upsert`): the new Prospects rows. Deals are matched by ID: new IDs
   are appended, changed deals get only their mapped cells rewritten, every other column
   (including columns the user added) and every deal missing from the export is kept as
   it is.

Modules, bottom first: `presets` and `incoming`, then `mapping`, then `convert` and
`upsert`. Every workbook name (fields, headers, kinds, status words) comes from
`pipeline_xl.core.contract`; only the CRMs' own column names are spelled out here.
"""

from __future__ import annotations

from pipeline_xl.core.crm.convert import (
    convert_export,
    export_stages_table,
    price_list,
    prospects_frame_from,
)
from pipeline_xl.core.crm.incoming import Incoming, Note
from pipeline_xl.core.crm.mapping import (
    FIELDS,
    REQUIRED,
    ColumnMapping,
    known_header,
    parse_map,
    parse_stage_map,
    resolve_mapping,
)
from pipeline_xl.core.crm.presets import PRESETS, Preset
from pipeline_xl.core.crm.upsert import UpsertPlan, WriteKind, plan_upsert

__all__ = [
    "FIELDS",
    "PRESETS",
    "REQUIRED",
    "ColumnMapping",
    "Incoming",
    "Note",
    "Preset",
    "UpsertPlan",
    "WriteKind",
    "convert_export",
    "export_stages_table",
    "known_header",
    "parse_map",
    "parse_stage_map",
    "plan_upsert",
    "price_list",
    "prospects_frame_from",
    "resolve_mapping",
]
