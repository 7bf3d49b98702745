"""Finding a table's header row and data rows, matching headers, collecting issues.

Headers match the contract's fields (`pipeline_xl.core.contract`) ignoring case, spaces,
accents, ``_`` and ``-``; a header whose text in parentheses spoils the match
(``Amount (EUR)``) is tried without it. A list of rows has its header found among the
first `HEADER_SCAN` rows (the row matching most fields); a DataFrame's columns are its
headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import norm_key
from pipeline_xl.core.errors import Issue

__all__ = [
    "HEADER_SCAN",
    "ISSUE_COLUMNS",
    "Column",
    "Issues",
    "Raw",
    "RawTable",
    "header_row_hint",
    "is_ambiguous",
    "match_headers",
    "read_raw",
]

RawTable = Sequence[Sequence[object]] | pd.DataFrame
ISSUE_COLUMNS = ("sheet", "row", "column", "value", "problem", "severity")
HEADER_SCAN = 10
Column = pd.Series | npt.NDArray[Any]
# Issues are listed in this sheet order: settings and stages first, they explain the rest.
_SHEET_ORDER = tuple(
    t.sheet
    for t in (
        contract.SETTINGS_TABLE,
        contract.STAGES,
        contract.PROSPECTS,
        contract.TARGETS,
        contract.ACTIVITIES,
        contract.SNAPSHOTS,
        contract.CALLS,
    )
)
# Headers that could mean more than one field: the first free field in the list wins.
_AMBIGUOUS: dict[str, dict[str, tuple[str, ...]]] = {
    "prospects": {"closedate": ("expected_close", "closed")},
}
_INDEX: dict[str, dict[str, str]] = {
    t.key: {norm_key(h): f.name for f in t.fields for h in f.headers} for t in contract.TABLES
}
_PARENS_RE = re.compile(r"\(.*?\)|\[.*?\]")


def is_ambiguous(table: contract.Table, header: str) -> bool:
    """Whether ``header`` could mean more than one field of ``table`` (``Close date``)."""
    return norm_key(header) in _AMBIGUOUS.get(table.key, {})


def match_headers(headers: Sequence[object], table: str | contract.Table) -> dict[str, int]:
    """Map each recognised field of ``table`` to the position of its header.

    ``table`` is a contract table or its key, sheet or Excel name (``"prospects"``,
    ``"Stages"``, ``"tblTargets"``). The first header of a field wins; unknown headers
    are left out.
    """
    spec = table if isinstance(table, contract.Table) else contract.table(table)
    index, ambiguous = _INDEX[spec.key], _AMBIGUOUS.get(spec.key, {})
    found: dict[str, int] = {}
    pending: list[tuple[int, str]] = []
    for pos, header in enumerate(headers):
        text = clean_text(header)
        if not text:
            continue
        folded = norm_key(text)
        if folded in ambiguous:
            pending.append((pos, folded))
            continue
        name = index.get(folded) or index.get(norm_key(_PARENS_RE.sub("", text)))
        if name is not None and name not in found:
            found[name] = pos
    for pos, folded in pending:
        for name in ambiguous[folded]:
            if name not in found:
                found[name] = pos
                break
    return found


@dataclass
class Issues:
    """Issues collected while validating, listed by sheet, row and column at the end."""

    found: list[tuple[tuple[int, int, int, int], Issue]] = field(default_factory=list)

    def add(self, issue: Issue, position: int = 10_000) -> None:
        """Record ``issue``; ``position`` is its column's place in the sheet."""
        sheet = issue.sheet
        order = _SHEET_ORDER.index(sheet) if sheet in _SHEET_ORDER else len(_SHEET_ORDER)
        row = -1 if issue.row is None else issue.row
        self.found.append(((order, row, position, len(self.found)), issue))

    def frame(self) -> pd.DataFrame:
        """The issues table (`ISSUE_COLUMNS`), by sheet, row and column."""
        ordered = [issue for _, issue in sorted(self.found, key=itemgetter(0))]
        data = {
            name: pd.Series(
                [getattr(i, name) for i in ordered], dtype="Int64" if name == "row" else object
            )
            for name in ISSUE_COLUMNS
        }
        return pd.DataFrame(data)


@dataclass
class Raw:
    """A table as found: header texts, column getter and Excel row numbers of data rows."""

    table: contract.Table
    headers: list[str]
    header_row: int
    rows: npt.NDArray[np.int64]
    column: Callable[[int], Column]

    @property
    def sheet(self) -> str:
        """The sheet name issues report."""
        return self.table.sheet


def header_row_hint(header_rows: Mapping[str, int] | None, sheet: str) -> int | None:
    """The Excel row of ``sheet``'s header when the caller knows it."""
    for name, row in (header_rows or {}).items():
        if norm_key(name) == norm_key(sheet):
            return int(row)
    return None


def read_raw(
    raw: RawTable, table: contract.Table, header_rows: Mapping[str, int] | None
) -> Raw | None:
    """Locate headers and data rows; None when the table holds no cell at all."""
    hint = header_row_hint(header_rows, table.sheet)
    if isinstance(raw, pd.DataFrame):
        frame = raw
        if frame.shape[1] == 0:
            return None
        header_row = hint if hint is not None else 1
        rows = header_row + 1 + np.arange(len(frame), dtype=np.int64)
        return Raw(
            table,
            [clean_text(c) for c in frame.columns],
            header_row,
            rows,
            lambda j: frame.iloc[:, j],
        )
    table_rows = raw if isinstance(raw, list) else list(raw)
    first = next((i for i, r in enumerate(table_rows) if any(map(_filled, r))), None)
    if first is None:
        return None
    best, best_score = first, 0
    for i, row in enumerate(table_rows[:HEADER_SCAN]):
        score = len(match_headers(row, table))
        if score > best_score:
            best, best_score = i, score
    width = max(map(len, table_rows))
    header = list(table_rows[best]) + [None] * (width - len(table_rows[best]))
    offset = 0 if hint is None else hint - (best + 1)
    data = table_rows[best + 1 :]
    rows = best + 2 + offset + np.arange(len(data), dtype=np.int64)
    return Raw(
        table, [clean_text(h) for h in header], best + 1 + offset, rows, _columns(data, width)
    )


def _filled(value: object) -> bool:
    return clean_text(value) != ""


def _columns(data: Sequence[Sequence[object]], width: int) -> Callable[[int], Column]:
    """Column getter over a list of rows: one C-level pass per column asked for."""
    ragged = bool(data) and min(map(len, data)) < width
    cache: dict[int, npt.NDArray[np.object_]] = {}

    def column(j: int) -> Column:
        if j not in cache:
            cells: Iterable[object] = (
                (r[j] if j < len(r) else None for r in data) if ragged else map(itemgetter(j), data)
            )
            cache[j] = np.fromiter(cells, dtype=object, count=len(data))
        return cache[j]

    return column
