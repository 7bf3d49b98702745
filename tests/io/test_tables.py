"""Rewriting an Excel table's rows in place: range, cells around it, styles, safety."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.package import Package
from pipeline_xl.io.tables import find_table, replace_table_rows

HEADER = ["Date", "Name", "Amount"]
KINDS = ["date", "text", "number"]
ROWS = [
    [date(2026, 1, 5), "Alpha", 100.0],
    [date(2026, 2, 6), "Beta", 250.5],
    [date(2026, 3, 7), "Gamma", None],
]


def _book(path: Path, *, totals: bool = False, below: bool = False) -> Path:
    """Table tblData at B2:D5 on sheet Data, a note in A3 and a value in F4 beside it.

    ``below``: cells further down too, in A30 and in the table's column C (C30).
    """
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
    if below:
        ws.write_string(29, 0, "after the table")
        ws.write_number(29, 2, 7)
    wb.add_worksheet("Other").write_string(0, 0, "untouched")
    wb.close()
    return path


def _save(pkg: Package, path: Path) -> Path:
    path.write_bytes(pkg.to_bytes())
    return path


def _table_rows(path: Path, name: str = "tblData") -> list[list[object]]:
    book = CalamineWorkbook.from_path(str(path), load_tables=True)
    return book.get_table_by_name(name).to_python()


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

    def test_what_excel_cannot_hold_is_never_written(self, tmp_path):
        """A date without a serial becomes its ISO text; a text keeps 32,767 characters."""
        pkg = Package.open(_book(tmp_path / "b.xlsx"))
        rows = [
            [date(1850, 1, 15), "x" * 40_000, 1.0],
            [datetime(1899, 12, 31, 9, 30), "fits", 2.0],
            [date(1900, 3, 1), "first serial", 3.0],
        ]
        replace_table_rows(pkg, "tblData", HEADER, rows, KINDS)
        out = _save(pkg, tmp_path / "out.xlsx")
        got = _table_rows(out)
        assert [r[0] for r in got] == ["1850-01-15", "1899-12-31 09:30:00", date(1900, 3, 1)]
        assert got[0][1] == "x" * 32_767
        assert openpyxl.load_workbook(out)["Data"]["B5"].value == datetime(1900, 3, 1)

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


# --------------------------------------------------------------------------- keep_prefix

SHEET = "xl/worksheets/sheet1.xml"
NAMES = ["Alpha", "=x", " padded ", "a & b", "Eps"]
BOOKS = {"plain": {}, "totals": {"totals": True}, "below": {"below": True}}


def _log(n: int, start: int = 0) -> list[list[object]]:
    """``n`` log rows: a date, a name (some needing care), an amount (every 4th missing)."""
    rows: list[list[object]] = []
    for k in range(start, start + n):
        amount = None if k % 4 == 3 else k * 1.5
        rows.append([date(2026, 1, 1 + k % 28), NAMES[k % len(NAMES)], amount])
    return rows


def _common_prefix(old: list[list[object]], new: list[list[object]]) -> int:
    """How many leading rows hold the same values (what a caller compares before keeping)."""
    n = 0
    for a, b in zip(old, new, strict=False):
        if list(a) != list(b):
            break
        n += 1
    return n


def _rewritten(data: bytes, rows: list[list[object]], keep: int = 0) -> Package:
    pkg = Package.from_bytes(data)
    replace_table_rows(pkg, "tblData", HEADER, rows, KINDS, keep_prefix=keep)
    return pkg


def _assert_same_parts(full: Package, kept: Package) -> None:
    assert full.names() == kept.names()
    for part in full.names():
        assert kept.part(part) == full.part(part), part


def _row_xml(sheet: str, number: int) -> str:
    m = re.search(rf'<row r="{number}"[^>]*>.*?</row>', sheet)
    assert m is not None, number
    return m.group(0)


@pytest.fixture(scope="module")
def base_books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The xlsxwriter books by kind (plain, with a totals row, with cells below)."""
    folder = tmp_path_factory.mktemp("keep")
    return {k: _book(folder / f"{k}.xlsx", **v).read_bytes() for k, v in BOOKS.items()}


CHANGED = _log(6)
CHANGED[2] = [CHANGED[2][0], "Changed", CHANGED[2][2]]


class TestKeepPrefix:
    """Keeping the leading rows gives the bytes of a full rewrite, when this module wrote them."""

    @pytest.mark.parametrize("book", list(BOOKS))
    @pytest.mark.parametrize(
        ("old", "new", "keep"),
        [
            (_log(6), _log(9), 6),  # rows appended
            (_log(6), _log(3), 3),  # trailing rows removed
            (_log(6), CHANGED, 2),  # one row changed in the middle
            (_log(6), _log(6), 6),  # identical
            (_log(6), _log(6)[:1] + _log(40, 9), 1),  # one kept, the table grows past row 30
            ([], _log(4), 0),  # the old table was empty
            (_log(6), [], 0),  # the new one is
        ],
        ids=["append", "remove", "change", "same", "grow-far", "from-empty", "to-empty"],
    )
    def test_same_bytes_as_a_full_rewrite(self, base_books, book, old, new, keep):
        assert _common_prefix(old, new) == keep  # the cases say what a caller would find
        data = _rewritten(base_books[book], old).to_bytes()
        if book == "below" and len(new) > 27:  # the table would cover C30 of the user's
            for k in (0, keep):
                with pytest.raises(InputError, match=r"^Data!C30 holds a value, where tblData"):
                    _rewritten(data, new, k)
            return
        full, kept = _rewritten(data, new), _rewritten(data, new, keep)
        _assert_same_parts(full, kept)

    @settings(max_examples=60, deadline=None)
    @given(
        book=st.sampled_from(list(BOOKS)),
        old=st.lists(st.integers(0, 30), max_size=8),
        cut=st.integers(0, 8),
        added=st.lists(st.integers(0, 30), max_size=8),
    )
    def test_any_log(self, base_books, book, old, cut, added):
        """Any old log, cut anywhere and continued with any rows."""
        old_rows = [_log(1, k)[0] for k in old]
        new_rows = old_rows[:cut] + [_log(1, k)[0] for k in added]
        keep = _common_prefix(old_rows, new_rows)
        data = _rewritten(base_books[book], old_rows).to_bytes()
        _assert_same_parts(_rewritten(data, new_rows), _rewritten(data, new_rows, keep))

    def test_rows_of_another_program_keep_their_xml(self, base_books, tmp_path):
        """xlsxwriter's rows (shared strings) are kept as they were, and read the same."""
        data = base_books["below"]
        new = [*ROWS, [date(2026, 4, 8), "Delta", 7.0], [date(2026, 5, 9), "=Eps", 8.25]]
        full, kept = _rewritten(data, new), _rewritten(data, new, len(ROWS))
        before = Package.from_bytes(data).part(SHEET).decode()
        after, rewritten = kept.part(SHEET).decode(), full.part(SHEET).decode()
        for number in (3, 4, 5):
            assert _row_xml(after, number) == _row_xml(before, number)
        assert '<c r="C3" t="s">' in _row_xml(after, 3)  # a shared string, as xlsxwriter wrote
        assert '<c r="C3" t="inlineStr">' in _row_xml(rewritten, 3)  # a full rewrite: inline
        out_full, out_kept = _save(full, tmp_path / "full.xlsx"), _save(kept, tmp_path / "k.xlsx")
        assert _table_rows(out_kept) == _table_rows(out_full)
        ws_full, ws_kept = (
            openpyxl.load_workbook(out_full)["Data"],
            openpyxl.load_workbook(out_kept)["Data"],
        )
        for cells_full, cells_kept in zip(ws_full["A1:F30"], ws_kept["A1:F30"], strict=True):
            for a, b in zip(cells_full, cells_kept, strict=True):
                assert b.value == a.value, a.coordinate
                if a.value is None:  # an empty kept cell keeps the file's own style
                    continue
                assert (b.number_format, b.font.b, b.quotePrefix, b.data_type) == (
                    a.number_format,
                    a.font.b,
                    a.quotePrefix,
                    a.data_type,
                ), a.coordinate
        assert ws_kept.dimensions == ws_full.dimensions
        table_full, table_kept = ws_full.tables["tblData"], ws_kept.tables["tblData"]
        assert (table_kept.ref, table_kept.autoFilter.ref) == (table_full.ref, "B2:D7")
        assert str(ws_kept.data_validations.dataValidation[0].sqref) == "D3:D7"
        audit = pytest.importorskip("openxml_audit")
        result = audit.OpenXmlValidator(file_format=audit.FileFormat.MICROSOFT_365).validate(
            str(out_kept)
        )
        assert [f"{e.part_uri}: {e.description}" for e in result.errors] == []

    def test_rows_spelt_otherwise_are_still_kept(self, base_books, tmp_path):
        """Row tags with ``r`` after ``spans`` are not found by text: every row is indexed."""
        pkg = _rewritten(base_books["plain"], _log(6))
        swapped = re.sub(
            r'<row r="(\d+)" spans="([^"]*)"', r'<row spans="\2" r="\1"', pkg.part(SHEET).decode()
        )
        pkg.set_part(SHEET, swapped.encode())
        data = pkg.to_bytes()
        new = _log(8)
        full, kept = _rewritten(data, new), _rewritten(data, new, 6)
        text = kept.part(SHEET).decode()
        assert '<row spans="2:6" r="4">' in text  # kept as it was
        assert '<row r="9" spans="2:4">' in text  # written
        assert kept.part("xl/tables/table1.xml") == full.part("xl/tables/table1.xml")
        out_full, out_kept = _save(full, tmp_path / "full.xlsx"), _save(kept, tmp_path / "k.xlsx")
        assert (
            _table_rows(out_kept)
            == _table_rows(out_full)
            == [[r[0], r[1], "" if r[2] is None else r[2]] for r in new]
        )

    @pytest.mark.parametrize(
        ("rows", "header", "keep", "message"),
        [
            (ROWS, HEADER, -1, "keep_prefix=-1 must be between 0"),
            (ROWS[:2], HEADER, 3, r"rows given \(2\)"),
            ([*ROWS, *ROWS], HEADER, 4, r"and held \(3\)"),
            ([[*r, "x"] for r in ROWS], [*HEADER, "Note"], 1, "while columns are added"),
        ],
    )
    def test_bad_keep_prefix(self, base_books, rows, header, keep, message):
        pkg = Package.from_bytes(base_books["plain"])
        kinds = KINDS + ["auto"] * (len(header) - len(KINDS))
        with pytest.raises(ValueError, match=message):
            replace_table_rows(pkg, "tblData", header, rows, kinds, keep_prefix=keep)
