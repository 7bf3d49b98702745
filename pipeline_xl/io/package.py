"""Edit a workbook package (the .xlsx/.xlsm zip) part by part, keeping everything else.

Loading a user's workbook into a spreadsheet library and saving it drops shapes bound to
macros, sparklines, custom XML parts and more (design notes, section 4). `Package` keeps
every part's bytes as found and writes untouched parts back byte for byte (with their
zip compression type), so only the parts a refresh must change are rewritten:

* the sheets it writes, their drawings and charts, their relationship parts;
* the package directory: ``[Content_Types].xml``, ``xl/workbook.xml``, its ``.rels``
  and ``docProps/app.xml`` (sheet titles), only when the sheet list changes;
* ``xl/calcChain.xml`` is dropped when a sheet it lists is replaced or removed (Excel
  rebuilds it; a stale one makes Excel repair the file);
* ``<calcPr>`` in ``xl/workbook.xml`` is left as found, unless an edit that makes cached
  formula values stale asks for a full recalculation on open (`Package.calculate_on_open`).

Those directory parts are edited as text, element by element, so namespace prefixes,
``mc:Ignorable`` declarations and every element this module does not know stay exactly
as written. Removing a part and adding one of the same name while one Package is open
puts it back where it was (zip order, content-type and relationship order), so
refreshing twice gives the same package.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.safety import check_zip

_LEVEL = 1  # deflate level of rewritten parts: fast; Excel itself favours speed too

__all__ = [
    "CT_CHART",
    "CT_DRAWING",
    "CT_WORKSHEET",
    "REL_CHART",
    "REL_DRAWING",
    "REL_TABLE",
    "REL_WORKSHEET",
    "Package",
    "Rel",
    "SheetRef",
    "check_sheet_name",
    "quote_sheet",
    "read_file",
    "xml_escape",
    "xml_unescape",
]

A = TypeVar("A")

_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT = "http://purl.oclc.org/ooxml/"
REL_OFFICE_DOCUMENT = f"{_R}/officeDocument"
REL_WORKSHEET = f"{_R}/worksheet"
REL_DRAWING = f"{_R}/drawing"
REL_CHART = f"{_R}/chart"
REL_TABLE = f"{_R}/table"
REL_CALC_CHAIN = f"{_R}/calcChain"
_CT_BASE = "application/vnd.openxmlformats-officedocument"
CT_WORKSHEET = f"{_CT_BASE}.spreadsheetml.worksheet+xml"
CT_DRAWING = f"{_CT_BASE}.drawing+xml"
CT_CHART = f"{_CT_BASE}.drawingml.chart+xml"
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
_CONTENT_TYPES = "[Content_Types].xml"
_NEW_PART_TIME = (1980, 1, 1, 0, 0, 0)
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_ATTR_RE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_PREFIX = r"(?:[\w.-]+:)?"
_SIMPLE_SHEET = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_CELL_LIKE = re.compile(r"^(?:[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*)$")
_AREA = (
    r"(?:\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?"
    r"|\$?\d+:\$?\d+|\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3})"
)


# --------------------------------------------------------------------------- XML text


def xml_escape(text: str, *, attr: bool = False) -> str:
    """Escape ``& < >`` (and ``"`` in attribute values) for XML text."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;") if attr else out


_ENTITY_RE = re.compile(r"&(#x[0-9A-Fa-f]+|#\d+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def xml_unescape(text: str) -> str:
    """Undo XML escaping: the five named entities and numeric character references."""

    def one(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED[ref]

    return _ENTITY_RE.sub(one, text) if "&" in text else text


def _attrs(tag: str) -> dict[str, str]:
    """Attributes of a start tag's text, unescaped."""
    return {
        m.group(1): xml_unescape(m.group(2) or m.group(3) or "") for m in _ATTR_RE.finditer(tag)
    }


def _set_attr(tag: str, name: str, value: str | None) -> str:
    """``tag`` (an element's start tag text) with attribute ``name`` set, or removed (None)."""
    pattern = re.compile(rf"""\s{re.escape(name)}\s*=\s*(?:"[^"]*"|'[^']*')""")
    if value is None:
        return pattern.sub("", tag, count=1)
    new = f' {name}="{xml_escape(value, attr=True)}"'
    if pattern.search(tag):
        return pattern.sub(lambda _: new, tag, count=1)
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return tag[:end].rstrip() + new + tag[end:]


def _decode(data: bytes) -> tuple[str, str]:
    """Text of an XML part and the encoding to write it back with."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    return data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"), "utf-8"


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


@dataclass
class _Children:
    """The child elements of one container element of an XML text, editable in place.

    ``items`` are the texts between the container's tags, in order: each child element
    and the text between them. A removed child becomes a placeholder starting with a
    NUL character (written as nothing), so a child of the same key can be put back at its old
    place. Only containers whose children hold no nested element of the same name are
    handled, which is true of the package directory parts this module edits.
    """

    head: str
    items: list[str]
    tail: str
    tag: str  # child local name (a regular expression)

    @classmethod
    def parse(cls, text: str, container: str | None, child: str) -> _Children | None:
        """Split ``text`` around ``container`` (None: the root element) and its children."""
        if container is None:
            decl = re.match(r"\s*<\?xml[^>]*\?>", text)
            opened = re.compile(r"<([\w.-]+:)?[\w.-]+\b[^>]*?(/?)>").search(
                text, decl.end() if decl else 0
            )
        else:
            opened = re.compile(rf"<({_PREFIX}){container}\b[^>]*?(/?)>").search(text)
        if opened is None:
            return None
        if opened.group(2):
            return cls._empty(text, opened, child)
        if container is None:
            close_start = text.rfind("</")
        else:
            closed = re.compile(rf"</{_PREFIX}{container}\s*>").search(text, opened.end())
            close_start = closed.start() if closed else -1
        if close_start < opened.end():
            return None
        body = text[opened.end() : close_start]
        pattern = re.compile(
            rf"<{_PREFIX}(?:{child})\b(?:[^>]*?/>|[^>]*>.*?</{_PREFIX}(?:{child})\s*>)", re.S
        )
        items: list[str] = []
        pos = 0
        for m in pattern.finditer(body):
            if m.start() > pos:
                items.append(body[pos : m.start()])
            pos = m.end()
            items.append(m.group(0))
        if pos < len(body):
            items.append(body[pos:])
        return cls(text[: opened.end()], items, text[close_start:], child)

    @classmethod
    def _empty(cls, text: str, opened: re.Match[str], child: str) -> _Children:
        """An empty container ``<x/>`` becomes ``<x></x>`` so children can be added."""
        tag = opened.group(0)
        name = re.match(r"<([\w.:-]+)", tag)
        assert name is not None  # noqa: S101 - the pattern matched a start tag
        head = text[: opened.start()] + tag[:-2].rstrip() + ">"
        return cls(head, [], f"</{name.group(1)}>" + text[opened.end() :], child)

    def text(self) -> str:
        """The whole XML text with the current children."""
        return self.head + "".join(i for i in self.items if not i.startswith("\0")) + self.tail

    def elements(self) -> Iterator[tuple[int, str]]:
        """Index and text of each child element still present."""
        pattern = re.compile(rf"<{_PREFIX}(?:{self.tag})\b")
        for i, item in enumerate(self.items):
            if item.startswith("<") and pattern.match(item):
                yield i, item

    def positions(self) -> list[int]:
        """Indices in ``items`` of the child elements, in order."""
        return [i for i, _ in self.elements()]

    def prefix(self) -> str:
        """The namespace prefix (with colon) the container uses, e.g. ``""`` or ``"x:"``."""
        m = re.search(r"<([\w.-]+:)?[\w.-]+\b[^<]*$", self.head)
        return (m.group(1) or "") if m else ""


def _start_tag(element: str) -> str:
    m = re.match(r"\s*<[^>]*>", element)
    return m.group(0).strip() if m else element


def _element_text(element: str) -> str:
    m = re.match(r"\s*<[^>]*?>(.*)</[^>]+>\s*$", element, re.S)
    return xml_unescape(m.group(1)) if m else ""


def _root_prefix_for(text: str, namespace: str) -> str | None:
    """The prefix bound to ``namespace`` in the document (first declaration), if any."""
    m = re.search(rf"""xmlns:([\w.-]+)\s*=\s*["']{re.escape(namespace)}["']""", text)
    return m.group(1) if m else None


def _parse_xml(data: bytes, part: str, file: str) -> Element:
    try:
        root: Element = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise InputError(
            f"{file} is damaged: its part {part} is not valid XML ({err})",
            expected="a workbook saved by Excel",
        ) from err
    return root


# --------------------------------------------------------------------------- names


def quote_sheet(name: str) -> str:
    """A sheet name as formulas write it: plain when simple, else in quotes (``'`` doubled)."""
    if _SIMPLE_SHEET.match(name) and not _CELL_LIKE.match(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def check_sheet_name(name: str, taken: Sequence[str] = ()) -> None:
    """Check Excel's rules for a sheet name.

    Raises:
        InputError: empty, longer than 31 characters, one of the characters
            ``[ ] : * ? /`` or a backslash, an
            apostrophe at either end, the reserved name History, or already taken
            (ignoring case).

    """
    problem = None
    if not name or len(name) > 31:
        problem = "a sheet name must have 1 to 31 characters"
    elif _SHEET_NAME_BAD.search(name):
        problem = "a sheet name cannot contain [ ] : * ? / \\"
    elif name.startswith("'") or name.endswith("'"):
        problem = "a sheet name cannot start or end with an apostrophe"
    elif name.casefold() == "history":
        problem = "History is a reserved sheet name"
    elif name.casefold() in {t.casefold() for t in taken}:
        problem = "a sheet of that name already exists"
    if problem:
        raise InputError(problem, value=name, expected="a valid, unused sheet name")


def _sheet_ref_re(name: str) -> re.Pattern[str]:
    """Matches a reference prefix ``Name!`` or ``'Name'!`` (not inside a longer name)."""
    quoted = "'" + re.escape(name.replace("'", "''")) + "'"
    forms = [quoted]
    if _SIMPLE_SHEET.match(name):
        forms.append(re.escape(name))
    return re.compile(rf"(?<![\w.'])(?:{'|'.join(forms)})!", re.IGNORECASE)


def _rename_refs(formula: str, old: str, new: str) -> str:
    return _sheet_ref_re(old).sub(lambda _: quote_sheet(new) + "!", formula)


def _drop_refs(formula: str, name: str) -> str:
    pattern = re.compile(_sheet_ref_re(name).pattern + _AREA, re.IGNORECASE)
    return pattern.sub("#REF!", formula)


# --------------------------------------------------------------------------- values


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


@dataclass(frozen=True, slots=True)
class Rel:
    """One relationship: id, type URI, target as written, and the resolved part name."""

    rid: str
    type: str
    target: str
    external: bool = False
    part: str | None = None  # None for external targets


def rels_name(part: str) -> str:
    """The relationship part of ``part`` (``xl/_rels/workbook.xml.rels``)."""
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _resolve(source: str, target: str) -> str:
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _relative(source: str, part: str) -> str:
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


# --------------------------------------------------------------------------- package


def read_file(path: Path) -> bytes:
    """The bytes of the workbook at ``path``, with a user's message when it cannot be read.

    Raises:
        InputError: the file is missing or unreadable.

    """
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise InputError(f"{path.name} does not exist", value=str(path)) from err
    except OSError as err:
        raise InputError(f"{path.name} cannot be read: {err.strerror}") from err


class Package:
    """A workbook package held in memory; see the module docstring for what is kept.

    Part names are written without a leading slash (``xl/workbook.xml``) and matched
    ignoring case, as the Open Packaging Conventions say.
    """

    def __init__(self, data: bytes, *, name: str = "the workbook") -> None:
        """Read the zip directory of ``data`` (call `check_zip` first; `from_bytes` does)."""
        self.name = name
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            self._source = data
        except zipfile.BadZipFile as err:
            raise InputError(
                f"{name} is not an Excel workbook (not a zip package)",
                expected="an .xlsx or .xlsm file",
            ) from err
        self._order: list[str] = []
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._keys: dict[str, str] = {}
        for info in self._zip.infolist():
            if info.is_dir():
                continue
            key = info.filename.casefold()
            if key in self._keys:
                raise InputError(f"{name} is damaged: the part {info.filename} appears twice")
            self._keys[key] = info.filename
            self._order.append(info.filename)
            self._infos[info.filename] = info
        self._data: dict[str, bytes] = {}
        self._removed: set[str] = set()
        self._lists: dict[str, tuple[_Children, str]] = {}
        if self.find(_CONTENT_TYPES) is None:
            raise InputError(
                f"{name} is not an Excel workbook (no [Content_Types].xml)",
                expected="an .xlsx or .xlsm file",
            )
        self.workbook_part = self._find_workbook()
        first = self.sheets()
        self._original_names = [s.name for s in first if s.kind == "worksheet"]
        self._renamed: dict[str, str] = {}  # original name -> current name
        self._dropped: set[str] = set()  # original names of removed sheets

    # ------------------------------------------------------------------ opening, saving

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Package:
        """Read the workbook at ``path`` after `check_zip`.

        Raises:
            InputError: missing, not a workbook, refused as a zip bomb, or damaged.

        """
        target = Path(path)
        return cls.from_bytes(read_file(target), name=target.name)

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str = "the workbook") -> Package:
        """A package over ``data`` after `check_zip`.

        Raises:
            InputError: not a workbook, refused as a zip bomb, or damaged.

        """
        check_zip(data, name=name)
        return cls(data, name=name)

    def _flush(self) -> None:
        self._sync_app()
        for part, (children, encoding) in self._lists.items():
            if part in self._removed:
                continue
            new = _encode(children.text(), encoding)
            if new != self._raw(part):
                self._data[part] = new
        self._lists.clear()

    def to_bytes(self) -> bytes:
        """The package as zip bytes: parts in their original order, new parts after them.

        Untouched parts are copied as stored (their compressed bytes), so a large
        workbook is not decompressed and compressed again.
        """
        self._flush()
        entries: list[_Entry] = []
        for part in self.names():
            old = self._infos.get(part)
            if old is not None and part not in self._data and old.compress_type in _COPYABLE:
                entries.append(_Entry.copied(old, self._source))
                continue
            compress = old.compress_type if old else zipfile.ZIP_DEFLATED
            if compress not in _COPYABLE:
                compress = zipfile.ZIP_DEFLATED
            when = old.date_time if old else _NEW_PART_TIME
            attr = old.external_attr if old else 0
            entries.append(_Entry.made(part, self._raw(part), compress, when, attr))
        return _zip_bytes(entries)

    # ------------------------------------------------------------------ parts

    def names(self) -> list[str]:
        """Part names in zip order (new parts last)."""
        return [p for p in self._order if p not in self._removed]

    def find(self, name: str) -> str | None:
        """The stored spelling of part ``name`` (matched ignoring case), or None."""
        found = self._keys.get(name.lstrip("/").casefold())
        return None if found is None or found in self._removed else found

    def has(self, name: str) -> bool:
        """Whether part ``name`` exists."""
        return self.find(name) is not None

    def _raw(self, part: str) -> bytes:
        if part in self._data:
            return self._data[part]
        return self._zip.read(self._infos[part])

    def part(self, name: str) -> bytes:
        """The bytes of part ``name``.

        Raises:
            KeyError: no such part.

        """
        found = self.find(name)
        if found is None:
            raise KeyError(name)
        if found in self._lists:
            children, encoding = self._lists[found]
            return _encode(children.text(), encoding)
        return self._raw(found)

    def changed(self, name: str) -> bool:
        """Whether part ``name`` was added, replaced or edited (False when removed)."""
        found = self.find(name)
        if found is None:
            return False
        if found not in self._infos:
            return True
        return self.part(found) != self._zip.read(self._infos[found])

    def compress_type(self, name: str) -> int:
        """The zip compression type a part is written with."""
        found = self.find(name)
        info = self._infos.get(found) if found else None
        return info.compress_type if info else zipfile.ZIP_DEFLATED

    def set_part(self, name: str, data: bytes, content_type: str | None = None) -> None:
        """Store ``data`` as part ``name`` (new or replaced).

        With ``content_type`` an ``Override`` entry is kept in ``[Content_Types].xml``
        (unless the extension's ``Default`` already says the same); a part that is put
        back after `remove_part` returns to its old place in the zip.
        """
        name = name.lstrip("/")
        key = name.casefold()
        existing = self._keys.get(key)
        if existing is None:
            self._keys[key] = name
            self._order.append(name)
            existing = name
        self._lists.pop(existing, None)
        self._removed.discard(existing)
        self._data[existing] = data
        if content_type is not None:
            self._set_content_type(existing, content_type)

    def remove_part(self, name: str) -> None:
        """Remove part ``name``, its relationship part and its content-type override."""
        found = self.find(name)
        if found is None:
            return
        self._lists.pop(found, None)
        self._removed.add(found)
        self._data.pop(found, None)
        self._remove_content_type(found)
        rels = self.find(rels_name(found))
        if rels is not None:
            self.remove_part(rels)

    def unused_name(self, pattern: str, start: int = 1) -> str:
        """The first ``pattern.format(n)`` (n from ``start``) that names no part.

        For example ``xl/worksheets/sheet{}.xml``, ``xl/drawings/drawing{}.xml`` or
        ``xl/charts/chart{}.xml``.
        """
        n = start
        while self.has(pattern.format(n)):
            n += 1
        return pattern.format(n)

    def xml(self, name: str) -> Element:
        """Part ``name`` parsed (read-only: edits go through the text-level methods).

        Raises:
            InputError: the part is not well-formed XML or uses DTDs/entities.

        """
        return _parse_xml(self.part(name), name, self.name)

    def _text(self, part: str) -> tuple[str, str]:
        return _decode(self.part(part))

    def _set_text(self, part: str, text: str, encoding: str) -> None:
        self._lists.pop(part, None)
        self._data[part] = _encode(text, encoding)

    def _listing(self, part: str, child: str) -> _Children:
        """The editable children of ``part``'s root element (kept until written)."""
        if part not in self._lists:
            text, encoding = _decode(self._raw(part))
            found = _Children.parse(text, None, child)
            if found is None:
                raise InputError(
                    f"{self.name} is damaged: {part} has no root element",
                    expected="a workbook saved by Excel",
                )
            self._lists[part] = (found, encoding)
        return self._lists[part][0]

    def _read_list(self, part: str, container: str, child: str) -> _Children | None:
        """The children of ``container`` in ``part`` as they are now (None if absent)."""
        return _Children.parse(self._text(part)[0], container, child)

    def _edit_list(
        self, part: str, container: str, child: str, edit: Callable[[_Children], None]
    ) -> None:
        """Parse ``container`` of ``part``, let ``edit`` change it, store the new text."""
        text, encoding = self._text(part)
        found = _Children.parse(text, container, child)
        if found is None:
            return
        edit(found)
        new = found.text()
        if new != text:
            self._set_text(part, new, encoding)

    # ------------------------------------------------------------------ content types

    def _types(self) -> _Children:
        return self._listing(self._keys[_CONTENT_TYPES.casefold()], "Default|Override")

    def content_type(self, name: str) -> str | None:
        """The content type of part ``name`` (its Override, else its extension's Default)."""
        want = "/" + name.lstrip("/").casefold()
        ext = posixpath.splitext(name)[1].lstrip(".").casefold()
        default = None
        for _, item in self._types().elements():
            attrs = _attrs(_start_tag(item))
            if attrs.get("PartName", "").casefold() == want:
                return attrs.get("ContentType")
            if attrs.get("Extension", "").casefold() == ext:
                default = attrs.get("ContentType")
        return default

    def _set_content_type(self, part: str, content_type: str) -> None:
        types = self._types()
        want = "/" + part.casefold()
        ext = posixpath.splitext(part)[1].lstrip(".").casefold()
        element = (
            f'<{types.prefix()}Override PartName="/{xml_escape(part, attr=True)}" '
            f'ContentType="{xml_escape(content_type, attr=True)}"/>'
        )
        for i, item in enumerate(types.items):
            if item == "\0" + want:
                types.items[i] = element  # put back where it was
                return
        default = None
        for i, item in types.elements():
            attrs = _attrs(_start_tag(item))
            if attrs.get("PartName", "").casefold() == want:
                if attrs.get("ContentType") != content_type:
                    types.items[i] = element
                return
            if attrs.get("Extension", "").casefold() == ext:
                default = attrs.get("ContentType")
        if default != content_type:
            types.items.append(element)

    def _remove_content_type(self, part: str) -> None:
        types = self._types()
        want = "/" + part.casefold()
        for i, item in types.elements():
            if _attrs(_start_tag(item)).get("PartName", "").casefold() == want:
                types.items[i] = "\0" + want  # a placeholder: written as nothing

    # ------------------------------------------------------------------ relationships

    def _rels_list(self, part: str, *, create: bool) -> _Children | None:
        name = rels_name(part)
        found = self.find(name)
        if found is None:
            if not create:
                return None
            empty = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                'relationships"></Relationships>'
            )
            self.set_part(name, empty.encode("utf-8"))
            found = self.find(name)
            assert found is not None  # noqa: S101 - just stored
        return self._listing(found, "Relationship")

    def rels(self, part: str) -> list[Rel]:
        """The relationships of ``part`` (``""`` for the package's own; empty when none)."""
        listing = self._rels_list(part, create=False)
        if listing is None:
            return []
        out = []
        for _, item in listing.elements():
            attrs = _attrs(_start_tag(item))
            external = attrs.get("TargetMode", "").casefold() == "external"
            target = attrs.get("Target", "")
            resolved = None if external else _resolve(part, target)
            out.append(Rel(attrs.get("Id", ""), attrs.get("Type", ""), target, external, resolved))
        return out

    def add_rel(self, part: str, rel_type: str, target_part: str, rid: str | None = None) -> str:
        """Add a relationship from ``part`` to ``target_part``; returns its id.

        A relationship removed earlier with the same id is put back at its place.
        ``rid`` defaults to ``rId<n>``, one above the highest number in use.

        Raises:
            ValueError: ``rid`` is already in use.

        """
        taken = {r.rid for r in self.rels(part)}
        listing = self._rels_list(part, create=True)
        assert listing is not None  # noqa: S101 - created above
        if rid is None:
            used = [i[1:] for i in listing.items if i.startswith("\0")] + list(taken)
            numbers = [int(m.group(1)) for t in used if (m := re.fullmatch(r"rId(\d+)", t))]
            rid = f"rId{max(numbers, default=0) + 1}"
        elif rid in taken:
            raise ValueError(f"relationship id {rid} is already used in {part}")
        target = xml_escape(_relative(part, target_part), attr=True)
        element = (
            f'<{listing.prefix()}Relationship Id="{rid}" Type="{rel_type}" Target="{target}"/>'
        )
        for i, item in enumerate(listing.items):
            if item == f"\0{rid}":
                listing.items[i] = element
                return rid
        listing.items.append(element)
        return rid

    def remove_rel(self, part: str, rid: str) -> None:
        """Remove relationship ``rid`` of ``part`` (the target part is left alone)."""
        listing = self._rels_list(part, create=False)
        if listing is None:
            return
        for i, item in listing.elements():
            if _attrs(_start_tag(item)).get("Id") == rid:
                listing.items[i] = f"\0{rid}"

    def _referenced(self, target: str) -> bool:
        """Whether any relationship still points at part ``target``."""
        want = target.casefold()
        for name in self.names():
            source = _rels_source(name)
            if source is None:
                continue
            if any(r.part is not None and r.part.casefold() == want for r in self.rels(source)):
                return True
        return False

    def _drop_tree(self, part: str) -> None:
        """Remove ``part`` and, recursively, the parts that nothing else refers to."""
        found = self.find(part)
        if found is None:
            return
        targets = [r.part for r in self.rels(found) if r.part]
        self.remove_part(found)
        for target in targets:
            existing = self.find(target)
            if existing is None or existing == self.workbook_part:
                continue
            if not self._referenced(existing):
                self._drop_tree(existing)

    def _drop_rels_of(self, part: str, keep: Callable[[Rel], bool] = lambda _: False) -> None:
        """Remove ``part``'s relationships (except ``keep``) and parts only they used."""
        for rel in self.rels(part):
            if keep(rel):
                continue
            self.remove_rel(part, rel.rid)
            if rel.part and self.find(rel.part) and not self._referenced(rel.part):
                self._drop_tree(rel.part)

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

    def _sheet_list(self) -> _Children:
        found = self._read_list(self.workbook_part, "sheets", "sheet")
        if found is None:
            raise InputError(
                f"{self.name} is damaged: its workbook part lists no sheets",
                expected="a workbook saved by Excel",
            )
        return found

    def _edit_sheets(self, edit: Callable[[_Children], None]) -> None:
        self._edit_list(self.workbook_part, "sheets", "sheet", edit)

    def _r_prefix(self) -> str:
        return _root_prefix_for(self._text(self.workbook_part)[0], _R) or "r"

    def sheets(self) -> list[SheetRef]:
        """The workbook's sheets in tab order."""
        rels = {r.rid: r for r in self.rels(self.workbook_part)}
        out = []
        for index, (_, item) in enumerate(self._sheet_list().elements()):
            attrs = _attrs(_start_tag(item))
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
        m = re.search(rf"<{_PREFIX}workbookPr\b[^>]*>", text)
        value = _attrs(m.group(0)).get("date1904", "0") if m else "0"
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

        def insert(listing: _Children) -> None:
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

    def rename_sheet(self, old: str, new: str) -> SheetRef:
        """Rename a sheet: its tab, references in workbook names and in its own charts.

        Formulas on other sheets are left as they are (they then point at whatever sheet
        carries the old name), which keeps every other part byte for byte.

        Raises:
            InputError: the new name breaks Excel's rules or is taken.

        """
        ref = self.sheet(old)
        check_sheet_name(new, [s.name for s in self.sheets() if s.index != ref.index])

        def rename(listing: _Children) -> None:
            i = listing.positions()[ref.index]
            tag = _start_tag(listing.items[i])
            listing.items[i] = listing.items[i].replace(tag, _set_attr(tag, "name", new), 1)

        self._edit_sheets(rename)
        self._edit_defined_names(lambda text, _: _rename_refs(text, ref.name, new))
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
            formula = _rename_refs(xml_unescape(m.group(2)), old, new)
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

        def drop(listing: _Children) -> None:
            listing.items[listing.positions()[ref.index]] = ""

        self._edit_sheets(drop)
        self._edit_defined_names(
            lambda text, attrs: "" if attrs.get("localSheetId") == str(ref.index) else text
        )
        self._shift_sheets(ref.index, -1, removed=True)
        self._edit_defined_names(lambda text, _: _drop_refs(text, ref.name))
        self.remove_rel(self.workbook_part, ref.rid)
        self._forget_calc_chain(ref)
        self._drop_tree(ref.part)
        original = self._original_of(ref.name)
        if original is not None:
            self._dropped.add(original)
            self._renamed.pop(original, None)

    def _edit_defined_names(self, edit: Callable[[str, dict[str, str]], str]) -> None:
        """Apply ``edit`` to each workbook name's formula; ``""`` removes the name."""

        def apply(names: _Children) -> None:
            for i, item in names.elements():
                tag = _start_tag(item)
                if tag.endswith("/>"):
                    continue
                text = _element_text(item)
                new = edit(text, _attrs(tag))
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

        def names(listing: _Children) -> None:
            for i, item in listing.elements():
                tag = _start_tag(item)
                local = _attrs(tag).get("localSheetId")
                if local is not None and local.isdigit() and int(local) >= start:
                    if removed and int(local) == start:
                        continue  # removed with its sheet by the caller
                    new_tag = _set_attr(tag, "localSheetId", str(int(local) + delta))
                    listing.items[i] = item.replace(tag, new_tag, 1)

        self._edit_list(self.workbook_part, "definedNames", "definedName", names)
        count = len(self._sheet_list().positions())

        def views(listing: _Children) -> None:
            for i, item in listing.elements():
                tag = _start_tag(item)
                new_tag = tag
                for attr in ("activeTab", "firstSheet"):
                    value = _attrs(tag).get(attr)
                    if value is None or not value.isdigit():
                        continue
                    number = int(value)
                    if number > start or (number == start and not removed):
                        number += delta
                    number = max(0, min(number, count - 1))
                    new_tag = _set_attr(new_tag, attr, str(number))
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

    def calculate_on_open(self) -> None:
        """Ask Excel to recalculate every formula when it next opens the workbook.

        For edits that change what formulas read (table rows): their cached values are
        then stale, and Excel shows cached values on open unless ``<calcPr>`` asks for a
        full calculation (``fullCalcOnLoad="1"``). A workbook without ``<calcPr>`` is left
        as it is: Excel then takes calculation id 0 and recalculates everything anyway.
        """

        def flag(listing: _Children) -> None:
            for i, item in listing.elements():
                tag = _start_tag(item)
                listing.items[i] = item.replace(tag, _set_attr(tag, "fullCalcOnLoad", "1"), 1)

        self._edit_list(self.workbook_part, "workbook", "calcPr", flag)

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
        app = next(
            (
                r.part
                for r in self.rels("")
                if r.type.endswith("/extended-properties") and r.part and self.has(r.part)
            ),
            None,
        )
        if app is None:
            return
        text, encoding = self._text(app)
        renamed = {k: v for k, v in self._renamed.items() if k != v}
        new = _app_titles(text, self._original_names, names, renamed, self._dropped)
        if new is not None and new != text:
            self._set_text(app, new, encoding)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One zip member to write: its compressed bytes and directory fields."""

    name: bytes
    flags: int
    method: int
    dos_time: int
    dos_date: int
    crc: int
    size: int
    payload: bytes
    external_attr: int

    @classmethod
    def copied(cls, info: zipfile.ZipInfo, source: bytes) -> _Entry:
        """A member copied from ``source`` as stored (no decompression)."""
        header = source[info.header_offset : info.header_offset + _LOCAL.size]
        fields = _LOCAL.unpack(header)
        if fields[0] != _LOCAL_SIG:
            raise InputError(f"the zip entry of {info.filename} is damaged")
        start = info.header_offset + _LOCAL.size + fields[10] + fields[11]
        payload = source[start : start + info.compress_size]
        name, flags = _zip_name(info.filename)
        dos_time, dos_date = _dos_time(info.date_time)
        return cls(
            name,
            flags,
            info.compress_type,
            dos_time,
            dos_date,
            info.CRC,
            info.file_size,
            payload,
            info.external_attr,
        )

    @classmethod
    def made(
        cls,
        part: str,
        data: bytes,
        method: int,
        when: tuple[int, int, int, int, int, int],
        external_attr: int,
    ) -> _Entry:
        """A member holding ``data``, deflated unless ``method`` is stored."""
        if method == zipfile.ZIP_DEFLATED:
            packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15)
            payload = packer.compress(data) + packer.flush()
        else:
            payload = data
        name, flags = _zip_name(part)
        dos_time, dos_date = _dos_time(when)
        return cls(
            name,
            flags,
            method,
            dos_time,
            dos_date,
            zlib.crc32(data),
            len(data),
            payload,
            external_attr,
        )


_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_LOCAL_SIG = b"PK\x03\x04"
_COPYABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ZIP_LIMIT = 0xFFFFFFFF


def _zip_name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), 0x800  # the UTF-8 name flag


def _dos_time(when: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = when
    year = min(max(year, 1980), 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def _zip_bytes(entries: Sequence[_Entry]) -> bytes:
    """A zip archive of ``entries`` (plain zip: the size limits keep zip64 unneeded)."""
    out = io.BytesIO()
    central: list[bytes] = []
    for e in entries:
        offset = out.tell()
        if max(offset, len(e.payload), e.size) > _ZIP_LIMIT:
            raise InputError("the workbook is too large to write (over 4 GB)")
        out.write(
            _LOCAL.pack(
                _LOCAL_SIG,
                20,
                0,
                e.flags,
                e.method,
                e.dos_time,
                e.dos_date,
                e.crc,
                len(e.payload),
                e.size,
                len(e.name),
                0,
            )
        )
        out.write(e.name)
        out.write(e.payload)
        central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                20,
                0,
                20,
                0,
                e.flags,
                e.method,
                e.dos_time,
                e.dos_date,
                e.crc,
                len(e.payload),
                e.size,
                len(e.name),
                0,
                0,
                0,
                0,
                e.external_attr,
                offset,
            )
            + e.name
        )
    start = out.tell()
    for record in central:
        out.write(record)
    size = out.tell() - start
    if len(entries) > 0xFFFF or start > _ZIP_LIMIT:
        raise InputError("the workbook has too many parts to write")
    out.write(_END.pack(b"PK\x05\x06", 0, 0, len(entries), len(entries), size, start, 0))
    return out.getvalue()


def _rels_source(rels_part: str) -> str | None:
    """The part a ``.rels`` part belongs to (``""`` for the package's own)."""
    folder, base = posixpath.split(rels_part)
    if posixpath.basename(folder) != "_rels" or not base.casefold().endswith(".rels"):
        return None
    return posixpath.join(posixpath.dirname(folder), base[: -len(".rels")])


def _code_name(xml: bytes) -> str | None:
    m = re.search(rb"<(?:[\w.-]+:)?sheetPr\b[^>]*?\scodeName\s*=\s*[\"']([^\"']*)[\"']", xml)
    return m.group(1).decode("utf-8") if m else None


def _with_code_name(xml: bytes, code_name: str) -> bytes:
    text, encoding = _decode(xml)
    m = re.search(r"<(?:[\w.-]+:)?sheetPr\b[^>]*?/?>", text)
    if m:
        text = text[: m.start()] + _set_attr(m.group(0), "codeName", code_name) + text[m.end() :]
    else:
        root = re.search(r"<([\w.-]+:)?worksheet\b[^>]*>", text)
        if root is None:
            return xml
        prefix = root.group(1) or ""
        tag = f'<{prefix}sheetPr codeName="{xml_escape(code_name, attr=True)}"/>'
        text = text[: root.end()] + tag + text[root.end() :]
    return _encode(text, encoding)


def _app_titles(
    text: str,
    original: Sequence[str],
    names: Sequence[str],
    renamed: dict[str, str],
    dropped: set[str],
) -> str | None:
    """app.xml text with the worksheet titles replaced; None when it does not match."""
    pairs_m = re.search(
        r"<(?:[\w.-]+:)?HeadingPairs\b.*?</(?:[\w.-]+:)?HeadingPairs\s*>", text, re.S
    )
    titles_m = re.search(
        r"<(?:[\w.-]+:)?TitlesOfParts\b.*?</(?:[\w.-]+:)?TitlesOfParts\s*>", text, re.S
    )
    if pairs_m is None or titles_m is None:
        return None
    vt = _root_prefix_for(
        text, "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
    )
    if vt is None:
        return None
    variants = re.findall(rf"<{vt}:(lpstr|i4)>(.*?)</{vt}:(?:lpstr|i4)>", pairs_m.group(0), re.S)
    groups: list[tuple[str, int]] = []
    for k in range(0, len(variants) - 1, 2):
        if variants[k][0] != "lpstr" or variants[k + 1][0] != "i4":
            return None
        groups.append((variants[k][1], int(variants[k + 1][1])))
    titles = [
        xml_unescape(t)
        for t in re.findall(rf"<{vt}:lpstr>(.*?)</{vt}:lpstr>", titles_m.group(0), re.S)
    ]
    if sum(n for _, n in groups) != len(titles):
        return None
    start, sheet_group = 0, None
    for g, (_, n) in enumerate(groups):
        if titles[start : start + n] == list(original):
            sheet_group = g
            break
        start += n
    if sheet_group is None:
        return None
    new_titles: list[str] = []
    new_groups: list[tuple[str, int]] = []
    pos = 0
    for g, (label, n) in enumerate(groups):
        chunk = titles[pos : pos + n]
        pos += n
        chunk = list(names) if g == sheet_group else _retitle(chunk, renamed, dropped)
        if chunk or g == sheet_group:
            new_groups.append((label, len(chunk)))
            new_titles.extend(chunk)
    pairs_xml = "".join(
        f"<{vt}:variant><{vt}:lpstr>{label}</{vt}:lpstr></{vt}:variant>"
        f"<{vt}:variant><{vt}:i4>{n}</{vt}:i4></{vt}:variant>"
        for label, n in new_groups
    )
    pairs_open = re.match(r"<[^>]*>", pairs_m.group(0))
    titles_open = re.match(r"<[^>]*>", titles_m.group(0))
    assert pairs_open is not None  # noqa: S101 - matched above
    assert titles_open is not None  # noqa: S101 - matched above
    pairs_close = pairs_m.group(0)[pairs_m.group(0).rindex("</") :]
    titles_close = titles_m.group(0)[titles_m.group(0).rindex("</") :]
    new_pairs = (
        f'{pairs_open.group(0)}<{vt}:vector size="{2 * len(new_groups)}" baseType="variant">'
        f"{pairs_xml}</{vt}:vector>{pairs_close}"
    )
    new_title_xml = (
        f'{titles_open.group(0)}<{vt}:vector size="{len(new_titles)}" baseType="lpstr">'
        + "".join(f"<{vt}:lpstr>{xml_escape(t)}</{vt}:lpstr>" for t in new_titles)
        + f"</{vt}:vector>{titles_close}"
    )
    first, second = sorted(
        [(pairs_m, new_pairs), (titles_m, new_title_xml)], key=lambda x: x[0].start()
    )
    return (
        text[: first[0].start()]
        + first[1]
        + text[first[0].end() : second[0].start()]
        + second[1]
        + text[second[0].end() :]
    )


def _retitle(titles: Sequence[str], renamed: dict[str, str], dropped: set[str]) -> list[str]:
    """Named-range titles (``Sheet!Print_Area``) follow renamed sheets; dropped ones go."""
    out = []
    for title in titles:
        sheet, sep, rest = title.rpartition("!")
        plain = sheet.strip("'").replace("''", "'") if sep else ""
        if sep and plain in dropped:
            continue
        out.append(f"{renamed[plain]}!{rest}" if sep and plain in renamed else title)
    return out
