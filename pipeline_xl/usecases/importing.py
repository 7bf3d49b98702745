"""Import a CRM export into a workbook's Prospects table (``pipeline-xl import``).

Reads the export (`pipeline_xl.io.exports`), maps and converts it (`pipeline_xl.core.crm`),
plans the upsert by ID and rewrites ``tblProspects`` through the non-destructive package
writer (`pipeline_xl.io.tables.replace_table_rows`: unchanged rows keep their XML, the
table never grows into the user's cells), flags the workbook for a full recalculation
when Excel next opens it (the formulas' cached values were computed from the old rows),
then `pipeline_xl.io.safety.atomic_write` keeps the previous file as ``NAME.bak``. The
workbook is read and written under its lock (`pipeline_xl.io.locking.workbook_lock`: one
writer at a time), after the checks for a file open in Excel or read-only. Every problem
with the user's files is one `InputError` raised before anything is written.

Stages: the preset's map of its CRM's stages onto the workbook's, then the stage map
stored in the workbook's Settings (``CRM stage map``), then ``--stage-map``
(`crm.stage_map_for`). A ``--stage-map`` is stored, merged into the stored one, so the
next import applies it without being told.

Currency: ``--currency`` (an ISO 4217 code), else the export's currency column, else the
preset's (Maven: USD). When it differs from the workbook's Currency setting, a workbook
without deals takes it (Settings, `pipeline_xl.io.settings.write_settings`); a workbook
with deals refuses the import, since its amounts would mix two currencies.

An export without ``--preset`` whose columns are a preset's gets that preset suggested.

Limits: cells Excel cannot hold as the export gives them (`crm.limits`: a text over
32,767 characters is cut to them, a date before 1900-03-01 or a number beyond Excel's
range or 15 significant digits is kept as its text) are listed as data issues, each with
the cell it goes to in the workbook (``Prospects!B302``) and its export row; the
decoding notes of the export (mixed or undecodable encodings) come with the file's line.
Values in the report and the preview are quoted by their first characters only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline_xl.core import crm
from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import DATA_ISSUES, PROSPECTS, SETTINGS, SETTINGS_TABLE
from pipeline_xl.core.currency import currency_code
from pipeline_xl.core.display import counted
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Settings, Stages
from pipeline_xl.core.raw import RawWorkbook, Rows
from pipeline_xl.core.schema import match_headers, validate
from pipeline_xl.io.exports import ExportFile, read_export, read_price_list
from pipeline_xl.io.locking import DEFAULT_WAIT, workbook_lock
from pipeline_xl.io.package import Package, read_file
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.safety import atomic_write, check_not_open, check_writable
from pipeline_xl.io.settings import write_settings
from pipeline_xl.io.sheetxml import column_letter
from pipeline_xl.io.tables import find_table, replace_table_rows
from pipeline_xl.usecases.progress import SILENT, Progress

__all__ = [
    "ImportResult",
    "convert",
    "import_export",
    "issue_lines",
    "preset_named",
    "suggest_preset",
]

_CELLS_SHOWN = 10
_MAP_LABEL = next(s.label for s in SETTINGS if s.key == "stage_map")
_DEFAULT_CURRENCY = str(next(f.default for f in fields(Settings) if f.name == "currency"))


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
    hints: list[str] = field(default_factory=list)  # said first: e.g. the matching preset
    settings: dict[str, str] = field(default_factory=dict)  # written to Settings
    currency: list[str] = field(default_factory=list)  # the amounts' currency and why
    cells: list[str] = field(default_factory=list)  # cell issues, at their workbook cells

    def lines(self, *, dry_run: bool = False, preview: int = 5) -> list[str]:
        """The report printed by ``pipeline-xl import``."""
        title = f"Mapping ({self.preset.title})" if self.preset else "Mapping (header names)"
        out = [*self.hints, f"Read {self.export.describe()}"]
        out += [f"  warning: {note}" for note in self.export.notes]
        out.append(f"{title}:")
        out += [f"  {line}" for line in self.mapping.describe()]
        out.append(f"Deals: {len(self.incoming):,} from {counted(self.incoming.read, 'row')}")
        out += [f"  {n.severity}: {n.text}" for n in self.incoming.notes]
        out += [f"  {line}" for line in self.plan.summary()]
        out += [f"  {line}" for line in self.currency]
        for key, value in self.settings.items():
            label = next(s.label for s in SETTINGS if s.key == key)
            out.append(f"  {SETTINGS_TABLE.sheet} {label}: {value}")
        if self.cells:
            out.append(
                f"Data issues: {counted(len(self.cells), 'cell')} Excel cannot hold as the "
                f"export gives {'it' if len(self.cells) == 1 else 'them'}:"
            )
            out += [f"  warning {line}" for line in self.cells[:_CELLS_SHOWN]]
            if len(self.cells) > _CELLS_SHOWN:
                out.append(f"  ... {len(self.cells) - _CELLS_SHOWN:,} more")
        if self.issues is not None:
            errors, warnings = self.issues
            out.append(
                f"Validation after the import: {counted(errors, 'error')} (rows left out of "
                f"the numbers), {counted(warnings, 'warning')}; a refresh lists them on the "
                f"{DATA_ISSUES} sheet"
            )
            out += [f"  {line}" for line in self.problems]
        shown = self.plan.preview(preview)
        if shown:
            out.append("Changes that would be made:" if dry_run else "Changes:")
            out += [f"  {line}" for line in shown]
        out += self.notes
        return out


def preset_named(name: str | None) -> crm.Preset | None:
    """The preset called ``name`` (any case), None for no name.

    Raises:
        InputError: no preset of that name.

    """
    if not name:
        return None
    key = name.strip().lower()
    if key not in crm.PRESETS:
        raise InputError("unknown preset", value=name, expected=" or ".join(crm.PRESETS))
    return crm.PRESETS[key]


def suggest_preset(export: ExportFile, preset: crm.Preset | None) -> list[str]:
    """A hint naming the preset whose columns the export has, when none was given."""
    if preset is not None:
        return []
    match = crm.matching_preset(export.headers)
    if match is None:
        return []
    extras = ["maps its stages onto the workbook's"]
    if match.prices is not None:
        extras.append(f"prices open and lost deals from {match.prices[0]}")
    if match.currency is not None:
        extras.append(f"labels the amounts {match.currency}")
    said = extras[0] if len(extras) == 1 else f"{', '.join(extras[:-1])} and {extras[-1]}"
    hint = (
        f"hint: {export.path.name} has the columns of the {match.title} export: add "
        f"--preset {match.name} (it {said})"
    )
    return [hint]


def issue_lines(issues: pd.DataFrame, limit: int = 8) -> list[str]:
    """Validation issues grouped by severity, column and problem, most frequent first.

    One line per group: ``warning Amount: lost deal at 0 (2,473 rows: 5, 9, ...)``.
    """
    if not len(issues):
        return []
    groups: dict[tuple[str, str, str], list[object]] = {}
    for severity, sheet, column, problem, row in zip(
        issues["severity"], issues["sheet"], issues["column"], issues["problem"],
        issues["row"], strict=True,
    ):  # fmt: skip
        where = f"{sheet} {column}".strip() if sheet != PROSPECTS.sheet else str(column)
        groups.setdefault((str(severity), where, str(problem)), []).append(row)
    ranked = sorted(groups.items(), key=lambda kv: (kv[0][0] != "error", -len(kv[1])))
    lines = []
    for (severity, where, problem), rows in ranked[:limit]:
        found = pd.to_numeric(pd.Series(rows, dtype=object), errors="coerce").dropna()
        numbers = [int(r) for r in found.tolist()]
        if not numbers:  # about the table, not its rows
            lines.append(f"{severity} {where}: {problem}")
            continue
        shown = ", ".join(str(r) for r in numbers[:5]) + (", ..." if len(numbers) > 5 else "")
        lines.append(f"{severity} {where}: {problem} ({counted(len(numbers), 'row')}: {shown})")
    if len(ranked) > limit:
        lines.append(f"... {counted(len(ranked) - limit, 'other kind')} of issue")
    return lines


def convert(
    export: ExportFile,
    stages: Stages,
    *,
    preset: crm.Preset | None,
    mapping_text: str | None,
    stage_map: Mapping[str, str] | None = None,
    need_key: bool = True,
) -> tuple[crm.ColumnMapping, crm.Incoming]:
    """Map an export's columns and convert its rows into deals for ``stages``.

    ``stage_map`` is the whole map to apply (`crm.stage_map_for`); without one, the
    preset's map onto ``stages``. ``need_key``: see `crm.resolve_mapping`.
    """
    mapping = crm.resolve_mapping(
        export.headers,
        preset=preset,
        explicit=crm.parse_map(mapping_text),
        where=export.path.name,
        header_row=export.header_row,
        need_key=need_key,
    )
    prices = read_price_list(export.path, preset) if preset is not None else None
    incoming = crm.convert_export(
        export.frame,
        mapping,
        stages,
        rows=export.rows,
        decimal_comma=export.decimal_comma,
        month_first=export.month_first,
        stage_map=crm.preset_stage_map(preset, stages) if stage_map is None else stage_map,
        prices=None if prices is None else prices[0],
        preset=preset,
        prices_name="the price list" if prices is None else prices[1].name,
    )
    return mapping, incoming


def _write(
    workbook: Path,
    data: bytes,
    plan: crm.UpsertPlan,
    old: list[list[object]],
    settings: tuple[Rows | None, Mapping[str, str]],
) -> Path | None:
    """Rewrite tblProspects and settings of ``data`` (the file as read) into ``workbook``.

    ``old`` are the table's rows as read: rows the import leaves as they were keep their
    XML. ``settings`` are the Settings table's rows as read and the settings to write.
    Returns the backup path.
    """
    package = Package(data, name=workbook.name)
    settings_rows, values = settings
    width = len(plan.header)
    same = [
        i
        for i, (new, was) in enumerate(zip(plan.rows, old, strict=False))
        if list(new) + [None] * (width - len(new)) == list(was) + [None] * (width - len(was))
    ]
    try:
        if plan.changed:
            replace_table_rows(
                package, PROSPECTS.name, plan.header, plan.rows, plan.kinds, unchanged=same
            )
    except KeyError as err:
        raise InputError(
            f"{workbook.name} has no {PROSPECTS.name} table",
            sheet=PROSPECTS.sheet,
            expected="a workbook made by pipeline-xl new",
        ) from err
    package.recalculate_on_load()  # the Dashboard's cached values were for the old rows
    if values:
        try:
            write_settings(package, settings_rows or [], values)
        except (KeyError, ValueError) as err:
            raise InputError(
                f"{workbook.name}: the {SETTINGS_TABLE.name} table cannot take "
                f"{', '.join(values.values())} ({err})",
                sheet=SETTINGS_TABLE.sheet,
                expected="a workbook made by pipeline-xl new",
            ) from err
    return atomic_write(workbook, package.to_bytes(), backup=True)


def _cell_lines(incoming: crm.Incoming, plan: crm.UpsertPlan, data: bytes, name: str) -> list[str]:
    """Each cell issue of the import at the workbook cell it goes to, with its export row.

    ``Prospects!B302 Name (export row 7): a text of 40,000 characters ...: 'Lorem...'``;
    the cell is the one of the deal's row in the table as written (``plan.rows``).
    """
    if not incoming.issues:
        return []
    try:
        table = find_table(Package(data, name=name), PROSPECTS.name)
    except KeyError:  # the write refuses such a workbook; no cell to name
        table = None
    at = match_headers(plan.header, PROSPECTS)
    index: dict[str, int] = {}
    for i, row in enumerate(plan.rows):
        index.setdefault(clean_text(row[at["id"]]), i)
    deal_of = dict(zip(incoming.rows.tolist(), incoming.ids.tolist(), strict=True))
    field_of = {f.header: f.name for f in PROSPECTS.fields}
    lines = []
    for issue in incoming.issues:
        where = f"{PROSPECTS.sheet} {issue.header}"
        pos = index.get(clean_text(deal_of.get(issue.row)))
        col = at.get(field_of[issue.header])
        if table is not None and pos is not None and col is not None:
            excel_row = table.first_row + table.header_rows + pos
            letter = column_letter(table.first_col + col)
            where = f"{table.sheet}!{letter}{excel_row} {issue.header}"
        lines.append(f"{where} (export row {issue.row}): {issue.problem}: {issue.value!r}")
    return lines


def _validation(plan: crm.UpsertPlan, stages: Stages) -> tuple[int, int, list[str]]:
    """Errors, warnings and the most frequent problems validation finds after the import."""
    rows: list[list[object]] = [list(plan.header), *plan.rows]
    try:
        # The as-of date plays no part in checking the Prospects table.
        model = validate(rows, stages, settings=Settings(as_of=date(2000, 1, 1)))
    except InputError as err:
        return 1, 0, [str(err)]
    severity = model.issues["severity"]
    errors, warnings = int((severity == "error").sum()), int((severity == "warning").sum())
    return errors, warnings, issue_lines(model.issues, limit=4)


def _has_deals(rows: Rows) -> bool:
    """Whether a Prospects table holds any deal (a non-blank data row)."""
    return any(any(clean_text(v) for v in row) for row in rows[1:])


def _currency(
    given: str | None,
    preset: crm.Preset | None,
    incoming: crm.Incoming,
    book: RawWorkbook,
    prospects: Rows,
) -> tuple[str | None, list[str]]:
    """The Currency setting to write (None: keep it) and the lines that say why.

    Raises:
        InputError: the workbook holds deals in another currency.

    """
    sources = (
        (given, "--currency"),
        (incoming.currency, "the export's currency column"),
        (
            preset.currency if preset is not None else None,
            f"the {preset.name if preset else ''} preset",
        ),
    )
    code, source = next(((c, w) for c, w in sources if c), (None, ""))
    if code is None:
        return None, []
    typed = clean_text(book.setting("currency"))
    current = typed.upper() or _DEFAULT_CURRENCY
    if code == current:
        return None, [f"amounts in {code} ({source}), as the workbook's Currency setting says"]
    if _has_deals(prospects):
        raise InputError(
            f"the export's amounts are in {code} ({source}) but the workbook's deals are in "
            f"{current}: one workbook holds one currency",
            sheet=SETTINGS_TABLE.sheet,
            column="Currency",
            value=typed or None,
            expected=f"--currency {current} if the export's amounts are in {current} too, "
            f"a workbook in {code} (pipeline-xl new --currency {code}), or Currency set to "
            f"{code} on the {SETTINGS_TABLE.sheet} sheet if every amount is in {code}",
        )
    return code, [f"amounts in {code} ({source}); the workbook said {current}"]


def import_export(
    export_path: str | Path,
    workbook: str | Path,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    stage_map: str | None = None,
    currency: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress = SILENT,
    wait: float = DEFAULT_WAIT,
) -> ImportResult:
    """Import a CRM export into the workbook's Prospects table.

    Reads the export, maps its columns (``preset``, ``mapping`` as ``field=column,...``,
    else header synonyms), converts its cells, plans the upsert by ID and, unless
    ``dry_run`` or nothing changed, rewrites ``tblProspects`` in place with a backup.
    ``stage_map`` and the currency go to the Settings table (module docstring). Unless
    ``dry_run`` all this happens under the workbook's lock (another command writing it is
    waited for, up to ``wait`` seconds).

    Raises:
        InputError: a bad export, a workbook that is missing, being written by another
            command, open in Excel, read-only or without a Prospects table, a table that
            would grow into the user's cells, a bad option, amounts in another currency
            than the workbook's deals, or a write that fails.

    """
    book_path = Path(workbook)
    options = {
        "preset": preset,
        "mapping": mapping,
        "stage_map": stage_map,
        "currency": currency,
        "sheet": sheet,
    }
    if dry_run or not book_path.is_file():  # nothing will be written
        return _import(
            export_path, book_path, book_path, dry_run=dry_run, progress=progress, **options
        )
    with workbook_lock(book_path, wait=wait) as real:
        return _import(export_path, book_path, real, dry_run=False, progress=progress, **options)


def _import(
    export_path: str | Path,
    book_path: Path,
    real: Path,
    *,
    preset: str | None,
    mapping: str | None,
    stage_map: str | None,
    currency: str | None,
    sheet: str | None,
    dry_run: bool,
    progress: Progress,
) -> ImportResult:
    """`import_export` on the workbook at ``real`` (``book_path`` as the user named it)."""
    chosen = preset_named(preset)
    given_currency = currency_code(currency, argument="--currency") if currency else None
    progress.start("import", 5)
    if not book_path.is_file():
        raise InputError(
            f"{book_path.name} does not exist",
            value=str(book_path),
            expected="a workbook made by pipeline-xl new",
        )
    if not dry_run:
        check_not_open(book_path)
        check_writable(real)
    progress.step("reading the export")
    export = read_export(export_path, sheet=sheet)
    progress.step("reading the workbook")
    data = read_file(real)
    book = read_workbook(data, name=book_path.name)
    prospects = book.require_prospects()
    stages = book.stages()
    stored_text = clean_text(book.setting("stage_map"))
    stored = crm.parse_stage_map(stored_text, stages, where=f"{SETTINGS_TABLE.sheet}: {_MAP_LABEL}")
    given = crm.parse_stage_map(stage_map, stages)
    progress.step("mapping and converting")
    column_map, incoming = convert(
        export,
        stages,
        preset=chosen,
        mapping_text=mapping,
        stage_map=crm.stage_map_for(chosen, stages, stored=stored, given=given),
    )
    progress.step("comparing with the workbook")
    plan = crm.plan_upsert(prospects[0], prospects[1:], incoming)
    result = ImportResult(export, chosen, column_map, incoming, plan)
    result.cells = _cell_lines(incoming, plan, data, book_path.name)
    result.hints = suggest_preset(export, chosen)
    code, result.currency = _currency(given_currency, chosen, incoming, book, prospects)
    if code is not None:
        result.settings["currency"] = code
    merged = crm.format_stage_map(crm.stage_map_for(None, stages, stored=stored, given=given))
    if given and merged != stored_text:
        result.settings["stage_map"] = merged
    errors, warnings, result.problems = _validation(plan, stages)
    result.issues = (errors, warnings)
    if dry_run:
        result.notes.append("dry run: nothing was written")
    elif not plan.changed and not result.settings:
        result.notes.append(f"nothing changed: {book_path.name} was not written")
    else:
        progress.step("writing the workbook")
        result.backup = _write(
            real, data, plan, prospects[1:], (book.table(SETTINGS_TABLE), result.settings)
        )
        result.written = True
        saved = f" (previous version: {result.backup.name})" if result.backup else ""
        result.notes.append(f"written: {book_path}{saved}")
    return result
