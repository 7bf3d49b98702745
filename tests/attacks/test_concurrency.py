"""One writer at a time: commands on one workbook wait for each other, or refuse clearly.

Issue 12, item 3: an import started together with a refresh both printed success and
the import's changes were lost; two refreshes at once failed with FileNotFoundError (each
one's clean-up deleted the other's temporary file).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from tests.attacks.books import changed_amounts, prospects, write_export
from tests.attacks.conftest import ROOT

pytestmark = pytest.mark.libreoffice

CLI = Path(sys.executable).parent / "pipeline-xl"
_HOLD = """
import sys, time
from pipeline_xl.io.locking import workbook_lock
with workbook_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(300)
"""


def _start(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - fixed arguments
        [str(CLI), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=ROOT,
    )  # fmt: skip


def _as_of(path: Path) -> str:
    """The "As of" line of the Variance sheet."""
    book = CalamineWorkbook.from_path(str(path))
    return str(book.get_sheet_by_name("Variance").to_python()[1][0])


def test_a_second_writer_waits_then_refuses_and_a_killed_one_frees_the_file(book, run, opened):
    holder = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", _HOLD, str(book)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        before = book.read_bytes()
        started = time.monotonic()
        ran = run("refresh", book, "--wait", "1")
        assert time.monotonic() - started >= 1.0
        assert ran.code == 2
        assert ran.err == (
            "pipeline-xl: Book.xlsm is being changed by another pipeline-xl command: waited "
            "1 s for it to finish; nothing was written (try again when it has finished)\n"
        )
        assert book.read_bytes() == before
        holder.send_signal(signal.SIGKILL)  # a crash: the system releases the lock
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    ran = run("refresh", book, "--wait", "5", "--as-of", "2026-03-22")
    assert ran.code == 0, ran.err
    assert "Variance" in opened(book)


def test_an_import_and_a_refresh_together_keep_every_change(book, tmp_path, opened):
    rows = changed_amounts(book, range(2, 52), add=777.0)
    export = write_export(tmp_path / "changes.csv", rows, ["ID", "Stage", "Amount"])
    first = _start("import", export, "--into", book, "--wait", "60")
    second = _start("refresh", book, "--as-of", "2026-03-22", "--wait", "60")
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert all("Traceback" not in err for _, err in outs)
    table = prospects(book)
    header = table[0]
    amounts = {r[header.index("ID")]: r[header.index("Amount")] for r in table[1:]}
    assert [amounts[deal] for deal, _, _ in rows] == [amount for _, _, amount in rows]
    assert _as_of(book).startswith("As of 2026-03-22")
    assert "Variance" in opened(book)


def test_two_refreshes_together_both_succeed(book, opened):
    runs = [_start("refresh", book, "--as-of", day, "--wait", "60")
            for day in ("2026-03-22", "2026-03-23")]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    assert all(err == "" for _, err in outs), outs
    assert _as_of(book).startswith(("As of 2026-03-22", "As of 2026-03-23"))
    leftovers = [p.name for p in book.parent.iterdir() if p.name.endswith(("tmp", "baktmp"))]
    assert leftovers == []
    assert "Variance" in opened(book)
