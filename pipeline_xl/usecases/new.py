"""Create a ready workbook (``pipeline-xl new``): tables, Dashboard, cached values, code.

A classic ``.xlsm`` (xlwings' VBA, buttons, and the same-name Python module beside it)
or an xlwings Lite ``.xlsx`` (the engine embedded), filled with a sample company or
empty tables with the default stages.

An existing file is never replaced unless told (``replace``, ``--replace``): then the old
workbook (and the module beside it) are kept as ``NAME.bak``. The file is written under
the workbook's lock (`pipeline_xl.io.locking.workbook_lock`), never while Excel or
LibreOffice has it open, never over a read-only file; a symbolic link is followed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline_xl.core.currency import currency_code
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.sample import generate
from pipeline_xl.io.locking import DEFAULT_WAIT, workbook_lock
from pipeline_xl.io.safety import check_not_open, check_replace, check_writable, keep_backup
from pipeline_xl.workbook.builder import (
    check_target,
    empty_tables,
    module_name,
    workbook_from_tables,
)
from pipeline_xl.workbook.lite import build_lite_workbook

__all__ = ["new_workbook", "prepare_target", "starting_tables", "write_workbook"]


def starting_tables(
    sample: int | None,
    *,
    empty: bool = False,
    company: str,
    currency: str,
    fiscal_start: int,
    as_of: date,
) -> dict[str, pd.DataFrame]:
    """The tables a new workbook starts with: a sample company, or empty ones.

    Raises:
        InputError: both a sample size and ``empty`` given.

    """
    if sample is not None and empty:
        raise InputError(
            "choose either a sample or an empty workbook", expected="--sample N or --empty"
        )
    if sample is None:
        return empty_tables()
    return generate(
        sample, as_of=as_of, company=company, currency=currency, fiscal_start_month=fiscal_start
    ).tables


def write_workbook(
    path: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    *,
    company: str,
    currency: str,
    fiscal_start: int,
    as_of: date,
    lite: bool,
    pin_as_of: bool = True,
) -> Path:
    """Write the classic (``lite`` False) or xlwings Lite workbook holding ``tables``.

    ``as_of`` dates the cached values and the Dashboard; with ``pin_as_of`` it is also
    written into the Settings table, else the Settings as-of date stays blank (the day of
    each refresh).
    """
    if lite:
        return build_lite_workbook(
            path, company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
            as_of=as_of, pin_as_of=pin_as_of,
        )  # fmt: skip
    return workbook_from_tables(
        path, company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of, pin_as_of=pin_as_of,
    )  # fmt: skip


def _check_suffix(path: Path, *, lite: bool) -> None:
    """Refuse ``.xlsx`` for a classic workbook and ``.xlsm`` for a Lite one, saying why."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx" and not lite:
        raise InputError(
            f"{path.name}: a classic workbook is a macro-enabled .xlsm (its buttons run the "
            "Python code through xlwings)",
            expected=f"--lite for an xlwings Lite workbook (.xlsx), or {path.stem}.xlsm",
        )
    if suffix == ".xlsm" and lite:
        raise InputError(
            f"{path.name}: an xlwings Lite workbook is an .xlsx (it holds no macros)",
            expected=f"{path.stem}.xlsx with --lite, or no --lite for a classic .xlsm",
        )


def prepare_target(
    given: Path, real: Path, *, replace: bool, command: str, lite: bool
) -> list[Path]:
    """Check that a command may write a new workbook at ``given`` (``real``: links followed).

    Refuses an existing workbook (or, for a classic one, an existing module of the same
    name beside it) unless ``replace``, a workbook open in Excel or LibreOffice and a
    read-only one; with ``replace`` the files to be replaced are backed up. Call it
    holding the workbook's lock. Returns the backups made.

    Raises:
        InputError: one of the refusals above, or a backup that cannot be written.

    """
    check_not_open(given)
    module = real.with_suffix(".py")
    check_replace(given, replace=replace, command=command)
    if not lite:
        check_replace(module, replace=replace, command=command)
    check_writable(real)
    if not replace:
        return []
    if not lite:
        check_writable(module)
    saved = [keep_backup(real), None if lite else keep_backup(module)]
    return [p for p in saved if p is not None]


def new_workbook(
    path: str | os.PathLike[str],
    *,
    company: str,
    sample: int | None,
    empty: bool = False,
    currency: str = "EUR",
    fiscal_start: int = 1,
    as_of: date | None = None,
    today: date | None = None,
    lite: bool = False,
    replace: bool = False,
    wait: float = DEFAULT_WAIT,
) -> Path:
    """Create a ready workbook at ``path`` and return it (a link: the file it points to).

    ``as_of`` (``--as-of``) is written into the Settings table; without it the workbook
    is built as of ``today`` and its Settings as-of date stays blank, which means the day
    of each refresh. ``replace`` allows replacing an existing workbook (kept as
    ``NAME.bak``).

    ``currency`` is an ISO 4217 code (``EUR``; ``euro`` is refused with the code meant).
    A classic workbook is an ``.xlsm``, an xlwings Lite one (``lite``) an ``.xlsx``: the
    other suffix is refused with the option that fits it.

    Raises:
        InputError: neither ``as_of`` nor ``today``, both ``sample`` and ``empty`` given, a
            bad argument, an existing file
            without ``replace``, a workbook open in Excel, read-only or being written by
            another command, or a write that fails.

    """
    if as_of is None and today is None:
        raise InputError("no as-of date", expected="as_of, or today for a blank Settings as-of")
    currency = currency_code(currency, argument="--currency")
    given = Path(path)
    _check_suffix(given, lite=lite)
    check_target(given, lite=lite)
    if not lite:
        module_name(given)
    day = as_of or today
    assert day is not None  # noqa: S101 - checked above
    with workbook_lock(given, wait=wait) as real:
        prepare_target(given, real, replace=replace, command="pipeline-xl new", lite=lite)
        tables = starting_tables(
            sample, empty=empty, company=company, currency=currency,
            fiscal_start=fiscal_start, as_of=day,
        )  # fmt: skip
        return write_workbook(
            real, tables, company=company, currency=currency, fiscal_start=fiscal_start,
            as_of=day, lite=lite, pin_as_of=as_of is not None,
        )  # fmt: skip
