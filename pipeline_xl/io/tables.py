"""Rewrite the data rows of an Excel table inside a package, leaving the rest of the sheet.

Used by the refresh for the Snapshots change log and by the import for the Prospects
table. The table keeps its part, name, style and columns; its ``ref`` (and the filter's)
follow the new row count, and so do data validations and conditional formats that
covered exactly the old data rows of a column. Cells of the sheet outside the table's
columns are kept, in every row.

Cells are written the safe way: text as inline strings, never
a formula, with a quote-prefix copy of the column's style when it starts with
``= + - @`` (so editing it in Excel keeps it text); dates as serial numbers with the
column's date style; numbers as numbers. A column's style is the one of its first data
cell (else the column's default style), so rewritten cells look like the old ones.

A log that only grows at its end need not be written again: with ``keep_prefix`` the
leading rows the caller knows to be unchanged keep their XML as it is and only the rows
after them are written, so a daily refresh of a 200,000-row log writes a few hundred rows.
Other rows the caller knows to be unchanged (``unchanged``) keep their XML too.

What the user made is kept (`table_space`, `table_formulas`): a table never grows into
the user's cells (the rows or columns it would take must be free, else an `InputError`
names the first cell in the way and nothing is changed); in the user's own columns
(kind ``auto``) a formula stays a formula and a calculated column fills the new rows;
a rewritten cell keeps its own style. When formulas are written without their cached
values the workbook asks Excel to recalculate on opening.

The work is shared out: `table_ref` finds the table, `table_rows` indexes the sheet's
rows and decides each touched row's new text, `table_cells` writes the cells; this
module checks the request and updates what surrounds the rows (the sheet's dimension,
validations and conditional formats, the table part's range, filter and columns).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

from pipeline_xl.io.formula_refs import shift_formula
from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import area_ref, cell_ref, split_ref, xml_escape
from pipeline_xl.io.table_cells import CellWriter, QuoteStyles, ValueKind
from pipeline_xl.io.table_formulas import OldCells, formula_cell_xml, repair_shared
from pipeline_xl.io.table_ref import TableRef, find_table
from pipeline_xl.io.table_rows import Rewrite, first_row_number, index_for, split_sheet_data
from pipeline_xl.io.table_space import Area, check_room
from pipeline_xl.io.xmledit import PREFIX, decode, set_attr, tag_attrs

__all__ = ["TableRef", "ValueKind", "find_table", "replace_table_rows"]


def _check_header(table: TableRef, header: Sequence[str]) -> None:
    old = [c.casefold() for c in table.columns]
    given = [str(h).casefold() for h in header]
    if given[: len(old)] != old or len(set(given)) != len(given):
        raise ValueError(
            f"header {list(header)} must start with the columns of {table.name} "
            f"({list(table.columns)}), new columns after them, no name twice"
        )


def replace_table_rows(
    package: Package,
    table_name: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    kinds: Sequence[ValueKind],
    *,
    keep_prefix: int = 0,
    unchanged: Collection[int] = (),
) -> TableRef:
    """Replace the data rows of table ``table_name`` with ``rows``; returns the new table.

    ``header`` lists the table's columns in their order, optionally followed by new
    columns (the table grows to the right); ``kinds`` says per column how a value is
    written: ``text`` (always text), ``number`` and ``date`` (numbers and dates as such,
    anything else as text) or ``auto`` (by the value's type). None, NaN, NaT and ``""``
    leave the cell empty. A table keeps at least one (empty) data row, as Excel needs.
    A totals row moves below the new last row.

    ``keep_prefix`` says that the first ``keep_prefix`` of ``rows`` hold the values the
    table's first data rows already hold: their XML is kept byte for byte and only the
    rows after them are written (the range, filter, validations and totals row follow as
    with a full rewrite). Rows this function wrote come out the same either way; rows
    written by another program keep their form (shared strings, a cell's own format).
    Nothing checks the promise: it is the caller's, typically after comparing ``rows``
    with the table as read. ``unchanged`` makes the same promise for single rows (0-based
    positions in ``rows``; cells of new columns empty): their XML is kept byte for byte.

    Raises:
        InputError: the table would grow into a cell, merge, comment, validation,
            drawing or table of the user's (`table_space.check_room`).
        KeyError: no table of that name.
        ValueError: ``header`` or a row does not fit the table; ``keep_prefix`` is
            negative, exceeds the rows or the table's data rows, or comes with new columns.

    """
    table = find_table(package, table_name)
    _check_header(table, header)
    width = len(header)
    if len(kinds) != width or max(map(len, rows), default=0) > width:
        raise ValueError(f"{table.name}: kinds and rows must have {width} values each")
    _check_keep(table, header, len(rows), keep_prefix)
    text, encoding = decode(package.part(table.sheet_part))
    head, body, tail = split_sheet_data(text, table.sheet)
    del text  # a large sheet's text is held once at a time (peak memory)
    index = index_for(body, table, keep_prefix)
    held = table.last_data_row - table.first_data_row + 1
    same = frozenset(i for i in unchanged if keep_prefix <= i < min(len(rows), held))
    new_last = table.first_data_row + max(len(rows), 1) - 1 + table.totals_rows
    new_area = Area(table.first_row, table.first_col, new_last, table.first_col + width - 1)
    check_room(package, table, index.rows, tail, new_area)
    plan = Rewrite(table, header, index.by_number, keep_prefix, same)
    writer = CellWriter(
        QuoteStyles(package), plan.column_styles(head, package), date1904=package.date1904()
    )
    new_rows = [
        [None] * width if i in same else row
        for i, row in enumerate(rows[keep_prefix:], keep_prefix)
    ]
    columns = list(zip(*new_rows, strict=True)) if new_rows else [() for _ in header]
    generated = [
        writer.column(table.first_col + j, kinds[j], columns[j], plan.start) for j in range(width)
    ]
    old = OldCells(index.by_number, body)
    formulas = _keep_old(
        package,
        table,
        plan,
        writer=writer,
        old=old,
        kinds=kinds,
        columns=columns,
        generated=generated,
    )
    data = ["".join(cells) for cells in zip(*generated, strict=True)] if new_rows else []
    middle = plan.rows(data, generated)
    before = [r for r in index.rows if r.number < plan.touched_from]
    after = [r for r in index.rows if r.number > plan.touched_to]
    head_rows = body[: before[-1].end] if before else body[: index.origin]
    tail_rows = body[after[0].start :] if after else ""
    numbers = [r.number for r in index.rows if not plan.touched_from <= r.number <= plan.touched_to]
    first_number = first_row_number(body) if index.origin else None
    if first_number is not None:  # the rows before the indexed ones: only the first counts
        numbers.append(first_number)
    numbers += plan.written
    head = _set_dimension(head, numbers, plan.first_col, plan.last_col)
    tail = _extend_ranges(tail, table, plan.last_col, plan.new_last_data)
    masters = old.masters()
    del old, body, index  # the old rows' text: freed before the new part is encoded
    if masters:  # shared formulas whose master went away are written out
        rows_text = [repair_shared("".join((head_rows, *middle, tail_rows)), masters)]
    else:
        rows_text = [head_rows, *middle, tail_rows]
    del head_rows, middle, tail_rows
    package.set_part(table.sheet_part, "".join((head, *rows_text, tail)).encode(encoding))
    package.touch_sheet(table.sheet)
    _update_table_part(package, table, header, plan.new_last)
    if formulas:
        package.recalculate_on_load()
    return find_table(package, table.name)


def _declared(package: Package, table: TableRef) -> set[int]:
    """1-based columns the table part declares calculated (``calculatedColumnFormula``)."""
    out = set()
    columns = [el for el in package.xml(table.part).iter() if el.tag.endswith("}tableColumn")]
    for j, element in enumerate(columns):
        if any(child.tag.endswith("}calculatedColumnFormula") for child in element):
            out.add(table.first_col + j)
    return out


def _keep_old(
    package: Package,
    table: TableRef,
    plan: Rewrite,
    *,
    writer: CellWriter,
    old: OldCells,
    kinds: Sequence[ValueKind],
    columns: Sequence[Sequence[object]],
    generated: list[list[str]],
) -> bool:
    """Put back what the user made into the generated cells; True when formulas were.

    Rows that were data rows keep each cell's own style and, in the user's columns
    (``auto``), its formula; new rows of a calculated user column get its formula.
    """
    wrote = False
    declared: set[int] | None = None
    old_rows = range(table.first_data_row, table.last_data_row + 1)
    for j, values in enumerate(columns):
        col = table.first_col + j
        auto = kinds[j] == "auto"
        template: tuple[str, int] | None = None
        looked = False
        cells = generated[j]
        for i, value in enumerate(values):
            number = plan.start + i
            if number - plan.first_data in plan.unchanged:
                continue
            ref = cell_ref(number, col)
            if number in old_rows:
                kept = old.kept_formula(number, col) if auto else None
                if kept is not None:
                    cells[i] = kept
                    wrote = True
                    continue
                style = old.style(number, col)
                if style is not None and style != writer.columns[col].base:
                    cells[i] = writer.cell(ref, col, value, kinds[j], style=style) or ""
                continue
            if not auto:
                continue
            if not looked:
                declared = _declared(package, table) if declared is None else declared
                template = old.template(col, old_rows, declared=col in declared)
                looked = True
            if template is not None:
                formula, at = template
                moved = shift_formula(formula, number - at)
                cells[i] = formula_cell_xml(ref, moved, writer.columns[col].base)
                wrote = True
    return wrote


def _check_keep(table: TableRef, header: Sequence[str], n_rows: int, keep: int) -> None:
    data_rows = table.last_data_row - table.first_data_row + 1
    if keep < 0 or keep > min(n_rows, data_rows):
        raise ValueError(
            f"{table.name}: keep_prefix={keep} must be between 0 and the number of rows "
            f"given ({n_rows}) and held ({data_rows})"
        )
    if keep and len(header) > len(table.columns):
        raise ValueError(f"{table.name}: rows cannot be kept while columns are added")


def _set_dimension(head: str, numbers: Sequence[int], first_col: int, last_col: int) -> str:
    """``<dimension ref>``: the old columns plus the table's, the rows that hold cells."""
    m = re.search(rf"<{PREFIX}dimension\b[^>]*?/?>", head)
    if m is None or not numbers:
        return head
    c1, c2 = first_col, last_col
    try:
        _, old_c1, _, old_c2 = split_ref(tag_attrs(m.group(0)).get("ref", ""))
        c1, c2 = min(c1, old_c1), max(c2, old_c2)
    except ValueError:
        pass
    ref = area_ref(min(numbers), c1, max(numbers), c2)
    return head[: m.start()] + set_attr(m.group(0), "ref", ref) + head[m.end() :]


def _extend_ranges(tail: str, table: TableRef, last_col: int, new_last: int) -> str:
    """Validations and conditional formats over a column's old data rows follow the new ones."""
    old_first, old_last = table.first_data_row, table.last_data_row

    def fix_list(value: str) -> str:
        out = []
        for area in value.split():
            try:
                r1, c1, r2, c2 = split_ref(area)
            except ValueError:
                out.append(area)
                continue
            covers = r1 == old_first and r2 == old_last and table.first_col <= c1 <= c2 <= last_col
            out.append(area_ref(r1, c1, new_last, c2) if covers else area)
        return " ".join(out)

    tail = re.sub(
        r'(\ssqref=")([^"]*)(")', lambda m: m.group(1) + fix_list(m.group(2)) + m.group(3), tail
    )
    return re.sub(
        r"(<xm:sqref>)([^<]*)(</xm:sqref>)",
        lambda m: m.group(1) + fix_list(m.group(2)) + m.group(3),
        tail,
    )


def _update_table_part(
    package: Package, table: TableRef, header: Sequence[str], new_last: int
) -> None:
    text, encoding = decode(package.part(table.part))
    last_col = table.first_col + len(header) - 1
    ref = area_ref(table.first_row, table.first_col, new_last, last_col)
    root = re.search(rf"<{PREFIX}table\b[^>]*>", text)
    if root is None:
        raise ValueError(f"{table.name}: damaged table part")
    text = text[: root.start()] + set_attr(root.group(0), "ref", ref) + text[root.end() :]
    auto = re.search(rf"<{PREFIX}autoFilter\b[^>]*?/?>", text)
    if auto is not None:
        filter_last = new_last - table.totals_rows
        filter_ref = area_ref(table.first_row, table.first_col, filter_last, last_col)
        text = (
            text[: auto.start()] + set_attr(auto.group(0), "ref", filter_ref) + text[auto.end() :]
        )
    text = re.sub(rf"<{PREFIX}sortState\b.*?(?:/>|</{PREFIX}sortState\s*>)", "", text, flags=re.S)
    if len(header) > len(table.columns):
        text = _add_table_columns(text, header[len(table.columns) :])
    package.set_part(table.part, text.encode(encoding))


def _add_table_columns(text: str, names: Iterable[str]) -> str:
    m = re.search(
        rf"(<{PREFIX}tableColumns\b[^>]*>)(.*?)(</({PREFIX})tableColumns\s*>)", text, re.S
    )
    if m is None:
        raise ValueError("damaged table part: no tableColumns")
    ids = [int(i) for i in re.findall(r'<(?:[\w.-]+:)?tableColumn\b[^>]*?\sid="(\d+)"', m.group(2))]
    prefix = m.group(4) or ""
    added = ""
    next_id = max(ids, default=0) + 1
    count = len(ids)
    for name in names:
        added += f'<{prefix}tableColumn id="{next_id}" name="{xml_escape(str(name), attr=True)}"/>'
        next_id += 1
        count += 1
    opening = set_attr(m.group(1), "count", str(count))
    return text[: m.start()] + opening + m.group(2) + added + m.group(3) + text[m.end() :]
