"""Create a ready workbook (``pipeline-xl new``): tables, Dashboard, cached values, code.

A classic ``.xlsm`` (xlwings' VBA, buttons, and the same-name Python module beside it)
or an xlwings Lite ``.xlsx`` (the engine embedded), filled with a sample company or
empty tables with the default stages.
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
from pipeline_xl.workbook.builder import empty_tables, workbook_from_tables
from pipeline_xl.workbook.lite import build_lite_workbook

__all__ = ["new_workbook", "starting_tables", "write_workbook"]


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
) -> Path:
    """Write the classic (``lite`` False) or xlwings Lite workbook holding ``tables``."""
    if lite:
        return build_lite_workbook(
            path, company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
            as_of=as_of,
        )  # fmt: skip
    return workbook_from_tables(
        path, company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of,
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


def new_workbook(
    path: str | os.PathLike[str],
    *,
    company: str,
    sample: int | None,
    empty: bool = False,
    currency: str = "EUR",
    fiscal_start: int = 1,
    as_of: date,
    lite: bool = False,
) -> Path:
    """Create a ready workbook at ``path`` and return it.

    ``currency`` is an ISO 4217 code (``EUR``; ``euro`` is refused with the code meant).
    A classic workbook is an ``.xlsm``, an xlwings Lite one (``lite``) an ``.xlsx``: the
    other suffix is refused with the option that fits it.

    Raises:
        InputError: both ``sample`` and ``empty`` given, or a bad argument.

    """
    currency = currency_code(currency, argument="--currency")
    _check_suffix(Path(path), lite=lite)
    tables = starting_tables(
        sample, empty=empty, company=company, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of,
    )  # fmt: skip
    return write_workbook(
        path, tables, company=company, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of, lite=lite,
    )  # fmt: skip
