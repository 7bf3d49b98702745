"""How often deals slip past the period they were expected to close in (the geometric slip).

The slip probability of the weighted forecast's Monte Carlo (`pipeline_xl.core.forecast`,
module notes), learned from the Snapshots change log, and the period arithmetic it uses.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.model import Model, Settings

__all__ = ["SlipSource", "period_end", "period_number", "slip_probability"]

SlipSource = Literal["history", "setting", "argument"]
IntArray = npt.NDArray[np.int64]
DateArray = npt.NDArray[np.datetime64]
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_NS = "datetime64[ns]"


def _ts(day: date) -> np.datetime64:
    return np.datetime64(day, "ns")


def period_number(days: DateArray, kind: str, fiscal_start: int) -> IntArray:
    """Running period number of each date (month count since 1970 divided by period length)."""
    months: IntArray = days.astype("datetime64[M]").astype("int64")
    number: IntArray = (months - (fiscal_start - 1)) // _MONTHS[kind]
    return number


def period_end(days: DateArray, settings: Settings) -> DateArray:
    """First day after the reporting period holding each date (NaT stays NaT)."""
    kind = settings.granularity
    number = period_number(days, kind, settings.fiscal_start_month)
    end_month = (number + 1) * _MONTHS[kind] + (settings.fiscal_start_month - 1)
    ends = end_month.astype("datetime64[M]").astype(_NS)
    return np.where(np.isnat(days), np.datetime64("NaT", "ns"), ends)


def slip_probability(model: Model) -> tuple[float, SlipSource]:
    """Share of deals that slipped past the period they were expected to close in.

    Each deal's observations are its Snapshots rows dated on or before ``as_of`` (the state
    at a date is the latest row on or before it) followed by its Prospects row, observed at
    ``as_of``. An event is a deal seen open with an expected close in period P and seen
    again on or after P's end; it is judged at the first such later observation and
    counted once per deal and period. It slipped when that observation is still open with
    an expected close in a later period. With fewer than ``min_history`` events the
    Settings value is used: returns (probability, ``"history"`` or ``"setting"``).
    """
    settings = model.settings
    fallback: tuple[float, SlipSource] = (float(settings.slip_probability), "setting")
    snaps = model.snapshots
    as_of = _ts(settings.as_of)
    if not len(snaps):
        return fallback
    log = pd.DataFrame(
        {
            "id": snaps["id"].astype(str).to_numpy(dtype=object),
            "seen": snaps["snapshot_date"].to_numpy(dtype=_NS),
            "order": 0,
            "row": snaps["row"].to_numpy(dtype="int64"),
            "status": snaps["status"].astype(str).to_numpy(dtype=object),
            "expected": snaps["expected_close"].to_numpy(dtype=_NS),
        }
    )
    log = log.loc[(log["id"] != "") & (log["seen"] <= as_of)]
    prospects = model.prospects.drop_duplicates("id")
    prospects = prospects.loc[prospects["id"].isin(log["id"])]
    now = pd.DataFrame(
        {
            "id": prospects["id"].astype(str).to_numpy(dtype=object),
            "seen": np.full(len(prospects), as_of, dtype=_NS),
            "order": 1,
            "row": prospects["row"].to_numpy(dtype="int64"),
            "status": prospects["status"].astype(str).to_numpy(dtype=object),
            "expected": prospects["expected_close"].to_numpy(dtype=_NS),
        }
    )
    obs = pd.concat([log, now], ignore_index=True).sort_values(
        ["id", "seen", "order", "row"], kind="stable"
    )
    ids = obs["id"].to_numpy(dtype=object)
    seen = obs["seen"].to_numpy(dtype=_NS)
    status = obs["status"].to_numpy(dtype=object)
    expected = obs["expected"].to_numpy(dtype=_NS)
    if len(ids) < 2:
        return fallback
    ends = period_end(expected, settings)
    same = ids[1:] == ids[:-1]
    is_open = status[:-1] == "open"
    dated = ~np.isnat(expected[:-1])
    ended = np.zeros(len(ids) - 1, dtype=bool)
    ended[dated] = ends[:-1][dated] <= seen[1:][dated]
    event = same & is_open & dated & ended
    later = np.zeros(len(ids) - 1, dtype=bool)
    next_dated = ~np.isnat(expected[1:])
    later[dated & next_dated] = expected[1:][dated & next_dated] >= ends[:-1][dated & next_dated]
    slipped = (status[1:] == "open") & later
    events = pd.DataFrame(
        {"id": ids[:-1][event], "end": ends[:-1][event], "slipped": slipped[event]}
    ).drop_duplicates(["id", "end"], keep="first")
    if len(events) < settings.min_history or len(events) == 0:
        return fallback
    return float(events["slipped"].mean()), "history"
