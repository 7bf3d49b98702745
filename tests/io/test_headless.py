"""Headless refresh of a user's workbook: what changes, what stays byte for byte, what fails."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from defusedxml import ElementTree as ET  # noqa: N817 - the usual short name
from python_calamine import CalamineWorkbook

from pipeline_xl.core.errors import InputError
from pipeline_xl.io import report_writer
from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.report_writer import write_snapshots
from pipeline_xl.io.safety import backup_path
from pipeline_xl.io.tables import replace_table_rows
from pipeline_xl.usecases.refresh import RefreshResult, refresh_file
from tests.io.workbooks import (
    AS_OF,
    MC_ROOT,
    USER_SHEET,
    build,
    extend,
    new_sample,
    part_hashes,
    read_parts,
    sample_tables,
    snapshot_dates_ids,
    stub_report,
    write_parts,
)

REPORTS = ("Variance", "Activity plan", "Forecast range", "Pipeline flow", "Data issues")
HYPERLINK = '=HYPERLINK("http://example.com","x")'
EVIL_OWNER = "=cmd|' /C calc'!A0"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore:Sparkline Group extension:UserWarning")
M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# Parts a refresh may change, and why:
# - the tool's own sheets: the five reports (added here: they did not exist before) and
#   the Snapshots sheet with its table part, whose rows hold the new change log;
# - the package directory: [Content_Types].xml, xl/workbook.xml and its .rels, and
#   docProps/app.xml list the parts and sheets, so adding sheets must edit them;
# - xl/styles.xml: the report styles are appended (checked separately: every existing
#   font, fill, border, number format and cell format stays unchanged at its index).
# Every other part, VBA project included, must keep its exact bytes.
DIRECTORY = {
    "[Content_Types].xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "docProps/app.xml",
    "xl/styles.xml",
}


@pytest.fixture(scope="session")
def lo_ready() -> None:
    """Skip (locally) or fail (in CI) when LibreOffice cannot be driven."""
    from pipeline_xl.io import libreoffice

    reason = libreoffice.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"LibreOffice is required in CI: {reason}")
    pytest.skip(f"LibreOffice not available ({reason})")


def _snapshot_parts(path: Path) -> set[str]:
    package = Package.open(path)
    sheet = package.sheet("Snapshots")
    tables = {r.part for r in package.rels(sheet.part) if r.part}
    return {sheet.part, *tables}


def _refresh(src: Path, dst: Path, **kwargs) -> RefreshResult:
    shutil.copy(src, dst)
    return refresh_file(dst, build_report=stub_report, **kwargs)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("headless")


@pytest.fixture(scope="module")
def original(folder: Path) -> Path:
    return extend(new_sample(folder / "acme.xlsm"))


@pytest.fixture(scope="module")
def refreshed(original: Path, folder: Path) -> tuple[Path, RefreshResult]:
    target = folder / "once" / "acme.xlsm"
    target.parent.mkdir()
    return target, _refresh(original, target)


@pytest.fixture(scope="module")
def twice(refreshed: tuple[Path, RefreshResult], folder: Path) -> Path:
    target = folder / "twice" / "acme.xlsm"
    target.parent.mkdir()
    _refresh(refreshed[0], target)
    return target


class TestByteIdentity:
    def test_other_parts_keep_their_bytes(self, original, refreshed):
        before, after = part_hashes(original), part_hashes(refreshed[0])
        dashboard = "xl/worksheets/sheet1.xml"  # its cached values follow the refresh
        allowed = DIRECTORY | _snapshot_parts(original) | {dashboard}
        assert set(before) <= set(after)
        changed = {name for name, digest in before.items() if after[name] != digest}
        assert changed <= allowed, changed - allowed
        # The snapshot log and the directory did change: the test would see a no-op.
        assert "xl/workbook.xml" in changed

    def test_the_dashboard_keeps_its_formulas_and_styles(self, original, refreshed):
        # Only cached values (<v>, t=) and the subtitle text may change on the Dashboard.
        def shape(path: Path) -> str:
            with zipfile.ZipFile(path) as book:
                text = book.read("xl/worksheets/sheet1.xml").decode()
            text = re.sub(r"<v>[^<]*</v>", "", text)
            text = re.sub(r' t="(?:str|e|b|n)"', "", text)
            return re.sub(r'<c r="A2"[^>]*>.*?</c>', "", text, flags=re.S)

        assert shape(original) == shape(refreshed[0])

    def test_user_features_survive(self, original, refreshed):
        before, after = read_parts(original), read_parts(refreshed[0])
        for name in (
            "xl/vbaProject.bin",
            "xl/worksheets/sheet10.xml",  # values, formulas and the sparkline
            "xl/drawings/drawing1.xml",  # the chart frame and the macro shape
            "xl/charts/chart1.xml",
            "customXml/item1.xml",
            "customXml/itemProps1.xml",
            "customXml/_rels/item1.xml.rels",
            "xl/drawings/vmlDrawing1.vml",  # the Dashboard's form buttons
        ):
            assert after[name] == before[name], name
        assert b'macro="[0]!SampleCall"' in after["xl/drawings/drawing1.xml"]
        assert b"x14:sparklineGroups" in after["xl/worksheets/sheet10.xml"]

    def test_stored_parts_stay_stored(self, original, refreshed):
        with zipfile.ZipFile(original) as a, zipfile.ZipFile(refreshed[0]) as b:
            for info in a.infolist():
                assert b.getinfo(info.filename).compress_type == info.compress_type
            assert b.getinfo("xl/vbaProject.bin").compress_type == zipfile.ZIP_STORED
            assert b.testzip() is None

    def test_styles_are_only_appended(self, original, refreshed):
        old = ET.fromstring(read_parts(original)["xl/styles.xml"])
        new = ET.fromstring(read_parts(refreshed[0])["xl/styles.xml"])
        grew = False
        for name in ("fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "dxfs"):
            a, b = old.find(M + name), new.find(M + name)
            if a is None:
                continue
            olds, news = list(a), list(b)
            assert len(news) >= len(olds)
            grew |= len(news) > len(olds)
            for i, element in enumerate(olds):
                assert ET.tostring(news[i]) == ET.tostring(element), (name, i)
        old_fmts = {f.get("numFmtId"): f.get("formatCode") for f in old.iter(M + "numFmt")}
        new_fmts = {f.get("numFmtId"): f.get("formatCode") for f in new.iter(M + "numFmt")}
        assert all(new_fmts[k] == v for k, v in old_fmts.items())
        assert grew

    def test_workbook_root_keeps_its_namespaces(self, refreshed):
        text = read_parts(refreshed[0])["xl/workbook.xml"].decode()
        assert MC_ROOT in text

    def test_sheets_and_titles(self, refreshed):
        path, result = refreshed
        names = openpyxl.load_workbook(path, keep_vba=True).sheetnames
        assert names[-5:] == list(REPORTS)
        assert names[:10] == [
            "Dashboard", "Prospects", "Stages", "Targets", "Activities", "Settings",
            "Snapshots", "Forecast calls", "xlwings.conf", USER_SHEET,
        ]  # fmt: skip
        app = read_parts(path)["docProps/app.xml"].decode()
        for name in names:
            assert f"<vt:lpstr>{name}</vt:lpstr>" in app
        assert "<vt:i4>15</vt:i4>" in app  # 10 sheets + 5 reports
        assert result.sheets == REPORTS
        assert result.backup == backup_path(path)
        assert result.backup.read_bytes() == (path.parent.parent / "acme.xlsm").read_bytes()


class TestIdempotence:
    def test_second_refresh_changes_no_part(self, refreshed, twice):
        assert read_parts(twice) == read_parts(refreshed[0])

    def test_snapshot_log_has_no_duplicates(self, twice):
        keys = snapshot_dates_ids(twice)
        assert len(keys) == len(set(keys))


@pytest.fixture(scope="module")
def grown(folder: Path) -> tuple[Path, int]:
    """A workbook whose log misses its last snapshot date, one owner looking like a formula."""
    tables = sample_tables(80)
    log = tables["Snapshots"]
    last = log["Snapshot date"].max()
    tables["Snapshots"] = log.loc[log["Snapshot date"] < last].reset_index(drop=True)
    prospects = tables["Prospects"].astype(object)
    prospects.loc[4, "Owner"] = EVIL_OWNER
    tables["Prospects"] = prospects
    path = build(folder / "grown.xlsm", tables)
    return path, len(tables["Snapshots"])


class TestSnapshots:
    def test_rows_are_added_once(self, grown, folder):
        path, before = grown
        target = folder / "grown-1" / "grown.xlsm"
        target.parent.mkdir()
        first = _refresh(path, target)
        assert first.snapshot_rows_added > 0
        assert first.snapshot_rows == before + first.snapshot_rows_added
        keys = snapshot_dates_ids(target)
        assert len(keys) == first.snapshot_rows == len(set(keys))
        assert any(day == AS_OF for day, _ in keys)
        again = refresh_file(target, build_report=stub_report)
        assert again.snapshot_rows_added == 0
        assert snapshot_dates_ids(target) == keys

    def test_text_like_a_formula_is_text_in_the_log(self, grown, folder):
        path, _ = grown
        target = folder / "grown-2" / "grown.xlsm"
        target.parent.mkdir()
        _refresh(path, target)
        sheet = openpyxl.load_workbook(target)["Snapshots"]
        found = [c for row in sheet.iter_rows() for c in row if c.value == EVIL_OWNER]
        assert found
        for cell in found:
            assert cell.data_type == "s"
            assert cell.quotePrefix


def _spy(monkeypatch: pytest.MonkeyPatch, *, full: bool = False) -> list[int]:
    """Record the ``keep_prefix`` of each Snapshots rewrite (``full``: then keep nothing)."""
    calls: list[int] = []
    real = replace_table_rows

    def spy(*args: object, keep_prefix: int = 0, **kwargs: object) -> object:
        calls.append(keep_prefix)
        return real(*args, keep_prefix=0 if full else keep_prefix, **kwargs)

    monkeypatch.setattr(report_writer, "replace_table_rows", spy)
    return calls


def _grown_tables(n: int = 60) -> dict[str, pd.DataFrame]:
    """Sample tables whose log misses its last snapshot date, so a refresh adds rows."""
    tables = sample_tables(n)
    log = tables["Snapshots"]
    tables["Snapshots"] = log.loc[log["Snapshot date"] < log["Snapshot date"].max()]
    tables["Snapshots"] = tables["Snapshots"].reset_index(drop=True).astype(object)
    return tables


@pytest.fixture(scope="module")
def written_log(grown: tuple[Path, int], folder: Path) -> Path:
    """``grown`` with its log rows written by `write_snapshots`, as a refresh leaves them."""
    path, _ = grown
    data = path.read_bytes()
    package = Package.from_bytes(data)
    write_snapshots(package, read_workbook(data).validate().snapshots)
    target = folder / "written" / "grown.xlsm"
    target.parent.mkdir()
    target.write_bytes(package.to_bytes())
    return target


class TestGrowingLog:
    def test_only_the_new_rows_are_written(self, written_log, folder, monkeypatch):
        """Keeping the old rows gives the parts a full rewrite gives, byte for byte."""
        held = len(snapshot_dates_ids(written_log))
        kept_calls = _spy(monkeypatch)
        kept = _refresh(written_log, folder / "kept.xlsm")
        full_calls = _spy(monkeypatch, full=True)
        full = _refresh(written_log, folder / "full.xlsm")
        assert kept_calls == full_calls == [held]  # the whole old log is kept
        assert kept.snapshot_rows_added == full.snapshot_rows_added > 0
        assert read_parts(folder / "kept.xlsm") == read_parts(folder / "full.xlsm")

    @pytest.mark.parametrize("change", ["user column", "left-out row"])
    def test_user_cells_mean_a_full_rewrite(self, folder, monkeypatch, change):
        """A user's own column or a row validation left out: every row is written again."""
        tables = _grown_tables()
        log = tables["Snapshots"]
        if change == "user column":
            log["My note"] = [f"note {i}" if i % 3 == 0 else None for i in range(len(log))]
        else:
            log.loc[3, "Stage"] = "Nowhere"  # an unknown stage: an error, the row left out
        path = build(folder / f"{change.replace(' ', '_').replace('-', '_')}.xlsm", tables)
        calls = _spy(monkeypatch)
        result = refresh_file(path, build_report=stub_report)
        assert calls == [0]
        assert result.snapshot_rows_added > 0
        book = CalamineWorkbook.from_path(str(path), load_tables=True)
        table = book.get_table_by_name("tblSnapshots")
        rows = [dict(zip(table.columns, r, strict=True)) for r in table.to_python()]
        if change == "user column":  # every note is still there, on its row
            notes = {(r["Snapshot date"], r["ID"]): r["My note"] for r in rows if r["My note"]}
            assert notes == {
                (pd.Timestamp(day).date(), deal): note
                for day, deal, note in log[["Snapshot date", "ID", "My note"]].to_numpy()
                if isinstance(note, str)
            }
        else:
            assert [r["Stage"] for r in rows].count("Nowhere") == 1


@pytest.fixture(scope="module")
def garbage(folder: Path) -> tuple[Path, RefreshResult]:
    """A workbook with unreadable cells and a name that looks like a formula, refreshed."""
    tables = sample_tables(60)
    prospects = tables["Prospects"].astype(object)
    prospects.loc[0, "Amount"] = "abc"
    prospects.loc[1, "Amount"] = "#N/A"
    prospects.loc[2, "Expected close"] = "31/02/2026"
    prospects.loc[3, "Name"] = HYPERLINK
    tables["Prospects"] = prospects
    path = build(folder / "garbage.xlsm", tables)
    return path, refresh_file(path, build_report=stub_report)


class TestBadData:
    def test_refresh_succeeds_and_counts_issues(self, garbage):
        _, result = garbage
        assert result.errors >= 2  # the two unreadable amounts leave their rows out
        assert result.issues >= 4

    def test_bad_cells_are_listed_on_data_issues(self, garbage):
        path, _ = garbage
        sheet = openpyxl.load_workbook(path)["Data issues"]
        values = {c.value for row in sheet.iter_rows() for c in row}
        assert {"abc", "#N/A", "31/02/2026"} <= values
        rows = {c.value for c in sheet["B"]}
        assert {2, 3, 4} <= rows  # Excel rows of the first three prospects

    def test_formula_text_stays_text(self, garbage):
        path, _ = garbage
        book = openpyxl.load_workbook(path)
        found = [c for row in book["Data issues"].iter_rows() for c in row if c.value == HYPERLINK]
        assert found
        for cell in found:
            assert cell.data_type == "s"
            assert cell.quotePrefix


class TestRefusals:
    def test_lock_file(self, original, folder):
        target = folder / "locked" / "acme.xlsm"
        target.parent.mkdir()
        shutil.copy(original, target)
        (target.parent / "~$acme.xlsm").write_bytes(b"owner")
        with pytest.raises(
            InputError, match=r"acme\.xlsm is open in Excel \(lock file ~\$acme\.xlsm\)"
        ):
            refresh_file(target, build_report=stub_report)
        assert target.read_bytes() == original.read_bytes()

    def test_zip_bomb(self, original, folder):
        parts = read_parts(original)
        parts["xl/sharedStrings.xml"] = b"<sst>" + b" " * 30_000_000 + b"</sst>"
        target = folder / "bomb.xlsm"
        write_parts(target, parts)
        with pytest.raises(InputError, match=r"xl/sharedStrings\.xml expands to .*zip bomb"):
            refresh_file(target, build_report=stub_report)

    def test_sheet_named_like_a_report_is_not_overwritten(self, original, folder):
        parts = read_parts(original)
        wb = parts["xl/workbook.xml"].decode()
        parts["xl/workbook.xml"] = wb.replace(f'name="{USER_SHEET}"', 'name="Variance"').encode()
        target = folder / "foreign.xlsm"
        write_parts(target, parts)
        before = read_parts(target)
        user_part = Package.from_bytes(target.read_bytes()).sheet("Variance").part
        result = refresh_file(target, build_report=stub_report)
        assert result.sheets[0] == "Variance (2)"
        assert result.notes == (
            (
                "the sheet Variance was not made by pipeline-xl, so it is left as it is: "
                "the Variance report is on the sheet Variance (2)"
            ),
        )
        after = read_parts(target)
        assert after[user_part] == before[user_part]
        again = refresh_file(target, build_report=stub_report)  # the marked sheet is reused
        assert again.sheets == result.sheets
        names = [s.name for s in Package.from_bytes(target.read_bytes()).sheets()]
        assert names.count("Variance (2)") == 1
        assert read_parts(target)[user_part] == before[user_part]

    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            ("missing.xlsm", None, "does not exist"),
            ("text.xlsm", b"just text", "not an Excel workbook"),
            ("book.xls", b"PK", "wrong file type"),
        ],
    )
    def test_not_a_workbook(self, folder, name, content, message):
        target = folder / name
        if content is not None:
            target.write_bytes(content)
        with pytest.raises(InputError, match=message):
            refresh_file(target, build_report=stub_report)


class TestKeepHistory:
    def test_old_reports_are_kept_under_dated_names(self, refreshed, folder):
        target = folder / "history" / "acme.xlsm"
        target.parent.mkdir()
        result = _refresh(refreshed[0], target, as_of=date(2026, 3, 31), keep_history=True)
        assert result.kept == tuple(f"{name} 2026-03-15" for name in REPORTS)
        names = openpyxl.load_workbook(target).sheetnames
        assert names[-10:] == [*result.kept, *REPORTS]
        assert all(len(n) <= 31 for n in names)
        again = refresh_file(
            target, as_of=date(2026, 3, 31), keep_history=True, build_report=stub_report
        )
        assert again.kept == tuple(f"{name} 2026-03-31" for name in REPORTS)
        # The kept charts now point at their own (renamed) sheet.
        package = Package.open(target)
        sheet = package.sheet("Variance 2026-03-15")
        drawing = next(r.part for r in package.rels(sheet.part) if r.part)
        chart = next(r.part for r in package.rels(drawing) if r.part)
        assert b"'Variance 2026-03-15'!" in package.part(chart)


class TestReaders:
    def test_openpyxl_reads_the_reports(self, refreshed):
        book = openpyxl.load_workbook(refreshed[0], keep_vba=True)
        assert book["Variance"]["A1"].value == "Variance"
        assert book[USER_SHEET]["B4"].value == "=SUM(B2:B3)"

    def test_openxml_audit_finds_nothing(self, refreshed):
        audit = pytest.importorskip("openxml_audit")
        for file_format in (audit.FileFormat.OFFICE_2016, audit.FileFormat.MICROSOFT_365):
            validator = audit.OpenXmlValidator(file_format=file_format)
            result = validator.validate(str(refreshed[0]))
            assert [f"{e.part_uri}: {e.description}" for e in result.errors] == []
            assert audit.predict(result).prediction == audit.AppPrediction.OPENS_CLEAN

    @pytest.mark.libreoffice
    def test_libreoffice_opens_it(self, refreshed, lo_ready):
        from pipeline_xl.io import libreoffice

        cells = libreoffice.cell_values(
            refreshed[0], ["Variance!A1:B8", f"{USER_SHEET}!A1:B4"], recalc=True
        )
        assert cells["Variance"]["A1"]["text"] == "Variance"
        assert cells[USER_SHEET]["B4"]["value"] == 24.0


_KILL_SCRIPT = """
import pathlib, sys, time
from pipeline_xl.io import safety
from pipeline_xl.usecases.refresh import refresh_file
from tests.io.workbooks import stub_report
marker = pathlib.Path(sys.argv[2])
def pause(tmp):
    # Written whole, then renamed: the parent never reads a half-written marker.
    part = marker.with_name(marker.name + ".part")
    part.write_text(str(tmp))
    part.replace(marker)
    time.sleep(120)
safety._before_replace = pause
refresh_file(sys.argv[1], build_report=stub_report)
"""


def test_killed_between_temp_file_and_replace_leaves_the_original(original, folder):
    target = folder / "killed" / "acme.xlsm"
    target.parent.mkdir()
    shutil.copy(original, target)
    before = target.read_bytes()
    marker = folder / "killed.marker"
    child = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", _KILL_SCRIPT, str(target), str(marker)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the child never reached the pause"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert target.read_bytes() == before
    text = marker.read_text()
    assert text.endswith(".tmp"), text  # the temporary file's path, never an empty marker
    leftover = Path(text)
    assert leftover.is_file()  # the new file was complete, only the swap was missing
    refresh_file(target, build_report=stub_report)
    assert not leftover.exists()  # the next write clears what the killed one left
    assert "Variance" in openpyxl.load_workbook(target).sheetnames


def test_default_report(original, folder):
    target = folder / "real" / "acme.xlsm"
    target.parent.mkdir()
    shutil.copy(original, target)
    result = refresh_file(target)
    assert result.sheets == REPORTS
    assert openpyxl.load_workbook(target).sheetnames[-5:] == list(REPORTS)


def test_a_log_past_its_limit_is_compacted(written_log, folder, monkeypatch):
    """A log over the limit keeps every quarter-end state exact and says so."""
    import functools

    from pipeline_xl.core.periods import period_of
    from pipeline_xl.core.snapshots import fit_log, pipeline_as_of
    from pipeline_xl.usecases import refresh as refresh_module

    before = read_workbook(written_log).validate().snapshots
    limit = len(before) // 2
    monkeypatch.setattr(refresh_module, "fit_log", functools.partial(fit_log, limit=limit))
    result = _refresh(written_log, folder / "compacted.xlsm")
    assert any("Snapshots log passed" in note for note in result.notes)
    after = read_workbook(folder / "compacted.xlsm").validate().snapshots
    assert len(after) == result.snapshot_rows < len(before)
    first = pd.Timestamp(before["snapshot_date"].min()).date()
    quarter = period_of(first, "quarter")
    columns = ["id", "stage", "status", "amount", "expected_close"]
    while quarter.end <= result.as_of:
        day = date.fromordinal(quarter.end.toordinal() - 1)
        pd.testing.assert_frame_equal(
            pipeline_as_of(after, day)[columns], pipeline_as_of(before, day)[columns]
        )
        quarter = quarter.next()
