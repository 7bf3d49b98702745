"""Validation: the workbook's raw tables in, the clean `Model` and an issues table out.

A raw table is what Excel hands over: a list of rows (the header row is found among the
first 10 rows, below any title rows) or a DataFrame whose columns are the headers.
Headers match ignoring case, spaces, accents, ``_`` and ``-`` and accept common CRM and
French synonyms (`match_headers`). Cells are read by `pipeline_xl.cells`.

Only structural problems raise `InputError`: a missing required column, an empty
Prospects or Stages table, a Stages table without an open or a Won stage, no as-of date,
a setting out of range. Everything else becomes a row of ``Model.issues`` (sheet, Excel
row, the user's column header, value, problem, severity). Severity "error" means the
row is left out of every number; "warning" means the row is kept as described.

Rules, all tables:

* blank rows (every recognised column empty) are skipped silently; columns that no
  header matches are ignored;
* a cell that cannot be read (text in a number column, an Excel error value such as
  ``#N/A``) is an error in a required column and a warning (cell left blank) elsewhere;
* text starting like a formula (``= + - @``) is kept as text, with a warning;
* owner names (every table), companies and sources: stray spaces are removed and
  spellings that differ only by case are unified to the most common spelling (ties go
  to the Title Case one, then to the first seen), with a warning on the changed cells.

Prospects (required columns ID, Stage, Amount):

* missing ID: warning, the deal is kept under the ID ``ROW-<row>``; a repeated ID is an
  error on every later occurrence;
* missing or unknown stage: error. Stage names match the Stages table; ``Closed won``,
  ``Gagné``, ``Signed`` ... and ``Closed lost``, ``Perdu`` ... are understood even when
  the table spells Won and Lost differently;
* a Status column: a won/lost status that disagrees with the stage wins (warning); an
  open status on a won/lost stage gives way to the stage (warning); a status word that
  is not understood is ignored (warning). Without a Status column the status comes from the stage;
* amount missing or unreadable: error; zero or negative: error, except a lost deal at
  zero (warning, kept: CRMs record lost deals at 0);
* probability override: 35 (0-100 scale) becomes 0.35 (warning); ``35%`` is read as
  0.35 directly (the sign says the scale, nothing is guessed); outside 0-1 after that:
  override dropped (warning);
* forecast category: Commit, Best case/Upside, Pipeline, Omitted (English or French);
  ``Closed`` is the category of closed deals and is left blank silently; anything else:
  warning, left blank;
* a header ``Close date`` is read as the expected close; won and lost deals without a
  Closed column value take it as their close date (one warning on the header row);
* won deal without a close date: the expected close is used (warning); neither: error.
  A lost deal without a close date takes its expected close too (warning);
* open deal without an expected close: warning (it cannot be placed in a period);
* closed before created: warning;
* ``reached_idx``: won deals reach the end (``n_open``); open deals their stage or the
  furthest stage column if further; lost deals the furthest stage column, else the open
  stage they were lost from when a Status column says lost, else -1 (unknown).

Stages (required Stage): a missing or repeated name is an error; a blank activity takes
the stage name; status comes from a Status column or from the name (Won, Closed won,
Gagné, Signed, Signé -> won; Lost, Closed lost, Perdu -> lost). Rates on a 0-100 scale
are divided by 100 (warning); rates outside 0-1 and negative days are dropped (warning).
A missing probability is c_k x p_(k+1) and a missing conversion p_k / p_(k+1), with
p_Won = 1 (design notes, section 6: P(win | stage k) is the product of the conversions
from k to Won). Open stages keep their table order; Won and Lost follow.

Targets (required Period, Target): unreadable period, missing/unreadable or negative
target: error; a repeated period (the same months, however written) and owner: error
on later rows. A whole number from 1900
to 2200 in the Period column is a year (``2026``), not an Excel serial date. Blank owner =
the whole team. A negative or unreadable deals target is dropped (warning).

Activities (required Date, Type): missing date or type: error; count blank = 1; count
zero or negative: error. Types are matched to the Stages activities.

Snapshots (required Snapshot date, ID, Stage): missing date or ID, unknown stage, or a
repeated (snapshot date, ID): error. Status, amount and probability follow the Prospects
rules as warnings.

Settings: a Setting | Value table or a mapping. An unknown setting is a warning; a value
that cannot be read or is out of range raises `InputError` naming the setting. The
``as_of`` argument overrides the sheet.

Row numbers: a list of rows is numbered from Excel row 1 (or so that the found header
row is ``header_rows[sheet]`` when given); a DataFrame's data rows are numbered from
``header_rows[sheet] + 1`` (header row 1 by default). A problem with a whole column sits
on the header row. ``Model.issues.row`` is a nullable integer (``Int64``), empty only
for settings given as a mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.cells import (
    CellProblem,
    clean_text,
    clean_text_codes,
    clean_texts,
    excel_error,
    is_blank,
    parse_date,
    parse_dates,
    parse_distinct,
    parse_month,
    parse_number,
    parse_numbers,
)
from pipeline_xl.errors import InputError, Issue, Severity
from pipeline_xl.model import (
    ACTIVITY_COLUMNS,
    PROSPECT_COLUMNS,
    SNAPSHOT_COLUMNS,
    TARGET_COLUMNS,
    Model,
    Settings,
    Stage,
    Stages,
    Status,
    activities_frame,
    default_stages,
    norm_key,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.periods import Period

__all__ = ["ISSUE_COLUMNS", "RawTable", "match_headers", "validate", "validate_stages"]

RawTable = Sequence[Sequence[object]] | pd.DataFrame
ISSUE_COLUMNS = ("sheet", "row", "column", "value", "problem", "severity")
_SHEET_ORDER = ("Settings", "Stages", "Prospects", "Targets", "Activities", "Snapshots")
_HEADER_SCAN = 10
Kind = Literal["text", "number", "rate", "date", "raw"]
AnyArray = npt.NDArray[Any]
# A text column as codes into a table of distinct clean texts: ``table[codes]``.
Coded = tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]
Column = pd.Series | npt.NDArray[Any]
Mask = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: Kind
    synonyms: tuple[str, ...]
    required: bool = False

    @property
    def label(self) -> str:
        return self.synonyms[0]


_ID = ("ID", "Deal ID", "Opportunity ID", "Record ID", "Réf", "Ref", "Identifiant")
_OWNER = (
    "Owner", "Rep", "Sales rep", "Sales agent", "Deal owner", "Opportunity owner",
    "Vendeur", "Commercial", "Responsable",
)  # fmt: skip
_STAGE = ("Stage", "Deal stage", "Étape", "Phase", "Statut commercial")
_STATUS = ("Status", "Statut", "État")
_AMOUNT = ("Amount", "Deal value", "Value", "Close value", "Montant", "Valeur", "CA")
_EXPECTED = (
    "Expected close", "Close date", "Expected close date", "Date de clôture",
    "Date de clôture prévue", "Clôture prévue",
)  # fmt: skip
_PROBABILITY = ("Probability", "Probability (%)", "Probabilité", "Deal probability")

_TABLES: dict[str, tuple[_Field, ...]] = {
    "prospects": (
        _Field("id", "text", _ID, required=True),
        _Field("name", "text", ("Name", "Deal name", "Opportunity name", "Nom", "Affaire")),
        _Field(
            "company",
            "text",
            (
                "Company",
                "Account",
                "Account name",
                "Organization",
                "Client",
                "Société",
                "Entreprise",
            ),
        ),
        _Field("owner", "text", _OWNER),
        _Field("source", "text", ("Source", "Lead source", "Origine", "Canal")),
        _Field("stage", "text", _STAGE, required=True),
        _Field("amount", "number", _AMOUNT, required=True),
        _Field("expected_close", "date", _EXPECTED),
        _Field("probability", "rate", _PROBABILITY),
        _Field(
            "category",
            "text",
            ("Category", "Forecast category", "Catégorie", "Catégorie de prévision"),
        ),
        _Field("status", "text", _STATUS),
        _Field(
            "created",
            "date",
            ("Created", "Create date", "Created date", "Date de création", "Engage date"),
        ),
        _Field(
            "closed",
            "date",
            (
                "Closed",
                "Closed date",
                "Actual close date",
                "Date de signature",
                "Date de clôture réelle",
            ),
        ),
        _Field(
            "last_activity", "date", ("Last activity", "Last activity date", "Dernière activité")
        ),
        _Field(
            "reached",
            "text",
            ("Stage reached", "Furthest stage", "Lost at stage", "Étape atteinte"),
        ),
    ),
    "stages": (
        _Field("stage", "text", ("Stage", "Stage name", "Étape", "Phase"), required=True),
        _Field("activity", "text", ("Activity", "Action", "Activité")),
        _Field("probability", "rate", ("Probability", "Default probability", "Probabilité")),
        _Field("conversion", "rate", ("Conversion", "Conversion rate", "Taux de conversion")),
        _Field("days_to_close", "number", ("Days to close", "Typical days", "Délai")),
        _Field("status", "text", _STATUS),
    ),
    "targets": (
        _Field(
            "period",
            "raw",
            ("Period", "Période", "Month", "Quarter", "Mois", "Trimestre"),
            required=True,
        ),
        _Field("owner", "text", _OWNER),
        _Field(
            "revenue",
            "number",
            ("Target", "Revenue target", "Quota", "Objectif", "Objectif CA", "Revenue"),
            required=True,
        ),
        _Field("deals", "number", ("Deals target", "Objectif affaires")),
    ),
    "activities": (
        _Field("date", "date", ("Date", "Activity date", "Date d'activité"), required=True),
        _Field("owner", "text", _OWNER),
        _Field(
            "type",
            "text",
            ("Activity", "Type", "Activity type", "Action", "Activité"),
            required=True,
        ),
        _Field("prospect_id", "text", ("Prospect ID", "Deal ID", "ID", "Opportunity ID")),
        _Field("count", "number", ("Count", "Number", "Nombre", "Qty", "Quantity")),
    ),
    "snapshots": (
        _Field(
            "snapshot_date",
            "date",
            ("Snapshot date", "Snapshot", "As of", "Date du relevé"),
            required=True,
        ),
        _Field("id", "text", _ID, required=True),
        _Field("owner", "text", _OWNER),
        _Field("stage", "text", _STAGE, required=True),
        _Field("status", "text", _STATUS),
        _Field("amount", "number", _AMOUNT),
        _Field("expected_close", "date", _EXPECTED),
        _Field("probability", "rate", _PROBABILITY),
    ),
}
_SHEET_OF = {
    "prospects": "Prospects",
    "stages": "Stages",
    "targets": "Targets",
    "activities": "Activities",
    "snapshots": "Snapshots",
}
# Headers that could mean more than one field: the first free field in the list wins.
_AMBIGUOUS: dict[str, dict[str, tuple[str, ...]]] = {
    "prospects": {"closedate": ("expected_close", "closed")},
}
_INDEX: dict[str, dict[str, str]] = {
    table: {norm_key(s): f.name for f in fields for s in f.synonyms}
    for table, fields in _TABLES.items()
}
_PARENS_RE = re.compile(r"\(.*?\)|\[.*?\]")


def _table_key(table: str) -> str:
    key = norm_key(table)
    if key not in _TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(_TABLES)}")
    return key


def match_headers(headers: Sequence[object], table: str) -> dict[str, int]:
    """Map each recognised field of ``table`` to the position of its header.

    ``table`` is a table name (``"prospects"``, ``"Stages"``, ...). Headers match
    ignoring case, spaces, accents, ``_`` and ``-`` (`model.norm_key`); a header whose
    text in parentheses spoils the match (``Amount (EUR)``) is tried without it. The
    first header of a field wins; unknown headers are left out.
    """
    key = _table_key(table)
    index, ambiguous = _INDEX[key], _AMBIGUOUS.get(key, {})
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


# --------------------------------------------------------------------------- issues


@dataclass
class _Issues:
    """Issues collected while validating, listed by sheet, row and column at the end."""

    found: list[tuple[tuple[int, int, int, int], Issue]] = field(default_factory=list)

    def add(self, issue: Issue, position: int = 10_000) -> None:
        """Record ``issue``; ``position`` is its column's place in the sheet."""
        sheet = issue.sheet
        order = _SHEET_ORDER.index(sheet) if sheet in _SHEET_ORDER else len(_SHEET_ORDER)
        row = -1 if issue.row is None else issue.row
        self.found.append(((order, row, position, len(self.found)), issue))

    def frame(self) -> pd.DataFrame:
        ordered = [issue for _, issue in sorted(self.found, key=itemgetter(0))]
        data = {
            name: pd.Series(
                [getattr(i, name) for i in ordered], dtype="Int64" if name == "row" else object
            )
            for name in ISSUE_COLUMNS
        }
        return pd.DataFrame(data)


# --------------------------------------------------------------------------- raw tables


@dataclass
class _Raw:
    """A table as found: header texts, column getter and Excel row numbers of data rows."""

    sheet: str
    headers: list[str]
    header_row: int
    rows: npt.NDArray[np.int64]
    column: Callable[[int], Column]


def _header_row_hint(header_rows: Mapping[str, int] | None, sheet: str) -> int | None:
    for name, row in (header_rows or {}).items():
        if norm_key(name) == norm_key(sheet):
            return int(row)
    return None


def _read(
    raw: RawTable,
    table: str,
    header_rows: Mapping[str, int] | None,
) -> _Raw | None:
    """Locate headers and data rows; None when the table holds no cell at all."""
    sheet = _SHEET_OF[table]
    hint = _header_row_hint(header_rows, sheet)
    if isinstance(raw, pd.DataFrame):
        frame = raw
        if frame.shape[1] == 0:
            return None
        header_row = hint if hint is not None else 1
        rows = header_row + 1 + np.arange(len(frame), dtype=np.int64)
        return _Raw(
            sheet,
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
    for i, row in enumerate(table_rows[:_HEADER_SCAN]):
        score = len(match_headers(row, table))
        if score > best_score:
            best, best_score = i, score
    width = max(map(len, table_rows))
    header = list(table_rows[best]) + [None] * (width - len(table_rows[best]))
    offset = 0 if hint is None else hint - (best + 1)
    data = table_rows[best + 1 :]
    rows = best + 2 + offset + np.arange(len(data), dtype=np.int64)
    return _Raw(
        sheet, [clean_text(h) for h in header], best + 1 + offset, rows, _columns(data, width)
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


# --------------------------------------------------------------------------- sheets


def _objects(column: Column) -> npt.NDArray[np.object_]:
    values = column.to_numpy() if isinstance(column, pd.Series) else column
    return np.asarray(values, dtype=object)


class _Sheet:
    """One table being validated: parsed columns, row masks and issue helpers."""

    def __init__(self, raw: _Raw, table: str, issues: _Issues) -> None:
        self.raw = raw
        self.sheet = raw.sheet
        self.issues = issues
        self.fields = {f.name: f for f in _TABLES[table]}
        self.pos = match_headers(raw.headers, table)
        missing = [f for f in _TABLES[table] if f.required and f.name not in self.pos]
        if missing:
            headers = [h for h in raw.headers if h]
            expected = ", ".join(f.label for f in _TABLES[table] if f.required)
            raise InputError(
                f"missing column {', '.join(f.label for f in missing)}; "
                f"columns found: {', '.join(headers) if headers else 'none'}",
                sheet=self.sheet,
                row=raw.header_row,
                expected=f"a header row (within the first {_HEADER_SCAN} rows) with {expected}",
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

    def _parse(self, spec: _Field, column: Column) -> tuple[AnyArray, list[CellProblem], Mask]:
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
            values = _objects(column)
            self.cells[spec.name] = values
        else:
            values, found = parse_numbers(column, rate=spec.kind == "rate")
            filled = ~np.isnan(values)
        if found:
            filled = filled.copy()
            filled[[p.index for p in found]] = True
        return values, found, filled

    def has(self, name: str) -> bool:
        return name in self.pos

    def coded(self, name: str) -> Coded:
        """Text field ``name`` as codes and table (all blank when the column is absent)."""
        if name in self._coded:
            return self._coded[name]
        return np.zeros(self.n, dtype=np.intp), np.array([""], dtype=object)

    def set_text(self, name: str, codes: npt.NDArray[np.intp], table: ObjectArray) -> None:
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
        if name in self.pos:
            return self.raw.headers[self.pos[name]] or self.fields[name].label
        return self.fields[name].label

    def cell(self, name: str, i: int) -> object:
        """The raw cell of field ``name`` on data row ``i`` (None when the column is absent)."""
        if name not in self.pos:
            return None
        if name not in self.cells:
            self.cells[name] = _objects(self.raw.column(self.pos[name]))
        value = self.cells[name][i]
        if is_blank(value) and not isinstance(value, str):
            return None
        return value.item() if isinstance(value, np.generic) else value

    def text(self, name: str) -> npt.NDArray[np.object_]:
        if name in self.values:
            return self.values[name]
        return np.full(self.n, "", dtype=object)

    def number(self, name: str) -> npt.NDArray[np.float64]:
        if name in self.values:
            return cast(npt.NDArray[np.float64], self.values[name])
        return np.full(self.n, np.nan)

    def date(self, name: str) -> npt.NDArray[np.datetime64]:
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
        return self.present & ~self.error


# --------------------------------------------------------------------------- names

_WON_NAMES = frozenset(
    norm_key(s)
    for s in ("Won", "Closed won", "Gagné", "Gagnée", "Signed", "Signé", "Signée", "Win")
)
_LOST_NAMES = frozenset(
    norm_key(s) for s in ("Lost", "Closed lost", "Perdu", "Perdue", "Lose", "Abandonné")
)
_OPEN_NAMES = frozenset(
    norm_key(s)
    for s in ("Open", "Opened", "Ouvert", "Ouverte", "En cours", "Active", "In progress")
)
_CATEGORIES = {
    **{norm_key(s): "commit" for s in ("Commit", "Committed", "Engagé", "Engagement")},
    **{
        norm_key(s): "best_case"
        for s in ("Best case", "Best_case", "Upside", "Meilleur cas", "Potentiel")
    },
    **{norm_key(s): "pipeline" for s in ("Pipeline", "Pipe")},
    **{norm_key(s): "omitted" for s in ("Omitted", "Omit", "Exclu", "Omis")},
    norm_key("Closed"): "",
}


def _status_word(text: str) -> Status | Literal["", "?"]:
    """open/won/lost from a status cell; "" when blank, "?" when not understood."""
    if not text:
        return ""
    key = norm_key(text)
    if key in _WON_NAMES:
        return "won"
    if key in _LOST_NAMES:
        return "lost"
    if key in _OPEN_NAMES:
        return "open"
    return "?"


_UNKNOWN = -2  # stage index of a name the Stages table does not know


def _lookup_stages(
    coded: Coded, stages: Stages
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Canonical stage names and open indices (n_open won, -1 lost, -2 unknown)."""
    lost_name = stages.lost.name if stages.lost is not None else "Lost"

    def find(text: str) -> tuple[str, int]:
        stage = stages.find(text) if text else None
        if stage is not None:
            idx = stages.open_index(stage.name)
            return stage.name, _UNKNOWN if idx is None else idx
        key = norm_key(text)
        if key and key in _WON_NAMES:
            return stages.won.name, stages.n_open
        if key and key in _LOST_NAMES:
            return lost_name, -1
        return "", _UNKNOWN

    codes, table = coded
    found = [find(str(t)) for t in table]
    names = np.empty(len(found), dtype=object)
    names[:] = [name for name, _ in found]
    index = np.fromiter((i for _, i in found), dtype=np.int64, count=len(found))
    return names[codes], index[codes]


def _title_like(text: str) -> bool:
    return text == text.title()


def _canonical_spellings(columns: Sequence[tuple[Coded, Mask]]) -> dict[str, str]:
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


def _unify(
    sheet: _Sheet, name: str, mapping: Mapping[str, str], what: str, *, warn: bool = True
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


# --------------------------------------------------------------------------- settings

_SETTINGS: dict[str, tuple[str, ...]] = {
    "as_of": (
        "As-of date", "As of", "As of date", "Reporting date", "Date d'arrêté",
        "Date de référence", "Arrêté au", "as_of",
    ),
    "fiscal_start_month": (
        "Fiscal year start month", "Fiscal year start", "Fiscal start month",
        "First fiscal month", "Début d'exercice", "Mois de début d'exercice",
        "Début de l'exercice", "fiscal_start_month",
    ),
    "granularity": (
        "Period granularity", "Granularity", "Period", "Périodicité", "Granularité", "Période",
    ),
    "currency": ("Currency", "Devise", "Monnaie"),
    "mc_trials": (
        "Monte Carlo trials", "Trials", "Simulations", "Nombre de simulations",
        "Tirages Monte Carlo", "mc_trials",
    ),
    "mc_seed": ("Monte Carlo seed", "Seed", "Graine", "Graine Monte Carlo", "mc_seed"),
    "stale_days": (
        "Stale deal days", "Stale days", "Jours sans activité", "Affaire dormante (jours)",
        "stale_days",
    ),
    "slip_probability": ("Slip probability", "Probabilité de glissement", "slip_probability"),
    "min_history": ("Minimum history", "Min history", "Historique minimum", "min_history"),
}  # fmt: skip
_SETTING_INDEX = {norm_key(s): name for name, words in _SETTINGS.items() for s in words}
_SETTING_HEADERS = frozenset(
    norm_key(s) for s in ("Setting", "Settings", "Parameter", "Paramètre", "Name", "Key", "Clé")
)
_VALUE_HEADERS = frozenset(norm_key(s) for s in ("Value", "Valeur"))
# Whole-number settings: (lowest, highest) accepted value.
_INT_RANGES = {
    "fiscal_start_month": (1, 12),
    "mc_trials": (1, 10_000_000),
    "mc_seed": (0, 2**63 - 1),
    "stale_days": (1, 3650),
    "min_history": (0, 1_000_000),
}
_MONTH_WORDS = frozenset(
    norm_key(s) for s in ("M", "month", "months", "monthly", "mois", "mensuel", "mensuelle")
)
_QUARTER_WORDS = frozenset(
    norm_key(s) for s in ("Q", "T", "quarter", "quarters", "quarterly", "trimestre", "trimestriel")
)


def _settings_entries(
    raw: RawTable | Mapping[str, object], header_rows: Mapping[str, int] | None
) -> list[tuple[int | None, object, object]]:
    """(Excel row, key cell, value cell) for each non-blank settings row."""
    if isinstance(raw, Mapping):
        return [(None, k, v) for k, v in raw.items()]
    hint = _header_row_hint(header_rows, "Settings")
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
    for i, row in enumerate(rows[:_HEADER_SCAN]):
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
        sheet="Settings",
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
        key = norm_key(clean_text(value))
        if key in _MONTH_WORDS:
            return "month"
        if key in _QUARTER_WORDS:
            return "quarter"
        raise _settings_error(label, "not a period length", row, value, "month or quarter")
    if name == "currency":
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


def _read_settings(
    raw: RawTable | Mapping[str, object] | Settings | None,
    as_of: object,
    header_rows: Mapping[str, int] | None,
    issues: _Issues,
) -> Settings:
    if isinstance(raw, Settings):
        found: dict[str, object] = {
            name: getattr(raw, name) for name in _SETTINGS if name != "as_of"
        }
        found["as_of"] = raw.as_of
    else:
        found = {}
        entries = [] if raw is None else _settings_entries(raw, header_rows)
        for row, key_cell, value_cell in entries:
            label = clean_text(key_cell)
            if not label and clean_text(value_cell) == "":
                continue
            name = _SETTING_INDEX.get(norm_key(label))
            if name is None:
                unknown = "unknown setting; ignored"
                issues.add(Issue("Settings", row, "Setting", key_cell, unknown, "warning"))
                continue
            if clean_text(value_cell) == "":
                continue
            if name in found:
                again = "setting given twice; this value is used"
                issues.add(Issue("Settings", row, "Setting", key_cell, again, "warning"))
            found[name] = _setting_value(name, label, row, value_cell)
    if as_of is not None:
        day = parse_date(as_of)
        if day is None:
            raise InputError("as_of is not a date", value=as_of, expected="a date")
        found["as_of"] = day
    if "as_of" not in found:
        raise InputError(
            "no as-of date",
            sheet="Settings",
            expected="an 'As-of date' row in the Settings sheet, or the as_of argument",
        )
    if found.get("currency") == "":
        found.pop("currency")
    return Settings(**cast(dict[str, Any], found))


# --------------------------------------------------------------------------- stages


def _rate_rules(sheet: _Sheet, name: str, what: str) -> npt.NDArray[np.float64]:
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


def _key_codes(parts: Sequence[AnyArray]) -> npt.NDArray[np.intp]:
    """One integer code per distinct combination of the key columns ``parts``."""
    key = np.zeros(len(parts[0]), dtype=np.int64)
    for part in parts:
        codes, uniques = pd.factorize(part)
        key = pd.factorize(key * (len(uniques) + 1) + codes)[0].astype(np.int64)
    return key.astype(np.intp)


def _duplicates(sheet: _Sheet, name: str, parts: Sequence[AnyArray], rows: Mask, what: str) -> None:
    """Flag later occurrences of a key (the columns ``parts``) among ``rows`` as errors."""
    index = np.flatnonzero(rows)
    codes = _key_codes([part[index] for part in parts])
    if not len(codes) or np.bincount(codes).max() < 2:
        return
    dup = pd.Series(codes).duplicated(keep="first").to_numpy()
    first = sheet.raw.rows[index[np.unique(codes, return_index=True)[1]]]
    later = dict(zip(index[dup].tolist(), codes[dup].tolist(), strict=True))
    sheet.flag(
        name, list(later), lambda i: f"{what} repeated (first on row {first[later[i]]})", "error"
    )


def _validate_stages(raw: _Raw, issues: _Issues) -> Stages:
    sheet = _Sheet(raw, "stages", issues)
    if not sheet.present.any():
        raise InputError(
            "the Stages table has no stages", sheet="Stages", expected="one row per stage"
        )
    names = sheet.text("stage")
    sheet.flag("stage", sheet.present & (names == ""), "missing stage name", "error")
    keys = np.asarray([norm_key(n) for n in names], dtype=object)
    _duplicates(sheet, "stage", [keys], sheet.present & (names != ""), "stage")
    explicit = [_status_word(t) for t in sheet.text("status")]
    unknown = np.asarray([s == "?" for s in explicit]) & sheet.present
    if unknown.any():
        sheet.flag("status", unknown, "unknown status; taken from the stage name", "warning")
    probability = _rate_rules(sheet, "probability", "probability")
    conversion = _rate_rules(sheet, "conversion", "conversion")
    days = sheet.number("days_to_close").copy()
    negative = sheet.present & (days < 0)
    if negative.any():
        sheet.flag("days_to_close", negative, "negative days; dropped", "warning")
        days[negative] = np.nan
    activity = sheet.text("activity")
    opened: list[int] = []
    closing: dict[Status, list[Stage]] = {"won": [], "lost": []}
    for i in np.flatnonzero(sheet.keep).tolist():
        status = _stage_status(explicit[i], names[i])
        if status == "open":
            opened.append(i)
        else:
            days_i = 0.0 if np.isnan(days[i]) else float(days[i])
            chance = 1.0 if status == "won" else 0.0
            closing[status].append(
                Stage(names[i], activity[i], chance, float("nan"), days_i, status)
            )
    prob, conv = _derive_rates(probability[opened], conversion[opened])
    no_rate = [i for i, p in zip(opened, prob.tolist(), strict=True) if np.isnan(p)]
    sheet.flag(
        "probability", no_rate, "no probability and no conversion to derive it from", "warning"
    )
    open_stages = [
        Stage(names[i], activity[i] or names[i], float(p), float(c), float(days[i]))
        for i, p, c in zip(opened, prob.tolist(), conv.tolist(), strict=True)
    ]
    return Stages((*open_stages, *closing["won"], *closing["lost"]))


def _stage_status(word: str, name: str) -> Status:
    """A stage's status: the Status cell when it says one, else what the name says."""
    if word in {"open", "won", "lost"}:
        return cast(Status, word)
    key = norm_key(name)
    return "won" if key in _WON_NAMES else "lost" if key in _LOST_NAMES else "open"


def _derive_rates(
    probability: npt.NDArray[np.float64], conversion: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Fill missing open-stage probabilities and conversions from each other.

    P(win | stage k) is the product of the conversions from k to Won (design notes,
    section 6), so p_k = c_k x p_(k+1) and c_k = p_k / p_(k+1), with p_Won = 1.
    """
    prob, conv = probability.copy(), conversion.copy()
    n = len(prob)
    for k in range(n - 1, -1, -1):
        following = 1.0 if k == n - 1 else prob[k + 1]
        if np.isnan(prob[k]):
            prob[k] = conv[k] * following  # NaN when either is unknown
    for k in range(n):
        following = 1.0 if k == n - 1 else prob[k + 1]
        if np.isnan(conv[k]) and following > 0 and not np.isnan(prob[k]):
            conv[k] = prob[k] / following
    return prob, conv


# --------------------------------------------------------------------------- prospects


def _frame(
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


_OPEN, _WON, _LOST = 0, 1, 2  # status codes; _STATUS_NAMES[code] is the model's text
_STATUS_NAMES = np.array(["open", "won", "lost"], dtype=object)
_WORD_CODES = {"open": _OPEN, "won": _WON, "lost": _LOST, "": -1, "?": -2}


def _apply_status(
    sheet: _Sheet,
    stage_idx: npt.NDArray[np.int64],
    names: ObjectArray,
    stages: Stages,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], ObjectArray, Mask]:
    """Final status code, stage index and stage name, and the rows lost from an open stage.

    The status comes from the stage unless a Status column says won or lost (module
    docstring).
    """
    n_open = stages.n_open
    derived = np.where(stage_idx == n_open, _WON, np.where(stage_idx == -1, _LOST, _OPEN))
    status, idx, names = derived.copy(), stage_idx.copy(), names.copy()
    if not sheet.has("status"):
        return status, idx, names, np.zeros(sheet.n, dtype=bool)
    words = sheet.map_text("status", lambda t: _WORD_CODES[_status_word(t)]).astype(np.int64)
    known = sheet.present & (stage_idx != _UNKNOWN)
    sheet.flag(
        "status",
        sheet.present & (words == -2),
        "unknown status; status taken from the stage",
        "warning",
    )
    closing = known & (words >= _WON) & (words != derived)
    sheet.flag(
        "status",
        closing,
        lambda i: f"status {_STATUS_NAMES[words[i]]} overrides stage {names[i]}",
        "warning",
    )
    reopened = known & (words == _OPEN) & (derived != _OPEN)
    sheet.flag("status", reopened, lambda i: f"stage {names[i]} overrides status open", "warning")
    won, lost = closing & (words == _WON), closing & (words == _LOST)
    status[closing] = words[closing]
    idx[won], idx[lost] = n_open, -1
    names[won] = stages.won.name
    names[lost] = stages.lost.name if stages.lost is not None else "Lost"
    return status, idx, names, lost & (stage_idx >= 0) & (stage_idx < n_open)


def _validate_prospects(sheet: _Sheet, stages: Stages, owners: Mapping[str, str]) -> pd.DataFrame:
    present = sheet.present
    rows = sheet.raw.rows
    # IDs: generated when missing, later repeats are errors.
    ids = sheet.text("id").copy()
    no_id = sheet.blank("id")
    for i in np.flatnonzero(no_id).tolist():
        ids[i] = f"ROW-{rows[i]}"
    sheet.flag("id", no_id, lambda i: f"missing ID; kept as {ids[i]}", "warning")
    _duplicates(sheet, "id", [ids], present, "ID")
    stage_names, stage_idx = _stage_column(sheet, stages)
    status, idx, stage_names, lost_from_open = _apply_status(sheet, stage_idx, stage_names, stages)
    # Amount: lost deals may sit at zero.
    amount = sheet.number("amount")
    sheet.flag("amount", sheet.blank("amount"), "missing amount", "error")
    zero_lost = present & (status == _LOST) & (amount == 0)
    sheet.flag("amount", zero_lost, "lost deal with a zero amount; kept", "warning")
    sheet.flag("amount", present & (amount <= 0) & ~zero_lost, "amount must be above zero", "error")
    closed = _close_dates(sheet, status)
    reached = _reached(sheet, stages, status, idx)
    reached[lost_from_open] = stage_idx[lost_from_open]
    for name in ("company", "source"):
        _unify(sheet, name, _canonical_spellings([(sheet.coded(name), present)]), name)
    _unify(sheet, "owner", owners, "owner")
    data: dict[str, AnyArray] = {
        "row": rows,
        "id": ids,
        "name": sheet.text("name"),
        "company": sheet.text("company"),
        "owner": sheet.text("owner"),
        "source": sheet.text("source"),
        "stage": stage_names,
        "stage_idx": idx,
        "reached_idx": reached,
        "amount": amount,
        "expected_close": sheet.date("expected_close"),
        "probability": _rate_rules(sheet, "probability", "probability"),
        "category": _categories(sheet),
        "status": _STATUS_NAMES[status],
        "created": sheet.date("created"),
        "closed": closed,
        "last_activity": sheet.date("last_activity"),
    }
    keep = sheet.keep
    return _frame(PROSPECT_COLUMNS, data, keep)


def _stage_column(
    sheet: _Sheet, stages: Stages
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """Canonical stage names and indices; a missing or unknown stage is an error."""
    text = sheet.text("stage")
    names, idx = _lookup_stages(sheet.coded("stage"), stages)
    sheet.flag("stage", sheet.blank("stage"), "missing stage", "error")
    unknown = sheet.present & (text != "") & (idx == _UNKNOWN)
    sheet.flag("stage", unknown, "unknown stage (not in the Stages table)", "error")
    return names, idx


def _categories(sheet: _Sheet) -> npt.NDArray[np.object_]:
    """Forecast categories normalised to `model.CATEGORIES`; unknown ones left blank."""
    category = sheet.map_text("category", lambda t: _CATEGORIES.get(norm_key(t), "?") if t else "")
    odd = sheet.present & (category == "?")
    sheet.flag(
        "category",
        odd,
        "unknown forecast category (expected Commit, Best case, Pipeline or Omitted); left blank",
        "warning",
    )
    category[odd] = ""
    return category


def _close_dates(sheet: _Sheet, status: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
    """Close dates, completed from the expected close for won and lost deals."""
    present = sheet.present
    expected = sheet.date("expected_close")
    closed = sheet.date("closed").copy()
    won, open_ = status == _WON, status == _OPEN
    fill = present & (status != _OPEN) & np.isnat(closed)
    fill &= ~np.isnat(expected)
    header = sheet.header("expected_close")
    if sheet.has("expected_close") and norm_key(header) in _AMBIGUOUS["prospects"]:
        if fill.any():
            sheet.header_warning(
                "expected_close",
                "read as the expected close of open deals and as the close date of won and "
                "lost deals",
            )
    else:
        sheet.flag(
            "closed",
            fill,
            lambda i: (
                f"{_STATUS_NAMES[status[i]]} deal without a close date; the expected close is used"
            ),
            "warning",
            value=None,
        )
    closed[fill] = expected[fill]
    no_date = present & won & np.isnat(closed)
    sheet.flag(
        "closed", no_date, "won deal without a close date or an expected close", "error", value=None
    )
    if sheet.has("expected_close"):
        sheet.flag(
            "expected_close",
            present & open_ & np.isnat(expected),
            "open deal without an expected close date; it cannot be placed in a period",
            "warning",
        )
    elif (present & open_).any():
        sheet.header_warning(
            "expected_close", "no expected close column: open deals cannot be placed in a period"
        )
    created = sheet.date("created")
    early = present & ~np.isnat(closed) & ~np.isnat(created) & (closed < created)
    sheet.flag("closed", early, "closed before it was created", "warning")
    return closed


def _reached(
    sheet: _Sheet, stages: Stages, status: npt.NDArray[np.int64], idx: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Furthest open stage reached: won n_open; open its stage or further; lost -1 unless told."""
    n_open = stages.n_open
    won, lost, open_ = status == _WON, status == _LOST, status == _OPEN
    reached = np.where(won, n_open, np.where(open_, idx, -1)).astype(np.int64)
    if not sheet.has("reached"):
        return reached
    text = sheet.text("reached")
    far = _lookup_stages(sheet.coded("reached"), stages)[1]
    valid = (far >= 0) & (far < n_open)
    bad = sheet.present & (text != "") & ~valid
    sheet.flag("reached", bad, "not an open stage of the Stages table; ignored", "warning")
    use = (lost & valid) | (open_ & valid & (far > reached))
    reached[use] = far[use]
    return reached


# --------------------------------------------------------------------------- other tables


_NOT_A_PERIOD = "not a period (expected 2026-03, 2026-Q1, FY2027-Q2, 2026 or a date)"


def _period_parser(
    settings: Settings,
) -> Callable[[object], tuple[Period | None, str | None, bool]]:
    """Parse a Period cell; a whole number from 1900 to 2200 is a year, not a serial."""

    def parse(value: object) -> tuple[Period | None, str | None, bool]:
        if clean_text(value) == "" or excel_error(value) is not None:
            return None, None, True  # blank, or already reported as an Excel error
        if (
            isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool | np.bool_)
            and 1900 <= value <= 2200
            and float(value).is_integer()
        ):
            value = str(int(value))
        try:
            return settings.parse_period(value), None, True
        except (InputError, ValueError, TypeError, OverflowError):
            return None, _NOT_A_PERIOD, True

    return parse


def _validate_targets(sheet: _Sheet, settings: Settings, owners: Mapping[str, str]) -> pd.DataFrame:
    present = sheet.present
    found, index, problems = parse_distinct(sheet.cells["period"], _period_parser(settings), None)
    failed = sheet.bad("period").copy()
    for p in problems:
        sheet.flag("period", [p.index], p.problem, "error")
        failed[p.index] = True
    periods: list[Period | None] = [found[k] for k in index.tolist()]
    has_period = np.fromiter((p is not None for p in periods), dtype=bool, count=sheet.n)
    sheet.flag("period", present & ~has_period & ~failed, "missing period", "error")
    revenue = sheet.number("revenue")
    sheet.flag("revenue", sheet.blank("revenue"), "missing target", "error")
    sheet.flag("revenue", present & (revenue < 0), "negative target", "error")
    deals = sheet.number("deals").copy()
    negative = present & (deals < 0)
    if negative.any():
        sheet.flag("deals", negative, "negative deals target; dropped", "warning")
        deals[negative] = np.nan
    _unify(sheet, "owner", owners, "owner")
    owner = sheet.text("owner")
    labels = np.asarray(["" if p is None else p.label for p in periods], dtype=object)
    starts = np.asarray([None if p is None else p.start for p in periods], dtype=object)
    ends = np.asarray([None if p is None else p.end for p in periods], dtype=object)
    _duplicates(sheet, "period", [starts, ends, owner], present & has_period, "period and owner")
    keep = sheet.keep
    chosen = [p for p, k in zip(periods, keep.tolist(), strict=True) if k and p is not None]
    data = {
        "row": sheet.raw.rows[keep],
        "period": labels[keep],
        "start": np.asarray([p.start for p in chosen], dtype="datetime64[ns]"),
        "end": np.asarray([p.end for p in chosen], dtype="datetime64[ns]"),
        "owner": owner[keep],
        "revenue": revenue[keep],
        "deals": deals[keep],
    }
    return _frame(TARGET_COLUMNS, data)


def _validate_activities(sheet: _Sheet, stages: Stages, owners: Mapping[str, str]) -> pd.DataFrame:
    present = sheet.present
    day = sheet.date("date")
    sheet.flag("date", sheet.blank("date"), "missing date", "error")
    sheet.flag("type", sheet.blank("type"), "missing activity type", "error")
    known = {norm_key(a): a for a in stages.activities if a}
    mapping = _canonical_spellings([(sheet.coded("type"), present)])
    for text in sheet.coded("type")[1].tolist():
        if text and norm_key(text) in known:
            mapping[text] = known[norm_key(text)]
    _unify(sheet, "type", mapping, "activity", warn=False)
    count = sheet.number("count").copy()
    count[np.isnan(count)] = 1.0
    sheet.flag("count", present & (count <= 0), "count must be above zero", "error")
    _unify(sheet, "owner", owners, "owner")
    keep = sheet.keep
    data = {
        "row": sheet.raw.rows,
        "date": day,
        "owner": sheet.text("owner"),
        "type": sheet.text("type"),
        "prospect_id": sheet.text("prospect_id"),
        "count": count,
    }
    return _frame(ACTIVITY_COLUMNS, data, keep)


def _validate_snapshots(sheet: _Sheet, stages: Stages, owners: Mapping[str, str]) -> pd.DataFrame:
    present = sheet.present
    day = sheet.date("snapshot_date")
    sheet.flag("snapshot_date", sheet.blank("snapshot_date"), "missing date", "error")
    ids = sheet.text("id")
    sheet.flag("id", sheet.blank("id"), "missing ID", "error")
    names, stage_idx = _stage_column(sheet, stages)
    status, idx, names, _ = _apply_status(sheet, stage_idx, names, stages)
    amount = sheet.number("amount").copy()
    negative = present & (amount < 0)
    if negative.any():
        sheet.flag("amount", negative, "negative amount; dropped", "warning")
        amount[negative] = np.nan
    probability = _rate_rules(sheet, "probability", "probability")
    has_key = present & ~np.isnat(day) & (ids != "")
    _duplicates(sheet, "id", [day, ids], has_key, "snapshot date and ID")
    _unify(sheet, "owner", owners, "owner")
    keep = sheet.keep
    data = {
        "row": sheet.raw.rows,
        "snapshot_date": day,
        "id": ids,
        "owner": sheet.text("owner"),
        "stage": names,
        "stage_idx": idx,
        "status": _STATUS_NAMES[status],
        "amount": amount,
        "expected_close": sheet.date("expected_close"),
        "probability": probability,
    }
    return _frame(SNAPSHOT_COLUMNS, data, keep)


# --------------------------------------------------------------------------- validate


def _sheet(
    raw: RawTable | None, table: str, header_rows: Mapping[str, int] | None, issues: _Issues
) -> _Sheet | None:
    if raw is None:
        return None
    found = _read(raw, table, header_rows)
    return None if found is None else _Sheet(found, table, issues)


def validate_stages(
    stages: RawTable, header_rows: Mapping[str, int] | None = None
) -> tuple[Stages, pd.DataFrame]:
    """Validate the Stages table alone: the ordered stages and the issues found.

    Raises:
        InputError: the table is empty or has no open or Won stage.
    """
    issues = _Issues()
    found = _read(stages, "stages", header_rows)
    if found is None:
        raise InputError("the Stages table is empty", sheet="Stages", expected="one row per stage")
    return _validate_stages(found, issues), issues.frame()


def validate(  # noqa: PLR0917 - the tables come in the workbook's sheet order
    prospects: RawTable,
    stages: RawTable | Stages | None = None,
    targets: RawTable | None = None,
    activities: RawTable | None = None,
    snapshots: RawTable | None = None,
    settings: RawTable | Mapping[str, object] | Settings | None = None,
    *,
    as_of: date | str | None = None,
    header_rows: Mapping[str, int] | None = None,
) -> Model:
    """Validate the workbook's raw tables into the clean `Model` plus its issues table.

    Missing optional tables give empty clean tables; a missing Stages table gives
    `default_stages`. ``as_of`` overrides the Settings sheet's as-of date.
    ``header_rows`` maps a sheet name to the Excel row of its header (module docstring).

    Raises:
        InputError: a structural problem (missing required column, empty Prospects or
            Stages table, no open or Won stage, no as-of date, a setting out of range).
    """
    issues = _Issues()
    clean_settings = _read_settings(settings, as_of, header_rows, issues)
    if stages is None:
        stage_model = default_stages()
    elif isinstance(stages, Stages):
        stage_model = stages
    else:
        found = _read(stages, "stages", header_rows)
        if found is None:
            raise InputError(
                "the Stages table is empty", sheet="Stages", expected="one row per stage"
            )
        stage_model = _validate_stages(found, issues)
    p_raw = _read(prospects, "prospects", header_rows)
    if p_raw is None:
        raise InputError(
            "the Prospects table is empty", sheet="Prospects", expected="a header row and deals"
        )
    p_sheet = _Sheet(p_raw, "prospects", issues)
    if not p_sheet.present.any():
        raise InputError(
            "the Prospects table has no data rows",
            sheet="Prospects",
            row=p_raw.header_row + 1,
            expected="one row per deal below the header",
        )
    t_sheet = _sheet(targets, "targets", header_rows, issues)
    a_sheet = _sheet(activities, "activities", header_rows, issues)
    s_sheet = _sheet(snapshots, "snapshots", header_rows, issues)
    with_owner = [
        s for s in (p_sheet, t_sheet, a_sheet, s_sheet) if s is not None and s.has("owner")
    ]
    owners = _canonical_spellings([(s.coded("owner"), s.present) for s in with_owner])
    clean_prospects = _validate_prospects(p_sheet, stage_model, owners)
    fiscal = clean_settings.fiscal_start_month
    return Model(
        prospects=clean_prospects,
        stages=stage_model,
        targets=(
            targets_frame([], fiscal)
            if t_sheet is None
            else _validate_targets(t_sheet, clean_settings, owners)
        ),
        activities=(
            activities_frame([])
            if a_sheet is None
            else _validate_activities(a_sheet, stage_model, owners)
        ),
        snapshots=(
            snapshots_frame([], stage_model)
            if s_sheet is None
            else _validate_snapshots(s_sheet, stage_model, owners)
        ),
        settings=clean_settings,
        issues=issues.frame(),
    )
