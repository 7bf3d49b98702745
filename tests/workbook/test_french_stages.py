"""A sales process named in French, without a Status column, from new workbook to team rollup.

Stage names carry the status words the validator knows (Signée is won, Perdue is lost);
the builder must read them the same way: write the workbook (classic and Lite), refresh
it headless, and roll two reps' workbooks into a team workbook.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from pipeline_xl.io.reader import read_workbook
from pipeline_xl.usecases.new import write_workbook
from pipeline_xl.usecases.refresh import refresh_file
from pipeline_xl.usecases.rollup import rollup

AS_OF = date(2026, 3, 15)
STAGES = ["Piste", "Qualifié", "Proposition", "Négociation", "Signée", "Perdue"]
# Restated on purpose: what the Stages sheet must say, in the order it must say it.
WRITTEN_STATUS = {
    "Piste": "Open",
    "Qualifié": "Open",
    "Proposition": "Open",
    "Négociation": "Open",
    "Signée": "Won",
    "Perdue": "Lost",
}
REPORTS = ("Variance", "Activity plan", "Forecast range", "Pipeline flow", "Data issues")


def french_tables(owner: str, first_id: int) -> dict[str, pd.DataFrame]:
    """One rep's tables: the French process (closing stages listed first, no Status)."""
    stages = pd.DataFrame(
        {
            "Stage": ["Signée", "Perdue", "Piste", "Qualifié", "Proposition", "Négociation"],
            "Activity": ["Commande", None, "Appel", "Rendez-vous", "Offre", "Négociation"],
            "Probability": [1.0, 0.0, 0.05, 0.2, 0.5, 0.8],
            "Conversion": [None, None, 0.25, 0.4, 0.625, 0.8],
            "Days to close": [None, None, 90.0, 60.0, 30.0, 14.0],
        }
    )
    deals = [
        # stage, amount, created, expected close, closed
        ("Signée", 20000.0, "2026-01-05", "2026-03-02", "2026-03-02"),
        ("Signée", 15000.0, "2026-01-10", "2026-03-09", "2026-03-09"),
        ("Signée", 30000.0, "2025-12-01", "2026-02-10", "2026-02-10"),
        ("Perdue", 12000.0, "2026-01-02", "2026-02-20", "2026-02-20"),
        ("Piste", 8000.0, "2026-03-01", "2026-05-30", None),
        ("Qualifié", 25000.0, "2026-02-01", "2026-04-30", None),
        ("Proposition", 40000.0, "2026-01-15", "2026-03-31", None),
        ("Négociation", 18000.0, "2026-01-20", "2026-03-25", None),
    ]
    prospects = pd.DataFrame(
        {
            "ID": [f"D{first_id + i}" for i in range(len(deals))],
            "Name": [f"Affaire {first_id + i}" for i in range(len(deals))],
            "Owner": owner,
            "Stage": [d[0] for d in deals],
            "Amount": [d[1] for d in deals],
            "Created": pd.to_datetime([d[2] for d in deals]),
            "Expected close": pd.to_datetime([d[3] for d in deals]),
            "Closed": pd.to_datetime([d[4] for d in deals]),
        }
    )
    targets = pd.DataFrame({"Period": ["2026-03"], "Owner": [owner], "Revenue target": [90000.0]})
    return {"Prospects": prospects, "Stages": stages, "Targets": targets}


def _sheet(path: Path, name: str) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def _stage_statuses(path: Path) -> dict[str, str]:
    rows = _sheet(path, "Stages")
    header = rows[0]
    stage, status = header.index("Stage"), header.index("Status")
    return {r[stage]: r[status] for r in rows[1:] if r[stage]}


def _check_dashboard(path: Path) -> None:
    """The plans follow the French process: its activities, then the won stage's."""
    rows = _sheet(path, "Dashboard")
    plan = rows[27:32]  # rows 28-32: four open stages, then the deals
    assert [r[0] for r in plan] == ["Appel", "Rendez-vous", "Offre", "Négociation", "Commande"]
    assert plan[-1][5] == "Deals won (Commande)"  # F32, the plain-formula plan
    assert plan[0][5] == "Appel (Piste)"  # F29
    # The engine's plan (B28:C32) read the process: counts, not an error text.
    assert all(isinstance(r[c], float) for r in plan for c in (1, 2))


def _won_in_march(path: Path) -> float:
    """Won amount closed in March 2026, as validation reads the written workbook."""
    prospects = read_workbook(path).validate(as_of=AS_OF).prospects
    statuses = dict(zip(prospects["stage"], prospects["status"], strict=True))
    assert statuses == {
        "Signée": "won",
        "Perdue": "lost",
        "Piste": "open",
        "Qualifié": "open",
        "Proposition": "open",
        "Négociation": "open",
    }
    march = prospects["closed"].between(pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-31"))
    return float(prospects.loc[march & (prospects["status"] == "won"), "amount"].sum())


@pytest.mark.parametrize("suffix", [".xlsm", ".xlsx"], ids=["classic", "lite"])
def test_french_process_from_new_workbook_to_team_rollup(tmp_path: Path, suffix: str):
    lite = suffix == ".xlsx"
    reps = {"alice": ("Alice Martin", 1), "bruno": ("Bruno Petit", 101)}
    books = []
    for stem, (owner, first_id) in reps.items():
        path = write_workbook(
            tmp_path / f"{stem}{suffix}",
            french_tables(owner, first_id),
            company="Société Test",
            currency="EUR",
            fiscal_start=1,
            as_of=AS_OF,
            lite=lite,
        )
        books.append(path)
        # Open stages first (as given), then won, then lost, each with its status.
        assert list(_stage_statuses(path).items()) == list(WRITTEN_STATUS.items())
        _check_dashboard(path)
        assert _won_in_march(path) == 35000.0  # 20,000 + 15,000 signed in March
        result = refresh_file(path, backup=False)
        assert result.sheets == REPORTS
        assert result.errors == 0
        names = CalamineWorkbook.from_path(str(path)).sheet_names
        assert set(REPORTS) <= set(names)

    team = rollup(tmp_path / f"team{suffix}", books, as_of=AS_OF, company="Équipe")
    assert team.deals == {f"alice{suffix}": 8, f"bruno{suffix}": 8}
    assert list(_stage_statuses(team.path).items()) == list(WRITTEN_STATUS.items())
    assert team.refresh is not None
    assert team.refresh.sheets == REPORTS
    assert team.refresh.errors == 0
    _check_dashboard(team.path)
    assert _won_in_march(team.path) == 70000.0  # both reps' deals signed in March
