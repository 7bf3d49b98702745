"""Read the parts of a built workbook straight from its zip (no spreadsheet library)."""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
    "x": "urn:schemas-microsoft-com:office:excel",
    "v": "urn:schemas-microsoft-com:vml",
}
M = "{" + NS["m"] + "}"
RID = "{" + NS["r"] + "}id"


@dataclass
class Sheet:
    name: str
    part: str
    root: object
    rels: dict[str, str] = field(default_factory=dict)


@dataclass
class Book:
    zf: zipfile.ZipFile
    sheets: list[Sheet]
    names: dict[str, str]
    workbook: object

    def xml(self, part: str) -> object:
        return ElementTree.fromstring(self.zf.read(part))

    def sheet(self, name: str) -> Sheet:
        return next(s for s in self.sheets if s.name == name)


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    folder, base = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", base + ".rels")
    if rels_part not in zf.namelist():
        return {}
    root = ElementTree.fromstring(zf.read(rels_part))
    out = {}
    for rel in root.findall("rel:Relationship", NS):
        target = rel.get("Target", "")
        out[rel.get("Id")] = posixpath.normpath(posixpath.join(folder, target))
    return out


def open_book(path: Path) -> Book:
    zf = zipfile.ZipFile(path)
    wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = _rels(zf, "xl/workbook.xml")
    sheets = []
    for s in wb.iter(M + "sheet"):
        part = rels[s.get(RID)]
        sheets.append(
            Sheet(s.get("name"), part, ElementTree.fromstring(zf.read(part)), _rels(zf, part))
        )
    names = {d.get("name"): d.text for d in wb.iter(M + "definedName")}
    return Book(zf, sheets, names, wb)


def tables(book: Book) -> dict[str, dict[str, object]]:
    """Table name -> sheet, ref and column names."""
    out = {}
    for sheet in book.sheets:
        for part in sheet.root.iter(M + "tablePart"):
            target = sheet.rels[part.get(RID)]
            t = book.xml(target)
            out[t.get("name")] = {
                "sheet": sheet.name,
                "ref": t.get("ref"),
                "columns": [c.get("name") for c in t.iter(M + "tableColumn")],
            }
    return out


def validations(sheet: Sheet) -> list[dict[str, str]]:
    out = []
    for dv in sheet.root.iter(M + "dataValidation"):
        f1 = dv.find("m:formula1", NS)
        out.append(
            {
                "sqref": dv.get("sqref"),
                "type": dv.get("type"),
                "formula1": f1.text if f1 is not None else None,
                "errorStyle": dv.get("errorStyle", "stop"),
            }
        )
    return out


def buttons(book: Book, sheet: Sheet) -> list[dict[str, str]]:
    """Form buttons of a sheet's legacy (VML) drawing: caption and macro."""
    out = []
    for part in sheet.root.iter(M + "legacyDrawing"):
        target = sheet.rels[part.get(RID)]
        text = book.zf.read(target).decode("utf-8")
        for shape in re.findall(r"<v:shape .*?</v:shape>", text, flags=re.S):
            if 'ObjectType="Button"' not in shape:
                continue
            macro = re.search(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", shape)
            caption = re.sub(
                r"<[^>]+>", "", re.search(r"<v:textbox.*?</v:textbox>", shape, re.S)[0]
            )
            out.append({"macro": macro[1] if macro else "", "caption": caption.strip()})
    return out


def cells(sheet: Sheet) -> dict[str, dict[str, object]]:
    """Cell address -> raw attributes: t, s, formula text, formula attrs, value."""
    out = {}
    for c in sheet.root.iter(M + "c"):
        f = c.find("m:f", NS)
        v = c.find("m:v", NS)
        out[c.get("r")] = {
            "t": c.get("t"),
            "s": int(c.get("s", "0")),
            "cm": c.get("cm"),
            "f": f.text if f is not None else None,
            "f_attrs": dict(f.attrib) if f is not None else {},
            "v": v.text if v is not None else None,
        }
    return out


def shared_strings(book: Book) -> list[str]:
    if "xl/sharedStrings.xml" not in book.zf.namelist():
        return []
    root = book.xml("xl/sharedStrings.xml")
    return ["".join(t.text or "" for t in si.iter(M + "t")) for si in root.findall("m:si", NS)]


def cell_xfs(book: Book) -> list[dict[str, str]]:
    root = book.xml("xl/styles.xml")
    xfs = root.find("m:cellXfs", NS)
    return [dict(xf.attrib) for xf in xfs.findall("m:xf", NS)]


def content_types(book: Book) -> dict[str, str]:
    root = book.xml("[Content_Types].xml")
    out = {}
    for o in root.findall("ct:Override", NS):
        out[o.get("PartName")] = o.get("ContentType")
    for d in root.findall("ct:Default", NS):
        out["*." + d.get("Extension")] = d.get("ContentType")
    return out


def pane(sheet: Sheet) -> dict[str, str] | None:
    p = sheet.root.find("m:sheetViews/m:sheetView/m:pane", NS)
    return dict(p.attrib) if p is not None else None


def codename(sheet: Sheet) -> str | None:
    pr = sheet.root.find("m:sheetPr", NS)
    return pr.get("codeName") if pr is not None else None
