"""Workbook edits for the attack suite, made on the zip directly (no code under test).

Each helper adds what a user (or an attacker) would put into a workbook: cells below a
table, merged cells, a comment, a data validation, a shape, a user column with one
formula per row, a user sheet named like a report, a defined name.
"""

from __future__ import annotations

import csv
import re
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

from python_calamine import CalamineWorkbook

from pipeline_xl.io.package import Package
from pipeline_xl.io.tables import find_table
from tests.io.workbooks import A_NS, DRAWING_NS, REL, read_parts, write_parts

CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"


def sheet_part(path: Path, sheet: str) -> str:
    """The part name of ``sheet``."""
    return Package.from_bytes(path.read_bytes()).sheet(sheet).part


def table_part(path: Path, table: str) -> str:
    """The part name of ``table``."""
    return find_table(Package.from_bytes(path.read_bytes()), table).part


def text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def formula_cell(ref: str, formula: str, value: float | None = None) -> str:
    cached = "" if value is None else f"<v>{value:g}</v>"
    return f'<c r="{ref}"><f>{formula}</f>{cached}</c>'


def edit_sheet(path: Path, sheet: str, edit: object) -> None:
    """Apply ``edit`` (text -> text) to the XML of ``sheet``."""
    parts = read_parts(path)
    name = sheet_part(path, sheet)
    parts[name] = edit(parts[name].decode()).encode()  # type: ignore[operator]
    save_parts(path, parts)


def save_parts(path: Path, parts: dict[str, bytes]) -> None:
    """Write ``parts`` back into ``path``, stored parts stored again."""
    with zipfile.ZipFile(path) as zf:
        stored = frozenset(i.filename for i in zf.infolist() if i.compress_type == 0)
    write_parts(path, parts, stored)


def add_rows(xml: str, rows: dict[int, Sequence[str]]) -> str:
    """Rows of cells (``rows``: Excel row -> cell XML) after the last row of sheetData."""
    new = "".join(f'<row r="{n}">{"".join(cells)}</row>' for n, cells in sorted(rows.items()))
    return xml.replace("</sheetData>", new + "</sheetData>", 1)


def add_merge(xml: str, ref: str) -> str:
    """A merged area, right after sheetData."""
    return xml.replace(
        "</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'
    )


def add_validation(xml: str, sqref: str) -> str:
    """A whole-number validation on ``sqref`` in the sheet's dataValidations."""
    item = (
        f'<dataValidation type="whole" allowBlank="1" sqref="{sqref}">'
        "<formula1>0</formula1></dataValidation>"
    )
    count = int(re.search(r'<dataValidations count="(\d+)"', xml)[1])
    xml = xml.replace(
        f'<dataValidations count="{count}">', f'<dataValidations count="{count + 1}">'
    )
    return xml.replace("</dataValidations>", item + "</dataValidations>", 1)


def add_comment(path: Path, sheet: str, ref: str) -> None:
    """A comment on ``ref`` in the sheet's comments part (the ready sheets have notes)."""
    parts = read_parts(path)
    rels = parts[_rels_of(sheet_part(path, sheet))].decode()
    target = re.search(rf'Type="{REL}/comments" Target="([^"]+)"', rels)[1]
    name = "xl/" + target.replace("../", "")
    text = parts[name].decode()
    comment = f'<comment ref="{ref}" authorId="0"><text><r><t>user note</t></r></text></comment>'
    parts[name] = text.replace("</commentList>", comment + "</commentList>").encode()
    save_parts(path, parts)


def add_shape(path: Path, sheet: str, first: tuple[int, int], last: tuple[int, int]) -> None:
    """A rectangle anchored from cell ``first`` to ``last`` ((row, column), 1-based)."""
    parts = read_parts(path)
    part = sheet_part(path, sheet)
    drawing = "xl/drawings/drawing90.xml"
    anchor = (
        f"<xdr:from><xdr:col>{first[1] - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
        f"<xdr:row>{first[0] - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
        f"<xdr:to><xdr:col>{last[1] - 1}</xdr:col><xdr:colOff>0</xdr:colOff>"
        f"<xdr:row>{last[0] - 1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
    )
    parts[drawing] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<xdr:wsDr xmlns:xdr="{DRAWING_NS}" xmlns:a="{A_NS}"><xdr:twoCellAnchor>{anchor}'
        '<xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="2" name="Box 1"/>'
        '<xdr:cNvSpPr/></xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/>'
        '<a:ext cx="1000000" cy="300000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        "</a:prstGeom></xdr:spPr></xdr:sp><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
    ).encode()
    rels_name = _rels_of(part)
    rels = (
        parts[rels_name]
        .decode()
        .replace(
            "</Relationships>",
            f'<Relationship Id="rId90" Type="{REL}/drawing" Target="../drawings/drawing90.xml"/>'
            "</Relationships>",
        )
    )
    parts[rels_name] = rels.encode()
    xml = parts[part].decode()
    parts[part] = xml.replace("<legacyDrawing", '<drawing r:id="rId90"/><legacyDrawing', 1).encode()
    types = (
        parts["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>", f'<Override PartName="/{drawing}" ContentType="{CT_DRAWING}"/></Types>'
        )
    )
    parts["[Content_Types].xml"] = types.encode()
    save_parts(path, parts)


def add_calculated_column(path: Path, rows: int, styled_row: int) -> None:
    """Column P "Double" of tblProspects: ``=G2*2`` ... as one shared formula, as Excel
    writes a calculated column; the cell of ``styled_row`` has its own style (style 1)."""
    parts = read_parts(path)
    table = table_part(path, "tblProspects")
    text = parts[table].decode()
    last = rows + 1
    text = text.replace(f'ref="A1:O{last}"', f'ref="A1:P{last}"')
    count = int(re.search(r'<tableColumns count="(\d+)"', text)[1])
    text = text.replace(f'<tableColumns count="{count}"', f'<tableColumns count="{count + 1}"')
    column = (
        f'<tableColumn id="{count + 1}" name="Double"><calculatedColumnFormula>'
        "tblProspects[[#This Row],[Amount]]*2</calculatedColumnFormula></tableColumn>"
    )
    parts[table] = text.replace("</tableColumns>", column + "</tableColumns>").encode()
    part = sheet_part(path, "Prospects")
    xml = parts[part].decode()
    header = '<c r="P1" t="inlineStr"><is><t>Double</t></is></c>'
    xml = re.sub(r'(<c r="O1"[^>]*?(?:/>|>.*?</c>))', lambda m: m.group(1) + header, xml, count=1)
    for n in range(2, last + 1):
        f = (
            f'<f t="shared" ref="P2:P{last}" si="0">G2*2</f>'
            if n == 2
            else '<f t="shared" si="0"/>'
        )
        style = ' s="1"' if n == styled_row else ""
        xml = re.sub(
            rf'(<row r="{n}"[^>]*>.*?)(</row>)',
            lambda m, n=n, f=f, style=style: f'{m.group(1)}<c r="P{n}"{style}>{f}</c>{m.group(2)}',
            xml,
            count=1,
            flags=re.S,
        )
    xml = xml.replace(f'<dimension ref="A1:O{last}"/>', f'<dimension ref="A1:P{last}"/>')
    parts[part] = re.sub(r'spans="1:15"', 'spans="1:16"', xml).encode()
    save_parts(path, parts)


def _rels_of(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels"


def write_export(path: Path, rows: Sequence[Sequence[object]], header: Sequence[str] = ()) -> Path:
    """A CSV export (default header: ID, Name, Stage, Amount, Expected close)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header or ["ID", "Name", "Stage", "Amount", "Expected close"])
        out.writerows(rows)
    return path


def new_deals(n: int, start: int = 1) -> list[list[object]]:
    """``n`` new open deals for an export."""
    return [[f"NEW-{k:03d}", f"New deal {k}", "Qualified", 1000 + k, "2026-06-30"]
            for k in range(start, start + n)]  # fmt: skip


def prospects(path: Path) -> list[list[object]]:
    """tblProspects as calamine reads it (header first)."""
    book = CalamineWorkbook.from_path(str(path), load_tables=True)
    table = book.get_table_by_name("tblProspects")
    return [list(table.columns), *table.to_python()]


def changed_amounts(path: Path, rows: Sequence[int], add: float = 500.0) -> list[list[object]]:
    """Export rows (ID, Stage, Amount) changing the amount of the deals on Excel ``rows``."""
    table = prospects(path)
    header = table[0]
    i, s, a = header.index("ID"), header.index("Stage"), header.index("Amount")
    return [[table[n - 1][i], table[n - 1][s], float(table[n - 1][a]) + add] for n in rows]


def lying_zip(source: Path, target: Path, *, inflates_to: int, declares: int) -> Path:
    """``source`` with a sharedStrings part that inflates to ``inflates_to`` bytes while its
    zip entries (local header and central directory) declare ``declares`` bytes."""
    name = "xl/sharedStrings.xml"
    head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
    tail = b"</t></si></sst>"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != name:
                new.writestr(info, old.read(info), compress_type=info.compress_type)
                continue
            entry = zipfile.ZipInfo(name, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with new.open(entry, "w", force_zip64=False) as out:
                out.write(head)
                chunk = b"A" * (1 << 20)
                left = inflates_to - len(head) - len(tail)
                while left > 0:
                    out.write(chunk[: min(left, len(chunk))])
                    left -= len(chunk)
                out.write(tail)
    data = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as zf:
        offset = zf.getinfo(name).header_offset
    struct.pack_into("<L", data, offset + 22, declares)  # local header: uncompressed size
    encoded = name.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + length]) == encoded:
            struct.pack_into("<L", data, at + 24, declares)  # central directory record
        at = data.find(b"PK\x01\x02", at + 4)
    target.write_bytes(bytes(data))
    return target


def add_comments_part(path: Path, sheet: str, ref: str) -> str:
    """A comments part for ``sheet`` (which has none) with one comment on ``ref``."""
    parts = read_parts(path)
    part = sheet_part(path, sheet)
    name = "xl/comments90.xml"
    parts[name] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<authors><author>Ann</author></authors><commentList>"
        f'<comment ref="{ref}" authorId="0"><text><r><t>my own note</t></r></text></comment>'
        "</commentList></comments>"
    ).encode()
    rels_name = _rels_of(part)
    rels = (
        parts[rels_name]
        .decode()
        .replace(
            "</Relationships>",
            f'<Relationship Id="rId91" Type="{REL}/comments" Target="../comments90.xml"/>'
            "</Relationships>",
        )
    )
    parts[rels_name] = rels.encode()
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
    types = (
        parts["[Content_Types].xml"]
        .decode()
        .replace("</Types>", f'<Override PartName="/{name}" ContentType="{ct}"/></Types>')
    )
    parts["[Content_Types].xml"] = types.encode()
    save_parts(path, parts)
    return name


def rename_sheet(path: Path, old: str, new: str) -> None:
    """Rename a sheet in workbook.xml and the titles of docProps/app.xml."""
    parts = read_parts(path)
    parts["xl/workbook.xml"] = (
        parts["xl/workbook.xml"].decode().replace(f'name="{old}"', f'name="{new}"').encode()
    )
    app = parts["docProps/app.xml"].decode()
    parts["docProps/app.xml"] = app.replace(
        f"<vt:lpstr>{old}</vt:lpstr>", f"<vt:lpstr>{new}</vt:lpstr>"
    ).encode()
    save_parts(path, parts)


def add_defined_name(path: Path, name: str, formula: str) -> None:
    """A workbook-scoped defined name."""
    parts = read_parts(path)
    text = parts["xl/workbook.xml"].decode()
    element = f'<definedName name="{name}">{formula}</definedName>'
    if "<definedNames>" in text:
        text = text.replace("<definedNames>", "<definedNames>" + element, 1)
    else:
        text = text.replace("</sheets>", f"</sheets><definedNames>{element}</definedNames>", 1)
    parts["xl/workbook.xml"] = text.encode()
    save_parts(path, parts)
