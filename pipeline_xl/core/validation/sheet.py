"""One table being validated: parsed columns, row masks, issue helpers and name rules.

`Sheet` parses each recognised column once (`pipeline_xl.core.cells`), tracks which
rows are present and which carry an error, and records issues with the user's own
header and Excel row. The helpers below apply the rules every table shares: rates on
a 0-100 scale, repeated keys, stage names, and spellings of one name unified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.cells import (
    CellProblem,
    clean_text_codes,
    clean_texts,
    is_blank,
    parse_numbers,
)
from pipeline_xl.core.contract import status_word
from pipeline_xl.core.dates import parse_dates
from pipeline_xl.core.errors import InputError, Issue, Severity
from pipeline_xl.core.model import Stages
from pipeline_xl.core.validation.reading import HEADER_SCAN, Column, Issues, Raw, match_headers

__all__ = [
    "UNKNOWN",
    "AnyArray",
    "Coded",
    "Mask",
    "ObjectArray",
    "Sheet",
    "canonical_spellings",
    "clean_frame",
    "duplicates",
    "key_codes",
    "lookup_stages",
    "objects",
    "rate_rules",
    "unify",
]

AnyArray = npt.NDArray[Any]
# A text column as codes into a table of distinct clean texts: ``table[codes]``.
Coded = tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]
Mask = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]


def objects(column: Column) -> npt.NDArray[np.object_]:
    """A column's cells as an object array."""
    values = column.to_numpy() if isinstance(column, pd.Series) else column
    return np.asarray(values, dtype=object)


class Sheet:
    """One table being validated: parsed columns, row masks and issue helpers."""

    def __init__(self, raw: Raw, issues: Issues) -> None:
        table = raw.table
        self.raw = raw
        self.sheet = raw.sheet
        self.issues = issues
        self.fields = {f.name: f for f in table.fields}
        self.pos = match_headers(raw.headers, table)
        missing = [f for f in table.fields if f.required and f.name not in self.pos]
        if missing:
            headers = [h for h in raw.headers if h]
            expected = ", ".join(f.header for f in table.fields if f.required)
            raise InputError(
                f"missing column {', '.join(f.header for f in missing)}; "
                f"columns found: {', '.join(headers) if headers else 'none'}",
                sheet=self.sheet,
                row=raw.header_row,
                expected=f"a header row (within the first {HEADER_SCAN} rows) with {expected}",
            )
        self.n = len(raw.rows)
        self.values: dict[str, AnyArray] = {}
        self.cells: dict[str, AnyArray] = {}
        self._coded: dict[str, Coded] = {}
        present = np.zeros(self.n, dtype=bool)
        problems: dict[str, list[CellProblem]] = {}
        for name, pos in self.pos.items():
            values, found, filled = self._parse(self.fields[name], raw.column(pos))
            self.values[name] = values
            problems[name] = found
            present |= filled
        self.present = present
        self.error = np.zeros(self.n, dtype=bool)
        self.lost: dict[str, Mask] = {}
        for name, found in problems.items():
            lost = [p.index for p in found if p.lost]
            if lost:
                self.lost[name] = np.zeros(self.n, dtype=bool)
                self.lost[name][lost] = True
            required = self.fields[name].required
            for p in found:
                severity: Severity = "error" if p.lost and required else "warning"
                text = p.problem if (required or not p.lost) else f"{p.problem}; left blank"
                self.flag(name, [p.index], text, severity, value=p.value)

    def _parse(
        self, spec: contract.Field, column: Column
    ) -> tuple[AnyArray, list[CellProblem], Mask]:
        values: AnyArray
        if spec.kind == "text":
            codes, table, found = clean_text_codes(column)
            self._coded[spec.name] = (codes, table)
            values = table[codes]
            filled = values != ""
        elif spec.kind == "date":
            values, found = parse_dates(column)
            filled = ~np.isnat(values)
        elif spec.kind == "raw":
            cleaned, found = clean_texts(column)
            filled = cleaned != ""
            values = objects(column)
            self.cells[spec.name] = values
        else:
            values, found = parse_numbers(column, rate=spec.kind == "rate")
            filled = ~np.isnan(values)
        if found:
            filled = filled.copy()
            filled[[p.index for p in found]] = True
        return values, found, filled

    def has(self, name: str) -> bool:
        """Whether the table has a column for field ``name``."""
        return name in self.pos

    def coded(self, name: str) -> Coded:
        """Text field ``name`` as codes and table (all blank when the column is absent)."""
        if name in self._coded:
            return self._coded[name]
        return np.zeros(self.n, dtype=np.intp), np.array([""], dtype=object)

    def set_text(self, name: str, codes: npt.NDArray[np.intp], table: ObjectArray) -> None:
        """Replace text field ``name`` by codes into a new table of texts."""
        self._coded[name] = (codes, table)
        self.values[name] = table[codes]

    def map_text(self, name: str, fn: Callable[[str], object]) -> ObjectArray:
        """Apply ``fn`` once per distinct text of field ``name``, spread over the rows."""
        codes, table = self.coded(name)
        out = np.empty(len(table), dtype=object)
        out[:] = [fn(str(t)) for t in table]
        return out[codes]

    def bad(self, name: str) -> Mask:
        """Rows whose ``name`` cell could not be read (already reported)."""
        return self.lost.get(name, np.zeros(self.n, dtype=bool))

    def blank(self, name: str) -> Mask:
        """Non-blank rows whose ``name`` cell is empty (not merely unreadable)."""
        values = self.values.get(name)
        if values is None:
            return self.present.copy()
        if values.dtype.kind == "f":
            empty = np.isnan(values)
        elif values.dtype.kind == "M":
            empty = np.isnat(values)
        else:
            empty = values == ""
        return self.present & empty & ~self.bad(name)

    def header(self, name: str) -> str:
        """The user's header of field ``name`` (the contract's when the column is absent)."""
        if name in self.pos:
            return self.raw.headers[self.pos[name]] or self.fields[name].header
        return self.fields[name].header

    def cell(self, name: str, i: int) -> object:
        """The raw cell of field ``name`` on data row ``i`` (None when the column is absent)."""
        if name not in self.pos:
            return None
        if name not in self.cells:
            self.cells[name] = objects(self.raw.column(self.pos[name]))
        value = self.cells[name][i]
        if is_blank(value) and not isinstance(value, str):
            return None
        return value.item() if isinstance(value, np.generic) else value

    def text(self, name: str) -> npt.NDArray[np.object_]:
        """Text field ``name`` (blank when the column is absent)."""
        if name in self.values:
            return self.values[name]
        return np.full(self.n, "", dtype=object)

    def number(self, name: str) -> npt.NDArray[np.float64]:
        """Number field ``name`` (NaN when the column is absent)."""
        if name in self.values:
            return cast(npt.NDArray[np.float64], self.values[name])
        return np.full(self.n, np.nan)

    def date(self, name: str) -> npt.NDArray[np.datetime64]:
        """Date field ``name`` (NaT when the column is absent)."""
        if name in self.values:
            return self.values[name]
        return np.full(self.n, np.datetime64("NaT", "ns"))

    def flag(
        self,
        name: str,
        where: AnyArray | Sequence[int],
        problem: str | Callable[[int], str],
        severity: Severity,
        *,
        value: object = ...,
    ) -> None:
        """Record an issue on each row in ``where`` (mask or positions) of column ``name``."""
        if isinstance(where, np.ndarray) and where.dtype == bool:
            positions: Sequence[int] | AnyArray = np.flatnonzero(where)
        else:
            positions = where
        column = self.header(name)
        col_pos = self.pos.get(name, 10_000)
        for i in map(int, positions):
            self.issues.add(
                Issue(
                    self.sheet,
                    int(self.raw.rows[i]),
                    column,
                    self.cell(name, i) if value is ... else value,
                    problem(i) if callable(problem) else problem,
                    severity,
                ),
                col_pos,
            )
            if severity == "error":
                self.error[i] = True

    def header_warning(self, name: str, problem: str) -> None:
        """Record a warning about a whole column, on the header row."""
        header = self.header(name)
        self.issues.add(
            Issue(
                self.sheet,
                self.raw.header_row,
                header,
                header if name in self.pos else None,
                problem,
                "warning",
            ),
            self.pos.get(name, 10_000),
        )

    @property
    def keep(self) -> Mask:
        """Rows present and without an error: the rows that count."""
        return self.present & ~self.error


def rate_rules(sheet: Sheet, name: str, what: str) -> npt.NDArray[np.float64]:
    """0-100 values divided by 100 (warning); values outside 0-1 then dropped (warning)."""
    values = sheet.number(name).copy()
    if name not in sheet.values:
        return values
    scaled = sheet.present & (values > 1.0) & (values <= 100.0)
    if scaled.any():
        sheet.flag(name, scaled, f"{what} given on a 0-100 scale; divided by 100", "warning")
        values[scaled] /= 100.0
    outside = sheet.present & ((values < 0.0) | (values > 1.0))
    if outside.any():
        sheet.flag(name, outside, f"{what} outside 0-1; dropped", "warning")
        values[outside] = np.nan
    return values


def key_codes(parts: Sequence[AnyArray]) -> npt.NDArray[np.intp]:
    """One integer code per distinct combination of the key columns ``parts``."""
    key = np.zeros(len(parts[0]), dtype=np.int64)
    for part in parts:
        codes, uniques = pd.factorize(part)
        key = pd.factorize(key * (len(uniques) + 1) + codes)[0].astype(np.int64)
    return key.astype(np.intp)


def duplicates(sheet: Sheet, name: str, parts: Sequence[AnyArray], rows: Mask, what: str) -> None:
    """Flag later occurrences of a key (the columns ``parts``) among ``rows`` as errors."""
    index = np.flatnonzero(rows)
    codes = key_codes([part[index] for part in parts])
    if not len(codes) or np.bincount(codes).max() < 2:
        return
    dup = pd.Series(codes).duplicated(keep="first").to_numpy()
    first = sheet.raw.rows[index[np.unique(codes, return_index=True)[1]]]
    later = dict(zip(index[dup].tolist(), codes[dup].tolist(), strict=True))
    sheet.flag(
        name, list(later), lambda i: f"{what} repeated (first on row {first[later[i]]})", "error"
    )


def clean_frame(
    columns: Mapping[str, str], data: Mapping[str, AnyArray], keep: Mask | None = None
) -> pd.DataFrame:
    """A clean table with the model's column order and dtypes, rows ``keep`` only."""
    everything = keep is None or bool(keep.all())
    out: dict[str, pd.Series] = {}
    for name, kind in columns.items():
        values = data[name] if everything else data[name][keep]
        if kind == "str":
            out[name] = pd.Series(np.asarray(values, dtype=object), dtype=object)
        elif kind == "float":
            out[name] = pd.Series(np.asarray(values, dtype=np.float64))
        elif kind == "int":
            out[name] = pd.Series(np.asarray(values, dtype=np.int64))
        else:
            out[name] = pd.Series(np.asarray(values, dtype="datetime64[ns]"))
    return pd.DataFrame(out)  # dict order is the column order (columns= copies in pandas 2)


UNKNOWN = -2  # stage index of a name the Stages table does not know


def lookup_stages(
    coded: Coded, stages: Stages
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Canonical stage names and open indices (n_open won, -1 lost, -2 unknown)."""
    lost_name = stages.lost.name if stages.lost is not None else "Lost"

    def find(text: str) -> tuple[str, int]:
        stage = stages.find(text) if text else None
        if stage is not None:
            idx = stages.open_index(stage.name)
            return stage.name, UNKNOWN if idx is None else idx
        word = status_word(text) if text else None
        if word == "won":
            return stages.won.name, stages.n_open
        if word == "lost":
            return lost_name, -1
        return "", UNKNOWN

    codes, table = coded
    found = [find(str(t)) for t in table]
    names = np.empty(len(found), dtype=object)
    names[:] = [name for name, _ in found]
    index = np.fromiter((i for _, i in found), dtype=np.int64, count=len(found))
    return names[codes], index[codes]


def _title_like(text: str) -> bool:
    return text == text.title()


def canonical_spellings(columns: Sequence[tuple[Coded, Mask]]) -> dict[str, str]:
    """Map each spelling to the most common spelling of the same name (case, spaces).

    ``columns``: coded text columns with the rows to count.
    """
    counts: dict[str, int] = {}
    for (codes, table), rows in columns:
        tally = np.bincount(codes[rows], minlength=len(table))
        used = tally > 0
        for text, n in zip(table[used].tolist(), tally[used].tolist(), strict=True):
            counts[text] = counts.get(text, 0) + n
    counts.pop("", None)
    folded = list(map(str.casefold, counts))
    if len(set(folded)) == len(folded):
        return {}  # no two spellings of one name
    groups: dict[str, list[str]] = {}
    for key, text in zip(folded, counts, strict=True):
        groups.setdefault(key, []).append(text)
    mapping: dict[str, str] = {}
    for spellings in groups.values():
        if len(spellings) < 2:
            continue
        first = {s: i for i, s in enumerate(spellings)}
        best = max(spellings, key=lambda s: (counts[s], _title_like(s), -first[s]))
        mapping.update({s: best for s in spellings if s != best})
    return mapping


def unify(
    sheet: Sheet, name: str, mapping: Mapping[str, str], what: str, *, warn: bool = True
) -> None:
    """Rewrite text field ``name`` through ``mapping``; warn on each changed cell."""
    if name not in sheet.values:
        return
    codes, table = sheet.coded(name)
    changed = [k for k, text in enumerate(table.tolist()) if text in mapping]
    if not changed:
        return
    new = table.copy()
    for k in changed:
        new[k] = mapping[table[k]]
    sheet.set_text(name, codes, new)
    if warn:
        rows = np.isin(codes, changed) & sheet.present
        sheet.flag(name, rows, lambda i: f"{what} spelling unified to {new[codes[i]]!r}", "warning")
