"""Package editing: sheets, names, relationships, content types and untouched bytes."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetnames import check_sheet_name
from tests.io.workbooks import read_parts, write_parts

SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>new</t></is></c></row></sheetData>'
    b"%s</worksheet>"
)
CHART = b'<?xml version="1.0"?><c:chartSpace xmlns:c="urn:c"><c:f>%s</c:f></c:chartSpace>'


def _sheet(drawing: bool = False) -> bytes:
    return SHEET % (b'<drawing r:id="rId1"/>' if drawing else b"")


def _drawing(pairs) -> bytes:
    return (
        "<wsDr>" + "".join(f"<chart id='{rid}' at='{a}'/>" for a, rid in pairs) + "</wsDr>"
    ).encode()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """Three sheets, a global and a sheet-scoped name, a print area; the third sheet active."""
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    sheets = [wb.add_worksheet(name) for name in ("One", "Two Words", "Three")]
    for ws in sheets:
        ws.write_string(0, 0, ws.name)
    sheets[1].print_area("A1:B2")
    sheets[2].print_area("A1:C3")
    wb.define_name("Global", "='Two Words'!$A$1")
    wb.define_name("Three!Local", "=Three!$A$1")
    wb.define_name("Mixed", "=One!$A$1+'Two Words'!$A$1:$B$2")
    sheets[2].activate()
    wb.close()
    return path


def _names(pkg: Package) -> list[tuple[str, str | None, str]]:
    text = pkg.part("xl/workbook.xml").decode()
    found = re.findall(r'<definedName name="([^"]+)"(?: localSheetId="(\d+)")?>([^<]*)<', text)
    return [(n, i or None, f.replace("&apos;", "'")) for n, i, f in found]


class TestReading:
    def test_sheets(self, book):
        pkg = Package.open(book)
        refs = pkg.sheets()
        assert [(s.name, s.part, s.sheet_id, s.index) for s in refs] == [
            ("One", "xl/worksheets/sheet1.xml", 1, 0),
            ("Two Words", "xl/worksheets/sheet2.xml", 2, 1),
            ("Three", "xl/worksheets/sheet3.xml", 3, 2),
        ]
        assert pkg.sheet("two words").rid == refs[1].rid

    def test_unchanged_package_keeps_every_part(self, book, tmp_path):
        out = tmp_path / "same.xlsx"
        out.write_bytes(Package.open(book).to_bytes())
        assert read_parts(out) == read_parts(book)

    def test_unused_names(self, book):
        pkg = Package.open(book)
        assert pkg.unused_name("xl/worksheets/sheet{}.xml") == "xl/worksheets/sheet4.xml"
        assert pkg.unused_name("xl/charts/chart{}.xml") == "xl/charts/chart1.xml"

    def test_damaged_xml(self, book, tmp_path):
        parts = read_parts(book)
        parts["xl/workbook.xml"] = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><workbook>&a;</workbook>'
        write_parts(tmp_path / "bad.xlsx", parts)
        with pytest.raises(InputError, match=r"bad\.xlsx is damaged"):
            Package.open(tmp_path / "bad.xlsx").xml("xl/workbook.xml")

    def test_duplicate_member(self, book, tmp_path):
        out = tmp_path / "dup.xlsx"
        out.write_bytes(book.read_bytes())
        with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(out, "a") as zf:
            zf.writestr("xl/workbook.xml", b"<x/>")
        with pytest.raises(InputError, match="appears twice"):
            Package.open(out)


class TestAddSheet:
    def test_other_parts_stay_byte_identical(self, book, tmp_path):
        parts = read_parts(book)
        write_parts(tmp_path / "stored.xlsx", parts, stored=frozenset({"xl/styles.xml"}))
        pkg = Package.open(tmp_path / "stored.xlsx")
        ref = pkg.add_sheet("Report", _sheet())
        out = tmp_path / "added.xlsx"
        out.write_bytes(pkg.to_bytes())
        after = read_parts(out)
        directory = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
        directory.add("docProps/app.xml")
        for name, data in parts.items():
            if name not in directory:
                assert after[name] == data, name
        assert list(after)[: len(parts)] == list(parts)  # old order, new part last
        assert list(after)[-1] == ref.part == "xl/worksheets/sheet4.xml"
        with zipfile.ZipFile(out) as zf:
            assert zf.getinfo("xl/styles.xml").compress_type == zipfile.ZIP_STORED
            assert zf.getinfo(ref.part).compress_type == zipfile.ZIP_DEFLATED
        assert openpyxl.load_workbook(out).sheetnames == ["One", "Two Words", "Three", "Report"]

    def test_directory_parts(self, book):
        pkg = Package.open(book)
        ref = pkg.add_sheet("Report", _sheet())
        assert (ref.sheet_id, ref.index, ref.rid) == (4, 3, "rId7")
        assert pkg.content_type(ref.part).endswith("worksheet+xml")
        app = pkg.to_bytes()
        with zipfile.ZipFile(io.BytesIO(app)) as zf:
            text = zf.read("docProps/app.xml").decode()
        assert "<vt:i4>4</vt:i4>" in text
        assert "<vt:lpstr>Three</vt:lpstr><vt:lpstr>Report</vt:lpstr>" in text
        assert re.search(r'<vt:vector size="(\d+)" baseType="lpstr">', text)[1] == str(
            text.count("<vt:lpstr>") - 2  # minus the two heading labels
        )

    def test_before_shifts_names_and_active_tab(self, book):
        pkg = Package.open(book)
        pkg.add_sheet("First", _sheet(), before="One")
        assert [s.name for s in pkg.sheets()] == ["First", "One", "Two Words", "Three"]
        names = _names(pkg)
        assert ("Local", "3", "Three!$A$1") in names
        assert ("_xlnm.Print_Area", "2", "'Two Words'!$A$1:$B$2") in names
        assert 'activeTab="3"' in pkg.part("xl/workbook.xml").decode()

    @pytest.mark.parametrize("name", ["", "x" * 32, "a/b", "Q1?", "'quoted", "history", "three"])
    def test_bad_names(self, book, name):
        with pytest.raises(InputError):
            Package.open(book).add_sheet(name, _sheet())

    def test_good_name(self):
        check_sheet_name("Variance 2026-03-15")


class TestRemoveAndRename:
    def test_remove_shifts_scoped_names(self, book, tmp_path):
        pkg = Package.open(book)
        pkg.remove_sheet("Two Words")
        assert [s.name for s in pkg.sheets()] == ["One", "Three"]
        names = _names(pkg)
        assert ("Local", "1", "Three!$A$1") in names  # Three moved from 2 to 1
        assert ("_xlnm.Print_Area", "1", "Three!$A$1:$C$3") in names
        assert not [n for n in names if n[1] == "2"]
        assert ("Global", None, "#REF!") in names
        assert ("Mixed", None, "One!$A$1+#REF!") in names
        assert 'activeTab="1"' in pkg.part("xl/workbook.xml").decode()
        assert not pkg.has("xl/worksheets/sheet2.xml")
        out = tmp_path / "removed.xlsx"
        out.write_bytes(pkg.to_bytes())
        text = read_parts(out)["docProps/app.xml"].decode()
        assert "Two Words" not in text
        assert "<vt:i4>2</vt:i4>" in text
        assert "/xl/worksheets/sheet2.xml" not in read_parts(out)["[Content_Types].xml"].decode()
        assert openpyxl.load_workbook(out).sheetnames == ["One", "Three"]

    def test_remove_active_sheet(self, book):
        pkg = Package.open(book)
        pkg.remove_sheet("Three")
        assert 'activeTab="1"' in pkg.part("xl/workbook.xml").decode()

    def test_rename_follows_references(self, book, tmp_path):
        pkg = Package.open(book)
        pkg.rename_sheet("Two Words", "Plan")
        names = _names(pkg)
        assert ("Global", None, "Plan!$A$1") in names
        assert ("Mixed", None, "One!$A$1+Plan!$A$1:$B$2") in names
        out = tmp_path / "renamed.xlsx"
        out.write_bytes(pkg.to_bytes())
        text = read_parts(out)["docProps/app.xml"].decode()
        assert "<vt:lpstr>Plan</vt:lpstr>" in text
        assert "Two Words" not in text
        assert openpyxl.load_workbook(out).sheetnames == ["One", "Plan", "Three"]


class TestDrawings:
    def test_replace_drops_the_old_drawing_and_keeps_the_code_name(self, book):
        pkg = Package.open(book)
        pkg.add_sheet("Report", SHEET % b'<drawing r:id="rId1"/>')
        charts = [(CHART % b"Report!$A$1", "a1"), (CHART % b"Report!$B$1", "b1")]
        drawing = pkg.attach_drawing("Report", charts, _drawing)
        assert drawing == "xl/drawings/drawing1.xml"
        assert pkg.has("xl/charts/chart2.xml")
        assert [r.rid for r in pkg.rels(drawing)] == ["rId1", "rId2"]
        part = pkg.sheet("Report").part
        coded = pkg.part(part).replace(b"<sheetData>", b'<sheetPr codeName="Sheet9"/><sheetData>')
        pkg.set_part(part, coded)
        pkg.replace_sheet_content("Report", _sheet())
        assert not pkg.has("xl/drawings/drawing1.xml")
        assert not pkg.has("xl/charts/chart1.xml")
        assert pkg.rels(part) == []
        assert b'<sheetPr codeName="Sheet9"/>' in pkg.part(part)
        types = pkg.part("[Content_Types].xml").decode()
        assert "/xl/charts/chart1.xml" not in types

    def test_second_attach_reuses_names_and_places(self, book):
        pkg = Package.open(book)
        pkg.add_sheet("Report", _sheet(drawing=True))
        pkg.attach_drawing("Report", [(CHART % b"x", "a")], _drawing)
        first = Package.from_bytes(pkg.to_bytes())
        again = Package.from_bytes(first.to_bytes())
        again.replace_sheet_content("Report", _sheet(drawing=True))
        again.attach_drawing("Report", [(CHART % b"x", "a")], _drawing)
        assert again.names() == first.names()
        for name in first.names():
            assert again.part(name) == first.part(name), name

    def test_rename_rewrites_own_chart_references(self, book):
        pkg = Package.open(book)
        pkg.add_sheet("Variance", _sheet(drawing=True))
        pkg.attach_drawing("Variance", [(CHART % b"Variance!$A$1:$A$4", "a")], _drawing)
        pkg.rename_sheet("Variance", "Variance 2026-03-15")
        assert b"'Variance 2026-03-15'!$A$1:$A$4" in pkg.part("xl/charts/chart1.xml")


def test_calc_chain_is_dropped_when_it_lists_a_replaced_sheet(book, tmp_path):
    parts = read_parts(book)
    parts["xl/calcChain.xml"] = (
        b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<c r="B1" i="1"/><c r="B2"/><c r="C1" i="3"/></calcChain>'
    )
    rels = (
        parts["xl/_rels/workbook.xml.rels"]
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
        )
    )
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    write_parts(tmp_path / "chain.xlsx", parts)
    pkg = Package.open(tmp_path / "chain.xlsx")
    pkg.replace_sheet_content("Two Words", _sheet())  # sheetId 2: not listed
    assert pkg.has("xl/calcChain.xml")
    pkg.replace_sheet_content("Three", _sheet())  # sheetId 3: listed
    assert not pkg.has("xl/calcChain.xml")
    assert not [r for r in pkg.rels("xl/workbook.xml") if r.type.endswith("/calcChain")]


def test_strict_workbooks_are_refused(book, tmp_path):
    parts = read_parts(book)
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
        b"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
    )
    write_parts(tmp_path / "strict.xlsx", parts)
    with pytest.raises(InputError, match="Strict Open XML"):
        Package.open(tmp_path / "strict.xlsx")
