"""Add a forecast call to a workbook file without Excel (``pipeline-xl call``).

One row per amount given (commit, most likely, best case) is appended to ``tblCalls``:
a new call never replaces an old one, the latest on or before a date counts
(`pipeline_xl.core.calls`). The call is dated ``--as-of``, else the Settings as-of date,
else today, the way a refresh dates its report; its period is read with the workbook's
fiscal calendar, and an owner is spelt as the workbook already spells that name
(matching ignores case, accents and spaces). A blank owner is the team's own call.

Every rule of the other writing commands applies: the workbook's lock (one writer at a
time), refused while open in Excel or LibreOffice or read-only, the zip checks before
any part is read, the table growing only into free cells (`pipeline_xl.io.tables`: a
value, a merge, a comment, a validation, a drawing or another table below it stops the
command and names the first such cell), the rows already there kept byte for byte, and
an atomic write that keeps the previous file as ``NAME.bak``. The file then asks Excel
for one full recalculation on opening, since the Dashboard's cached call figures were
computed before the new row; ``pipeline-xl refresh`` stores them again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline_xl.core import contract
from pipeline_xl.core.calls import new_calls
from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import CALLS, SETTINGS_TABLE, norm_key
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.raw import RawWorkbook
from pipeline_xl.core.schema import match_headers, read_settings_table
from pipeline_xl.io.locking import DEFAULT_WAIT
from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.safety import atomic_write
from pipeline_xl.io.tables import ValueKind, find_table, replace_table_rows
from pipeline_xl.usecases.refresh import opened_for_writing

__all__ = ["CallResult", "add_call"]

_KINDS: dict[str, ValueKind] = {
    "amount": "number",
    "adjustment": "number",
    "submitted_on": "date",
}
_OWNER_TABLES = (contract.PROSPECTS, contract.TARGETS, contract.ACTIVITIES, CALLS)


@dataclass(frozen=True)
class CallResult:
    """What ``pipeline-xl call`` added, and where."""

    path: Path
    rows: tuple[dict[str, object], ...]
    first_row: int
    backup: Path | None
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The report printed by ``pipeline-xl call``."""
        first = self.rows[0]
        who = str(first["owner"]) or "the team"
        out = [
            (
                f"Added to {CALLS.name} ({CALLS.sheet} sheet, from row {self.first_row}) in "
                f"{self.path}: {first['period']}, {who}, dated {first['submitted_on']}"
            )
        ]
        out += [f"  {r['type']}: {float(str(r['amount'])):,.0f}" for r in self.rows]
        if self.backup is not None:
            out.append(f"previous version: {self.backup.name}")
        out += self.notes
        return out


def _owner_spelling(raw: RawWorkbook, text: str) -> tuple[str, bool]:
    """``text`` as the workbook spells that owner, and whether it knows the name."""
    wanted = norm_key(text)
    if not wanted:
        return "", True
    for table in _OWNER_TABLES:
        rows = raw.table(table)
        if not rows:
            continue
        pos = match_headers(rows[0], table).get("owner")
        if pos is None:
            continue
        for row in rows[1:]:
            value = clean_text(row[pos]) if pos < len(row) else ""
            if value and norm_key(value) == wanted:
                return value, True
    return " ".join(text.split()), False


def _table_rows(raw: RawWorkbook, width: int) -> list[list[object]]:
    """The calls table's data rows as read, or none when it holds one blank row."""
    rows = raw.table(CALLS) or []
    data = [[*r[:width], *[None] * (width - len(r))] for r in rows[1:]]
    if all(all(clean_text(v) == "" for v in row) for row in data):
        return []
    return data


def add_call(
    path: str | os.PathLike[str],
    *,
    period: str,
    owner: str = "",
    commit: float | None = None,
    most_likely: float | None = None,
    best_case: float | None = None,
    comment: str = "",
    by: str = "",
    as_of: date | None = None,
    today: date | None = None,
    wait: float = DEFAULT_WAIT,
) -> CallResult:
    """Append one call (a row per amount given) to the workbook's Forecast calls table.

    Raises:
        InputError: a wrong file, a workbook being written, open, read-only, refused by
            the zip checks or without a Forecast calls table; an unreadable setting or
            period; no amount or a negative one; a cell in the way of the table; a
            failed write.

    """
    target = Path(path)
    with opened_for_writing(target, wait=wait) as (real, data):
        raw = read_workbook(data, name=target.name)
        day = raw.as_of(given=as_of, today=today)
        if day is None:
            raise InputError("no date for the call", expected="--as-of YYYY-MM-DD")
        settings = read_settings_table(raw.table(SETTINGS_TABLE), as_of=day)
        try:
            called = settings.parse_period(period)
        except (InputError, ValueError) as err:
            raise InputError(
                f"--period: {period!r} is not a period",
                expected="a month (2026-03) or a quarter (2026-Q1)",
            ) from err
        name, known = _owner_spelling(raw, owner)
        amounts = {"commit": commit, "most_likely": most_likely, "best_case": best_case}
        records = new_calls(
            called, name, amounts, submitted_on=day, submitted_by=" ".join(by.split()),
            comment=" ".join(comment.split()),
        )  # fmt: skip
        package = Package(data, name=target.name)
        try:
            table = find_table(package, CALLS.name)
        except KeyError as err:
            raise InputError(
                f"{target.name} has no {CALLS.name} table",
                sheet=CALLS.sheet,
                expected="a workbook made by pipeline-xl new (this version or later)",
            ) from err
        header = list(table.columns)
        fields = {pos: name for name, pos in match_headers(header, CALLS).items()}
        kinds: list[ValueKind] = [
            _KINDS.get(fields[j], "text") if j in fields else "auto" for j in range(len(header))
        ]
        old = _table_rows(raw, len(header))
        new = [[r.get(fields[j]) if j in fields else None for j in range(len(header))]
               for r in records]  # fmt: skip
        replace_table_rows(package, CALLS.name, header, [*old, *new], kinds, keep_prefix=len(old))
        package.recalculate_on_load()
        saved = atomic_write(real, package.to_bytes(), backup=True)
    notes = []
    if not known:
        notes.append(f"note: {name} is not an owner of this workbook yet")
    return CallResult(target, tuple(records), table.first_data_row + len(old), saved, tuple(notes))
