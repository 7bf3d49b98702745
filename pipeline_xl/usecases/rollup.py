"""Consolidate reps' workbooks into one team workbook (``pipeline-xl rollup``).

Prospects, Targets, Activities, Snapshots and Forecast calls are stacked; rows without an
owner take the workbook's Settings "Owner" entry, else its file name (a rep's call for
"the team" of a personal workbook is that rep's call). The team workbook being replaced
keeps its own calls, the manager's team calls (blank owner) and adjustments included:
they come first, then the reps' calls that are not already among them (same period,
owner, type, amount, date and caller), so rolling up again adds only what is new. A
deal ID found in an earlier workbook is reported and the later row left out. Stages and
settings come from the first workbook. The team workbook is a classic ``.xlsm`` or an
xlwings Lite ``.xlsx`` (by its suffix) and is refreshed at the end unless told
otherwise. An existing team workbook is replaced only when told (``replace``: it is kept
as ``NAME.bak``), so a forgotten output name (``rollup Ann.xlsm Bob.xlsm``) never
replaces a rep's workbook; it is written under its lock, never while open in Excel or
read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.cells import clean_text, parse_number
from pipeline_xl.core.contract import PROSPECTS, SETTINGS_TABLE, STAGES, Table, norm_key
from pipeline_xl.core.dates import parse_date
from pipeline_xl.core.display import counted
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.raw import RawWorkbook
from pipeline_xl.core.schema import match_headers
from pipeline_xl.io.locking import DEFAULT_WAIT, workbook_lock
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.usecases.new import prepare_target, write_workbook
from pipeline_xl.usecases.progress import SILENT, Progress
from pipeline_xl.usecases.refresh import RefreshResult, refresh_file

__all__ = ["RollupResult", "rollup"]

_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_STACKED: tuple[Table, ...] = (
    contract.PROSPECTS,
    contract.TARGETS,
    contract.ACTIVITIES,
    contract.SNAPSHOTS,
    contract.CALLS,
)
_CALL_KEY = ("period", "owner", "type", "amount", "submitted_on", "submitted_by")


@dataclass
class RollupResult:
    """The team workbook written by `rollup` and what was merged into it."""

    path: Path
    as_of: date
    deals: dict[str, int] = field(default_factory=dict)  # workbook name -> deals taken
    owners: dict[str, str] = field(default_factory=dict)  # workbook name -> default owner
    duplicates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refresh: RefreshResult | None = None

    def lines(self) -> list[str]:
        """The report printed by ``pipeline-xl rollup``."""
        out = [
            f"{name}: {counted(n, 'deal')} (owner for rows without one: {self.owners[name]})"
            for name, n in self.deals.items()
        ]
        out += [f"duplicate: {d}" for d in self.duplicates]
        out += self.notes
        out.append(
            f"Team workbook: {self.path} ({counted(sum(self.deals.values()), 'deal')}, "
            f"as of {self.as_of.isoformat()})"
        )
        if self.refresh is not None:
            r = self.refresh
            out.append(
                f"Refreshed: {', '.join(r.sheets)}; {counted(r.issues, 'data issue')} "
                f"({counted(r.errors, 'error')})"
            )
            out += [f"  {note}" for note in r.notes]
        return out


@dataclass(frozen=True)
class _Book:
    path: Path
    raw: RawWorkbook


def _frame(rows: list[list[object]] | None) -> pd.DataFrame | None:
    """A raw table (header row first) as a DataFrame with unique headers."""
    if not rows:
        return None
    header = [clean_text(h) or f"Column {i + 1}" for i, h in enumerate(rows[0])]
    seen: dict[str, int] = {}
    unique = []
    for h in header:
        seen[h] = seen.get(h, 0) + 1
        unique.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    width = len(unique)
    body = [list(r[:width]) + [None] * (width - len(r)) for r in rows[1:]]
    body = [r for r in body if any(clean_text(v) for v in r)]
    return pd.DataFrame(body, columns=unique, dtype=object)


def _column(table: pd.DataFrame, spec: Table, name: str) -> str | None:
    """The column of ``table`` that holds field ``name`` (matched like validation does)."""
    pos = match_headers(list(table.columns), spec).get(name)
    return None if pos is None else str(table.columns[pos])


def _fill_owner(table: pd.DataFrame | None, spec: Table, owner: str) -> pd.DataFrame | None:
    """Rows without an owner take ``owner`` (an Owner column is added when missing)."""
    if table is None:
        return None
    column = _column(table, spec, "owner")
    out = table.copy()
    if column is None:
        out[spec.header("owner")] = owner
        return out
    values = [owner if not clean_text(v) else v for v in out[column].tolist()]
    out[column] = pd.Series(values, index=out.index, dtype=object)
    return out


def _default_owner(book: _Book) -> tuple[str, str]:
    """The owner for rows without one: the Settings "Owner" entry, else the file name."""
    text = clean_text(book.raw.setting("owner"))
    if text:
        return text, SETTINGS_TABLE.sheet
    return book.path.stem, "file name"


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    kept = [f for f in frames if f is not None and len(f.columns)]
    if not kept:
        return None
    return pd.concat(kept, ignore_index=True, sort=False).astype(object)


def _new_deals(
    prospects: pd.DataFrame, name: str, seen: dict[str, str], result: RollupResult
) -> pd.DataFrame:
    """The rows whose ID no earlier workbook had; repeated IDs are reported."""
    id_col = _column(prospects, PROSPECTS, "id")
    if id_col is None:
        return prospects
    keep = np.ones(len(prospects), dtype=bool)
    for i, value in enumerate(prospects[id_col].tolist()):
        key = clean_text(value)
        if key and key in seen:
            keep[i] = False
            first = seen[key]
            result.duplicates.append(
                f"ID {key} is in {first} and {name}; the row of {first} is kept"
            )
        elif key:
            seen[key] = name
    return prospects.loc[keep]


def _key_text(value: object) -> str:
    number = parse_number(value)
    if number is not None:
        return repr(number)
    day = parse_date(value)
    return day.isoformat() if day is not None else norm_key(clean_text(value))


def _new_calls(calls: pd.DataFrame, kept: int) -> tuple[pd.DataFrame, int]:
    """The calls without the reps' rows already among the first ``kept`` (the team's own).

    Returns the calls and how many repeated rows were left out.
    """
    found = match_headers(list(calls.columns), contract.CALLS)
    columns = [calls.columns[found[f]] for f in _CALL_KEY if f in found]
    keys = [
        tuple(_key_text(v) for v in row)
        for row in calls[columns].itertuples(index=False, name=None)
    ]
    seen = set(keys[:kept])
    keep = [True] * kept + [k not in seen for k in keys[kept:]]
    return calls.loc[keep], len(keep) - sum(keep)


def _merge(
    books: Sequence[_Book], result: RollupResult, team_calls: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """The team's tables: stacked, owners filled, repeated deal IDs left out (reported).

    ``team_calls``: the Forecast calls of the team workbook being replaced, kept first.
    """
    stacked: dict[str, list[pd.DataFrame]] = {t.sheet: [] for t in _STACKED}
    if team_calls is not None:
        stacked[contract.CALLS.sheet].append(team_calls)
    seen: dict[str, str] = {}
    for book in books:
        name = book.path.name
        owner, why = _default_owner(book)
        result.owners[name] = f"{owner} (from the {why})"
        result.deals[name] = 0
        for spec in _STACKED:
            table = _fill_owner(_frame(book.raw.table(spec)), spec, owner)
            if table is None:
                continue
            if spec is PROSPECTS:
                table = _new_deals(table, name, seen, result)
                result.deals[name] = len(table)
            stacked[spec.sheet].append(table)
    tables = {s: m for s, frames in stacked.items() if (m := _concat(frames)) is not None}
    calls = tables.get(contract.CALLS.sheet)
    if calls is not None:
        kept = 0 if team_calls is None else len(team_calls)
        tables[contract.CALLS.sheet], repeated = _new_calls(calls, kept)
        if kept or repeated:
            result.notes.append(
                f"Forecast calls: {counted(kept, 'call')} kept from the team workbook, "
                f"{counted(len(calls) - kept - repeated, 'new call')} from the reps' workbooks"
            )
    stages = _frame(books[0].raw.table(STAGES))
    if stages is not None:
        tables[STAGES.sheet] = stages
        names = [norm_key(s) for s in stages.iloc[:, 0].tolist()]
        for book in books[1:]:
            other = _frame(book.raw.table(STAGES))
            if other is not None and [norm_key(s) for s in other.iloc[:, 0].tolist()] != names:
                result.notes.append(
                    f"{book.path.name} has other stages than "
                    f"{books[0].path.name}; the first workbook's are used"
                )
    settings = {
        k: v
        for k, v in books[0].raw.settings.items()
        if getattr(contract.setting_named(k), "key", None) != "owner"
    }
    tables[SETTINGS_TABLE.sheet] = pd.DataFrame(
        {
            SETTINGS_TABLE.header("setting"): list(settings),
            SETTINGS_TABLE.header("value"): pd.Series(list(settings.values()), dtype=object),
        }
    )
    return tables


def _previous_calls(real: Path, result: RollupResult) -> pd.DataFrame | None:
    """The Forecast calls of the team workbook about to be replaced, as found."""
    try:
        raw = read_workbook(real)
    except InputError as err:
        result.notes.append(f"the calls of the replaced team workbook were not kept ({err})")
        return None
    return _frame(raw.table(contract.CALLS))


def _latest_as_of(books: Sequence[_Book]) -> date:
    days = [parse_date(b.raw.setting("as_of")) for b in books]
    found = [d for d in days if d is not None]
    if not found:
        raise InputError(
            "no workbook has an as-of date in its Settings", expected="--as-of YYYY-MM-DD"
        )
    return max(found)


def _fiscal_start(value: object) -> int:
    number = parse_number(value)
    return int(number) if number is not None and number.is_integer() and 1 <= number <= 12 else 1


def rollup(
    out: str | Path,
    workbooks: Sequence[str | Path],
    *,
    as_of: date | None = None,
    company: str = "Sales team",
    refresh: bool = True,
    progress: Progress = SILENT,
    replace: bool = False,
    wait: float = DEFAULT_WAIT,
) -> RollupResult:
    """Merge reps' workbooks into one team workbook and refresh it.

    ``replace`` allows replacing an existing team workbook (kept as ``NAME.bak``).

    Raises:
        InputError: no workbook, a missing or unreadable workbook, ``out`` existing
            (without ``replace``), open in Excel, read-only, being written by another
            command, one of the inputs, or with another suffix.

    """
    target = Path(out)
    if not workbooks:
        raise InputError("no workbook to roll up", expected="one or more workbooks")
    suffix = target.suffix.lower()
    if suffix not in _WORKBOOK_SUFFIXES:
        raise InputError(
            "the team workbook must be .xlsm (classic) or .xlsx (xlwings Lite)", value=target.name
        )
    paths = [Path(p) for p in workbooks]
    if target.resolve() in {p.resolve() for p in paths}:
        raise InputError(
            "the team workbook is also an input", value=target.name, expected="a new file name"
        )
    if target.exists() and not replace and target.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise InputError(
            f"{target.name} already exists: the first name is the team workbook to write, "
            "and rollup does not replace a file unless told; nothing was written",
            expected=f"a new team workbook name first (pipeline-xl rollup Team{suffix} "
            f"{target.name} ...), or --replace to replace {target.name} (kept as "
            f"{target.name}.bak)",
        )
    with workbook_lock(target, wait=wait) as real:
        prepare_target(
            target, real, replace=replace, command="pipeline-xl rollup", lite=suffix == ".xlsx"
        )
        return _build(real, target, paths, as_of=as_of, company=company, refresh=refresh,
                      progress=progress, previous=real.is_file())  # fmt: skip


def _build(
    real: Path,
    target: Path,
    paths: Sequence[Path],
    *,
    as_of: date | None,
    company: str,
    refresh: bool,
    progress: Progress,
    previous: bool = False,
) -> RollupResult:
    """Read, merge, write and refresh the team workbook (the caller holds its lock).

    ``previous``: a team workbook is being replaced; its Forecast calls are kept.
    """
    result = RollupResult(target, as_of or date.min)
    progress.start("rollup", len(paths) + 3)
    books = []
    for path in paths:
        progress.step(f"reading {path.name}")
        if not path.is_file():
            raise InputError(f"{path.name} does not exist", value=str(path))
        books.append(_Book(path, read_workbook(path)))
    team_calls = _previous_calls(real, result) if previous else None
    tables = _merge(books, result, team_calls)
    progress.step("building the team workbook")
    result.as_of = as_of or _latest_as_of(books)
    first = books[0].raw
    write_workbook(
        real,
        tables,
        company=company,
        currency=clean_text(first.setting("currency")) or "EUR",
        fiscal_start=_fiscal_start(first.setting("fiscal_start_month")),
        as_of=result.as_of,
        lite=target.suffix.lower() == ".xlsx",
    )
    if refresh:
        progress.step("refreshing the reports")
        result.refresh = refresh_file(real, as_of=result.as_of, backup=False)
    progress.step("done")
    return result
