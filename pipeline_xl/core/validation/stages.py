"""The Stages table: the ordered sales process (rules in `pipeline_xl.core.schema`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipeline_xl.core.contract import norm_key, stage_status, status_word
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Stage, Stages, Status
from pipeline_xl.core.validation.reading import Issues, Raw
from pipeline_xl.core.validation.sheet import Sheet, duplicates, rate_rules

__all__ = ["derive_rates", "validate_stage_rows"]


def validate_stage_rows(raw: Raw, issues: Issues) -> Stages:
    """The ordered stages from a found Stages table (rules in `pipeline_xl.core.schema`).

    Raises:
        InputError: no stage, no open stage or no Won stage.

    """
    sheet = Sheet(raw, issues)
    if not sheet.present.any():
        raise InputError(
            "the Stages table has no stages", sheet=raw.sheet, expected="one row per stage"
        )
    names = sheet.text("stage")
    sheet.flag("stage", sheet.present & (names == ""), "missing stage name", "error")
    keys = np.asarray([norm_key(n) for n in names], dtype=object)
    duplicates(sheet, "stage", [keys], sheet.present & (names != ""), "stage")
    status_text = sheet.text("status")
    explicit = [status_word(t) if t else None for t in status_text]
    unknown = np.asarray(
        [bool(t) and w is None for t, w in zip(status_text, explicit, strict=True)]
    )
    unknown &= sheet.present
    if unknown.any():
        sheet.flag("status", unknown, "unknown status; taken from the stage name", "warning")
    probability = rate_rules(sheet, "probability", "probability")
    conversion = rate_rules(sheet, "conversion", "conversion")
    days = sheet.number("days_to_close").copy()
    negative = sheet.present & (days < 0)
    if negative.any():
        sheet.flag("days_to_close", negative, "negative days; dropped", "warning")
        days[negative] = np.nan
    activity = sheet.text("activity")
    opened: list[int] = []
    closing: dict[Status, list[Stage]] = {"won": [], "lost": []}
    for i in np.flatnonzero(sheet.keep).tolist():
        status = stage_status(names[i], explicit[i])
        if status == "open":
            opened.append(i)
        else:
            days_i = 0.0 if np.isnan(days[i]) else float(days[i])
            chance = 1.0 if status == "won" else 0.0
            closing[status].append(
                Stage(names[i], activity[i], chance, float("nan"), days_i, status)
            )
    prob, conv = derive_rates(probability[opened], conversion[opened])
    no_rate = [i for i, p in zip(opened, prob.tolist(), strict=True) if np.isnan(p)]
    sheet.flag(
        "probability", no_rate, "no probability and no conversion to derive it from", "warning"
    )
    open_stages = [
        Stage(names[i], activity[i] or names[i], float(p), float(c), float(days[i]))
        for i, p, c in zip(opened, prob.tolist(), conv.tolist(), strict=True)
    ]
    return Stages((*open_stages, *closing["won"], *closing["lost"]))


def derive_rates(
    probability: npt.NDArray[np.float64], conversion: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fill missing open-stage probabilities and conversions from each other.

    P(win | stage k) is the product of the conversions from k to Won (README,
    Definitions), so p_k = c_k x p_(k+1) and c_k = p_k / p_(k+1), with p_Won = 1.
    """
    prob, conv = probability.copy(), conversion.copy()
    n = len(prob)
    for k in range(n - 1, -1, -1):
        following = 1.0 if k == n - 1 else prob[k + 1]
        if np.isnan(prob[k]):
            prob[k] = conv[k] * following  # NaN when either is unknown
    for k in range(n):
        following = 1.0 if k == n - 1 else prob[k + 1]
        if np.isnan(conv[k]) and following > 0 and not np.isnan(prob[k]):
            conv[k] = prob[k] / following
    return prob, conv
