"""The as-of date is explicit: Settings holds it, blank means the day of each refresh."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from pipeline_xl.cli.main import main
from pipeline_xl.core import contract
from pipeline_xl.core.excel import serial_date
from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.udfs import PIPE_WON
from pipeline_xl.usecases.metrics import metrics_of
from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.usecases.refresh import refresh_file

BUILT = date(2026, 11, 30)
LATER = date(2026, 12, 14)


def _dashboard(path: Path) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Dashboard").to_python()


def _refresh_as_of(path: Path) -> date | None:
    formula = Package(path.read_bytes()).workbook_name("RefreshAsOf")
    return None if formula is None else serial_date(float(formula))


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("asof")
    return new_workbook(folder / "acme.xlsm", company="Acme", sample=300, today=BUILT)


class TestNew:
    def test_the_settings_as_of_date_stays_blank_without_as_of(self, book):
        assert read_workbook(book).setting("as_of") in (None, "")
        assert _refresh_as_of(book) == BUILT

    def test_the_dashboard_is_as_of_the_build_day(self, book):
        rows = _dashboard(book)
        assert str(rows[1][0]).startswith("As of 2026-11-30")
        assert rows[5][1:3] == ["2026-11", "2026-Q4"]

    def test_an_explicit_as_of_is_written_into_settings(self, tmp_path):
        path = new_workbook(
            tmp_path / "pinned.xlsm", company="Acme", sample=None, as_of=BUILT, today=LATER
        )
        assert read_workbook(path).as_of() == BUILT


@pytest.fixture(scope="module")
def later(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("later") / "acme.xlsm"
    copy.write_bytes(book.read_bytes())
    refresh_file(copy, today=LATER)
    return copy


class TestRefresh:
    def test_a_blank_settings_date_means_the_day_of_the_refresh(self, later):
        assert _refresh_as_of(later) == LATER
        rows = _dashboard(later)
        assert str(rows[1][0]).startswith("As of 2026-12-14")
        assert rows[5][1:3] == ["2026-12", "2026-Q4"]

    def test_dashboard_values_are_the_functions_on_the_refresh_date(self, later):
        raw = read_workbook(later)
        tables = dict(raw.tables)
        rows = _dashboard(later)
        tail = (
            LATER,
            tables["Stages"],
            tables["Activities"],
            tables["Settings"],
            tables["Snapshots"],
        )
        won = PIPE_WON(tables["Prospects"], "2026-12", None, *tail)
        assert rows[8][1] == pytest.approx(won)

    def test_metrics_of_the_workbook_follow_its_last_refresh(self, later):
        assert metrics_of(later, today=date(2027, 6, 1)).metrics.as_of == LATER

    def test_an_explicit_refresh_as_of_is_kept_in_the_summary(self, book, tmp_path):
        copy = tmp_path / "acme.xlsm"
        copy.write_bytes(book.read_bytes())
        result = refresh_file(copy, as_of=date(2026, 12, 1), today=LATER)
        assert result.as_of == date(2026, 12, 1)
        with zipfile.ZipFile(copy) as package:
            assert b"RefreshAsOf" in package.read("xl/workbook.xml")


def test_a_new_empty_workbook_refreshes_and_shows_no_error_text(tmp_path):
    book = tmp_path / "New.xlsm"
    assert main(["new", str(book), "--as-of", "2026-12-08"]) == 0
    assert main(["refresh", str(book)]) == 0
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name(contract.DASHBOARD).to_python()
    assert rows[0][0] == "Sales team: sales pipeline"
    texts = [c for row in rows[4:] for c in row[1:4] if isinstance(c, str) and "PIPE_" in c]
    assert texts == []  # zeros and #N/A, never a message in a figure's cell
