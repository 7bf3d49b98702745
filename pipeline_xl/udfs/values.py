"""What a worksheet function hands back to Excel: numbers, Excel error values, messages.

A budget model needs numbers: a function never returns text where a number belongs.
When a figure does not exist it returns an Excel error value, which Excel formulas
recognise (``ISNA``, ``IFERROR``) and propagate:

* ``#N/A`` (`NA`): the figure does not apply, e.g. coverage once the target is reached
  (no gap is left to cover);
* ``#DIV/0!`` (`DIV0`): a ratio or average over nothing, e.g. a win rate with no closed
  deal, an average deal with no won deal;
* ``#NUM!`` (`NUM`): a result too large for Excel.

In Python an error value is an `ExcelError`, a ``str`` such as ``"#N/A"``. xlwings Lite
turns such a string into a real Excel error; classic xlwings on Windows gets a COM error
variant (`guard` converts it), which Excel shows as the error itself.

An `InputError` (something the user can fix) shows its message in the cell, prefixed
with the function's name; anything unexpected shows a short generic text and the
traceback goes to the log, never into a cell.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from pipeline_xl.core.errors import InputError

__all__ = ["DIV0", "NA", "NUM", "VALUE", "ExcelError", "guard", "number_or_error"]

log = logging.getLogger("pipeline_xl.udfs")

P = ParamSpec("P")
R = TypeVar("R")


class ExcelError(str):
    """An Excel error value returned by a worksheet function (``#N/A``, ``#DIV/0!``...).

    ``code`` is Excel's error number (xlErrNA = 2042 ...), used to build the COM error
    value on Windows.
    """

    __slots__ = ()

    @property
    def code(self) -> int:
        """Excel's error number of this value."""
        return _CODES[str(self)]


_CODES = {"#N/A": 2042, "#DIV/0!": 2007, "#NUM!": 2036, "#VALUE!": 2015}


NA = ExcelError("#N/A")
DIV0 = ExcelError("#DIV/0!")
NUM = ExcelError("#NUM!")
VALUE = ExcelError("#VALUE!")


def number_or_error(value: float, *, empty: ExcelError = DIV0) -> float | ExcelError:
    """``value`` when it is a finite number; ``empty`` for NaN; `NUM` for infinity."""
    if math.isnan(value):
        return empty
    if math.isinf(value):
        return NUM
    return value


def _com_value(value: object) -> object:
    """An `ExcelError` as the COM error variant classic xlwings passes to Excel."""
    if not isinstance(value, ExcelError):
        return value
    try:
        import pythoncom  # noqa: PLC0415 - Windows only
        from win32com.client import VARIANT  # noqa: PLC0415 - Windows only
    except ImportError:
        return value  # xlwings Lite and plain Python: the "#N/A" string is the error value
    # A cell error is the SCODE 0x800A0000 + Excel's error number (e.g. #N/A: 2042).
    return VARIANT(pythoncom.VT_ERROR, -2146828288 + value.code)


def _cell_error(message: str, fallback: Callable[[str], Exception]) -> Exception:
    """The exception to raise so Excel shows ``message`` as is (no traceback).

    On Windows the COM exception's description is what the cell shows; elsewhere (tests,
    plain Python) the ``fallback`` exception carries the same message.
    """
    try:
        from win32com.server.exception import COMException  # noqa: PLC0415 - Windows only
    except ImportError:
        return fallback(message)
    error: Exception = COMException(description=message)
    return error


def guard(func: Callable[P, R]) -> Callable[P, R]:
    """Shape what a function gives Excel: error values as Excel errors, messages short.

    An `InputError` keeps its message; anything else is logged with its traceback and
    replaced by a generic text, so a cell never shows a traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return cast("R", _com_value(func(*args, **kwargs)))
        except InputError as err:
            raise _cell_error(f"{func.__name__}: {err}", InputError) from None
        except Exception as err:
            log.exception("%s failed", func.__name__)
            message = f"{func.__name__}: unexpected error (details in the pipeline-xl log)"
            raise _cell_error(message, RuntimeError) from err

    return wrapper
