"""Edit a workbook package (the .xlsx/.xlsm zip) part by part, keeping everything else.

Loading a user's workbook into a spreadsheet library and saving it drops shapes bound to
macros, sparklines, custom XML parts and more. `Package` keeps
every part's bytes as found and writes untouched parts back byte for byte (with their
zip compression type), so only the parts a refresh must change are rewritten:

* the sheets it writes, their drawings and charts, their relationship parts;
* the package directory: ``[Content_Types].xml``, ``xl/workbook.xml``, its ``.rels``
  and ``docProps/app.xml`` (sheet titles), only when the sheet list changes;
* ``xl/calcChain.xml`` is dropped when a sheet it lists is replaced or removed (Excel
  rebuilds it; a stale one makes Excel repair the file);
* ``<calcPr>`` in ``xl/workbook.xml`` is left as found, unless an edit that makes cached
  formula values stale asks for a full recalculation on open (`Package.recalculate_on_load`).

Those directory parts are edited as text, element by element, so namespace prefixes,
``mc:Ignorable`` declarations and every element this module does not know stay exactly
as written. Removing a part and adding one of the same name while one Package is open
puts it back where it was (zip order, content-type and relationship order), so
refreshing twice gives the same package.

Workbook names scoped to a sheet can mark it (`set_local_name`, `local_names`: the
report sheets carry `contract.REPORT_MARK`); such a name follows its sheet through
renames and moves and goes with it. `recalculate_on_load` asks Excel to recalculate
every formula on opening, for formulas written without a cached value.

The package is edited in layers, one module each: the zip and its parts
(`parts.PartStore`, `ziparchive`), the relationships between parts
(`relationships.RelationshipStore`), and here the workbook itself: its sheet list,
sheet names and the references that follow them (`sheetnames`), workbook names, the
active tab, the calculation chain, drawings and ``docProps/app.xml``. XML parts are
edited as text with `xmledit`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.parts import CT_CHART, CT_DRAWING, CT_WORKSHEET, read_file
from pipeline_xl.io.relationships import (
    R_NAMESPACE,
    REL_CALC_CHAIN,
    REL_CHART,
    REL_DRAWING,
    REL_OFFICE_DOCUMENT,
    REL_WORKSHEET,
    RelationshipStore,
    rels_name,
)
from pipeline_xl.io.sheetnames import app_titles, check_sheet_name, drop_refs, rename_refs
from pipeline_xl.io.sheetxml import xml_escape, xml_unescape
from pipeline_xl.io.xmledit import (
    PREFIX,
    Children,
    decode,
    element_text,
    encode,
    root_prefix_for,
    set_attr,
    start_tag,
    tag_attrs,
)

__all__ = ["Package", "SheetRef", "read_file"]

A = TypeVar("A")

_STRICT = "http://purl.oclc.org/ooxml/"
_AFTER_CALC_PR = (
    "oleSize",
    "customWorkbookViews",
    "pivotCaches",
    "smartTagPr",
    "smartTagTypes",
    "webPublishing",
    "fileRecoveryPr",
    "webPublishObjects",
    "extLst",
)


@dataclass(frozen=True, slots=True)
class SheetRef:
    """A sheet of the workbook: name, part, relationship id, sheetId and 0-based position."""

    name: str
    part: str
    rid: str
    sheet_id: int
    index: int
    state: str = "visible"
    kind: str = "worksheet"  # last segment of the relationship type (chartsheet, ...)


class Package(RelationshipStore):
    """A workbook package held in memory; see the module docstring for what is kept."""

    def __init__(self, data: bytes, *, name: str = "the workbook") -> None:
        """Read the zip directory of ``data`` (call `check_zip` first; `from_bytes` does)."""
        super().__init__(data, name=name)
        self.workbook_part = self._find_workbook()
        first = self.sheets()
        self._original_names = [s.name for s in first if s.kind == "worksheet"]
        self._renamed: dict[str, str] = {}  # original name -> current name
        self._dropped: set[str] = set()  # original names of removed sheets

    def _before_write(self) -> None:
        """Bring ``docProps/app.xml``'s sheet titles up to date."""
        self._sync_app()

    # ------------------------------------------------------------------ workbook

    def _find_workbook(self) -> str:
        for rel in self.rels(""):
            if rel.type.startswith(_STRICT):
                raise InputError(
                    f"{self.name} is saved as Strict Open XML, which is not supported",
                    expected="a workbook saved as Excel Workbook or Excel Macro-Enabled Workbook",
                )
            if rel.type == REL_OFFICE_DOCUMENT and rel.part:
                found = self.find(rel.part)
                if found is not None:
                    return found
        raise InputError(
            f"{self.name} is not an Excel workbook (no workbook part)",
            expected="an .xlsx or .xlsm file",
        )

    def _sheet_list(self) -> Children:
        found = self._read_list(self.workbook_part, "sheets", "sheet")
        if found is None:
            raise InputError(
                f"{self.name} is damaged: its workbook part lists no sheets",
                expected="a workbook saved by Excel",
            )
        return found

    def _edit_sheets(self, edit: Callable[[Children], None]) -> None:
        self._edit_list(self.workbook_part, "sheets", "sheet", edit)

    def _r_prefix(self) -> str:
        return root_prefix_for(self._text(self.workbook_part)[0], R_NAMESPACE) or "r"

    def sheets(self) -> list[SheetRef]:
        """The workbook's sheets in tab order."""
        rels = {r.rid: r for r in self.rels(self.workbook_part)}
        out = []
        for index, (_, item) in enumerate(self._sheet_list().elements()):
            attrs = tag_attrs(start_tag(item))
            rid = next((v for k, v in attrs.items() if k.endswith(":id")), "")
            rel = rels.get(rid)
            out.append(
                SheetRef(
                    attrs.get("name", ""),
                    (rel.part or "") if rel else "",
                    rid,
                    int(attrs.get("sheetId", "0") or 0),
                    index,
                    attrs.get("state", "visible"),
                    rel.type.rsplit("/", 1)[-1] if rel else "",
                )
            )
        return out

    def sheet(self, name: str) -> SheetRef:
        """The sheet called ``name`` (ignoring case).

        Raises:
            KeyError: no such sheet.

        """
        for ref in self.sheets():
            if ref.name.casefold() == name.casefold():
                return ref
        raise KeyError(name)

    def date1904(self) -> bool:
        """Whether the workbook counts dates from 1904 (old Mac workbooks)."""
        text = self._text(self.workbook_part)[0]
        m = re.search(rf"<{PREFIX}workbookPr\b[^>]*>", text)
        value = tag_attrs(m.group(0)).get("date1904", "0") if m else "0"
        return value.casefold() in ("1", "true")

    def add_sheet(self, name: str, xml: bytes, *, before: str | None = None) -> SheetRef:
        """Add a worksheet part holding ``xml``, after the existing sheets by default.

        ``before`` puts it in front of that sheet instead (sheet-scoped names and the
        active tab then shift to follow their sheets).

        Raises:
            InputError: the name breaks Excel's rules or is taken.

        """
        current = self.sheets()
        check_sheet_name(name, [s.name for s in current])
        index = len(current) if before is None else self.sheet(before).index
        part = self.unused_name("xl/worksheets/sheet{}.xml")
        self.set_part(part, xml, CT_WORKSHEET)
        rid = self.add_rel(self.workbook_part, REL_WORKSHEET, part)
        sheet_id = max((s.sheet_id for s in current), default=0) + 1
        r = self._r_prefix()

        def insert(listing: Children) -> None:
            element = (
                f'<{listing.prefix()}sheet name="{xml_escape(name, attr=True)}" '
                f'sheetId="{sheet_id}" {r}:id="{rid}"/>'
            )
            positions = listing.positions()
            if index >= len(positions):
                listing.items.insert(positions[-1] + 1 if positions else 0, element)
            else:
                listing.items.insert(positions[index], element)

        self._edit_sheets(insert)
        if before is not None:
            self._shift_sheets(index, +1)
        return SheetRef(name, part, rid, sheet_id, index)

    def replace_sheet_content(self, name: str, xml: bytes) -> SheetRef:
        """Put ``xml`` in place of a sheet's content: same part, sheetId and position.

        The sheet's old relationships go (drawing, charts, comments, ... when nothing
        else uses them); its VBA code name is carried over to the new content so its
        code module stays attached.
        """
        ref = self.sheet(name)
        code_name = _code_name(self.part(ref.part))
        if code_name and _code_name(xml) is None:
            xml = _with_code_name(xml, code_name)
        self._drop_rels_of(ref.part)
        rels = self.find(rels_name(ref.part))
        if rels is not None:
            self.remove_part(rels)
        self._forget_calc_chain(ref)
        self.set_part(ref.part, xml, CT_WORKSHEET)
        return ref

    def touch_sheet(self, name: str) -> None:
        """Note that a sheet's cells were edited in place (drops a stale calculation chain)."""
        self._forget_calc_chain(self.sheet(name))

    def rename_sheet(self, old: str, new: str, *, names_follow: bool = True) -> SheetRef:
        """Rename a sheet: its tab, references in workbook names and in its own charts.

        Formulas on other sheets are left as they are (they then point at whatever sheet
        carries the old name), which keeps every other part byte for byte. With
        ``names_follow`` False the workbook names are left alone as well (except those
        scoped to the sheet itself), so names and formulas keep pointing at whatever
        sheet carries the old name next (a report kept under a dated name while a new
        one takes its name).

        Raises:
            InputError: the new name breaks Excel's rules or is taken.

        """
        ref = self.sheet(old)
        check_sheet_name(new, [s.name for s in self.sheets() if s.index != ref.index])

        def rename(listing: Children) -> None:
            i = listing.positions()[ref.index]
            tag = start_tag(listing.items[i])
            listing.items[i] = listing.items[i].replace(tag, set_attr(tag, "name", new), 1)

        self._edit_sheets(rename)
        own = str(ref.index)
        self._edit_defined_names(
            lambda text, attrs: (
                rename_refs(text, ref.name, new)
                if names_follow or attrs.get("localSheetId") == own
                else text
            )
        )
        for drawing in (r.part for r in self.rels(ref.part) if r.type == REL_DRAWING and r.part):
            for chart in (r.part for r in self.rels(drawing) if r.type == REL_CHART and r.part):
                if self.has(chart):
                    self._rename_in_chart(chart, ref.name, new)
        original = self._original_of(ref.name)
        if original is not None:
            self._renamed[original] = new
        return self.sheet(new)

    def _rename_in_chart(self, chart: str, old: str, new: str) -> None:
        text, encoding = self._text(chart)

        def fix(m: re.Match[str]) -> str:
            formula = rename_refs(xml_unescape(m.group(2)), old, new)
            return m.group(1) + xml_escape(formula) + m.group(3)

        changed = re.sub(r"(<(?:[\w.-]+:)?f>)(.*?)(</(?:[\w.-]+:)?f>)", fix, text, flags=re.S)
        if changed != text:
            self._set_text(chart, changed, encoding)

    def _original_of(self, current: str) -> str | None:
        for original, now in self._renamed.items():
            if now == current:
                return original
        if current in self._original_names and current not in self._renamed:
            return current
        return None

    def remove_sheet(self, name: str) -> None:
        """Remove a sheet, its own parts and its sheet-scoped names; shift later positions.

        Workbook names that refer to the sheet get ``#REF!`` in place of the reference,
        as Excel does.

        Raises:
            InputError: it is the only visible sheet.

        """
        ref = self.sheet(name)
        if not [s for s in self.sheets() if s.state == "visible" and s.index != ref.index]:
            raise InputError("a workbook must keep at least one visible sheet", value=ref.name)

        def drop(listing: Children) -> None:
            listing.items[listing.positions()[ref.index]] = ""

        self._edit_sheets(drop)
        self._edit_defined_names(
            lambda text, attrs: "" if attrs.get("localSheetId") == str(ref.index) else text
        )
        self._shift_sheets(ref.index, -1, removed=True)
        self._edit_defined_names(lambda text, _: drop_refs(text, ref.name))
        self.remove_rel(self.workbook_part, ref.rid)
        self._forget_calc_chain(ref)
        self._drop_tree(ref.part)
        original = self._original_of(ref.name)
        if original is not None:
            self._dropped.add(original)
            self._renamed.pop(original, None)

    def recalculate_on_load(self) -> None:
        """Ask Excel to recalculate every formula when it opens the workbook.

        Sets ``fullCalcOnLoad`` on ``calcPr`` (adding the element, in its schema place,
        when there is none): formulas written without a cached value then show their
        values, and formulas over changed cells are not left stale.
        """
        text, encoding = self._text(self.workbook_part)
        m = re.search(rf"<{PREFIX}calcPr\b[^>]*?/?>", text)
        if m is not None:
            tag = set_attr(m.group(0), "fullCalcOnLoad", "1")
            if tag != m.group(0):
                self._set_text(
                    self.workbook_part, text[: m.start()] + tag + text[m.end() :], encoding
                )
            return
        root = re.search(r"<([\w.-]+:)?workbook\b", text)
        p = (root.group(1) or "") if root else ""
        later = "|".join(_AFTER_CALC_PR)
        at = re.search(rf"<{PREFIX}(?:{later})\b|</{PREFIX}workbook\s*>", text)
        if at is None:
            return
        new = text[: at.start()] + f'<{p}calcPr fullCalcOnLoad="1"/>' + text[at.start() :]
        self._set_text(self.workbook_part, new, encoding)

    def workbook_names(self) -> dict[str, str]:
        """Every workbook-scoped name and its formula (no leading ``=``)."""
        listing = self._read_list(self.workbook_part, "definedNames", "definedName")
        out: dict[str, str] = {}
        for _, item in listing.elements() if listing is not None else ():
            attrs = tag_attrs(start_tag(item))
            if "localSheetId" not in attrs and attrs.get("name"):
                out[attrs["name"]] = xml_unescape(element_text(item))
        return out

    def workbook_name(self, name: str) -> str | None:
        """The formula of the workbook-scoped name ``name`` (no leading ``=``), or None."""
        found = {k.casefold(): v for k, v in self.workbook_names().items()}
        return found.get(name.casefold())

    def set_workbook_name(self, name: str, formula: str) -> bool:
        """Give the existing workbook-scoped name ``name`` the formula ``formula``.

        Returns False (and changes nothing) when the workbook has no such name: a name the
        user deleted is not made again.
        """
        found = False

        def edit(text: str, attrs: dict[str, str]) -> str:
            nonlocal found
            if attrs.get("name", "").casefold() == name.casefold() and (
                "localSheetId" not in attrs
            ):
                found = True
                return formula
            return text

        self._edit_defined_names(edit)
        return found

    def local_names(self, name: str) -> dict[str, str]:
        """The values of the sheet-scoped workbook name ``name``, by sheet name.

        A string constant (``"Variance"``) is given without its quotes.
        """
        listing = self._read_list(self.workbook_part, "definedNames", "definedName")
        if listing is None:
            return {}
        sheets = self.sheets()
        out: dict[str, str] = {}
        for _, item in listing.elements():
            attrs = tag_attrs(start_tag(item))
            local = attrs.get("localSheetId", "")
            if attrs.get("name", "").casefold() != name.casefold() or not local.isdigit():
                continue
            if int(local) < len(sheets):
                value = element_text(item)
                if len(value) > 1 and value[0] == value[-1] == '"':
                    value = value[1:-1].replace('""', '"')
                out[sheets[int(local)].name] = value
        return out

    def set_local_name(self, sheet: str, name: str, value: str) -> None:
        """Give ``sheet`` a hidden sheet-scoped workbook name ``name`` holding text ``value``.

        The name follows the sheet when it is renamed or moved and goes with it when it
        is removed; an existing name of the sheet is given the new value.
        """
        index = str(self.sheet(sheet).index)
        formula = xml_escape('"' + value.replace('"', '""') + '"')
        self._ensure_defined_names()

        def put(listing: Children) -> None:
            for i, item in listing.elements():
                attrs = tag_attrs(start_tag(item))
                if attrs.get("name", "").casefold() == name.casefold() and (
                    attrs.get("localSheetId") == index
                ):
                    tag = start_tag(item)
                    if tag.endswith("/>"):
                        tag = tag[:-2].rstrip() + ">"
                    listing.items[i] = f"{tag}{formula}</{listing.prefix()}definedName>"
                    return
            listing.items.append(
                f'<{listing.prefix()}definedName name="{xml_escape(name, attr=True)}" '
                f'localSheetId="{index}" hidden="1">{formula}</{listing.prefix()}definedName>'
            )

        self._edit_list(self.workbook_part, "definedNames", "definedName", put)

    def _ensure_defined_names(self) -> None:
        """Add an empty ``definedNames`` where the schema wants it, when there is none."""
        text, encoding = self._text(self.workbook_part)
        if Children.parse(text, "definedNames", "definedName") is not None:
            return
        after = None
        for element in ("sheets", "functionGroups", "externalReferences"):
            m = re.search(rf"<{PREFIX}{element}\b[^>]*/>|</{PREFIX}{element}\s*>", text)
            if m is not None:
                after = m
        if after is None:
            raise InputError(f"{self.name} is damaged: its workbook part lists no sheets")
        prefix = re.match(r"</?([\w.-]+:)?", after.group(0))
        p = (prefix.group(1) or "") if prefix else ""
        new = text[: after.end()] + f"<{p}definedNames></{p}definedNames>" + text[after.end() :]
        self._set_text(self.workbook_part, new, encoding)

    def _edit_defined_names(self, edit: Callable[[str, dict[str, str]], str]) -> None:
        """Apply ``edit`` to each workbook name's formula; ``""`` removes the name."""

        def apply(names: Children) -> None:
            for i, item in names.elements():
                tag = start_tag(item)
                if tag.endswith("/>"):
                    continue
                text = element_text(item)
                new = edit(text, tag_attrs(tag))
                if not new:
                    names.items[i] = ""
                elif new != text:
                    names.items[i] = tag + xml_escape(new) + item[item.rindex("</") :]

        self._edit_list(self.workbook_part, "definedNames", "definedName", apply)

    def _shift_sheets(self, start: int, delta: int, *, removed: bool = False) -> None:
        """Follow a sheet inserted at (or removed from) position ``start``.

        Sheet-scoped names and the workbook views' active and first tabs move by
        ``delta``; when the removed sheet was the active one, the next sheet (or the
        last) becomes active.
        """

        def names(listing: Children) -> None:
            for i, item in listing.elements():
                tag = start_tag(item)
                local = tag_attrs(tag).get("localSheetId")
                if local is not None and local.isdigit() and int(local) >= start:
                    if removed and int(local) == start:
                        continue  # removed with its sheet by the caller
                    new_tag = set_attr(tag, "localSheetId", str(int(local) + delta))
                    listing.items[i] = item.replace(tag, new_tag, 1)

        self._edit_list(self.workbook_part, "definedNames", "definedName", names)
        count = len(self._sheet_list().positions())

        def views(listing: Children) -> None:
            for i, item in listing.elements():
                tag = start_tag(item)
                new_tag = tag
                for attr in ("activeTab", "firstSheet"):
                    value = tag_attrs(tag).get(attr)
                    if value is None or not value.isdigit():
                        continue
                    number = int(value)
                    if number > start or (number == start and not removed):
                        number += delta
                    number = max(0, min(number, count - 1))
                    new_tag = set_attr(new_tag, attr, str(number))
                if new_tag != tag:
                    listing.items[i] = item.replace(tag, new_tag, 1)

        self._edit_list(self.workbook_part, "bookViews", "workbookView", views)

    def _forget_calc_chain(self, ref: SheetRef) -> None:
        """Drop ``xl/calcChain.xml`` when it lists cells of ``ref`` (Excel rebuilds it)."""
        chain = next(
            (r for r in self.rels(self.workbook_part) if r.type == REL_CALC_CHAIN and r.part),
            None,
        )
        if chain is None or chain.part is None or not self.has(chain.part):
            return
        sheet_id = "0"
        for cell in self.xml(chain.part):
            sheet_id = cell.get("i", sheet_id)
            if sheet_id == str(ref.sheet_id):
                self.remove_rel(self.workbook_part, chain.rid)
                self.remove_part(chain.part)
                return

    # ------------------------------------------------------------------ drawings

    def attach_drawing(
        self,
        sheet: str,
        charts: Sequence[tuple[bytes, A]],
        drawing_xml: Callable[[Sequence[tuple[A, str]]], bytes],
        *,
        rid: str = "rId1",
    ) -> str | None:
        """Give a sheet a drawing holding ``charts`` (chart XML and anchor each).

        Any drawing the sheet had is removed first, with its charts. Chart parts are
        ``xl/charts/chartN.xml``; the drawing's relationships to them are ``rId1``...
        in chart order and ``drawing_xml`` builds the drawing from (anchor, id) pairs.
        The sheet's XML must already refer to the drawing as ``rid``. Returns the
        drawing part name (None when there is no chart).
        """
        ref = self.sheet(sheet)
        self._drop_rels_of(ref.part, keep=lambda rel: rel.type != REL_DRAWING)
        if not charts:
            return None
        drawing = self.unused_name("xl/drawings/drawing{}.xml")
        pairs: list[tuple[A, str]] = []
        names: list[str] = []
        for xml, anchor in charts:
            chart = self.unused_name("xl/charts/chart{}.xml")
            self.set_part(chart, xml, CT_CHART)
            names.append(chart)
            pairs.append((anchor, f"rId{len(names)}"))
        self.set_part(drawing, drawing_xml(pairs), CT_DRAWING)
        for i, chart in enumerate(names, start=1):
            self.add_rel(drawing, REL_CHART, chart, f"rId{i}")
        self.add_rel(ref.part, REL_DRAWING, drawing, rid)
        return drawing

    # ------------------------------------------------------------------ docProps/app.xml

    def _sync_app(self) -> None:
        """Keep ``docProps/app.xml``'s sheet titles in step with the workbook's sheets."""
        names = [s.name for s in self.sheets() if s.kind == "worksheet"]
        if names == self._original_names and not self._renamed and not self._dropped:
            return
        app = self.related("", "extended-properties")
        if app is None:
            return
        text, encoding = self._text(app)
        renamed = {k: v for k, v in self._renamed.items() if k != v}
        new = app_titles(text, self._original_names, names, renamed, self._dropped)
        if new is not None and new != text:
            self._set_text(app, new, encoding)


def _code_name(xml: bytes) -> str | None:
    m = re.search(rb"<(?:[\w.-]+:)?sheetPr\b[^>]*?\scodeName\s*=\s*[\"']([^\"']*)[\"']", xml)
    return m.group(1).decode("utf-8") if m else None


def _with_code_name(xml: bytes, code_name: str) -> bytes:
    text, encoding = decode(xml)
    m = re.search(r"<(?:[\w.-]+:)?sheetPr\b[^>]*?/?>", text)
    if m:
        text = text[: m.start()] + set_attr(m.group(0), "codeName", code_name) + text[m.end() :]
    else:
        root = re.search(r"<([\w.-]+:)?worksheet\b[^>]*>", text)
        if root is None:
            return xml
        prefix = root.group(1) or ""
        tag = f'<{prefix}sheetPr codeName="{xml_escape(code_name, attr=True)}"/>'
        text = text[: root.end()] + tag + text[root.end() :]
    return encode(text, encoding)
