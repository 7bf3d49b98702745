"""Pieces of the sample company: names, IDs, calendar arithmetic, fixed tables, junk cells.

Pure helpers of `pipeline_xl.core.sample`; random ones draw from the generator they are
given. Day numbers count from 1970-01-01, which was a Thursday.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.model import Settings, Stages

__all__ = [
    "JUNK",
    "NEVER",
    "company_names",
    "dates_of",
    "day_number",
    "deal_ids",
    "frame",
    "make_messy",
    "month_labels",
    "month_of",
    "month_start",
    "person_names",
    "rep_names",
    "settings_table",
    "stage_names",
    "stages_table",
    "status_names",
    "to_weekday",
    "weekday",
]

ObjArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]
NEVER = 1_000_000_000  # day number of an event that never happens

_FIRST = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Katrin", "Lars", "Maria", "Nils", "Olivia", "Paul", "Rosa", "Simon", "Tanja", "Tom",
    "Ulrike", "Victor", "Wiebke", "Yusuf", "Zoe", "Lena", "Marco", "Sofia", "Erik", "Julia",
    "Noah", "Emma", "Lucas", "Mila", "Adrian", "Nora", "Jan", "Sara", "Omar", "Lea",
)  # fmt: skip
_LAST = (
    "Keller", "Novak", "Schmidt", "Rossi", "Dubois", "Jansen", "Lindqvist", "Kowalski",
    "Moreau", "Fischer", "Bauer", "Berg", "Conti", "Duarte", "Engel", "Ferrari", "Garcia",
    "Hansen", "Ivanova", "Jensen", "Klein", "Laurent", "Meyer", "Nielsen", "Olsen", "Peters",
    "Richter", "Santos", "Vogel", "Weber", "Wolf", "Brandt", "Costa", "Horvat", "Martin",
    "Petit", "Schulz", "Varga", "Young", "Zimmermann",
)  # fmt: skip
_SYL_START = (
    "Al", "Bel", "Cor", "Dra", "El", "Fer", "Gal", "Hel", "Ir", "Jor", "Kal", "Lum", "Mer",
    "Nor", "Or", "Pra", "Quan", "Ros", "Sil", "Tor", "Ul", "Ven", "Wes", "Xan", "Zen",
)  # fmt: skip
_SYL_MID = ("a", "e", "i", "o", "ar", "en", "on", "is", "ex", "ul")
_SYL_END = ("tek", "dyn", "tron", "form", "line", "mat", "vex", "lux", "gen", "quip", "wave")
_COMPANY_SUFFIX = (
    "GmbH", "AG", "Ltd", "SA", "BV", "Inc.", "Industries", "Systems", "Group", "Technik",
    "Engineering", "Logistics", "Oy", "AB", "S.r.l.",
)  # fmt: skip


# --- calendar (int day numbers since 1970-01-01) ------------------------------------


def day_number(day: date) -> int:
    """The day number of ``day``."""
    return int(np.datetime64(day, "D").astype(np.int64))


def month_of(days: IntArray) -> IntArray:
    """Months since 1970-01 of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start(months: IntArray) -> IntArray:
    """Day number of the first day of each month (months since 1970-01)."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def weekday(days: IntArray) -> IntArray:
    """Monday = 0 ... Sunday = 6."""
    return (days + 3) % 7


def to_weekday(days: IntArray) -> IntArray:
    """Move Saturdays and Sundays to the next Monday (keeps the order of days)."""
    wd = weekday(days)
    return days + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))


def dates_of(days: IntArray) -> npt.NDArray[np.datetime64]:
    """Day numbers as ``datetime64[ns]``; ``NEVER`` becomes NaT."""
    never = days >= NEVER
    safe = np.where(never, 0, days)
    out = safe.astype("datetime64[D]").astype("datetime64[ns]")
    out[never] = np.datetime64("NaT")
    return out


def stage_names(stages: Stages) -> ObjArray:
    """Stage name by code: open stages, Won, then Lost at index -1."""
    lost = stages.lost
    names = [s.name for s in stages.open] + [stages.won.name, lost.name if lost else "Lost"]
    return np.array(names, dtype=object)


def status_names(code: IntArray, n_open: int) -> ObjArray:
    """Open / Won / Lost of each stage code (open index, ``n_open`` won, -1 lost)."""
    status = np.full(code.shape, "Open", dtype=object)
    status[code == n_open] = "Won"
    status[code == -1] = "Lost"
    return status


def frame(columns: dict[str, npt.NDArray[np.generic]]) -> pd.DataFrame:
    """A sheet from its columns, in order."""
    return pd.DataFrame({name: pd.Series(values) for name, values in columns.items()})


def month_labels(months: IntArray) -> list[str]:
    """``yyyy-mm`` labels of months counted from 1970-01."""
    return [f"{1970 + m // 12:04d}-{m % 12 + 1:02d}" for m in months.tolist()]


def stages_table(stages: Stages) -> pd.DataFrame:
    """The Stages sheet of ``stages`` as a user keeps it."""
    closing = [s.status != "open" for s in stages.all]
    return frame(
        {
            "Stage": np.array([s.name for s in stages.all], dtype=object),
            "Activity": np.array([s.activity or None for s in stages.all], dtype=object),
            "Probability": np.array([s.probability for s in stages.all]),
            "Conversion": np.array([s.conversion for s in stages.all]),
            "Days to close": np.array(
                [np.nan if c else s.days_to_close for s, c in zip(stages.all, closing, strict=True)]
            ),
            "Status": np.array([s.status.capitalize() for s in stages.all], dtype=object),
        }
    )


def settings_table(as_of: date, currency: str, fiscal_start: int) -> pd.DataFrame:
    """The Settings sheet: numbers as floats, the way Excel stores them."""
    defaults = Settings(as_of=as_of)
    rows: list[tuple[str, object]] = [
        ("As-of date", pd.Timestamp(as_of).normalize()),
        ("Fiscal year start month", float(fiscal_start)),
        ("Period granularity", defaults.granularity.capitalize()),
        ("Currency", currency),
        ("Monte Carlo trials", float(defaults.mc_trials)),
        ("Monte Carlo seed", float(defaults.mc_seed)),
        ("Stale deal days", float(defaults.stale_days)),
        ("Slip probability", defaults.slip_probability),
    ]
    return pd.DataFrame(
        {
            "Setting": pd.Series([r[0] for r in rows], dtype=object),
            "Value": pd.Series([r[1] for r in rows], dtype=object),
        }
    )


# --- names -------------------------------------------------------------------------------


def rep_names(rng: np.random.Generator, n_reps: int) -> ObjArray:
    """Distinct first-and-last names for the reps."""
    pairs = rng.choice(len(_FIRST) * len(_LAST), size=n_reps, replace=False)
    names = [f"{_FIRST[p % len(_FIRST)]} {_LAST[p // len(_FIRST)]}" for p in pairs.tolist()]
    return np.array(names, dtype=object)


def person_names(rng: np.random.Generator, n: int) -> ObjArray:
    """``n`` first-and-last names (contacts; they may repeat)."""
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    return np.array([f"{a} {b}" for a, b in zip(first, last, strict=True)], dtype=object)


def company_names(rng: np.random.Generator, n: int) -> ObjArray:
    """Company names built from syllables; a pool smaller than ``n`` so some repeat."""
    pool = max(10, int(n * 0.6))
    start = rng.integers(0, len(_SYL_START), pool).tolist()
    mid = rng.integers(-len(_SYL_MID), len(_SYL_MID), pool).tolist()  # < 0: no middle
    end = rng.integers(0, len(_SYL_END), pool).tolist()
    suffix = rng.integers(0, len(_COMPANY_SUFFIX), pool).tolist()
    names = np.array(
        [
            f"{_SYL_START[a]}{_SYL_MID[b] if b >= 0 else ''}{_SYL_END[c]} {_COMPANY_SUFFIX[d]}"
            for a, b, c, d in zip(start, mid, end, suffix, strict=True)
        ],
        dtype=object,
    )
    return names[rng.integers(0, pool, n)]


def deal_ids(n: int) -> ObjArray:
    """Deal IDs ``P0001``, ``P0002``, ... (at least four digits)."""
    width = max(4, len(str(n)))
    return np.array([f"P{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


JUNK = (
    ("Amount", "amount_text"),
    ("Amount", "amount_na"),
    ("Expected close", "date_error"),
    ("Expected close", "day_first"),
    ("Stage", "unknown_stage"),
    ("ID", "duplicate_id"),
    ("Amount", "negative_amount"),
    ("Name", "formula_name"),
    ("Probability", "percent_probability"),
)
"""(column, kind) of the junk cells planted by ``messy``, one of each kind in turn."""


def _as_objects(values: npt.NDArray[np.generic]) -> ObjArray:
    """A column as Python objects (Timestamps for dates) that may take any junk."""
    if np.issubdtype(values.dtype, np.datetime64):
        return np.array(pd.DatetimeIndex(values).astype(object), dtype=object)
    return np.array(values, dtype=object)


def _junk(kind: str, row: int, columns: dict[str, npt.NDArray[np.generic]], unit: str) -> object:
    """The junk value of ``kind`` for a prospect row."""
    amount = float(columns["Amount"][row])
    if kind == "amount_text":
        return f"{amount:,.0f} {unit}".replace(",", " ")
    if kind == "day_first":
        day = pd.Timestamp(columns["Expected close"][row])
        day = pd.Timestamp(columns["Created"][row]) if pd.isna(day) else day
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if kind == "duplicate_id":
        return columns["ID"][row - 1 if row else 1]
    fixed: dict[str, object] = {
        "amount_na": "n/a",
        "date_error": "#N/A",
        "unknown_stage": "Prospecting",
        "negative_amount": -amount,
        "formula_name": '=HYPERLINK("http://example.com","x")',
        "percent_probability": 35.0,
    }
    return fixed[kind]


def make_messy(
    rng: np.random.Generator,
    columns: dict[str, npt.NDArray[np.generic]],
    count: int,
    currency: str,
) -> dict[str, npt.NDArray[np.generic]]:
    """Replace ``count`` prospect cells with junk users really type (each kind in turn).

    Columns left all-numeric stay float, as a reader would return them.
    """
    n = columns["ID"].size
    unit = "€" if currency == "EUR" else currency
    kinds = np.resize(rng.permutation(len(JUNK)), count)
    rows = rng.choice(n, size=count, replace=count > n)
    touched: dict[str, ObjArray] = {}
    for kind, row in zip(kinds.tolist(), rows.tolist(), strict=True):
        name, junk = JUNK[kind]
        if junk == "duplicate_id" and n == 1:
            continue  # a single row has no other id to copy
        if name not in touched:
            touched[name] = _as_objects(columns[name])
        touched[name][row] = _junk(junk, row, columns, unit)
    out = dict(columns)
    for name, values in touched.items():
        numeric = all(isinstance(v, float) for v in values.tolist())
        out[name] = values.astype(np.float64) if numeric else values
    return out
