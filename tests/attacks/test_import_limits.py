"""Issue 12, item 7: an import never writes what Excel cannot hold, and says what it did.

A field over Excel's 32,767 characters is cut to them (a data issue naming the workbook
cell and the export row, the preview showing only its start); a date before 1900 and a
number beyond Excel's range or 15 digits stay as their text; control characters XML
cannot carry are removed; a file mixing UTF-8 and Windows-1252 lines is read line by
line. The written workbook opens in LibreOffice with every cell as said; a field of
tens of megabytes costs seconds, prints a line, and leaves a workbook the next command
reads.
"""

from __future__ import annotations

import time

import pytest

from pipeline_xl.io import libreoffice
from tests.attacks.books import prospects
from tests.attacks.conftest import DEALS

pytestmark = pytest.mark.libreoffice

LIMIT = 32_767  # Excel's characters per cell, restated on purpose
FIRST = DEALS + 2  # the first new deal's row: header on row 1, then the 300 deals
LONG = ("Lorem ipsum dolor sit amet " * 2000)[:40_000]


def hostile_export(tmp_path):
    """An export with one case per row, mostly UTF-8 with one Windows-1252 line."""
    rows = [
        "ID,Name,Stage,Amount,Expected close",
        f"LIM-1,{LONG},Qualified,1000,2026-06-30",
        "LIM-2,Old deal,Qualified,2000,1850-01-15",
        "LIM-3,Huge,Qualified,1e308,2026-06-30",
        "12345678901234567890,Long ID,Qualified,12345678901234567890,2026-06-30",
        "LIM-5,Bell\x07 and\x0bvt\x00nul,Qualified,500,2026-06-30",
        "LIM-6,José Müller,Qualified,600,2026-06-30",
    ]
    data = b"".join(f"{row}\r\n".encode() for row in rows)
    data += "LIM-7,Renée Dupré,Qualified,700,2026-06-30\r\n".encode("cp1252")
    path = tmp_path / "hostile.csv"
    path.write_bytes(data)
    return path


EXPECTED_ISSUES = [
    "Data issues: 4 cells Excel cannot hold as the export gives them:",
    (
        f"  warning Prospects!B{FIRST} Name (export row 2): a text of 40,000 characters, more "
        "than the 32,767 an Excel cell holds; its first 32,767 kept: "
        "'Lorem ipsum dolor sit amet Lorem ipsum d\u2026 (40,000 characters)'"
    ),
    (
        f"  warning Prospects!H{FIRST + 1} Expected close (export row 3): a date before "
        "1900-03-01, which Excel's dates cannot hold; kept as its text: '1850-01-15'"
    ),
    (
        f"  warning Prospects!G{FIRST + 2} Amount (export row 4): a number beyond Excel's (its "
        "largest is 9.99999999999999E+307); kept as text: '1e308'"
    ),
    (
        f"  warning Prospects!G{FIRST + 3} Amount (export row 5): more than 15 significant "
        "digits before the decimal mark, which Excel would round; kept as text: "
        "'12345678901234567890'"
    ),
]


def test_the_dry_run_reports_and_shows_short_values(book, tmp_path, run):
    before = book.read_bytes()
    ran = run("import", hostile_export(tmp_path), "--into", book, "--dry-run")
    assert ran.code == 0, ran.err
    lines = ran.out.splitlines()
    assert max(map(len, lines)) < 400  # the 40,000-character name is never printed whole
    start = lines.index(EXPECTED_ISSUES[0])
    assert lines[start : start + 5] == EXPECTED_ISSUES
    assert (
        "  warning: mixed encodings: of the 2 lines with characters beyond ASCII, 1 read as "
        "UTF-8 and 1 as Windows-1252, each line on its own (Windows-1252 on lines 8)"
    ) in lines
    assert (
        "  warning: Name: 1 cell held control characters that a workbook cannot store "
        "(U+0000-U+001F except tab, LF and CR); removed (export rows 6)"
    ) in lines
    preview = next(line for line in lines if line.startswith("  + LIM-1:"))
    assert preview == (
        "  + LIM-1: Name='Lorem ipsum dolor sit amet Lorem ipsum d\u2026 (32,767 characters)', "
        "Stage='Qualified', Amount=1,000"
    )
    assert book.read_bytes() == before


def test_the_written_workbook_holds_what_was_said_and_opens(book, tmp_path, run, opened):
    export = hostile_export(tmp_path)
    ran = run("import", export, "--into", book)
    assert ran.code == 0, ran.err
    table = prospects(book)
    header = table[0]
    new = {str(r[header.index("ID")]): r for r in table[FIRST - 1 :]}
    name, amount, close = (header.index(h) for h in ("Name", "Amount", "Expected close"))
    assert new["LIM-1"][name] == LONG[:LIMIT].rstrip()
    assert new["LIM-2"][close] == "1850-01-15"
    assert new["LIM-3"][amount] == "1e308"
    assert new["12345678901234567890"][amount] == "12345678901234567890"
    assert new["LIM-5"][name] == "Bell and vtnul"
    assert (new["LIM-6"][name], new["LIM-7"][name]) == ("José Müller", "Renée Dupré")
    cells = libreoffice.cell_values(book, [f"Prospects!A{FIRST}:H{FIRST + 6}"], recalc=False)
    got = cells["Prospects"]
    assert len(got[f"B{FIRST}"]["text"]) == len(LONG[:LIMIT].rstrip())
    for ref, text in [
        (f"H{FIRST + 1}", "1850-01-15"),
        (f"G{FIRST + 2}", "1e308"),
        (f"A{FIRST + 3}", "12345678901234567890"),
        (f"G{FIRST + 3}", "12345678901234567890"),
        (f"B{FIRST + 4}", "Bell and vtnul"),
    ]:
        assert (got[ref]["text"], got[ref]["value"]) == (text, None)  # text, not a number
    assert "Prospects" in opened(book)
    again = run("import", export, "--into", book)  # the cut cells equal what the export gives
    assert "7 unchanged" in again.out
    assert f"nothing changed: {book.name} was not written" in again.out
    refreshed = run("refresh", book, "--as-of", "2026-03-22")
    assert refreshed.code == 0, refreshed.err
    assert "Variance" in opened(book)


@pytest.mark.slow
def test_a_field_of_20_megabytes(book, tmp_path, run):
    export = tmp_path / "big.csv"
    export.write_bytes(
        b"ID,Name,Stage,Amount,Expected close\r\nBIG-1,"
        + b"word " * 4_000_000
        + b",Qualified,1000,2026-06-30\r\n"
    )
    started = time.monotonic()
    ran = run("import", export, "--into", book)
    took = time.monotonic() - started
    assert ran.code == 0, ran.err
    assert took < 30
    assert max(map(len, ran.out.splitlines())) < 400
    assert (
        f"  warning Prospects!B{FIRST} Name (export row 2): a text of 20,000,000 characters, "
        "more than the 32,767 an Excel cell holds; its first 32,767 kept: "
        "'word word word word word word word word \u2026 (20,000,000 characters)'"
    ) in ran.out.splitlines()
    assert run("metrics", book).code == 0  # the zip guard reads the result
