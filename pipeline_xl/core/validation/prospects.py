"""The Prospects table, and the status rules the Snapshots log shares with it.

The rules are listed in `pipeline_xl.core.schema`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.contract import PROSPECTS, category_word, status_word
from pipeline_xl.core.model import PROSPECT_COLUMNS, Stages
from pipeline_xl.core.validation.reading import is_ambiguous
from pipeline_xl.core.validation.sheet import (
    UNKNOWN,
    AnyArray,
    Mask,
    ObjectArray,
    Sheet,
    canonical_spellings,
    clean_frame,
    duplicates,
    lookup_stages,
    rate_rules,
    unify,
)

__all__ = ["STATUS_NAMES", "apply_status", "stage_column", "validate_prospects"]

_OPEN, _WON, _LOST = 0, 1, 2  # status codes; STATUS_NAMES[code] is the model's text
STATUS_NAMES = np.array(["open", "won", "lost"], dtype=object)
_WORD_CODES = {"open": _OPEN, "won": _WON, "lost": _LOST}


def _status_code(text: str) -> int:
    """The status code of a Status cell: -1 when blank, -2 when not understood."""
    if not text:
        return -1
    word = status_word(text)
    return -2 if word is None else _WORD_CODES[word]


def apply_status(
    sheet: Sheet,
    stage_idx: npt.NDArray[np.int64],
    names: ObjectArray,
    stages: Stages,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], ObjectArray, Mask]:
    """Final status code, stage index and stage name, and the rows lost from an open stage.

    The status comes from the stage unless a Status column says won or lost (module
    docstring).
    """
    n_open = stages.n_open
    derived = np.where(stage_idx == n_open, _WON, np.where(stage_idx == -1, _LOST, _OPEN))
    status, idx, names = derived.copy(), stage_idx.copy(), names.copy()
    if not sheet.has("status"):
        return status, idx, names, np.zeros(sheet.n, dtype=bool)
    words = sheet.map_text("status", _status_code).astype(np.int64)
    known = sheet.present & (stage_idx != UNKNOWN)
    sheet.flag(
        "status",
        sheet.present & (words == -2),
        "unknown status; status taken from the stage",
        "warning",
    )
    closing = known & (words >= _WON) & (words != derived)
    sheet.flag(
        "status",
        closing,
        lambda i: f"status {STATUS_NAMES[words[i]]} overrides stage {names[i]}",
        "warning",
    )
    reopened = known & (words == _OPEN) & (derived != _OPEN)
    sheet.flag("status", reopened, lambda i: f"stage {names[i]} overrides status open", "warning")
    won, lost = closing & (words == _WON), closing & (words == _LOST)
    status[closing] = words[closing]
    idx[won], idx[lost] = n_open, -1
    names[won] = stages.won.name
    names[lost] = stages.lost.name if stages.lost is not None else "Lost"
    return status, idx, names, lost & (stage_idx >= 0) & (stage_idx < n_open)


def validate_prospects(sheet: Sheet, stages: Stages, owners: Mapping[str, str]) -> pd.DataFrame:
    """The clean prospects table (rules in `pipeline_xl.core.schema`)."""
    present = sheet.present
    rows = sheet.raw.rows
    # IDs: generated when missing, later repeats are errors.
    ids = sheet.text("id").copy()
    no_id = sheet.blank("id")
    for i in np.flatnonzero(no_id).tolist():
        ids[i] = f"ROW-{rows[i]}"
    sheet.flag("id", no_id, lambda i: f"missing ID; kept as {ids[i]}", "warning")
    duplicates(sheet, "id", [ids], present, "ID")
    stage_names, stage_idx = stage_column(sheet, stages)
    status, idx, stage_names, lost_from_open = apply_status(sheet, stage_idx, stage_names, stages)
    # Amount: lost deals may sit at zero.
    amount = sheet.number("amount")
    sheet.flag("amount", sheet.blank("amount"), "missing amount", "error")
    zero_lost = present & (status == _LOST) & (amount == 0)
    sheet.flag("amount", zero_lost, "lost deal with a zero amount; kept", "warning")
    sheet.flag("amount", present & (amount <= 0) & ~zero_lost, "amount must be above zero", "error")
    closed = _close_dates(sheet, status)
    reached = _reached(sheet, stages, status, idx)
    reached[lost_from_open] = stage_idx[lost_from_open]
    for name in ("company", "source"):
        unify(sheet, name, canonical_spellings([(sheet.coded(name), present)]), name)
    unify(sheet, "owner", owners, "owner")
    data: dict[str, AnyArray] = {
        "row": rows,
        "id": ids,
        "name": sheet.text("name"),
        "company": sheet.text("company"),
        "owner": sheet.text("owner"),
        "source": sheet.text("source"),
        "stage": stage_names,
        "stage_idx": idx,
        "reached_idx": reached,
        "amount": amount,
        "expected_close": sheet.date("expected_close"),
        "probability": rate_rules(sheet, "probability", "probability"),
        "category": _categories(sheet),
        "status": STATUS_NAMES[status],
        "created": sheet.date("created"),
        "closed": closed,
        "last_activity": sheet.date("last_activity"),
    }
    keep = sheet.keep
    return clean_frame(PROSPECT_COLUMNS, data, keep)


def stage_column(
    sheet: Sheet, stages: Stages
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Canonical stage names and indices; a missing or unknown stage is an error."""
    text = sheet.text("stage")
    names, idx = lookup_stages(sheet.coded("stage"), stages)
    sheet.flag("stage", sheet.blank("stage"), "missing stage", "error")
    unknown = sheet.present & (text != "") & (idx == UNKNOWN)
    sheet.flag("stage", unknown, "unknown stage (not in the Stages table)", "error")
    return names, idx


def _category(text: str) -> str:
    found = category_word(text) if text else ""
    return "?" if found is None else found


def _categories(sheet: Sheet) -> npt.NDArray[np.object_]:
    """Forecast categories normalised to `model.CATEGORIES`; unknown ones left blank."""
    category = sheet.map_text("category", _category)
    odd = sheet.present & (category == "?")
    sheet.flag(
        "category",
        odd,
        "unknown forecast category (expected Commit, Best case, Pipeline or Omitted); left blank",
        "warning",
    )
    category[odd] = ""
    return category


def _close_dates(sheet: Sheet, status: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
    """Close dates, completed from the expected close for won and lost deals."""
    present = sheet.present
    expected = sheet.date("expected_close")
    closed = sheet.date("closed").copy()
    won, open_ = status == _WON, status == _OPEN
    fill = present & (status != _OPEN) & np.isnat(closed)
    fill &= ~np.isnat(expected)
    header = sheet.header("expected_close")
    if sheet.has("expected_close") and is_ambiguous(PROSPECTS, header):
        if fill.any():
            sheet.header_warning(
                "expected_close",
                "read as the expected close of open deals and as the close date of won and "
                "lost deals",
            )
    else:
        sheet.flag(
            "closed",
            fill,
            lambda i: (
                f"{STATUS_NAMES[status[i]]} deal without a close date; the expected close is used"
            ),
            "warning",
            value=None,
        )
    closed[fill] = expected[fill]
    no_date = present & won & np.isnat(closed)
    sheet.flag(
        "closed", no_date, "won deal without a close date or an expected close", "error", value=None
    )
    if sheet.has("expected_close"):
        sheet.flag(
            "expected_close",
            present & open_ & np.isnat(expected),
            "open deal without an expected close date; it cannot be placed in a period",
            "warning",
        )
    elif (present & open_).any():
        sheet.header_warning(
            "expected_close", "no expected close column: open deals cannot be placed in a period"
        )
    created = sheet.date("created")
    early = present & ~np.isnat(closed) & ~np.isnat(created) & (closed < created)
    sheet.flag("closed", early, "closed before it was created", "warning")
    return closed


def _reached(
    sheet: Sheet, stages: Stages, status: npt.NDArray[np.int64], idx: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Furthest open stage reached: won n_open; open its stage or further; lost -1 unless told."""
    n_open = stages.n_open
    won, lost, open_ = status == _WON, status == _LOST, status == _OPEN
    reached = np.where(won, n_open, np.where(open_, idx, -1)).astype(np.int64)
    if not sheet.has("reached"):
        return reached
    text = sheet.text("reached")
    far = lookup_stages(sheet.coded("reached"), stages)[1]
    valid = (far >= 0) & (far < n_open)
    bad = sheet.present & (text != "") & ~valid
    sheet.flag("reached", bad, "not an open stage of the Stages table; ignored", "warning")
    use = (lost & valid) | (open_ & valid & (far > reached))
    reached[use] = far[use]
    return reached


# --------------------------------------------------------------------------- other tables
