"""The embedded refresh script against the JSON a Lite workbook sends, read back as actions.

xlwings Lite hands a script an ``xw.Book`` built from the workbook's JSON (book, sheets
with their values from A1, tables, names; date cells as ISO strings) and sends the
actions the script queued back to Excel. xlwings' remote engine does the same here
(``xw.Book(json=...)``; its licence key: tests/conftest.py). The actions are replayed on
a plain grid of cells and compared with the report the headless path computes.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

from pipeline_xl.core.report_model import sheet_cells
from pipeline_xl.core.reports import build_report
from pipeline_xl.core.sample import generate
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.usecases.refresh import refresh_file
from pipeline_xl.workbook.lite import TASKPANES_PART, WEBEXTENSION_PART, build_lite_workbook
from tests.lite.conftest import AS_OF, Bundle, isolated_modules, lite_properties, parts

xw = pytest.importorskip("xlwings")

# Restated on purpose (a second witness of the contract).
REPORTS = ("Variance", "Activity plan", "Forecast range", "Pipeline flow", "Data issues")

Cells = dict[tuple[int, int], object]
_FORMULA_START = ("=", "+", "-", "@")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Actions that only format or draw: they change no cell value.
_NO_VALUES = re.compile(
    r"^(set(?!Values$|SheetName$|Formula)|add(?!Sheet$)|show|activate|resize|names)"
)


def book_json(path: Path) -> dict[str, object]:
    """The JSON xlwings Lite sends for ``path``: every sheet's values from A1, its tables,
    and the sheet-scoped names (the report marks of a refreshed workbook)."""
    book = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    names = []
    for index, ws in enumerate(book.worksheets):
        for name, defined in ws.defined_names.items():
            names.append({
                "name": name, "refers_to": f"={defined.attr_text}", "sheet_index": None,
                "address": None, "book_scope": False, "scope_sheet_name": ws.title,
                "scope_sheet_index": index,
            })  # fmt: skip
        values = [
            [_json_value(c.value) for c in row]
            for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=ws.max_column)
        ]
        tables = []
        for table in ws.tables.values():
            c1, r1, c2, r2 = range_boundaries(table.ref)
            first, last = get_column_letter(c1), get_column_letter(c2)
            tables.append({
                "name": table.name, "range_address": table.ref,
                "header_row_range_address": f"{first}{r1}:{last}{r1}",
                "data_body_range_address": f"{first}{r1 + 1}:{last}{r2}",
                "total_row_range_address": None, "show_headers": True, "show_totals": False,
                "table_style": "TableStyleMedium2", "show_autofilter": True,
            })  # fmt: skip
        sheets.append({"name": ws.title, "values": values, "pictures": [], "tables": tables})
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": path.name, "active_sheet_index": 0, "selection": "A1"},
        "names": names,
        "sheets": sheets,
    }


def _json_value(value: object) -> object:
    """A cell as Office.js sends it: "" when empty, dates as ISO text (UTC), floats."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class Replay:
    """Excel's side of the actions, reduced to sheet names and cell values."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self.cells: dict[str, Cells] = {n: {} for n in names}

    def run(self, actions: list[dict[str, object]]) -> None:
        for action in actions:
            self.apply(action)

    def apply(self, action: dict[str, object]) -> None:
        func = str(action["func"])
        position = action.get("sheet_position")
        args = action.get("args") or []
        assert isinstance(args, list)
        if func == "addSheet":
            index, name = int(args[0]), str(args[1])
            self.names.insert(index, name)
            self.cells[name] = {}
        elif func == "sheetDelete":
            assert isinstance(position, int)
            del self.cells[self.names.pop(position)]
        elif func == "setSheetName":
            assert isinstance(position, int)
            old, new = self.names[position], str(args[0])
            self.names[position] = new
            self.cells[new] = self.cells.pop(old)
        elif func == "setValues":
            self._set(action)
        elif func in {"sheetClear", "sheetClearContents"}:
            assert isinstance(position, int)
            self.cells[self.names[position]] = {}
        elif func in {"rangeClear", "rangeClearContents"}:
            self._clear(action)
        elif not _NO_VALUES.match(func):
            raise AssertionError(f"the replay does not know the action {func!r}")

    def _set(self, action: dict[str, object]) -> None:
        position, row, col = action["sheet_position"], action["start_row"], action["start_column"]
        assert isinstance(position, int)
        assert isinstance(row, int)
        assert isinstance(col, int)
        values = action["values"]
        assert isinstance(values, list)
        sheet = self.cells[self.names[position]]
        for i, line in enumerate(values):
            for j, value in enumerate(line):
                sheet[(row + i + 1, col + j + 1)] = value

    def _clear(self, action: dict[str, object]) -> None:
        position, row, col = action["sheet_position"], action["start_row"], action["start_column"]
        rows, cols = action["row_count"], action["column_count"]
        assert isinstance(position, int)
        assert isinstance(row, int)
        assert isinstance(col, int)
        assert isinstance(rows, int)
        assert isinstance(cols, int)
        sheet = self.cells[self.names[position]]
        for key in [k for k in sheet if row < k[0] <= row + rows and col < k[1] <= col + cols]:
            del sheet[key]


def normal(value: object) -> object:
    """One spelling per value: text without Excel's quote prefix, days as ISO text."""
    out = value
    if value is None or value == "":
        out = None
    elif isinstance(value, str):
        quoted = value.startswith("'") and value[1:].startswith(_FORMULA_START)
        out = value[1:] if quoted else value
    elif isinstance(value, datetime):
        out = value.date().isoformat() if value.time() == datetime.min.time() else value
    elif isinstance(value, date):
        out = value.isoformat()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out = float(value)
    return out


def _filled(cells: Cells) -> dict[tuple[int, int], object]:
    out = {k: normal(v) for k, v in cells.items()}
    return {k: v for k, v in out.items() if v is not None}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return a == b


def assert_same_cells(got: Cells, expected: Cells, sheet: str) -> None:
    a, b = _filled(got), _filled(expected)
    wrong = [k for k in sorted(set(a) | set(b)) if not _same(a.get(k), b.get(k))]
    shown = [f"{get_column_letter(c)}{r}: {a.get((r, c))!r} != {b.get((r, c))!r}" for r, c in wrong]
    assert not wrong, f"{sheet}: {len(wrong)} cells differ, e.g. " + "; ".join(shown[:4])


@pytest.fixture(scope="module", params=[0, 25], ids=["clean", "messy"])
def client_book(request, tmp_path_factory) -> Path:
    """A Lite workbook of a sample company (clean, or with junk cells planted)."""
    tables = generate(250, as_of=AS_OF, seed=11, messy=request.param).tables
    path = tmp_path_factory.mktemp("client") / "client.xlsx"
    return build_lite_workbook(path, company="Client Co", tables=tables, as_of=AS_OF)


def _run_script(bundle: Bundle, path: Path) -> Replay:
    book = xw.Book(json=book_json(path))
    names = [s.name for s in book.sheets]
    with isolated_modules(bundle.modules):
        bundle.namespace["refresh_reports"](book)
    replay = Replay(names)
    replay.run(book.json()["actions"])
    return replay


@pytest.fixture(scope="module")
def refreshed(client_book: Path, bundle: Bundle) -> Replay:
    return _run_script(bundle, client_book)


def _expected(path: Path) -> Iterator[tuple[str, Cells]]:
    """The report sheets' cells as the headless path computes them (calamine reader)."""
    report = build_report(read_workbook(path).validate())
    for sheet in report.sheets:
        yield sheet.name, {(r, c): v for r, c, v, _ in sheet_cells(sheet)}


def test_adds_the_five_report_sheets_after_the_data(refreshed):
    assert refreshed.names[-len(REPORTS) :] == list(REPORTS)
    assert refreshed.names[0] == "Dashboard"


def test_report_numbers_equal_the_headless_report(refreshed, client_book):
    for name, expected in _expected(client_book):
        assert_same_cells(refreshed.cells[name], expected, name)


def test_records_todays_snapshot_in_the_snapshots_table(refreshed):
    cells = refreshed.cells["Snapshots"]
    dates = {normal(v) for (row, col), v in cells.items() if col == 1 and row > 1}
    assert AS_OF.isoformat() in dates


def test_a_second_refresh_replaces_the_report_sheets(client_book, bundle, tmp_path):
    """Refresh a workbook that already holds reports (written headlessly): same names."""
    copy = tmp_path / client_book.name
    shutil.copy(client_book, copy)
    refresh_file(copy)
    replay = _run_script(bundle, copy)
    assert replay.names.count("Variance") == 1
    assert replay.names[-len(REPORTS) :] == list(REPORTS)
    # The first refresh recorded today's snapshot: the expected report reads it too.
    for name, expected in _expected(copy):
        assert_same_cells(replay.cells[name], expected, name)


def test_lite_and_headless_refresh_write_the_same_numbers(client_book, refreshed, tmp_path):
    copy = tmp_path / client_book.name
    shutil.copy(client_book, copy)
    refresh_file(copy)
    book = openpyxl.load_workbook(copy, data_only=True)
    for name in REPORTS:
        ws = book[name]
        cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row}
        assert_same_cells(refreshed.cells[name], cells, name)


def test_a_headless_refresh_keeps_the_lite_code(client_book, tmp_path):
    """The command-line refresh of a client's Lite workbook leaves its add-in parts alone."""
    copy = tmp_path / client_book.name
    shutil.copy(client_book, copy)
    refresh_file(copy)
    before, after = parts(client_book), parts(copy)
    for name in (WEBEXTENSION_PART, TASKPANES_PART, "xl/webextensions/_rels/taskpanes.xml.rels"):
        assert after[name] == before[name]
    assert lite_properties(copy) == lite_properties(client_book)


def test_a_workbook_without_prospects_prints_the_problem(bundle, capsys):
    payload = {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": "empty.xlsx", "active_sheet_index": 0, "selection": "A1"},
        "names": [],
        "sheets": [{"name": "Sheet1", "values": [[""]], "pictures": [], "tables": []}],
    }
    book = xw.Book(json=payload)
    with isolated_modules(bundle.modules):
        bundle.namespace["refresh_reports"](book)
    assert "no Prospects table" in capsys.readouterr().out
    assert book.json()["actions"] == []
