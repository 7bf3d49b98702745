"""CRM exports into the Prospects table: presets, column mapping and the upsert diff.

An export is a table of text or typed cells with a header row. Importing it takes three
steps, all pure (no file access, no Excel library, no clock):

1. `resolve_mapping`: which export column feeds which Prospects field. An explicit
   ``--map`` wins, then the preset, then the header synonyms of
   `pipeline_xl.core.schema.match_headers`. A preset lists, per field, the columns of the CRM's
   standard deals export; when several are present the first non-blank one is taken on
   each row (Pipedrive's close date is the won time or else the lost time).
2. `convert_export`: cells to typed values (numbers with the file's decimal separator,
   rates, dates), stage names to the workbook's stage names, quirks fixed and reported.
3. `plan_upsert`: the new Prospects rows. Deals are matched by ID: new IDs are appended,
   changed deals get only their mapped cells rewritten, every other column (including
   columns the user added) and every deal missing from the export is kept as it is.

Presets follow the column names of each CRM's standard export (checked against the CRM
documentation and public sample files; a missing column is simply not mapped):

==========  =============================================================================
preset      export and columns read (field <- column)
==========  =============================================================================
salesforce  Opportunity report, "details only": ID <- Opportunity ID, Name <- Opportunity
            Name, Company <- Account Name, Owner <- Opportunity Owner, Source <- Lead
            Source, Stage <- Stage, Amount <- Amount, Expected close <- Close Date,
            Probability <- Probability (%), Category <- Forecast Category, Created <-
            Created Date, Last activity <- Last Activity. Close Date is also the close
            date of won and lost deals.
hubspot     Deals export (index view): ID <- Record ID, Name <- Deal Name, Company <-
            Associated Company (Primary) / Associated Company, Owner <- Deal owner,
            Source <- Original Source Type, Stage <- Deal Stage, Amount <- Amount,
            Expected close <- Close Date, Probability <- Deal probability, Category <-
            Forecast category, Created <- Create Date, Last activity <- Last Activity Date.
            Close Date is also the close date of won and lost deals; Pipeline is not read.
pipedrive   Deals list export: ID <- Deal - ID / Deal - Pipedrive System ID, Name <- Deal
            - Title, Company <- Deal - Organization / Organization, Owner <- Deal - Owner,
            Source <- Deal - Source channel, Stage <- Deal - Stage, Status <- Deal -
            Status, Amount <- Deal - Value, Expected close <- Deal - Expected close date,
            Probability <- Deal - Probability, Created <- Deal - Deal created / Deal -
            Creation date, Closed <- Deal - Won time / Deal - Lost time / Deal - Closed
            on, Last activity <- Deal - Last activity date. A won or lost status moves the
            deal to Won or Lost; a lost deal's stage becomes its Stage reached.
maven       Maven Analytics CRM Sales Opportunities (sales_pipeline.csv): ID <-
            opportunity_id, Owner <- sales_agent, Name <- product, Company <- account,
            Stage <- deal_stage, Created <- engage_date, Closed <- close_date, Amount <-
            close_value. With products.csv beside the export, open deals (no close_value)
            and lost deals (close_value 0) are priced at the product's sales_price, so
            the value win rate counts them (design notes, section 6: win rate by value =
            won amount / (won + lost amount)); product names match by `model.norm_key`
            ("GTXPro" = "GTX Pro").
==========  =============================================================================

Stages: an export stage matches a workbook stage ignoring case, spaces and accents;
``Closed Won`` and ``Closed Lost`` (and the other words `schema` knows) match the Won and
Lost stages; ``stage_map`` renames CRM stages to workbook stages. A stage that still does
not match is written as it is and reported (validation leaves those deals out until the
Stages sheet knows the stage).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.cells import (
    clean_text,
    clean_texts,
    is_blank,
    parse_date,
    parse_dates,
    parse_number,
    parse_numbers,
)
from pipeline_xl.core.contract import norm_key
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Stages
from pipeline_xl.core.schema import match_headers

__all__ = [
    "FIELDS",
    "FIELD_HEADERS",
    "PRESETS",
    "REQUIRED",
    "ColumnMapping",
    "Incoming",
    "Note",
    "Preset",
    "UpsertPlan",
    "convert_export",
    "export_stages_table",
    "known_header",
    "parse_map",
    "parse_stage_map",
    "plan_upsert",
    "price_list",
    "prospects_frame_from",
    "resolve_mapping",
]

ObjectArray = npt.NDArray[np.object_]
Kind = Literal["text", "number", "rate", "date"]
Status = Literal["open", "won", "lost"]

FIELD_HEADERS: dict[str, str] = {
    "id": "ID",
    "name": "Name",
    "company": "Company",
    "owner": "Owner",
    "source": "Source",
    "stage": "Stage",
    "amount": "Amount",
    "expected_close": "Expected close",
    "probability": "Probability",
    "category": "Category",
    "status": "Status",
    "created": "Created",
    "closed": "Closed",
    "last_activity": "Last activity",
    "reached": "Stage reached",
}
"""Prospects field -> the header of its column in the workbook's ``tblProspects``."""

FIELDS = tuple(FIELD_HEADERS)
REQUIRED = ("id", "stage", "amount")
"""Fields an export must provide (a deal needs an ID, a stage and an amount column)."""

_KINDS: dict[str, Kind] = {
    "amount": "number",
    "probability": "rate",
    "expected_close": "date",
    "created": "date",
    "closed": "date",
    "last_activity": "date",
}
_FIELD_KEYS = {norm_key(k): k for k in FIELDS} | {norm_key(h): k for k, h in FIELD_HEADERS.items()}

# Status words, as `schema` reads them (Won/Lost stage names and Status cells).
_WON_WORDS = frozenset(
    norm_key(s)
    for s in ("Won", "Closed won", "Gagné", "Gagnée", "Signed", "Signé", "Signée", "Win")
)
_LOST_WORDS = frozenset(
    norm_key(s) for s in ("Lost", "Closed lost", "Perdu", "Perdue", "Lose", "Abandonné")
)
_OPEN_WORDS = frozenset(
    norm_key(s)
    for s in ("Open", "Opened", "Ouvert", "Ouverte", "En cours", "Active", "In progress")
)
_STATUS_TEXT = {"open": "Open", "won": "Won", "lost": "Lost"}
_TRAILING_PARENS = re.compile(r"\s*\([^()]*\)\s*$")


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True, slots=True)
class Preset:
    """The standard deals export of one CRM.

    ``columns``: field -> the export's column names, first choice first (on each row
    the first non-blank present column is taken). ``stages``: the CRM's default open
    stages in process order with their default probability (None when the CRM sets
    none). ``close_date_closes``: the close-date column is also the actual close date of
    won and lost deals. ``prices``: (file beside the export, product column, price
    column) used to price open and lost deals; ``product_field``: the field that holds
    the product name.
    """

    name: str
    title: str
    columns: Mapping[str, tuple[str, ...]]
    stages: tuple[tuple[str, float | None], ...] = ()
    close_date_closes: bool = False
    prices: tuple[str, str, str] | None = None
    product_field: str | None = None


PRESETS: dict[str, Preset] = {
    "salesforce": Preset(
        "salesforce",
        "Salesforce opportunity report",
        {
            "id": ("Opportunity ID", "Opportunity ID (18)"),
            "name": ("Opportunity Name",),
            "company": ("Account Name",),
            "owner": ("Opportunity Owner",),
            "source": ("Lead Source",),
            "stage": ("Stage",),
            "amount": ("Amount",),
            "expected_close": ("Close Date",),
            "probability": ("Probability (%)",),
            "category": ("Forecast Category",),
            "created": ("Created Date",),
            "last_activity": ("Last Activity",),
        },
        stages=(
            ("Prospecting", 0.10),
            ("Qualification", 0.10),
            ("Needs Analysis", 0.20),
            ("Value Proposition", 0.50),
            ("Id. Decision Makers", 0.60),
            ("Perception Analysis", 0.70),
            ("Proposal/Price Quote", 0.75),
            ("Negotiation/Review", 0.90),
        ),
        close_date_closes=True,
    ),
    "hubspot": Preset(
        "hubspot",
        "HubSpot deals export",
        {
            "id": ("Record ID",),
            "name": ("Deal Name",),
            "company": ("Associated Company (Primary)", "Associated Company"),
            "owner": ("Deal owner",),
            "source": ("Original Source Type",),
            "stage": ("Deal Stage",),
            "amount": ("Amount",),
            "expected_close": ("Close Date",),
            "probability": ("Deal probability",),
            "category": ("Forecast category",),
            "created": ("Create Date",),
            "last_activity": ("Last Activity Date",),
        },
        stages=(
            ("Appointment Scheduled", 0.20),
            ("Qualified To Buy", 0.40),
            ("Presentation Scheduled", 0.60),
            ("Decision Maker Bought-In", 0.80),
            ("Contract Sent", 0.90),
        ),
        close_date_closes=True,
    ),
    "pipedrive": Preset(
        "pipedrive",
        "Pipedrive deals export",
        {
            "id": ("Deal - ID", "Deal - Pipedrive System ID"),
            "name": ("Deal - Title",),
            "company": ("Deal - Organization", "Organization"),
            "owner": ("Deal - Owner",),
            "source": ("Deal - Source channel",),
            "stage": ("Deal - Stage",),
            "status": ("Deal - Status",),
            "amount": ("Deal - Value",),
            "expected_close": ("Deal - Expected close date",),
            "probability": ("Deal - Probability",),
            "created": ("Deal - Deal created", "Deal - Creation date"),
            "closed": ("Deal - Won time", "Deal - Lost time", "Deal - Closed on"),
            "last_activity": ("Deal - Last activity date",),
        },
        stages=(
            ("Qualified", None),
            ("Contact Made", None),
            ("Demo Scheduled", None),
            ("Proposal Made", None),
            ("Negotiations Started", None),
        ),
    ),
    "maven": Preset(
        "maven",
        "Maven Analytics CRM sales pipeline",
        {
            "id": ("opportunity_id",),
            "owner": ("sales_agent",),
            "name": ("product",),
            "company": ("account",),
            "stage": ("deal_stage",),
            "created": ("engage_date",),
            "closed": ("close_date",),
            "amount": ("close_value",),
        },
        stages=(("Prospecting", None), ("Engaging", None)),
        prices=("products.csv", "product", "sales_price"),
        product_field="name",
    ),
}
"""The presets by name (``--preset``)."""

_KNOWN_HEADERS = frozenset(
    norm_key(c) for p in PRESETS.values() for names in p.columns.values() for c in names
)


def known_header(text: object) -> bool:
    """Whether ``text`` names a column some preset or header synonym reads (header search)."""
    key = norm_key(clean_text(text))
    return bool(key) and (key in _KNOWN_HEADERS or bool(match_headers([text], "prospects")))


# --------------------------------------------------------------------------- mapping


def _field_of(text: str, what: str) -> str:
    found = _FIELD_KEYS.get(norm_key(text))
    if found is None:
        raise InputError(
            f"{what}: unknown field",
            value=text,
            expected=f"one of {', '.join(FIELDS)}",
        )
    return found


def parse_map(text: str | None) -> dict[str, tuple[str, ...]]:
    """Read ``--map``: ``field=column,...``; ``column|other`` gives fallbacks in order.

    Fields are the Prospects fields (``expected_close``) or their workbook headers
    (``Expected close``).

    Raises:
        InputError: a part without ``=``, an unknown field, or a field given twice.

    """
    found: dict[str, tuple[str, ...]] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, columns = part.partition("=")
        if not sep or not name.strip() or not columns.strip():
            raise InputError(
                "--map: not a field=column pair",
                value=part.strip(),
                expected="field=column, e.g. amount=Deal value",
            )
        key = _field_of(name.strip(), "--map")
        if key in found:
            raise InputError("--map: field given twice", value=name.strip())
        found[key] = tuple(c.strip() for c in columns.split("|") if c.strip())
    return found


def parse_stage_map(text: str | None, stages: Stages) -> dict[str, str]:
    """Read ``--stage-map``: ``CRM stage=workbook stage,...`` (folded CRM name -> stage name).

    Raises:
        InputError: a part without ``=`` or a workbook stage the Stages table lacks.

    """
    found: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        crm, sep, ours = part.partition("=")
        if not sep or not crm.strip() or not ours.strip():
            raise InputError(
                "--stage-map: not a stage=stage pair",
                value=part.strip(),
                expected="CRM stage=workbook stage, e.g. Engaging=Qualified",
            )
        stage = stages.find(ours.strip())
        if stage is None:
            raise InputError(
                "--stage-map: not a stage of the workbook's Stages table",
                value=ours.strip(),
                expected=f"one of {', '.join(s.name for s in stages.all)}",
            )
        found[norm_key(crm)] = stage.name
    return found


@dataclass(frozen=True)
class ColumnMapping:
    """Which export columns feed which Prospects field, and why.

    ``columns``: field -> positions of the export columns (first non-blank wins per
    row); ``sources``: field -> ``--map``, the preset name or ``header``;
    ``close_date_closes``: the expected-close column also dates won and lost deals.
    """

    headers: tuple[str, ...]
    columns: dict[str, tuple[int, ...]]
    sources: dict[str, str]
    close_date_closes: bool = False

    @property
    def unused(self) -> tuple[str, ...]:
        """Export columns that feed no field."""
        used = {p for positions in self.columns.values() for p in positions}
        return tuple(h for i, h in enumerate(self.headers) if i not in used and h)

    def describe(self) -> list[str]:
        """One line per mapped field: ``Amount <- close_value (maven preset)``."""
        lines = []
        width = max(len(FIELD_HEADERS[f]) for f in self.columns)
        for name in FIELDS:
            if name not in self.columns:
                continue
            cols = " | ".join(self.headers[p] for p in self.columns[name])
            lines.append(f"{FIELD_HEADERS[name]:<{width}} <- {cols} ({self.sources[name]})")
        if self.close_date_closes:
            lines.append(f"{'Closed':<{width}} <- the close date of won and lost deals")
        if self.unused:
            lines.append(f"not imported: {', '.join(self.unused)}")
        return lines


def resolve_mapping(
    headers: Sequence[object],
    *,
    preset: Preset | None = None,
    explicit: Mapping[str, tuple[str, ...]] | None = None,
    where: str = "the export",
    header_row: int | None = None,
) -> ColumnMapping:
    """Map Prospects fields to export columns: ``explicit`` first, then preset, then synonyms.

    An export column feeds one field only. ``where`` (the file name) and ``header_row``
    go into error messages.

    Raises:
        InputError: an explicit column the export lacks, or no column for a field of
            `REQUIRED`.

    """
    texts = tuple(clean_text(h) for h in headers)
    position: dict[str, int] = {}
    for i, text in enumerate(texts):
        position.setdefault(norm_key(text), i)
    columns: dict[str, tuple[int, ...]] = {}
    sources: dict[str, str] = {}
    for name, wanted in (explicit or {}).items():
        columns[name] = tuple(_column_at(position, c, texts, where, header_row) for c in wanted)
        sources[name] = "--map"
    used = {p for found in columns.values() for p in found}
    preset_columns = preset.columns if preset is not None else {}
    label = f"{preset.name} preset" if preset is not None else ""
    for name, wanted in preset_columns.items():
        found = [p for c in wanted if (p := position.get(norm_key(c), -1)) >= 0 and p not in used]
        if name not in columns and found:
            columns[name], sources[name] = tuple(found), label
            used.update(found)
    for name, pos in match_headers(list(texts), "prospects").items():
        if name not in columns and pos not in used:
            columns[name], sources[name] = (pos,), "header"
            used.add(pos)
    missing = [n for n in REQUIRED if n not in columns]
    if missing:
        labels = ", ".join(FIELD_HEADERS[n] for n in missing)
        shown = ", ".join(t for t in texts if t)[:300] or "none"
        hint = "--preset salesforce|hubspot|pipedrive|maven or --map field=column"
        raise InputError(
            f"no column for {labels}; columns found: {shown}",
            sheet=where,
            row=header_row,
            expected=f"a deals export with ID, Stage and Amount columns ({hint})",
        )
    closes = "expected_close" in columns and "closed" not in columns
    if closes and not (preset is not None and preset.close_date_closes):
        exp = columns["expected_close"]
        closes = len(exp) == 1 and norm_key(texts[exp[0]]) == "closedate"
    return ColumnMapping(texts, columns, sources, close_date_closes=closes)


def _column_at(
    position: Mapping[str, int], column: str, texts: Sequence[str], where: str, row: int | None
) -> int:
    """Position of an explicitly mapped column; InputError when the export lacks it."""
    pos = position.get(norm_key(column))
    if pos is None:
        raise InputError(
            f"--map: no column {column!r}",
            sheet=where,
            row=row,
            expected=f"one of {', '.join(t for t in texts if t)}",
        )
    return pos


# --------------------------------------------------------------------------- conversion


@dataclass(frozen=True, slots=True)
class Note:
    """Something the import did or found, for the report (``warning`` needs a look)."""

    severity: Literal["info", "warning"]
    text: str


@dataclass
class Incoming:
    """The export's deals as Prospects cells, one row per ID, in export order.

    ``values``: workbook header -> object array (str, float, datetime or None; a cell
    that could not be read keeps its text). ``rows``: the export row of each deal.
    ``status``: open/won/lost ("" when the stage is unknown).
    """

    ids: ObjectArray
    values: dict[str, ObjectArray]
    rows: npt.NDArray[np.int64]
    status: ObjectArray
    notes: list[Note] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    read: int = 0

    def __len__(self) -> int:
        return len(self.ids)


def _objects(frame: pd.DataFrame, pos: int) -> ObjectArray:
    return np.asarray(frame.iloc[:, pos].to_numpy(dtype=object), dtype=object)


def _blank_mask(values: ObjectArray) -> npt.NDArray[np.bool_]:
    """True where a cell is blank (None, NaN, spaces), one test per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.fromiter((is_blank(u) for u in uniques), dtype=bool, count=len(uniques))
    table = np.append(table, True)  # code -1: missing
    return table[codes]


def _coalesce(frame: pd.DataFrame, positions: tuple[int, ...]) -> ObjectArray:
    """Per row, the first non-blank cell among ``positions``."""
    out = _objects(frame, positions[0]).copy()
    for pos in positions[1:]:
        blank = _blank_mask(out)
        if not blank.any():
            break
        out[blank] = _objects(frame, pos)[blank]
    return out


def _per_distinct(values: ObjectArray, fn: Callable[[object], object]) -> ObjectArray:
    """``fn`` applied once per distinct cell, spread over the column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = [fn(u) for u in uniques]
    table[len(uniques)] = fn(None)
    return table[codes]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001 - workbook dates are naive


def _convert_column(
    values: ObjectArray, kind: Kind, *, decimal_comma: bool, month_first: bool, percent: bool
) -> tuple[ObjectArray, int]:
    """Typed cells of one column and how many non-blank cells could not be read."""
    if kind == "text":
        texts, _ = clean_texts(values)
        out = texts.astype(object)
        out[out == ""] = None
        return out, 0

    def convert(cell: object) -> object:
        if cell is None or is_blank(cell):
            return None
        if kind == "date":
            day = parse_date(cell, month_first=month_first)
            return clean_text(cell) if day is None else _midnight(day)
        rate = kind == "rate"
        number = parse_number(cell, rate=rate, decimal_comma=decimal_comma)
        if number is None:
            return clean_text(cell)
        if rate and percent and not (isinstance(cell, str) and "%" in cell):
            number /= 100.0
        return number

    out = _per_distinct(values, convert)
    bad = int(sum(isinstance(v, str) for v in out))
    return out, bad


def _status_word(text: object) -> Status | None:
    key = norm_key(text) if isinstance(text, str) else ""
    if key in _WON_WORDS:
        return "won"
    if key in _LOST_WORDS:
        return "lost"
    if key in _OPEN_WORDS:
        return "open"
    return None


def _stage_lookup(
    stages: Stages, stage_map: Mapping[str, str]
) -> Callable[[str], tuple[str, Status | None]]:
    """Export stage text -> (workbook stage name, status); unknown: (text, None)."""
    lost_name = stages.lost.name if stages.lost is not None else "Lost"

    def find(text: str) -> tuple[str, Status | None]:
        for candidate in (text, _TRAILING_PARENS.sub("", text)):
            if not candidate:
                continue
            key = norm_key(candidate)
            mapped = stage_map.get(key)
            stage = stages.find(mapped if mapped is not None else candidate)
            if stage is not None:
                return stage.name, stage.status
            if key in _WON_WORDS:
                return stages.won.name, "won"
            if key in _LOST_WORDS:
                return lost_name, "lost"
        return text, None

    return find


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _some_rows(rows: npt.NDArray[np.int64], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit].tolist())
    return shown + (", ..." if len(rows) > limit else "")


def price_list(frame: pd.DataFrame, product: str, price: str) -> dict[str, tuple[str, float]]:
    """Product name folded by `model.norm_key` -> (name as written, price), from a price table.

    Raises:
        InputError: the table lacks the product or the price column.

    """
    heads = {norm_key(c): c for c in frame.columns}
    if norm_key(product) not in heads or norm_key(price) not in heads:
        raise InputError(
            "the price list has no product or price column",
            expected=f"columns {product} and {price}",
        )
    names = frame[heads[norm_key(product)]].tolist()
    prices = frame[heads[norm_key(price)]].tolist()
    out: dict[str, tuple[str, float]] = {}
    for name, value in zip(names, prices, strict=True):
        number = parse_number(value)
        if number is not None and clean_text(name):
            out.setdefault(norm_key(name), (clean_text(name), number))
    return out


@dataclass
class _Build:
    """Working state of `convert_export`."""

    values: dict[str, ObjectArray]
    status: ObjectArray
    notes: list[Note]


def convert_export(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    stages: Stages,
    *,
    rows: Sequence[int] | npt.NDArray[np.int64] | None = None,
    decimal_comma: bool = False,
    month_first: bool = False,
    stage_map: Mapping[str, str] | None = None,
    prices: Mapping[str, tuple[str, float]] | None = None,
    preset: Preset | None = None,
    prices_name: str = "the price list",
) -> Incoming:
    """The export's deals as Prospects cells (module docstring), with notes on what was done.

    ``frame``: the export's data rows, columns in header order; ``rows``: their row
    numbers in the file (default: 2, 3, ...). ``decimal_comma`` and ``month_first``
    are the file's conventions for ambiguous numbers (``1.234``) and dates
    (``03/04/2026``). ``prices`` (from `price_list`) prices open deals without an amount
    and lost deals at zero, by the product in ``preset.product_field``.

    Rows without an ID are skipped; an ID given twice with the same values is imported
    once, with different values it is a conflict: reported and not imported.
    """
    n = len(frame)
    row_numbers = (
        np.arange(2, n + 2, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    )
    notes: list[Note] = []
    values: dict[str, ObjectArray] = {}
    for name, positions in mapping.columns.items():
        raw = _coalesce(frame, positions)
        kind = _KINDS.get(name, "text")
        percent = "%" in mapping.headers[positions[0]]
        options = {"decimal_comma": decimal_comma, "month_first": month_first}
        converted, bad = _convert_column(raw, kind, percent=percent, **options)
        if kind == "rate" and not percent:
            # A 0-100 column (35 meaning 35 %): every cell without a % sign is divided.
            numbers = [v for v in converted if isinstance(v, float)]
            if numbers and max(numbers) > 1.0:
                converted, bad = _convert_column(raw, kind, percent=True, **options)
        if bad:
            where = np.flatnonzero([isinstance(v, str) for v in converted])
            notes.append(
                Note(
                    "warning",
                    f"{FIELD_HEADERS[name]}: {_plural(bad, 'cell')} "
                    f"could not be read and were kept as text (export rows "
                    f"{_some_rows(row_numbers[where])})",
                )
            )
        values[name] = converted
    build = _Build(values, np.full(n, "", dtype=object), notes)
    _resolve_stages(build, stages, stage_map or {})
    if mapping.close_date_closes:
        _close_dates(build)
    if prices is not None and preset is not None and preset.product_field in values:
        _price(build, prices, preset.product_field or "", prices_name)
    _blank_notes(build, mapping)
    ids = values.pop("id")
    keep = np.asarray([v is not None for v in ids], dtype=bool)
    if not keep.all():
        missing = row_numbers[~keep]
        notes.append(
            Note(
                "warning",
                f"{_plural(len(missing), 'row')} without an ID skipped "
                f"(export rows {_some_rows(missing)})",
            )
        )
    incoming = Incoming(
        ids=ids[keep],
        values={FIELD_HEADERS[k]: v[keep] for k, v in build.values.items()},
        rows=row_numbers[keep],
        status=build.status[keep],
        notes=notes,
        read=n,
    )
    return _dedupe(incoming)


def _resolve_stages(build: _Build, stages: Stages, stage_map: Mapping[str, str]) -> None:
    """Stage names to the workbook's; status from the stage or a Status column."""
    values, notes = build.values, build.notes
    stage = values["stage"]
    find = _stage_lookup(stages, stage_map)
    found = _per_distinct(stage, lambda t: find(t) if isinstance(t, str) else ("", None))
    names = np.empty(len(found), dtype=object)
    names[:] = [None if not f[0] else f[0] for f in found]
    unknown = np.asarray([f[1] is None and bool(f[0]) for f in found], dtype=bool)
    # A stage the workbook does not know is an open stage (Won and Lost words are known).
    status = np.asarray([f[1] or ("open" if f[0] else "") for f in found], dtype=object)
    if unknown.any():
        counts = Counter(names[unknown].tolist())
        listed = ", ".join(f"{s} ({c:,})" for s, c in counts.most_common(8))
        notes.append(
            Note(
                "warning",
                f"stages not in the workbook's Stages table, written as "
                f"they are: {listed}. Validation leaves these deals out until the "
                f"Stages sheet has them (or use --stage-map CRM=workbook)",
            )
        )
    if "status" in values:
        words = _per_distinct(values["status"], _status_word)
        given = values["status"]
        odd = np.asarray([w is None and g is not None for w, g in zip(words, given, strict=True)])
        if odd.any():
            listed = ", ".join(sorted({str(g) for g in given[odd]})[:5])
            notes.append(
                Note(
                    "warning",
                    f"Status: {_plural(int(odd.sum()), 'deal')} with a "
                    f"status that is not open, won or lost ({listed}); status taken "
                    f"from the stage",
                )
            )
        closing = np.asarray([w in {"won", "lost"} for w in words], dtype=bool)
        moved = closing & (status != words)
        if moved.any():
            lost_name = stages.lost.name if stages.lost is not None else "Lost"
            lost_from = moved & (words == "lost") & (status == "open")
            if lost_from.any() and "reached" not in values:
                reached = np.full(len(stage), None, dtype=object)
                reached[lost_from] = names[lost_from]
                values["reached"] = reached
            names[moved & (words == "won")] = stages.won.name
            names[moved & (words == "lost")] = lost_name
            status[moved] = words[moved]
            notes.append(
                Note(
                    "info",
                    f"{_plural(int(moved.sum()), 'deal')} moved to "
                    f"{stages.won.name} or {lost_name} as their status says; "
                    f"a lost deal's stage is kept as its Stage reached",
                )
            )
        text = np.empty(len(words), dtype=object)
        text[:] = [
            _STATUS_TEXT.get(str(w)) if w is not None else g
            for w, g in zip(words, given, strict=True)
        ]
        values["status"] = text
    values["stage"] = names
    build.status = status


def _close_dates(build: _Build) -> None:
    """Won and lost deals take the close-date column as their close date too."""
    values = build.values
    closing = np.isin(build.status, ["won", "lost"])
    closed = np.full(len(closing), None, dtype=object)
    closed[closing] = values["expected_close"][closing]
    values["closed"] = closed


def _price(
    build: _Build, prices: Mapping[str, tuple[str, float]], product_field: str, source: str
) -> None:
    """Open deals without an amount and lost deals at zero take the product's price."""
    values, notes, status = build.values, build.notes, build.status
    amount = values["amount"].copy()
    products = values[product_field]
    keys = _per_distinct(products, lambda p: norm_key(p) if isinstance(p, str) else "")
    price = _per_distinct(keys, lambda k: prices[str(k)][1] if k in prices else None)
    blank = np.asarray([a is None for a in amount], dtype=bool)
    zero = np.asarray([isinstance(a, float) and a == 0.0 for a in amount], dtype=bool)
    known = np.asarray([p is not None for p in price], dtype=bool)
    open_blank = (status == "open") & blank
    lost_zero = (status == "lost") & zero
    cases: tuple[tuple[npt.NDArray[np.bool_], str, Literal["info", "warning"]], ...] = (
        (open_blank, "open deals without an amount", "info"),
        (lost_zero, "lost deals at 0", "warning"),
    )
    for mask, what, severity in cases:
        if not mask.any():
            continue
        priced = mask & known
        amount[priced] = price[priced]
        text = (
            f"Amount: {_plural(int(priced.sum()), 'deal')} of the {int(mask.sum()):,} {what} "
            f"priced at their product's price from {source}"
        )
        if what.startswith("lost"):
            text += " (so the value win rate counts them)"
        unpriced = mask & ~known
        if unpriced.any():
            names = sorted({str(p) for p in products[unpriced] if p is not None})[:5]
            text += f"; {int(unpriced.sum()):,} left as they are (product not in the list: "
            text += f"{', '.join(names) or 'blank'})"
        notes.append(Note(severity, text))
    used = known & (open_blank | lost_zero)
    odd = sorted(
        {
            f"{p} = {prices[str(k)][0]}"
            for p, k in zip(products[used].tolist(), keys[used].tolist(), strict=True)
            if clean_text(p) != prices[str(k)][0]
        }
    )
    if odd:
        notes.append(
            Note("info", f"product names matched ignoring case and spaces: {', '.join(odd[:5])}")
        )
    values["amount"] = amount


def _blank_notes(build: _Build, mapping: ColumnMapping) -> None:
    """Report mapped columns with blank cells, with the stages those deals sit in."""
    values, notes = build.values, build.notes
    stage = values["stage"]
    closing = np.isin(build.status, ["won", "lost"])
    for name in mapping.columns:
        if name in {"id", "status"}:
            continue
        blank = np.asarray([v is None for v in values[name]], dtype=bool)
        if name == "closed":
            blank &= closing  # open deals have no close date yet
        elif name == "expected_close":
            blank &= build.status == "open"
        if not blank.any():
            continue
        counts = Counter(str(s) for s in stage[blank] if s is not None)
        where = ", ".join(f"{s} {c:,}" for s, c in counts.most_common(3))
        notes.append(
            Note(
                "info",
                f"{FIELD_HEADERS[name]}: {_plural(int(blank.sum()), 'deal')} "
                f"blank" + (f" (by stage: {where})" if where else ""),
            )
        )


def _dedupe(incoming: Incoming) -> Incoming:
    """One row per ID: identical repeats dropped, conflicting IDs left out and reported."""
    ids = incoming.ids
    codes, uniques = pd.factorize(ids)
    if len(uniques) == len(ids):
        return incoming
    counts = np.bincount(codes)
    repeated = np.flatnonzero(counts[codes] > 1)
    keep = np.ones(len(ids), dtype=bool)
    groups: dict[int, list[int]] = {}
    for i in repeated.tolist():
        groups.setdefault(int(codes[i]), []).append(i)
    same = 0
    for members in groups.values():
        first = members[0]
        differ = [
            h
            for h, col in incoming.values.items()
            if any(not _same(col[first], col[j]) for j in members[1:])
        ]
        keep[members[1:]] = False
        if differ:
            keep[first] = False
            rows = ", ".join(str(incoming.rows[j]) for j in members)
            incoming.conflicts.append(
                f"ID {ids[first]} is on export rows {rows} with different {', '.join(differ)}; "
                f"not imported"
            )
        else:
            same += len(members) - 1
    if same:
        incoming.notes.append(
            Note(
                "info",
                f"{_plural(same, 'repeated row')} with the same "
                f"values as an earlier row of the same ID imported once",
            )
        )
    return Incoming(
        ids=ids[keep],
        values={h: v[keep] for h, v in incoming.values.items()},
        rows=incoming.rows[keep],
        status=incoming.status[keep],
        notes=incoming.notes,
        conflicts=incoming.conflicts,
        read=incoming.read,
    )


# --------------------------------------------------------------------------- comparing


def _norm(value: object, kind: Kind = "text") -> object:
    """A cell in a form that compares equal when Excel would show the same thing.

    Blank is None; dates are `date`; numbers are floats (text that reads as a number
    too, in number columns); anything else is its clean text.
    """
    if value is None or is_blank(value):
        return None
    found: object = None
    if kind == "date" or isinstance(value, datetime | date):
        found = parse_date(value)
    elif kind in {"number", "rate"} or not isinstance(value, str | bool | np.bool_):
        found = parse_number(value)
    return clean_text(value) if found is None else found


def _equal(x: object, y: object) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9)
    return x == y


def _same(a: object, b: object, kind: Kind = "text") -> bool:
    """Whether two cells hold the same value (`_norm`)."""
    return _equal(_norm(a, kind), _norm(b, kind))


# --------------------------------------------------------------------------- upsert


@dataclass
class UpsertPlan:
    """The Prospects table after the import, and what changed.

    ``header``/``rows``: the whole table to write (existing rows first, in their order,
    then the new deals); ``kinds``: how to store each column (text, number, date, or
    ``auto`` for the user's own columns). ``added``: IDs appended; ``updated``: ID ->
    (header, old, new) for each changed cell; ``unchanged``: deals found identical;
    ``kept``: deals of the workbook the export does not have (left as they are).
    """

    header: list[str]
    rows: list[list[object]]
    kinds: list[WriteKind]
    added: list[str] = field(default_factory=list)
    updated: dict[str, list[tuple[str, object, object]]] = field(default_factory=dict)
    unchanged: int = 0
    kept: int = 0
    removed_blank: int = 0
    new_columns: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the table differs from the workbook's (else nothing is written)."""
        return bool(self.added or self.updated or self.new_columns)

    def summary(self) -> list[str]:
        """Counts, conflicts and notes as report lines."""
        counts = (
            f"{len(self.added):,} new, {len(self.updated):,} updated, {self.unchanged:,} "
            f"unchanged; {self.kept:,} deals of the workbook not in the export kept as they are"
        )
        lines = [counts]
        if self.new_columns:
            lines.append(f"columns added to the table: {', '.join(self.new_columns)}")
        lines += [f"conflict: {c}" for c in self.conflicts]
        lines += [f"{n.severity}: {n.text}" for n in self.notes]
        return lines

    def preview(self, limit: int = 5) -> list[str]:
        """The first new and updated deals, one line each."""
        lines = []
        pos = {h: i for i, h in enumerate(self.header)}
        index = {str(r[pos["ID"]]): r for r in self.rows[-len(self.added) :]} if self.added else {}
        for key in self.added[:limit]:
            row = index.get(key, [])
            shown = [
                f"{h}={_show(row[pos[h]])}"
                for h in ("Name", "Stage", "Amount")
                if h in pos and row and row[pos[h]] is not None
            ]
            lines.append(f"+ {key}: {', '.join(shown)}")
        if len(self.added) > limit:
            lines.append(f"+ ... {len(self.added) - limit:,} more")
        for key, cells in list(self.updated.items())[:limit]:
            changes = ", ".join(f"{h} {_show(a)} -> {_show(b)}" for h, a, b in cells[:4])
            lines.append(f"~ {key}: {changes}")
        if len(self.updated) > limit:
            lines.append(f"~ ... {len(self.updated) - limit:,} more")
        return lines


def _show(value: object) -> str:
    if value is None or is_blank(value):
        return "(blank)"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return repr(clean_text(value))


WriteKind = Literal["text", "number", "date", "auto"]
_WRITE_KINDS: dict[Kind, WriteKind] = {
    "text": "text",
    "number": "number",
    "rate": "number",
    "date": "date",
}


def plan_upsert(
    header: Sequence[object], rows: Sequence[Sequence[object]], incoming: Incoming
) -> UpsertPlan:
    """Merge ``incoming`` into the Prospects table ``header`` + ``rows`` (module docstring).

    Columns are found by their headers (the workbook's names or the synonyms of
    `schema.match_headers`); a mapped field the table lacks gets a new column at the
    end. Blank rows are dropped. When an ID is on several workbook rows, the first is
    updated (reported).

    Raises:
        InputError: the table has no ID column.

    """
    head = [clean_text(h) for h in header]
    found = match_headers(head, "prospects")
    if "id" not in found:
        raise InputError(
            "the Prospects table has no ID column",
            sheet="Prospects",
            row=1,
            expected="an ID column to match deals by",
        )
    field_of = {FIELD_HEADERS[k]: k for k in FIELDS}
    target: dict[str, int] = {}
    new_columns = []
    for h in incoming.values:
        pos = found.get(field_of[h])
        if pos is None:
            head.append(h)
            new_columns.append(h)
            pos = len(head) - 1
        target[h] = pos
    width = len(head)
    table = [list(r) + [None] * (width - len(r)) for r in rows]
    kept_rows = [r for r in table if not all(is_blank(v) for v in r)]
    placed = {**found, **{field_of[h]: target[h] for h in new_columns}}
    plan = UpsertPlan(
        head,
        kept_rows,
        _kinds(head, placed),
        new_columns=new_columns,
        conflicts=list(incoming.conflicts),
    )
    where = _id_rows(kept_rows, found["id"], plan.notes)
    matched = np.asarray([where.get(str(k), -1) for k in incoming.ids.tolist()], dtype=np.int64)
    old, new = np.flatnonzero(matched >= 0), np.flatnonzero(matched < 0)
    changes = _changes(kept_rows, matched[old], old, incoming, target=target, field_of=field_of)
    for j, cells in zip(old.tolist(), changes, strict=True):
        if cells:
            current = kept_rows[int(matched[j])]
            for h, _, value in cells:
                current[target[h]] = value
            plan.updated[str(incoming.ids[j])] = cells
    plan.unchanged = len(old) - len(plan.updated)
    columns = {target[h]: v[new].tolist() for h, v in incoming.values.items()}
    columns[found["id"]] = incoming.ids[new].tolist()
    blank = [None] * len(new)
    kept_rows.extend(map(list, zip(*(columns.get(c, blank) for c in range(width)), strict=True)))
    plan.added = [str(k) for k in incoming.ids[new].tolist()]
    plan.kept = len(where) - len(np.unique(matched[old]))
    plan.removed_blank = len(table) - (len(kept_rows) - len(new))
    if not plan.changed:
        plan.rows, plan.removed_blank = table, 0  # nothing to write: the rows as read
    return plan


def _id_rows(rows: Sequence[Sequence[object]], id_pos: int, notes: list[Note]) -> dict[str, int]:
    """ID -> index of its first row; IDs on several rows are reported in ``notes``."""
    column = np.empty(len(rows), dtype=object)
    column[:] = [r[id_pos] for r in rows]
    keys = clean_texts(column)[0].tolist()
    where: dict[str, int] = {}
    twice: set[str] = set()
    for i, key in enumerate(keys):
        if key and key in where:
            twice.add(key)
        elif key:
            where[key] = i
    if twice:
        listed = ", ".join(sorted(twice)[:5])
        notes.append(
            Note(
                "warning",
                f"IDs on more than one row of the workbook (the first row is updated): {listed}",
            )
        )
    return where


def _differ(old: ObjectArray, new: ObjectArray, kind: Kind) -> npt.NDArray[np.bool_]:
    """Where two columns of cells hold different values (`_norm`), compared as whole columns.

    Text compares as clean text; numbers within 1e-12 relative; dates by day. Cells that
    do not read as their column's kind (text in a number column) are compared one by one.
    """
    odd: list[int] = []
    if kind == "text":
        differ = clean_texts(old)[0] != clean_texts(new)[0]
    elif kind == "date":
        (a, bad_a), (b, bad_b) = parse_dates(old), parse_dates(new)
        differ = (a != b) & ~(np.isnat(a) & np.isnat(b))
        odd = [p.index for p in (*bad_a, *bad_b)]
    else:
        (x, bad_x), (y, bad_y) = parse_numbers(old), parse_numbers(new)
        both = np.isnan(x) & np.isnan(y)
        differ = ~(np.isclose(x, y, rtol=1e-12, atol=1e-9) | both)
        odd = [p.index for p in (*bad_x, *bad_y)]
    differ = np.asarray(differ, dtype=bool)
    for i in set(odd):
        differ[i] = not _same(old[i], new[i], kind)
    return differ


def _changes(
    rows: Sequence[Sequence[object]],
    at: npt.NDArray[np.int64],
    picked: npt.NDArray[np.int64],
    incoming: Incoming,
    *,
    target: Mapping[str, int],
    field_of: Mapping[str, str],
) -> list[list[tuple[str, object, object]]]:
    """Per matched deal, the (header, old, new) cells that differ; compared column by column."""
    out: list[list[tuple[str, object, object]]] = [[] for _ in range(len(at))]
    for h, pos in target.items():
        current = np.empty(len(at), dtype=object)
        current[:] = [rows[i][pos] for i in at.tolist()]
        values = incoming.values[h][picked]
        for n in np.flatnonzero(_differ(current, values, _KINDS.get(field_of[h], "text"))):
            out[n].append((h, current[n], values[n]))
    return out


def _kinds(head: Sequence[str], found: Mapping[str, int]) -> list[WriteKind]:
    """How the writer stores each column: text, number or date; ``auto`` for user columns."""
    by_pos = {pos: name for name, pos in found.items()}
    return [
        _WRITE_KINDS[_KINDS.get(by_pos[i], "text")] if i in by_pos else "auto"
        for i in range(len(head))
    ]


# --------------------------------------------------------------------------- exports alone


def export_stages_table(
    preset: Preset | None, incoming_stages: Sequence[object]
) -> list[list[object]]:
    """A Stages table for an export read on its own (``metrics`` on an export file).

    Open stages: the preset's in process order with their probabilities, then any other
    stage the export uses, in order of first appearance; then Won and Lost.
    """
    rows: list[list[object]] = [["Stage", "Activity", "Probability", "Status"]]
    names: list[str] = []
    keys: set[str] = set()
    for name, probability in preset.stages if preset is not None else ():
        rows.append([name, name, probability, "open"])
        names.append(name)
        keys.add(norm_key(name))
    for text in incoming_stages:
        cleaned = clean_text(text)
        key = norm_key(cleaned)
        if not key or key in keys or _status_word(cleaned) in {"won", "lost"}:
            continue
        keys.add(key)
        rows.append([cleaned, cleaned, None, "open"])
    rows.append(["Won", "Order", 1.0, "won"])
    rows.append(["Lost", "", 0.0, "lost"])
    return rows


def prospects_frame_from(incoming: Incoming) -> pd.DataFrame:
    """The incoming deals as a raw Prospects table (workbook headers) for validation."""
    data: dict[str, Any] = {"ID": pd.Series(incoming.ids, dtype=object)}
    for h, v in incoming.values.items():
        data[h] = pd.Series(v, dtype=object)
    return pd.DataFrame(data)
