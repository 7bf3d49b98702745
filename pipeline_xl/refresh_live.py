"""The "Refresh reports" button: refresh the workbook that called, through Excel itself.

The workbook's same-name module calls `refresh_caller` from its ``main()``; xlwings runs
it with the calling workbook open in Excel (Windows or macOS). The numbers are the same
Report value the headless command writes; only the writer differs.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import xlwings as xw

from pipeline_xl.errors import InputError
from pipeline_xl.io.writer_xlwings import read_book, write_report
from pipeline_xl.model import norm_key
from pipeline_xl.reports import build_report
from pipeline_xl.schema import validate

__all__ = ["refresh_book", "refresh_caller"]

log = logging.getLogger("pipeline_xl.refresh")


def _sheet_as_of(settings: list[list[object]] | None) -> date | None:
    """The Settings table's as-of date, if one is filled in."""
    for row in (settings or [])[1:]:
        if len(row) >= 2 and norm_key(row[0]) in {"asofdate", "asof", "datedarrete"}:
            value = row[1]
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            if value not in (None, ""):
                return None  # let validation read (or report) it
    return None


def refresh_book(
    book: xw.Book, *, as_of: date | None = None, keep_history: bool = False
) -> list[str]:
    """Validate the book's tables, build the report and write it into the book.

    Without an as-of date in the Settings table (or given here), today's date is used.
    Returns the names of the sheets written.
    """
    raw = read_book(book)
    tables = raw.tables
    if "Prospects" not in tables:
        raise InputError(
            "no Prospects table in this workbook",
            sheet="Prospects",
            expected="a table named tblProspects or a sheet named Prospects",
        )
    settings = tables.get("Settings")
    if as_of is None and _sheet_as_of(settings) is None:
        as_of = date.today()  # noqa: DTZ011 - the button runs "now": the adapter reads the clock
    model = validate(
        tables["Prospects"], tables.get("Stages"), tables.get("Targets"),
        tables.get("Activities"), tables.get("Snapshots"), settings,
        as_of=as_of, header_rows=raw.header_rows,
    )  # fmt: skip
    return write_report(book, build_report(model), keep_history=keep_history)


def refresh_caller() -> None:
    """Entry point of the workbook's button: refresh ``xw.Book.caller()``.

    A problem in the data is shown to the user as a message; anything unexpected shows a
    short message too, with the details in the log.
    """
    book = xw.Book.caller()
    try:
        refresh_book(book)
    except InputError as err:
        book.app.alert(str(err), title="pipeline-xl")
    except Exception:
        log.exception("refresh failed")
        book.app.alert("The refresh failed unexpectedly; details are in the log.",
                       title="pipeline-xl")  # fmt: skip
