"""The pure import steps: presets, column mapping, cell conversion and the upsert diff."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core import crm
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.core.crm import presets
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import default_stages
from pipeline_xl.io.exports import read_export
from tests.crm.conftest import DEALS, FORMATS, write_export

HEADER = list(PROSPECTS.headers)
STAGES = default_stages()


def frame(rows: list[list[object]]) -> pd.DataFrame:
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)


def incoming_of(rows, *, preset=None, explicit=None, **options) -> crm.Incoming:
    table = frame(rows)
    mapping = crm.resolve_mapping(list(table.columns), preset=preset, explicit=explicit)
    return crm.convert_export(table, mapping, STAGES, preset=preset, **options)


def table_of(plan: crm.UpsertPlan) -> dict[str, dict[str, object]]:
    """ID -> {header: cell} of the planned table."""
    pos = plan.header.index("ID")
    return {str(r[pos]): dict(zip(plan.header, r, strict=True)) for r in plan.rows}


def day(value: object) -> object:
    return value.date() if isinstance(value, datetime) else value


# Fields each preset's export carries (the synthetic exports in conftest).
COVERED = {
    "salesforce": ["name", "company", "owner", "stage", "amount", "expected_close",
                   "probability", "created", "closed"],
    "hubspot": ["name", "company", "owner", "stage", "amount", "expected_close",
                "probability", "created", "closed"],
    "pipedrive": ["name", "company", "owner", "stage", "status", "amount", "expected_close",
                  "probability", "created", "closed"],
    "maven": ["name", "company", "owner", "stage", "created", "closed", "amount"],
}  # fmt: skip


class TestPresets:
    @pytest.mark.parametrize("name", sorted(FORMATS))
    def test_synthetic_export_imports_exactly(self, tmp_path, name):
        export = read_export(write_export(tmp_path / f"{name}.csv", name))
        preset = crm.PRESETS[name]
        mapping = crm.resolve_mapping(export.headers, preset=preset)
        incoming = crm.convert_export(
            export.frame, mapping, STAGES, rows=export.rows, preset=preset,
            decimal_comma=export.decimal_comma, month_first=export.month_first,
        )  # fmt: skip
        table = table_of(crm.plan_upsert(HEADER, [], incoming))
        assert list(table) == [d["id"] for d in DEALS]
        for deal in DEALS:
            got = table[str(deal["id"])]
            for field in COVERED[name]:
                want = deal[field]
                if field == "status":
                    want = str(want).capitalize()
                if field == "amount" and name == "maven" and deal["status"] == "open":
                    want = None  # Maven leaves open deals without a value
                cell = got[PROSPECTS.header(field)]
                if isinstance(want, float):
                    assert cell == pytest.approx(want), (deal["id"], field)
                else:
                    assert day(cell) == want, (deal["id"], field, cell)
        assert incoming.conflicts == []

    def test_pipedrive_lost_deal_keeps_the_stage_it_was_lost_from(self, tmp_path):
        export = read_export(write_export(tmp_path / "p.csv", "pipedrive"))
        preset = crm.PRESETS["pipedrive"]
        mapping = crm.resolve_mapping(export.headers, preset=preset)
        incoming = crm.convert_export(export.frame, mapping, STAGES, preset=preset,
                                      decimal_comma=export.decimal_comma)  # fmt: skip
        table = table_of(crm.plan_upsert(HEADER, [], incoming))
        assert table["D-004"]["Stage"] == "Lost"
        assert table["D-004"]["Stage reached"] == "Proposal"
        assert table["D-003"]["Stage"] == "Won"  # stage Negotiation, status Won

    def test_every_preset_column_is_documented(self):
        doc = " ".join((presets.__doc__ or "").split())
        for preset in crm.PRESETS.values():
            assert preset.name in doc
            for columns in preset.columns.values():
                assert columns[0] in doc, columns[0]

    def test_presets_feed_prospects_fields_only(self):
        for preset in crm.PRESETS.values():
            assert set(preset.columns) <= set(crm.FIELDS), preset.name
            assert set(crm.REQUIRED) <= set(preset.columns), preset.name

    def test_fields_are_the_prospects_columns_in_order(self):
        # Restated on purpose: the import's fields follow the workbook's table.
        assert crm.FIELDS == (
            "id", "name", "company", "owner", "source", "stage", "amount", "expected_close",
            "probability", "category", "status", "created", "closed", "last_activity",
            "reached",
        )  # fmt: skip
        assert crm.REQUIRED == ("id", "stage", "amount")


class TestMapping:
    def test_synonyms_without_a_preset(self):
        mapping = crm.resolve_mapping(["Deal ID", "Deal stage", "Montant", "Notes"])
        assert mapping.columns == {"id": (0,), "stage": (1,), "amount": (2,)}
        assert set(mapping.sources.values()) == {"header"}
        assert mapping.unused == ("Notes",)

    def test_explicit_map_wins_and_takes_fallbacks(self):
        headers = ["Ref", "Phase", "Value", "Won on", "Lost on", "Amount"]
        explicit = crm.parse_map("id=Ref, stage=phase, amount=Value, closed=Won on|Lost on")
        mapping = crm.resolve_mapping(headers, explicit=explicit)
        assert mapping.columns["amount"] == (2,)
        assert mapping.columns["closed"] == (3, 4)
        assert mapping.sources["amount"] == "--map"
        # "Amount" is still there but unused: one field per column, one column per field.
        assert "Amount" in mapping.unused
        assert any(line.startswith("Closed") and "Won on | Lost on" in line
                   for line in mapping.describe())  # fmt: skip

    def test_workbook_headers_are_accepted_as_field_names(self):
        assert crm.parse_map("Expected close=Due") == {"expected_close": ("Due",)}

    @pytest.mark.parametrize(
        ("text", "message"),
        [("amount", "not a field=column"), ("price=X", "unknown field"),
         ("amount=A,amount=B", "given twice")],
    )  # fmt: skip
    def test_bad_map(self, text, message):
        with pytest.raises(InputError, match=message):
            crm.parse_map(text)

    def test_explicit_column_missing_from_the_export(self):
        with pytest.raises(InputError, match="no column 'Valeur'"):
            crm.resolve_mapping(["ID", "Stage", "Amount"], explicit={"amount": ("Valeur",)})

    def test_export_without_the_needed_columns(self):
        with pytest.raises(InputError, match=r"no column for ID, Stage, Amount.*Email"):
            crm.resolve_mapping(["First Name", "Email", "Phone"])

    def test_close_date_dates_closed_deals_only_when_ambiguous(self):
        assert crm.resolve_mapping(["ID", "Stage", "Amount", "Close date"]).close_date_closes
        assert not crm.resolve_mapping(
            ["ID", "Stage", "Amount", "Expected close"]
        ).close_date_closes

    def test_stage_map(self):
        found = crm.parse_stage_map("Engaging=qualified, Prospecting = Lead", STAGES)
        assert found == {"Engaging": "Qualified", "Prospecting": "Lead"}
        # A CRM stage given twice keeps its later pair, whatever its spelling.
        assert crm.parse_stage_map("Demo=Lead, DEMO=Proposal", STAGES) == {"DEMO": "Proposal"}
        assert crm.format_stage_map(found) == "Engaging=Qualified, Prospecting=Lead"
        assert crm.parse_stage_map(crm.format_stage_map(found), STAGES) == found
        with pytest.raises(InputError, match="--stage-map: not a stage"):
            crm.parse_stage_map("Engaging=Demo", STAGES)
        with pytest.raises(InputError, match="Settings: CRM stage map: not a stage=stage pair"):
            crm.parse_stage_map("Engaging", STAGES, where="Settings: CRM stage map")


class TestConversion:
    def test_decimal_comma_of_the_file_reads_ambiguous_amounts(self):
        rows = [["ID", "Stage", "Amount"], ["A", "Lead", "1.234"], ["B", "Lead", "2,5"]]
        # 1.234 with a decimal comma is one thousand two hundred thirty-four.
        inc = incoming_of(rows, decimal_comma=True)
        assert inc.values["Amount"].tolist() == [1234.0, 2.5]
        assert incoming_of(rows, decimal_comma=False).values["Amount"].tolist()[0] == 1.234

    def test_month_first_dates(self):
        rows = [["ID", "Stage", "Amount", "Created"], ["A", "Lead", "1", "03/04/2026"]]
        assert day(incoming_of(rows, month_first=True).values["Created"][0]) == date(2026, 3, 4)
        assert day(incoming_of(rows).values["Created"][0]) == date(2026, 4, 3)

    def test_probability_scales(self):
        rows = [["ID", "Stage", "Amount", "Probability"], ["A", "Lead", "1", "35"],
                ["B", "Lead", "1", "40%"], ["C", "Lead", "1", ""]]  # fmt: skip
        # 35 on a 0-100 column is 0.35; 40% is 0.40 (not divided twice).
        assert incoming_of(rows).values["Probability"].tolist() == [0.35, 0.4, None]
        rows = [["ID", "Stage", "Amount", "Probability"], ["A", "Lead", "1", "0.35"]]
        assert incoming_of(rows).values["Probability"].tolist() == [0.35]

    def test_unreadable_cells_are_kept_as_text_and_reported(self):
        rows = [["ID", "Stage", "Amount"], ["A", "Lead", "lots"], ["B", "Lead", "5"]]
        inc = incoming_of(rows)
        assert inc.values["Amount"].tolist() == ["lots", 5.0]
        assert any("Amount: 1 cell could not be read" in n.text and "rows 2" in n.text
                   for n in inc.notes)  # fmt: skip

    def test_rows_without_an_id_are_skipped(self):
        rows = [["ID", "Stage", "Amount"], ["", "Lead", "1"], ["B", "Lead", "5"]]
        inc = incoming_of(rows)
        assert inc.ids.tolist() == ["B"]
        assert inc.rows.tolist() == [3]
        assert any("1 row without an ID skipped (export rows 2)" in n.text for n in inc.notes)

    def test_repeated_id_with_the_same_values_is_imported_once(self):
        rows = [["ID", "Stage", "Amount"], ["A", "Lead", "1"], ["A", "Lead", "1.0"]]
        inc = incoming_of(rows)
        assert inc.ids.tolist() == ["A"]
        assert inc.conflicts == []

    def test_repeated_id_with_different_values_is_a_conflict(self):
        rows = [["ID", "Stage", "Amount"], ["A", "Lead", "1"], ["B", "Lead", "2"],
                ["A", "Proposal", "1"]]  # fmt: skip
        inc = incoming_of(rows)
        assert inc.ids.tolist() == ["B"]
        assert inc.conflicts == ["ID A is on export rows 2, 4 with different Stage; not imported"]

    def test_stage_words(self):
        rows = [["ID", "Stage", "Amount"], ["A", "Closed Won (Sales Pipeline)", "1"],
                ["B", "closed-lost", "1"], ["C", "Demo", "1"], ["D", "proposal", "1"]]  # fmt: skip
        inc = incoming_of(rows)
        assert inc.values["Stage"].tolist() == ["Won", "Lost", "Demo", "Proposal"]
        assert inc.status.tolist() == ["won", "lost", "open", "open"]
        assert any("Demo (1)" in n.text for n in inc.notes if n.severity == "warning")
        mapped = incoming_of(rows, stage_map={"demo": "Qualified"})
        assert mapped.values["Stage"].tolist()[2] == "Qualified"

    def test_status_words_in_any_language_move_deals_and_are_written_as_labels(self):
        rows = [["ID", "Stage", "Amount", "Status"], ["A", "Proposal", "1", "Gagnée"],
                ["B", "Qualified", "1", "perdu"], ["C", "Lead", "1", "En cours"],
                ["D", "Lead", "1", "on hold"], ["E", "Signé", "1", ""]]  # fmt: skip
        inc = incoming_of(rows)
        assert inc.values["Stage"].tolist() == ["Won", "Lost", "Lead", "Lead", "Won"]
        assert inc.values["Status"].tolist() == ["Won", "Lost", "Open", "on hold", None]
        assert inc.values["Stage reached"].tolist() == [None, "Qualified", None, None, None]
        assert inc.status.tolist() == ["won", "lost", "open", "open", "won"]
        texts = [n.text for n in inc.notes]
        assert any(t.startswith("Status: 1 deal with a status") and "on hold" in t
                   for t in texts)  # fmt: skip
        assert any("2 deals moved to Won or Lost" in t for t in texts)

    def test_ambiguous_close_date_dates_closed_deals(self):
        rows = [["ID", "Stage", "Amount", "Close Date"], ["A", "Won", "1", "2026-01-02"],
                ["B", "Lead", "1", "2026-05-06"]]  # fmt: skip
        inc = incoming_of(rows)
        assert [day(v) for v in inc.values["Closed"]] == [date(2026, 1, 2), None]
        assert [day(v) for v in inc.values["Expected close"]] == [date(2026, 1, 2),
                                                                   date(2026, 5, 6)]  # fmt: skip

    def test_maven_prices_open_and_lost_deals_from_the_price_list(self):
        rows = [["opportunity_id", "deal_stage", "product", "close_value"],
                ["A", "Won", "GTXPro", "4500"], ["B", "Engaging", "GTXPro", ""],
                ["C", "Lost", "MG Special", "0"], ["D", "Lost", "Unknown", "0"],
                ["E", "Engaging", "MG Special", ""]]  # fmt: skip
        table = frame([["product", "sales_price"], ["GTX Pro", "4821"], ["MG Special", "55"]])
        prices = crm.price_list(table, "product", "sales_price")
        inc = incoming_of(rows, preset=crm.PRESETS["maven"], prices=prices)
        # Won keeps its value; open and lost deals take the list price; unknown stays 0.
        assert inc.values["Amount"].tolist() == [4500.0, 4821.0, 55.0, 0.0, 55.0]
        texts = [n.text for n in inc.notes]
        assert any("2 deals of the 2 open deals without an amount priced" in t for t in texts)
        assert any("1 deal of the 2 lost deals at 0 priced" in t and "Unknown" in t
                   for t in texts)  # fmt: skip
        assert any("GTXPro = GTX Pro" in t for t in texts)


def plan_of(existing: list[list[object]], rows: list[list[object]]) -> crm.UpsertPlan:
    return crm.plan_upsert(existing[0], existing[1:], incoming_of(rows))


EXISTING = [
    ["ID", "Name", "Stage", "Amount", "Expected close", "My notes"],
    ["A", "Alpha", "Lead", 100.0, datetime(2026, 4, 1), "call Monday"],
    [None, None, None, None, None, None],
    ["B", "Beta", "Proposal", 200.0, datetime(2026, 5, 1), None],
    ["Z", "Zeta", "Won", 900.0, datetime(2026, 1, 1), "typed by hand"],
]


class TestUpsert:
    def test_same_export_changes_nothing(self):
        rows = [["ID", "Name", "Stage", "Amount", "Expected close"],
                ["A", "Alpha", "Lead", "100", "2026-04-01"], ["B", "Beta", "Proposal", "200.00",
                                                               "01/05/2026"]]  # fmt: skip
        plan = plan_of(EXISTING, rows)
        assert not plan.changed
        assert plan.unchanged == 2
        assert plan.kept == 1  # Z is not in the export and stays
        assert plan.rows == [list(r) for r in EXISTING[1:]]  # blank row left alone

    def test_changed_export_updates_only_the_changed_cells(self):
        rows = [["ID", "Name", "Stage", "Amount", "Expected close"],
                ["A", "Alpha", "Qualified", "100", "2026-04-01"],
                ["B", "Beta", "Proposal", "250", "2026-05-01"],
                ["C", "Gamma", "Lead", "300", "2026-06-01"]]  # fmt: skip
        plan = plan_of(EXISTING, rows)
        assert plan.updated == {
            "A": [("Stage", "Lead", "Qualified")],
            "B": [("Amount", 200.0, 250.0)],
        }
        assert plan.added == ["C"]
        assert plan.removed_blank == 1
        table = table_of(plan)
        assert list(table) == ["A", "B", "Z", "C"]  # workbook order, then new deals
        assert table["A"]["My notes"] == "call Monday"  # the user's column is kept
        assert table["Z"] == dict(zip(EXISTING[0], EXISTING[4], strict=True))
        assert table["C"]["My notes"] is None
        assert day(table["C"]["Expected close"]) == date(2026, 6, 1)

    def test_a_mapped_field_the_table_lacks_becomes_a_new_column(self):
        rows = [["ID", "Stage", "Amount", "Owner"], ["A", "Lead", "100", "Ann"]]
        plan = plan_of(EXISTING, rows)
        assert plan.new_columns == ["Owner"]
        assert plan.header[-1] == "Owner"
        assert table_of(plan)["A"]["Owner"] == "Ann"
        assert table_of(plan)["B"]["Owner"] is None

    def test_table_without_an_id_column(self):
        with pytest.raises(InputError, match="no ID column"):
            crm.plan_upsert(["Name", "Stage"], [], incoming_of([["ID", "Stage", "Amount"],
                                                                ["A", "Lead", "1"]]))  # fmt: skip

    def test_id_on_two_workbook_rows_updates_the_first(self):
        existing = [["ID", "Stage", "Amount"], ["A", "Lead", 1.0], ["A", "Lead", 2.0]]
        plan = plan_of(existing, [["ID", "Stage", "Amount"], ["A", "Proposal", "1"]])
        assert plan.rows[0][1] == "Proposal"
        assert plan.rows[1][1] == "Lead"
        assert any("more than one row" in n.text for n in plan.notes)

    def test_cells_compare_by_value_not_by_type(self):
        # Excel hands back a date cell as a date or datetime and numbers as floats; an
        # amount typed as text "1,000" in the workbook reads the same as 1000.
        existing = [["ID", "Stage", "Amount", "Expected close"],
                    ["A", "Lead", "1,000", date(2026, 4, 1)]]  # fmt: skip
        rows = [["ID", "Stage", "Amount", "Expected close"], ["A", "Lead", "1000", "2026-04-01"]]
        assert not plan_of(existing, rows).changed

    def test_preview_lists_the_first_changes(self):
        rows = [["ID", "Name", "Stage", "Amount"], ["A", "Alpha", "Qualified", "100"],
                ["C", "Gamma", "Lead", "300"]]  # fmt: skip
        lines = plan_of(EXISTING, rows).preview()
        assert lines == ["+ C: Name='Gamma', Stage='Lead', Amount=300",
                         "~ A: Stage 'Lead' -> 'Qualified'"]  # fmt: skip


deal_ids = st.lists(st.sampled_from([f"D{i}" for i in range(12)]), unique=True, max_size=8)
amounts = st.integers(min_value=1, max_value=10**7)
stages = st.sampled_from(["Lead", "Qualified", "Proposal", "Won", "Lost"])


@st.composite
def exports(draw):
    ids = draw(deal_ids)
    return [["ID", "Stage", "Amount"]] + [[i, draw(stages), str(draw(amounts))] for i in ids]


class TestUpsertProperties:
    @settings(max_examples=60, deadline=None)
    @given(first=exports(), second=exports())
    def test_import_is_idempotent_and_the_last_export_wins(self, first, second):
        plan = crm.plan_upsert(["ID", "Stage", "Amount", "Note"], [], incoming_of(first))
        rows = [[*r[:3], f"n{r[0]}"] if len(r) > 3 else r for r in plan.rows]
        plan = crm.plan_upsert(plan.header, rows, incoming_of(second))
        again = crm.plan_upsert(plan.header, plan.rows, incoming_of(second))
        assert not again.changed
        table = table_of(plan)
        expected = {r[0]: (r[1], float(r[2])) for r in first[1:]}
        expected |= {r[0]: (r[1], float(r[2])) for r in second[1:]}
        assert {k: (v["Stage"], v["Amount"]) for k, v in table.items()} == expected
        # Deals only in the first export keep the user's note; every note survives.
        first_ids = {r[0] for r in first[1:]}
        assert all(v["Note"] == f"n{k}" for k, v in table.items() if k in first_ids)
        assert len(plan.added) + len(plan.updated) + plan.unchanged == len(second) - 1


def test_prospects_frame_from_keeps_headers_and_ids():
    inc = incoming_of([["ID", "Stage", "Amount"], ["A", "Lead", "5"]])
    table = crm.prospects_frame_from(inc)
    # Status is worked out from the stage (the export has none).
    assert list(table.columns) == ["ID", "Stage", "Amount", "Status"]
    assert table.iloc[0].tolist() == ["A", "Lead", 5.0, "Open"]
    assert inc.derived == {"Status"}
    assert np.asarray(table["Amount"]).dtype == object


def test_export_stages_table_is_a_new_workbooks_plus_unknown_stages():
    rows = crm.export_stages_table(crm.PRESETS["maven"], ["Won", "Demo", "Engaging", "Demo"])
    assert rows[0] == ["Stage", "Activity", "Probability", "Conversion", "Days to close",
                       "Status"]  # fmt: skip
    # A new workbook's stages, then Demo (unknown to both); Engaging is mapped by the preset.
    assert [r[0] for r in rows[1:]] == ["Lead", "Qualified", "Proposal", "Negotiation",
                                        "Demo", "Won", "Lost"]  # fmt: skip
    assert rows[5] == ["Demo", "Demo", None, None, None, "open"]
    assert rows[1][:3] == ["Lead", "Call", 0.05]
    # Without the preset, Engaging is one more open stage; "closed won" is a status word.
    names = [r[0] for r in crm.export_stages_table(None, ["Closed won", "Engaging (EU)"])]
    assert names[5:] == ["Engaging (EU)", "Won", "Lost"]


def test_a_worked_out_status_fills_the_tables_column_and_adds_none():
    inc = incoming_of([["ID", "Stage", "Amount"], ["A", "Won", "5"], ["B", "Lead", "7"]])
    with_status = crm.plan_upsert(["ID", "Stage", "Amount", "Status"], [], inc)
    assert [r[3] for r in with_status.rows] == ["Won", "Open"]
    without = crm.plan_upsert(["ID", "Stage", "Amount"], [], inc)
    assert without.header == ["ID", "Stage", "Amount"]
    assert not without.new_columns
