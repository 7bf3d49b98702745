"""``pipeline-xl import`` / ``metrics`` on real workbooks: presets, re-imports, bad files."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime

import pytest

from pipeline_xl.cli import main
from pipeline_xl.cli.show import TerminalProgress
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.io.package import Package
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.tables import replace_table_rows
from pipeline_xl.usecases.importing import import_export
from pipeline_xl.usecases.metrics import metrics_of
from tests.crm.conftest import DEALS, FORMATS, salesforce_rows, write_export, write_rows

HEADERS = list(PROSPECTS.headers)


def prospects(path) -> dict[str, dict[str, object]]:
    """ID -> {header: value} of the workbook's Prospects table, as the reader sees it."""
    rows = read_workbook(path).table("Prospects")
    assert rows is not None
    header = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(header, r, strict=True)) for r in rows[1:] if r[0] is not None}


def as_day(value: object) -> object:
    return value.date() if isinstance(value, datetime) else value


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


class TestPresetImports:
    @pytest.mark.parametrize("name", sorted(FORMATS))
    def test_import_then_reimport(self, tmp_path, book, capsys, name):
        export = write_export(tmp_path / f"{name}.csv", name)
        code, out, _ = run(capsys, "import", export, "--into", book, "--preset", name)
        assert code == 0
        assert "Mapping (" in out  # the mapping is printed
        assert re.search(r"ID +<- ", out)
        assert f"{len(DEALS)} new, 0 updated" in out
        table = prospects(book)
        assert list(table) == [d["id"] for d in DEALS]  # the blank template row is gone
        for deal in DEALS:
            row = table[str(deal["id"])]
            assert row["Stage"] == deal["stage"]
            assert row["Owner"] == deal["owner"]
            assert row["Name"] == deal["name"]
            assert row["Company"] == deal["company"]
            assert as_day(row["Created"]) == deal["created"]
            assert as_day(row["Closed"]) == deal["closed"]
            if name != "maven" or deal["status"] != "open":
                assert row["Amount"] == pytest.approx(deal["amount"])
        written = book.read_bytes()
        # The same export again: nothing to change, nothing written.
        code, out, _ = run(capsys, "import", export, "--into", book, "--preset", name)
        assert code == 0
        assert "0 new, 0 updated, 5 unchanged" in out
        assert "was not written" in out
        assert book.read_bytes() == written

    def test_formula_like_text_stays_text(self, tmp_path, book, capsys):
        openpyxl = pytest.importorskip("openpyxl")
        export = write_export(tmp_path / "h.csv", "hubspot")
        assert run(capsys, "import", export, "--into", book, "--preset", "hubspot")[0] == 0
        sheet = openpyxl.load_workbook(book)["Prospects"]
        cell = next(c for c in sheet["B"] if c.value == "=Epsilon (formula-like)")
        assert cell.data_type == "s"
        assert cell.quotePrefix
        assert sheet.tables["tblProspects"].ref == f"A1:O{len(DEALS) + 1}"

    def test_excel_export(self, tmp_path, book, capsys):
        openpyxl = pytest.importorskip("openpyxl")
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(["Opportunity pipeline report"])
        sheet.append(["Opportunity ID", "Opportunity Name", "Stage", "Amount", "Close Date"])
        sheet.append(["006A", "Big one", "Closed Won", 12500.5, datetime(2026, 3, 2)])
        sheet.append(["006B", "Small one", "Proposal", 900, datetime(2026, 5, 31)])
        path = tmp_path / "report.xlsx"
        workbook.save(path)
        code, out, _ = run(capsys, "import", path, "--into", book, "--preset", "salesforce")
        assert code == 0, out
        assert "Excel sheet 'Sheet'" in out
        table = prospects(book)
        assert table["006A"]["Amount"] == 12500.5
        assert as_day(table["006A"]["Closed"]) == date(2026, 3, 2)  # Close Date closes won deals
        assert table["006B"]["Closed"] is None
        assert as_day(table["006B"]["Expected close"]) == date(2026, 5, 31)


def add_user_column(book, name: str, values: dict[str, str]) -> None:
    """Add a column of the user's own to tblProspects, as someone would in Excel."""
    package = Package.open(book)
    rows = read_workbook(book).table("Prospects")
    assert rows is not None
    header = [*map(str, rows[0]), name]
    body = [[*r, values.get(str(r[0]))] for r in rows[1:]]
    kinds = ["auto"] * len(header)
    replace_table_rows(package, "tblProspects", header, body, kinds)
    book.write_bytes(package.to_bytes())


class TestChangedExport:
    def test_only_changed_rows_change_and_user_columns_stay(self, tmp_path, book, capsys):
        first = write_export(tmp_path / "a.csv", "salesforce")
        assert run(capsys, "import", first, "--into", book, "--preset", "salesforce")[0] == 0
        add_user_column(book, "My notes", {"D-001": "call Monday", "D-004": "lost on price"})
        before = prospects(book)
        changed = [dict(d) for d in DEALS if d["id"] != "D-005"]  # D-005 no longer exported
        changed[1]["amount"] = 1500.0  # D-002 grows
        changed[0]["stage"] = "Proposal"  # D-001 moves on
        changed.append({**DEALS[0], "id": "D-006", "name": "Zeta", "stage": "Lead"})
        second = write_export(tmp_path / "b.csv", "salesforce", changed)
        code, out, _ = run(capsys, "import", second, "--into", book, "--preset", "salesforce")
        assert code == 0
        assert (
            "1 new, 2 updated, 2 unchanged; 1 deal of the workbook not in the export kept as it is"
            in out
        )
        assert "~ D-001: Stage 'Qualified' -> 'Proposal'" in out
        assert "~ D-002: Amount 1,234.5 -> 1,500" in out
        after = prospects(book)
        assert list(after) == ["D-001", "D-002", "D-003", "D-004", "D-005", "D-006"]
        assert after["D-001"]["My notes"] == "call Monday"
        assert after["D-004"]["My notes"] == "lost on price"
        assert after["D-002"]["Amount"] == 1500.0
        assert after["D-001"]["Stage"] == "Proposal"
        for key in ("D-003", "D-004", "D-005"):  # untouched rows read back identically
            assert after[key] == before[key]
        changes = {k for k in after["D-001"] if after["D-001"][k] != before["D-001"][k]}
        assert changes == {"Stage"}
        assert (tmp_path / "pipeline.xlsm.bak").exists()

    def test_dry_run_writes_nothing(self, tmp_path, book, capsys):
        export = write_export(tmp_path / "p.csv", "pipedrive")
        original = book.read_bytes()
        code, out, _ = run(capsys, "import", export, "--into", book, "--preset", "pipedrive",
                           "--dry-run")  # fmt: skip
        assert code == 0
        assert "Changes that would be made:" in out
        assert "+ D-001: Name='Alpha roll-out', Stage='Qualified', Amount=12,000" in out
        assert "dry run: nothing was written" in out
        assert book.read_bytes() == original
        assert not (tmp_path / "pipeline.xlsm.bak").exists()

    def test_conflicting_rows_are_reported_and_left_out(self, tmp_path, book, capsys):
        rows = [["ID", "Stage", "Amount"], ["A", "Lead", "10"], ["A", "Lead", "20"],
                ["B", "Won", "5"]]  # fmt: skip
        export = write_rows(tmp_path / "dup.csv", rows)
        code, out, _ = run(capsys, "import", export, "--into", book)
        assert code == 0
        assert "conflict: ID A is on export rows 2, 3 with different Amount; not imported" in out
        assert list(prospects(book)) == ["B"]

    def test_stage_map_and_unknown_stages(self, tmp_path, book, capsys):
        rows = [["ID", "Stage", "Amount"], ["A", "Engaging", "10"], ["B", "Demo", "20"]]
        export = write_rows(tmp_path / "s.csv", rows)
        code, out, _ = run(capsys, "import", export, "--into", book,
                           "--stage-map", "Engaging=Qualified")  # fmt: skip
        assert code == 0
        assert "stages not in the workbook's Stages table, written as they are: Demo (1)" in out
        assert "error Stage: unknown stage" in out
        table = prospects(book)
        assert table["A"]["Stage"] == "Qualified"
        assert table["B"]["Stage"] == "Demo"


GOOD = [["ID", "Stage", "Amount"], ["A", "Lead", "10"]]


class TestBadFiles:
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "is empty"),
            (b"ID Stage Amount\r\nA Lead 10\r\n", "only one column"),
            (bytes(range(256)) * 20, "binary"),
            (b"Email,Phone\r\na@b.c,123\r\n", "no column for ID, Stage, Amount"),
            (b"ID,Stage,Amount\r\n", "no data rows"),
        ],
    )
    def test_one_message_exit_2_workbook_unchanged(self, tmp_path, book, capsys, content,
                                                   message):  # fmt: skip
        export = tmp_path / "bad.csv"
        export.write_bytes(content)
        original = book.read_bytes()
        code, out, err = run(capsys, "import", export, "--into", book)
        assert code == 2
        assert err.count("\n") == 1  # one message
        assert err.startswith("pipeline-xl: ")
        assert message in err
        assert out == ""
        assert book.read_bytes() == original
        assert not (tmp_path / "pipeline.xlsm.bak").exists()

    def test_workbook_open_in_excel(self, tmp_path, book, capsys):
        export = write_rows(tmp_path / "ok.csv", GOOD)
        (tmp_path / "~$pipeline.xlsm").write_bytes(b"lock")
        original = book.read_bytes()
        code, _, err = run(capsys, "import", export, "--into", book)
        assert code == 2
        assert "open in Excel" in err
        assert err.count("\n") == 1
        assert book.read_bytes() == original

    def test_missing_workbook_and_bad_options(self, tmp_path, book, capsys):
        export = write_rows(tmp_path / "ok.csv", GOOD)
        assert "does not exist" in run(capsys, "import", export, "--into", tmp_path / "x.xlsm")[2]
        code, _, err = run(capsys, "import", export, "--into", book, "--preset", "zoho")
        assert code == 2
        assert "unknown preset" in err
        code, _, err = run(capsys, "import", export, "--into", book, "--map", "amount=Price")
        assert code == 2
        assert "no column 'Price'" in err


class TestMetrics:
    def test_json_is_one_object_with_the_headline_keys(self, tmp_path, capsys):
        export = write_export(tmp_path / "h.csv", "hubspot")
        code, out, _ = run(capsys, "metrics", export, "--preset", "hubspot", "--json")
        assert code == 0
        data = json.loads(out)
        for key in ("win_rate", "win_rate_value", "won_amount", "avg_won_deal",
                    "median_cycle_days", "p80_cycle_days", "open_amount", "open_count",
                    "won_count", "lost_count"):  # fmt: skip
            assert key in data
        # One won (50,000) and one lost (7,500) deal: 1/2 by count, 50,000/57,500 by value.
        assert data["win_rate"] == 0.5
        assert data["win_rate_value"] == pytest.approx(50000 / 57500)
        assert data["won_amount"] == 50000
        # The won deal ran from 2025-11-20 to 2026-03-02: 10 + 31 + 31 + 28 + 2 = 102 days.
        assert data["median_cycle_days"] == 102
        # Open: 12,000 + 1,234.50 + 99.99 = 13,334.49 over three deals.
        assert data["open_count"] == 3
        assert data["open_amount"] == pytest.approx(13334.49)
        assert data["as_of"] == "2026-03-02"  # the export's latest date

    def test_workbook_metrics_after_import(self, tmp_path, book, capsys):
        export = write_export(tmp_path / "s.csv", "salesforce")
        assert run(capsys, "import", export, "--into", book, "--preset", "salesforce")[0] == 0
        result = metrics_of(book, as_of=date(2026, 3, 31))
        assert result.kind == "workbook"
        assert result.metrics.won_count == 1
        assert result.metrics.lost_count == 1
        code, out, _ = run(capsys, "metrics", book)
        assert code == 0
        assert "Win rate (count)" in out
        assert "50.0%" in out


class TestProgress:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    def test_draws_on_a_terminal_only(self, tmp_path, book):
        export = write_rows(tmp_path / "ok.csv", GOOD)
        tty, pipe = self.Tty(), io.StringIO()
        for stream in (tty, pipe):
            bar = TerminalProgress(stream)
            import_export(export, book, dry_run=True, progress=bar)
            bar.close()
        assert "import" in tty.getvalue()
        assert "comparing with the workbook" in tty.getvalue()
        assert pipe.getvalue() == ""


def test_the_pipeline_xl_command_offers_these_commands(tmp_path, book, capsys):
    from pipeline_xl.cli import main as pipeline_xl

    export = tmp_path / "bad.csv"
    export.write_bytes(b"")
    assert pipeline_xl(["import", str(export), "--into", str(book)]) == 2
    assert "bad.csv is empty" in capsys.readouterr().err
    good = write_rows(tmp_path / "ok.csv", GOOD)
    assert pipeline_xl(["metrics", str(good), "--json", "--as-of", "2026-03-31"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2026-03-31"


def test_imported_workbook_passes_the_audit_and_refreshes(tmp_path, book):
    audit = pytest.importorskip("openxml_audit")
    from pipeline_xl.usecases.refresh import refresh_file

    import_export(write_export(tmp_path / "h.csv", "hubspot"), book, preset="hubspot")
    for file_format in (audit.FileFormat.OFFICE_2016, audit.FileFormat.MICROSOFT_365):
        found = audit.OpenXmlValidator(file_format=file_format).validate(str(book))
        assert [e.description for e in found.errors] == []
    result = refresh_file(book, as_of=date(2026, 3, 31))
    assert result.errors == 0  # every imported deal is valid in the default stages


class TestStoredStageMap:
    def test_a_stage_map_is_stored_and_used_by_later_imports(self, tmp_path, book, capsys):
        export = write_rows(
            tmp_path / "s.csv", [["ID", "Stage", "Amount"], ["A", "Engaging", "10"]]
        )
        code, out, _ = run(capsys, "import", export, "--into", book,
                           "--stage-map", "Engaging=Qualified")  # fmt: skip
        assert code == 0
        assert "Settings CRM stage map: Engaging=Qualified" in out
        assert read_workbook(book).setting("stage_map") == "Engaging=Qualified"
        # The next export is told nothing: the stored map still applies.
        later = write_rows(tmp_path / "t.csv", [["ID", "Stage", "Amount"], ["A", "Engaging", "10"],
                                                ["B", "Engaging", "20"]])  # fmt: skip
        code, out, _ = run(capsys, "import", later, "--into", book)
        assert code == 0
        assert "stages not in the workbook" not in out
        assert "1 new, 0 updated, 1 unchanged" in out
        assert prospects(book)["B"]["Stage"] == "Qualified"
        # A new pair joins the stored ones; a pair for the same CRM stage replaces it.
        run(capsys, "import", later, "--into", book, "--stage-map", "Demo=Lead,engaging=Proposal")
        assert read_workbook(book).setting("stage_map") == "Demo=Lead, engaging=Proposal"
        assert prospects(book)["A"]["Stage"] == "Proposal"

    def test_a_stored_map_naming_a_stage_the_workbook_lost_is_refused(self, tmp_path, book,
                                                                       capsys):  # fmt: skip
        export = write_rows(tmp_path / "s.csv", [["ID", "Stage", "Amount"], ["A", "Demo", "10"]])
        import_export(export, book, stage_map="Demo=Qualified")
        package = Package.open(book)
        replace_table_rows(package, "tblSettings", ["Setting", "Value"],
                           [["As-of date", date(2026, 3, 31)], ["CRM stage map", "Demo=Pitch"]],
                           ["auto", "auto"])  # fmt: skip
        book.write_bytes(package.to_bytes())
        code, _, err = run(capsys, "import", export, "--into", book)
        assert code == 2
        assert "Settings: CRM stage map: not a stage of the workbook's Stages table: 'Pitch'" in err


class TestCurrency:
    def test_the_presets_currency_labels_a_workbook_without_deals(self, tmp_path, book, capsys):
        export = write_export(tmp_path / "m.csv", "maven")
        code, out, _ = run(capsys, "import", export, "--into", book, "--preset", "maven")
        assert code == 0
        assert "amounts in USD (the maven preset); the workbook said EUR" in out
        assert read_workbook(book).setting("currency") == "USD"
        assert "USD" in run(capsys, "metrics", book)[1]
        # Importing again says the currency agrees, and writes nothing.
        before = book.read_bytes()
        out = run(capsys, "import", export, "--into", book, "--preset", "maven")[1]
        assert "amounts in USD (the maven preset), as the workbook's Currency setting says" in out
        assert book.read_bytes() == before

    def test_deals_in_another_currency_are_refused(self, tmp_path, book, capsys):
        export = write_export(tmp_path / "h.csv", "hubspot")
        assert run(capsys, "import", export, "--into", book, "--preset", "hubspot")[0] == 0
        before = book.read_bytes()
        code, _, err = run(capsys, "import", export, "--into", book, "--preset", "hubspot",
                           "--currency", "usd")  # fmt: skip
        assert code == 2
        assert (
            "the export's amounts are in USD (--currency) but the workbook's deals are in EUR"
            in err
        )
        assert "--currency EUR if the export's amounts are in EUR too" in err
        assert book.read_bytes() == before

    @pytest.mark.parametrize("command", ["import", "metrics", "new"])
    def test_a_currency_name_is_refused_with_its_code(self, tmp_path, book, capsys, command):
        export = write_rows(tmp_path / "ok.csv", GOOD)
        argv = {"import": ["import", export, "--into", book], "metrics": ["metrics", export],
                "new": ["new", tmp_path / "n.xlsm", "--empty"]}[command]  # fmt: skip
        code, _, err = run(capsys, *argv, "--currency", "euro")
        assert code == 2
        assert "--currency: not an ISO 4217 currency code: 'euro' (expected the three-letter" in err
        assert "code: EUR)" in err
        assert not (tmp_path / "n.xlsm").exists()


class TestExportsWithoutIds:
    def test_a_salesforce_report_without_ids_imports_and_reimports(self, tmp_path, book, capsys):
        rows = [r[:9] + r[10:] for r in salesforce_rows()]  # the Opportunity ID column removed
        rows[0] = [h if h != "Amount" else "Total ACV" for h in rows[0]]
        for r in rows[1:]:  # M/D/YY, as Salesforce writes dates for a US user
            r[7], r[8] = r[7][:-4] + r[7][-2:], r[8][:-4] + r[8][-2:]
        export = write_rows(tmp_path / "sf.csv", rows)
        code, _, err = run(capsys, "metrics", export, "--preset", "salesforce")
        assert code == 2
        assert '--map "amount=Total ACV"' in err
        argv = ["--preset", "salesforce", "--map", "amount=Total ACV"]
        code, out, _ = run(capsys, "metrics", export, *argv, "--json")
        assert code == 0
        assert json.loads(out)["won_amount"] == 50000
        code, out, _ = run(capsys, "import", export, "--into", book, *argv)
        assert code == 0
        assert "no ID column: deals keyed by Name, Company and Created" in out
        assert "5 new, 0 updated" in out
        table = prospects(book)
        assert all(key.startswith("K-") for key in table)
        by_name = {row["Name"]: row for row in table.values()}
        for deal in DEALS:
            row = by_name[deal["name"]]
            assert as_day(row["Expected close"]) == (deal["closed"] or deal["expected_close"])
            assert as_day(row["Created"]) == deal["created"]
        assert "0 new, 0 updated, 5 unchanged" in run(capsys, "import", export, "--into", book,
                                                      *argv)[1]  # fmt: skip


class TestNewcomerMessages:
    def test_an_export_of_a_known_crm_without_preset_gets_it_suggested(self, tmp_path, capsys):
        export = write_export(tmp_path / "pipeline.csv", "maven")
        code, out, _ = run(capsys, "metrics", export)
        assert code == 0
        assert out.startswith("hint: pipeline.csv has the columns of the Maven Analytics CRM "
                              "sales pipeline export: add --preset maven")  # fmt: skip
        assert "hint:" not in run(capsys, "metrics", export, "--preset", "maven")[1]

    def test_metrics_lists_its_warnings_in_the_right_number(self, tmp_path, capsys):
        rows = [["ID", "Stage", "Amount", "Closed"], ["A", "Won", "10", "2026-03-01"],
                ["B", "Lost", "0", "2026-03-02"]]  # fmt: skip
        code, out, _ = run(capsys, "metrics", write_rows(tmp_path / "x.csv", rows))
        assert code == 0
        assert "Data issues: 0 errors (rows left out), 1 warning\n" in out
        assert "  warning Amount: lost deal with a zero amount; kept (1 row: 3)" in out

    def test_an_option_typo_shows_the_sub_commands_usage(self, tmp_path, capsys):
        export = write_rows(tmp_path / "ok.csv", GOOD)
        with pytest.raises(SystemExit) as caught:
            main(["metrics", str(export), "--asof", "2026-01-31"])
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: pipeline-xl metrics ")
        assert "unrecognized arguments: --asof 2026-01-31 (did you mean --as-of?)" in err

    @pytest.mark.parametrize(
        ("name", "lite", "said"),
        [("Foo.xlsx", [], "expected --lite for an xlwings Lite workbook (.xlsx), or Foo.xlsm"),
         ("Foo.xlsm", ["--lite"], "expected Foo.xlsx with --lite")],
    )  # fmt: skip
    def test_new_with_the_wrong_suffix_names_the_option(self, tmp_path, capsys, name, lite, said):
        code, _, err = run(capsys, "new", tmp_path / name, "--empty", *lite)
        assert code == 2
        assert said in err
        assert not (tmp_path / name).exists()
