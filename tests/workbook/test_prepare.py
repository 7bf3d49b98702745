"""Preparing the given tables: header matching, stage statuses and order, settings, owners."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.workbook.prepare import (
    align,
    owner_names,
    prepare,
    settings_frame,
    stage_process,
)
from pipeline_xl.workbook.spec import table_by_name

AS_OF = date(2026, 3, 15)


class TestAlign:
    def test_headers_match_like_validation_and_other_columns_follow(self):
        given = pd.DataFrame(
            {
                "Réf": ["A1", "A2"],
                "Montant": [100.0, 200.0],
                "Étape": ["Lead", "Won"],
                "Sales rep": ["Ann", "Bob"],
                "Notes": ["x", "y"],
            }
        )
        frame, columns = align(given, table_by_name("tblProspects"))
        headers = [c.header for c in columns]
        assert headers[:4] == ["ID", "Name", "Company", "Owner"]
        assert headers[-1] == "Notes"
        assert columns[-1].field is None
        assert frame["ID"].tolist() == ["A1", "A2"]
        assert frame["Amount"].tolist() == [100.0, 200.0]
        assert frame["Stage"].tolist() == ["Lead", "Won"]
        assert frame["Owner"].tolist() == ["Ann", "Bob"]
        assert frame["Notes"].tolist() == ["x", "y"]
        assert frame["Closed"].isna().all()
        assert "Montant" not in frame.columns

    def test_a_second_column_for_one_field_is_kept_after_the_table(self):
        given = pd.DataFrame({"Amount": [1.0], "Deal value": [2.0]})
        frame, columns = align(given, table_by_name("tblProspects"))
        assert frame["Amount"].tolist() == [1.0]
        assert columns[-1].header == "Deal value"
        assert columns[-1].kind == "number"

    def test_missing_table_gives_the_headers_only(self):
        frame, columns = align(None, table_by_name("tblTargets"))
        assert list(frame.columns) == ["Period", "Owner", "Revenue target", "Deals target"]
        assert len(frame) == 0
        assert len(columns) == 4


class TestStageProcess:
    @staticmethod
    def _stages(names, statuses, activities=None):
        frame = pd.DataFrame({"Stage": names, "Status": statuses})
        frame["Activity"] = activities or [f"do {n}" for n in names]
        return frame

    def test_blank_statuses_are_filled_from_the_names_open_first(self):
        given = self._stages(
            ["Gagné", "Contact", "Abandonné", "Devis", "Closed won"],
            [None, "", None, "  ", float("nan")],
        )
        ordered, activities, won = stage_process(given)
        assert ordered["Stage"].tolist() == ["Contact", "Devis", "Gagné", "Closed won", "Abandonné"]
        assert ordered["Status"].tolist() == ["Open", "Open", "Won", "Won", "Lost"]
        assert activities == ["do Contact", "do Devis"]
        assert won == "do Gagné"

    def test_given_statuses_win_over_the_names_and_are_kept_as_typed(self):
        names = ["Lead", "Won", "Signed off", "Dropped"]
        given = self._stages(names, [None, "open", "Gagnée", "x"])
        ordered, activities, won = stage_process(given)
        # "Won" is open because its Status says so; "Dropped" has an unknown status word,
        # kept for validation to flag, and its name says nothing: open.
        assert ordered["Stage"].tolist() == ["Lead", "Won", "Dropped", "Signed off"]
        assert ordered["Status"].tolist() == ["Open", "open", "x", "Gagnée"]
        assert activities == ["do Lead", "do Won", "do Dropped"]
        assert won == "do Signed off"

    @pytest.mark.parametrize(
        ("names", "statuses"),
        [(["Lead", "Perdue"], [None, None]), (["Signée", "Perdue"], [None, None])],
        ids=["no-won-stage", "no-open-stage"],
    )
    def test_a_process_without_open_or_won_stage_is_refused(self, names, statuses):
        with pytest.raises(InputError, match="Stages table needs open stages and a Won stage"):
            stage_process(self._stages(names, statuses))


class TestSettings:
    def test_build_arguments_win_and_other_labels_are_understood(self):
        given = pd.DataFrame(
            {
                "Paramètre": ["Devise", "Graine", "Périodicité", "Note", None, "Owner"],
                "Valeur": ["USD", 7.0, "Quarter", "keep me", None, "Ann"],
            }
        )
        frame = settings_frame(given, as_of=AS_OF, fiscal_start=4, currency="EUR")
        rows = dict(zip(frame["Setting"], frame["Value"], strict=True))
        assert list(frame["Setting"]) == [
            "As-of date",
            "Fiscal year start month",
            "Period granularity",
            "Currency",
            "Monte Carlo trials",
            "Monte Carlo seed",
            "Stale deal days",
            "Slip probability",
            "Minimum history",
            "Note",
            "Owner",
        ]
        assert rows["As-of date"] == pd.Timestamp(AS_OF)
        assert rows["Fiscal year start month"] == 4.0
        assert rows["Currency"] == "EUR"  # the build's currency, not the given one
        assert rows["Monte Carlo seed"] == 7.0
        assert rows["Period granularity"] == "Quarter"
        assert rows["Note"] == "keep me"
        assert rows["Owner"] == "Ann"

    def test_defaults_when_nothing_is_given(self):
        frame = settings_frame(None, as_of=AS_OF, fiscal_start=1, currency="EUR")
        rows = dict(zip(frame["Setting"], frame["Value"], strict=True))
        assert rows["Period granularity"] == "Month"
        assert rows["Monte Carlo trials"] == 10000.0
        assert rows["Slip probability"] == 0.2


def test_owner_list_reads_every_owner_column():
    tables = {
        "Prospects": pd.DataFrame({"Sales rep": ["bob", "Ann ", None]}),
        "Targets": pd.DataFrame({"Owner": ["Carla"]}),
        "Activities": pd.DataFrame({"Commercial": ["Bob", "Dan"]}),
    }
    assert owner_names(tables)["Owner"].tolist() == ["Ann", "bob", "Carla", "Dan"]


def test_prepared_tables_follow_the_contract():
    prepared = prepare({}, currency="EUR", fiscal_start=1, as_of=AS_OF)
    assert set(prepared.by_sheet) == {
        "Prospects",
        "Stages",
        "Targets",
        "Activities",
        "Settings",
        "Snapshots",
        "Forecast calls",
    }
    assert prepared.frames["tblStages"]["Status"].tolist() == [
        "Open",
        "Open",
        "Open",
        "Open",
        "Won",
        "Lost",
    ]
    assert prepared.periods == {"month": "2026-03", "quarter": "2026-Q1"}
    assert len(prepared.layout.plan_rows) == 5
