"""The workbook's "Refresh reports" and "Add call" buttons (classic xlwings, Windows or macOS).

The workbook's same-name module calls `refresh_caller` from its ``main()``; xlwings runs
it with the calling workbook open in Excel. `call_caller` appends the Dashboard's call
form to the Forecast calls table. Entry points: they read the clock (the as-of date when
Settings leaves it blank) and show the result to the user.
"""

from __future__ import annotations

import logging
from datetime import date

import xlwings as xw

from pipeline_xl.core.errors import InputError
from pipeline_xl.usecases.calls_live import add_call_book
from pipeline_xl.usecases.refresh_live import refresh_book

__all__ = ["call_caller", "refresh_caller"]

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


def call_caller() -> None:
    """Add the call typed in the Dashboard's form of ``xw.Book.caller()`` (Add call button).

    What was added is written beside the form; a problem is shown as a message, anything
    unexpected too, with the details in the log.
    """
    book = xw.Book.caller()
    try:
        add_call_book(book, today=date.today())  # noqa: DTZ011 - the button runs "now"
    except InputError as err:
        book.app.alert(str(err), title="pipeline-xl")
    except Exception:
        log.exception("adding a call failed")
        book.app.alert("Adding the call failed unexpectedly; details are in the log.",
                       title="pipeline-xl")  # fmt: skip
