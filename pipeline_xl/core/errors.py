"""Errors the user can fix, and the issue records that validation produces.

Two tiers (design notes, section 2): `InputError` carries a message written for the
user (sheet, Excel row, column, the bad value and what was expected; a long value
quoted by its first 40 characters) and is shown as is; anything else is a bug, shown
as a short generic text while the traceback goes to the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["InputError", "Issue", "Severity"]

Severity = Literal["error", "warning"]


class InputError(ValueError):
    """A problem in the user's input that the user can fix.

    The message names where the problem is and what was expected, so adapters show
    `str(err)` unchanged (in a cell, a dialog or the terminal).
    """

    def __init__(
        self,
        problem: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.sheet = sheet
        self.row = row
        self.column = column
        self.value = value
        self.expected = expected
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.sheet:
            where.append(self.sheet)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        text = self.problem
        if self.value is not None:
            text = f"{text}: {_quoted(self.value)}"
        if self.expected:
            text = f"{text} (expected {self.expected})"
        return f"{', '.join(where)}: {text}" if where else text


_QUOTED = 40


def _quoted(value: object) -> str:
    """The value as the message quotes it: its repr, a long text cut to its start."""
    if isinstance(value, str) and len(value) > _QUOTED:
        return f"{value[:_QUOTED]!r}\u2026 ({len(value):,} characters)"
    return repr(value)


@dataclass(frozen=True, slots=True)
class Issue:
    """One doubtful or rejected cell found by validation.

    `row` is the row number as Excel shows it; severity "error" means the row was
    left out of every number, "warning" means it was kept.
    """

    sheet: str
    row: int | None
    column: str
    value: object
    problem: str
    severity: Severity
