"""Tables never grow into the user's cells; the user's formulas and cell styles stay.

Issue 12, item 1: a note, a formula and merged cells under a 300-row table were
overwritten by an import of 10 deals; a note under tblSnapshots vanished at a refresh;
a user column of formulas became values and per-cell styles were reset.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline_xl.io import libreoffice
from pipeline_xl.io.package import Package
from tests.attacks.books import (
    add_calculated_column,
    add_comment,
    add_merge,
    add_rows,
    add_shape,
    add_validation,
    changed_amounts,
    edit_sheet,
    formula_cell,
    new_deals,
    sheet_part,
    text_cell,
    write_export,
)
from tests.attacks.conftest import DEALS

pytestmark = pytest.mark.libreoffice

LAST = DEALS + 1  # tblProspects is A1:O301
NEEDS = f"it needs A1:O{LAST + 10} for its rows"
MAKE_ROOM = (
    "(expected free cells below and beside the table: move what is there further down or "
    "to another sheet, then try again)"
)


def _message(cell: str, what: str, table: str = "tblProspects", needs: str = NEEDS) -> str:
    sheet = "Prospects" if table == "tblProspects" else "Snapshots"
    return (
        f"pipeline-xl: {sheet}!{cell} {what}, where {table} would grow ({needs}): nothing "
        f"was written {MAKE_ROOM}\n"
    )


def _user_below(book: Path) -> None:
    """The issue's case: a note in A303, =SUM(G2:G301) in G303, A303:C304 merged."""
    rows = {LAST + 2: [text_cell(f"A{LAST + 2}", "Note: call Bob first")]}
    rows[LAST + 2].append(formula_cell(f"G{LAST + 2}", f"SUM(G2:G{LAST})", 1.0))
    edit_sheet(
        book, "Prospects", lambda x: add_merge(add_rows(x, rows), f"A{LAST + 2}:C{LAST + 3}")
    )


def test_import_does_not_cover_a_note_a_formula_and_merged_cells(book, tmp_path, run, opened):
    _user_below(book)
    before = book.read_bytes()
    export = write_export(tmp_path / "ten.csv", new_deals(10))
    ran = run("import", export, "--into", book)
    assert ran.code == 2
    assert ran.err == _message(f"A{LAST + 2}", "holds a value")
    assert book.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir() if "bak" in p.name) == []
    assert "Prospects" in opened(book)


@pytest.mark.parametrize(
    "case",
    [
        ("formula", _message(f"E{LAST + 4}", "holds a formula")),
        ("merge", _message(f"B{LAST + 5}", f"is part of the merged cells B{LAST + 5}:C{LAST + 6}")),
        ("comment", _message(f"C{LAST + 6}", "has a comment")),
        ("validation", _message(f"D{LAST + 7}", f"has a data validation (D{LAST + 7})")),
        ("shape", _message(f"F{LAST + 8}", "has a picture, chart or shape over it")),
    ],
    ids=lambda case: case[0],
)
def test_each_kind_of_user_content_stops_the_table(book, tmp_path, run, opened, case):
    what, message = case
    if what == "formula":
        cell = formula_cell(f"E{LAST + 4}", "1+1", 2.0)
        edit_sheet(book, "Prospects", lambda x: add_rows(x, {LAST + 4: [cell]}))
    elif what == "merge":
        edit_sheet(book, "Prospects", lambda x: add_merge(x, f"B{LAST + 5}:C{LAST + 6}"))
    elif what == "comment":
        add_comment(book, "Prospects", f"C{LAST + 6}")
    elif what == "validation":
        edit_sheet(book, "Prospects", lambda x: add_validation(x, f"D{LAST + 7}"))
    else:
        add_shape(book, "Prospects", (LAST + 8, 6), (LAST + 12, 9))
    before = book.read_bytes()
    ran = run("import", write_export(tmp_path / "ten.csv", new_deals(10)), "--into", book)
    assert (ran.code, ran.err) == (2, message)
    assert book.read_bytes() == before
    assert "Prospects" in opened(book)


def test_content_further_down_leaves_room(book, tmp_path, run, opened):
    note = text_cell(f"A{LAST + 11}", "far enough")
    edit_sheet(book, "Prospects", lambda x: add_rows(x, {LAST + 11: [note]}))
    ran = run("import", write_export(tmp_path / "ten.csv", new_deals(10)), "--into", book)
    assert ran.code == 0, ran.err
    xml = Package.from_bytes(book.read_bytes()).part(sheet_part(book, "Prospects")).decode()
    assert note in xml  # the row right below the grown table keeps the note
    assert (
        f'ref="A1:O{LAST + 10}"'
        in Package.from_bytes(book.read_bytes()).part("xl/tables/table1.xml").decode()
    )
    assert "Prospects" in opened(book)


def test_refresh_does_not_cover_a_note_below_the_snapshot_log(book, tmp_path, run, opened):
    changes = write_export(
        tmp_path / "changes.csv", changed_amounts(book, range(2, 11)), ["ID", "Stage", "Amount"]
    )
    assert run("import", changes, "--into", book).code == 0
    log = Package.from_bytes(book.read_bytes()).part("xl/tables/table7.xml").decode()
    last = int(re.search(r'ref="A1:H(\d+)"', log)[1])
    note = text_cell(f"B{last + 2}", "keep me")
    edit_sheet(book, "Snapshots", lambda x: add_rows(x, {last + 2: [note]}))
    before = book.read_bytes()
    ran = run("refresh", book, "--as-of", "2026-03-22")
    assert ran.code == 2
    assert ran.err.startswith(f"pipeline-xl: Snapshots!B{last + 2} holds a value, where ")
    assert f"tblSnapshots would grow (it needs A1:H{last + 9} for its rows)" in ran.err
    assert book.read_bytes() == before
    assert "Snapshots" in opened(book)


def test_a_calculated_column_and_cell_styles_survive_an_import(book, tmp_path, run, opened):
    changed = 10  # Excel row of the deal the import changes
    add_calculated_column(book, DEALS, styled_row=changed)
    edit_sheet(
        book,
        "Prospects",
        lambda x: re.sub(rf'<c r="G{changed}" s="\d+"', f'<c r="G{changed}" s="1"', x),
    )
    export = write_export(
        tmp_path / "one.csv",
        [
            *changed_amounts(book, [changed]),
            ["NEW-001", "Qualified", 4321.0],
            ["NEW-002", "Qualified", 10.0],
        ],
        ["ID", "Stage", "Amount"],
    )
    ran = run("import", export, "--into", book)
    assert ran.code == 0, ran.err
    package = Package.from_bytes(book.read_bytes())
    xml = package.part(sheet_part(book, "Prospects")).decode()
    cells = dict(re.findall(r'<c r="(P\d+)"([^>]*>.*?)</c>', xml))
    assert len(cells) == DEALS + 3  # the header, every row, the two new ones
    assert cells["P2"] == f'><f t="shared" ref="P2:P{LAST}" si="0">G2*2</f>'  # the master
    assert cells[f"P{changed}"] == ' s="1"><f t="shared" si="0"/>'  # kept, cached value gone
    assert cells["P3"] == '><f t="shared" si="0"/>'
    assert cells[f"P{LAST + 1}"].endswith(f"><f>G{LAST + 1}*2</f>")  # new rows get the formula
    assert cells[f"P{LAST + 2}"].endswith(f"><f>G{LAST + 2}*2</f>")
    assert re.search(rf'<c r="G{changed}" s="1"><v>', xml)  # the changed cell keeps its style
    assert 'fullCalcOnLoad="1"' in package.part("xl/workbook.xml").decode()
    assert "Prospects" in opened(book)
    values = libreoffice.cell_values(
        book, [f"Prospects!G{changed}:P{changed}", f"Prospects!G{LAST + 1}:P{LAST + 2}"]
    )
    got = values["Prospects"]
    assert got[f"P{changed}"]["value"] == 2 * got[f"G{changed}"]["value"]
    assert got[f"P{LAST + 1}"]["value"] == 2 * 4321.0
    assert got[f"P{LAST + 2}"]["value"] == 20.0
