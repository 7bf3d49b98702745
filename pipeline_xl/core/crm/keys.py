"""Stable IDs for the deals of an export without an ID column.

A Salesforce report shows the Opportunity ID only when it is added to the report by hand;
other exports have none at all. ``metrics`` needs no ID, but ``import`` matches deals by
ID, so such a deal gets a key made of what identifies it across exports: its name, its
company and its created date (`deal_key`). Names and companies are folded by
`contract.norm_key`, so a change of case, accents, spaces or punctuation in the CRM keeps
the key; the created date counts by day, whatever its format in the file. A deal
renamed in the CRM (or moved to another company) gets a new key and is seen as a new
deal: the import says so (`deal_keys`). Two deals with the same name, company and
created day share a key: the conversion treats them as one ID given twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np

from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import PROSPECTS, norm_key
from pipeline_xl.core.crm.incoming import Note, ObjectArray

__all__ = ["deal_key", "deal_keys"]


def _what(name: str) -> str:
    """``company``, ``created date``: a field as a sentence names it."""
    field = PROSPECTS.field(name)
    return field.header.lower() + (" date" if field.kind == "date" else "")


def deal_key(name: object, company: object, created: object) -> str | None:
    """A stable ID for a deal of an export without IDs; None when all three are blank.

    ``K-`` and 12 hex digits of a hash of the name and company folded by
    `contract.norm_key` (case, accents, spaces and punctuation do not count) and the
    created day, so re-exports key the same deal alike; a renamed deal gets a new key.
    """
    parts = []
    for value in (name, company, created):
        if isinstance(value, datetime | date):
            parts.append(value.strftime("%Y-%m-%d"))
        else:
            parts.append(norm_key(clean_text(value)) if value is not None else "")
    if not any(parts):
        return None
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return f"K-{digest[:12].upper()}"


def deal_keys(
    values: Mapping[str, ObjectArray], fields: Sequence[str], notes: list[Note]
) -> ObjectArray:
    """`deal_key` of each row from the converted Name, Company and Created cells; reported.

    ``fields`` are those the export has (`mapping.ColumnMapping.keyed_by`); the warning
    in ``notes`` names them and shows a key.
    """
    n = len(next(iter(values.values())))
    columns = [
        values.get(f, np.full(n, None, dtype=object)) for f in ("name", "company", "created")
    ]
    keys = np.empty(n, dtype=object)
    keys[:] = [deal_key(*cells) for cells in zip(*columns, strict=True)]
    shown = next((k for k in keys if k is not None), None)
    by = ", ".join(PROSPECTS.header(f) for f in fields)
    if len(fields) > 1:
        by = f"{by.rsplit(', ', 1)[0]} and {PROSPECTS.header(fields[-1])}"
    others = " or ".join(_what(f) for f in fields if f != "name")
    notes.append(
        Note(
            "warning",
            f"no ID column: deals keyed by {by} (IDs such as {shown} in the "
            f"{PROSPECTS.header('id')} column); a deal renamed in the CRM"
            + (f", or whose {others} changes," if others else "")
            + " will be seen as a new deal",
        )
    )
    return keys
