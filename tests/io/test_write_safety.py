"""Unit checks of the write-safety pieces: formula moves, shared formulas, room checks,
sheet marks, recalculation on load and the inflating zip guard."""

from __future__ import annotations

import io
import zipfile

import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.formula_refs import shift_formula
from pipeline_xl.io.package import Package
from pipeline_xl.io.table_formulas import repair_shared
from pipeline_xl.io.table_space import Area, _new_cells
from pipeline_xl.io.zipguard import check_zip
from tests.io.workbooks import new_sample


@pytest.mark.parametrize(
    ("formula", "rows", "cols", "moved"),
    [
        ("G2*2", 3, 0, "G5*2"),
        ("$G$2+G$2+$G2", 3, 0, "$G$2+G$2+$G5"),
        ("SUM(A2:B9)", 1, 1, "SUM(B3:C10)"),
        ("SUM(2:4)+SUM($2:4)", 2, 0, "SUM(4:6)+SUM($2:6)"),
        ("SUM(G:H)", 5, 1, "SUM(H:I)"),
        ("'My Sheet'!A1&\"A1\"", 1, 0, "'My Sheet'!A2&\"A1\""),
        ("tblProspects[[#This Row],[Amount]]*2", 4, 0, "tblProspects[[#This Row],[Amount]]*2"),
        ("LOG10(A1)+Sheet1!B2", 1, 0, "LOG10(A2)+Sheet1!B3"),
        ("A1-1", -1, 0, "#REF!-1"),
        ("A1048576", 1, 0, "#REF!"),
    ],
)
def test_shift_formula(formula, rows, cols, moved):
    assert shift_formula(formula, rows, cols) == moved


def test_a_shared_formula_without_its_master_is_written_out():
    body = (
        '<row r="2"><c r="G2"><v>5</v></c></row>'
        '<row r="3"><c r="G3" s="2"><f t="shared" si="0"/><v>6</v></c></row>'
        '<row r="4"><c r="H4"><f t="shared" si="1"/></c></row>'
    )
    masters = {"0": ("E2*2", 2, 7), "1": ("A1", 1, 8)}
    fixed = repair_shared(
        body + '<row r="9"><c r="H1"><f t="shared" ref="H1:H4" si="1">A1</f></c></row>', masters
    )
    assert '<c r="G3" s="2"><f>E3*2</f><v>6</v></c>' in fixed
    assert '<c r="H4"><f t="shared" si="1"/></c>' in fixed  # its master is still there


def test_the_cells_a_table_gains():
    old = Area(1, 1, 10, 3)
    assert _new_cells(old, Area(1, 1, 12, 3)) == [Area(11, 1, 12, 3)]
    assert _new_cells(old, Area(1, 1, 10, 4)) == [Area(1, 4, 10, 4)]
    assert _new_cells(old, Area(1, 1, 8, 3)) == []
    assert Area.of("$B$2:A1") == Area(1, 1, 2, 2)
    assert Area(1, 1, 4, 4).overlap(Area(5, 1, 6, 1)) is None


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return new_sample(tmp_path_factory.mktemp("marks") / "Book.xlsm", 20).read_bytes()


def test_sheet_marks_follow_renames_and_go_with_removals(sample):
    package = Package.from_bytes(sample)
    text = package.part("xl/workbook.xml").decode()
    package.set_part(
        "xl/workbook.xml",
        text.split("<definedNames>")[0].encode()
        + text[text.index("</definedNames>") + 15 :].encode(),
    )
    package.set_local_name("Stages", "pipeline_xl.report", 'say "hi"')
    assert package.local_names("pipeline_xl.report") == {"Stages": 'say "hi"'}
    package.set_local_name("Stages", "pipeline_xl.report", "Variance")
    package.rename_sheet("Stages", "Old stages")
    assert package.local_names("PIPELINE_XL.REPORT") == {"Old stages": "Variance"}
    package.remove_sheet("Old stages")
    assert package.local_names("pipeline_xl.report") == {}
    again = Package(package.to_bytes())
    assert again.local_names("pipeline_xl.report") == {}


def test_recalculate_on_load(sample):
    package = Package.from_bytes(sample)
    package.recalculate_on_load()
    text = package.part("xl/workbook.xml").decode()
    assert text.count("fullCalcOnLoad") == 1
    assert 'fullCalcOnLoad="1"' in text
    cut = text.replace(text[text.index("<calcPr") : text.index(">", text.index("<calcPr")) + 1], "")
    package.set_part("xl/workbook.xml", cut.encode())
    package.recalculate_on_load()
    assert '<calcPr fullCalcOnLoad="1"/>' in package.part("xl/workbook.xml").decode()


def _zip(name: str, data: bytes, method: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        zf.writestr(name, data)
    return out.getvalue()


def test_a_stored_part_longer_than_it_declares():
    data = bytearray(_zip("xl/a.xml", b"x" * 1000, zipfile.ZIP_STORED))
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")  # declares 100 bytes
    data[22:26] = (100).to_bytes(4, "little")
    with pytest.raises(InputError, match="expands beyond the 100 bytes its zip entry declares"):
        check_zip(bytes(data), name="Book.xlsx")


def test_a_changed_byte_is_damage():
    data = bytearray(_zip("xl/a.xml", b"<a>" + b"y" * 5000 + b"</a>", zipfile.ZIP_STORED))
    data[100] ^= 1
    with pytest.raises(InputError, match=r"Book\.xlsx is damaged: xl/a\.xml does not hold"):
        check_zip(bytes(data), name="Book.xlsx")


def test_a_total_beyond_the_limit_while_inflating():
    data = _zip("xl/a.xml", b"z" * 50_000, zipfile.ZIP_DEFLATED)
    with pytest.raises(InputError, match="its parts expand to"):
        check_zip(data, max_total=40_000)
