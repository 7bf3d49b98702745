"""Excel error values in the tables are read as errors and reported as found.

Issue 12, item 8: calamine reads an error cell (#N/A, #DIV/0!) as an empty one, so on
closed deals errors were not reported at all and elsewhere they were "missing" with an
empty value, although the Data issues sheet promises the cell as found.
"""

from __future__ import annotations

import re

import pytest
from python_calamine import CalamineWorkbook

from tests.attacks.books import edit_sheet, prospects

pytestmark = pytest.mark.libreoffice


_TYPE = re.compile(r' t="\w+"')


def _error_cell(xml: str, ref: str, code: str, formula: str = "") -> str:
    """``xml`` with cell ``ref`` holding the error ``code`` (from ``formula`` if given)."""
    f = f"<f>{formula}</f>" if formula else ""

    def put(m: re.Match[str]) -> str:
        attrs = _TYPE.sub("", m.group(1))
        return f'<c r="{ref}"{attrs} t="e">{f}<v>{code}</v></c>'

    return re.sub(rf'<c r="{ref}"([^>]*?)(?:/>|>.*?</c>)', put, xml, count=1, flags=re.S)


def test_error_values_are_reported_as_found_also_on_closed_deals(book, run, opened):
    table = prospects(book)
    header = table[0]
    status = header.index("Status")
    won = next(n for n, r in enumerate(table[1:], 2) if r[status] == "Won")
    lost = next(n for n, r in enumerate(table[1:], 2) if r[status] == "Lost")
    open_ = next(n for n, r in enumerate(table[1:], 2) if r[status] == "Open")
    edits = [
        (f"H{won}", "#N/A", ""),  # Expected close of a won deal
        (f"G{lost}", "#DIV/0!", "1/0"),  # Amount of a lost deal, a formula's result
        (f"L{open_}", "#VALUE!", ""),  # Created of an open deal
    ]

    def put(xml: str) -> str:
        for ref, code, formula in edits:
            xml = _error_cell(xml, ref, code, formula)
        return xml

    edit_sheet(book, "Prospects", put)
    ran = run("refresh", book, "--as-of", "2026-03-22")
    assert ran.code == 0, ran.err
    rows = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Data issues").to_python()
    found = {(r[1], r[2]): (r[3], r[4], r[5]) for r in rows if r[0] == "Prospects"}
    assert found == {
        (float(won), "Expected close"): ("#N/A", "Excel error #N/A; left blank", "warning"),
        (float(lost), "Amount"): ("#DIV/0!", "Excel error #DIV/0!", "error"),
        (float(open_), "Created"): ("#VALUE!", "Excel error #VALUE!; left blank", "warning"),
    }
    assert "Data issues" in opened(book)
