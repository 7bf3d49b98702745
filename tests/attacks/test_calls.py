"""``pipeline-xl call``: a forecast call appended with every rule of the other writing commands.

Rows already in tblCalls keep their XML; the table grows only into free cells; a workbook
open in Excel, read-only or without the table is refused and left byte for byte; text
that looks like a formula stays text; the previous file is kept as ``NAME.bak``.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.udfs import PIPE_CALL
from tests.attacks.books import add_rows, edit_sheet, read_parts, save_parts, table_part, text_cell
from tests.attacks.conftest import ROOT

SHEET = "Forecast calls"  # restated on purpose (a second witness of the contract)


def _ref(book: Path) -> tuple[int, str]:
    """Last row of tblCalls and the XML of its rows (the sheet's sheetData)."""
    part = Package.from_bytes(book.read_bytes()).part(table_part(book, "tblCalls")).decode()
    last = int(re.search(r'ref="A1:H(\d+)"', part)[1])
    sheet = Package.from_bytes(book.read_bytes()).sheet(SHEET).part
    xml = Package.from_bytes(book.read_bytes()).part(sheet).decode()
    return last, xml


def _row_xml(xml: str, row: int) -> str:
    return re.search(rf'<row r="{row}"[ >].*?</row>', xml, re.S)[0]


@pytest.mark.libreoffice
def test_a_call_is_appended_and_the_rows_before_keep_their_xml(book, run, opened):
    last, before = _ref(book)
    ran = run(
        "call", book, "--period", "2026-12", "--owner", "nobody here", "--commit", "120000",
        "--most-likely", "130000", "--best-case", "150000", "--comment", "=HYPERLINK(1)",
        "--by", "Anna", "--as-of", "2026-11-30",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    assert f"from row {last + 1}" in ran.out
    assert "note: nobody here is not an owner of this workbook yet" in ran.out
    new_last, after = _ref(book)
    assert new_last == last + 3
    for row in (2, last // 2, last):
        assert _row_xml(after, row) == _row_xml(before, row)
    rows = read_workbook(book).table("Forecast calls")
    assert rows[-3:] == [
        ["2026-12", "nobody here", "Commit", 120000.0, date(2026, 11, 30), "Anna", None,
         "=HYPERLINK(1)"],
        ["2026-12", "nobody here", "Most likely", 130000.0, date(2026, 11, 30), "Anna", None,
         "=HYPERLINK(1)"],
        ["2026-12", "nobody here", "Best case", 150000.0, date(2026, 11, 30), "Anna", None,
         "=HYPERLINK(1)"],
    ]  # fmt: skip
    assert "<f>" not in _row_xml(after, last + 1)  # the comment is text, not a formula
    assert PIPE_CALL(rows, "2026-12", "Nobody Here") == 120000.0
    assert (book.parent / "Book.xlsm.bak").exists()
    assert "Forecast calls" in opened(book)


def test_an_owner_is_spelt_as_the_workbook_spells_it(book, run):
    owner = str(read_workbook(book).table("Prospects")[1][3])
    ran = run("call", book, "--period", "2026-12", "--owner", owner.upper(), "--commit", "1")
    assert ran.code == 0, ran.err
    assert read_workbook(book).table("Forecast calls")[-1][1] == owner
    assert "not an owner" not in ran.out


def test_a_note_below_the_table_stops_the_call(book, run):
    last, _ = _ref(book)
    edit_sheet(book, SHEET, lambda x: add_rows(x, {last + 2: [text_cell(f"B{last + 2}", "mine")]}))
    before = book.read_bytes()
    ran = run("call", book, "--period", "2026-12", "--commit", "1", "--best-case", "2")
    assert ran.code == 2
    assert ran.err.startswith(
        f"pipeline-xl: Forecast calls!B{last + 2} holds a value, where tblCalls would grow"
    )
    assert book.read_bytes() == before
    assert not (book.parent / "Book.xlsm.bak").exists()


@pytest.mark.parametrize(
    ("lock", "app"), [("~$Book.xlsm", "Excel"), (".~lock.Book.xlsm#", "LibreOffice")]
)
def test_a_workbook_open_elsewhere_is_refused(book, run, lock, app):
    (book.parent / lock).write_text("user")
    before = book.read_bytes()
    ran = run("call", book, "--period", "2026-12", "--commit", "1")
    assert (ran.code, ran.err) == (
        2, f"pipeline-xl: Book.xlsm is open in {app} (lock file {lock}): close it and try again\n"
    )  # fmt: skip
    assert book.read_bytes() == before


def test_a_read_only_workbook_is_refused(book, run):
    book.chmod(0o444)
    before = book.read_bytes()
    ran = run("call", book, "--period", "2026-12", "--commit", "1")
    assert ran.code == 2
    assert "Book.xlsm is read-only: nothing was written" in ran.err
    assert book.read_bytes() == before
    assert stat.S_IMODE(book.stat().st_mode) == 0o444


def test_a_workbook_without_the_table_is_refused(book, run):
    parts = read_parts(book)
    name = table_part(book, "tblCalls")
    parts[name] = (
        parts[name]
        .replace(b'name="tblCalls"', b'name="tblOther"')
        .replace(b'displayName="tblCalls"', b'displayName="tblOther"')
    )
    save_parts(book, parts)
    before = book.read_bytes()
    ran = run("call", book, "--period", "2026-12", "--commit", "1")
    assert ran.code == 2
    assert "Book.xlsm has no tblCalls table" in ran.err
    assert book.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "2026-13", "--commit", "1"), "--period: '2026-13' is not a period"),
        (("--period", "2026-12"), "no call amount given"),
        (("--period", "2026-12", "--commit", "-5"), "Commit: not an amount"),
    ],
)
def test_bad_options_change_nothing(book, run, args, message):
    before = book.read_bytes()
    ran = run("call", book, *args)
    assert ran.code == 2
    assert message in ran.err
    assert book.read_bytes() == before


_HOLD = """
import sys, time
from pipeline_xl.io.locking import workbook_lock
with workbook_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(300)
"""


def test_a_call_waits_for_another_writer_then_refuses(book, run):
    holder = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", _HOLD, str(book)], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        before = book.read_bytes()
        started = time.monotonic()
        ran = run("call", book, "--period", "2026-12", "--commit", "1", "--wait", "1")
        assert time.monotonic() - started >= 1.0
        assert ran.code == 2
        assert "is being changed by another pipeline-xl command" in ran.err
        assert book.read_bytes() == before
        assert not (book.parent / "Book.xlsm.bak").exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    ran = run("call", book, "--period", "2026-12", "--commit", "1")
    assert ran.code == 0, ran.err


def test_two_calls_at_once_both_land(book):
    cli = Path(sys.executable).parent / "pipeline-xl"
    args = [
        [str(cli), "call", str(book), "--period", "2026-12", "--owner", name, "--commit", amount]
        for name, amount in (("Ann Call", "111"), ("Bob Call", "222"))
    ]
    started = [
        subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)  # noqa: S603 - fixed arguments
        for a in args
    ]
    for process in started:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    rows = read_workbook(book).table("Forecast calls")
    landed = {(r[1], r[3]) for r in rows[-2:]}
    assert landed == {("Ann Call", 111.0), ("Bob Call", 222.0)}
