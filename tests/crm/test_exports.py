"""Reading export files: encodings, delimiters, conventions, header rows and bad files."""

from __future__ import annotations

import codecs
from datetime import date, datetime

import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.io import decoding
from pipeline_xl.io.exports import read_export

ROWS = [
    ["ID", "Name", "Company", "Stage", "Amount", "Close date"],
    ["D1", "Extension", "Société Générale \u2013 Paris", "Proposal", "1234.5", "2026-03-15"],
    ["D2", "Renewal", "Müller GmbH", "Won", "800", "2026-02-01"],
]


def write(tmp_path, text: str, *, encoding: str = "utf-8", bom: bytes = b"", name="x.csv"):
    path = tmp_path / name
    path.write_bytes(bom + text.encode(encoding))
    return path


def write_bytes(tmp_path, data: bytes, name="x.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def csv_text(rows, delimiter=","):
    return "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"


class TestEncodings:
    @pytest.mark.parametrize(
        ("encoding", "bom", "label"),
        [
            ("utf-8", b"", "UTF-8"),
            ("utf-8", codecs.BOM_UTF8, "UTF-8 with BOM"),
            ("cp1252", b"", "Windows-1252"),
            ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16"),
        ],
    )
    def test_text_survives_each_encoding(self, tmp_path, encoding, bom, label):
        path = write(tmp_path, csv_text(ROWS), encoding=encoding, bom=bom)
        found = read_export(path)
        assert found.encoding == label
        assert found.headers[0] == "ID"  # no BOM left on the first header
        assert found.frame["Company"].tolist() == ["Société Générale \u2013 Paris", "Müller GmbH"]
        assert found.notes == ()

    def test_a_latin_1_export_reads_right(self, tmp_path):
        rows = [["ID", "Name", "Amount"], ["D1", "Ærø Ångström", "5"], ["D2", "Čeština?", "6"]]
        rows[2][1] = "José Müller"
        found = read_export(write(tmp_path, csv_text(rows), encoding="latin-1"))
        assert found.frame["Name"].tolist() == ["Ærø Ångström", "José Müller"]
        assert found.encoding == "Windows-1252"  # the same characters, its superset

    def test_another_code_page_is_detected(self, tmp_path):
        rows = [["ID", "Name", "Amount"], ["D1", "Zażółć gęślą jaźń Łódź Świętokrzyska", "5"]]
        found = read_export(write(tmp_path, csv_text(rows), encoding="cp1250"))
        assert found.encoding == "Windows-1250"
        assert found.frame["Name"].tolist() == ["Zażółć gęślą jaźń Łódź Świętokrzyska"]

    @pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
    def test_utf_8_and_windows_1252_lines_are_each_decoded_on_their_own(self, tmp_path, bom):
        head = csv_text([["ID", "Name", "Amount"], ["D1", "José Müller", "5"], ["D2", "Ann", "6"]])
        tail = csv_text([["D3", "Renée Dupré", "7"], ["D4", "Łukasz", "8"]])
        lines = tail.split("\r\n")
        path = tmp_path / "mixed.csv"
        path.write_bytes(
            bom
            + head.encode("utf-8")
            + (lines[0] + "\r\n").encode("cp1252")
            + (lines[1] + "\r\n").encode("utf-8")
        )
        found = read_export(path)
        assert found.frame["Name"].tolist() == ["José Müller", "Ann", "Renée Dupré", "Łukasz"]
        assert found.encoding == "UTF-8 and Windows-1252, line by line"
        assert found.notes == (
            (
                "mixed encodings: of the 3 lines with characters beyond ASCII, 2 read as UTF-8 and "
                "1 as Windows-1252, each line on its own (Windows-1252 on lines 4)"
            ),
        )

    def test_bytes_the_code_page_cannot_read_are_shown_and_said(self, tmp_path, monkeypatch):
        # The code page is detected from the first bytes of the lines that are not UTF-8
        # (here the first 10, line 2): a later line has bytes Windows-1252 leaves undefined.
        monkeypatch.setattr(decoding, "_DETECT_BYTES", 10)
        data = "ID,Name,Amount\r\nD1,José,5\r\n".encode("cp1252") + b"D2,Bad\x81\x8d,6\r\n"
        found = read_export(write_bytes(tmp_path, data))
        assert found.frame["Name"].tolist() == ["José", "Bad\ufffd\ufffd"]
        assert found.encoding == "Windows-1252"
        assert found.notes == (
            (
                "1 line held bytes that neither UTF-8 nor Windows-1252 can read: shown as U+FFFD "
                "(\ufffd) (lines 3)"
            ),
        )

    def test_a_damaged_utf_16_file_is_shown_and_said(self, tmp_path):
        text = "ID,Name,Amount\r\nD1,José,5\r\n"
        data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
        data += "D2,Bad".encode("utf-16-le") + b"\x00\xd8" + ",6\r\n".encode("utf-16-le")
        found = read_export(write_bytes(tmp_path, data))
        assert found.frame["Name"].tolist() == ["José", "Bad\ufffd"]
        assert found.notes == (
            (
                "the UTF-16 file holds bytes that are no UTF-16 text: 1 line shows U+FFFD (\ufffd) "
                "in their place (lines 3)"
            ),
        )

    def test_a_few_nul_characters_are_text_not_binary(self, tmp_path):
        data = b"ID,Name,Amount\r\nD1,Nul\x00here,5\r\nD2,Ann,6\r\n"
        found = read_export(write_bytes(tmp_path, data))
        assert found.frame["Name"].tolist() == ["Nul\x00here", "Ann"]  # the import removes it


class TestDelimiters:
    @pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
    def test_each_delimiter_gives_six_columns(self, tmp_path, delimiter):
        path = write(tmp_path, csv_text(ROWS, delimiter))
        found = read_export(path)
        assert found.delimiter == delimiter
        assert found.headers == tuple(ROWS[0])
        assert found.frame.shape == (2, 6)

    def test_quoted_delimiters_and_newlines_stay_in_their_cell(self, tmp_path):
        text = 'ID;Name;Amount\n1;"Big; deal\nsecond line";"1.234,50"\n2;Small;"99,5"\n'
        found = read_export(write(tmp_path, text))
        assert found.delimiter == ";"
        assert found.frame["Name"].tolist() == ["Big; deal\nsecond line", "Small"]
        # Two records: the quoted newline does not start a row, so row numbers are 2 and 3.
        assert found.rows.tolist() == [2, 3]


class TestConventions:
    def test_decimal_comma_detected(self, tmp_path):
        text = "ID;Amount;Date\nA;1.234,50;15/03/2026\nB;99,5;01/02/2026\n"
        found = read_export(write(tmp_path, text))
        assert found.decimal_comma
        assert not found.month_first  # 15/03 can only be day first

    def test_thousands_comma_is_not_a_decimal_comma(self, tmp_path):
        text = 'ID,Amount\nA,"1,234.50"\nB,"12,000"\nC,7.25\n'
        assert not read_export(write(tmp_path, text)).decimal_comma

    def test_month_first_dates_detected(self, tmp_path):
        text = "ID,Amount,Close Date\nA,10,3/15/2026\nB,20,4/2/2026\n"
        assert read_export(write(tmp_path, text)).month_first

    def test_the_dates_of_the_whole_file_tell_the_order(self, tmp_path):
        # 6,000 dates that read both ways, then one that can only be month first.
        lines = [f"D{i},10,1/2/24" for i in range(6000)] + ["X,10,6/13/24"]
        found = read_export(write(tmp_path, "ID,Amount,Close Date\n" + "\n".join(lines)))
        assert found.month_first is True
        assert found.dates.month_first == 1
        assert "dates month first (6/13/24)" in found.describe()

    def test_a_file_whose_dates_never_tell_says_so(self, tmp_path):
        found = read_export(write(tmp_path, "ID,Amount,Date\nA,1,01/02/2026\nB,2,2026-03-04\n"))
        assert found.month_first is None
        assert "day/month order untold (01/02/2026)" in found.describe()
        iso = read_export(write(tmp_path, "ID,Amount,Date\nA,1,2026-03-04\n", name="iso.csv"))
        assert "order" not in iso.describe()

    def test_day_dot_dates_are_not_decimal_numbers(self, tmp_path):
        text = "ID;Amount;Date\nA;10;15.03.2026\nB;20;01.02.2026\n"
        found = read_export(write(tmp_path, text))
        assert not found.decimal_comma


class TestHeaderRow:
    def test_title_rows_above_the_header_are_skipped(self, tmp_path):
        text = "Opportunity report\nGenerated by Ann\n\n" + csv_text(ROWS)
        found = read_export(write(tmp_path, text))
        assert found.header_row == 4
        assert found.headers[:2] == ("ID", "Name")
        assert found.rows.tolist() == [5, 6]

    def test_blank_and_repeated_headers_get_names(self, tmp_path):
        text = "ID,Stage,Amount,,Stage\nA,Won,1,x,y\n"
        found = read_export(write(tmp_path, text))
        assert found.headers == ("ID", "Stage", "Amount", "Column 4", "Stage (2)")

    def test_short_rows_are_padded(self, tmp_path):
        found = read_export(write(tmp_path, "ID,Stage,Amount\nA,Won\n"))
        assert found.frame.iloc[0].tolist() == ["A", "Won", ""]


class TestExcel:
    def test_xlsx_export_with_a_title_row_reads_typed_cells(self, tmp_path):
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Report"
        sheet.append(["Pipeline report"])
        sheet.append(["Opportunity ID", "Stage", "Amount", "Close Date"])
        sheet.append(["006A", "Closed Won", 1500.25, datetime(2026, 3, 15)])
        sheet.append([None, None, None, None])
        sheet.append(["006B", "Proposal", 99, datetime(2026, 4, 1)])
        path = tmp_path / "report.xlsx"
        book.save(path)
        found = read_export(path)
        assert found.kind == "excel"
        assert found.sheet == "Report"
        assert found.header_row == 2
        assert found.rows.tolist() == [3, 5]  # the blank row 4 is skipped
        assert found.frame["Amount"].tolist() == [1500.25, 99]
        assert found.frame["Close Date"].tolist()[0] in (datetime(2026, 3, 15), date(2026, 3, 15))

    def test_excel_file_with_a_csv_name_is_read_as_excel(self, tmp_path):
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        book.active.append(["ID", "Stage", "Amount"])
        book.active.append(["A", "Won", 5])
        path = tmp_path / "misnamed.csv"
        book.save(path)
        assert read_export(path).kind == "excel"


class TestBadFiles:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "is empty"),
            (b"   \r\n\r\n", "is empty"),
            (bytes(range(256)) * 40, "binary"),
            (b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 10, "binary"),
            (b"ID Stage Amount\nA Won 5\nB Lost 7\n", "only one column"),
            (b"ID,Stage,Amount\n", "no data rows"),
            (b"PK\x03\x04 not really a zip", "not"),
        ],
    )
    def test_one_clear_message(self, tmp_path, content, message):
        path = tmp_path / "bad.csv"
        path.write_bytes(content)
        with pytest.raises(InputError, match=message):
            read_export(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(InputError, match="does not exist"):
            read_export(tmp_path / "nope.csv")


def test_a_wide_row_after_the_first_rows_falls_back_to_the_csv_module(tmp_path):
    # Beyond the first 256 kB a row has an extra field: every row still reads.
    lines = ["ID,Stage,Amount"] + [f"D{i},Lead,{i}" for i in range(30_000)] + ["Z,Won,5,extra"]
    found = read_export(write(tmp_path, "\n".join(lines) + "\n"))
    assert len(found.frame) == 30_001
    assert found.frame.iloc[-1].tolist() == ["Z", "Won", "5"]
    assert found.rows[-1] == 30_002
