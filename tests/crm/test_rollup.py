"""``pipeline-xl rollup``: reps' workbooks into one refreshed team workbook."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest

from pipeline_xl.cli import main
from pipeline_xl.core.dates import parse_date
from pipeline_xl.core.errors import InputError
from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.tables import replace_table_rows
from pipeline_xl.usecases.rollup import rollup
from tests.crm.conftest import write_rows

REPORTS = {"Variance", "Activity plan", "Forecast range", "Pipeline flow", "Data issues"}


def rep_book(folder, name: str, empty: bytes, rows, owner: str | None = None):
    """A rep's workbook: the empty workbook, ``rows`` imported, an optional Settings owner."""
    path = folder / name
    path.write_bytes(empty)
    export = write_rows(folder / f"{path.stem}.csv", rows)
    assert main(["import", str(export), "--into", str(path)]) == 0
    if owner is not None:
        settings = read_workbook(path).table("Settings")
        assert settings is not None
        package = Package.open(path)
        body = [*settings[1:], ["Owner", owner]]
        replace_table_rows(package, "tblSettings", [str(h) for h in settings[0]], body,
                           ["text", "auto"])  # fmt: skip
        path.write_bytes(package.to_bytes())
    return path


@pytest.fixture
def reps(tmp_path, empty_book_bytes, capsys):
    ann = rep_book(tmp_path, "ann.xlsm", empty_book_bytes, [
        ["ID", "Stage", "Amount", "Owner", "Expected close"],
        ["A1", "Lead", "100", "", "2026-04-30"],
        ["A2", "Won", "200", "Zed Ray", "2026-03-01"],
        ["X", "Proposal", "5", "", "2026-05-01"],
    ])  # fmt: skip
    bob = rep_book(tmp_path, "bob.xlsm", empty_book_bytes, [
        ["ID", "Stage", "Amount", "Expected close"],
        ["B1", "Qualified", "300", "2026-04-15"],
        ["X", "Lead", "7", "2026-06-01"],
    ], owner="Bob Roy")  # fmt: skip
    capsys.readouterr()
    return ann, bob


def team_deals(path) -> dict[str, tuple[object, ...]]:
    rows = read_workbook(path).table("Prospects")
    assert rows is not None
    header = [str(h) for h in rows[0]]
    pos = {h: header.index(h) for h in ("ID", "Owner", "Stage", "Amount")}
    return {str(r[pos["ID"]]): (r[pos["Owner"]], r[pos["Stage"]], r[pos["Amount"]])
            for r in rows[1:]}  # fmt: skip


@pytest.mark.parametrize("suffix", [".xlsm", ".xlsx"])
def test_rollup_merges_fills_owners_and_reports_duplicates(tmp_path, reps, capsys, suffix):
    out = tmp_path / f"team{suffix}"
    code = main(["rollup", str(out), *map(str, reps)])
    text = capsys.readouterr().out
    assert code == 0
    assert "ann.xlsm: 3 deals (owner for rows without one: ann (from the file name))" in text
    assert "bob.xlsm: 1 deal (owner for rows without one: Bob Roy (from the Settings))" in text
    assert "duplicate: ID X is in ann.xlsm and bob.xlsm; the row of ann.xlsm is kept" in text
    assert team_deals(out) == {
        "A1": ("ann", "Lead", 100.0),
        "A2": ("Zed Ray", "Won", 200.0),  # an owner given on the row is kept
        "X": ("ann", "Proposal", 5.0),
        "B1": ("Bob Roy", "Qualified", 300.0),
    }
    book = read_workbook(out)
    assert set(book.sheet_names) >= REPORTS  # refreshed headlessly
    assert parse_date(book.settings["As-of date"]) == date(2026, 3, 31)
    with zipfile.ZipFile(out) as package:
        names = set(package.namelist())
    if suffix == ".xlsm":
        assert "xl/vbaProject.bin" in names
        assert (tmp_path / "team.py").exists()
    else:
        assert "xl/vbaProject.bin" not in names
        assert "xl/webextensions/webextension1.xml" in names  # the Lite code survives


def test_rollup_refuses_bad_targets(tmp_path, reps):
    ann, _ = reps
    with pytest.raises(InputError, match=r"\.xlsm \(classic\) or \.xlsx"):
        rollup(tmp_path / "team.csv", [ann])
    with pytest.raises(InputError, match="also an input"):
        rollup(ann, [ann])
    with pytest.raises(InputError, match="does not exist"):
        rollup(tmp_path / "team.xlsm", [tmp_path / "nobody.xlsm"])
    (tmp_path / "~$team.xlsm").write_bytes(b"lock")
    with pytest.raises(InputError, match="open in Excel"):
        rollup(tmp_path / "team.xlsm", [ann])


def _call(path, *args: str) -> None:
    assert main(["call", str(path), "--as-of", "2026-03-20", *args]) == 0


def team_calls(path) -> list[tuple[object, ...]]:
    """(period, owner, type, amount) of each row of the team's Forecast calls table."""
    rows = read_workbook(path).table("Forecast calls")
    assert rows is not None
    return [(r[0], r[1], r[2], r[3]) for r in rows[1:] if r[0] is not None]


def test_rollup_keeps_the_reps_calls_and_the_managers_own(tmp_path, reps, capsys):
    ann, bob = reps
    _call(ann, "--period", "2026-04", "--commit", "100")  # "the team" of ann's workbook
    _call(bob, "--period", "2026-04", "--owner", "Bob Roy", "--commit", "300",
          "--best-case", "350")  # fmt: skip
    out = tmp_path / "team.xlsm"
    assert main(["rollup", str(out), str(ann), str(bob)]) == 0
    first = [
        ("2026-04", "ann", "Commit", 100.0),  # a rep's blank owner is that rep
        ("2026-04", "Bob Roy", "Commit", 300.0),
        ("2026-04", "Bob Roy", "Best case", 350.0),
    ]
    assert team_calls(out) == first
    # The manager calls the team in the team workbook; Ann calls again in hers.
    _call(out, "--period", "2026-04", "--commit", "380", "--by", "Manager")
    _call(ann, "--period", "2026-04", "--commit", "90")
    capsys.readouterr()
    assert main(["rollup", str(out), str(ann), str(bob), "--replace"]) == 0
    text = capsys.readouterr().out
    assert "Forecast calls: 4 calls kept from the team workbook, 1 new call" in text
    assert team_calls(out) == [
        *first,
        ("2026-04", None, "Commit", 380.0),  # the manager's team call stays the team's
        ("2026-04", "ann", "Commit", 90.0),  # only the new call came in
    ]
