"""Report sheets as worksheet XML, their charts and drawing, and the append-only style book."""

from __future__ import annotations

import math
import os
import zipfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.display import MAX_COLUMN_WIDTH
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.report_model import (
    CHART_COLS,
    CHART_ROWS,
    Block,
    ChartSpec,
    Column,
    PlacedChart,
    ReportSheet,
    place,
)
from pipeline_xl.io.render import chart_xml, drawing_xml, render_sheet
from pipeline_xl.io.styles import MINIMAL_STYLES_XML, StyleBook, number_format
from tests.io.workbooks import excel_decode

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS = {
    "m": MAIN,
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
M = "{" + MAIN + "}"
R_ID = "{" + NS["r"] + "}id"
A_T = "{" + NS["a"] + "}t"
C_SER = "{" + NS["c"] + "}ser"
BUILTIN = {0: "General", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 14: "m/d/yyyy", 49: "@"}
EURO = '#,##0 "€";-#,##0 "€"'

SHEET_NAME = "Rep's Q4 view"
TRICKY = [
    '=HYPERLINK("http://x","click")',
    "+33 1 23 45 67",
    "@x",
    "-3",
    "Zoë 東京 ✓",
    "<&>\"'",
    "a\x01b\rc\td\ne_x0041_",
    None,
]


def deals_block() -> Block:
    frame = pd.DataFrame(
        {
            "name": TRICKY,
            "n": [1, 22, 333, 4444, 55555, -6, 0, 7],
            "x": [1.5, 2.25, math.nan, -0.125, 1e6, 3.0, 0.1, math.inf],
            "amt": [1000.0, 25000.5, None, -300.0, 1234567.0, 0.0, 5.0, 6.0],
            "p": [0.5, 0.123, 1.0, None, 0.0, 0.25, 0.333, 0.9],
            "d": [
                date(2026, 11, 30),
                date(2026, 1, 1),
                None,
                datetime(2026, 3, 1, 12, 0),
                date(2026, 2, 28),
                date(2030, 12, 31),
                date(2026, 2, 28),
                date(2026, 2, 28),
            ],
            "f": ["F", "U", None, "F", "U", "?", "F", "U"],
        }
    )
    columns = (
        Column("name", "Name"),
        Column("n", "Count", "int"),
        Column("x", "Score", "number"),
        Column("amt", "Amount", "amount"),
        Column("p", "Win rate", "pct"),
        Column("d", "Close", "date"),
        Column("f", "Flag", "flag"),
    )
    notes = ("=a note that looks like a formula", "plain note")
    return Block("Deals", frame, columns, notes=notes)


def months_block() -> Block:
    frame = pd.DataFrame(
        {
            "m": ["2026-01", "2026-02", "2026-03"],
            "won": [100.0, 200.0, 150.0],
            "exp": [120.0, 180.0, None],
            "tgt": [150.0, 150.0, 150.0],
        }
    )
    columns = (
        Column("m", "Month"),
        Column("won", "Won", "amount"),
        Column("exp", "Expected", "amount"),
        Column("tgt", "Target", "amount", width=14),
    )
    charts = (
        ChartSpec("column", "Won vs target", "m", ("won", "exp"), ("tgt",), y_title="EUR"),
        ChartSpec("line", "Trend", "m", ("won",)),
        ChartSpec("bar", "Bars", "m", ("won",)),
    )
    return Block("Monthly", frame, columns, charts=charts)


def report_sheet() -> ReportSheet:
    return ReportSheet(
        SHEET_NAME,
        "Variance report",
        "As of 2026-11-30 | amounts in EUR",
        (deals_block(), months_block()),
    )


# ---------------------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------------------


def cells_of(xml: bytes) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(xml)
    return {c.get("r"): c for c in root.iter(M + "c")}


def inline_text(cell) -> str:
    t = cell.find("m:is/m:t", NS)
    return excel_decode(t.text or "")


class Styles:
    """The cellXfs of a styles part, resolved to number formats, fonts and fills."""

    def __init__(self, xml: bytes) -> None:
        root = ElementTree.fromstring(xml)
        self.root = root
        self.xfs = root.findall("m:cellXfs/m:xf", NS)
        self.fonts = root.findall("m:fonts/m:font", NS)
        self.fills = root.findall("m:fills/m:fill", NS)
        self.formats = dict(BUILTIN)
        for nf in root.findall("m:numFmts/m:numFmt", NS):
            self.formats[int(nf.get("numFmtId"))] = nf.get("formatCode")

    def xf(self, cell) -> object:
        return self.xfs[int(cell.get("s", "0"))]

    def format(self, cell) -> str:
        return self.formats[int(self.xf(cell).get("numFmtId"))]

    def quoted(self, cell) -> bool:
        return self.xf(cell).get("quotePrefix") == "1"

    def font(self, cell):
        return self.fonts[int(self.xf(cell).get("fontId"))]

    def bold(self, cell) -> bool:
        return self.font(cell).find("m:b", NS) is not None

    def font_rgb(self, cell) -> str | None:
        colour = self.font(cell).find("m:color", NS)
        return None if colour is None else colour.get("rgb")

    def fill_rgb(self, cell) -> str | None:
        fg = self.fills[int(self.xf(cell).get("fillId"))].find("m:patternFill/m:fgColor", NS)
        return None if fg is None else fg.get("rgb")


def render(styles_xml: bytes = MINIMAL_STYLES_XML, sheet: ReportSheet | None = None):
    book = StyleBook(styles_xml)
    rendered = render_sheet(sheet or report_sheet(), book, currency="EUR", drawing_rid="rId1")
    return rendered, book.to_bytes()


# ---------------------------------------------------------------------------------------
# Base files
# ---------------------------------------------------------------------------------------

EXCEL_LIKE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    b' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    b' mc:Ignorable="x14ac x16r2 xr"'
    b' xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"'
    b' xmlns:x16r2="http://schemas.microsoft.com/office/spreadsheetml/2015/02/main"'
    b' xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision">'
    b'<numFmts count="1"><numFmt numFmtId="170" formatCode="0.000"/></numFmts>'
    b'<fonts count="2" x14ac:knownFonts="1"><font><sz val="11"/><color theme="1"/>'
    b'<name val="Aptos Narrow"/><family val="2"/><scheme val="minor"/></font>'
    b'<font><b/><sz val="11"/><color theme="1"/><name val="Aptos Narrow"/><family val="2"/>'
    b'<scheme val="minor"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    b"</cellStyleXfs>"
    b'<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    b'<xf numFmtId="170" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    b' applyFont="1"/></cellXfs>'
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="1"><dxf><font><b/><color rgb="FF9C0006"/></font>'
    b'<fill><patternFill><bgColor rgb="FFFFC7CE"/></patternFill></fill></dxf></dxfs>'
    b'<tableStyles count="0" defaultTableStyle="TableStyleMedium2"'
    b' defaultPivotStyle="PivotStyleLight16"/>'
    b"<extLst>"
    b'<ext uri="{EB79DEF2-80B8-43e5-95BD-54CBDDF9020C}"'
    b' xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    b'<x14:slicerStyles defaultSlicerStyle="SlicerStyleLight1"/></ext>'
    b'<ext uri="{9260A510-F301-46a8-8635-F512D64BE5F5}"'
    b' xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main">'
    b'<x15:timelineStyles defaultTimelineStyle="TimeSlicerStyleLight1"/></ext>'
    b"</extLst></styleSheet>"
)


@pytest.fixture(scope="module")
def template_styles(tmp_path_factory) -> bytes:
    """styles.xml of the ready workbook (xlsxwriter, numbers, fills, borders)."""
    pytest.importorskip("xlwings")  # the builder takes its VBA project from xlwings
    from pipeline_xl.usecases.new import new_workbook

    path = new_workbook(
        tmp_path_factory.mktemp("tpl") / "t.xlsm",
        company="Acme",
        sample=50,
        as_of=date(2026, 11, 30),
    )
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/styles.xml")


@pytest.fixture(scope="module")
def openpyxl_styles(tmp_path_factory) -> bytes:
    """styles.xml of a plain openpyxl workbook (self-closing <numFmts count="0"/>)."""
    openpyxl = pytest.importorskip("openpyxl")

    path = tmp_path_factory.mktemp("opx") / "o.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/styles.xml")


@pytest.fixture(scope="module")
def xlsxwriter_styles(tmp_path_factory) -> bytes:
    """styles.xml of a plain xlsxwriter workbook (no numFmts list at all)."""
    path = tmp_path_factory.mktemp("xw") / "x.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("S").write(0, 0, 1)
    wb.close()
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/styles.xml")


@pytest.fixture(params=["template", "openpyxl", "xlsxwriter", "excel_like", "minimal"])
def base_styles(request) -> bytes:
    if request.param == "excel_like":
        return EXCEL_LIKE
    if request.param == "minimal":
        return MINIMAL_STYLES_XML
    return request.getfixturevalue(f"{request.param}_styles")


# ---------------------------------------------------------------------------------------
# The worksheet
# ---------------------------------------------------------------------------------------


class TestWorksheet:
    def test_parts_in_schema_order(self):
        rendered, _ = render()
        root = ElementTree.fromstring(rendered.xml)
        tags = [child.tag.removeprefix(M) for child in root]
        assert tags == [
            "sheetPr",
            "dimension",
            "sheetViews",
            "sheetFormatPr",
            "cols",
            "sheetData",
            "pageMargins",
            "pageSetup",
            "drawing",
        ]
        assert root.find("m:drawing", NS).get(R_ID) == "rId1"
        assert root.find("m:sheetViews/m:sheetView", NS).get("showGridLines") == "0"
        setup = root.find("m:pageSetup", NS)
        assert (setup.get("orientation"), setup.get("fitToWidth"), setup.get("fitToHeight")) == (
            "landscape",
            "1",
            "0",
        )
        assert root.find("m:sheetPr/m:pageSetUpPr", NS).get("fitToPage") == "1"
        # title rows 1-2, Deals at 4 (title), 5 (header), 6-13 (8 rows), notes 14-15,
        # blank 16, Monthly at 17 (title), 18 (header), 19-21; widest block: 7 columns (G)
        assert root.find("m:dimension", NS).get("ref") == "A1:G21"

    def test_no_drawing_without_a_relationship_id(self):
        rendered = render_sheet(report_sheet(), StyleBook(MINIMAL_STYLES_XML), currency="EUR")
        assert ElementTree.fromstring(rendered.xml).find("m:drawing", NS) is None
        assert len(rendered.charts) == 3  # the charts are still returned

    def test_cells_land_where_place_puts_them(self):
        rendered, _ = render()
        cells = cells_of(rendered.xml)
        deals, months = place(report_sheet())
        assert (deals.title_row, deals.header_row, deals.first_row) == (4, 5, 6)
        assert inline_text(cells["A1"]) == "Variance report"
        assert inline_text(cells["A2"]) == "As of 2026-11-30 | amounts in EUR"
        assert inline_text(cells["A4"]) == "Deals"
        assert [inline_text(cells[f"{c}5"]) for c in "ABCDEFG"] == [
            "Name",
            "Count",
            "Score",
            "Amount",
            "Win rate",
            "Close",
            "Flag",
        ]
        assert inline_text(cells["A14"]) == "=a note that looks like a formula"
        assert inline_text(cells["A15"]) == "plain note"
        assert months.title_row == 17
        assert inline_text(cells["A17"]) == "Monthly"
        assert inline_text(cells["B18"]) == "Won"

    def test_text_is_inline_never_a_formula(self):
        rendered, _ = render()
        root = ElementTree.fromstring(rendered.xml)
        assert root.find(".//m:f", NS) is None
        cells = cells_of(rendered.xml)
        for i, text in enumerate(TRICKY):
            cell = cells.get(f"A{6 + i}")
            if text is None:
                assert cell is None
                continue
            assert cell.get("t") == "inlineStr"
            t = cell.find("m:is/m:t", NS)
            assert t.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
            assert inline_text(cell) == text
        assert b"a_x0001_b_x000D_c\td\ne_x005F_x0041_" in rendered.xml
        assert b"&lt;&amp;&gt;\"'" in rendered.xml

    def test_quote_prefix_on_formula_like_text(self):
        rendered, styles_xml = render()
        styles, cells = Styles(styles_xml), cells_of(rendered.xml)
        quoted = {ref for ref, cell in cells.items() if styles.quoted(cell)}
        # =HYPERLINK, +33, @x, -3 in A6:A9 and the note "=a note..." in A14
        assert quoted == {"A6", "A7", "A8", "A9", "A14"}

    def test_numbers_dates_and_blanks(self):
        rendered, _ = render()
        cells = cells_of(rendered.xml)

        def value(ref):
            cell = cells[ref]
            assert cell.get("t") is None  # a number
            return float(cell.find("m:v", NS).text)

        assert [value(f"B{r}") for r in range(6, 14)] == [1, 22, 333, 4444, 55555, -6, 0, 7]
        assert value("C7") == 2.25
        assert value("C10") == 1e6
        assert "C8" not in cells  # NaN
        assert "C13" not in cells  # infinity
        assert "D8" not in cells  # None
        assert "E9" not in cells
        assert "F8" not in cells
        assert value("D7") == 25000.5
        assert value("E7") == 0.123
        assert value("F6") == 46356  # 2026-11-30, see tests/core/test_excel.py
        assert value("F9") == 46082.5  # 2026-03-01 12:00
        assert cells["B6"].find("m:v", NS).text == "1"  # whole numbers without ".0"

    def test_styles_resolve_to_the_right_number_formats(self, base_styles):
        rendered, styles_xml = render(base_styles)
        styles, cells = Styles(styles_xml), cells_of(rendered.xml)
        assert styles.format(cells["B6"]) == "#,##0"
        assert styles.format(cells["C6"]) == "#,##0.00"
        assert styles.format(cells["D6"]) == EURO
        assert styles.format(cells["E6"]) == "0.0%"
        assert styles.format(cells["F6"]) == "yyyy-mm-dd"
        assert styles.format(cells["A10"]) == "General"
        assert styles.format(cells["B19"]) == EURO

    def test_amounts_follow_the_currency(self):
        book = StyleBook(MINIMAL_STYLES_XML)
        rendered = render_sheet(report_sheet(), book, currency="USD")
        styles = Styles(book.to_bytes())
        assert styles.format(cells_of(rendered.xml)["D6"]) == '"$"#,##0;-"$"#,##0'

    def test_headers_titles_and_flags_are_styled(self):
        rendered, styles_xml = render()
        styles, cells = Styles(styles_xml), cells_of(rendered.xml)
        for ref in ("A1", "A4", "A17", "A5", "B5"):
            assert styles.bold(cells[ref]), ref
        assert not styles.bold(cells["A2"])
        assert styles.fill_rgb(cells["A5"]) == "FF1F4E78"  # dark blue header
        assert styles.font_rgb(cells["A5"]) == "FFFFFFFF"
        alignment = styles.xf(cells["B5"]).find("m:alignment", NS)
        assert alignment.get("horizontal") == "right"  # over a numeric column
        assert styles.xf(cells["A5"]).find("m:alignment", NS).get("horizontal") == "left"
        for ref in ("G6", "G9", "G12"):  # F: green fill, dark green font
            assert (styles.fill_rgb(cells[ref]), styles.font_rgb(cells[ref])) == (
                "FFC6EFCE",
                "FF006100",
            )
        for ref in ("G7", "G10", "G13"):  # U: red fill, dark red font
            assert (styles.fill_rgb(cells[ref]), styles.font_rgb(cells[ref])) == (
                "FFFFC7CE",
                "FF9C0006",
            )
        assert styles.fill_rgb(cells["G11"]) is None  # "?" is no flag
        assert inline_text(cells["G11"]) == "?"

    def test_booleans_and_odd_values(self):
        frame = pd.DataFrame(
            {"k": ["a", "b", "c", "d"], "v": [True, False, date(1899, 1, 1), "n/a"]},
        )
        block = Block("Odd", frame, (Column("k", "Key"), Column("v", "Value", "int")))
        sheet = ReportSheet("Odd", "t", "s", (block,))
        rendered = render_sheet(sheet, StyleBook(MINIMAL_STYLES_XML), currency="EUR")
        cells = cells_of(rendered.xml)
        assert (cells["B6"].get("t"), cells["B6"].find("m:v", NS).text) == ("b", "1")
        assert (cells["B7"].get("t"), cells["B7"].find("m:v", NS).text) == ("b", "0")
        # no serial exists before 1900-03-01: the date is kept as its text
        assert inline_text(cells["B8"]) == "1899-01-01"
        assert inline_text(cells["B9"]) == "n/a"

    def test_column_widths(self):
        long_text = "x" * 300
        frame = pd.DataFrame({"a": [long_text], "b": [1234567.0], "c": ["short"]})
        block = Block(
            "W",
            frame,
            (Column("a", "A"), Column("b", "B", "amount"), Column("c", "C", width=31.5)),
        )
        sheet = ReportSheet("W", "A title far longer than any column should be " * 3, "s", (block,))
        rendered = render_sheet(sheet, StyleBook(MINIMAL_STYLES_XML), currency="EUR")
        cols = ElementTree.fromstring(rendered.xml).findall("m:cols/m:col", NS)
        widths = {int(c.get("min")): float(c.get("width")) for c in cols}
        assert widths[1] == MAX_COLUMN_WIDTH  # capped, and the title does not count
        # "1,234,567" (9) + " EUR" (1 + 3) = 13 characters -> 13 * 1.1 + 2 = 16.3
        assert widths[2] == pytest.approx(16.3)
        assert widths[3] == 31.5  # asked for

    def test_same_input_same_bytes(self):
        first, styles_first = render()
        second, styles_second = render()
        assert first.xml == second.xml
        assert [c.xml for c in first.charts] == [c.xml for c in second.charts]
        assert styles_first == styles_second

    def test_empty_sheet(self):
        sheet = ReportSheet("Empty", "", "", ())
        rendered = render_sheet(sheet, StyleBook(MINIMAL_STYLES_XML), currency="EUR")
        root = ElementTree.fromstring(rendered.xml)
        assert root.find("m:dimension", NS).get("ref") == "A1"
        assert list(root.find("m:sheetData", NS)) == []
        assert rendered.charts == ()


# ---------------------------------------------------------------------------------------
# Styles
# ---------------------------------------------------------------------------------------

ROLES = [
    ("title", ""),
    ("subtitle", ""),
    ("block_title", ""),
    ("header", ""),
    ("note", ""),
    ("text", ""),
    ("int", ""),
    ("number", ""),
    ("amount", "EUR"),
    ("amount", "USD"),
    ("pct", ""),
    ("date", ""),
    ("flag_f", ""),
    ("flag_u", ""),
]
LISTS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs")


def assert_append_only(before: bytes, after: bytes) -> None:
    """Every original element is unchanged at its index; lists only grew at the end."""
    old, new = ElementTree.fromstring(before), ElementTree.fromstring(after)
    for name in LISTS:
        old_list, new_list = old.find(f"m:{name}", NS), new.find(f"m:{name}", NS)
        if old_list is None:
            continue
        old_items, new_items = list(old_list), list(new_list)
        assert len(new_items) >= len(old_items)
        for a, b in zip(old_items, new_items, strict=False):
            assert ElementTree.tostring(a) == ElementTree.tostring(b), name
        if new_list.get("count") is not None:
            assert int(new_list.get("count")) == len(new_items), name
    old_rest = [ElementTree.tostring(e) for e in old if e.tag.removeprefix(M) not in LISTS]
    new_rest = [ElementTree.tostring(e) for e in new if e.tag.removeprefix(M) not in LISTS]
    assert old_rest == new_rest


class TestStyleBook:
    def test_append_only_and_idempotent(self, base_styles):
        _, once = render(base_styles)
        assert once != base_styles
        assert_append_only(base_styles, once)
        rendered_again, twice = render(once)
        assert twice == once  # a second refresh adds nothing: the very same bytes
        rendered_first, _ = render(base_styles)
        assert rendered_again.xml == rendered_first.xml  # and the same style indices

    def test_nothing_asked_gives_the_input_back(self, template_styles):
        book = StyleBook(template_styles)
        assert book.to_bytes() is template_styles
        assert not book.changed

    def test_schema_order_of_lists(self, base_styles):
        _, out = render(base_styles)
        tags = [e.tag.removeprefix(M) for e in ElementTree.fromstring(out)]
        order = [
            "numFmts",
            "fonts",
            "fills",
            "borders",
            "cellStyleXfs",
            "cellXfs",
            "cellStyles",
            "dxfs",
            "tableStyles",
            "colors",
            "extLst",
        ]
        known = [t for t in tags if t in order]
        assert known == sorted(known, key=order.index)
        assert "numFmts" in tags

    def test_custom_number_formats_get_fresh_ids(self):
        _, out = render(EXCEL_LIKE)
        formats = {
            nf.get("formatCode"): int(nf.get("numFmtId"))
            for nf in ElementTree.fromstring(out).findall("m:numFmts/m:numFmt", NS)
        }
        assert formats["0.000"] == 170  # the workbook's own, untouched
        new_ids = [i for code, i in formats.items() if code != "0.000"]
        assert min(new_ids) == 171  # after the highest id in use
        assert len(set(new_ids)) == len(new_ids)

    def test_template_formats_are_reused(self, template_styles):
        """The ready workbook already has yyyy-mm-dd and 0.0%; the EUR amount format of the
        reports (the built sheets show amounts without a symbol) is added once."""
        book = StyleBook(template_styles)
        render_sheet(report_sheet(), book, currency="EUR")
        render_sheet(report_sheet(), book, currency="EUR")
        old = ElementTree.fromstring(template_styles).findall("m:numFmts/m:numFmt", NS)
        new = ElementTree.fromstring(book.to_bytes()).findall("m:numFmts/m:numFmt", NS)
        assert len(new) == len(old) + 1

    def test_excel_markup_is_preserved_byte_for_byte(self):
        _, out = render(EXCEL_LIKE)
        root_end = EXCEL_LIKE.index(b"<numFmts")
        assert out[:root_end] == EXCEL_LIKE[:root_end]  # declarations, mc:Ignorable
        ext = EXCEL_LIKE[EXCEL_LIKE.index(b"<cellStyles") :]
        assert out.endswith(ext)  # cellStyles, dxfs, tableStyles, extLst untouched
        assert b'<fonts count="' in out
        assert b'x14ac:knownFonts="1"' in out
        # new fonts take the workbook's default font
        fonts = ElementTree.fromstring(out).findall("m:fonts/m:font", NS)
        assert {f.find("m:name", NS).get("val") for f in fonts} == {"Aptos Narrow"}

    def test_prefixed_main_namespace(self):
        prefixed = (
            b'<x:styleSheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<x:fonts count="1"><x:font><x:sz val="10"/><x:name val="Arial"/></x:font></x:fonts>'
            b'<x:fills count="2"><x:fill><x:patternFill patternType="none"/></x:fill>'
            b'<x:fill><x:patternFill patternType="gray125"/></x:fill></x:fills>'
            b'<x:borders count="1"><x:border/></x:borders>'
            b'<x:cellXfs count="1"><x:xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            b"</x:cellXfs></x:styleSheet>"
        )
        _, out = render(prefixed)
        assert b"<font>" not in out
        assert b"<x:font>" in out
        root = ElementTree.fromstring(out)
        assert len(root.findall("m:cellXfs/m:xf", NS)) > 1
        assert root.find("m:numFmts", NS) is not None
        assert_append_only(prefixed, out)
        # no cellStyleXfs: the new formats name no parent style
        assert all(xf.get("xfId") is None for xf in root.findall("m:cellXfs/m:xf", NS))

    def test_missing_lists_are_created_with_defaults(self):
        bare = b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
        with pytest.raises(InputError, match="empty"):
            StyleBook(bare)
        almost = (
            b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<dxfs count="0"/></styleSheet>'
        )
        book = StyleBook(almost)
        title = book.title()
        root = ElementTree.fromstring(book.to_bytes())
        assert [e.tag.removeprefix(M) for e in root] == [
            "fonts",
            "fills",
            "borders",
            "cellXfs",
            "dxfs",
        ]
        xfs = root.findall("m:cellXfs/m:xf", NS)
        assert xfs[0].get("fontId") == "0"  # the default format stays first
        assert title == 1
        fills = root.findall("m:fills/m:fill/m:patternFill", NS)
        assert [f.get("patternType") for f in fills[:2]] == ["none", "gray125"]

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (b"<styleSheet", "not well-formed"),
            (b"<workbook xmlns='urn:x'/>", "styleSheet"),
            (
                b'<!DOCTYPE x [<!ENTITY a "b">]><styleSheet xmlns="'
                + MAIN.encode()
                + b'"><fonts/></styleSheet>',
                "DTD",
            ),
            (b'<?xml version="1.0" encoding="ISO-8859-1"?><styleSheet/>', "encoding"),
        ],
    )
    def test_unreadable_parts_are_input_errors(self, data, message):
        with pytest.raises(InputError, match=message):
            StyleBook(data)

    def test_unknown_role(self):
        with pytest.raises(ValueError, match="unknown style role"):
            StyleBook(MINIMAL_STYLES_XML).style("bogus")  # type: ignore[arg-type]

    @settings(max_examples=40, deadline=None)
    @given(
        picks=st.lists(st.sampled_from(ROLES), min_size=1, max_size=12),
        quoted=st.booleans(),
        which=st.sampled_from(["excel_like", "minimal"]),
    )
    def test_any_roles_in_any_order(self, picks, quoted, which):
        base = EXCEL_LIKE if which == "excel_like" else MINIMAL_STYLES_XML
        book = StyleBook(base)
        first = [book.style(r, currency=c, quoted=quoted) for r, c in picks]
        out = book.to_bytes()
        assert_append_only(base, out)
        again = StyleBook(out)
        assert [again.style(r, currency=c, quoted=quoted) for r, c in reversed(picks)] == list(
            reversed(first)
        )
        assert again.to_bytes() is out
        styles = Styles(out)
        for (role, currency), index in zip(picks, first, strict=True):
            xf = styles.xfs[index]
            assert styles.formats[int(xf.get("numFmtId"))] == number_format(role, currency)
            assert (xf.get("quotePrefix") == "1") is quoted


# ---------------------------------------------------------------------------------------
# Charts and drawing
# ---------------------------------------------------------------------------------------


def series(chart_root):
    out = []
    for ser in chart_root.iter(C_SER):
        name_ref = ser.find("c:tx/c:strRef/c:f", NS).text
        name = ser.find("c:tx/c:strRef/c:strCache/c:pt/c:v", NS).text
        cat_ref = ser.find("c:cat/c:strRef/c:f", NS).text
        cats = [p.find("c:v", NS).text for p in ser.findall("c:cat/c:strRef/c:strCache/c:pt", NS)]
        val_ref = ser.find("c:val/c:numRef/c:f", NS).text
        cache = ser.find("c:val/c:numRef/c:numCache", NS)
        count = int(cache.find("c:ptCount", NS).get("val"))
        values: list[float | None] = [None] * count
        for p in cache.findall("c:pt", NS):
            values[int(p.get("idx"))] = float(p.find("c:v", NS).text)
        out.append((name_ref, name, cat_ref, cats, val_ref, values))
    return out


class TestCharts:
    def test_combo_chart_references_and_caches(self):
        rendered, _ = render()
        assert [c.anchor.spec.title for c in rendered.charts] == ["Won vs target", "Trend", "Bars"]
        combo = ElementTree.fromstring(rendered.charts[0].xml)
        bars = combo.find("c:chart/c:plotArea/c:barChart", NS)
        lines = combo.find("c:chart/c:plotArea/c:lineChart", NS)
        assert bars.find("c:barDir", NS).get("val") == "col"
        assert bars.find("c:grouping", NS).get("val") == "clustered"
        q = "'Rep''s Q4 view'"
        months = ["2026-01", "2026-02", "2026-03"]
        # Monthly: header row 18, data rows 19-21; won in B, expected in C, target in D
        assert series(bars) == [
            (f"{q}!$B$18", "Won", f"{q}!$A$19:$A$21", months, f"{q}!$B$19:$B$21", [100, 200, 150]),
            (
                f"{q}!$C$18",
                "Expected",
                f"{q}!$A$19:$A$21",
                months,
                f"{q}!$C$19:$C$21",
                [120, 180, None],
            ),
        ]
        assert series(lines) == [
            (
                f"{q}!$D$18",
                "Target",
                f"{q}!$A$19:$A$21",
                months,
                f"{q}!$D$19:$D$21",
                [150, 150, 150],
            )
        ]
        # both plots share the two axes
        bar_axes = [a.get("val") for a in bars.findall("c:axId", NS)]
        assert bar_axes == [a.get("val") for a in lines.findall("c:axId", NS)]
        assert combo.find("c:chart/c:plotArea/c:catAx/c:axId", NS).get("val") == bar_axes[0]
        assert combo.find("c:chart/c:plotArea/c:valAx/c:axId", NS).get("val") == bar_axes[1]
        assert combo.find("c:chart/c:legend/c:legendPos", NS).get("val") == "b"
        title = "".join(t.text for t in combo.find("c:chart/c:title", NS).iter(A_T))
        assert title == "Won vs target"
        assert combo.find(".//c:numCache/c:formatCode", NS).text == EURO
        value_format = combo.find("c:chart/c:plotArea/c:valAx/c:numFmt", NS)
        assert value_format.get("formatCode") == EURO
        y_title = combo.find("c:chart/c:plotArea/c:valAx/c:title", NS)
        assert "".join(t.text for t in y_title.iter(A_T)) == "EUR"

    def test_line_and_bar_charts(self):
        rendered, _ = render()
        line = ElementTree.fromstring(rendered.charts[1].xml)
        assert line.find(".//c:barChart", NS) is None
        assert [s[1] for s in series(line.find(".//c:lineChart", NS))] == ["Won"]
        bar = ElementTree.fromstring(rendered.charts[2].xml)
        assert bar.find(".//c:barChart/c:barDir", NS).get("val") == "bar"
        assert bar.find(".//c:lineChart", NS) is None

    def test_chart_anchors_follow_place(self):
        rendered, _ = render()
        placed = place(report_sheet())[1]
        assert [c.anchor for c in rendered.charts] == list(placed.charts)
        # Monthly has 4 columns: charts start two columns later, in column 6 (F)
        assert {c.anchor.col for c in rendered.charts} == {6}
        assert [c.anchor.row for c in rendered.charts] == [17, 17 + CHART_ROWS + 1, 17 + 2 * 17]

    def test_dates_as_categories_use_a_number_cache(self):
        frame = pd.DataFrame({"d": [date(2026, 1, 1), date(2026, 11, 30)], "v": [1.0, 2.5]})
        block = Block(
            "B",
            frame,
            (Column("d", "Day", "date"), Column("v", "Value", "pct")),
            charts=(ChartSpec("line", "By day", "d", ("v",)),),
        )
        sheet = ReportSheet("Plain", "t", "s", (block,))
        placed = place(sheet)[0]
        root = ElementTree.fromstring(chart_xml("Plain", placed, placed.charts[0], currency="EUR"))
        cat = root.find(".//c:ser/c:cat/c:numRef", NS)
        assert cat.find("c:f", NS).text == "Plain!$A$6:$A$7"
        assert cat.find("c:numCache/c:formatCode", NS).text == "yyyy-mm-dd"
        assert [p.find("c:v", NS).text for p in cat.findall("c:numCache/c:pt", NS)] == [
            "46023",
            "46356",
        ]
        value_format = root.find(".//c:valAx/c:numFmt", NS).get("formatCode")
        assert value_format == "0%"

    def test_chart_errors_and_empty_blocks(self):
        frame = pd.DataFrame({"m": ["a"], "v": [1.0]})
        columns = (Column("m", "M"), Column("v", "V", "number"))
        bad = Block("B", frame, columns, charts=(ChartSpec("column", "Bad", "m", ("nope",)),))
        with pytest.raises(ValueError, match="nope"):
            render_sheet(
                ReportSheet("S", "t", "s", (bad,)), StyleBook(MINIMAL_STYLES_XML), currency="EUR"
            )
        empty = Block(
            "E", frame.iloc[0:0], columns, charts=(ChartSpec("column", "None", "m", ("v",)),)
        )
        rendered = render_sheet(
            ReportSheet("S", "t", "s", (empty,)), StyleBook(MINIMAL_STYLES_XML), currency="EUR"
        )
        assert rendered.charts == ()

    def test_drawing_anchors(self):
        specs = [ChartSpec("column", f"C{i} <&>", "m", ("v",)) for i in range(3)]
        anchors = [
            PlacedChart(specs[0], 4, 6),
            PlacedChart(specs[1], 21, 6),
            PlacedChart(specs[2], 4, 20, rows=10, cols=5),
        ]
        root = ElementTree.fromstring(
            drawing_xml([(a, f"rId{i + 1}") for i, a in enumerate(anchors)])
        )
        found = root.findall("xdr:twoCellAnchor", NS)
        assert len(found) == 3

        def corner(anchor, which):
            return tuple(int(anchor.find(f"xdr:{which}/xdr:{k}", NS).text) for k in ("col", "row"))

        # 1-based (row 4, col 6) is 0-based (col 5, row 3); the chart spans 8 x 16 cells
        assert corner(found[0], "from") == (5, 3)
        assert corner(found[0], "to") == (5 + CHART_COLS, 3 + CHART_ROWS)
        assert corner(found[2], "to") == (19 + 5, 3 + 10)
        ids = [a.find(".//xdr:cNvPr", NS).get("id") for a in found]
        assert len(set(ids)) == 3
        rids = [a.find(".//c:chart", NS).get(R_ID) for a in found]
        assert rids == ["rId1", "rId2", "rId3"]
        assert found[0].find(".//xdr:cNvPr", NS).get("descr") == "C0 <&>"
        assert all(a.find("xdr:clientData", NS) is not None for a in found)


# ---------------------------------------------------------------------------------------
# A whole workbook: openpyxl, openxml-audit and LibreOffice read it
# ---------------------------------------------------------------------------------------

CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
RELS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
)


def build_workbook(path: Path, sheet: ReportSheet) -> Path:
    """An xlsxwriter workbook whose second sheet is replaced by the rendered sheet."""
    base = path.with_suffix(".base.xlsx")
    wb = xlsxwriter.Workbook(base)
    wb.add_worksheet("Base").write(0, 0, "base")
    wb.add_worksheet(sheet.name)
    wb.close()
    with zipfile.ZipFile(base) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    styles = StyleBook(parts["xl/styles.xml"])
    rendered = render_sheet(sheet, styles, currency="EUR", drawing_rid="rId1")
    parts["xl/worksheets/sheet2.xml"] = rendered.xml
    parts["xl/styles.xml"] = styles.to_bytes()
    overrides = f'<Override PartName="/xl/drawings/drawing1.xml" ContentType="{CT_DRAWING}"/>'
    rels = []
    for i, chart in enumerate(rendered.charts, start=1):
        parts[f"xl/charts/chart{i}.xml"] = chart.xml
        overrides += f'<Override PartName="/xl/charts/chart{i}.xml" ContentType="{CT_CHART}"/>'
        rels.append(
            f'<Relationship Id="rId{i}" Type="{REL}/chart" Target="../charts/chart{i}.xml"/>'
        )
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", overrides + "</Types>").encode()
    pairs = [(c.anchor, f"rId{i}") for i, c in enumerate(rendered.charts, start=1)]
    parts["xl/drawings/drawing1.xml"] = drawing_xml(pairs)
    parts["xl/drawings/_rels/drawing1.xml.rels"] = (
        RELS_HEAD + "".join(rels) + "</Relationships>"
    ).encode()
    parts["xl/worksheets/_rels/sheet2.xml.rels"] = (
        RELS_HEAD
        + f'<Relationship Id="rId1" Type="{REL}/drawing" Target="../drawings/drawing1.xml"/>'
        + "</Relationships>"
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("book") / "report.xlsx", report_sheet())


class TestWholeWorkbook:
    def test_openpyxl_reads_values_and_formats(self, workbook):
        openpyxl = pytest.importorskip("openpyxl")
        ws = openpyxl.load_workbook(workbook)[SHEET_NAME]
        assert ws["A1"].value == "Variance report"
        assert ws["A6"].value == TRICKY[0]  # text, not a formula
        assert ws["A6"].data_type == "s"
        assert ws["A6"].quotePrefix
        assert ws["B9"].value == 4444
        assert ws["D6"].number_format == EURO
        assert ws["F6"].value == datetime(2026, 11, 30)
        assert ws["F6"].number_format == "yyyy-mm-dd"
        assert ws["C8"].value is None
        assert len(ws._charts) == 3  # openpyxl keeps the charts it read there

    def test_openxml_audit_finds_nothing(self, workbook):
        try:
            import openxml_audit as audit
        except ImportError:  # pragma: no cover - depends on the environment
            if os.environ.get("CI"):
                raise
            pytest.skip("openxml-audit is not installed")
        for file_format in (audit.FileFormat.OFFICE_2016, audit.FileFormat.MICROSOFT_365):
            validator = audit.OpenXmlValidator(file_format=file_format)
            result = validator.validate(str(workbook))
            assert [f"{e.part_uri}: {e.description}" for e in result.errors] == []
            assert audit.predict(result).prediction == audit.AppPrediction.OPENS_CLEAN

    @pytest.mark.libreoffice
    def test_libreoffice_reads_and_renders(self, workbook, tmp_path):
        from pipeline_xl.io import libreoffice

        reason = libreoffice.missing_reason()
        if reason is not None:
            if os.environ.get("CI"):
                pytest.fail(f"LibreOffice is required in CI: {reason}")
            pytest.skip(f"LibreOffice not available ({reason})")
        cells = libreoffice.cell_values(workbook, [f"{SHEET_NAME}!A6:G13"], recalc=False)[
            SHEET_NAME
        ]
        for i, text in enumerate(TRICKY):
            if text is not None:  # LibreOffice keeps a carriage return as a line feed
                assert cells[f"A{6 + i}"]["text"] == text.replace("\r", "\n")
                assert cells[f"A{6 + i}"]["formula"] == ""
        assert cells["D7"]["text"] == "25,001 €"
        assert cells["E7"]["text"] == "12.3%"
        assert cells["F6"]["text"] == "2026-11-30"
        pictures = libreoffice.render(workbook, tmp_path, [SHEET_NAME])
        assert len(pictures) == 1
        assert pictures[0].stat().st_size > 10_000
