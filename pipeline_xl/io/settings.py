"""Write text settings into a workbook's Settings table (``tblSettings``), in place.

The import records there the currency of the amounts it brought and the ``--stage-map``
it was given (`pipeline_xl.core.contract.SETTINGS`). A setting the table already has
gets its Value cell rewritten where it is, keeping that cell's own style (the Settings
table mixes dates, whole numbers, rates and text in one column, so no column-wide style
fits) and every other cell of the sheet byte for byte. A setting the table lacks becomes
a new last row through `tables.replace_table_rows`, which keeps the XML of the rows
above. Values are text, written as inline strings: never a formula.

Refused: a workbook without a ``tblSettings`` table (`KeyError`, for the caller to
report), a value cell that cannot be found in the sheet (`ValueError`: a sheet saved by a
program that writes cells without their reference).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pipeline_xl.core import contract
from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import SETTINGS_TABLE, norm_key
from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import column_letter, text_cell_xml
from pipeline_xl.io.tables import ValueKind, find_table, replace_table_rows
from pipeline_xl.io.xmledit import PREFIX, decode, start_tag

__all__ = ["write_settings"]

_STYLE = re.compile(r"""\ss\s*=\s*["'](\d+)["']""")


def _cell_re(ref: str) -> re.Pattern[str]:
    """A ``<c>`` element whose reference is ``ref`` (empty or with content)."""
    return re.compile(
        rf"""<{PREFIX}c\b[^>]*?\sr\s*=\s*["']{ref}["'][^>]*?(?:/>|>.*?</{PREFIX}c\s*>)""",
        re.S,
    )


def _row_re(number: int) -> re.Pattern[str]:
    return re.compile(
        rf"""<{PREFIX}row\b[^>]*?\sr\s*=\s*["']{number}["'][^>]*?(?:/>|>.*?</{PREFIX}row\s*>)""",
        re.S,
    )


def _set_cell(sheet_xml: str, col: int, row: int, text: str) -> str:
    """``sheet_xml`` with cell (``col``, ``row``) holding ``text``, its style kept."""
    ref = f"{column_letter(col)}{row}"
    found = _cell_re(ref).search(sheet_xml)
    if found is not None:
        style = _STYLE.search(start_tag(found.group(0)))
        new = text_cell_xml(ref, text, int(style.group(1)) if style else 0)
        return sheet_xml[: found.start()] + new + sheet_xml[found.end() :]
    line = _row_re(row).search(sheet_xml)
    label = _cell_re(f"{column_letter(col - 1)}{row}").search(sheet_xml) if col > 1 else None
    if line is None or label is None or not line.start() < label.start() < line.end():
        raise ValueError(f"cell {ref} of the Settings table cannot be found")
    return sheet_xml[: label.end()] + text_cell_xml(ref, text) + sheet_xml[label.end() :]


def write_settings(
    package: Package, table_rows: Sequence[Sequence[object]], values: Mapping[str, str]
) -> None:
    """Set text settings (key -> value, e.g. ``{"currency": "USD"}``) in ``tblSettings``.

    ``table_rows`` are the table's rows as read (header first, one row per table row),
    used to find the row of each setting by its label (`contract.setting_named`).

    Raises:
        KeyError: the workbook has no ``tblSettings`` table.
        ValueError: a value cell cannot be found in the sheet.

    """
    table = find_table(package, SETTINGS_TABLE.name)
    heads = [norm_key(clean_text(h)) for h in table.columns]
    value_headers = {norm_key(h) for h in SETTINGS_TABLE.field("value").headers}
    value_at = next((j for j, h in enumerate(heads) if h in value_headers), 1)
    at: dict[str, int] = {}
    data = list(table_rows[1:])
    for i, row in enumerate(data):
        setting = contract.setting_named(clean_text(row[0])) if row else None
        if setting is not None and setting.key not in at:
            at[setting.key] = table.first_data_row + i
    text, encoding = decode(package.part(table.sheet_part))
    changed = False
    appended: list[list[object]] = []
    for key, value in values.items():
        setting = next(s for s in contract.SETTINGS if s.key == key)
        if key in at:
            text = _set_cell(text, table.first_col + value_at, at[key], value)
            changed = True
        else:
            added: list[object] = [None] * len(table.columns)
            added[0], added[value_at] = setting.label, value
            appended.append(added)
    if changed:
        package.set_part(table.sheet_part, text.encode(encoding))
        package.touch_sheet(table.sheet)
    if appended:
        width = len(table.columns)
        kept = [[*r[:width], *[None] * (width - len(r))] for r in data]
        kinds: list[ValueKind] = ["text"] * width
        header = list(table.columns)
        replace_table_rows(
            package, table.name, header, [*kept, *appended], kinds, keep_prefix=len(kept)
        )
