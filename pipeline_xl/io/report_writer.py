"""Write a Report and the Snapshots log into a workbook package, headlessly.

`write_report` puts each report sheet into the package. The sheets it creates are
marked as the tool's (the hidden sheet-scoped workbook name `contract.REPORT_MARK`,
which follows the sheet when it is renamed or moved), and only a marked sheet is ever
replaced: in place (same part, same position) or, with ``keep_history``, kept under a
dated name while the new one is appended. A sheet that carries a report's name but not
the mark is the user's and is never touched, whatever it holds: the report goes to a
free name (``Pipeline flow (2)``) and the returned notes say so. Keeping a report under
a dated name leaves the workbook names and formulas that point at the report's name as
they are, so they point at the new report, as the user's cell formulas do. New styles
are appended to ``styles.xml``; existing ones keep their indices. Every other part stays
byte for byte as it was.

`write_snapshots` rewrites the ``tblSnapshots`` rows with the change log, keeping the
user's own columns and the rows validation left out.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import compress, count
from typing import NamedTuple

import pandas as pd

from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import REPORT_MARK, SNAPSHOTS
from pipeline_xl.core.dates import parse_date
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Model
from pipeline_xl.core.raw import RawWorkbook
from pipeline_xl.core.report_model import Report
from pipeline_xl.core.schema import match_headers
from pipeline_xl.io.package import Package
from pipeline_xl.io.render import drawing_xml, render_sheet
from pipeline_xl.io.sheetxml import xml_unescape
from pipeline_xl.io.styles import MINIMAL_STYLES_XML, StyleBook
from pipeline_xl.io.tables import ValueKind, find_table, replace_table_rows

__all__ = ["ReportSheets", "write_report", "write_snapshots"]

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEPT = "kept:"
_STYLES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_STYLES_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
_SNAPSHOT_KINDS: dict[str, ValueKind] = {
    "snapshot_date": "date",
    "expected_close": "date",
    "amount": "number",
    "probability": "number",
}

# --------------------------------------------------------------------------- report sheets


def _styles_part(package: Package) -> str:
    found = package.related(package.workbook_part, "styles")
    if found is not None:
        return found
    part = package.unused_name("xl/styles{}.xml")
    package.set_part(part, MINIMAL_STYLES_XML, _STYLES_CT)
    package.add_rel(package.workbook_part, _STYLES_REL, part)
    return part


class ReportSheets(NamedTuple):
    """What `write_report` did: sheets written, reports kept, notes for the user."""

    written: list[str]
    kept: list[str]
    notes: list[str]


def write_report(package: Package, report: Report, *, keep_history: bool = False) -> ReportSheets:
    """Put the report sheets into ``package`` (see the module docstring).

    A report replaces the sheet marked as that report's, or with ``keep_history`` that
    sheet is renamed ``<name> <its as-of date>`` (unique, at most 31 characters) and
    marked as kept while the new one is appended. A report whose name is taken by a
    sheet the tool did not create goes to a free name, with a note saying so.
    """
    styles_part = _styles_part(package)
    book = StyleBook(package.part(styles_part))
    done = ReportSheets([], [], [])
    for sheet in report.sheets:
        rendered = render_sheet(sheet, book, currency=report.currency, drawing_rid="rId1")
        owned = _owned(package, sheet.name)
        if owned is not None and keep_history:
            history = _history_name(package, owned, report.as_of)
            package.rename_sheet(owned, history, names_follow=False)
            package.set_local_name(history, REPORT_MARK, _KEPT + sheet.name)
            done.kept.append(history)
            owned = None
        if owned is None:
            name = _free_name(package, sheet.name)
            package.add_sheet(name, rendered.xml)
            package.set_local_name(name, REPORT_MARK, sheet.name)
        else:
            name = owned
            if owned != sheet.name and _existing(package, sheet.name) in (None, owned):
                name = package.rename_sheet(owned, sheet.name).name  # its name is free again
            package.replace_sheet_content(name, rendered.xml)
        if name.casefold() != sheet.name.casefold():
            done.notes.append(
                f"the sheet {_existing(package, sheet.name)} was not made by pipeline-xl, so "
                f"it is left as it is: the {sheet.name} report is on the sheet {name}"
            )
        charts = [(chart.xml, chart.anchor) for chart in rendered.charts]
        package.attach_drawing(name, charts, drawing_xml, rid="rId1")
        done.written.append(name)
    new_styles = book.to_bytes()
    if new_styles != package.part(styles_part):
        package.set_part(styles_part, new_styles)
    return done


def _existing(package: Package, name: str) -> str | None:
    for ref in package.sheets():
        if ref.name.casefold() == name.casefold():
            return ref.name
    return None


def _owned(package: Package, report: str) -> str | None:
    """The sheet marked as holding report ``report`` (the one of that name first)."""
    marked = [s for s, v in package.local_names(REPORT_MARK).items() if v == report]
    same = [s for s in marked if s.casefold() == report.casefold()]
    found = same or marked
    return found[0] if found else None


def _free_name(package: Package, name: str) -> str:
    """``name`` when no sheet has it, else ``name (2)``, ``name (3)`` ... (31 characters)."""
    taken = {s.name.casefold() for s in package.sheets()}
    for n in range(1, 1000):
        suffix = "" if n == 1 else f" ({n})"
        candidate = name[: 31 - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
    raise InputError("too many sheets named like a report", value=name)


def _first_texts(package: Package, sheet: str) -> tuple[str, str]:
    """The texts of cells A1 and A2 of ``sheet`` (``""`` when empty or not text)."""
    xml = package.part(package.sheet(sheet).part).decode("utf-8", errors="replace")
    found = {"A1": "", "A2": ""}
    shared: list[str] | None = None
    for ref in found:
        m = re.search(
            rf"""<(?:[\w.-]+:)?c\b[^>]*?\br=["']{ref}["'][^>]*?(?:/>|>(.*?)</(?:[\w.-]+:)?c>)""",
            xml,
            re.S,
        )
        if m is None or m.group(1) is None:
            continue
        tag = m.group(0)[: m.group(0).index(">") + 1]
        kind = re.search(r"""\bt=["'](\w+)["']""", tag)
        body = m.group(1)
        texts = re.findall(r"<(?:[\w.-]+:)?t\b[^>]*>(.*?)</(?:[\w.-]+:)?t>", body, re.S)
        value = re.search(r"<(?:[\w.-]+:)?v>(.*?)</(?:[\w.-]+:)?v>", body, re.S)
        if kind and kind.group(1) == "s" and value:
            if shared is None:
                shared = _shared_strings(package)
            index = int(value.group(1)) if value.group(1).isdigit() else -1
            found[ref] = shared[index] if 0 <= index < len(shared) else ""
        elif texts:
            found[ref] = xml_unescape("".join(texts))
        elif kind and kind.group(1) == "str" and value:
            found[ref] = xml_unescape(value.group(1))
    return found["A1"], found["A2"]


def _shared_strings(package: Package) -> list[str]:
    part = package.related(package.workbook_part, "sharedStrings")
    if part is None:
        return []
    text = package.part(part).decode("utf-8", errors="replace")
    out = []
    for si in re.finditer(r"<(?:[\w.-]+:)?si\b[^>]*>(.*?)</(?:[\w.-]+:)?si>", text, re.S):
        body = re.sub(r"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", "", si.group(1), flags=re.S)
        parts = re.findall(r"<(?:[\w.-]+:)?t\b[^>]*>(.*?)</(?:[\w.-]+:)?t>", body, re.S)
        out.append(xml_unescape("".join(parts)))
    return out


def _history_name(package: Package, sheet: str, as_of: date) -> str:
    """``<sheet> <as-of date of its report>``, unique and at most 31 characters."""
    second = _first_texts(package, sheet)[1]
    found = _DATE_RE.search(second)
    stamp = found.group(0) if found else as_of.isoformat()
    taken = {s.name.casefold() for s in package.sheets()}
    for n in range(1, 1000):
        suffix = f" {stamp}" if n == 1 else f" {stamp} ({n})"
        candidate = sheet[: 31 - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
    raise InputError("too many kept reports", sheet=sheet, expected="fewer old report sheets")


# --------------------------------------------------------------------------- snapshots


def _data_rows(rows: Sequence[Sequence[object]] | None) -> int:
    if not rows:
        return 0
    return sum(1 for row in rows[1:] if any(v is not None and v != "" for v in row))


def _cell_values(series: pd.Series, *, capitalize: bool = False) -> list[object]:
    """A log column as cell values: None for missing, dates as dates, plain scalars."""
    if pd.api.types.is_datetime64_any_dtype(series):
        days = series.dt.normalize()
        whole = bool((days == series).all())
        values = series.dt.date.astype(object) if whole else series.astype(object)
        dates: list[object] = values.where(series.notna(), None).tolist()
        return dates
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
        numbers = series.astype("float64")
        return numbers.astype(object).where(numbers.notna(), None).tolist()
    texts = series.astype(object).where(series.notna(), None)
    out = texts.tolist()
    if capitalize:  # a few distinct values (Open, Won, Lost): each capitalised once
        spelt = {v: v.capitalize() for v in set(out) if isinstance(v, str)}
        return list(map(spelt.get, out, out))
    return out


def _key(day: object, deal: object) -> tuple[date | None, str]:
    parsed = parse_date(day) if day is not None else None
    if isinstance(parsed, datetime):
        parsed = parsed.date()
    return parsed, clean_text(deal)


def _old_snapshot_rows(
    header: Sequence[str],
    extra_cols: Sequence[int],
    raw: RawWorkbook | None,
    model: Model | None,
) -> tuple[dict[tuple[date | None, str], list[object]], list[list[object]]]:
    """From the table as read: user-column cells by (date, ID), and rows validation left out."""
    carried: dict[tuple[date | None, str], list[object]] = {}
    kept: list[list[object]] = []
    old = raw.table(SNAPSHOTS) if raw is not None else None
    if raw is None or not old or len(old) < 2:
        return carried, kept
    old_header = [clean_text(h) for h in old[0]]
    position = {h.casefold(): i for i, h in enumerate(old_header)}
    old_fields = match_headers(old_header, SNAPSHOTS)
    valid = None if model is None else set(map(int, model.snapshots["row"].tolist()))
    first_row = raw.header_rows.get(SNAPSHOTS.sheet, 1) + 1
    keyed = "snapshot_date" in old_fields and "id" in old_fields
    found = [position.get(h.casefold()) for h in header]
    body = old[1:]
    if extra_cols and keyed:
        looked_at: Iterable[int] = range(len(body))
    elif valid is None:
        return carried, kept
    else:  # only the rows validation left out matter
        excel_rows = set(range(first_row, first_row + len(body)))
        looked_at = [r - first_row for r in sorted(excel_rows.difference(valid))]
    for i in looked_at:
        row = body[i]
        is_valid = valid is None or first_row + i in valid
        if is_valid and not (extra_cols and keyed):
            continue
        if not any(clean_text(v) for v in row):
            continue
        cells = [row[k] if k is not None and k < len(row) else None for k in found]
        if not is_valid:
            kept.append(cells)
        else:
            key = _key(row[old_fields["snapshot_date"]], row[old_fields["id"]])
            carried[key] = [cells[j] for j in extra_cols]
    return carried, kept


def _common_prefix(
    rows: Sequence[Sequence[object]], header: Sequence[str], old: Sequence[Sequence[object]] | None
) -> int | None:
    """How many leading ``rows`` the table as read (``old``, header first) already holds.

    Values compare as `_cell_values` gives them and calamine reads them (a date with a
    date, text with text), column by column under the same header. None when the table
    was not read or lacks one of the columns.
    """
    if not old:
        return None
    position = {clean_text(h).casefold(): i for i, h in enumerate(old[0])}
    maybe = [position.get(h.casefold()) for h in header]
    found = [k for k in maybe if k is not None]
    if len(found) != len(maybe) or not found:
        return None
    width = max(found) + 1
    body = [was if len(was) >= width else [*was, *[None] * (width - len(was))] for was in old[1:]]
    # Row by row in C: tuples of the new rows against the same columns of the old ones,
    # up to the first row that differs.
    if len(found) == 1:
        new: Iterator[object] = map(operator.itemgetter(0), rows)
    else:
        new = map(tuple, rows)
    differs = map(operator.ne, new, map(operator.itemgetter(*found), body))
    return next(compress(count(), differs), min(len(rows), len(body)))


def write_snapshots(
    package: Package,
    log: pd.DataFrame,
    *,
    raw: RawWorkbook | None = None,
    model: Model | None = None,
) -> int:
    """Rewrite the ``tblSnapshots`` rows with the change log ``log``; returns the row count.

    Columns are filled by their headers (matched as validation matches them, in the
    table's own order); status is written as Open, Won or Lost. With ``raw`` and
    ``model``: cells of columns the log does not have (a user's own columns) follow
    their rows by snapshot date and ID, and rows validation left out (errors) are kept
    at the end as they were, so no data of the user's is lost.

    When the table already holds exactly these rows it is left as it is (no part
    changes), which keeps a second refresh on the same day cheap. Otherwise the leading
    rows it already holds (the whole old log, when a day's rows were only added at its
    end) keep their XML and only the rows after them are written; ``raw`` must then be
    the workbook as read from ``package``.

    Raises:
        KeyError: the workbook has no ``tblSnapshots`` table.

    """
    table = find_table(package, SNAPSHOTS.name)
    header = list(table.columns)
    fields = {pos: name for name, pos in match_headers(header, SNAPSHOTS).items()}
    kinds: list[ValueKind] = [
        _SNAPSHOT_KINDS.get(fields.get(j, ""), "text" if j in fields else "auto")
        for j in range(len(header))
    ]
    extra_cols = [j for j in range(len(header)) if j not in fields]
    carried, kept_rows = _old_snapshot_rows(header, extra_cols, raw, model)
    n = len(log)
    columns: list[list[object]] = [[None] * n for _ in header]
    for j, name in fields.items():
        if name in log.columns:
            columns[j] = _cell_values(log[name], capitalize=name == "status")
    if carried and n:
        keys = zip(_cell_values(log["snapshot_date"]), _cell_values(log["id"]), strict=True)
        for i, (day, deal) in enumerate(keys):
            extra = carried.get(_key(day, deal))
            for j, value in zip(extra_cols, extra or (), strict=False):
                columns[j][i] = value
    rows: list[Sequence[object]] = list(zip(*columns, strict=True)) if n else []
    rows.extend(kept_rows)
    old = raw.table(SNAPSHOTS) if raw is not None else None
    same = _common_prefix(rows, header, old)
    if same is not None and old is not None and same == len(rows) == len(old) - 1:
        return len(rows)
    # Rows the table already holds keep their XML: only the rows after them are written
    # (record_snapshot adds a day's rows at the end of the log). Not with a user's own
    # columns or left-out rows, whose cells come from elsewhere, nor when the table read
    # does not line up with the table's rows.
    simple = not extra_cols and not kept_rows and table.header_rows == 1
    held = table.last_data_row - table.first_data_row + 1
    lined_up = old is not None and len(old) - 1 == held
    keep = same if same is not None and simple and lined_up else 0
    replace_table_rows(package, SNAPSHOTS.name, header, rows, kinds, keep_prefix=keep)
    return len(rows)
