"""The Settings table: ``Setting | Value`` rows (or a mapping) into `Settings`.

Labels are the contract's (`pipeline_xl.core.contract.SETTINGS`, English and French). An
unknown label is a warning; a value that cannot be read or is out of range raises
`InputError` naming the setting; a setting given twice keeps the later value (warning). A
currency that is not an ISO 4217 code (`pipeline_xl.core.currency`) is kept as typed, with
a warning: the Dashboard would read "amounts in EURO".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pandas as pd

from pipeline_xl.core.cells import clean_text, parse_number
from pipeline_xl.core.contract import (
    SETTINGS,
    SETTINGS_TABLE,
    granularity_word,
    norm_key,
    setting_named,
)
from pipeline_xl.core.currency import currency_code
from pipeline_xl.core.dates import parse_date, parse_month
from pipeline_xl.core.errors import InputError, Issue
from pipeline_xl.core.model import Settings
from pipeline_xl.core.validation.reading import HEADER_SCAN, Issues, RawTable, header_row_hint

__all__ = ["read_settings"]


_SETTING_HEADERS = frozenset(map(norm_key, SETTINGS_TABLE.field("setting").headers))
_SETTING_COLUMN = SETTINGS_TABLE.header("setting")
_VALUE_HEADERS = frozenset(map(norm_key, SETTINGS_TABLE.field("value").headers))
# Whole-number settings: (lowest, highest) accepted value.
_INT_RANGES = {
    "fiscal_start_month": (1, 12),
    "mc_trials": (1, 10_000_000),
    "mc_seed": (0, 2**63 - 1),
    "stale_days": (1, 3650),
    "min_history": (0, 1_000_000),
}


def _settings_entries(
    raw: RawTable | Mapping[str, object], header_rows: Mapping[str, int] | None
) -> list[tuple[int | None, object, object]]:
    """(Excel row, key cell, value cell) for each non-blank settings row."""
    if isinstance(raw, Mapping):
        return [(None, k, v) for k, v in raw.items()]
    hint = header_row_hint(header_rows, SETTINGS_TABLE.sheet)
    if isinstance(raw, pd.DataFrame):
        heads = [norm_key(c) for c in raw.columns]
        key_col = next((j for j, h in enumerate(heads) if h in _SETTING_HEADERS), 0)
        value_col = next((j for j, h in enumerate(heads) if h in _VALUE_HEADERS), key_col + 1)
        if raw.shape[1] <= max(key_col, value_col):
            return []
        first = (hint if hint is not None else 1) + 1
        keys = raw.iloc[:, key_col].tolist()
        values = raw.iloc[:, value_col].tolist()
        return [(first + i, k, v) for i, (k, v) in enumerate(zip(keys, values, strict=True))]
    rows = [list(r) for r in raw]
    start = 0
    for i, row in enumerate(rows[:HEADER_SCAN]):
        if row and norm_key(clean_text(row[0])) in _SETTING_HEADERS:
            start = i + 1
            break
    offset = 0 if hint is None or start == 0 else hint - start
    return [
        (i + 1 + offset, row[0] if row else None, row[1] if len(row) > 1 else None)
        for i, row in enumerate(rows)
        if i >= start
    ]


def _settings_error(
    label: str, problem: str, row: int | None, value: object, expected: str
) -> InputError:
    return InputError(
        f"{label}: {problem}",
        sheet=SETTINGS_TABLE.sheet,
        row=row,
        column="Value",
        value=value,
        expected=expected,
    )


def _setting_value(name: str, label: str, row: int | None, value: object) -> object:
    """The typed value of one setting; InputError naming it when unreadable or out of range."""
    if name == "as_of":
        day = parse_date(value)
        if day is None:
            raise _settings_error(label, "not a date", row, value, "a date such as 2026-03-31")
        return day
    if name == "granularity":
        found = granularity_word(clean_text(value))
        if found is not None:
            return found
        raise _settings_error(label, "not a period length", row, value, "month or quarter")
    if name in ("currency", "owner", "stage_map"):
        return clean_text(value)
    if name == "slip_probability":
        rate = parse_number(value, rate=True)
        if rate is None or not 0.0 <= rate <= 1.0:
            raise _settings_error(
                label, "out of range", row, value, "a rate from 0 to 1 (or 0% to 100%)"
            )
        return rate
    low, high = _INT_RANGES[name]
    number = parse_number(value)
    if number is None and name == "fiscal_start_month":
        number = parse_month(value)
    expected = f"a whole number from {low} to {high}"
    if name == "fiscal_start_month":
        expected += " or a month name"
    if number is None or not float(number).is_integer() or not low <= number <= high:
        raise _settings_error(label, "out of range", row, value, expected)
    return int(number)


def _check_currency(text: str, row: int | None, cell: object, issues: Issues) -> None:
    """A warning when the Currency setting is not an ISO 4217 code (amounts keep it as typed)."""
    try:
        currency_code(text)
    except InputError as err:
        problem = f"not an ISO 4217 currency code; amounts are labelled as typed ({err.expected})"
        issues.add(Issue(SETTINGS_TABLE.sheet, row, "Value", cell, problem, "warning"))


def read_settings(
    raw: RawTable | Mapping[str, object] | Settings | None,
    as_of: object,
    header_rows: Mapping[str, int] | None,
    issues: Issues,
) -> Settings:
    """The run settings from a Settings table, a mapping or a `Settings`; ``as_of`` wins.

    Raises:
        InputError: no as-of date, or a setting that cannot be read or is out of range.

    """
    if isinstance(raw, Settings):
        found: dict[str, object] = {
            s.key: getattr(raw, s.key) for s in SETTINGS if s.key != "as_of"
        }
        found["as_of"] = raw.as_of
    else:
        found = {}
        entries = [] if raw is None else _settings_entries(raw, header_rows)
        for row, key_cell, value_cell in entries:
            label = clean_text(key_cell)
            if not label and clean_text(value_cell) == "":
                continue
            setting = setting_named(label)
            if setting is None:
                unknown = "unknown setting; ignored"
                issues.add(
                    Issue(SETTINGS_TABLE.sheet, row, _SETTING_COLUMN, key_cell, unknown, "warning")
                )
                continue
            if clean_text(value_cell) == "":
                continue
            name = setting.key
            if name in found:
                again = "setting given twice; this value is used"
                issues.add(
                    Issue(SETTINGS_TABLE.sheet, row, _SETTING_COLUMN, key_cell, again, "warning")
                )
            found[name] = _setting_value(name, label, row, value_cell)
            if name == "currency":
                _check_currency(str(found[name]), row, value_cell, issues)
    if as_of is not None:
        day = parse_date(as_of)
        if day is None:
            raise InputError("as_of is not a date", value=as_of, expected="a date")
        found["as_of"] = day
    if "as_of" not in found:
        raise InputError(
            "no as-of date",
            sheet=SETTINGS_TABLE.sheet,
            expected="an 'As-of date' row in the Settings sheet, or the as_of argument",
        )
    if found.get("currency") == "":
        found.pop("currency")
    return Settings(**cast(dict[str, Any], found))
