"""The Lite workbook as a package: parts, relationships, content types, openers."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from defusedxml import ElementTree

from pipeline_xl.core.errors import InputError
from pipeline_xl.io import libreoffice
from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook.builder import build_workbook, workbook_bytes
from pipeline_xl.workbook.lite import (
    CONTENT_TYPES,
    LITE_STORE_ID,
    TASKPANES_PART,
    TASKPANES_REL,
    WEBEXTENSION_PART,
    WEBEXTENSION_REL,
    add_lite_parts,
    build_lite_workbook,
    refresh_button,
)
from pipeline_xl.workbook.lite_bundle import build_main_py, requirements_txt
from tests.lite.conftest import AS_OF, COMPANY, lite_properties, parts
from tests.workbook.handmade import hand_tables

CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
WE = "{http://schemas.microsoft.com/office/webextensions/webextension/2010/11}"
WETP = "{http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
LITE_PARTS = {WEBEXTENSION_PART, TASKPANES_PART, "xl/webextensions/_rels/taskpanes.xml.rels"}


def _rels(xml: bytes) -> dict[str, tuple[str, str]]:
    root = ElementTree.fromstring(xml)
    return {r.get("Id", ""): (r.get("Type", ""), r.get("Target", "")) for r in root}


class TestParts:
    def test_lite_parts_are_present(self, lite_book):
        found = set(parts(lite_book))
        assert found >= LITE_PARTS
        assert "xl/vbaProject.bin" not in found
        assert not any("xlwings.conf" in name for name in found)

    def test_content_types_override_both_parts(self, lite_book):
        types = ElementTree.fromstring(parts(lite_book)["[Content_Types].xml"])
        overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{CT}Override")}
        assert overrides["/xl/webextensions/webextension1.xml"] == (
            "application/vnd.ms-office.webextension+xml"
        )
        assert overrides["/xl/webextensions/taskpanes.xml"] == (
            "application/vnd.ms-office.webextensiontaskpanes+xml"
        )
        assert {f"/{p}" for p in CONTENT_TYPES} <= set(overrides)
        workbook_type = overrides["/xl/workbook.xml"]
        assert workbook_type.endswith("sheet.main+xml")  # a plain .xlsx, not macro-enabled

    def test_relationship_chain_reaches_the_web_extension(self, lite_book):
        package = parts(lite_book)
        root = _rels(package["_rels/.rels"])
        assert len(root) == len(set(root)), "relationship ids are unique"
        panes = [target for kind, target in root.values() if kind == TASKPANES_REL]
        assert panes == [TASKPANES_PART]
        taskpanes = ElementTree.fromstring(package[TASKPANES_PART])
        pane = taskpanes.find(f"{WETP}taskpane")
        assert pane is not None
        assert pane.get("visibility") == "1"  # opens with the workbook: Lite starts
        assert pane.get("dockstate") == "right"
        ref = pane.find(f"{WETP}webextensionref")
        assert ref is not None
        pane_rels = _rels(package["xl/webextensions/_rels/taskpanes.xml.rels"])
        kind, target = pane_rels[ref.get(R_ID, "")]
        assert kind == WEBEXTENSION_REL
        assert f"xl/webextensions/{target}" == WEBEXTENSION_PART

    def test_web_extension_references_xlwings_lite(self, lite_book):
        extension = ElementTree.fromstring(parts(lite_book)[WEBEXTENSION_PART])
        assert extension.get("id", "").startswith("{")
        reference = extension.find(f"{WE}reference")
        assert reference is not None
        assert reference.get("id", "").upper() == LITE_STORE_ID
        assert reference.get("storeType") == "OMEX"
        alternates = extension.findall(f"{WE}alternateReferences/{WE}reference")
        assert [a.get("store") for a in alternates] == [LITE_STORE_ID]
        names = [p.get("name") for p in extension.iter(f"{WE}property")]
        assert names == ["main.py", "pyodideVersion", "addinVersion", "requirements.txt"]

    def test_properties_are_json_strings_that_decode(self, lite_book, main_py):
        properties = lite_properties(lite_book)
        assert main_py == build_main_py(button=refresh_button())
        compile(main_py, "main.py", "exec")
        assert properties["requirements.txt"] == requirements_txt()

    def test_requirements_in_lites_form(self):
        from importlib.metadata import version

        # Lite lists xlwings pinned, then its own packages, each marked "# required", then
        # the workbook's own; numpy and pandas come with its Pyodide and stay unpinned.
        assert requirements_txt().split("\n") == [
            f"xlwings=={version('xlwings')}  # required",
            "python-dotenv==1.1.1  # required",
            "pyodide-http  # required",
            "black  # required",
            "numpy",
            "pandas",
        ]
        assert requirements_txt("0.33.15").startswith("xlwings==0.33.15  # required\n")


class TestPackageEditing:
    @pytest.fixture(scope="class")
    @classmethod
    def plain(cls, tmp_path_factory) -> bytes:
        path = tmp_path_factory.mktemp("plain") / "plain.xlsx"
        build_workbook(path, company="X", tables=hand_tables(), as_of=AS_OF, lite=True)
        return path.read_bytes()

    def test_the_package_in_memory_is_the_file_the_builder_writes(self, plain):
        made = workbook_bytes(company="X", tables=hand_tables(), as_of=AS_OF)
        assert made == plain

    def test_existing_parts_are_copied_byte_for_byte(self, plain):
        before = _zip_parts(plain)
        after = _zip_parts(add_lite_parts(plain, main_py="x = 1\n", requirements="numpy\n"))
        assert set(after) == set(before) | LITE_PARTS
        changed = {n for n in before if before[n] != after[n]}
        assert changed == {"[Content_Types].xml", "_rels/.rels"}
        # The two changed parts are the old bytes with one insertion each.
        for name in changed:
            old, new = before[name], after[name]
            cut = next(i for i in range(len(old)) if old[i] != new[i])
            tail = len(old) - cut
            assert new[:cut] == old[:cut]
            assert new[len(new) - tail :] == old[cut:]

    def test_zip_entries_keep_their_order_and_compression(self, plain):
        with zipfile.ZipFile(io.BytesIO(plain)) as z:
            before = [(e.filename, e.compress_type) for e in z.infolist()]
        out = add_lite_parts(plain, main_py="x = 1\n", requirements="numpy\n")
        with zipfile.ZipFile(io.BytesIO(out)) as z:
            after = [(e.filename, e.compress_type) for e in z.infolist()]
        assert after[: len(before)] == before
        assert [name for name, _ in after[len(before) :]] == [
            WEBEXTENSION_PART,
            TASKPANES_PART,
            "xl/webextensions/_rels/taskpanes.xml.rels",
        ]

    def test_adding_twice_is_refused(self, plain):
        once = add_lite_parts(plain, main_py="x = 1\n", requirements="numpy\n")
        with pytest.raises(ValueError, match="already holds web extensions"):
            add_lite_parts(once, main_py="x = 1\n", requirements="numpy\n")

    def test_property_values_survive_xml_special_characters(self, plain):
        code = 'text = "<a & b>" + \'q\' + "\\n"\n'
        out = add_lite_parts(plain, main_py=code, requirements="xlwings<1.0\n")
        extension = ElementTree.fromstring(_zip_parts(out)[WEBEXTENSION_PART])
        values = {p.get("name"): p.get("value", "") for p in extension.iter(f"{WE}property")}
        assert json.loads(values["main.py"]) == code
        assert json.loads(values["requirements.txt"]) == "xlwings<1.0\n"

    def test_same_inputs_give_the_same_extension(self, plain):
        first = _zip_parts(add_lite_parts(plain, main_py="x = 1\n", requirements="numpy\n"))
        second = _zip_parts(add_lite_parts(plain, main_py="x = 1\n", requirements="numpy\n"))
        other = _zip_parts(add_lite_parts(plain, main_py="x = 2\n", requirements="numpy\n"))
        assert first[WEBEXTENSION_PART] == second[WEBEXTENSION_PART]
        ident = ElementTree.fromstring(first[WEBEXTENSION_PART]).get("id")
        assert ident != ElementTree.fromstring(other[WEBEXTENSION_PART]).get("id")


def _zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


class TestBuild:
    def test_opens_in_openpyxl_with_the_data(self, lite_book):
        book = openpyxl.load_workbook(lite_book)
        assert book.sheetnames == [
            "Dashboard",
            "Prospects",
            "Stages",
            "Targets",
            "Activities",
            "Settings",
            "Snapshots",
            "Forecast calls",
        ]
        prospects = book["Prospects"]
        assert "tblProspects" in prospects.tables
        assert prospects.max_row == 300 + 1
        assert book["Dashboard"]["A1"].value == f"{COMPANY}: sales pipeline"

    def test_wrong_suffix_is_refused(self, tmp_path):
        with pytest.raises(InputError, match=r"\.xlsx"):
            build_lite_workbook(tmp_path / "x.xlsm", company="X", tables=hand_tables(), as_of=AS_OF)

    def test_sample_and_empty_together_are_refused(self, tmp_path):
        with pytest.raises(InputError, match="either a sample or an empty"):
            new_workbook(
                tmp_path / "x.xlsx", company="X", sample=10, empty=True, as_of=AS_OF, lite=True
            )

    def test_replaces_an_existing_file_and_leaves_no_temporary_files(self, tmp_path):
        target = tmp_path / "client.xlsx"
        target.write_bytes(b"old")
        new_workbook(
            target,
            company="X",
            sample=None,
            currency="usd",
            fiscal_start=4,
            as_of=AS_OF,
            lite=True,
            replace=True,
        )
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == [".client.xlsx.lock", "client.xlsx", "client.xlsx.bak"]
        assert (tmp_path / "client.xlsx.bak").read_bytes() == b"old"
        assert zipfile.is_zipfile(target)
        settings = openpyxl.load_workbook(target)["Settings"]
        values = {r[0].value: r[1].value for r in settings.iter_rows(min_row=2, max_col=2)}
        assert values["Currency"] == "USD"
        assert values["Fiscal year start month"] == 4

    def test_a_failed_build_leaves_the_old_file(self, tmp_path):
        target = tmp_path / "client.xlsx"
        target.write_bytes(b"old")
        bad = dict(hand_tables())
        bad["Stages"] = pd.DataFrame({"Stage": ["Lead", "Lost"], "Status": ["Open", "Lost"]})
        with pytest.raises(InputError):
            build_lite_workbook(target, company="X", tables=bad, as_of=AS_OF)
        assert target.read_bytes() == b"old"
        assert [p.name for p in tmp_path.iterdir()] == ["client.xlsx"]


try:
    import openxml_audit as audit
except ImportError:  # pragma: no cover - depends on the environment
    audit = None


@pytest.mark.skipif(audit is None, reason="openxml-audit is not installed")
@pytest.mark.parametrize(
    ("file_format", "security"),
    [("OFFICE_2016", False), ("MICROSOFT_365", True)],
    ids=["office-2016", "microsoft-365-security"],
)
def test_openxml_audit_reports_nothing(lite_book: Path, file_format: str, security: bool):
    # The security pass would flag macros; a Lite workbook has none, and its add-in
    # reference is not active content.
    assert audit is not None
    fmt = getattr(audit.FileFormat, file_format)
    result = audit.OpenXmlValidator(file_format=fmt, security_validation=security).validate(
        str(lite_book)
    )
    assert [f"{e.part_uri}: {e.description}" for e in result.errors] == []
    assert audit.predict(result).prediction == audit.AppPrediction.OPENS_CLEAN


@pytest.mark.libreoffice
@pytest.mark.usefixtures("lo")
def test_opens_in_libreoffice(lite_book: Path, tmp_path: Path):
    saved = tmp_path / "saved.xlsx"
    cells = libreoffice.cell_values(
        lite_book, ["Dashboard!A1:A1", "Prospects!A1:C2"], recalc=False, out=saved
    )
    assert cells["Dashboard"]["A1"]["text"] == f"{COMPANY}: sales pipeline"
    assert cells["Prospects"]["A1"]["text"] == "ID"
    assert cells["Prospects"]["A2"]["text"] == "P0001"
    assert zipfile.is_zipfile(saved)


def test_dashboard_calls_use_the_add_in_prefix(lite_book: Path, tmp_path: Path):
    """A file stores an Office add-in's custom function as _xldudf_NAME (Lite's included)."""
    import re
    from datetime import date

    def formulas(path: Path) -> list[str]:
        with zipfile.ZipFile(path) as package:
            sheet = package.read("xl/worksheets/sheet1.xml").decode("utf-8")
        return re.findall(r"<f[^>]*>([^<]*)</f>", sheet)

    lite = [f for f in formulas(lite_book) if "PIPE_" in f]
    assert lite
    assert all(re.search(r"(?<![A-Za-z_])PIPE_", f) is None for f in lite)
    assert all("_xldudf_PIPE_" in f for f in lite)
    classic = new_workbook(
        tmp_path / "c.xlsm", company="Acme", sample=None, as_of=date(2026, 11, 30)
    )
    assert any("PIPE_" in f for f in formulas(classic))
    assert not any("_xldudf_" in f for f in formulas(classic))
