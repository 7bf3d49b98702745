"""A refresh as of a past date: a view of the pipeline as it stood then, history untouched.

The witness is a copy of the workbook kept as it was on that date, built here with plain
pandas from the later workbook's own tables (the sample logs every deal at every month
end): refreshing the copy as of that date must give the same report sheets.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.sample import generate
from pipeline_xl.io.package import Package
from pipeline_xl.usecases.refresh import RefreshResult, refresh_file
from pipeline_xl.workbook.builder import build_workbook

LATER = date(2026, 12, 7)
DAY = date(2026, 11, 30)  # a month end: the sample's log has a snapshot that day
COMPARED = [s for s in contract.REPORT_SHEETS if s != contract.DATA_ISSUES]


def copy_as_it_was(tables: dict[str, pd.DataFrame], day: date) -> dict[str, pd.DataFrame]:
    """The sample's tables as the workbook held them on ``day`` (a snapshot date)."""
    ts = pd.Timestamp(day)
    prospects, log, acts = tables["Prospects"], tables["Snapshots"], tables["Activities"]
    state = log[log["Snapshot date"] <= ts].groupby("ID").tail(1).set_index("ID")
    copy = prospects[prospects["Created"] <= ts].copy().reset_index(drop=True)
    then = state.loc[copy["ID"]]
    for column in ("Owner", "Stage", "Status", "Amount", "Expected close", "Probability"):
        copy[column] = then[column].to_numpy()
    copy["Closed"] = copy["Closed"].where(copy["Closed"] <= ts)
    copy["Stage reached"] = copy["Stage reached"].where(copy["Status"] == "Lost")
    done = acts[(acts["Date"] <= ts) & acts["Prospect ID"].notna()]
    latest = done.groupby("Prospect ID")["Date"].max()
    late = copy["Last activity"] > ts
    copy.loc[late, "Last activity"] = copy.loc[late, "ID"].map(latest)
    settings = tables["Settings"].copy()
    settings.loc[settings["Setting"] == "As-of date", "Value"] = ts
    return {
        **tables,
        "Prospects": copy,
        "Snapshots": log[log["Snapshot date"] <= ts].reset_index(drop=True),
        "Activities": acts[acts["Date"] <= ts].reset_index(drop=True),
        "Settings": settings,
    }


def snapshot_parts(path: Path) -> dict[str, bytes]:
    package = Package.open(path)
    sheet = package.sheet(contract.SNAPSHOTS.sheet)
    parts = {sheet.part, *(r.part for r in package.rels(sheet.part) if r.part)}
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in sorted(parts)}


def cells(path: Path, sheet: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("as_of")
    tables = generate(300, as_of=LATER, seed=3, company="Acme").tables
    later = build_workbook(folder / "acme_later.xlsm", company="Acme", tables=tables, as_of=LATER)
    copy = build_workbook(
        folder / "kept_then.xlsm", company="Acme", tables=copy_as_it_was(tables, DAY), as_of=DAY
    )
    before = snapshot_parts(later)
    shutil.copy(later, folder / "untouched.xlsm")
    view = refresh_file(later, as_of=DAY)
    kept = refresh_file(copy, as_of=DAY)
    return {"later": later, "copy": copy, "before": before, "view": view, "kept": kept}


class TestPastRefresh:
    def test_is_a_view(self, refreshed):
        view: RefreshResult = refreshed["view"]
        assert view.view
        assert view.as_of == DAY
        assert view.snapshot_rows_added == 0
        assert f"as it stood on {DAY}" in view.summary()
        assert "no snapshot written" in view.summary()
        assert any("left as it was" in note for note in view.notes)
        assert not refreshed["kept"].view

    def test_snapshots_part_is_byte_identical(self, refreshed):
        assert snapshot_parts(refreshed["later"]) == refreshed["before"]

    def test_every_sheet_says_as_it_stood(self, refreshed):
        for sheet in contract.REPORT_SHEETS:
            subtitle = cells(refreshed["later"], sheet)[1][0]
            assert str(subtitle).startswith(f"As it stood on {DAY.isoformat()}"), sheet

    @pytest.mark.parametrize("sheet", COMPARED)
    def test_same_numbers_as_the_copy_kept_then(self, refreshed, sheet):
        seen = cells(refreshed["later"], sheet)
        kept = cells(refreshed["copy"], sheet)
        seen[1][0] = str(seen[1][0]).replace("As it stood on", "As of", 1)
        assert len(seen) == len(kept)
        for row_seen, row_kept in zip(seen, kept, strict=True):
            assert len(row_seen) == len(row_kept)
            for a, b in zip(row_seen, row_kept, strict=True):
                if isinstance(b, float) and isinstance(a, float):
                    assert a == pytest.approx(b, rel=1e-9, abs=1e-6), row_kept[:3]
                else:
                    assert a == b, row_kept[:3]

    def test_before_any_data_is_refused(self, refreshed, tmp_path):
        target = tmp_path / "early.xlsm"
        shutil.copy(refreshed["copy"], target)
        before = target.read_bytes()
        with pytest.raises(InputError, match="cannot rebuild the pipeline"):
            refresh_file(target, as_of=date(2020, 1, 1))
        assert target.read_bytes() == before
