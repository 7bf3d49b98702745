"""What already held in issue 12, kept in the suite: hostile files and interrupted writes.

Formula-like text stays text; entity bombs, external entities, part names leaving the
package and damaged zips are refused with the workbook unchanged; a write killed with
SIGKILL leaves the old file; workbooks saved again by LibreOffice or openpyxl refresh
as before (the report sheets are still known as the tool's).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline_xl.core.contract import REPORT_MARK, REPORT_SHEETS
from pipeline_xl.io import libreoffice
from pipeline_xl.io.package import Package
from tests.attacks.books import save_parts, sheet_part, write_export
from tests.attacks.conftest import DEALS, ROOT
from tests.io.workbooks import read_parts

pytestmark = pytest.mark.libreoffice

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(2, 10))
    + '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t>'
    "</si></sst>"
)
CALAMINE_REFUSES = (  # python-calamine refuses a document type declaration outright
    "pipeline-xl: Book.xlsm cannot be read as an Excel workbook (Cannot detect file format) "
    "(expected an .xlsx or .xlsm file saved by Excel)\n"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t>'
    "</si></sst>"
)


def test_formula_like_text_stays_text(book, tmp_path, run, opened):
    names = ['=HYPERLINK("http://example.com","click")', "+1+1", "@SUM(A1:A2)", "-2+3"]
    rows = [[f"INJ-{i}", name, "Qualified", 100 + i, "2026-06-30"] for i, name in enumerate(names)]
    ran = run("import", write_export(tmp_path / "inj.csv", rows), "--into", book)
    assert ran.code == 0, ran.err
    xml = Package.from_bytes(book.read_bytes()).part(sheet_part(book, "Prospects")).decode()
    assert "<f>" not in xml
    first = DEALS + 2
    cells = libreoffice.cell_values(book, [f"Prospects!B{first}:B{first + 3}"], recalc=True)
    got = [cells["Prospects"][f"B{first + i}"] for i in range(4)]
    assert [(c["text"], c["formula"]) for c in got] == [(n, "") for n in names]
    assert "Prospects" in opened(book)


@pytest.mark.parametrize(
    "attack",
    [
        ("laughs", LAUGHS, CALAMINE_REFUSES),
        ("xxe", XXE, CALAMINE_REFUSES),
    ],
    ids=lambda a: a[0],
)
def test_entities_are_refused(book, run, attack):
    _, text, message = attack
    parts = read_parts(book)
    parts["xl/sharedStrings.xml"] = text.encode()
    save_parts(book, parts)
    before = book.read_bytes()
    started = time.monotonic()
    ran = run("refresh", book)
    assert time.monotonic() - started < 30  # nothing expanded
    assert (ran.code, ran.err) == (2, message)
    assert "root:" not in ran.err + ran.out
    assert book.read_bytes() == before


def test_part_names_that_leave_the_package(book, run):
    with zipfile.ZipFile(book, "a") as zf:
        zf.writestr("../../evil.xml", b"<x/>")
    before = book.read_bytes()
    ran = run("refresh", book)
    assert ran.err == (
        "pipeline-xl: refusing Book.xlsm: its part name '../../evil.xml' points outside the "
        "package\n"
    )
    assert book.read_bytes() == before
    assert not (book.parent.parent.parent / "evil.xml").exists()


def test_damaged_zips(book, run):
    data = book.read_bytes()
    cut = book.with_name("Cut.xlsm")
    cut.write_bytes(data[: len(data) // 2])
    ran = run("refresh", cut)
    assert ran.err == (
        "pipeline-xl: Cut.xlsm is not an Excel workbook (not a zip package) (expected an .xlsx "
        "or .xlsm file saved by Excel)\n"
    )
    flipped = book.with_name("Flipped.xlsm")
    with zipfile.ZipFile(book) as zf:
        info = zf.getinfo("xl/workbook.xml")
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    broken = bytearray(data)
    broken[at] ^= 0xFF
    flipped.write_bytes(bytes(broken))
    ran = run("refresh", flipped)
    assert ran.code == 2
    assert ran.err.startswith("pipeline-xl: Flipped.xlsm is damaged: xl/workbook.xml ")
    assert cut.read_bytes() == data[: len(data) // 2]


_KILL = """
import pathlib, sys, time
from pipeline_xl.io import safety
from pipeline_xl.usecases.refresh import refresh_file
marker = pathlib.Path(sys.argv[2])
def pause(tmp):
    part = marker.with_name(marker.name + ".part")
    part.write_text(str(tmp))
    part.replace(marker)
    time.sleep(120)
safety._before_replace = pause
refresh_file(sys.argv[1])
"""


def test_killed_while_writing(book, tmp_path, run, opened):
    before = book.read_bytes()
    marker = tmp_path / "marker"
    child = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", _KILL, str(book), str(marker)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert book.read_bytes() == before
    leftover = Path(marker.read_text())
    assert leftover.is_file()
    assert run("refresh", book, "--as-of", "2026-03-22").code == 0  # lock freed, temp cleared
    assert not leftover.exists()
    assert "Variance" in opened(book)


@pytest.mark.parametrize("saver", ["libreoffice", "openpyxl"])
def test_saved_again_by_another_program(book, tmp_path, run, opened, saver):
    again = tmp_path / "Again.xlsx"
    if saver == "libreoffice":
        libreoffice.recalculate(book, again)
    else:
        openpyxl.load_workbook(book).save(again)
    ran = run("refresh", again, "--as-of", "2026-03-22")
    assert ran.code == 0, ran.err
    package = Package.from_bytes(again.read_bytes())
    assert sorted(package.local_names(REPORT_MARK)) == sorted(REPORT_SHEETS)
    assert [s for s in opened(again) if "(2)" in s] == []
