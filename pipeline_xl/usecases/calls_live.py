"""Add the Dashboard form's forecast call to a workbook open in Excel (Add call, xlwings Lite).

The form is the range the workbook name `contract.CALL_FORM` refers to (period, owner,
commit, most likely, best case, comment, submitted by); `contract.CALL_STATUS` names the
cell that says what happened. Each amount given becomes one new row of ``tblCalls``
(`pipeline_xl.core.calls.form_calls`), dated like a refresh: the Settings as-of date
when one is typed, else today. The table grows only into empty rows
(`pipeline_xl.io.writer_xlwings.append_rows`); the amounts and the comment are then
cleared so a second click does not call twice. Nothing is written when the form or the
table cannot be read. This module imports nothing xlwings Lite cannot load.
"""

from __future__ import annotations

from datetime import date

import xlwings as xw

from pipeline_xl.core import contract
from pipeline_xl.core.calls import form_calls
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.schema import read_settings_table
from pipeline_xl.io.writer_xlwings import append_rows, read_book, text_cell

__all__ = ["add_call_book"]

_CLEARED = ("commit", "most_likely", "best_case", "comment")


def _named(book: xw.Book, name: str) -> xw.Range:
    for item in book.names:
        if item.name == name:
            return item.refers_to_range
    raise InputError(
        f"{book.name} has no {name} name: its {contract.DASHBOARD} has no call form",
        expected="a workbook made by pipeline-xl new (this version or later)",
    )


def add_call_book(book: xw.Book, *, today: date) -> str:
    """Append the form's call to ``tblCalls``; returns (and shows) what was added.

    Raises:
        InputError: no call form or table, an unreadable setting, period or amount, no
            amount, or a cell in the way of the table.

    """
    form = _named(book, contract.CALL_FORM)
    status = _named(book, contract.CALL_STATUS)
    values = form.options(ndim=1).value
    cells = list(values) if isinstance(values, list | tuple) else [values]
    raw = read_book(book, (contract.SETTINGS_TABLE,))
    day = raw.as_of(today=today) or today
    settings = read_settings_table(raw.table(contract.SETTINGS_TABLE), as_of=day)
    records = form_calls(cells, settings, day)
    append_rows(book, contract.CALLS, records)
    first = records[0]
    called = ", ".join(f"{r['type']} {float(str(r['amount'])):,.0f}" for r in records)
    who = str(first["owner"]) or "the team"
    message = f"Added {called} for {first['period']} ({who}), dated {day.isoformat()}"
    positions = {name: i for i, name in enumerate(contract.CALL_FORM_FIELDS)}
    for name in _CLEARED:
        form[positions[name]].value = None
    status.value = text_cell(message)
    return message
