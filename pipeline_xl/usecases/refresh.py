"""Refresh a workbook file without Excel: read, validate, report, write the package back.

`refresh_file` is what ``pipeline-xl refresh Book.xlsm`` runs:

1. take the workbook's lock (`locking.workbook_lock`: one writer at a time; a second
   command waits, then refuses), following a symbolic link to the real file; refuse a
   workbook open in Excel or LibreOffice (`safety.check_not_open`) or read-only
   (`safety.check_writable`), then read the file once and refuse it if it looks like a
   zip bomb (`zipguard.check_zip`, before any reader inflates a part);
2. read the tables with python-calamine (`reader.read_workbook`) and validate them: bad
   cells become rows of the Data issues sheet, never a crash;
3. build the report (`pipeline_xl.core.reports.build_report`) from the pipeline as it
   stood on the as-of date;
4. edit the package (`report_writer.write_report`, `report_writer.write_snapshots`):
   every other part of the file is written back byte for byte;
5. write the file atomically, keeping the previous version as ``NAME.bak`` (the older
   backups turn, `safety.atomic_write`), and release the lock.

History is never rewritten: an as-of date before the workbook's latest record (its
latest snapshot, creation or close date) gives a view of the pipeline as it stood then,
and the Snapshots table is left exactly as it was; a date before anything the workbook
has dated is refused. A Snapshots log that would pass the rows a sheet holds is
compacted first (`snapshots.fit_log`: old changes kept as one row per deal and quarter,
every quarter-end state and every state since exact), and the notes say so. An
`InputError` is the only way a refresh fails on what the user gave it (a full disk or a
folder it may not write in included); the file is then unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline_xl.core.contract import SNAPSHOTS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model
from pipeline_xl.core.report_model import Report
from pipeline_xl.core.reports import build_report as default_build_report
from pipeline_xl.core.snapshots import LOG_ROWS, fit_log
from pipeline_xl.io.locking import DEFAULT_WAIT, workbook_lock
from pipeline_xl.io.package import Package, read_file
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.report_writer import write_report, write_snapshots
from pipeline_xl.io.safety import atomic_write, check_not_open, check_writable
from pipeline_xl.usecases.dashboard import refresh_dashboard

__all__ = ["BuildReport", "RefreshResult", "opened_for_writing", "refresh_file"]

BuildReport = Callable[[Model], Report]
_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What a refresh did.

    ``sheets``: the report sheets written, in order; ``kept``: earlier reports kept under
    dated names (``keep_history``); ``issues`` / ``errors``: validation issues found and
    how many of them left a row out; ``snapshot_rows`` / ``snapshot_rows_added``: size
    of the Snapshots log and how it changed; ``backup``: where the previous file is;
    ``view``: the report shows the pipeline as it stood on a past date (nothing recorded).
    """

    path: Path
    as_of: date
    sheets: tuple[str, ...]
    kept: tuple[str, ...]
    issues: int
    errors: int
    snapshot_rows: int
    snapshot_rows_added: int
    backup: Path | None
    notes: tuple[str, ...] = ()
    view: bool = False

    def summary(self) -> str:
        """One line for the terminal."""
        when = f"as it stood on {self.as_of}" if self.view else f"as of {self.as_of}"
        recorded = (
            "no snapshot written (a view of the past)"
            if self.view
            else f"{self.snapshot_rows_added} snapshot rows added"
        )
        text = (
            f"refreshed {self.path} {when}: {', '.join(self.sheets)}; "
            f"{self.issues} data issues ({self.errors} rows left out); {recorded}"
        )
        if self.kept:
            text += f"; kept {', '.join(self.kept)}"
        if self.backup:
            text += f"; backup {self.backup}"
        return text


def _data_rows(rows: list[list[object]] | None) -> int:
    if not rows:
        return 0
    return sum(1 for row in rows[1:] if any(v is not None and v != "" for v in row))


@contextmanager
def opened_for_writing(target: Path, *, wait: float) -> Iterator[tuple[Path, bytes]]:
    """A workbook held for one writer: (the file a link points to, its bytes).

    Refuses another suffix than .xlsx / .xlsm, a workbook open in Excel or LibreOffice
    and a read-only one; the lock is held until the block ends.

    Raises:
        InputError: as said, or another command holds the workbook past ``wait``.

    """
    if target.suffix.casefold() not in _SUFFIXES:
        raise InputError(
            "wrong file type", value=target.name, expected="an .xlsx or .xlsm workbook"
        )
    with workbook_lock(target, wait=wait) as real:
        check_not_open(target)
        check_writable(real)
        yield real, read_file(real)


def refresh_file(
    path: str | os.PathLike[str],
    *,
    as_of: date | None = None,
    today: date | None = None,
    keep_history: bool = False,
    build_report: BuildReport | None = None,
    backup: bool = True,
    wait: float = DEFAULT_WAIT,
) -> RefreshResult:
    """Refresh the report sheets and the Snapshots log of the workbook at ``path``.

    Args:
        path: an ``.xlsx`` or ``.xlsm`` workbook (the ready workbook or any with the same
            tables or sheets).
        as_of: the as-of date; default: the Settings sheet's, else ``today`` (a blank
            Settings as-of date means the day the refresh runs; the entry point reads
            the clock).
        today: the day the refresh runs (see ``as_of``).
        keep_history: keep each earlier report sheet under a dated name
            (``Variance 2026-11-30``) instead of replacing it.
        build_report: builds the report from the validated model (default:
            `pipeline_xl.core.reports.build_report`).
        backup: keep the previous file as ``NAME.bak``.
        wait: seconds to wait for another command writing the same workbook.

    An ``as_of`` before the workbook's latest record gives a view of that date: the
    report sheets say "As it stood on ...", and the Snapshots table is not touched.

    Raises:
        InputError: the file is missing, being written by another command, open in Excel,
            read-only, not a workbook, refused by the zip checks, damaged, has no
            Prospects table, a structural data problem, a table that would grow into the
            user's cells, an ``as_of`` before anything the workbook has dated, or the
            file cannot be written (folder, disk).

    """
    target = Path(path)
    with opened_for_writing(target, wait=wait) as (real, data):
        raw = read_workbook(data, name=target.name)
        if as_of is None and raw.setting("as_of") in (None, ""):
            as_of = today
        model = raw.validate(as_of=as_of)
        report = (build_report or default_build_report)(model)
        package = Package(data, name=target.name)
        sheets = write_report(package, report, keep_history=keep_history)
        notes = list(sheets.notes)
        settings = model.settings
        notes += refresh_dashboard(
            package, raw, as_of=report.as_of, currency=settings.currency,
            fiscal_start=settings.fiscal_start_month, model=model,
        )  # fmt: skip
        before = _data_rows(raw.table(SNAPSHOTS))
        after = before
        if report.view:
            notes.append(
                f"{report.as_of} is before the workbook's latest record: the reports show "
                "the pipeline as it stood then, and the Snapshots table is left as it was"
            )
        else:
            log, horizon = fit_log(report.snapshots, report.as_of, settings.fiscal_start_month)
            if horizon is not None:
                notes.append(
                    f"the Snapshots log passed {LOG_ROWS:,} rows: changes before {horizon} "
                    "are kept as one row per deal and quarter (its state at the quarter's end)"
                )
            try:
                after = write_snapshots(package, log, raw=raw, model=model)
            except KeyError:
                notes.append(
                    f"no {SNAPSHOTS.name} table in {target.name}: the snapshot was not "
                    "saved (add the Snapshots table of the ready workbook to keep a history)"
                )
        saved = atomic_write(real, package.to_bytes(), backup=backup)
    severity = model.issues["severity"]
    return RefreshResult(
        path=target,
        as_of=report.as_of,
        sheets=tuple(sheets.written),
        kept=tuple(sheets.kept),
        issues=len(model.issues),
        errors=int((severity == "error").sum()),
        snapshot_rows=after,
        snapshot_rows_added=after - before,
        backup=saved,
        notes=tuple(notes),
        view=report.view,
    )
