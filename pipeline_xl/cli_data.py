"""Command-line sub-commands for CRM data: ``import``, ``metrics`` and ``rollup``.

An adapter: it reads files (`pipeline_xl.io.exports`, `pipeline_xl.io.reader`), calls the
core (`pipeline_xl.crm`, `pipeline_xl.schema`, `pipeline_xl.metrics`) and writes through
the non-destructive package writer (`pipeline_xl.io.tables.replace_table_rows`, then
`pipeline_xl.io.safety.atomic_write`, which keeps the previous file as ``NAME.bak``).
`register` adds the three sub-commands to the ``pipeline-xl`` parser.

Nothing here reads the clock: ``metrics`` on an export is as of the export's latest
date (or ``--as-of``), on a workbook as of its Settings (or ``--as-of``); ``rollup`` is
as of the latest as-of date of its workbooks (or ``--as-of``).

Every problem with the user's files is one `InputError` (exit code 2) raised before
anything is written: empty or binary file, one column only, an export without the needed
columns, a workbook open in Excel (its ``~$NAME`` lock file).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from pipeline_xl import crm
from pipeline_xl.cells import clean_text, parse_date, parse_number
from pipeline_xl.errors import InputError
from pipeline_xl.io.exports import ExportFile, read_export, read_price_list
from pipeline_xl.io.safety import atomic_write, check_not_open
from pipeline_xl.metrics import Metrics, compute_metrics
from pipeline_xl.model import Model, Stages, default_stages, norm_key
from pipeline_xl.schema import validate, validate_stages
from pipeline_xl.textable import fmt_amount, fmt_pct, render_table

__all__ = [
    "ImportResult",
    "MetricsResult",
    "Progress",
    "RollupResult",
    "import_export",
    "main",
    "metrics_of",
    "register",
    "rollup",
]

_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_PROSPECTS_TABLE = "tblProspects"


# --------------------------------------------------------------------------- progress


class Progress:
    """A one-line progress bar on a terminal; silent when the stream is not one.

    ``total`` steps; `step` advances and names what comes next. The bar is drawn on
    ``stream`` (standard error by default) only when it is a terminal, so logs and pipes
    stay clean.
    """

    width = 24

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.started = time.perf_counter()
        self._shown = 0

    def step(self, note: str = "", count: int = 1) -> None:
        """Advance by ``count`` steps and show ``note`` (what is being done now)."""
        self.done = min(self.total, self.done + count)
        self._draw(note)

    def _draw(self, note: str) -> None:
        if not self.enabled:
            return
        filled = round(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        text = f"\r{self.label} [{bar}] {self.done}/{self.total} {elapsed:4.1f}s {note}"[:120]
        self.stream.write(text.ljust(self._shown))
        self.stream.flush()
        self._shown = len(text)

    def close(self) -> None:
        """Clear the bar's line."""
        if self.enabled and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
        self._shown = 0


@contextmanager
def _progress(label: str, total: int, stream: TextIO | None) -> Iterator[Progress]:
    bar = Progress(label, total, stream)
    try:
        yield bar
    finally:
        bar.close()


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


# --------------------------------------------------------------------------- workbooks


@dataclass(frozen=True)
class _Book:
    """The raw tables of a pipeline workbook (header row first) as the reader gives them."""

    path: Path
    tables: dict[str, list[list[object]]]
    header_rows: dict[str, int]
    settings: dict[str, object]

    def table(self, sheet: str) -> list[list[object]] | None:
        return self.tables.get(sheet)


def _read_book(path: Path) -> _Book:
    """Read a pipeline workbook's tables (`pipeline_xl.io.reader.read_workbook`)."""
    from pipeline_xl.io.reader import read_workbook  # noqa: PLC0415 - heavier reader

    raw = read_workbook(path)
    tables = {name: [list(r) for r in rows] for name, rows in raw.tables.items()}
    return _Book(path, tables, dict(raw.header_rows), dict(raw.settings))


def _book_model(book: _Book, as_of: date | None) -> Model:
    prospects = book.table("Prospects")
    if prospects is None:
        raise InputError(
            f"{book.path.name} has no Prospects table", expected="a pipeline-xl workbook"
        )
    return validate(
        prospects,
        book.table("Stages"),
        book.table("Targets"),
        book.table("Activities"),
        book.table("Snapshots"),
        book.table("Settings") or book.settings,
        as_of=as_of,
        header_rows=book.header_rows,
    )


def _stages_of(book: _Book) -> Stages:
    raw = book.table("Stages")
    if raw is None:
        return default_stages()
    return validate_stages(raw, book.header_rows)[0]


def _is_workbook(path: Path) -> bool:
    """A pipeline workbook (an .xlsx/.xlsm package with a Prospects sheet), not an export."""
    if path.suffix.lower() not in _WORKBOOK_SUFFIXES or not path.is_file():
        return False
    from python_calamine import CalamineWorkbook  # noqa: PLC0415 - only for this check

    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception:  # noqa: BLE001 - not readable as a workbook: treat it as an export
        return False
    return "Prospects" in names and "Stages" in names


# --------------------------------------------------------------------------- import


@dataclass
class ImportResult:
    """What an import read, how it mapped columns, what it changed and where it wrote."""

    export: ExportFile
    preset: crm.Preset | None
    mapping: crm.ColumnMapping
    incoming: crm.Incoming
    plan: crm.UpsertPlan
    written: bool = False
    backup: Path | None = None
    issues: tuple[int, int] | None = None  # validation errors, warnings after the import
    problems: list[str] = field(default_factory=list)  # the most frequent ones
    notes: list[str] = field(default_factory=list)

    def lines(self, *, dry_run: bool = False, preview: int = 5) -> list[str]:
        """The report printed by ``pipeline-xl import``."""
        title = f"Mapping ({self.preset.title})" if self.preset else "Mapping (header names)"
        out = [f"Read {self.export.describe()}", f"{title}:"]
        out += [f"  {line}" for line in self.mapping.describe()]
        out.append(f"Deals: {len(self.incoming):,} from {self.incoming.read:,} rows")
        out += [f"  {n.severity}: {n.text}" for n in self.incoming.notes]
        out += [f"  {line}" for line in self.plan.summary()]
        if self.issues is not None:
            errors, warnings = self.issues
            out.append(
                f"Validation after the import: {errors:,} errors (rows left out of the numbers), "
                f"{warnings:,} warnings; a refresh lists them on the Data issues sheet"
            )
            out += [f"  {line}" for line in self.problems]
        shown = self.plan.preview(preview)
        if shown:
            out.append("Changes that would be made:" if dry_run else "Changes:")
            out += [f"  {line}" for line in shown]
        out += self.notes
        return out


def _preset(name: str | None) -> crm.Preset | None:
    if not name:
        return None
    key = name.strip().lower()
    if key not in crm.PRESETS:
        raise InputError("unknown preset", value=name, expected=" or ".join(crm.PRESETS))
    return crm.PRESETS[key]


def _incoming(
    export: ExportFile,
    stages: Stages,
    *,
    preset: crm.Preset | None,
    mapping_text: str | None,
    stage_map: Mapping[str, str] | None = None,
) -> tuple[crm.ColumnMapping, crm.Incoming]:
    mapping = crm.resolve_mapping(
        export.headers,
        preset=preset,
        explicit=crm.parse_map(mapping_text),
        where=export.path.name,
        header_row=export.header_row,
    )
    prices = read_price_list(export.path, preset) if preset is not None else None
    incoming = crm.convert_export(
        export.frame,
        mapping,
        stages,
        rows=export.rows,
        decimal_comma=export.decimal_comma,
        month_first=export.month_first,
        stage_map=stage_map,
        prices=None if prices is None else prices[0],
        preset=preset,
        prices_name="the price list" if prices is None else prices[1].name,
    )
    return mapping, incoming


def _write_prospects(workbook: Path, plan: crm.UpsertPlan) -> Path | None:
    """Rewrite tblProspects through the package writer; returns the backup path."""
    from pipeline_xl.io.package import Package  # noqa: PLC0415 - only when writing
    from pipeline_xl.io.tables import replace_table_rows  # noqa: PLC0415 - only when writing

    package = Package.open(workbook)
    try:
        replace_table_rows(package, _PROSPECTS_TABLE, plan.header, plan.rows, plan.kinds)
    except KeyError as err:
        raise InputError(
            f"{workbook.name} has no {_PROSPECTS_TABLE} table",
            sheet="Prospects",
            expected="a workbook made by pipeline-xl new",
        ) from err
    return atomic_write(workbook, package.to_bytes(), backup=True)


def _validation(plan: crm.UpsertPlan, stages: Stages) -> tuple[int, int, list[str]]:
    """Errors, warnings and the most frequent problems validation finds after the import."""
    rows: list[list[object]] = [list(plan.header), *plan.rows]
    try:
        # The as-of date plays no part in checking the Prospects table.
        model = validate(rows, stages, settings={"As-of date": date(2000, 1, 1)})
    except InputError as err:
        return 1, 0, [str(err)]
    issues = model.issues
    severity = issues["severity"]
    keys = list(zip(severity, issues["column"], issues["problem"], strict=True))
    lines = [f"{s} {c}: {p} ({n:,})" for (s, c, p), n in Counter(keys).most_common(4)]
    return int((severity == "error").sum()), int((severity == "warning").sum()), lines


def import_export(
    export_path: str | Path,
    workbook: str | Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    stage_map: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    stream: TextIO | None = None,
) -> ImportResult:
    """Import a CRM export into the workbook's Prospects table (``pipeline-xl import``).

    Reads the export, maps its columns (``preset``, ``mapping`` as ``field=column,...``,
    else header synonyms), converts its cells, plans the upsert by ID and, unless
    ``dry_run`` or nothing changed, rewrites ``tblProspects`` in place with a backup.
    ``stream`` receives the progress bar (standard error by default).

    Raises:
        InputError: a bad export, a workbook that is missing, open in Excel or without a
            Prospects table, or a bad option.
    """
    book_path = Path(workbook)
    chosen = _preset(preset)
    with _progress("import", 5, stream) as bar:
        if not book_path.is_file():
            raise InputError(
                f"{book_path.name} does not exist",
                value=str(book_path),
                expected="a workbook made by pipeline-xl new",
            )
        if not dry_run:
            check_not_open(book_path)
        bar.step("reading the export")
        export = read_export(export_path, sheet=sheet)
        bar.step("reading the workbook")
        book = _read_book(book_path)
        prospects = book.table("Prospects")
        if not prospects:
            raise InputError(
                f"{book_path.name} has no Prospects table",
                sheet="Prospects",
                expected="a workbook made by pipeline-xl new",
            )
        stages = _stages_of(book)
        bar.step("mapping and converting")
        column_map, incoming = _incoming(
            export,
            stages,
            preset=chosen,
            mapping_text=mapping,
            stage_map=crm.parse_stage_map(stage_map, stages),
        )
        bar.step("comparing with the workbook")
        plan = crm.plan_upsert(prospects[0], prospects[1:], incoming)
        result = ImportResult(export, chosen, column_map, incoming, plan)
        errors, warnings, result.problems = _validation(plan, stages)
        result.issues = (errors, warnings)
        if dry_run:
            result.notes.append("dry run: nothing was written")
        elif not plan.changed:
            result.notes.append(f"nothing changed: {book_path.name} was not written")
        else:
            bar.step("writing the workbook")
            result.backup = _write_prospects(book_path, plan)
            result.written = True
            saved = f" (previous version: {result.backup.name})" if result.backup else ""
            result.notes.append(f"written: {book_path}{saved}")
    return result


def _import(args: argparse.Namespace) -> int:
    result = import_export(
        args.file,
        args.into,
        preset=args.preset,
        mapping=args.map,
        stage_map=args.stage_map,
        sheet=args.sheet,
        dry_run=args.dry_run,
    )
    for line in result.lines(dry_run=args.dry_run, preview=args.preview):
        _say(line)
    return 0


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MetricsResult:
    """Metrics of a workbook or an export, and where they came from."""

    source: Path
    kind: str  # "workbook" or "export"
    metrics: Metrics
    model: Model
    notes: tuple[str, ...] = ()
    currency: str = ""  # the workbook's currency; an export does not say

    def to_dict(self) -> dict[str, object]:
        """`Metrics.to_dict` plus the source and the issue counts (JSON-ready)."""
        severity = self.model.issues["severity"]
        return {
            **self.metrics.to_dict(),
            "source": str(self.source),
            "source_kind": self.kind,
            "currency": self.currency,
            "issues_errors": int((severity == "error").sum()),
            "issues_warnings": int((severity == "warning").sum()),
        }


def _latest_date(incoming: crm.Incoming) -> date | None:
    latest: date | None = None
    for header in ("Closed", "Created", "Last activity"):
        for value in incoming.values.get(header, np.empty(0, dtype=object)).tolist():
            if isinstance(value, datetime):
                day = value.date()
                latest = day if latest is None or day > latest else latest
    return latest


def metrics_of(
    source: str | Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    as_of: date | None = None,
    owner: str = "",
) -> MetricsResult:
    """Headline metrics (`metrics.compute_metrics`) of a workbook or of an export file.

    A workbook is validated as it is. An export is mapped like ``import`` does, with a
    Stages table made of the preset's stages and the stages it uses
    (`crm.export_stages_table`), and is as of its latest close, creation or activity date
    unless ``as_of`` is given.

    Raises:
        InputError: a bad file or option, or an export without any date and no ``as_of``.
    """
    path = Path(source)
    if _is_workbook(path):
        book = _read_book(path)
        model = _book_model(book, as_of)
        metrics = compute_metrics(model, owner)
        return MetricsResult(path, "workbook", metrics, model, currency=model.settings.currency)
    chosen = _preset(preset)
    export = read_export(path)
    first = crm.resolve_mapping(
        export.headers, preset=chosen, explicit=crm.parse_map(mapping), where=path.name
    )
    stage_texts = export.frame.iloc[:, first.columns["stage"][0]].tolist()
    stages_table = crm.export_stages_table(chosen, stage_texts)
    stages = validate_stages(stages_table)[0]
    _, incoming = _incoming(export, stages, preset=chosen, mapping_text=mapping)
    notes = [f"{n.severity}: {n.text}" for n in incoming.notes] + list(incoming.conflicts)
    day = as_of or _latest_date(incoming)
    if day is None:
        raise InputError(
            f"{path.name} has no close or creation date to date the metrics",
            expected="--as-of YYYY-MM-DD",
        )
    if as_of is None:
        notes.append(f"as of {day.isoformat()}: the latest date in the export (--as-of to change)")
    if not len(incoming):
        raise InputError(f"{path.name} has no deal with an ID", expected="one row per deal")
    model = validate(
        crm.prospects_frame_from(incoming),
        stages_table,
        settings={"As-of date": day},
        header_rows={"Prospects": export.header_row},
    )
    return MetricsResult(path, "export", compute_metrics(model, owner), model, tuple(notes))


def _metric_rows(m: Metrics, currency: str) -> list[tuple[str, str]]:
    def days(x: float) -> str:
        return "" if math.isnan(x) else f"{x:,.1f}"

    cover = (
        ""
        if math.isnan(m.coverage)
        else ("covered" if math.isinf(m.coverage) else f"{m.coverage:.2f}x")
    )
    return [
        (
            "Win rate (count)",
            f"{fmt_pct(m.win_rate)}  ({m.won_count:,} won, {m.lost_count:,} lost)",
        ),
        ("Win rate (value)", fmt_pct(m.win_rate_value)),
        ("Won total", fmt_amount(m.won_amount, currency)),
        ("Average won deal", fmt_amount(m.avg_won_deal, currency)),
        ("Median cycle (days)", days(m.median_cycle_days)),
        ("P80 cycle (days)", days(m.p80_cycle_days)),
        ("Open pipeline", f"{fmt_amount(m.open_amount, currency)}  ({m.open_count:,} deals)"),
        (f"Coverage ({m.coverage_period})", cover),
        ("Velocity (per day)", fmt_amount(m.velocity, currency)),
        ("Stale open deals", f"{m.stale_count:,}"),
    ]


def _metrics(args: argparse.Namespace) -> int:
    as_of = None
    if args.as_of:
        as_of = parse_date(args.as_of)
        if as_of is None:
            raise InputError("--as-of is not a date", value=args.as_of, expected="YYYY-MM-DD")
    result = metrics_of(
        args.source, preset=args.preset, mapping=args.map, as_of=as_of, owner=args.owner or ""
    )
    if args.json:
        _say(json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True))
        return 0
    m = result.metrics
    who = f"owner {m.owner}" if m.owner else "team"
    title = f"Metrics of {result.source.name} ({result.kind}), {who}, as of {m.as_of.isoformat()}"
    rows = _metric_rows(m, result.currency)
    _say(render_table(["Metric", "Value"], rows, title=title))
    data = result.to_dict()
    _say(
        f"Data issues: {data['issues_errors']:,} errors (rows left out), "
        f"{data['issues_warnings']:,} warnings"
    )
    for note in result.notes:
        _say(f"  {note}")
    return 0


# --------------------------------------------------------------------------- rollup


@dataclass
class RollupResult:
    """The team workbook written by `rollup` and what was merged into it."""

    path: Path
    as_of: date
    deals: dict[str, int] = field(default_factory=dict)  # workbook name -> deals taken
    owners: dict[str, str] = field(default_factory=dict)  # workbook name -> default owner
    duplicates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refresh: object = None

    def lines(self) -> list[str]:
        """The report printed by ``pipeline-xl rollup``."""
        out = [
            f"{name}: {n:,} deal{'' if n == 1 else 's'} (owner for rows without one: "
            f"{self.owners[name]})"
            for name, n in self.deals.items()
        ]
        out += [f"duplicate: {d}" for d in self.duplicates]
        out += self.notes
        out.append(
            f"Team workbook: {self.path} ({sum(self.deals.values()):,} deals, "
            f"as of {self.as_of.isoformat()})"
        )
        if self.refresh is not None:
            sheets = getattr(self.refresh, "sheets", ())
            issues = getattr(self.refresh, "issues", 0)
            errors = getattr(self.refresh, "errors", 0)
            out.append(
                f"Refreshed: {', '.join(sheets)}; {issues:,} data issues ({errors:,} errors)"
            )
        return out


def _frame(rows: list[list[object]] | None) -> pd.DataFrame | None:
    """A raw table (header row first) as a DataFrame with unique headers."""
    if not rows:
        return None
    header = [clean_text(h) or f"Column {i + 1}" for i, h in enumerate(rows[0])]
    seen: dict[str, int] = {}
    unique = []
    for h in header:
        seen[h] = seen.get(h, 0) + 1
        unique.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
    width = len(unique)
    body = [list(r[:width]) + [None] * (width - len(r)) for r in rows[1:]]
    body = [r for r in body if any(clean_text(v) for v in r)]
    return pd.DataFrame(body, columns=unique, dtype=object)


def _owner_column(table: pd.DataFrame) -> str | None:
    for column in table.columns:
        if norm_key(column) in {
            "owner",
            "rep",
            "salesrep",
            "salesagent",
            "dealowner",
            "opportunityowner",
            "vendeur",
            "commercial",
        }:
            return str(column)
    return None


def _fill_owner(table: pd.DataFrame | None, owner: str) -> pd.DataFrame | None:
    """Rows without an owner take ``owner`` (an Owner column is added when missing)."""
    if table is None:
        return None
    column = _owner_column(table)
    out = table.copy()
    if column is None:
        out["Owner"] = owner
        return out
    values = [owner if not clean_text(v) else v for v in out[column].tolist()]
    out[column] = pd.Series(values, index=out.index, dtype=object)
    return out


def _default_owner(book: _Book) -> tuple[str, str]:
    """The owner for rows without one: the Settings "Owner" entry, else the file name."""
    for key, value in book.settings.items():
        if norm_key(key) in {"owner", "salesrep", "rep", "responsable", "vendeur"}:
            text = clean_text(value)
            if text:
                return text, "Settings"
    return book.path.stem, "file name"


def _settings_value(settings: Mapping[str, object], *names: str) -> object:
    wanted = {norm_key(n) for n in names}
    for key, value in settings.items():
        if norm_key(key) in wanted:
            return value
    return None


def _id_column(table: pd.DataFrame) -> str | None:
    for column in table.columns:
        if norm_key(column) in {"id", "dealid", "opportunityid", "recordid", "ref"}:
            return str(column)
    return None


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    kept = [f for f in frames if f is not None and len(f.columns)]
    if not kept:
        return None
    return pd.concat(kept, ignore_index=True, sort=False).astype(object)


def rollup(
    out: str | Path,
    workbooks: Sequence[str | Path],
    *,
    as_of: date | None = None,
    company: str = "Sales team",
    refresh: bool = True,
    stream: TextIO | None = None,
) -> RollupResult:
    """Merge reps' workbooks into one team workbook and refresh it (``pipeline-xl rollup``).

    Prospects, Targets, Activities and Snapshots are stacked; rows without an owner take
    the workbook's Settings "Owner" entry, else its file name. A deal ID found in an
    earlier workbook is reported and the later row left out. Stages and settings come
    from the first workbook. ``out`` is a classic ``.xlsm`` or an xlwings Lite ``.xlsx``.

    Raises:
        InputError: no workbook, a missing or unreadable workbook, ``out`` open in Excel
            or with another suffix.
    """
    target = Path(out)
    if not workbooks:
        raise InputError("no workbook to roll up", expected="one or more workbooks")
    suffix = target.suffix.lower()
    if suffix not in _WORKBOOK_SUFFIXES:
        raise InputError(
            "the team workbook must be .xlsm (classic) or .xlsx (xlwings Lite)", value=target.name
        )
    paths = [Path(p) for p in workbooks]
    if target.resolve() in {p.resolve() for p in paths}:
        raise InputError(
            "the team workbook is also an input", value=target.name, expected="a new file name"
        )
    check_not_open(target)
    result = RollupResult(target, as_of or date.min)
    with _progress("rollup", len(paths) + 3, stream) as bar:
        books = []
        for path in paths:
            bar.step(f"reading {path.name}")
            if not path.is_file():
                raise InputError(f"{path.name} does not exist", value=str(path))
            books.append(_read_book(path))
        tables = _merge(books, result)
        bar.step("building the team workbook")
        result.as_of = as_of or _latest_as_of(books)
        first = books[0].settings
        currency = clean_text(_settings_value(first, "Currency")) or "EUR"
        fiscal = _fiscal_start(_settings_value(first, "Fiscal year start month"))
        _build(
            target,
            tables,
            company=company,
            currency=currency,
            fiscal_start=fiscal,
            as_of=result.as_of,
        )
        if refresh:
            bar.step("refreshing the reports")
            from pipeline_xl.io.headless import refresh_file  # noqa: PLC0415 - heavy

            result.refresh = refresh_file(target, as_of=result.as_of, backup=False)
        bar.step("done")
    return result


def _latest_as_of(books: Sequence[_Book]) -> date:
    days = [parse_date(_settings_value(b.settings, "As-of date", "as_of")) for b in books]
    found = [d for d in days if d is not None]
    if not found:
        raise InputError(
            "no workbook has an as-of date in its Settings", expected="--as-of YYYY-MM-DD"
        )
    return max(found)


def _fiscal_start(value: object) -> int:
    number = parse_number(value)
    return int(number) if number is not None and number.is_integer() and 1 <= number <= 12 else 1


def _new_deals(
    prospects: pd.DataFrame, name: str, seen: dict[str, str], result: RollupResult
) -> pd.DataFrame:
    """The rows whose ID no earlier workbook had; repeated IDs are reported."""
    id_col = _id_column(prospects)
    if id_col is None:
        return prospects
    keep = np.ones(len(prospects), dtype=bool)
    for i, value in enumerate(prospects[id_col].tolist()):
        key = clean_text(value)
        if key and key in seen:
            keep[i] = False
            first = seen[key]
            result.duplicates.append(
                f"ID {key} is in {first} and {name}; the row of {first} is kept"
            )
        elif key:
            seen[key] = name
    return prospects.loc[keep]


def _merge(books: Sequence[_Book], result: RollupResult) -> dict[str, pd.DataFrame]:
    """The team's tables: stacked, owners filled, repeated deal IDs left out (reported)."""
    sheets = ("Prospects", "Targets", "Activities", "Snapshots")
    stacked: dict[str, list[pd.DataFrame]] = {s: [] for s in sheets}
    seen: dict[str, str] = {}
    for book in books:
        name = book.path.name
        owner, why = _default_owner(book)
        result.owners[name] = f"{owner} (from the {why})"
        result.deals[name] = 0
        for sheet in sheets:
            table = _fill_owner(_frame(book.table(sheet)), owner)
            if table is None:
                continue
            if sheet == "Prospects":
                table = _new_deals(table, name, seen, result)
                result.deals[name] = len(table)
            stacked[sheet].append(table)
    tables = {s: m for s, frames in stacked.items() if (m := _concat(frames)) is not None}
    stages = _frame(books[0].table("Stages"))
    if stages is not None:
        tables["Stages"] = stages
        names = [norm_key(s) for s in stages.iloc[:, 0].tolist()]
        for book in books[1:]:
            other = _frame(book.table("Stages"))
            if other is not None and [norm_key(s) for s in other.iloc[:, 0].tolist()] != names:
                result.notes.append(
                    f"{book.path.name} has other stages than "
                    f"{books[0].path.name}; the first workbook's are used"
                )
    settings = {k: v for k, v in books[0].settings.items() if norm_key(k) != "owner"}
    tables["Settings"] = pd.DataFrame(
        {"Setting": list(settings), "Value": pd.Series(list(settings.values()), dtype=object)}
    )
    return tables


def _build(
    target: Path,
    tables: Mapping[str, pd.DataFrame],
    *,
    company: str,
    currency: str,
    fiscal_start: int,
    as_of: date,
) -> None:
    if target.suffix.lower() == ".xlsx":
        from pipeline_xl.lite import build_lite_workbook  # noqa: PLC0415 - Lite only

        build_lite_workbook(
            target,
            company=company,
            tables=tables,
            currency=currency,
            fiscal_start=fiscal_start,
            as_of=as_of,
        )
        return
    from workbook_templates.builder import workbook_from_tables  # noqa: PLC0415 - the builder

    workbook_from_tables(
        target, company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of,
    )  # fmt: skip


def _rollup(args: argparse.Namespace) -> int:
    as_of = None
    if args.as_of:
        as_of = parse_date(args.as_of)
        if as_of is None:
            raise InputError("--as-of is not a date", value=args.as_of, expected="YYYY-MM-DD")
    result = rollup(
        args.out, args.workbooks, as_of=as_of, company=args.company, refresh=not args.no_refresh
    )
    for line in result.lines():
        _say(line)
    return 0


# --------------------------------------------------------------------------- parser


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import``, ``metrics`` and ``rollup`` sub-commands to the CLI parser."""
    presets = "|".join(crm.PRESETS)
    imp = subparsers.add_parser(
        "import",
        help="import a CRM export (CSV or Excel) into a workbook's Prospects table",
        description="Upsert the deals of a CRM export into tblProspects by ID: new deals "
        "are added, changed deals updated, other columns and deals kept. Prints the "
        "column mapping used.",
    )
    imp.add_argument("file", help="the export: .csv, .txt, .xlsx, .xls ...")
    imp.add_argument("--into", required=True, metavar="WORKBOOK", help="the pipeline workbook")
    imp.add_argument("--preset", help=f"the CRM's standard export: {presets}")
    imp.add_argument(
        "--map",
        metavar="FIELD=COLUMN,...",
        help="explicit mapping, e.g. amount=Deal value,closed=Won on|Lost on",
    )
    imp.add_argument(
        "--stage-map",
        metavar="CRM=STAGE,...",
        help="rename CRM stages to workbook stages, e.g. Engaging=Qualified",
    )
    imp.add_argument("--sheet", help="sheet of an Excel export (default: the first with deals)")
    imp.add_argument("--dry-run", action="store_true", help="show the changes, write nothing")
    imp.add_argument("--preview", type=int, default=5, help="changed deals to list (default 5)")
    imp.set_defaults(handler=_import)

    met = subparsers.add_parser(
        "metrics",
        help="win rates, deal size, cycle, pipeline, coverage and velocity",
        description="Headline metrics of a workbook or of a CRM export file.",
    )
    met.add_argument("source", help="a pipeline workbook or a CRM export")
    met.add_argument("--preset", help=f"the export's CRM: {presets}")
    met.add_argument("--map", metavar="FIELD=COLUMN,...", help="explicit column mapping")
    met.add_argument(
        "--as-of",
        help="as-of date YYYY-MM-DD (default: the workbook's or the export's latest date)",
    )
    met.add_argument("--owner", help="one owner's metrics (default: the team)")
    met.add_argument("--json", action="store_true", help="print one JSON object")
    met.set_defaults(handler=_metrics)

    rol = subparsers.add_parser(
        "rollup",
        help="consolidate reps' workbooks into one team workbook",
        description="Stack several workbooks' deals, targets, activities and snapshots into "
        "one team workbook (.xlsm classic or .xlsx Lite, by suffix), then refresh it.",
    )
    rol.add_argument("out", help="the team workbook to write (.xlsm or .xlsx)")
    rol.add_argument("workbooks", nargs="+", help="the reps' workbooks")
    rol.add_argument("--as-of", help="as-of date YYYY-MM-DD (default: the latest of the inputs)")
    rol.add_argument("--company", default="Sales team", help="name shown on the Dashboard")
    rol.add_argument("--no-refresh", action="store_true", help="build without refreshing")
    rol.set_defaults(handler=_rollup)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one of these sub-commands alone (``python -m pipeline_xl.cli_data``).

    ``pipeline-xl`` itself registers them with `register`; this entry point behaves the
    same: an `InputError` prints its message and returns 2.
    """
    parser = argparse.ArgumentParser(prog="pipeline-xl", description="CRM data commands.")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except InputError as err:
        sys.stderr.write(f"pipeline-xl: {err}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
