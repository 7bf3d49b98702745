"""The Targets, Activities, Snapshots and Forecast calls tables.

The rules are listed in `pipeline_xl.core.schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from pipeline_xl.core.cells import clean_text, excel_error, parse_distinct
from pipeline_xl.core.contract import call_type_word, norm_key
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    ACTIVITY_COLUMNS,
    CALL_COLUMNS,
    SNAPSHOT_COLUMNS,
    TARGET_COLUMNS,
    Settings,
    Stages,
)
from pipeline_xl.core.periods import Period
from pipeline_xl.core.validation.prospects import STATUS_NAMES, apply_status, stage_column
from pipeline_xl.core.validation.sheet import (
    Sheet,
    canonical_spellings,
    clean_frame,
    duplicates,
    rate_rules,
    unify,
)

__all__ = ["validate_activities", "validate_calls", "validate_snapshots", "validate_targets"]


_NOT_A_PERIOD = "not a period (expected 2026-03, 2026-Q1, FY2027-Q2, 2026 or a date)"


def _period_parser(
    settings: Settings,
) -> Callable[[object], tuple[Period | None, str | None, bool]]:
    """Parse a Period cell; a whole number from 1900 to 2200 is a year, not a serial."""

    def parse(value: object) -> tuple[Period | None, str | None, bool]:
        if clean_text(value) == "" or excel_error(value) is not None:
            return None, None, True  # blank, or already reported as an Excel error
        if (
            isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_)
            and 1900 <= value <= 2200
            and float(value).is_integer()
        ):
            value = str(int(value))
        try:
            return settings.parse_period(value), None, True
        except (InputError, ValueError, TypeError, OverflowError):
            return None, _NOT_A_PERIOD, True

    return parse


def _periods(sheet: Sheet, settings: Settings) -> tuple[list[Period | None], np.ndarray]:
    """Each row's period (None when blank or unreadable: an error) and which rows have one."""
    found, index, problems = parse_distinct(sheet.cells["period"], _period_parser(settings), None)
    failed = sheet.bad("period").copy()
    for p in problems:
        sheet.flag("period", [p.index], p.problem, "error")
        failed[p.index] = True
    periods: list[Period | None] = [found[k] for k in index.tolist()]
    has_period = np.fromiter((p is not None for p in periods), dtype=bool, count=sheet.n)
    sheet.flag("period", sheet.present & ~has_period & ~failed, "missing period", "error")
    return periods, has_period


def validate_targets(sheet: Sheet, settings: Settings, owners: Mapping[str, str]) -> pd.DataFrame:
    """The clean targets table (rules in `pipeline_xl.core.schema`)."""
    present = sheet.present
    periods, has_period = _periods(sheet, settings)
    revenue = sheet.number("revenue")
    sheet.flag("revenue", sheet.blank("revenue"), "missing target", "error")
    sheet.flag("revenue", present & (revenue < 0), "negative target", "error")
    deals = sheet.number("deals").copy()
    negative = present & (deals < 0)
    if negative.any():
        sheet.flag("deals", negative, "negative deals target; dropped", "warning")
        deals[negative] = np.nan
    unify(sheet, "owner", owners, "owner")
    owner = sheet.text("owner")
    labels = np.asarray(["" if p is None else p.label for p in periods], dtype=object)
    starts = np.asarray([None if p is None else p.start for p in periods], dtype=object)
    ends = np.asarray([None if p is None else p.end for p in periods], dtype=object)
    duplicates(sheet, "period", [starts, ends, owner], present & has_period, "period and owner")
    keep = sheet.keep
    chosen = [p for p, k in zip(periods, keep.tolist(), strict=True) if k and p is not None]
    data = {
        "row": sheet.raw.rows[keep],
        "period": labels[keep],
        "start": np.asarray([p.start for p in chosen], dtype="datetime64[ns]"),
        "end": np.asarray([p.end for p in chosen], dtype="datetime64[ns]"),
        "owner": owner[keep],
        "revenue": revenue[keep],
        "deals": deals[keep],
    }
    return clean_frame(TARGET_COLUMNS, data)


def _call_type(text: str) -> str:
    if not text:
        return ""
    found = call_type_word(text)
    return "?" if found is None else found


def validate_calls(sheet: Sheet, settings: Settings, owners: Mapping[str, str]) -> pd.DataFrame:
    """The clean forecast-calls table (rules in `pipeline_xl.core.schema`)."""
    present = sheet.present
    periods, _ = _periods(sheet, settings)
    kind = sheet.map_text("type", _call_type)
    sheet.flag(
        "type",
        present & (kind == "?"),
        "unknown call type (expected Commit, Most likely or Best case)",
        "error",
    )
    no_type = present & (kind == "")
    if not sheet.has("type") and present.any():
        sheet.header_warning("type", "no call type column: every call is read as a commit")
    elif no_type.any():
        sheet.flag("type", no_type, "no call type; read as Commit", "warning")
    kind[no_type] = "commit"
    amount = sheet.number("amount")
    sheet.flag("amount", sheet.blank("amount"), "missing amount", "error")
    sheet.flag("amount", present & (amount < 0), "negative call", "error")
    sheet.flag(
        "submitted_on",
        sheet.blank("submitted_on"),
        "missing date: a call without a date cannot be placed in time",
        "error",
    )
    adjustment = sheet.number("adjustment").copy()
    negative = present & (adjustment < 0)
    if negative.any():
        sheet.flag("adjustment", negative, "negative adjustment; dropped", "warning")
        adjustment[negative] = np.nan
    unify(sheet, "owner", owners, "owner")
    keep = sheet.keep
    chosen = [p for p, k in zip(periods, keep.tolist(), strict=True) if k and p is not None]
    labels = np.asarray(["" if p is None else p.label for p in periods], dtype=object)
    data = {
        "row": sheet.raw.rows[keep],
        "period": labels[keep],
        "start": np.asarray([p.start for p in chosen], dtype="datetime64[ns]"),
        "end": np.asarray([p.end for p in chosen], dtype="datetime64[ns]"),
        "owner": sheet.text("owner")[keep],
        "type": kind[keep],
        "amount": amount[keep],
        "adjustment": adjustment[keep],
        "value": np.where(np.isnan(adjustment), amount, adjustment)[keep],
        "submitted_on": sheet.date("submitted_on")[keep],
        "submitted_by": sheet.text("submitted_by")[keep],
        "comment": sheet.text("comment")[keep],
    }
    return clean_frame(CALL_COLUMNS, data)


def validate_activities(sheet: Sheet, stages: Stages, owners: Mapping[str, str]) -> pd.DataFrame:
    """The clean activities table (rules in `pipeline_xl.core.schema`)."""
    present = sheet.present
    day = sheet.date("date")
    sheet.flag("date", sheet.blank("date"), "missing date", "error")
    sheet.flag("type", sheet.blank("type"), "missing activity type", "error")
    known = {norm_key(a): a for a in stages.activities if a}
    mapping = canonical_spellings([(sheet.coded("type"), present)])
    for text in sheet.coded("type")[1].tolist():
        if text and norm_key(text) in known:
            mapping[text] = known[norm_key(text)]
    unify(sheet, "type", mapping, "activity", warn=False)
    count = sheet.number("count").copy()
    count[np.isnan(count)] = 1.0
    sheet.flag("count", present & (count <= 0), "count must be above zero", "error")
    unify(sheet, "owner", owners, "owner")
    keep = sheet.keep
    data = {
        "row": sheet.raw.rows,
        "date": day,
        "owner": sheet.text("owner"),
        "type": sheet.text("type"),
        "prospect_id": sheet.text("prospect_id"),
        "count": count,
    }
    return clean_frame(ACTIVITY_COLUMNS, data, keep)


def validate_snapshots(sheet: Sheet, stages: Stages, owners: Mapping[str, str]) -> pd.DataFrame:
    """The clean Snapshots change log (rules in `pipeline_xl.core.schema`)."""
    present = sheet.present
    day = sheet.date("snapshot_date")
    sheet.flag("snapshot_date", sheet.blank("snapshot_date"), "missing date", "error")
    ids = sheet.text("id")
    sheet.flag("id", sheet.blank("id"), "missing ID", "error")
    names, stage_idx = stage_column(sheet, stages)
    status, idx, names, _ = apply_status(sheet, stage_idx, names, stages)
    amount = sheet.number("amount").copy()
    negative = present & (amount < 0)
    if negative.any():
        sheet.flag("amount", negative, "negative amount; dropped", "warning")
        amount[negative] = np.nan
    probability = rate_rules(sheet, "probability", "probability")
    has_key = present & ~np.isnat(day) & (ids != "")
    duplicates(sheet, "id", [day, ids], has_key, "snapshot date and ID")
    unify(sheet, "owner", owners, "owner")
    keep = sheet.keep
    data = {
        "row": sheet.raw.rows,
        "snapshot_date": day,
        "id": ids,
        "owner": sheet.text("owner"),
        "stage": names,
        "stage_idx": idx,
        "status": STATUS_NAMES[status],
        "amount": amount,
        "expected_close": sheet.date("expected_close"),
        "probability": probability,
    }
    return clean_frame(SNAPSHOT_COLUMNS, data, keep)


# --------------------------------------------------------------------------- validate
