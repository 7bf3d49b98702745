"""Import a CRM export into a workbook's Prospects table (``pipeline-xl import``).

Reads the export (`pipeline_xl.io.exports`), maps and converts it (`pipeline_xl.core.crm`),
plans the upsert by ID and rewrites ``tblProspects`` through the non-destructive package
writer (`pipeline_xl.io.tables.replace_table_rows`: unchanged rows keep their XML, the
table never grows into the user's cells), then `pipeline_xl.io.safety.atomic_write`
keeps the previous file as ``NAME.bak``. The workbook is read and written under its lock
(`pipeline_xl.io.locking.workbook_lock`: one writer at a time), after the checks for a
file open in Excel or read-only. Every problem with the user's files is one
`InputError` raised before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline_xl.core import crm
from pipeline_xl.core.contract import PROSPECTS
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Settings, Stages
from pipeline_xl.core.schema import validate
from pipeline_xl.io.exports import ExportFile, read_export, read_price_list
from pipeline_xl.io.locking import DEFAULT_WAIT, workbook_lock
from pipeline_xl.io.package import Package, read_file
from pipeline_xl.io.reader import read_workbook
from pipeline_xl.io.safety import atomic_write, check_not_open, check_writable
from pipeline_xl.io.tables import replace_table_rows
from pipeline_xl.usecases.progress import SILENT, Progress

__all__ = ["ImportResult", "convert", "import_export", "preset_named"]


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


def convert(
    export: ExportFile,
    stages: Stages,
    *,
    preset: crm.Preset | None,
    mapping_text: str | None,
    stage_map: Mapping[str, str] | None = None,
) -> tuple[crm.ColumnMapping, crm.Incoming]:
    """Map an export's columns and convert its rows into deals for ``stages``."""
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


def _write_prospects(
    workbook: Path, data: bytes, plan: crm.UpsertPlan, old: list[list[object]]
) -> Path | None:
    """Rewrite tblProspects of ``data`` (the file as read, ``old`` its rows) into ``workbook``.

    Rows the import leaves as they were keep their XML. Returns the backup path.
    """
    package = Package(data, name=workbook.name)
    width = len(plan.header)
    same = [
        i
        for i, (new, was) in enumerate(zip(plan.rows, old, strict=False))
        if list(new) + [None] * (width - len(new)) == list(was) + [None] * (width - len(was))
    ]
    try:
        replace_table_rows(
            package, PROSPECTS.name, plan.header, plan.rows, plan.kinds, unchanged=same
        )
    except KeyError as err:
        raise InputError(
            f"{workbook.name} has no {PROSPECTS.name} table",
            sheet=PROSPECTS.sheet,
            expected="a workbook made by pipeline-xl new",
        ) from err
    return atomic_write(workbook, package.to_bytes(), backup=True)


def _validation(plan: crm.UpsertPlan, stages: Stages) -> tuple[int, int, list[str]]:
    """Errors, warnings and the most frequent problems validation finds after the import."""
    rows: list[list[object]] = [list(plan.header), *plan.rows]
    try:
        # The as-of date plays no part in checking the Prospects table.
        model = validate(rows, stages, settings=Settings(as_of=date(2000, 1, 1)))
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
    progress: Progress = SILENT,
    wait: float = DEFAULT_WAIT,
) -> ImportResult:
    """Import a CRM export into the workbook's Prospects table.

    Reads the export, maps its columns (``preset``, ``mapping`` as ``field=column,...``,
    else header synonyms), converts its cells, plans the upsert by ID and, unless
    ``dry_run`` or nothing changed, rewrites ``tblProspects`` in place with a backup.
    Unless ``dry_run`` all this happens under the workbook's lock (another command
    writing it is waited for, up to ``wait`` seconds).

    Raises:
        InputError: a bad export, a workbook that is missing, being written by another
            command, open in Excel, read-only or without a Prospects table, a table that
            would grow into the user's cells, a bad option, or a write that fails.

    """
    book_path = Path(workbook)
    options = {"preset": preset, "mapping": mapping, "stage_map": stage_map, "sheet": sheet}
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
    sheet: str | None,
    dry_run: bool,
    progress: Progress,
) -> ImportResult:
    """`import_export` on the workbook at ``real`` (``book_path`` as the user named it)."""
    chosen = preset_named(preset)
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
    progress.step("mapping and converting")
    column_map, incoming = convert(
        export,
        stages,
        preset=chosen,
        mapping_text=mapping,
        stage_map=crm.parse_stage_map(stage_map, stages),
    )
    progress.step("comparing with the workbook")
    plan = crm.plan_upsert(prospects[0], prospects[1:], incoming)
    result = ImportResult(export, chosen, column_map, incoming, plan)
    errors, warnings, result.problems = _validation(plan, stages)
    result.issues = (errors, warnings)
    if dry_run:
        result.notes.append("dry run: nothing was written")
    elif not plan.changed:
        result.notes.append(f"nothing changed: {book_path.name} was not written")
    else:
        progress.step("writing the workbook")
        result.backup = _write_prospects(real, data, plan, prospects[1:])
        result.written = True
        saved = f" (previous version: {result.backup.name})" if result.backup else ""
        result.notes.append(f"written: {book_path}{saved}")
    return result
