"""The add_call script of the Lite workbook against the JSON Excel sends, read back as actions.

The Dashboard's call form is filled in the JSON (as a user types it), the embedded script
runs on xlwings' remote engine, and its actions are replayed on a grid of cells: the new
rows sit below tblCalls, the form's amounts are cleared and the status cell says what was
added. A value below the table stops the script before it writes anything.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipeline_xl.core.errors import InputError
from pipeline_xl.usecases.calls_live import add_call_book
from tests.lite.conftest import AS_OF, Bundle, isolated_modules
from tests.lite.test_refresh import Replay, book_json, normal

xw = pytest.importorskip("xlwings")

FORM = ("L", 14)  # restated on purpose: where the builder puts the call form
STATUS = ("K", 23)


def _col(letter: str) -> int:
    return ord(letter) - ord("A")


def _form_json(lite_book, values, below=None):
    """The workbook's JSON with the form filled, the form's names, and an optional value
    below tblCalls."""
    data = book_json(lite_book)
    sheets = [s["name"] for s in data["sheets"]]
    dash = data["sheets"][sheets.index("Dashboard")]
    grid = dash["values"]
    letter, first = FORM
    for i, value in enumerate(values):
        grid[first - 1 + i][_col(letter)] = value
    index = sheets.index("Dashboard")
    data["names"] = [
        {"name": "CallForm", "sheet_index": index,
         "address": f"{letter}{first}:{letter}{first + 6}", "book_scope": True,
         "scope_sheet_name": None, "scope_sheet_index": None},
        {"name": "CallStatus", "sheet_index": index, "address": f"{STATUS[0]}{STATUS[1]}",
         "book_scope": True, "scope_sheet_name": None, "scope_sheet_index": None},
    ]  # fmt: skip
    calls = data["sheets"][sheets.index("Forecast calls")]
    last = len([r for r in calls["values"] if any(v != "" for v in r)])
    if below is not None:
        while len(calls["values"]) < last + 1:
            calls["values"].append([""] * len(calls["values"][0]))
        calls["values"][last][1] = below  # the first row the table would take
    return data, last


def _replayed(book) -> Replay:
    replay = Replay([s.name for s in book.sheets])
    replay.run(book.json()["actions"])
    return replay


def test_the_script_appends_the_form_and_clears_its_amounts(lite_book, bundle: Bundle):
    values = ["2026-12", "anna", "120 000", None, 150000.0, "=HYPERLINK(1)", "Anna"]
    data, last = _form_json(lite_book, values)
    book = xw.Book(json=data)
    with isolated_modules(bundle.modules):
        bundle.namespace["add_call"](book)
    replay = _replayed(book)
    calls = replay.cells["Forecast calls"]
    rows = [[normal(calls.get((last + i, c))) for c in range(1, 9)] for i in (1, 2)]
    assert rows == [
        ["2026-12", "anna", "Commit", 120000.0, AS_OF.isoformat(), "Anna", None, "=HYPERLINK(1)"],
        ["2026-12", "anna", "Best case", 150000.0, AS_OF.isoformat(), "Anna", None,
         "=HYPERLINK(1)"],
    ]  # fmt: skip
    assert calls[(last + 1, 8)] == "'=HYPERLINK(1)"  # written as text, never a formula
    resized = [a for a in book.json()["actions"] if a["func"] == "resizeTable"]
    assert resized
    assert resized[0]["args"][1].endswith(f"$H${last + 2}")
    dashboard = replay.cells["Dashboard"]
    letter, first = FORM
    for offset in (2, 3, 4, 5):  # commit, most likely, best case, comment
        assert normal(dashboard.get((first + offset, _col(letter) + 1))) is None
    assert dashboard[(STATUS[1], _col(STATUS[0]) + 1)] == (
        f"Added Commit 120,000, Best case 150,000 for 2026-12 (anna), dated {AS_OF.isoformat()}"
    )


def test_a_value_below_the_table_stops_it_before_any_write(lite_book, bundled):
    data, last = _form_json(lite_book, [None, None, 5.0], below="mine")
    book = xw.Book(json=data)
    with pytest.raises(InputError, match=rf"Forecast calls!B{last + 1} is not empty"):
        add_call_book(book, today=date(2026, 12, 1))
    assert book.json()["actions"] == []


def test_no_amount_is_refused(lite_book, bundled):
    data, _ = _form_json(lite_book, ["2026-12", "Ann"])
    book = xw.Book(json=data)
    with pytest.raises(InputError, match="no call amount given"):
        add_call_book(book, today=date(2026, 12, 1))
    assert book.json()["actions"] == []
