"""Cells updated in place: cached formula results and the tool's texts, nothing else."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import xlsxwriter

from pipeline_xl.io.cell_update import CellEdit, update_cells
from pipeline_xl.io.package import Package


@pytest.fixture
def book() -> bytes:
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = wb.add_worksheet("Dashboard")
    bold = wb.add_format({"bold": True})
    ws.write_string("A1", "As of 2026-11-30", bold)
    ws.write_formula("B2", "=SUM(1,2)", bold, 3)
    ws.write_formula("B3", '=IF(TRUE,"x","y")', None, "x")
    ws.write_formula("B4", "=1/0", None, "#DIV/0!")
    ws.write_string("A5", "user text")
    ws.write_number("C1", 42)
    wb.close()
    return buffer.getvalue()


def _values(data: bytes) -> dict[str, object]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["Dashboard"]
    return {ref: sheet[ref].value for ref in ("A1", "B2", "B3", "B4", "A5", "C1")}


def test_updates_results_and_texts_and_nothing_else(book):
    package = Package(book)
    result = update_cells(
        package,
        "Dashboard",
        {
            "A1": CellEdit("As of 2026-12-31", text="As of 2026-11-30"),
            "B2": CellEdit(7.5, formula="=SUM(1,2)"),
            "B3": CellEdit("#N/A", formula='=IF(TRUE,"x","y")'),
            "B4": CellEdit(12.0, formula="=1/0"),
        },
    )
    assert sorted(result.changed) == ["A1", "B2", "B3", "B4"]
    out = package.to_bytes()
    values = _values(out)
    assert values["A1"] == "As of 2026-12-31"
    assert values["B2"] == 7.5
    assert values["B3"] == "#N/A"
    assert values["B4"] == 12
    assert values["A5"] == "user text"
    assert values["C1"] == 42
    formulas = openpyxl.load_workbook(io.BytesIO(out))["Dashboard"]
    assert formulas["B2"].value == "=SUM(1,2)"
    assert formulas["B2"].font.b  # the style is kept
    with zipfile.ZipFile(io.BytesIO(out)) as after, zipfile.ZipFile(io.BytesIO(book)) as before:
        for name in before.namelist():
            if name != "xl/worksheets/sheet1.xml":
                assert after.read(name) == before.read(name)


def test_a_changed_formula_or_text_is_left_alone_and_reported(book):
    package = Package(book)
    result = update_cells(
        package,
        "Dashboard",
        {
            "B2": CellEdit(9.0, formula="=SUM(1,2,3)"),
            "A5": CellEdit("mine", text="As of 2026-11-30"),
            "Z9": CellEdit(1.0, formula="=1"),
            "C1": CellEdit(1.0, formula="=1"),
        },
    )
    assert result.changed == []
    assert set(result.skipped) == {"B2", "A5", "Z9", "C1"}
    assert "not in the sheet" in result.skipped["Z9"]
    assert package.to_bytes() == Package(book).to_bytes()


def test_text_is_written_as_text_never_as_a_formula(book):
    package = Package(book)
    update_cells(package, "Dashboard", {"A1": CellEdit("=cmd|' /C calc'!A0")})
    sheet = openpyxl.load_workbook(io.BytesIO(package.to_bytes()))["Dashboard"]
    assert sheet["A1"].value == "=cmd|' /C calc'!A0"
    assert sheet["A1"].data_type == "s"


def test_owned_cells_take_the_new_value_whatever_they_held(book):
    package = Package(book)
    result = update_cells(
        package,
        "Dashboard",
        {
            "A5": CellEdit("Deal 7", owned=True),
            "C1": CellEdit(None, owned=True),
            "B2": CellEdit(1234.5, owned=True),
        },
    )
    assert sorted(result.changed) == ["A5", "B2", "C1"]
    sheet = openpyxl.load_workbook(io.BytesIO(package.to_bytes()))["Dashboard"]
    assert sheet["A5"].value == "Deal 7"
    assert sheet["C1"].value is None
    assert sheet["B2"].value == 1234.5  # a constant now, its formula replaced
    assert sheet["B2"].font.b  # the style is kept
