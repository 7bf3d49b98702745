"""The built workbook's package: sheets, tables, lists, names, panes, VBA, buttons, cells."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook import dashboard_spec, spec
from pipeline_xl.workbook.builder import (
    _MODULE_MARKER,
    build_workbook,
    module_name,
    write_module,
)
from pipeline_xl.workbook.vba import quickstart_vba
from tests.workbook import xlsx_parts as xp
from tests.workbook.handmade import AS_OF, HYPERLINK, hand_tables

# The sheet order, restated on purpose: a second witness of the contract's.
SHEETS = [
    "Dashboard",
    "Prospects",
    "Stages",
    "Targets",
    "Activities",
    "Settings",
    "Snapshots",
    "Forecast calls",
    "xlwings.conf",
]


@pytest.fixture(scope="module")
def book(hand_book: Path) -> xp.Book:
    return xp.open_book(hand_book)


class TestSheetsAndTables:
    def test_sheet_order(self, book):
        assert [s.name for s in book.sheets] == SHEETS == list(contract.WORKBOOK_SHEETS)

    def test_tables_and_columns(self, book):
        found = xp.tables(book)
        for table in spec.TABLES:
            assert found[table.name]["sheet"] == table.sheet
            assert found[table.name]["columns"] == list(table.headers)
        # 11 prospects + header -> A1:O12; owners Alice, Bob (Prospects) and Carla (Activities).
        assert found["tblProspects"]["ref"] == "A1:O12"
        assert found["tblOwners"]["ref"] == "D1:D4"

    def test_owner_list_is_sorted_and_unique(self, hand_book):
        rows = CalamineWorkbook.from_path(str(hand_book)).get_sheet_by_name("Settings").to_python()
        assert [r[3] for r in rows[:4]] == ["Owner", "Alice Smith", "Bob Jones", "Carla Diaz"]

    def test_freeze_panes(self, book):
        prospects = xp.pane(book.sheet("Prospects"))
        assert prospects["ySplit"] == "1"
        assert prospects["xSplit"] == "2"
        for name in ("Stages", "Targets", "Activities", "Settings", "Snapshots"):
            p = xp.pane(book.sheet(name))
            assert p is not None
            assert p["ySplit"] == "1"
            assert p["state"] == "frozen"

    def test_defined_names(self, book):
        assert book.names["StageList"] == "tblStages[Stage]"
        assert book.names["OwnerList"] == "tblOwners[Owner]"
        assert book.names["ActivityList"] == "tblStages[Activity]"
        assert "As-of date" in book.names["AsOfDate"]
        assert set(dashboard_spec.DEFINED_NAMES) <= set(book.names)

    def test_validations(self, book):
        dvs = {d["sqref"]: d for d in xp.validations(book.sheet("Prospects"))}
        assert dvs["F2:F12"]["formula1"] == "StageList"  # Stage
        assert dvs["O2:O12"]["formula1"] == "StageList"  # Stage reached
        assert dvs["D2:D12"]["formula1"] == "OwnerList"
        assert dvs["D2:D12"]["errorStyle"] == "warning"
        assert dvs["K2:K12"]["formula1"] == '"Open,Won,Lost"'
        assert dvs["J2:J12"]["formula1"] == '"Commit,Best case,Pipeline,Omitted"'
        stages = {d["sqref"]: d for d in xp.validations(book.sheet("Stages"))}
        assert stages["F2:F7"]["formula1"] == '"Open,Won,Lost"'
        activities = {d["sqref"]: d for d in xp.validations(book.sheet("Activities"))}
        assert activities["C2:C3"]["formula1"] == "ActivityList"
        settings = {d["sqref"]: d for d in xp.validations(book.sheet("Settings"))}
        assert settings["B3"]["type"] == "whole"  # fiscal year start month 1-12
        assert settings["B4"]["formula1"] == '"Month,Quarter"'
        dash = {d["sqref"]: d for d in xp.validations(book.sheet("Dashboard"))}
        assert dash["B7:C7"]["formula1"] == "OwnerList"

    def test_stages_are_written_open_first(self, tmp_path):
        tables = hand_tables()
        tables["Stages"] = pd.DataFrame(
            {
                "Stage": ["Won", "Lead", "Lost", "Demo"],
                "Activity": ["Order", "Call", None, "Demo"],
                "Probability": [1.0, 0.1, 0.0, 0.4],
                "Conversion": [None, 0.3, None, 0.5],
            }
        )
        tables["Prospects"] = tables["Prospects"].assign(Stage="Lead")
        path = build_workbook(tmp_path / "order.xlsm", company="X", tables=tables, as_of=AS_OF)
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Stages").to_python()
        assert [r[0] for r in rows[1:]] == ["Lead", "Demo", "Won", "Lost"]
        dash = xp.cells(xp.open_book(path).sheet("Dashboard"))
        # Two open stages: plan rows 28-29 and deals on row 30.
        assert dash["A28"]["v"] is not None
        assert dash["H30"]["f"] == "ROUNDUP(ROUND(H$14/H$13,9),0)"
        assert dash["H29"]["f"] == "ROUNDUP(ROUND(H30/$G29,9),0)"


class TestTextSafety:
    def test_formula_like_text_stays_text(self, book):
        sheet = book.sheet("Prospects")
        cells = xp.cells(sheet)
        strings = xp.shared_strings(book)
        xfs = xp.cell_xfs(book)
        name_p9 = cells["B10"]
        assert name_p9["f"] is None
        assert name_p9["t"] == "s"
        assert strings[int(name_p9["v"])] == HYPERLINK
        for ref in ("B10", "B11", "C11", "B12"):  # =HYPERLINK..., +33..., -Minus Corp, @Kay
            assert xfs[cells[ref]["s"]].get("quotePrefix") == "1", ref
        assert xfs[cells["B2"]["s"]].get("quotePrefix") is None  # plain names: no prefix

    def test_messy_amount_is_written_as_text(self, book):
        cells = xp.cells(book.sheet("Prospects"))
        assert cells["G12"]["t"] == "s"
        assert cells["G12"]["f"] is None

    def test_company_name_is_escaped_in_title(self, hand_book):
        rows = CalamineWorkbook.from_path(str(hand_book)).get_sheet_by_name("Dashboard").to_python()
        assert rows[0][0] == "Acme & Co <Test>: sales pipeline"


class TestVbaAndButtons:
    def test_vba_project_and_content_type(self, book):
        assert "xl/vbaProject.bin" in book.zf.namelist()
        types = xp.content_types(book)
        assert types["/xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        assert types["*.bin"] == "application/vnd.ms-office.vbaProject"
        assert book.zf.read("xl/vbaProject.bin") == quickstart_vba().project

    def test_codenames_mirror_the_quickstart(self, book):
        q = quickstart_vba()
        pr = book.workbook.find("m:workbookPr", xp.NS)
        assert pr.get("codeName") == q.workbook_codename == "ThisWorkbook"
        codes = {s.name: xp.codename(s) for s in book.sheets}
        assert codes["Dashboard"] == q.first_sheet_codename == "Sheet1"
        assert codes["xlwings.conf"] == q.conf_sheet_codename == "Sheet2"
        assert len(set(codes.values())) == len(codes)
        assert all(c and c.startswith("Sheet") for c in codes.values())

    def test_quickstart_project_has_the_macros(self):
        project = quickstart_vba().project
        # The PROJECT stream is plain text: it lists the modules the buttons rely on.
        assert b"Module=Module1" in project
        assert b"Module=xlwings" in project
        assert b"Document=ThisWorkbook/" in project
        assert b"Document=Sheet1/" in project
        assert b"Document=Sheet2/" in project

    def test_buttons_bound_to_macros(self, book):
        found = xp.buttons(book, book.sheet("Dashboard"))
        assert {(b["caption"], b["macro"]) for b in found} == {
            (
                "Refresh reports",
                """'RunPython "import pipeline_xl.button;pipeline_xl.button.refresh_caller()"'""",
            ),
            ("Import functions", "[0]!ImportPythonUDFs"),
            (
                "Add call",
                """'RunPython "import pipeline_xl.button;pipeline_xl.button.call_caller()"'""",
            ),
        }

    def test_conf_sheet_rows(self, hand_book):
        rows = (
            CalamineWorkbook.from_path(str(hand_book)).get_sheet_by_name("xlwings.conf").to_python()
        )
        conf = {r[0]: r[1] for r in rows[: len(spec.XLWINGS_CONF_ROWS)]}
        assert conf["UDF Modules"] == "acme_pipeline"
        assert conf["Interpreter_Win"] == "python"
        assert conf["Interpreter_Mac"] == ""
        assert conf["Debug UDFs"] is False
        # xlwings reads from A1 down to the first empty cell: the notes start lower.
        assert rows[len(spec.XLWINGS_CONF_ROWS)][0] == ""

    def test_conf_keys_match_the_quickstart(self):
        keys = [k for k, _ in quickstart_vba().conf_rows]
        assert keys == [k for k, _ in spec.XLWINGS_CONF_ROWS]


class TestDashboard:
    def test_pipe_formulas_reference_tables(self, book):
        cells = xp.cells(book.sheet("Dashboard"))
        # Every call ends with the as-of name and the other tables: the refresh's inputs.
        tail = "AsOfDate,tblStages[#All],tblActivities[#All],tblSettings[#All],tblSnapshots[#All]"
        assert cells["B9"]["f"] == f"PIPE_WON(tblProspects[#All],B$6,$B$7,{tail})"
        # The forecast of the default method: the method argument is left empty.
        assert cells["C11"]["f"] == f"PIPE_FORECAST(tblProspects[#All],C$6,$B$7,,{tail})"
        assert cells["B12"]["f"] == (f'PIPE_FORECAST(tblProspects[#All],B$6,$B$7,"commit",{tail})')
        assert cells["B14"]["f"] == (
            f"PIPE_GAP(tblProspects[#All],tblTargets[#All],B$6,$B$7,{tail})"
        )
        no_stages = tail.replace("tblStages[#All],", "")
        assert cells["B28"]["f"] == (
            "PIPE_REQUIRED($A28,tblProspects[#All],tblStages[#All],tblTargets[#All],B$6,$B$7,"
            f"{no_stages})"
        )
        assert cells["H33"]["f"] == "PIPE_REQUIRED_CALLS(H$10,H$13,$G$28:$G$31,H$11,H$12)"

    def test_range_cells_index_one_result_each(self, book):
        """P10 / P50 / P90 as plain INDEX formulas: no dynamic arrays needed."""
        cells = xp.cells(book.sheet("Dashboard"))
        for k, ref in enumerate(("B25", "C25", "D25"), start=1):
            assert cells[ref]["f"] == (
                f"INDEX(PIPE_FORECAST_RANGE(tblProspects[#All],$C$6,$B$7,,,AsOfDate,"
                f"tblStages[#All],tblActivities[#All],tblSettings[#All],tblSnapshots[#All]),1,{k})"
            )
            assert cells[ref].get("f_attrs", {}).get("t") != "array"

    def test_cached_values_are_stored(self, hand_book):
        rows = CalamineWorkbook.from_path(str(hand_book)).get_sheet_by_name("Dashboard").to_python()
        assert rows[8][1] == 100000.0  # B9 won.month, from `cached`
        assert rows[24][1:4] == [1.0, 2.0, 3.0]  # B25:D25 range.quarter.1-3
        # Plain formulas carry the values computed by the Python mirror (by hand above).
        assert rows[9][7] == 500000.0  # H10 target
        assert rows[27][7] == 240.0  # H28 calls for March
        assert rows[27][8] == 312.0  # I28 calls for Q1

    def test_periods_follow_the_as_of_date_and_take_a_typed_label(self, hand_book, book):
        rows = CalamineWorkbook.from_path(str(hand_book)).get_sheet_by_name("Dashboard").to_python()
        assert rows[5][1:3] == ["2026-03", "2026-Q1"]
        cells = xp.cells(book.sheet("Dashboard"))
        assert "AsOfDate" in cells["B6"]["f"]
        assert "AsOfDate" in cells["C6"]["f"]
        xf = xp.cell_xfs(book)[cells["B6"]["s"]]
        assert xf.get("numFmtId") == "49"  # "@": typing 2026-03 over it stays text

    def test_every_formula_cell_has_an_id(self):
        layout = dashboard_spec.dashboard_layout(
            ["Call", "Meeting", "Offer", "Negotiation"], "Order"
        )
        ids = layout.ids
        assert len(ids) == len(set(ids))
        cells = [layout.cell_of(i) for i in ids]
        assert len(cells) == len(set(cells))
        assert "won.month" in ids
        assert "required.4.quarter" in ids
        assert "native.required.0.h" in ids

    def test_fiscal_quarter_label(self, tmp_path):
        path = build_workbook(
            tmp_path / "fy.xlsm", company="X", tables=hand_tables(), as_of=AS_OF, fiscal_start=4
        )
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Dashboard").to_python()
        # Fiscal year starting in April: March 2026 is Q4 of FY2026; its start 2026-01-01.
        assert rows[5][1:3] == ["2026-03", "FY2026-Q4"]
        assert rows[6][8] == date(2026, 1, 1)  # I7 period start


class TestFormats:
    @pytest.mark.parametrize(
        ("currency", "expected"),
        [
            ("EUR", '#,##0 "€";-#,##0 "€"'),
            ("USD", '"$"#,##0;-"$"#,##0'),
            ("XYZ", '#,##0 "XYZ";-#,##0 "XYZ"'),
        ],
    )
    def test_currency_formats(self, currency, expected):
        assert spec.currency_format(currency) == expected

    def test_amount_and_date_formats(self, book):
        styles = book.xml("xl/styles.xml")
        formats = {n.get("numFmtId"): n.get("formatCode") for n in styles.iter(xp.M + "numFmt")}
        xfs = xp.cell_xfs(book)
        cells = xp.cells(book.sheet("Prospects"))
        # No symbol: the currency is a setting an import may change (the subtitle names it).
        assert formats[xfs[cells["G2"]["s"]]["numFmtId"]] == "#,##0;-#,##0"
        assert formats[xfs[cells["H2"]["s"]]["numFmtId"]] == "yyyy-mm-dd"
        assert formats[xfs[cells["I11"]["s"]]["numFmtId"]] == "0.0%"


class TestLiteAndErrors:
    def test_lite_has_no_vba(self, tmp_path):
        path = build_workbook(
            tmp_path / "lite.xlsx", company="X", tables=hand_tables(), as_of=AS_OF, lite=True
        )
        book = xp.open_book(path)
        assert "xl/vbaProject.bin" not in book.zf.namelist()
        assert [s.name for s in book.sheets] == SHEETS[:-1]
        assert xp.buttons(book, book.sheet("Dashboard")) == []

    @pytest.mark.parametrize(
        "name", ["my-book.xlsm", "2026.xlsm", "json.xlsm", "pipeline_xl.udfs.xlsm", "class.xlsm"]
    )
    def test_module_name_must_be_importable(self, name):
        with pytest.raises(InputError, match="expected letters, digits and _"):
            module_name(name)

    def test_wrong_suffix(self, tmp_path):
        with pytest.raises(InputError, match=r"\.xlsm"):
            build_workbook(tmp_path / "a.xlsx", company="X", tables={}, as_of=AS_OF)

    def test_missing_folder(self, tmp_path):
        with pytest.raises(InputError, match="folder does not exist"):
            build_workbook(tmp_path / "no" / "a.xlsm", company="X", tables={}, as_of=AS_OF)

    def test_failed_build_keeps_old_file(self, tmp_path, monkeypatch):
        path = build_workbook(tmp_path / "keep.xlsm", company="X", tables={}, as_of=AS_OF)
        before = path.read_bytes()

        def boom(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr("pipeline_xl.workbook.builder.write_dashboard", boom)
        with pytest.raises(RuntimeError, match="disk full"):
            build_workbook(path, company="Y", tables={}, as_of=AS_OF)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.xlsm"]

    def test_extra_and_renamed_columns(self, tmp_path):
        tables = hand_tables()
        tables["Prospects"] = tables["Prospects"].rename(
            columns={"Expected close": "expected CLOSE"}
        )
        tables["Prospects"]["Notes"] = "call back"
        path = build_workbook(tmp_path / "extra.xlsm", company="X", tables=tables, as_of=AS_OF)
        found = xp.tables(xp.open_book(path))
        assert found["tblProspects"]["columns"] == [
            *spec.table_by_name("tblProspects").headers,
            "Notes",
        ]


class TestNewWorkbook:
    def test_empty_workbook_and_module(self, tmp_path):
        path = new_workbook(
            tmp_path / "blank.xlsm",
            company="Acme",
            sample=None,
            empty=True,
            currency="USD",
            fiscal_start=1,
            as_of=AS_OF,
        )
        module = tmp_path / "blank.py"
        text = module.read_text(encoding="utf-8")
        assert text.startswith(_MODULE_MARKER)
        assert "from pipeline_xl.udfs import *" in text
        assert "refresh_caller()" in text
        compile(text, str(module), "exec")
        wb = CalamineWorkbook.from_path(str(path))
        assert xp.tables(xp.open_book(path))["tblProspects"]["ref"] == "A1:O2"  # one blank row
        stages = wb.get_sheet_by_name("Stages").to_python()
        assert [r[0] for r in stages[1:]] == [
            "Lead",
            "Qualified",
            "Proposal",
            "Negotiation",
            "Won",
            "Lost",
        ]
        settings = {r[0]: r[1] for r in wb.get_sheet_by_name("Settings").to_python()[1:] if r[0]}
        assert settings["Currency"] == "USD"
        assert settings["As-of date"] == date(2026, 3, 15)

    def test_sample_workbook(self, tmp_path):
        path = new_workbook(
            tmp_path / "demo.xlsm",
            company="Acme",
            sample=200,
            empty=False,
            currency="EUR",
            fiscal_start=1,
            as_of=AS_OF,
        )
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Prospects").to_python()
        assert len(rows) == 201

    def test_sample_and_empty_conflict(self, tmp_path):
        with pytest.raises(InputError, match="either a sample or an empty"):
            new_workbook(
                tmp_path / "x.xlsm",
                company="Acme",
                sample=10,
                empty=True,
                currency="EUR",
                fiscal_start=1,
                as_of=AS_OF,
            )

    def test_user_module_is_never_overwritten(self, tmp_path):
        mine = tmp_path / "book.py"
        mine.write_text("def main():\n    pass\n", encoding="utf-8")
        write_module(tmp_path / "book.xlsm")
        assert mine.read_text(encoding="utf-8") == "def main():\n    pass\n"
        mine.write_text(_MODULE_MARKER + "\nold\n", encoding="utf-8")
        write_module(tmp_path / "book.xlsm")
        assert "refresh_caller" in mine.read_text(encoding="utf-8")


def test_zip_sizes_are_sane(hand_book):
    with zipfile.ZipFile(hand_book) as zf:
        assert sum(i.file_size for i in zf.infolist()) < 5_000_000
