"""Refresh a workbook open in Excel through xlwings (the Refresh button, xlwings Lite).

The numbers are the same Report value the headless refresh writes; only the reader and
the writer differ (`pipeline_xl.io.writer_xlwings`). As there, an as-of date before the
workbook's latest record gives a view of the pipeline as it stood then and records no
snapshot (the report's change log is empty, which the writer leaves alone), and a date
before anything the workbook has dated is refused. This module imports nothing that
xlwings Lite cannot load (no file-format library), so Lite's ``main.py`` embeds it.
"""

from __future__ import annotations

import logging
from datetime import date

import xlwings as xw

from pipeline_xl.core import contract
from pipeline_xl.core.excel import excel_serial
from pipeline_xl.core.reports import build_report
from pipeline_xl.io.writer_xlwings import read_book, write_report

__all__ = ["refresh_book"]

log = logging.getLogger("pipeline_xl.refresh")


def refresh_book(
    book: xw.Book, *, today: date, as_of: date | None = None, keep_history: bool = False
) -> list[str]:
    """Validate the book's tables, build the report and write it into the book.

    The as-of date is ``as_of``, else the Settings table's, else ``today`` (the entry
    point reads the clock); it goes into the ``RefreshAsOf`` name the Dashboard falls
    back on. A sheet named like a report that the tool did not create is left alone
    (the report goes to a free name, logged as a warning). Returns the names of the
    sheets written.

    Raises:
        InputError: no Prospects table, a structural problem in the tables, or an as-of
            date before anything the workbook has dated.

    """
    raw = read_book(book)
    if as_of is None and raw.setting("as_of") in (None, ""):
        as_of = today
    model = raw.validate(as_of=as_of)
    report = build_report(model)
    notes: list[str] = []
    written = write_report(book, report, keep_history=keep_history, notes=notes)
    for note in notes:  # a user sheet named like a report was left alone
        log.warning("%s", note)
    # The Dashboard reads AsOfDate, which falls back on this name: Excel recalculates
    # the Dashboard's formulas for the refresh's date.
    for name in book.names:
        if name.name == contract.REFRESH_AS_OF:
            name.refers_to = f"={excel_serial(report.as_of):g}"
    return written
