"""CRM data arrives whole: preset stages, exports without IDs, M/D/YY dates, currencies."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import ClassVar

import pandas as pd
import pytest

from pipeline_xl.core import crm
from pipeline_xl.core.crm import presets
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Stage, Stages, default_stages
from pipeline_xl.io.exports import read_export
from tests.crm.conftest import FORMATS, salesforce_rows, write_export, write_rows

STAGES = default_stages()

# Each preset's standard open stages and the workbook stage they land in: restated on
# purpose, as the crm docstring gives them (Lead: before any conversation; Qualified:
# talking, before an offer; Proposal: an offer out; Negotiation: negotiating, contract).
LANDS_IN = {
    "maven": {"Prospecting": "Lead", "Engaging": "Qualified"},
    "salesforce": {
        "Prospecting": "Lead", "Qualification": "Qualified", "Needs Analysis": "Qualified",
        "Value Proposition": "Qualified", "Id. Decision Makers": "Qualified",
        "Perception Analysis": "Qualified", "Proposal/Price Quote": "Proposal",
        "Negotiation/Review": "Negotiation",
    },
    "hubspot": {
        "Appointment Scheduled": "Lead", "Qualified To Buy": "Qualified",
        "Presentation Scheduled": "Qualified", "Decision Maker Bought-In": "Proposal",
        "Contract Sent": "Negotiation",
    },
    "pipedrive": {
        "Qualified": "Qualified", "Contact Made": "Qualified", "Demo Scheduled": "Qualified",
        "Proposal Made": "Proposal", "Negotiations Started": "Negotiation",
    },
}  # fmt: skip


def frame(rows: list[list[object]]) -> pd.DataFrame:
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)


def convert(rows, stages=STAGES, *, preset=None, stage_map=None, need_key=True, **options):
    table = frame(rows)
    mapping = crm.resolve_mapping(list(table.columns), preset=preset, need_key=need_key)
    if stage_map is None:
        stage_map = crm.preset_stage_map(preset, stages)
    return crm.convert_export(table, mapping, stages, preset=preset, stage_map=stage_map,
                              **options)  # fmt: skip


def texts(incoming: crm.Incoming, severity: str | None = None) -> list[str]:
    return [n.text for n in incoming.notes if severity in (None, n.severity)]


def custom_stages(*names: str) -> Stages:
    opened = tuple(Stage(n, n, 0.5, 0.5, 30.0) for n in names)
    return Stages((*opened, Stage("Won", "Order", 1.0, float("nan"), 0.0, "won")))


class TestPresetStages:
    @pytest.mark.parametrize("name", sorted(LANDS_IN))
    def test_standard_stages_land_in_the_workbooks_process(self, name):
        preset = crm.PRESETS[name]
        stage_column = preset.columns["stage"][0]
        crm_stages = [s for s, _ in preset.stages]
        assert crm_stages == list(LANDS_IN[name])
        rows = [["ID", stage_column, "Amount"]] + [[f"D{i}", s, "10"] for i, s in
                                                    enumerate(crm_stages)]  # fmt: skip
        incoming = convert(rows, preset=preset)
        assert incoming.values["Stage"].tolist() == list(LANDS_IN[name].values())
        assert set(incoming.status.tolist()) == {"open"}
        assert not texts(incoming, "warning")

    def test_the_mapping_is_documented(self):
        doc = " ".join((presets.__doc__ or "").split())
        for preset in crm.PRESETS.values():
            for crm_stage, ours in preset.stages:
                assert crm_stage in doc, crm_stage
                assert ours in {s.name for s in STAGES.open}

    def test_a_workbook_stage_of_the_crms_name_wins(self):
        stages = custom_stages("Prospecting", "Engaging", "Offer")
        rows = [["opportunity_id", "deal_stage", "close_value"], ["A", "Engaging", "1"]]
        incoming = convert(rows, stages, preset=crm.PRESETS["maven"])
        assert incoming.values["Stage"].tolist() == ["Engaging"]

    def test_a_process_without_the_target_leaves_the_stage_unknown_and_says_how_to_map(self):
        stages = custom_stages("Discovery", "Demo")
        assert crm.preset_stage_map(crm.PRESETS["maven"], stages) == {}
        rows = [["opportunity_id", "deal_stage", "close_value"], ["A", "Engaging", "1"]]
        warned = texts(convert(rows, stages, preset=crm.PRESETS["maven"]), "warning")
        assert any("Engaging (1)" in t and "(Discovery, Demo)" in t
                   and '--stage-map "Engaging=Discovery,..."' in t for t in warned)  # fmt: skip

    def test_stage_map_layers_preset_then_stored_then_given(self):
        maven = crm.PRESETS["maven"]
        assert crm.stage_map_for(maven, STAGES) == {"Prospecting": "Lead", "Engaging": "Qualified"}
        stored = {"engaging": "Proposal", "Demo": "Lead"}
        layered = crm.stage_map_for(maven, STAGES, stored=stored, given={"DEMO": "Negotiation"})
        assert layered == {"Prospecting": "Lead", "engaging": "Proposal", "DEMO": "Negotiation"}

    def test_mapped_stages_are_reported(self):
        rows = [["opportunity_id", "deal_stage", "close_value"], ["A", "Engaging", ""],
                ["B", "Engaging", ""], ["C", "Prospecting", ""], ["D", "Won", "5"]]  # fmt: skip
        info = texts(convert(rows, preset=crm.PRESETS["maven"]), "info")
        assert ("stages mapped onto the workbook's: Engaging -> Qualified (2), "
                "Prospecting -> Lead (1)") in info  # fmt: skip


class TestMatchingPreset:
    @pytest.mark.parametrize("name", sorted(FORMATS))
    def test_each_presets_export_is_recognised(self, tmp_path, name):
        export = read_export(write_export(tmp_path / f"{name}.csv", name))
        found = crm.matching_preset(export.headers)
        assert found is not None
        assert found.name == name

    def test_a_plain_table_matches_no_preset(self):
        assert crm.matching_preset(["ID", "Stage", "Amount", "Owner"]) is None
        # Stage and Amount alone are not enough to name Salesforce.
        assert crm.matching_preset(["Stage", "Amount", "Notes"]) is None


class TestExportsWithoutIds:
    ROWS: ClassVar[list[list[str]]] = [
        ["Opportunity Name", "Account Name", "Stage", "Amount", "Created Date"],
        ["Alpha roll-out", "Société Alpha", "Qualification", "100", "2026-01-05"],
        ["Beta", "", "Closed Won", "200", "2026-02-10"],
        ["", "", "Qualification", "5", ""],
    ]

    def test_deals_are_keyed_by_name_company_and_created(self):
        preset = crm.PRESETS["salesforce"]
        mapping = crm.resolve_mapping(self.ROWS[0], preset=preset)
        assert mapping.keyed_by == ("name", "company", "created")
        assert "ID      <- none: deals keyed by Name, Company and Created" in mapping.describe()
        incoming = convert(self.ROWS, preset=preset)
        # A second witness: the key is sha256 of the folded name, company and ISO day.
        witness = hashlib.sha256(b"alpharollout|societealpha|2026-01-05").hexdigest()
        assert incoming.ids.tolist()[0] == f"K-{witness[:12].upper()}"
        assert len(incoming) == 2  # the row with nothing to key it by is skipped
        warned = texts(incoming, "warning")
        assert any(t.startswith("no ID column: deals keyed by Name, Company and Created")
                   and "renamed in the CRM, or whose company or created date changes, will "
                   "be seen as a new deal" in t for t in warned)  # fmt: skip
        assert any("1 row without anything to key them by skipped (export rows 4)" in t
                   for t in warned)  # fmt: skip

    def test_keys_survive_spelling_and_date_formats_but_not_a_rename(self):
        day = date(2026, 1, 5)
        key = crm.deal_key("Alpha roll-out", "Société Alpha", day)
        assert key == crm.deal_key("ALPHA  Roll Out", "societe alpha", datetime(2026, 1, 5, 9, 30))
        assert key != crm.deal_key("Alpha roll-out v2", "Société Alpha", day)
        assert key != crm.deal_key("Alpha roll-out", "Société Alpha", date(2026, 1, 6))
        assert crm.deal_key(None, "", None) is None

    def test_reimport_matches_and_a_renamed_deal_is_new(self):
        first = crm.plan_upsert(["ID", "Name", "Stage", "Amount"], [], convert(self.ROWS))
        again = crm.plan_upsert(first.header, first.rows, convert(self.ROWS))
        assert not again.changed
        renamed = [list(r) for r in self.ROWS]
        renamed[2][0] = "Beta (renewal)"
        plan = crm.plan_upsert(first.header, first.rows, convert(renamed))
        assert len(plan.added) == 1
        assert plan.kept == 1  # the old Beta stays, as any deal missing from an export

    def test_without_id_or_name_import_refuses_and_metrics_counts_rows(self):
        rows = [["Stage", "Amount", "Owner"], ["Lead", "10", "Ann"], ["Lead", "10", "Ann"]]
        with pytest.raises(InputError, match=r"no column for ID.*and an ID or a Name column"):
            crm.resolve_mapping(rows[0])
        incoming = convert(rows, need_key=False)
        assert incoming.ids.tolist() == ["row 2", "row 3"]  # two deals, not one repeated


class TestMissingAmount:
    def test_a_report_naming_the_amount_after_a_field_gets_the_map_to_use(self):
        header = [h if h != "Amount" else "Total ACV" for h in salesforce_rows()[0]]
        with pytest.raises(InputError) as caught:
            crm.resolve_mapping(header, preset=crm.PRESETS["salesforce"], need_key=False)
        message = str(caught.value)
        assert message.startswith("the export: no column for Amount;")
        assert 'columns that may hold the amount: Total ACV (--map "amount=Total ACV")' in message
        assert "expected a deals export with Stage and Amount columns (--preset" in message


class TestDateOrder:
    def test_month_first_from_the_columns_own_values(self):
        rows = [["ID", "Stage", "Amount", "Close date"], ["A", "Won", "1", "6/13/24"],
                ["B", "Won", "1", "5/2/24"]]  # fmt: skip
        incoming = convert(rows)
        closed = [v.date() for v in incoming.values["Closed"]]
        assert closed == [date(2024, 6, 13), date(2024, 5, 2)]
        assert not texts(incoming, "warning")

    def test_a_column_that_does_not_tell_follows_the_file(self):
        rows = [["ID", "Stage", "Amount", "Created"], ["A", "Lead", "1", "1/2/24"]]
        assert convert(rows, month_first=True).values["Created"][0].date() == date(2024, 1, 2)
        assert convert(rows, month_first=False).values["Created"][0].date() == date(2024, 2, 1)

    def test_an_untold_order_is_read_day_first_and_reported(self):
        rows = [["ID", "Stage", "Amount", "Created"], ["A", "Lead", "1", "1/2/24"]]
        incoming = convert(rows)
        assert incoming.values["Created"][0].date() == date(2024, 2, 1)
        said = ("Created: 1 date such as 1/2/24 could be day/month or month/day and no date "
                "of the file tells; read day first: check them")  # fmt: skip
        assert said in texts(incoming, "warning")

    def test_a_column_with_both_orders_is_reported(self):
        rows = [["ID", "Stage", "Amount", "Created"], ["A", "Lead", "1", "6/13/24"],
                ["B", "Lead", "1", "7/14/24"], ["C", "Lead", "1", "25/12/2024"],
                ["D", "Lead", "1", "1/2/24"]]  # fmt: skip
        incoming = convert(rows)
        days = [v.date() for v in incoming.values["Created"]]
        assert days == [date(2024, 6, 13), date(2024, 7, 14), date(2024, 12, 25),
                        date(2024, 1, 2)]  # fmt: skip
        said = "Created: dates of both orders (6/13/24 can only be month first, 25/12/2024 only"
        assert any(t.startswith(said) for t in texts(incoming))

    def test_a_salesforce_report_in_m_d_yy(self, tmp_path):
        rows = [["Opportunity Name", "Stage", "Amount", "Close Date", "Created Date"],
                ["A", "Closed Won", "$1,000.00", "6/13/24", "2/3/24"],
                ["B", "Qualification", "$500.00", "7/1/24", "3/4/24"]]  # fmt: skip
        export = read_export(write_rows(tmp_path / "sf.csv", rows))
        assert export.month_first is True
        assert "dates month first (6/13/24)" in export.describe()
        preset = crm.PRESETS["salesforce"]
        mapping = crm.resolve_mapping(export.headers, preset=preset)
        incoming = crm.convert_export(export.frame, mapping, STAGES, preset=preset,
                                      month_first=export.month_first,
                                      stage_map=crm.preset_stage_map(preset, STAGES))  # fmt: skip
        # Created Date tells nothing by itself: the Close Date column tells the file's order.
        created = [v.date() for v in incoming.values["Created"]]
        assert created == [date(2024, 2, 3), date(2024, 3, 4)]
        assert incoming.values["Stage"].tolist() == ["Won", "Qualified"]


class TestCurrencyColumn:
    def test_one_code_is_the_exports_currency(self, tmp_path):
        export = read_export(write_export(tmp_path / "p.csv", "pipedrive"))
        preset = crm.PRESETS["pipedrive"]
        mapping = crm.resolve_mapping(export.headers, preset=preset)
        assert [export.headers[p] for p in mapping.currency] == ["Deal - Currency"]
        assert "Deal - Currency" not in mapping.unused
        incoming = crm.convert_export(export.frame, mapping, STAGES, preset=preset,
                                      decimal_comma=True)  # fmt: skip
        assert incoming.currency == "EUR"

    @pytest.mark.parametrize(
        ("codes", "said"),
        [(["EUR", "usd", "EUR"], "amounts in several currencies (EUR (2), USD (1))"),
         (["euro", "euro", "euro"], "not an ISO 4217 currency code: 'euro'")],
    )  # fmt: skip
    def test_several_or_unknown_currencies_are_reported(self, codes, said):
        rows = [["Deal - ID", "Deal - Stage", "Deal - Value", "Deal - Currency"]]
        rows += [[f"D{i}", "Qualified", "10", c] for i, c in enumerate(codes)]
        incoming = convert(rows, preset=crm.PRESETS["pipedrive"])
        assert incoming.currency is None
        assert any(said in t for t in texts(incoming, "warning"))


class TestPreviewWithTheWorkbooksOwnHeaders:
    def test_accepted_headers_preview_new_and_changed_deals(self):
        existing = [["Deal ID", "Deal name", "Phase", "Montant"], ["A", "Alpha", "Lead", 100.0]]
        rows = [["ID", "Name", "Stage", "Amount"], ["A", "Alpha", "Qualified", "100"],
                ["C", "Gamma", "Lead", "300"]]  # fmt: skip
        plan = crm.plan_upsert(existing[0], existing[1:], convert(rows))
        assert plan.preview() == ["+ C: Deal name='Gamma', Phase='Lead', Montant=300",
                                  "~ A: Phase 'Lead' -> 'Qualified'"]  # fmt: skip
