"""The xlwings-Book writer, run against xlwings' remote Book (the engine xlwings Lite uses).

The remote engine records every change as an action instead of driving Excel, so the
test reads back what Excel would be asked to do (its licence key: tests/conftest.py).
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pandas as pd
import pytest

xw = pytest.importorskip("xlwings")

from pipeline_xl.core.display import column_width  # noqa: E402
from pipeline_xl.core.report_model import Block, ChartSpec, Column, Report, ReportSheet  # noqa: E402
from pipeline_xl.io.writer_xlwings import (  # noqa: E402
    _width_unit,
    history_name,
    points_from_characters,
    read_book,
    text_cell,
    write_report,
)


def table_json(name: str, rows: int, cols: int) -> dict[str, object]:
    last = chr(ord("A") + cols - 1)
    return {
        "name": name, "range_address": f"$A$1:${last}${rows}",
        "header_row_range_address": f"$A$1:${last}$1",
        "data_body_range_address": f"$A$2:${last}${rows}", "total_row_range_address": None,
        "show_headers": True, "show_totals": False, "table_style": "TableStyleMedium2",
        "show_autofilter": True,
    }  # fmt: skip


def mark_json(sheet: str, index: int, value: str) -> dict[str, object]:
    """The JSON of a sheet-scoped name ``pipeline_xl.report`` holding ``value``."""
    return {
        "name": "pipeline_xl.report", "refers_to": f'="{value}"', "sheet_index": None,
        "address": None, "book_scope": False, "scope_sheet_name": sheet,
        "scope_sheet_index": index,
    }  # fmt: skip


def book_json(
    sheets: dict[str, tuple[str, list[list[object]]]], marks: dict[str, str] | None = None
) -> dict[str, object]:
    """The JSON a workbook sends: each sheet's values and one table over them, and the
    report marks ``marks`` (sheet -> report name) as sheet-scoped names."""
    order = list(sheets)
    return {
        "client": "Office.js", "version": xw.__version__,
        "book": {"name": "client.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [mark_json(s, order.index(s), v) for s, v in (marks or {}).items()],
        "sheets": [
            {"name": name, "values": rows, "pictures": [],
             "tables": [table_json(table, len(rows), len(rows[0]))]}
            for name, (table, rows) in sheets.items()
        ],
    }  # fmt: skip


def report() -> Report:
    frame = pd.DataFrame({
        "period": ["2026-11", "2026-12"], "won": [100.0, 0.0], "target": [90.0, 120.0],
        "flag": ["F", "U"], "name": ['=HYPERLINK("http://example.com","x")', "plain"],
        "day": [pd.Timestamp("2026-11-30"), pd.NaT],
    })  # fmt: skip
    block = Block(
        "Team by period", frame,
        (Column("period", "Period"), Column("won", "Won", "amount"),
         Column("target", "Target", "amount"), Column("flag", "F/U", "flag"),
         Column("name", "Name"), Column("day", "Day", "date")),
        charts=(ChartSpec("column", "Won", "period", ("won",), ("target",)),),
        notes=("+ one note",),
    )  # fmt: skip
    sheet = ReportSheet("Variance", "Variance", "As of 2026-11-30", (block,))
    log = pd.DataFrame({
        "snapshot_date": [pd.Timestamp("2026-11-30")], "id": ["P1"], "owner": ["Ann"],
        "stage": ["Lead"], "status": ["open"], "amount": [10.0],
        "expected_close": [pd.Timestamp("2026-12-15")], "probability": [float("nan")],
    })  # fmt: skip
    return Report(date(2026, 11, 30), "EUR", (sheet,), log)


def actions(book) -> list[dict[str, object]]:
    return book.json()["actions"]


def test_text_that_looks_like_a_formula_gets_an_apostrophe():
    assert text_cell("=SUM(A1)") == "'=SUM(A1)"
    assert text_cell("-3 deals") == "'-3 deals"
    assert text_cell("plain") == "plain"


def test_history_names_are_unique_and_short():
    taken = {"Variance 2026-11-30"}
    assert history_name("Variance", date(2026, 11, 30), taken) == "Variance 2026-11-30 (2)"
    assert len(history_name("A very long report sheet name", date(2026, 11, 30), set())) <= 31


def test_read_book_gives_tables_by_name():
    book = xw.Book(
        json=book_json({"Prospects": ("tblProspects", [["ID", "Stage"], ["P1", "Lead"]])})
    )
    raw = read_book(book)
    assert raw.tables["Prospects"] == [["ID", "Stage"], ["P1", "Lead"]]
    assert raw.header_rows["Prospects"] == 1


def test_write_report_actions():
    header = ["Snapshot date", "ID", "Owner", "Stage", "Status", "Amount", "Expected close",
              "Probability"]  # fmt: skip
    book = xw.Book(json=book_json({"Snapshots": ("tblSnapshots", [header, [None] * 8])}))
    assert write_report(book, report()) == ["Variance"]
    done = actions(book)
    funcs = [a["func"] for a in done]
    assert funcs[0] == "addSheet"
    values = [a for a in done if a["func"] == "setValues" and a["sheet_position"] == 1]
    table = next(a for a in values if a["start_row"] == 4)  # header row 5 (0-based 4)
    assert table["values"][0] == ["Period", "Won", "Target", "F/U", "Name", "Day"]
    # The formula-looking name goes in as text.
    assert table["values"][1][4] == '\'=HYPERLINK("http://example.com","x")'
    assert table["values"][2][5] in {None, ""}  # NaT stays empty
    formats = {(a["start_column"], a["args"][0]) for a in done if a["func"] == "setNumberFormat"}
    assert (1, '#,##0 "€";-#,##0 "€"') in formats  # the headless writer's format too
    assert (5, "yyyy-mm-dd") in formats
    fills = [a for a in done if a["func"] == "setRangeColor" and a["start_column"] == 3]
    assert [str(f["args"][0]).upper() for f in fills] == ["#C6EFCE", "#FFC7CE"]
    notes = next(a for a in values if a["values"] == [["'+ one note"]])
    assert notes["start_row"] == 7
    chart = next(a for a in done if a["func"] == "addChart")
    # Period, Won and Target are adjacent: one source rectangle; anchored right of the table.
    assert chart["args"][3] == "$A$5:$C$7"
    assert chart["args"][9] == "$H$4"
    snapshot_rows = [
        a["values"] for a in done if a["func"] == "setValues" and a["sheet_position"] == 0
    ]
    assert snapshot_rows[-1][0][:6] == ["2026-11-30", "P1", "Ann", "Lead", "open", 10.0]


def marks(book) -> dict[str, str]:
    """Sheet name -> value of its report mark, as the book's names now hold them."""
    return {
        n["scope_sheet_name"]: n["refers_to"]
        for n in book.api["names"]
        if n["name"] == "pipeline_xl.report"
    }


class TestReportMarks:
    """Only a sheet marked as the tool's report is rewritten (as the headless writer does)."""

    def test_a_marked_report_is_replaced_in_place(self):
        marked = {"Variance": "Variance"}
        book = xw.Book(json=book_json({"Variance": ("tblOld", [["x"], [1.0]])}, marked))
        notes: list[str] = []
        assert write_report(book, report(), notes=notes) == ["Variance"]
        assert [s.name for s in book.sheets] == ["Variance"]
        funcs = [a["func"] for a in actions(book)]
        assert "addSheet" not in funcs
        assert "sheetClear" in funcs or "rangeClear" in funcs
        assert notes == []

    def test_a_new_report_sheet_is_marked(self):
        book = xw.Book(json=book_json({"Notes": ("tblNotes", [["x"], [1.0]])}))
        write_report(book, report())
        assert [s.name for s in book.sheets] == ["Notes", "Variance"]
        added = [a["args"] for a in actions(book) if a["func"] == "namesAdd"]
        assert added == [["pipeline_xl.report", '="Variance"']]
        assert marks(book) == {"Variance": '="Variance"'}

    def test_a_user_sheet_named_like_a_report_is_left_alone(self):
        rows = [["my", "own"], [1.0, 2.0]]
        book = xw.Book(json=book_json({"Variance": ("tblMine", rows)}))
        notes: list[str] = []
        assert write_report(book, report(), notes=notes) == ["Variance (2)"]
        assert [s.name for s in book.sheets] == ["Variance", "Variance (2)"]
        touched = {a.get("sheet_position") for a in actions(book) if a["func"] != "addSheet"}
        assert 0 not in touched  # nothing written, cleared or renamed on the user's sheet
        said = (
            "the sheet Variance was not made by pipeline-xl, so it is left as it is: the "
            "Variance report is on the sheet Variance (2)"
        )
        assert notes == [said]
        assert marks(book) == {"Variance (2)": '="Variance"'}

    def test_keep_history_renames_the_marked_report_and_marks_it_kept(self):
        marked = {"Variance": "Variance"}
        book = xw.Book(json=book_json({"Variance": ("tblOld", [["x"], [1.0]])}, marked))
        write_report(book, report(), keep_history=True)
        assert [s.name for s in book.sheets] == ["Variance 2026-11-30", "Variance"]
        assert marks(book) == {
            "Variance 2026-11-30": '="kept:Variance"',
            "Variance": '="Variance"',
        }

    def test_a_report_renamed_by_the_user_is_found_by_its_mark(self):
        marked = {"Old variance": "Variance"}
        book = xw.Book(json=book_json({"Old variance": ("tblOld", [["x"], [1.0]])}, marked))
        assert write_report(book, report()) == ["Variance"]
        assert [s.name for s in book.sheets] == ["Variance"]  # its name was free again


class TestColumnWidths:
    """The remote engine (Lite's) takes widths in points; the desktop engines characters."""

    def test_points_of_known_excel_widths(self):
        # Excel with its default 11-point font: 8.43 characters = 64 px = 48 pt (the
        # default column), 1 character = 12 px, 10 characters = 75 px, 45 = 320 px.
        assert points_from_characters(8.43) == 48.0
        assert points_from_characters(1) == 9.0
        assert points_from_characters(10) == 56.25
        assert points_from_characters(45) == 240.0
        assert points_from_characters(0.5) == 4.5  # 6 px: below one character no padding
        assert points_from_characters(0) == 0.0

    def test_report_widths_reach_the_remote_engine_in_points(self):
        header = ["Snapshot date", "ID", "Owner", "Stage", "Status", "Amount", "Expected close",
                  "Probability"]  # fmt: skip
        book = xw.Book(json=book_json({"Snapshots": ("tblSnapshots", [header, [None] * 8])}))
        write_report(book, report())
        widths = {
            a["start_column"]: a["args"]
            for a in actions(book)
            if a["func"] == "setColumnWidth" and a["sheet_position"] == 1
        }
        # Characters by the shared rule (core.display.column_width: content x 1.1 + 2, at
        # least 6): Period "2026-11" 9.7, Name (the quoted formula-like text) 42.7, Day
        # "2026-11-30" 13; then as points, as Excel draws them.
        assert widths[0] == [points_from_characters(column_width(7))]
        assert widths == {
            0: [54.75], 1: [43.5], 2: [48.75], 3: [35.25], 4: [228.0], 5: [72.0],
        }  # fmt: skip

    def test_desktop_engines_keep_characters(self):
        desktop = SimpleNamespace(app=SimpleNamespace(engine=SimpleNamespace(type="desktop")))
        remote = SimpleNamespace(app=SimpleNamespace(engine=SimpleNamespace(type="remote")))
        assert _width_unit(desktop)(12.0) == 12.0
        assert _width_unit(remote)(12.0) == 66.75
