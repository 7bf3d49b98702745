"""Reading the workbook's tables with calamine, by table name or by sheet."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.workbook.spec import table_by_name
from tests.io.workbooks import AS_OF, new_sample

# Restated on purpose: the reader must find each table under these names.
TABLE_NAMES = {
    "Prospects": "tblProspects",
    "Stages": "tblStages",
    "Targets": "tblTargets",
    "Activities": "tblActivities",
    "Snapshots": "tblSnapshots",
    "Settings": "tblSettings",
    "Forecast calls": "tblCalls",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_sample(tmp_path_factory.mktemp("reader") / "acme.xlsm", n=120)


def _plain_book(path: Path) -> Path:
    """Sheets without Excel tables: a title above the Prospects header, data from column B."""
    wb = xlsxwriter.Workbook(str(path))
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("Prospects")
    ws.write_string(0, 1, "Our deals")  # B1: a title row, then a blank row
    for j, h in enumerate(["ID", "Stage", "Amount", "Expected close", "Owner"]):
        ws.write_string(2, 1 + j, h)
    rows = [
        ("D1", "Lead", 1000.0, datetime(2026, 4, 1), "Ann"),
        ("D2", "Proposal", "lots", datetime(2026, 4, 2), "Bob"),  # unreadable amount
        ("D3", "Won", 500.0, datetime(2026, 3, 1), "Ann"),
    ]
    for i, (deal, stage, amount, close, owner) in enumerate(rows):
        r = 3 + i
        ws.write_string(r, 1, deal)
        ws.write_string(r, 2, stage)
        if isinstance(amount, str):
            ws.write_string(r, 3, amount)
        else:
            ws.write_number(r, 3, amount)
        ws.write_datetime(r, 4, close, day)
        ws.write_string(r, 5, owner)
    ws.write_formula(6, 1, "=NA()", None, "#N/A")  # an error value in the ID column
    ws.write_string(6, 2, "Lead")
    ws.write_number(6, 3, 10.0)
    settings = wb.add_worksheet("Settings")
    settings.write_row(0, 0, ["Setting", "Value"])
    settings.write_string(1, 0, "As-of date")
    settings.write_datetime(1, 1, datetime(2026, 3, 15), day)
    settings.write_row(2, 0, ["Currency", "USD"])
    wb.close()
    return path


class TestTables:
    def test_every_known_table_is_read(self, sample):
        raw = read_workbook(sample)
        assert set(raw.tables) == set(TABLE_NAMES)
        assert dict(raw.sources) == TABLE_NAMES
        for logical, table in TABLE_NAMES.items():
            assert raw.table(logical)[0] == list(table_by_name(table).headers)
            assert raw.header_rows[logical] == 1
        assert len(raw.table("Prospects")) == 121

    def test_values_are_calamine_values(self, sample):
        rows = read_workbook(sample).table("Prospects")
        header = rows[0]
        first = dict(zip(header, rows[1], strict=True))
        assert isinstance(first["ID"], str)
        assert isinstance(first["Amount"], float)
        assert isinstance(first["Created"], date)
        cells = [v for row in rows[1:] for v in row]
        assert None in cells
        assert "" not in cells

    def test_settings_mapping(self, sample):
        raw = read_workbook(sample)
        assert raw.settings["As-of date"] == AS_OF
        assert raw.settings["Currency"] == "EUR"

    def test_validation_accepts_it(self, sample):
        model = read_workbook(sample).validate()
        assert len(model.prospects) == 120
        assert model.settings.as_of == AS_OF
        assert (model.issues["severity"] == "error").sum() == 0

    def test_bytes_and_paths_agree(self, sample):
        a, b = read_workbook(sample), read_workbook(sample.read_bytes(), name="acme.xlsm")
        assert dict(a.tables) == dict(b.tables)


class TestSheetsWithoutTables:
    def test_header_row_and_issue_rows(self, tmp_path):
        raw = read_workbook(_plain_book(tmp_path / "plain.xlsx"))
        assert raw.sources["Prospects"] == "sheet Prospects"
        assert raw.header_rows["Prospects"] == 3
        assert raw.settings == {"As-of date": date(2026, 3, 15), "Currency": "USD"}
        model = raw.validate()
        assert model.settings.currency == "USD"
        issues = model.issues.set_index("row")
        assert issues.loc[5, "column"] == "Amount"  # "lots" sits in Excel row 5
        assert issues.loc[5, "severity"] == "error"
        # The error value in B7 is read from the sheet XML (calamine gives an empty cell).
        found = issues.loc[[7]].query("column == 'ID'")
        assert found["problem"].iloc[0] == "Excel error #N/A"
        assert found["value"].iloc[0] == "#N/A"
        assert found["severity"].iloc[0] == "error"  # unreadable in a required column
        assert sorted(model.prospects["row"]) == [4, 6]

    def test_no_prospects(self, tmp_path):
        path = tmp_path / "empty.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        wb.add_worksheet("Notes").write_string(0, 0, "nothing here")
        wb.close()
        raw = read_workbook(path)
        assert raw.tables == {}
        with pytest.raises(InputError, match="has no Prospects table"):
            raw.validate(as_of=AS_OF)

    def test_not_a_workbook(self, tmp_path):
        path = tmp_path / "fake.xlsx"
        path.write_bytes(b"not a zip")
        with pytest.raises(InputError, match="not an Excel workbook"):
            read_workbook(path)
