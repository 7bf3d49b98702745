"""The workbook's presentation follows the contract: columns, lists, settings, names."""

from __future__ import annotations

import pytest

from pipeline_xl.core import contract
from pipeline_xl.workbook import dashboard_spec, spec


class TestTables:
    def test_every_contract_table_once_in_sheet_order(self):
        assert [t.name for t in spec.TABLES] == [
            "tblProspects",
            "tblStages",
            "tblTargets",
            "tblActivities",
            "tblSettings",
            "tblOwners",
            "tblSnapshots",
            "tblCalls",
        ]

    def test_columns_are_the_contract_fields_in_order(self):
        for table in spec.TABLES:
            assert [c.field for c in table.columns] == [f.name for f in table.table.fields]
            assert table.headers == table.table.headers

    def test_a_look_must_match_the_fields(self):
        looks = {f.name: spec.Look() for f in contract.TARGETS.fields}
        with pytest.raises(ValueError, match=r"no look for \['deals'\]"):
            spec._spec(contract.TARGETS, {k: v for k, v in looks.items() if k != "deals"})
        with pytest.raises(ValueError, match=r"looks for no field \['region'\]"):
            spec._spec(contract.TARGETS, {**looks, "region": spec.Look()})

    def test_lookup_by_any_name_of_the_table(self):
        assert spec.table_by_name("tblStages") is spec.table_by_name("stages")
        assert spec.table_by_name("Targets").name == "tblTargets"


class TestLists:
    def test_status_and_category_lists_are_words_the_validator_reads(self):
        statuses = spec.VALIDATIONS["status"]["source"]
        assert statuses == ["Open", "Won", "Lost"]
        assert [contract.status_word(s) for s in statuses] == ["open", "won", "lost"]
        assert spec.VALIDATIONS["stage_status"]["source"] == statuses
        assert spec.VALIDATIONS["status"]["error_message"] == "Open, Won or Lost."
        categories = spec.VALIDATIONS["category"]["source"]
        assert categories == ["Commit", "Best case", "Pipeline", "Omitted"]
        assert [contract.category_word(c) for c in categories] == list(contract.CATEGORY_LABELS)
        assert spec.VALIDATIONS["category"]["error_message"] == (
            "Commit, Best case, Pipeline or Omitted."
        )

    def test_granularities_are_words_the_validator_reads(self):
        words = [contract.granularity_word(g) for g in spec.GRANULARITY_LIST]
        assert words == ["month", "quarter"]


class TestSettings:
    def test_written_settings_in_contract_order_without_the_owner(self):
        assert [r.label for r in spec.SETTINGS_ROWS] == [
            "As-of date",
            "Fiscal year start month",
            "Period granularity",
            "Currency",
            "Monte Carlo trials",
            "Monte Carlo seed",
            "Stale deal days",
            "Slip probability",
            "Minimum history",
        ]
        kinds = {r.label: r.kind for r in spec.SETTINGS_ROWS}
        assert kinds["As-of date"] == "date"
        assert kinds["Period granularity"] == "text"
        assert kinds["Slip probability"] == "percent"

    def test_names_look_settings_up_by_their_contract_label(self):
        names = dashboard_spec.DEFINED_NAMES
        lookup = 'INDEX(tblSettings[Value],MATCH("As-of date",tblSettings[Setting],0))'
        # The typed Settings as-of date, else the as-of date of the last refresh.
        assert names["AsOfDate"] == f"=IF(ISNUMBER({lookup}),{lookup},RefreshAsOf)"
        assert '"Fiscal year start month"' in names["FiscalStartMonth"]
        assert dashboard_spec.setting_label("mc_seed") == "Monte Carlo seed"
        with pytest.raises(KeyError, match="no setting"):
            dashboard_spec.setting_label("Seed")  # a synonym, not a key


class TestHeadline:
    """The Dashboard's sentence over the key figures: the formula's value, by its mirror."""

    def test_short_ahead_and_rounding_like_excels_fixed(self):
        assert dashboard_spec.headline_text("2026-12", 308341.4, 398400.0, 90058.6, 0.0351) == (
            "2026-12: forecast 308,341 against a target of 398,400, short by 90,059; "
            "chance of reaching it 4%"
        )
        # FIXED rounds halves away from zero (Python's format would give 2 and 9,790).
        assert dashboard_spec.headline_text("2027-01", 2.5, 0.0, -9790.5, 0.995) == (
            "2027-01: forecast 3 against a target of 0, ahead by 9,791; chance of reaching it 100%"
        )

    def test_without_a_target_or_before_the_engine(self):
        assert dashboard_spec.headline_text("2017-12", 1131573.0, 0.0, "#N/A", "#N/A") == (
            "2017-12: forecast 1,131,573; no target for this period (Targets sheet)"
        )
        before = dashboard_spec.headline_text("2026-12", "#NAME?", 5.0, 1.0, 0.5)
        assert before == dashboard_spec.NO_FORECAST_YET
