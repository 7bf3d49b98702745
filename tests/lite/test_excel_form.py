"""The Lite web-extension part has the form Excel saves for a workbook that calls Lite functions.

The expected form is written here as facts read from public workbooks saved by Excel with
the xlwings Lite add-in (no file is copied): Techtonique/techtonique-apis
``examples/excel_formulas.xlsx`` (cells calling ``_xldudf_TECHTO_*`` functions, add-in
1.0.0.0-17) and the workbooks of amararun/xlwings-lite-apps-codes-docs (add-in
1.0.0.0-18, January 2026).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from defusedxml import ElementTree

from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook.lite import (
    ADDIN_VERSION,
    PYODIDE_VERSION,
    WEBEXTENSION_PART,
    custom_function_ids,
    webextension_xml,
)
from tests.lite.conftest import AS_OF, lite_properties, parts

WE_NS = "http://schemas.microsoft.com/office/webextensions/webextension/2010/11"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
PREFIXES = {WE_NS: "we", A_NS: "a"}
WE, A = f"{{{WE_NS}}}", f"{{{A_NS}}}"

# The element tree of the Excel-saved part: (element, attribute names, children) with the
# repeated children shown once. Element names, order and attributes as Excel writes them.
REFERENCE = ("we:reference", ("id", "store", "storeType", "version"), ())
FUNCTION_IDS = ("we:customFunctionIdList", (), (("we:customFunctionIds", (), ()),))
EXCEL_SAVED = (
    "we:webextension",
    ("id",),
    (
        REFERENCE,
        ("we:alternateReferences", (), (REFERENCE,)),
        ("we:properties", (), (("we:property", ("name", "value"), ()),)),
        ("we:bindings", (), ()),
        ("we:snapshot", (), ()),
        (
            "we:extLst",
            (),
            (
                ("a:ext", ("uri",), (("we:containsCustomFunctions", ("val",), ()),)),
                ("a:ext", ("uri",), (FUNCTION_IDS,)),
            ),
        ),
    ),
)
PROPERTY_ORDER = ["main.py", "pyodideVersion", "addinVersion", "requirements.txt"]
EXT_URIS = ["{D87F86FE-615C-45B5-9D79-34F1136793EB}", "{7C84B067-C214-45C3-A712-C9D94CD141B2}"]
CONTAINS_VAL = "1"
# The newest public Excel-saved workbooks (January 2026) carry these versions.
NEWEST_PYODIDE, NEWEST_ADDIN = "0.27.5", "1.0.0.0-18"


def _name(tag: str) -> str:
    uri, _, local = tag[1:].partition("}")
    return f"{PREFIXES[uri]}:{local}"


def shape(element) -> tuple[object, ...]:
    """An element's name, sorted attribute names and children, repeated children once."""
    children: list[tuple[object, ...]] = []
    for child in element:
        item = shape(child)
        if not children or children[-1] != item:
            children.append(item)
    return (_name(element.tag), tuple(sorted(element.attrib)), tuple(children))


def part_of(path: Path):
    return ElementTree.fromstring(parts(path)[WEBEXTENSION_PART])


def test_the_part_has_the_excel_saved_structure(lite_book):
    assert shape(part_of(lite_book)) == EXCEL_SAVED


def test_properties_in_excels_order_with_the_newest_versions(lite_book):
    root = part_of(lite_book)
    names = [p.get("name") for p in root.iter(f"{WE}property")]
    assert names == PROPERTY_ORDER
    properties = lite_properties(lite_book)
    assert properties["pyodideVersion"] == PYODIDE_VERSION == NEWEST_PYODIDE
    assert properties["addinVersion"] == ADDIN_VERSION == NEWEST_ADDIN
    # Stored as JSON strings, like the code.
    raw = parts(lite_book)[WEBEXTENSION_PART].decode("utf-8")
    assert f'name="addinVersion" value="&quot;{NEWEST_ADDIN}&quot;"' in raw


def test_extension_list_names_every_function_the_cells_call(lite_book, tmp_path):
    exts = part_of(lite_book).findall(f"{WE}extLst/{A}ext")
    assert [e.get("uri") for e in exts] == EXT_URIS
    contains = exts[0].find(f"{WE}containsCustomFunctions")
    assert contains is not None
    assert contains.get("val") == CONTAINS_VAL
    listed = [e.text for e in exts[1].iter(f"{WE}customFunctionIds")]
    # A second witness: the calls of the classic workbook of the same data, with Excel's
    # add-in prefix; the list is sorted as Excel sorts it.
    classic = new_workbook(
        tmp_path / "same.xlsm", company="X", sample=300, empty=False, as_of=AS_OF
    )
    sheets = parts(classic)
    called = {
        f"_xldudf_{name}"
        for part, data in sheets.items()
        if part.startswith("xl/worksheets/")
        for name in re.findall(r"(?<![A-Za-z0-9_.])(PIPE_[A-Z_]+)\(", data.decode("utf-8"))
    }
    assert listed == sorted(called)
    assert "_xldudf_PIPE_FORECAST_RANGE" in listed  # called inside INDEX(...)
    assert len(listed) >= 10


def test_function_ids_come_from_cells_and_names():
    sheet = b'<c r="A1"><f>1+_xldudf_PIPE_B(A2)+_xldudf_PIPE_A(A3)+X_xldudf_NOT(1)</f></c>'
    workbook = b"<definedName name='n'>_xldudf_PIPE_C(1)</definedName>"
    found = custom_function_ids(
        {
            "xl/worksheets/sheet1.xml": sheet,
            "xl/workbook.xml": workbook,
            "xl/sharedStrings.xml": b"<t>_xldudf_PIPE_TEXT(1)</t>",
        }
    )
    assert found == ["_xldudf_PIPE_A", "_xldudf_PIPE_B", "_xldudf_PIPE_C"]


def test_a_workbook_without_functions_gets_the_empty_list_excel_writes():
    xml = webextension_xml("x = 1\n", "numpy", extension_id=uuid.UUID(int=1)).decode("utf-8")
    assert xml.endswith(
        "<we:extLst>"
        f'<a:ext xmlns:a="{A_NS}" uri="{EXT_URIS[0]}"><we:containsCustomFunctions/></a:ext>'
        f'<a:ext xmlns:a="{A_NS}" uri="{EXT_URIS[1]}">'
        "<we:customFunctionIdList/></a:ext>"
        "</we:extLst></we:webextension>"
    )
