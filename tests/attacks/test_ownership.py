"""Sheets the tool did not make are never written over; names keep pointing where they did.

Issue 12, item 6: a user's sheet named "Pipeline flow" was overwritten with its chart,
comment and drawing parts; ``--keep-history`` moved a defined name to the renamed old
report while the cell formulas stayed on the new one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline_xl.core.contract import REPORT_MARK
from pipeline_xl.io import libreoffice
from pipeline_xl.io.package import Package
from tests.attacks.books import (
    add_comments_part,
    add_defined_name,
    add_rows,
    edit_sheet,
    formula_cell,
    rename_sheet,
)
from tests.io.workbooks import USER_SHEET, extend, new_sample, read_parts

pytestmark = pytest.mark.libreoffice


def test_a_user_sheet_named_like_a_report_is_left_alone(tmp_path, run, opened):
    book = extend(new_sample(tmp_path / "Book.xlsm", 40))
    comments = add_comments_part(book, USER_SHEET, "A1")
    rename_sheet(book, USER_SHEET, "Pipeline flow")
    user_parts = [
        "xl/worksheets/sheet10.xml", "xl/worksheets/_rels/sheet10.xml.rels",
        "xl/drawings/drawing1.xml", "xl/drawings/_rels/drawing1.xml.rels",
        "xl/charts/chart1.xml", comments,
    ]  # fmt: skip
    before = {p: read_parts(book)[p] for p in user_parts}
    ran = run("refresh", book)
    assert ran.code == 0, ran.err
    assert (
        "  the sheet Pipeline flow was not made by pipeline-xl, so it is left as it is: the "
        "Pipeline flow report is on the sheet Pipeline flow (2)\n"
    ) in ran.out
    after = read_parts(book)
    assert {p: after[p] for p in user_parts} == before
    package = Package.from_bytes(book.read_bytes())
    assert package.sheet("Pipeline flow").part == "xl/worksheets/sheet10.xml"
    assert package.local_names(REPORT_MARK)["Pipeline flow (2)"] == "Pipeline flow"
    assert "Pipeline flow" not in package.local_names(REPORT_MARK)
    again = run("refresh", book, "--as-of", "2026-03-22")  # the report's own sheet is reused
    assert again.code == 0, again.err
    names = [s.name for s in Package.from_bytes(book.read_bytes()).sheets()]
    assert names.count("Pipeline flow (2)") == 1
    assert "Pipeline flow (3)" not in names
    assert {p: read_parts(book)[p] for p in user_parts} == before
    assert {"Pipeline flow", "Pipeline flow (2)"} <= set(opened(book))


def test_keep_history_leaves_names_and_formulas_on_the_new_report(tmp_path, run, opened):
    book = extend(new_sample(tmp_path / "Book.xlsm", 40))
    assert run("refresh", book).code == 0
    add_defined_name(book, "MyVar", "Variance!$D$6")
    cells = [formula_cell("E5", "Variance!D6*2"), formula_cell("F5", "MyVar*2")]
    edit_sheet(book, USER_SHEET, lambda x: add_rows(x, {5: cells}))
    ran = run("refresh", book, "--keep-history", "--as-of", "2026-03-22")
    assert ran.code == 0, ran.err
    assert "; kept Variance 2026-03-15, " in ran.out
    package = Package.from_bytes(book.read_bytes())
    workbook = package.part("xl/workbook.xml").decode()
    assert '<definedName name="MyVar">Variance!$D$6</definedName>' in workbook
    user = package.part(package.sheet(USER_SHEET).part).decode()
    assert "<f>Variance!D6*2</f>" in user
    marks = package.local_names(REPORT_MARK)
    assert marks["Variance"] == "Variance"
    assert marks["Variance 2026-03-15"] == "kept:Variance"
    assert re.search(r"Variance 2026-03-15", workbook)
    assert {"Variance", "Variance 2026-03-15"} <= set(opened(book))
    got = libreoffice.cell_values(book, [f"'{USER_SHEET}'!E5:F5", "Variance!D6:D6"])
    target = got["Variance"]["D6"]["value"]
    assert target is not None
    assert got[USER_SHEET]["E5"]["value"] == got[USER_SHEET]["F5"]["value"] == 2 * target


def test_an_unmarked_report_name_in_another_case_is_left_alone(tmp_path, run):
    book = new_sample(tmp_path / "Book.xlsm", 40)
    extend(book)
    rename_sheet(book, USER_SHEET, "VARIANCE")
    user = read_parts(book)["xl/worksheets/sheet10.xml"]
    ran = run("refresh", book)
    assert ran.code == 0, ran.err
    assert read_parts(book)["xl/worksheets/sheet10.xml"] == user
    assert "the Variance report is on the sheet Variance (2)" in ran.out
    assert Path(book).exists()
