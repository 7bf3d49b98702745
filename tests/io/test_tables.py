"""Rewriting an Excel table's rows in place: range, cells around it, styles, safety."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from pipeline_xl.io.package import Package
from pipeline_xl.io.tables import (
    cell_text,
    col_index,
    col_letter,
    excel_serial,
    find_table,
    replace_table_rows,
    split_ref,
)

HEADER = ["Date", "Name", "Amount"]
KINDS = ["date", "text", "number"]
ROWS = [
    [date(2026, 1, 5), "Alpha", 100.0],
    [date(2026, 2, 6), "Beta", 250.5],
    [date(2026, 3, 7), "Gamma", None],
]


def _book(path: Path, *, totals: bool = False) -> Path:
    """Table tblData at B2:D5 on sheet Data, a note in A3 and a value in F4 beside it."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    day = wb.add_format({"num_format": "yyyy-mm-dd", "bold": True})
    money = wb.add_format({"num_format": "#,##0.00"})
    columns = [
        {"header": "Date", "format": day},
        {"header": "Name"},
        {"header": "Amount", "format": money},
    ]
    if totals:
        columns[1]["total_string"] = "Total"
        columns[2]["total_function"] = "sum"
    last = 5
    ws.add_table(
        1, 1, last + (1 if totals else 0) - 1, 3,
        {"name": "tblData", "columns": columns, "total_row": totals},
    )  # fmt: skip
    for i, (d, name, amount) in enumerate(ROWS):
        ws.write_datetime(2 + i, 1, datetime(d.year, d.month, d.day), day)
        ws.write_string(2 + i, 2, name)
        if amount is not None:
            ws.write_number(2 + i, 3, amount, money)
    ws.write_string(2, 0, "note beside")
    ws.write_number(3, 5, 42)
    ws.data_validation("D3:D5", {"validate": "decimal", "criteria": ">=", "value": 0})
    wb.add_worksheet("Other").write_string(0, 0, "untouched")
    wb.close()
    return path


def _save(pkg: Package, path: Path) -> Path:
    path.write_bytes(pkg.to_bytes())
    return path


def _table_rows(path: Path, name: str = "tblData") -> list[list[object]]:
    book = CalamineWorkbook.from_path(str(path), load_tables=True)
    return book.get_table_by_name(name).to_python()


class TestReferences:
    @pytest.mark.parametrize(("n", "letters"), [(1, "A"), (26, "Z"), (27, "AA"), (16384, "XFD")])
    def test_columns(self, n, letters):
        assert col_letter(n) == letters
        assert col_index(letters) == n

    def test_split_ref(self):
        assert split_ref("B2:D5") == (2, 2, 5, 4)
        assert split_ref("$C$7") == (7, 3, 7, 3)

    def test_serials(self):
        # 2026-01-05 is 46,027 days after 1899-12-30 (Excel's 1900 system, leap bug included).
        assert excel_serial(date(2026, 1, 5)) == 46027
        assert excel_serial(datetime(2026, 1, 5, 12)) == 46027.5
        assert excel_serial(date(1900, 1, 1)) == 1  # before the fake 29 February 1900
        assert excel_serial(date(1904, 1, 2), date1904=True) == 1

    def test_cell_text(self):
        assert cell_text("a & <b>") == "a &amp; &lt;b&gt;"
        assert cell_text("x\x01y") == "x_x0001_y"
        assert cell_text("_x0041_") == "_x005F_x0041_"


class TestReplace:
    def test_grow_keeps_cells_beside_the_table(self, tmp_path):
        path = _book(tmp_path / "b.xlsx")
        pkg = Package.open(path)
        rows = [*ROWS, [date(2026, 4, 8), "Delta", 7.0], [date(2026, 5, 9), "Eps", 8.25]]
        table = replace_table_rows(pkg, "tblData", HEADER, rows, KINDS)
        assert table.ref == "B2:D7"
        out = _save(pkg, tmp_path / "out.xlsx")
        assert _table_rows(out) == [[r[0], r[1], "" if r[2] is None else r[2]] for r in rows]
        ws = openpyxl.load_workbook(out)["Data"]
        assert ws["A3"].value == "note beside"
        assert ws["F4"].value == 42
        assert ws["B7"].number_format == "yyyy-mm-dd"
        assert ws["B7"].font.b  # the column's own style, bold included
        assert ws["D7"].number_format == "#,##0.00"
        assert ws.tables["tblData"].ref == "B2:D7"
        assert ws.tables["tblData"].autoFilter.ref == "B2:D7"
        assert ws.dimensions == "A2:F7"
        assert str(ws.data_validations.dataValidation[0].sqref) == "D3:D7"
        assert openpyxl.load_workbook(out)["Other"]["A1"].value == "untouched"

    def test_shrink_removes_only_table_cells(self, tmp_path):
        path = _book(tmp_path / "b.xlsx")
        pkg = Package.open(path)
        table = replace_table_rows(pkg, "tblData", HEADER, ROWS[:1], KINDS)
        assert table.ref == "B2:D3"
        out = _save(pkg, tmp_path / "out.xlsx")
        ws = openpyxl.load_workbook(out)["Data"]
        assert ws["C4"].value is None
        assert ws["C5"].value is None
        assert ws["F4"].value == 42  # beyond the table's new end, outside its columns
        assert _table_rows(out) == [[date(2026, 1, 5), "Alpha", 100.0]]

    def test_no_rows_keeps_one_empty_row(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        assert replace_table_rows(pkg, "tblData", HEADER, [], KINDS).ref == "B2:D3"

    def test_text_that_looks_like_a_formula(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        rows = [[date(2026, 1, 5), "=1+1", 1.0], [date(2026, 1, 6), "@SUM(A1)", "12 EUR"]]
        replace_table_rows(pkg, "tblData", HEADER, rows, KINDS)
        out = _save(pkg, tmp_path / "out.xlsx")
        ws = openpyxl.load_workbook(out)["Data"]
        for ref, text in (("C3", "=1+1"), ("C4", "@SUM(A1)")):
            assert ws[ref].value == text
            assert ws[ref].data_type == "s"
            assert ws[ref].quotePrefix
        assert ws["D4"].value == "12 EUR"  # text in a number column stays text
        assert not ws["D4"].quotePrefix
        again = Package.open(out)
        replace_table_rows(again, "tblData", HEADER, rows, KINDS)
        assert again.part("xl/styles.xml") == pkg.part("xl/styles.xml")  # quote style reused

    def test_awkward_text_round_trips(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        texts = [
            "a & b < c",
            " padded ",
            "tab\there",
            "ctrl\x01x",
            "_x0041_ literal",
            "line\r\nbreak",
        ]
        rows = [[None, t, None] for t in texts]
        replace_table_rows(pkg, "tblData", HEADER, rows, KINDS)
        out = _save(pkg, tmp_path / "out.xlsx")
        # calamine decodes Excel's _xHHHH_ escapes as Excel does (openpyxl leaves them).
        assert [row[1] for row in _table_rows(out)] == texts

    def test_same_rows_twice_give_the_same_bytes(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        replace_table_rows(pkg, "tblData", HEADER, ROWS, KINDS)
        first = pkg.part("xl/worksheets/sheet1.xml")
        replace_table_rows(pkg, "tblData", HEADER, ROWS, KINDS)
        assert pkg.part("xl/worksheets/sheet1.xml") == first

    def test_new_columns_extend_the_table(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        rows = [[*r, f"note {i}"] for i, r in enumerate(ROWS)]
        table = replace_table_rows(pkg, "tblData", [*HEADER, "Note"], rows, [*KINDS, "auto"])
        assert table.columns == ("Date", "Name", "Amount", "Note")
        assert table.ref == "B2:E5"
        out = _save(pkg, tmp_path / "out.xlsx")
        ws = openpyxl.load_workbook(out)["Data"]
        assert ws["E2"].value == "Note"
        assert ws["E5"].value == "note 2"

    def test_header_must_match(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        with pytest.raises(ValueError, match="must start with the columns of tblData"):
            replace_table_rows(pkg, "tblData", ["Name", "Date", "Amount"], ROWS, KINDS)
        with pytest.raises(KeyError):
            find_table(pkg, "tblNope")

    def test_totals_row_moves_down(self, tmp_path):
        pkg = Package.open(_book(tmp_path / "t.xlsx", totals=True))
        before = find_table(pkg, "tbldata")  # names match ignoring case
        assert (before.ref, before.totals_rows) == ("B2:D6", 1)
        rows = [*ROWS, [date(2026, 4, 8), "Delta", 7.0]]
        table = replace_table_rows(pkg, "tblData", HEADER, rows, KINDS)
        assert table.ref == "B2:D7"
        out = _save(pkg, tmp_path / "out.xlsx")
        ws = openpyxl.load_workbook(out)["Data"]
        assert ws["C7"].value == "Total"
        assert "SUBTOTAL(109" in ws["D7"].value

    def test_openxml_audit(self, tmp_path):
        audit = pytest.importorskip("openxml_audit")
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        replace_table_rows(pkg, "tblData", HEADER, [*ROWS, [None, "=x", 1.5]], KINDS)
        out = _save(pkg, tmp_path / "out.xlsx")
        result = audit.OpenXmlValidator(file_format=audit.FileFormat.MICROSOFT_365).validate(
            str(out)
        )
        assert [f"{e.part_uri}: {e.description}" for e in result.errors] == []
