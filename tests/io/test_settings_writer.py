"""Text settings written into tblSettings: one cell rewritten in place, new settings appended."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter

from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.settings import write_settings
from pipeline_xl.io.tables import find_table


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> bytes:
    """A new empty workbook's bytes."""
    from pipeline_xl.usecases.new import new_workbook

    folder = tmp_path_factory.mktemp("settings")
    path = new_workbook(folder / "b.xlsm", company="Co", sample=None, as_of=date(2026, 3, 31))
    return path.read_bytes()


def settings_xml(package: Package) -> str:
    return package.part(find_table(package, "tblSettings").sheet_part).decode("utf-8")


def cell(xml: str, ref: str) -> str:
    found = re.search(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', xml)
    assert found is not None, ref
    return found.group(0)


def written(tmp_path: Path, package: Package) -> Path:
    path = tmp_path / "out.xlsm"
    path.write_bytes(package.to_bytes())
    return path


class TestWriteSettings:
    def test_a_present_setting_changes_its_value_cell_only(self, tmp_path, made):
        source = tmp_path / "b.xlsm"
        source.write_bytes(made)
        rows = read_workbook(source).table("Settings")
        package = Package.from_bytes(made)
        before = settings_xml(package)
        row = 1 + next(i for i, r in enumerate(rows) if r[0] == "Currency")
        old = cell(before, f"B{row}")
        write_settings(package, rows, {"currency": "USD"})
        after = settings_xml(package)
        new = cell(after, f"B{row}")
        style = re.search(r' s="\d+"', old)
        assert style is not None
        assert new == f'<c r="B{row}"{style.group(0)} t="inlineStr"><is><t>USD</t></is></c>'
        assert after == before.replace(old, new)  # every other byte of the sheet kept
        book = read_workbook(written(tmp_path, package))
        assert book.setting("currency") == "USD"
        assert book.settings == {**read_workbook(source).settings, "Currency": "USD"}

    def test_a_missing_setting_is_a_new_last_row(self, tmp_path, made):
        source = tmp_path / "b.xlsm"
        source.write_bytes(made)
        rows = read_workbook(source).table("Settings")
        assert rows is not None
        package = Package.from_bytes(made)
        table = find_table(package, "tblSettings")
        before = settings_xml(package)
        write_settings(package, rows, {"stage_map": "Engaging=Qualified"})
        grown = find_table(package, "tblSettings")
        assert grown.last_row == table.last_row + 1
        after = settings_xml(package)
        # Up to the new row, only the sheet's dimension changes (one row more).
        dimension = re.compile(r"<dimension [^>]*/>")
        start = f'<row r="{table.last_row + 1}"'
        assert dimension.sub("", after[: after.index(start)]) == dimension.sub(
            "", before[: before.index("</sheetData>")]
        )
        book = read_workbook(written(tmp_path, package))
        assert book.setting("stage_map") == "Engaging=Qualified"
        assert book.table("Settings")[:-1] == rows  # the rows above are as they were
        # Formula-like text stays text.
        package = Package.from_bytes(made)
        write_settings(package, rows, {"stage_map": "=Engaging=Lead"})
        assert read_workbook(written(tmp_path, package)).setting("stage_map") == "=Engaging=Lead"

    def test_a_workbook_without_the_table_is_refused(self, tmp_path):
        path = tmp_path / "plain.xlsx"
        with xlsxwriter.Workbook(path) as book:
            book.add_worksheet("Settings").write_row(0, 0, ["Setting", "Value"])
        with pytest.raises(KeyError):
            write_settings(Package.open(path), [["Setting", "Value"]], {"currency": "USD"})
