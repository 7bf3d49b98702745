"""The workbook's "Refresh reports" button (classic xlwings, Windows or macOS).

The workbook's same-name module calls `refresh_caller` from its ``main()``; xlwings runs
it with the calling workbook open in Excel. An entry point: it reads the clock (the
as-of date when Settings leaves it blank) and shows the result to the user.
"""

from __future__ import annotations

import logging
from datetime import date

import xlwings as xw

from pipeline_xl.core.errors import InputError
from pipeline_xl.usecases.refresh_live import refresh_book

__all__ = ["refresh_caller"]

log = logging.getLogger("pipeline_xl.refresh")


def refresh_caller() -> None:
    """Refresh ``xw.Book.caller()``.

    A problem in the data is shown to the user as a message; anything unexpected shows a
    short message too, with the details in the log.
    """
    book = xw.Book.caller()
    try:
        refresh_book(book, today=date.today())  # noqa: DTZ011 - the button runs "now"
    except InputError as err:
        book.app.alert(str(err), title="pipeline-xl")
    except Exception:
        log.exception("refresh failed")
        book.app.alert(
            "The refresh failed unexpectedly; details are in the log.", title="pipeline-xl"
        )
