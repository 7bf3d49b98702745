"""The workbook in a real spreadsheet engine: LibreOffice 25.2 recalculates the plain formulas."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from pipeline_xl.core.planning import required_counts
from pipeline_xl.io import libreoffice
from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook.native import native_values
from pipeline_xl.workbook.prepare import prepare
from tests.workbook.handmade import AS_OF, hand_tables

pytestmark = [pytest.mark.libreoffice, pytest.mark.usefixtures("lo")]

DASHBOARD = "Dashboard!A1:M45"
NAME_ERROR = 525  # LibreOffice's code for #NAME?


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("recalc") / "recalculated.xlsx"


@pytest.fixture(scope="module")
def hand_cells(hand_book: Path, recalculated: Path):
    return libreoffice.cell_values(hand_book, [DASHBOARD], out=recalculated)["Dashboard"]


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample_co.xlsm"
    return new_workbook(
        path,
        company="Sample Co",
        sample=400,
        empty=False,
        currency="EUR",
        fiscal_start=4,
        as_of=AS_OF,
    )


def _mirror(tables, fiscal_start=1):
    prepared = prepare(tables, currency="EUR", fiscal_start=fiscal_start, as_of=AS_OF)
    values = native_values(
        prepared.layout, prepared.by_sheet, prepared.periods, refresh_as_of=AS_OF
    )
    return {n.cell: values[n.id] for n in prepared.layout.natives}


def _same(lo_cell, expected) -> bool:
    if isinstance(expected, str) and expected.startswith("#"):
        return lo_cell["error"] != 0
    if isinstance(expected, str):
        return lo_cell["text"] == expected
    return lo_cell["error"] == 0 and math.isclose(lo_cell["value"], expected, rel_tol=1e-9)


class TestRecalculation:
    @pytest.mark.parametrize("col", ["H", "I"])
    def test_native_plan_equals_required_counts(self, hand_cells, col):
        v = {ref: hand_cells[f"{col}{ref}"]["value"] for ref in (10, 11, 12, 13)}
        rates = [hand_cells[f"G{r}"]["value"] for r in range(28, 32)]
        expected = required_counts(v[10], v[13], rates, v[11], v[12])
        got = tuple(int(hand_cells[f"{col}{r}"]["value"]) for r in range(28, 33))
        assert got == expected

    def test_native_plan_by_hand(self, hand_cells):
        # March: gap 300,000 / 25,000 = 12 deals -> 15 -> 24 -> 60 -> 240 calls (see conftest).
        assert [hand_cells[f"H{r}"]["value"] for r in range(28, 33)] == [240, 60, 24, 15, 12]
        # Q1: gap 365,000 -> 15 deals -> 19 -> 31 -> 78 -> 312 calls.
        assert [hand_cells[f"I{r}"]["value"] for r in range(28, 33)] == [312, 78, 31, 19, 15]

    def test_stored_values_match_libreoffice(self, hand_cells):
        for ref, expected in _mirror(hand_tables()).items():
            assert _same(hand_cells[ref], expected), (ref, hand_cells[ref], expected)

    def test_python_functions_are_unknown_to_libreoffice(self, hand_cells):
        # LibreOffice has no PIPE_* functions: after a recalculation they show #NAME?.
        assert hand_cells["B9"]["error"] == NAME_ERROR
        assert hand_cells["B9"]["formula"].upper().startswith("=PIPE_WON(")

    def test_sample_workbook_with_fiscal_year(self, sample_book):
        cells = libreoffice.cell_values(sample_book, [DASHBOARD])["Dashboard"]
        assert cells["I6"]["text"] == "FY2026-Q4"
        from pipeline_xl.core.sample import generate

        tables = generate(400, as_of=AS_OF, company="Sample Co", fiscal_start_month=4).tables
        for ref, expected in _mirror(tables, fiscal_start=4).items():
            assert _same(cells[ref], expected), (ref, cells[ref], expected)

    def test_recalculated_copy_is_readable(self, hand_cells, recalculated):
        rows = CalamineWorkbook.from_path(str(recalculated)).get_sheet_by_name("Dashboard")
        assert rows.to_python()[27][7] == 240.0  # H28, saved by the same LibreOffice run

    def test_missing_file_is_a_clear_error(self, tmp_path):
        with pytest.raises(libreoffice.LibreOfficeError, match="no such file"):
            libreoffice.cell_values(tmp_path / "nope.xlsm", [DASHBOARD])


def test_render_pictures(sample_book, tmp_path):
    pngs = libreoffice.render(sample_book, tmp_path, ["Dashboard", "Prospects"])
    assert [p.name for p in pngs] == ["Dashboard.png", "Prospects.png"]
    for png in pngs:
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000
