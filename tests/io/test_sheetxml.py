"""Sheet XML text: escaping, cell text, cells, references and quoted sheet names."""

from __future__ import annotations

import re

import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.io.sheetxml import (
    area_ref,
    bool_cell_xml,
    cell_ref,
    column_index,
    column_letter,
    empty_cell_xml,
    number_cell_xml,
    number_text,
    quote_sheet,
    range_ref,
    split_ref,
    text_cell_xml,
    xml_clean,
    xml_escape,
    xml_text,
    xml_unescape,
)
from tests.io.workbooks import excel_decode


class TestReferences:
    def test_column_letters(self):
        # 26 letters, then AA = 27, AZ = 26 + 26 = 52, BA = 53, ZZ = 26 * 27 = 702, AAA = 703
        assert [column_letter(n) for n in (1, 26, 27, 52, 53, 702, 703)] == [
            "A",
            "Z",
            "AA",
            "AZ",
            "BA",
            "ZZ",
            "AAA",
        ]
        with pytest.raises(ValueError, match="start at 1"):
            column_letter(0)

    @pytest.mark.parametrize(("n", "letters"), [(1, "A"), (26, "Z"), (27, "AA"), (16384, "XFD")])
    def test_letters_and_numbers_agree(self, n, letters):
        assert column_letter(n) == letters
        assert column_index(letters) == n
        assert column_index(letters.lower()) == n

    def test_cell_and_range_refs(self):
        assert cell_ref(6, 2) == "B6"
        assert cell_ref(6, 2, absolute=True) == "$B$6"
        with pytest.raises(ValueError, match="start at 1"):
            cell_ref(0, 2)
        assert area_ref(1, 1, 20, 8) == "A1:H20"
        assert range_ref("Variance", 6, 2, 17) == "Variance!$B$6:$B$17"
        assert range_ref("Sales Q4", 5, 3, 5) == "'Sales Q4'!$C$5"
        assert range_ref("Data", 1, 1, 3, 2) == "Data!$A$1:$B$3"

    def test_split_ref(self):
        assert split_ref("B2:D5") == (2, 2, 5, 4)
        assert split_ref("$C$7") == (7, 3, 7, 3)
        with pytest.raises(ValueError, match="not a cell range"):
            split_ref("A:C")


class TestQuoteSheet:
    @pytest.mark.parametrize(
        ("name", "quoted"),
        [
            ("Variance", "Variance"),
            ("Data", "Data"),
            ("_x.y", "_x.y"),
            ("Rep's view", "'Rep''s view'"),
            ("O'Brien", "'O''Brien'"),
            ("Sales Q4", "'Sales Q4'"),
            ("My notes", "'My notes'"),
            ("2026", "'2026'"),  # starts with a digit
            ("AB12", "'AB12'"),  # reads as a cell reference
            ("A1", "'A1'"),
            ("R1C1", "'R1C1'"),  # reads as an R1C1 reference
            ("rc", "'rc'"),
            ("TRUE", "'TRUE'"),  # reads as a logical value
            ("false", "'false'"),
            ("TRUEISH", "TRUEISH"),
            ("Flow-chart", "'Flow-chart'"),
        ],
    )
    def test_quoted_when_needed(self, name, quoted):
        assert quote_sheet(name) == quoted


class TestXmlText:
    def test_escape_and_unescape(self):
        assert xml_escape('a & <b> "c"') == 'a &amp; &lt;b&gt; "c"'
        assert xml_escape('"c"', attr=True) == "&quot;c&quot;"
        assert xml_unescape("&lt;&amp;&gt;&quot;&apos;&#65;&#x42;") == "<&>\"'AB"
        assert xml_unescape("no entity") == "no entity"

    def test_escapes(self):
        assert xml_text("<&>") == "&lt;&amp;&gt;"
        assert xml_text("a & <b>") == "a &amp; &lt;b&gt;"
        assert xml_text("a\x01b\rc") == "a_x0001_b_x000D_c"
        assert xml_text("keep\ttab\nand newline") == "keep\ttab\nand newline"
        # a literal escape sequence keeps its meaning: its underscore is escaped
        assert xml_text("_x0041_") == "_x005F_x0041_"
        assert xml_text("bad\ufffe\uffffchars") == "badchars"
        assert xml_text("lone\ud800surrogate") == "lonesurrogate"

    def test_clean_drops_without_escaping(self):
        assert xml_clean("a\x01b\ufffe<c>") == "ab<c>"

    @settings(max_examples=80, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.text(max_size=8),
                st.sampled_from(["_x0041_", "_x005F_", "_x", "_", "\r\n", "\x00", "\x1f", "\x7f"]),
            ),
            max_size=8,
        ).map("".join)
    )
    def test_text_reads_back_exactly(self, text):
        xml = f'<t xml:space="preserve">{xml_text(text)}</t>'
        parsed = ElementTree.fromstring(xml.encode("utf-8")).text or ""
        expected = re.sub("[\ud800-\udfff\ufffe\uffff]", "", text)
        assert excel_decode(parsed) == expected


class TestCells:
    def test_numbers(self):
        assert number_text(46027.0) == "46027"
        assert number_text(-3.0) == "-3"
        assert number_text(0.1) == "0.1"
        assert number_text(46027.5) == "46027.5"
        assert number_text(1e15) == "1000000000000000.0"  # from 10**15 on, repr
        assert number_text(1e16) == "1e+16"
        assert number_text(123456789012345.0) == "123456789012345"
        assert number_cell_xml("B2", 1234.5, 7) == '<c r="B2" s="7"><v>1234.5</v></c>'
        assert number_cell_xml("B2", 12.0) == '<c r="B2"><v>12</v></c>'

    def test_text_is_an_inline_string(self):
        assert text_cell_xml("A1", "=SUM(A2:A3)", 3) == (
            '<c r="A1" s="3" t="inlineStr"><is><t>=SUM(A2:A3)</t></is></c>'
        )
        assert text_cell_xml("A1", " padded ") == (
            '<c r="A1" t="inlineStr"><is><t xml:space="preserve"> padded </t></is></c>'
        )
        assert text_cell_xml("A1", "x", 4, preserve=True) == (
            '<c r="A1" s="4" t="inlineStr"><is><t xml:space="preserve">x</t></is></c>'
        )

    def test_booleans_and_empty_cells(self):
        assert bool_cell_xml("C4", True, 2) == '<c r="C4" s="2" t="b"><v>1</v></c>'
        assert bool_cell_xml("C4", False) == '<c r="C4" t="b"><v>0</v></c>'
        assert empty_cell_xml("D5", 9) == '<c r="D5" s="9"/>'
        assert empty_cell_xml("D5") == '<c r="D5"/>'
