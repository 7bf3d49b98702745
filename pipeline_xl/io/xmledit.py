"""Edit XML parts as text, element by element, so everything else stays as written.

The package directory parts (``[Content_Types].xml``, relationship parts, the workbook
part, ``docProps/app.xml``), table parts and sheet rows are changed in place: a start
tag gets one attribute set or removed (`set_attr`), a container gets children added,
removed or put back (`Children`). Namespace prefixes, ``mc:Ignorable`` declarations,
attribute order and quoting, and every element not edited keep their bytes, which a
parse-and-serialise round trip would not keep.

What is accepted: UTF-8 (with or without a byte-order mark) and UTF-16 text, written
back in the encoding it came in (`decode`, `encode`); element names with or without a
namespace prefix (`PREFIX`). Reading a whole part for its values goes through
`parse_xml`, which refuses DTDs and entity declarations (defusedxml) and reports a
damaged part as an `InputError` naming the part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.sheetxml import xml_escape, xml_unescape

__all__ = [
    "PREFIX",
    "Children",
    "decode",
    "element_text",
    "encode",
    "parse_xml",
    "root_prefix_for",
    "set_attr",
    "start_tag",
    "tag_attrs",
]

PREFIX = r"(?:[\w.-]+:)?"
"""An optional namespace prefix of an element name, as a regular expression."""

_ATTR_RE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def tag_attrs(tag: str) -> dict[str, str]:
    """Attributes of a start tag's text, unescaped."""
    return {
        m.group(1): xml_unescape(m.group(2) or m.group(3) or "") for m in _ATTR_RE.finditer(tag)
    }


def set_attr(tag: str, name: str, value: str | None) -> str:
    """``tag`` (an element's start tag text) with attribute ``name`` set, or removed (None)."""
    pattern = re.compile(rf"""\s{re.escape(name)}\s*=\s*(?:"[^"]*"|'[^']*')""")
    if value is None:
        return pattern.sub("", tag, count=1)
    new = f' {name}="{xml_escape(value, attr=True)}"'
    if pattern.search(tag):
        return pattern.sub(lambda _: new, tag, count=1)
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return tag[:end].rstrip() + new + tag[end:]


def decode(data: bytes) -> tuple[str, str]:
    """Text of an XML part and the encoding to write it back with."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    return data.decode("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"), "utf-8"


def encode(text: str, encoding: str) -> bytes:
    """Bytes of an XML part's text in the encoding `decode` gave."""
    return text.encode(encoding)


@dataclass
class Children:
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
    def parse(cls, text: str, container: str | None, child: str) -> Children | None:
        """Split ``text`` around ``container`` (None: the root element) and its children."""
        if container is None:
            decl = re.match(r"\s*<\?xml[^>]*\?>", text)
            opened = re.compile(r"<([\w.-]+:)?[\w.-]+\b[^>]*?(/?)>").search(
                text, decl.end() if decl else 0
            )
        else:
            opened = re.compile(rf"<({PREFIX}){container}\b[^>]*?(/?)>").search(text)
        if opened is None:
            return None
        if opened.group(2):
            return cls._empty(text, opened, child)
        if container is None:
            close_start = text.rfind("</")
        else:
            closed = re.compile(rf"</{PREFIX}{container}\s*>").search(text, opened.end())
            close_start = closed.start() if closed else -1
        if close_start < opened.end():
            return None
        body = text[opened.end() : close_start]
        pattern = re.compile(
            rf"<{PREFIX}(?:{child})\b(?:[^>]*?/>|[^>]*>.*?</{PREFIX}(?:{child})\s*>)", re.S
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
    def _empty(cls, text: str, opened: re.Match[str], child: str) -> Children:
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
        pattern = re.compile(rf"<{PREFIX}(?:{self.tag})\b")
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


def start_tag(element: str) -> str:
    """The start tag of an element's text (the whole text when it has none)."""
    m = re.match(r"\s*<[^>]*>", element)
    return m.group(0).strip() if m else element


def element_text(element: str) -> str:
    """The unescaped text between an element's start and end tags (``""`` when empty)."""
    m = re.match(r"\s*<[^>]*?>(.*)</[^>]+>\s*$", element, re.S)
    return xml_unescape(m.group(1)) if m else ""


def root_prefix_for(text: str, namespace: str) -> str | None:
    """The prefix bound to ``namespace`` in the document (first declaration), if any."""
    m = re.search(rf"""xmlns:([\w.-]+)\s*=\s*["']{re.escape(namespace)}["']""", text)
    return m.group(1) if m else None


def parse_xml(data: bytes, part: str, file: str) -> Element:
    """Part ``part`` of the workbook ``file`` parsed, DTDs and entities refused.

    Raises:
        InputError: the part is not well-formed XML or declares a DTD or entities.

    """
    try:
        root: Element = fromstring(data)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise InputError(
            f"{file} is damaged: its part {part} is not valid XML ({err})",
            expected="a workbook saved by Excel",
        ) from err
    return root
