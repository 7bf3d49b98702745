"""Validation: raw workbook tables to the clean model plus an issues table."""

from __future__ import annotations

import contextlib
import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    CATEGORIES,
    Model,
    Settings,
    activities_frame,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.schema import ISSUE_COLUMNS, match_headers, validate, without_targets

AS_OF = date(2026, 3, 31)
D = datetime
MAVEN = Path(__file__).resolve().parents[3] / "shared" / "data" / "maven-crm" / "sales_pipeline.csv"


def issue_set(model: Model, sheet: str | None = None) -> set[tuple[str, int, str, str]]:
    """(sheet, row, column, severity) of every issue."""
    rows = model.issues if sheet is None else model.issues[model.issues["sheet"] == sheet]
    return {(r.sheet, int(r.row), r.column, r.severity) for r in rows.itertuples(index=False)}


def problem(model: Model, row: int, column: str) -> str:
    found = model.issues[(model.issues["row"] == row) & (model.issues["column"] == column)]
    assert len(found) == 1, found
    return str(found["problem"].iloc[0])


def prospect(model: Model, deal_id: str) -> pd.Series:
    found = model.prospects[model.prospects["id"] == deal_id]
    assert len(found) == 1
    return found.iloc[0]


# --------------------------------------------------------------------------- headers


class TestMatchHeaders:
    """Headers match ignoring case, spaces, accents, ``_`` and ``-``, with synonyms."""

    def test_crm_and_french_synonyms(self):
        headers = [
            "Opportunity ID", "deal_name", "ACCOUNT NAME", "Sales-Rep", "Origine", "Étape",
            "Montant", "Date de clôture prévue", "Probabilité", "Catégorie de prévision",
            "Statut", "Date de création", "Date de signature", "Dernière activité",
            "Étape atteinte", "Notes",
        ]  # fmt: skip
        assert match_headers(headers, "prospects") == {
            "id": 0, "name": 1, "company": 2, "owner": 3, "source": 4, "stage": 5,
            "amount": 6, "expected_close": 7, "probability": 8, "category": 9, "status": 10,
            "created": 11, "closed": 12, "last_activity": 13, "reached": 14,
        }  # fmt: skip

    def test_parenthesised_units_are_ignored(self):
        assert match_headers(["Deal ID", "Amount (EUR)", "Probability (%)"], "Prospects") == {
            "id": 0,
            "amount": 1,
            "probability": 2,
        }

    def test_close_date_is_expected_close_unless_taken(self):
        assert match_headers(["Close date"], "prospects") == {"expected_close": 0}
        both = match_headers(["Close date", "Expected close date"], "prospects")
        assert both == {"expected_close": 1, "closed": 0}

    def test_first_header_of_a_field_wins(self):
        assert match_headers(["Amount", "Value"], "prospects") == {"amount": 0}

    def test_per_table_meanings(self):
        # "ID" is the deal in Activities, "Activity" the type; in Stages "Activity" is the action.
        assert match_headers(["Date", "ID", "Activity", "Qty"], "activities") == {
            "date": 0,
            "prospect_id": 1,
            "type": 2,
            "count": 3,
        }
        assert match_headers(["Étape", "Action", "Délai"], "stages") == {
            "stage": 0,
            "activity": 1,
            "days_to_close": 2,
        }
        assert match_headers(["Trimestre", "Quota", "Objectif affaires"], "targets") == {
            "period": 0,
            "revenue": 1,
            "deals": 2,
        }
        assert match_headers(["As of", "Deal ID", "Phase"], "snapshots") == {
            "snapshot_date": 0,
            "id": 1,
            "stage": 2,
        }

    def test_blank_and_odd_headers(self):
        assert match_headers([None, math.nan, 3, "", "Stage"], "stages") == {"stage": 4}


# --------------------------------------------------------------------------- prospects

HEADER = [
    "Deal ID", "Deal name", "Account", "Owner", "Lead source", "Stage", "Amount",
    "Expected close", "Probability", "Forecast category", "Status", "Created", "Closed",
    "Stage reached",
]  # fmt: skip


def deal(deal_id, stage, amount, **cells):
    """One prospects row in HEADER order."""
    row = dict.fromkeys(HEADER)
    row.update({"Deal ID": deal_id, "Stage": stage, "Amount": amount})
    named = {k.replace("_", " ").capitalize(): v for k, v in cells.items()}
    assert set(named) <= set(HEADER), named
    row.update(named)
    return [row[h] for h in HEADER]


@pytest.fixture(scope="module")
def messy() -> Model:
    """A prospects sheet with two title rows: the header is Excel row 3, data from row 4."""
    rows = [
        ["Pipeline export", None],
        [],
        HEADER,
        # row 4: clean
        deal("D1", "Proposal", 1000.0, owner="Alice Smith", account="Acme",
             expected_close=D(2026, 4, 15), forecast_category="Commit", created=D(2026, 1, 5)),
        # row 5: text amount, day-first text date, 0-100 probability, spelling variants
        deal("D2", "negotiation", "12 000 €", owner=" alice  SMITH", account="acme",
             expected_close="15/05/2026", probability=35, forecast_category="Upside",
             lead_source="Web"),
        # row 6: blank row, skipped silently
        [None] * len(HEADER),
        # row 7: repeated ID
        deal("D1", "Lead", 10.0, owner="Bob", expected_close=D(2026, 4, 1)),
        # row 8: unknown stage
        deal("D4", "Discovery", 10.0, owner="Bob", expected_close=D(2026, 4, 1)),
        # row 9: missing amount; row 10: unreadable; row 11: negative
        deal("D5", "Lead", None, owner="Bob", expected_close=D(2026, 4, 1)),
        deal("D6", "Lead", "abc", owner="Bob", expected_close=D(2026, 4, 1)),
        deal("D7", "Lead", -5.0, owner="Bob", expected_close=D(2026, 4, 1)),
        # row 12: lost at zero (kept), lost after reaching Proposal
        deal("D8", "Closed lost", 0.0, owner="Bob", created=D(2026, 1, 1),
             closed=D(2026, 2, 1), stage_reached="Proposal"),
        # row 13: won without any date; row 14: won with only an expected close
        deal("D9", "Won", 500.0, owner="Bob"),
        deal("D10", "Won", 500.0, owner="Bob", expected_close=D(2026, 3, 1)),
        # row 15: open without expected close
        deal("D11", "Lead", 500.0, owner="Bob"),
        # row 16: closed before created
        deal("D12", "Won", 500.0, owner="Bob", created=D(2026, 3, 1), closed=D(2026, 2, 1)),
        # row 17: probability given with % (read as is), unknown category
        deal("D13", "Lead", 500.0, owner="Bob", expected_close=D(2026, 4, 1),
             probability="35%", forecast_category="Maybe"),
        # row 18: probability out of range
        deal("D14", "Lead", 500.0, owner="Bob", expected_close=D(2026, 4, 1), probability=150),
        # row 19: explicit lost status beats an open stage
        deal("D15", "Negotiation", 500.0, owner="Bob", expected_close=D(2026, 4, 1),
             status="Lost", closed=D(2026, 3, 3)),
        # row 20: formula text kept, Excel errors in optional columns left blank
        deal("D16", "Lead", 500.0, owner="Bob", expected_close=D(2026, 4, 1),
             deal_name="=HYPERLINK(x)", account="#N/A", probability="#REF!"),
        # row 21: no ID
        deal(None, "Lead", 500.0, owner="Bob", expected_close=D(2026, 4, 1)),
        # row 22: open status on a won stage: the stage wins
        deal("D18", "Won", 500.0, owner="Bob", expected_close=D(2026, 4, 1), status="Open",
             closed=D(2026, 3, 3)),
        # row 23: unknown status word, Excel error in the required Stage column
        deal("D19", "#N/A", 500.0, owner="Bob", expected_close=D(2026, 4, 1), status="maybe"),
        # row 24: lost without a close date takes its expected close
        deal("D20", "Lost", 300.0, owner="Bob", expected_close=D(2026, 2, 20)),
    ]  # fmt: skip
    return validate(rows, as_of=AS_OF)


class TestProspectRules:
    """Every row-level rule on one messy sheet; rows are Excel row numbers."""

    def test_issue_locations_and_severities(self, messy):
        assert issue_set(messy) == {
            ("Prospects", 5, "Account", "warning"),  # acme -> Acme
            ("Prospects", 5, "Owner", "warning"),  # alice SMITH -> Alice Smith
            ("Prospects", 5, "Probability", "warning"),  # 35 -> 0.35
            ("Prospects", 7, "Deal ID", "error"),  # repeated D1
            ("Prospects", 8, "Stage", "error"),  # Discovery
            ("Prospects", 9, "Amount", "error"),  # missing
            ("Prospects", 10, "Amount", "error"),  # abc
            ("Prospects", 11, "Amount", "error"),  # negative
            ("Prospects", 12, "Amount", "warning"),  # lost at zero
            ("Prospects", 13, "Closed", "error"),  # won, no date at all
            ("Prospects", 14, "Closed", "warning"),  # won, expected close used
            ("Prospects", 15, "Expected close", "warning"),  # open, no expected close
            ("Prospects", 16, "Closed", "warning"),  # closed before created
            ("Prospects", 17, "Forecast category", "warning"),  # Maybe
            ("Prospects", 18, "Probability", "warning"),  # 150 -> dropped
            ("Prospects", 19, "Status", "warning"),  # Lost beats Negotiation
            ("Prospects", 20, "Deal name", "warning"),  # formula kept
            ("Prospects", 20, "Account", "warning"),  # #N/A left blank
            ("Prospects", 20, "Probability", "warning"),  # #REF! left blank
            ("Prospects", 21, "Deal ID", "warning"),  # generated ID
            ("Prospects", 22, "Status", "warning"),  # Won stage beats Open status
            ("Prospects", 23, "Stage", "error"),  # #N/A in a required column
            ("Prospects", 23, "Status", "warning"),  # unknown status word
            ("Prospects", 24, "Closed", "warning"),  # lost, expected close used
        }

    def test_problem_texts(self, messy):
        assert problem(messy, 7, "Deal ID") == "ID repeated (first on row 4)"
        assert problem(messy, 8, "Stage") == "unknown stage (not in the Stages table)"
        assert problem(messy, 9, "Amount") == "missing amount"
        assert problem(messy, 10, "Amount") == "not a number"
        assert problem(messy, 11, "Amount") == "amount must be above zero"
        assert problem(messy, 13, "Closed").startswith("won deal without a close date or")
        assert problem(messy, 19, "Status") == "status lost overrides stage Negotiation"
        assert problem(messy, 20, "Account") == "Excel error #N/A; left blank"
        assert problem(messy, 20, "Deal name") == "looks like a formula; kept as text"
        assert problem(messy, 21, "Deal ID") == "missing ID; kept as ROW-21"
        assert problem(messy, 23, "Stage") == "Excel error #N/A"

    def test_issue_values_are_the_raw_cells(self, messy):
        issues = messy.issues.set_index(["row", "column"])
        assert issues.loc[(5, "Owner"), "value"] == " alice  SMITH"
        assert issues.loc[(10, "Amount"), "value"] == "abc"
        assert issues.loc[(9, "Amount"), "value"] is None

    def test_error_rows_are_left_out_and_the_rest_kept(self, messy):
        kept = messy.prospects["row"].tolist()
        # Errors on rows 7, 8, 9, 10, 11, 13, 23; the blank row 6 is skipped.
        assert kept == [4, 5, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 24]
        assert messy.prospects["id"].tolist()[-3:] == ["ROW-21", "D18", "D20"]

    def test_cleaned_values(self, messy):
        d2 = prospect(messy, "D2")
        assert d2["amount"] == 12000.0
        assert d2["probability"] == pytest.approx(0.35)
        assert d2["expected_close"] == pd.Timestamp("2026-05-15")
        assert d2["owner"] == "Alice Smith"
        assert d2["company"] == "Acme"
        assert d2["category"] == "best_case"
        assert d2["stage"] == "Negotiation"  # canonical spelling from the Stages table
        assert prospect(messy, "D1")["category"] == "commit"
        assert prospect(messy, "D13")["probability"] == pytest.approx(0.35)
        assert math.isnan(prospect(messy, "D14")["probability"])
        assert prospect(messy, "D13")["category"] == ""
        d16 = prospect(messy, "D16")
        assert d16["name"] == "=HYPERLINK(x)"
        assert d16["company"] == ""
        assert math.isnan(d16["probability"])

    def test_status_stage_index_and_reached(self, messy):
        n_open = default_stages().n_open  # 4: Lead, Qualified, Proposal, Negotiation
        d1, d8 = prospect(messy, "D1"), prospect(messy, "D8")
        assert (d1["status"], d1["stage_idx"], d1["reached_idx"]) == ("open", 2, 2)
        # Lost deals: stage_idx -1, furthest stage from the Stage reached column.
        assert (d8["status"], d8["stage"], d8["stage_idx"], d8["reached_idx"]) == (
            "lost", "Lost", -1, 2,
        )  # fmt: skip
        d10 = prospect(messy, "D10")
        assert (d10["status"], d10["stage_idx"], d10["reached_idx"]) == ("won", n_open, n_open)
        # The status column said Lost on a Negotiation deal: lost from stage 3.
        d15 = prospect(messy, "D15")
        assert (d15["status"], d15["stage"], d15["stage_idx"], d15["reached_idx"]) == (
            "lost", "Lost", -1, 3,
        )  # fmt: skip
        assert prospect(messy, "D18")["status"] == "won"
        assert prospect(messy, "D20")["reached_idx"] == -1  # unknown

    def test_close_dates(self, messy):
        assert prospect(messy, "D10")["closed"] == pd.Timestamp("2026-03-01")
        assert prospect(messy, "D20")["closed"] == pd.Timestamp("2026-02-20")
        assert pd.isna(prospect(messy, "D11")["closed"])
        # Kept although closed before created.
        assert prospect(messy, "D12")["closed"] == pd.Timestamp("2026-02-01")

    def test_clean_table_has_the_model_dtypes(self, messy):
        expected = prospects_frame([]).dtypes
        assert messy.prospects.dtypes.to_dict() == expected.to_dict()
        assert list(messy.issues.columns) == list(ISSUE_COLUMNS)
        assert set(messy.prospects["category"]) <= {*CATEGORIES, ""}

    def test_ambiguous_close_date_header(self):
        rows = [
            ["ID", "Stage", "Amount", "Close date"],
            ["A", "Won", 10.0, D(2026, 1, 10)],
            ["B", "Lead", 10.0, D(2026, 5, 1)],
            ["C", "Lost", 10.0, D(2026, 2, 1)],
        ]
        model = validate(rows, as_of=AS_OF)
        # One warning on the header row instead of one per closed deal.
        assert issue_set(model) == {("Prospects", 1, "Close date", "warning")}
        closed = dict(zip(model.prospects["id"], model.prospects["closed"], strict=True))
        assert closed["A"] == pd.Timestamp("2026-01-10")
        assert closed["C"] == pd.Timestamp("2026-02-01")
        assert pd.isna(closed["B"])
        assert prospect(model, "B")["expected_close"] == pd.Timestamp("2026-05-01")

    def test_no_expected_close_column_is_one_header_warning(self):
        model = validate(
            [["ID", "Stage", "Amount"], ["A", "Lead", 5], ["B", "Lead", 6]], as_of=AS_OF
        )
        assert issue_set(model) == {("Prospects", 1, "Expected close", "warning")}
        assert len(model.prospects) == 2

    def test_company_and_source_spellings(self):
        rows = [
            ["ID", "Stage", "Amount", "Company", "Source", "Expected close"],
            ["A", "Lead", 1, "ACME corp", "web", D(2026, 4, 1)],
            ["B", "Lead", 1, "ACME Corp", "Web", D(2026, 4, 1)],
            ["C", "Lead", 1, "ACME Corp", "Web", D(2026, 4, 1)],
        ]
        model = validate(rows, as_of=AS_OF)
        assert model.prospects["company"].tolist() == ["ACME Corp"] * 3
        assert model.prospects["source"].tolist() == ["Web"] * 3
        assert issue_set(model) == {
            ("Prospects", 2, "Company", "warning"),
            ("Prospects", 2, "Source", "warning"),
        }

    def test_spelling_tie_goes_to_title_case(self):
        rows = [
            ["ID", "Stage", "Amount", "Owner", "Expected close"],
            ["A", "Lead", 1, "alice SMITH", D(2026, 4, 1)],
            ["B", "Lead", 1, "Alice Smith", D(2026, 4, 1)],
        ]
        model = validate(rows, as_of=AS_OF)
        assert model.prospects["owner"].tolist() == ["Alice Smith", "Alice Smith"]

    def test_won_deal_with_an_unreadable_close_date_is_an_error(self):
        rows = [["ID", "Stage", "Amount", "Closed"], ["A", "Won", 5, "someday"]]
        model = validate(rows, as_of=AS_OF)
        assert model.prospects.empty
        assert model.issues["severity"].tolist() == ["warning", "error"]
        assert model.issues["problem"].tolist() == [
            "not a date; left blank",
            "won deal without a close date or an expected close",
        ]

    def test_ids_typed_as_numbers(self):
        rows = [["ID", "Stage", "Amount"], [1001.0, "Lead", 1], ["1001", "Lead", 2]]
        model = validate(rows, as_of=AS_OF)
        assert model.prospects["id"].tolist() == ["1001"]
        assert problem(model, 3, "ID") == "ID repeated (first on row 2)"


# --------------------------------------------------------------------------- stages


class TestStages:
    """The Stages table: statuses, order, derived rates."""

    def test_french_table_with_derived_rates(self):
        stages = [
            ["Étape", "Activité", "Probabilité", "Taux de conversion", "Délai"],
            ["Gagné", "Commande", None, None, None],  # listed first: still goes after the open
            ["Découverte", "Appel", None, "25%", 90],
            ["Proposition", "Offre", 40, None, 30],
            ["Perdu", None, None, None, None],
        ]
        model = validate([["ID", "Stage", "Amount"], ["A", "Découverte", 1]], stages, as_of=AS_OF)
        got = model.stages
        assert [s.name for s in got.all] == ["Découverte", "Proposition", "Gagné", "Perdu"]
        assert [s.status for s in got.all] == ["open", "open", "won", "lost"]
        discovery, proposal = got.open
        # Proposal: 40 on a 0-100 scale -> 0.4; its conversion to Won = 0.4 / 1 = 0.4.
        assert proposal.probability == pytest.approx(0.4)
        assert proposal.conversion == pytest.approx(0.4)
        # Discovery: P(win) = conversion x P(win | next) = 0.25 x 0.4 = 0.1.
        assert discovery.probability == pytest.approx(0.1)
        assert discovery.conversion == pytest.approx(0.25)
        assert (discovery.activity, discovery.days_to_close) == ("Appel", 90.0)
        assert got.won.probability == 1.0
        assert issue_set(model, "Stages") == {("Stages", 4, "Probabilité", "warning")}
        assert prospect(model, "A")["stage_idx"] == 0

    def test_status_column_and_bad_rows(self):
        stages = [
            ["Stage", "Status", "Probability", "Conversion"],
            ["Call", "open", 0.1, 0.5],
            ["Signed", None, None, None],  # a won name
            ["Meeting", "OPEN", 0.2, 0.5],
            ["Call", "open", 0.3, 0.3],  # repeated name
            [None, "open", 0.3, 0.3],  # no name
            ["Dropped", "lost", None, None],  # lost by status
            ["Pitch", "weird", -0.5, None],  # unknown status; negative probability
        ]
        model = validate([["ID", "Stage", "Amount"], ["A", "Dropped", 0]], stages, as_of=AS_OF)
        assert [s.name for s in model.stages.open] == ["Call", "Meeting", "Pitch"]
        assert model.stages.won.name == "Signed"
        assert model.stages.lost is not None
        assert model.stages.lost.name == "Dropped"
        pitch = model.stages.open[2]
        # Pitch: probability dropped; conversion derived from nothing -> NaN, with a warning.
        assert math.isnan(pitch.probability)
        assert issue_set(model, "Stages") == {
            ("Stages", 5, "Stage", "error"),
            ("Stages", 6, "Stage", "error"),
            ("Stages", 8, "Status", "warning"),
            ("Stages", 8, "Probability", "warning"),
        }
        assert prospect(model, "A")["status"] == "lost"

    def test_structural_errors(self):
        deals = [["ID", "Stage", "Amount"], ["A", "Won", 1]]
        with pytest.raises(InputError, match="no open stage"):
            validate(deals, [["Stage"], ["Won"]], as_of=AS_OF)
        with pytest.raises(InputError, match="no Won stage"):
            validate(deals, [["Stage"], ["Call"]], as_of=AS_OF)
        with pytest.raises(InputError, match="Stages table is empty"):
            validate(deals, [], as_of=AS_OF)
        with pytest.raises(InputError, match="no stages"):
            validate(deals, [["Stage", "Activity"]], as_of=AS_OF)
        with pytest.raises(InputError, match="missing column Stage"):
            validate(deals, [["Name"], ["Call"]], as_of=AS_OF)

    def test_closing_stage_names_work_without_a_lost_stage(self):
        stages = [["Stage"], ["Call"], ["Won"]]
        deals = [
            ["ID", "Stage", "Amount", "Closed"],
            ["A", "Closed lost", 0, None],
            ["B", "Closed won", 5, D(2026, 1, 5)],
        ]
        model = validate(deals, stages, as_of=AS_OF)
        assert model.prospects["status"].tolist() == ["lost", "won"]
        assert model.prospects["stage"].tolist() == ["Lost", "Won"]


# --------------------------------------------------------------------------- targets


class TestTargets:
    """Targets: periods, owners, duplicates."""

    def test_rules(self):
        targets = [
            ["Période", "Commercial", "Objectif CA", "Objectif affaires"],
            ["2026-Q2", "alice", 1000, 3],  # row 2
            [2026, None, "5 000", None],  # row 3: a year typed as a number
            [D(2026, 5, 17), "Bob", 10, -1],  # row 4: a date -> its quarter
            ["FY2027-Q1", "Alice", 5, None],  # row 5: same months and owner as row 2
            ["nope", "Bob", 5, None],  # row 6
            [None, "Bob", 5, None],  # row 7
            ["2026-07", "Bob", -5, None],  # row 8
            ["2026-08", "Bob", "#N/A", None],  # row 9
            ["2026-09", "Bob", None, None],  # row 10
        ]
        settings_ = {"As-of date": AS_OF, "Fiscal year start month": "April", "Granularity": "Q"}
        deals = [["ID", "Stage", "Amount", "Owner"], ["A", "Lead", 1, "Alice"]]
        model = validate(deals, targets=targets, settings=settings_)
        assert model.targets["row"].tolist() == [2, 3, 4]
        assert model.targets["period"].tolist() == ["2026-Q2", "2026", "FY2027-Q1"]
        assert model.targets["start"].tolist() == [
            pd.Timestamp("2026-04-01"),
            pd.Timestamp("2026-01-01"),
            pd.Timestamp("2026-04-01"),
        ]
        assert model.targets["end"].iloc[1] == pd.Timestamp("2027-01-01")
        assert model.targets["owner"].tolist() == ["Alice", "", "Bob"]
        assert model.targets["revenue"].tolist() == [1000.0, 5000.0, 10.0]
        assert model.targets["deals"].iloc[0] == 3.0
        assert math.isnan(model.targets["deals"].iloc[2])
        assert issue_set(model, "Targets") == {
            ("Targets", 2, "Commercial", "warning"),
            ("Targets", 4, "Objectif affaires", "warning"),
            ("Targets", 5, "Période", "error"),
            ("Targets", 6, "Période", "error"),
            ("Targets", 7, "Période", "error"),
            ("Targets", 8, "Objectif CA", "error"),
            ("Targets", 9, "Objectif CA", "error"),
            ("Targets", 10, "Objectif CA", "error"),
        }
        assert problem(model, 5, "Période") == "period and owner repeated (first on row 2)"
        assert model.targets.dtypes.to_dict() == targets_frame([]).dtypes.to_dict()

    def test_missing_required_column(self):
        with pytest.raises(InputError, match="missing column Revenue target"):
            validate(
                [["ID", "Stage", "Amount"], ["A", "Lead", 1]], targets=[["Period"]], as_of=AS_OF
            )


# --------------------------------------------------------------------------- activities


class TestActivities:
    """Activities: dates, canonical types, counts, one owner spelling across tables."""

    def test_rules(self):
        activities = [
            ["Date", "Commercial", "Type", "Deal ID", "Nombre"],
            [D(2026, 3, 1), "alice", "call", "D1", None],  # row 2: count blank = 1
            ["02/03/2026", "Bob", "Email", 1001.0, 2],  # row 3
            ["03/03/2026", "Bob", "email", None, 0],  # row 4: count 0
            [None, "Bob", "Call", None, 1],  # row 5: no date
            ["x", "Bob", None, None, 1],  # row 6: bad date and no type
            ["04/03/2026", "Bob", "EMAIL", None, 1],  # row 7
        ]
        deals = [["ID", "Stage", "Amount", "Owner"], ["D1", "Lead", 1, "Alice"]]
        model = validate(deals, activities=activities, as_of=AS_OF)
        got = model.activities
        assert got["row"].tolist() == [2, 3, 7]
        assert got["type"].tolist() == ["Call", "Email", "Email"]  # Call from the Stages table
        assert got["count"].tolist() == [1.0, 2.0, 1.0]
        assert got["owner"].tolist() == ["Alice", "Bob", "Bob"]
        assert got["prospect_id"].tolist() == ["D1", "1001", ""]
        assert got["date"].tolist() == [
            pd.Timestamp("2026-03-01"),
            pd.Timestamp("2026-03-02"),
            pd.Timestamp("2026-03-04"),
        ]
        assert issue_set(model, "Activities") == {
            ("Activities", 2, "Commercial", "warning"),
            ("Activities", 4, "Nombre", "error"),
            ("Activities", 5, "Date", "error"),
            ("Activities", 6, "Date", "error"),
            ("Activities", 6, "Type", "error"),
        }
        assert got.dtypes.to_dict() == activities_frame([]).dtypes.to_dict()


# --------------------------------------------------------------------------- snapshots


class TestSnapshots:
    """Snapshots: the change log."""

    def test_rules(self):
        snapshots = [
            ["Snapshot date", "ID", "Stage", "Status", "Amount", "Probability", "Owner"],
            [D(2026, 1, 1), "D1", "Lead", None, 100, 0.3, "bob"],  # row 2
            [D(2026, 1, 1), "D1", "Lead", None, 100, 30, "Bob"],  # row 3: repeated key
            [D(2026, 2, 1), "D1", "Nope", None, 100, None, "Bob"],  # row 4: unknown stage
            [D(2026, 2, 1), "D2", "Proposal", "Won", -3, None, "Bob"],  # row 5
            [None, "D3", "Lead", None, 1, None, "Bob"],  # row 6: no date
            [D(2026, 2, 1), None, "Lead", None, 1, None, "Bob"],  # row 7: no ID
        ]
        deals = [["ID", "Stage", "Amount", "Owner"], ["D1", "Lead", 1, "Bob"]]
        model = validate(deals, snapshots=snapshots, as_of=AS_OF)
        got = model.snapshots
        assert got["row"].tolist() == [2, 5]
        assert got["owner"].tolist() == ["Bob", "Bob"]
        assert got["status"].tolist() == ["open", "won"]
        assert got["stage"].tolist() == ["Lead", "Won"]
        assert got["stage_idx"].tolist() == [0, 4]
        assert math.isnan(got["amount"].iloc[1])
        assert issue_set(model, "Snapshots") == {
            ("Snapshots", 2, "Owner", "warning"),
            ("Snapshots", 3, "ID", "error"),
            ("Snapshots", 3, "Probability", "warning"),
            ("Snapshots", 4, "Stage", "error"),
            ("Snapshots", 5, "Status", "warning"),
            ("Snapshots", 5, "Amount", "warning"),
            ("Snapshots", 6, "Snapshot date", "error"),
            ("Snapshots", 7, "ID", "error"),
        }
        assert got.dtypes.to_dict() == snapshots_frame([]).dtypes.to_dict()


# --------------------------------------------------------------------------- settings

DEALS = [["ID", "Stage", "Amount"], ["A", "Lead", 1]]


class TestSettings:
    """The Settings sheet, a mapping or a Settings value."""

    def test_sheet_with_title_and_header(self):
        sheet = [
            ["Réglages"],
            ["Paramètre", "Valeur"],
            ["Date d'arrêté", "31/03/2026"],
            ["Début d'exercice", "avril"],
            ["Périodicité", "trimestre"],
            ["Devise", "USD"],
            ["Monte Carlo trials", 500.0],
            ["Monte Carlo seed", 7],
            ["Stale deal days", 45],
            ["Slip probability", "25%"],
            ["Minimum history", 10],
            [None, None],
            ["Colour", "blue"],  # row 13
        ]
        model = validate(DEALS, settings=sheet)
        assert model.settings == Settings(
            as_of=date(2026, 3, 31),
            fiscal_start_month=4,
            granularity="quarter",
            currency="USD",
            mc_trials=500,
            mc_seed=7,
            stale_days=45,
            slip_probability=0.25,
            min_history=10,
        )
        assert issue_set(model, "Settings") == {("Settings", 13, "Setting", "warning")}

    def test_dataframe_defaults_and_override(self):
        frame = pd.DataFrame(
            {"Setting": ["As-of date", "Currency"], "Value": [D(2026, 1, 31), None]}
        )
        model = validate(DEALS, settings=frame)
        assert model.settings == Settings(as_of=date(2026, 1, 31))
        overridden = validate(DEALS, settings=frame, as_of="2026-02-28")
        assert overridden.settings.as_of == date(2026, 2, 28)

    def test_settings_value_and_mapping(self):
        given_ = Settings(as_of=date(2026, 1, 1), granularity="quarter")
        assert validate(DEALS, settings=given_).settings == given_
        mapped = validate(DEALS, settings={"as_of": "2026-01-01", "fiscal_start_month": 7})
        assert mapped.settings == Settings(as_of=date(2026, 1, 1), fiscal_start_month=7)

    @pytest.mark.parametrize(
        ("label", "value"),
        [
            ("Fiscal year start month", 13),
            ("Fiscal year start month", "Smarch"),
            ("Fiscal year start month", 2.5),
            ("Period granularity", "week"),
            ("Monte Carlo trials", 0),
            ("Monte Carlo trials", 1.5),
            ("Monte Carlo seed", -1),
            ("Stale deal days", "soon"),
            ("Slip probability", 2),
            ("Minimum history", -3),
            ("As-of date", "someday"),
        ],
    )
    def test_out_of_range_names_the_setting(self, label, value):
        with pytest.raises(InputError, match=label) as err:
            validate(DEALS, settings=[["Setting", "Value"], [label, value]], as_of=AS_OF)
        assert err.value.sheet == "Settings"
        assert err.value.row == 2

    def test_no_as_of_anywhere(self):
        with pytest.raises(InputError, match="no as-of date"):
            validate(DEALS)
        with pytest.raises(InputError, match="no as-of date"):
            validate(DEALS, settings=[["Setting", "Value"], ["Currency", "EUR"]])


# --------------------------------------------------------------------------- structure


class TestStructure:
    """Structural problems raise; headers and row numbers are found."""

    def test_missing_required_column_lists_expected_and_found(self):
        with pytest.raises(InputError) as err:
            validate([["Deal ID", "Owner"], ["A", "Bob"]], as_of=AS_OF)
        text = str(err.value)
        assert "missing column Stage, Amount" in text
        assert "columns found: Deal ID, Owner" in text
        assert "ID, Stage, Amount" in text
        assert err.value.sheet == "Prospects"

    def test_empty_tables(self):
        with pytest.raises(InputError, match="Prospects table is empty"):
            validate([], as_of=AS_OF)
        with pytest.raises(InputError, match="Prospects table is empty"):
            validate([[None, " "], []], as_of=AS_OF)

    def test_a_table_without_deals_is_a_model_without_deals(self):
        # A new workbook starts so: its figures are zeros and not-available, not errors.
        for table in (
            [["ID", "Stage", "Amount"], [None, None, None]],
            pd.DataFrame(columns=["ID", "Stage", "Amount"]),
        ):
            model = validate(table, as_of=AS_OF)
            assert model.prospects.empty
            assert model.issues.empty

    def test_header_within_first_ten_rows_only(self):
        titles = [["Report"]] * 9
        found = validate([*titles, ["ID", "Stage", "Amount"], ["A", "Lead", 1]], as_of=AS_OF)
        assert found.prospects["row"].tolist() == [11]
        with pytest.raises(InputError, match="missing column"):
            validate([*titles, [None], ["ID", "Stage", "Amount"], ["A", "Lead", 1]], as_of=AS_OF)

    def test_dataframe_row_numbers(self):
        frame = pd.DataFrame({"ID": ["A", "B"], "Stage": ["Lead", "Nope"], "Amount": [1.0, 2.0]})
        assert issue_set(validate(frame, as_of=AS_OF)) >= {("Prospects", 3, "Stage", "error")}
        moved = validate(frame, as_of=AS_OF, header_rows={"Prospects": 5})
        assert ("Prospects", 7, "Stage", "error") in issue_set(moved)
        assert moved.prospects["row"].tolist() == [6]

    def test_list_row_numbers_follow_header_rows(self):
        rows = [["Title"], ["ID", "Stage", "Amount"], ["A", "Lead", 1]]
        assert validate(rows, as_of=AS_OF).prospects["row"].tolist() == [3]
        shifted = validate(rows, as_of=AS_OF, header_rows={"prospects": 4})
        assert shifted.prospects["row"].tolist() == [5]

    def test_ragged_rows_and_tuples(self):
        rows = [("ID", "Stage", "Amount", "Owner"), ("A", "Lead"), ("B", "Lead", 2.0, "Bob", "x")]
        model = validate(rows, as_of=AS_OF)
        assert model.prospects["id"].tolist() == ["B"]
        assert ("Prospects", 2, "Amount", "error") in issue_set(model)

    def test_dataframe_and_rows_give_the_same_model(self):
        header, *data = [
            ["Deal ID", "Stage", "Amount", "Owner", "Expected close", "Probability"],
            ["A", "Lead", 10.0, "bob", D(2026, 4, 1), None],
            ["B", "Won", "1 000", "Bob", D(2026, 2, 1), 0.9],
            ["C", "Nope", 3.0, "Bob", None, "#N/A"],
        ]
        from_rows = validate([header, *data], as_of=AS_OF)
        from_frame = validate(pd.DataFrame(data, columns=header), as_of=AS_OF)
        pd.testing.assert_frame_equal(from_rows.prospects, from_frame.prospects)
        pd.testing.assert_frame_equal(from_rows.issues, from_frame.issues)

    def test_missing_optional_tables_are_empty_clean_frames(self):
        model = validate(DEALS, as_of=AS_OF)
        assert [s.name for s in model.stages.all] == [s.name for s in default_stages().all]
        for got, empty in (
            (model.targets, targets_frame([])),
            (model.activities, activities_frame([])),
            (model.snapshots, snapshots_frame([])),
        ):
            assert len(got) == 0
            assert got.dtypes.to_dict() == empty.dtypes.to_dict()
        assert issue_set(model) == {("Prospects", 1, "Expected close", "warning")}
        assert list(model.issues.columns) == list(ISSUE_COLUMNS)

    def test_empty_optional_sheet_is_treated_as_absent(self):
        model = validate(DEALS, targets=[], activities=[[None]], as_of=AS_OF)
        assert len(model.targets) == 0
        assert len(model.activities) == 0

    def test_unknown_table_name_is_a_programming_error(self):
        with pytest.raises(ValueError, match="unknown table"):
            match_headers(["ID"], "deals")


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not MAVEN.exists(), reason=f"the Maven CRM export is not at {MAVEN}")
def test_maven_export_with_its_own_headers():
    raw = pd.read_csv(MAVEN)
    stages = [["Stage", "Status"], ["Prospecting", "open"], ["Engaging", "open"],
              ["Won", "won"], ["Lost", "lost"]]  # fmt: skip
    model = validate(raw, stages, as_of=date(2017, 12, 31))
    # close_date is ambiguous: expected close for open deals, close date for the others.
    closed = raw["deal_stage"].isin(["Won", "Lost"])
    kept = model.prospects.set_index("id")
    won = raw[raw["deal_stage"] == "Won"].set_index("opportunity_id")
    assert (kept.loc[won.index, "closed"] == pd.to_datetime(won["close_date"])).all()
    assert (kept.loc[won.index, "amount"] == won["close_value"]).all()
    # Open deals have no close_value: each is an error row, the closed ones are all kept.
    assert len(model.prospects) == int(closed.sum())
    errors = model.issues[model.issues["severity"] == "error"]
    assert set(errors["column"]) == {"close_value"}
    assert len(errors) == int((~closed).sum())
    # Their rows: header row 1, so data row i sits on Excel row i + 2.
    assert set(errors["row"]) == {i + 2 for i in np.flatnonzero(~closed.to_numpy())}


# --------------------------------------------------------------------------- properties

CELLS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.floats(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.dates(),
    st.datetimes(),
    st.sampled_from(["#N/A", "#REF!", "#DIV/0!", "n/a", "-", "Won", "Lost", "Lead", "35%"]),
)
PROSPECT_HEADERS = [
    "ID", "Name", "Company", "Owner", "Source", "Stage", "Amount", "Expected close",
    "Probability", "Category", "Status", "Created", "Closed", "Last activity", "Stage reached",
]  # fmt: skip


def _table(header, rows):
    return [header, *[[*r, *[None] * (len(header) - len(r))][: len(header)] for r in rows]]


@settings(max_examples=60, deadline=None)
@given(
    prospects=st.lists(st.lists(CELLS, max_size=len(PROSPECT_HEADERS)), max_size=12),
    targets=st.lists(st.lists(CELLS, max_size=4), max_size=6),
    activities=st.lists(st.lists(CELLS, max_size=5), max_size=6),
    snapshots=st.lists(st.lists(CELLS, max_size=8), max_size=6),
)
def test_arbitrary_cells_never_raise(prospects, targets, activities, snapshots):
    valid = ["V1", "Deal", "Co", "Rep", "Web", "Lead", 100.0, D(2026, 5, 1)]
    model = validate(
        _table(PROSPECT_HEADERS, [valid, *prospects]),
        targets=_table(["Period", "Owner", "Target", "Deals target"], targets),
        activities=_table(["Date", "Owner", "Type", "Prospect ID", "Count"], activities),
        snapshots=_table(
            [
                "Snapshot date",
                "ID",
                "Owner",
                "Stage",
                "Status",
                "Amount",
                "Expected close",
                "Probability",
            ],
            snapshots,
        ),
        as_of=AS_OF,
    )
    clean = model.prospects
    assert "V1" in set(clean["id"])
    n_open = model.stages.n_open
    assert clean["stage_idx"].between(-1, n_open).all()
    assert ((clean["amount"] > 0) | ((clean["amount"] == 0) & (clean["status"] == "lost"))).all()
    status = np.where(
        clean["stage_idx"] == n_open, "won", np.where(clean["stage_idx"] == -1, "lost", "open")
    )
    assert (clean["status"].to_numpy() == status).all()
    probability = clean["probability"].dropna()
    assert probability.between(0, 1).all()
    assert set(clean["category"]) <= {*CATEGORIES, ""}
    assert set(model.issues["severity"]) <= {"error", "warning"}
    longest = max(map(len, (prospects, targets, activities, snapshots))) + 2
    assert model.issues["row"].between(1, longest).all()
    assert (model.targets["revenue"] >= 0).all()
    assert (model.activities["count"] > 0).all()


@settings(max_examples=60, deadline=None)
@given(
    header=st.lists(st.one_of(st.text(max_size=10), st.none(), st.integers()), max_size=6),
    rows=st.lists(st.lists(CELLS, max_size=6), max_size=5),
    stages=st.lists(st.lists(CELLS, max_size=3), max_size=5),
)
def test_random_headers_raise_only_input_errors(header, rows, stages):
    width = max(map(len, rows), default=0)
    frame = pd.DataFrame([[*r, *[None] * (width - len(r))] for r in rows])
    for table in ([header, *rows], frame):
        with contextlib.suppress(InputError):
            validate(table, as_of=AS_OF)
    with contextlib.suppress(InputError):
        validate(DEALS, [["Stage", "Probability", "Status"], *stages], as_of=AS_OF)


# --------------------------------------------------------------------------- dates after the as-of


class TestLaterThanAsOf:
    """A date of something that happened after the as-of is a warning, never a new today."""

    def rows(self):
        return [
            ["ID", "Stage", "Amount", "Created", "Last activity", "Closed", "Expected close"],
            ["A", "Lead", 1, D(2026, 3, 1), D(2027, 12, 1), None, D(2026, 9, 1)],  # row 2
            ["B", "Won", 5, D(2026, 4, 2), None, D(2026, 4, 9), None],  # row 3
            ["C", "Lead", 1, D(2026, 3, 31), D(2026, 3, 31), None, D(2027, 1, 1)],  # row 4
        ]

    def test_each_later_date_is_a_warning_with_its_row(self):
        activities = [["Date", "Activity"], [D(2026, 3, 2), "Call"], [D(2026, 5, 1), "Call"]]
        model = validate(self.rows(), activities=activities, as_of=AS_OF)
        assert model.settings.as_of == AS_OF
        assert issue_set(model) == {
            ("Prospects", 2, "Last activity", "warning"),
            ("Prospects", 3, "Created", "warning"),
            ("Prospects", 3, "Closed", "warning"),
            ("Activities", 3, "Date", "warning"),
        }  # an expected close ahead (rows 2 and 4) and the as-of day itself are fine
        assert problem(model, 2, "Last activity") == (
            "last active after the as-of date 2026-03-31: a typo? The figures are as of 2026-03-31"
        )
        assert len(model.prospects) == 3  # warned, not left out

    def test_a_log_beyond_the_as_of_is_a_deliberate_look_back(self):
        snapshots = [["Snapshot date", "ID", "Stage", "Amount"], [D(2026, 4, 30), "A", "Lead", 1]]
        model = validate(self.rows(), snapshots=snapshots, as_of=AS_OF)
        assert issue_set(model) == set()


OWNER_SPELLINGS = st.sampled_from(["Alice", "alice", "ALICE", "Bob", "bob", "", None])


def _same_model(left: Model, right: Model) -> None:
    for name in ("prospects", "targets", "activities", "snapshots", "issues"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name))
    assert repr(left.stages) == repr(right.stages)  # NaN fields: equal only as text
    assert left.settings == right.settings


@settings(max_examples=80, deadline=None)
@given(
    deals=st.lists(OWNER_SPELLINGS, min_size=1, max_size=6),
    targets=st.lists(st.tuples(st.sampled_from(["2026-Q1", "2026-04", "x"]), OWNER_SPELLINGS),
                     max_size=4),
    activities=st.lists(OWNER_SPELLINGS, max_size=4),
)  # fmt: skip
def test_without_targets_is_validation_without_the_targets_table(deals, targets, activities):
    """`without_targets` gives what `validate` gives without the Targets table, or None."""
    prospects = [
        ["ID", "Stage", "Amount", "Owner", "Created"],
        *[[f"D{i}", "Lead", 100.0 * (i + 1), o, D(2026, 1, 5)] for i, o in enumerate(deals)],
    ]
    target_rows = [["Period", "Owner", "Revenue target"], *[[p, o, 1000] for p, o in targets]]
    activity_rows = [
        ["Date", "Owner", "Type", "Deal ID"],
        *[[D(2026, 2, 1), o, "Call", "D0"] for o in activities],
    ]
    whole = validate(prospects, targets=target_rows, activities=activity_rows, as_of=AS_OF)
    alone = validate(prospects, activities=activity_rows, as_of=AS_OF)
    derived = without_targets(whole)
    spellings = {str(o) for o in (*deals, *(o for _, o in targets), *activities) if o}
    if len({s.casefold() for s in spellings}) == len(spellings):
        assert derived is not None  # one spelling per name: nothing to unify
    if derived is not None:
        _same_model(derived, alone)
