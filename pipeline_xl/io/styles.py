"""Cell styles for report sheets, appended to a workbook's existing ``xl/styles.xml``.

A headless refresh adds sheets to the user's package without rewriting it, so the styles
part is edited as text: every existing byte stays where it was (namespace prefixes,
``mc:Ignorable``, ``x14ac`` attributes, ``extLst``, comments), new fonts, fills, borders,
number formats and cell formats (``xf``) are inserted at the END of their lists, and only
the ``count`` attributes of the lists that grew change. Existing
indices are therefore never renumbered, and cells of the user's sheets keep their looks.

A style that is already there, identical element for element (attribute order aside), is
reused instead of appended, so a second refresh of the same workbook adds nothing and
`StyleBook.to_bytes` gives back the very same bytes. Number formats are matched on their
format code, and Excel's built-in codes (``#,##0``, ``#,##0.00`` ...) use built-in ids.

The look follows the ready workbook (``pipeline_xl.core.display.STYLE``): the workbook's
default font, dark-blue titles, white-on-blue headers, grey notes, and Excel's "Good" and
"Bad" colours for favourable and unfavourable flags.
"""

from __future__ import annotations

import pyexpat
import re
from dataclasses import dataclass, field
from typing import Literal, NoReturn, TypeAlias, get_args

from pipeline_xl.core.display import STYLE, currency_format
from pipeline_xl.core.errors import InputError
from pipeline_xl.io.sheetxml import QUOTE_STARTS, xml_escape

__all__ = [
    "BUILTIN_FORMATS",
    "MINIMAL_STYLES_XML",
    "StyleBook",
    "StyleRole",
    "XfIndex",
    "number_format",
]

XfIndex: TypeAlias = int
"""Index of a cell format in ``cellXfs``: the ``s`` attribute of a cell."""

_Id: TypeAlias = int  # a list index; `StyleBook.int` hides the builtin name in the class

StyleRole = Literal[
    "title",
    "subtitle",
    "block_title",
    "header",
    "note",
    "text",
    "int",
    "number",
    "amount",
    "pct",
    "date",
    "flag_f",
    "flag_u",
]

BUILTIN_FORMATS: dict[str, int] = {
    "General": 0,
    "0": 1,
    "0.00": 2,
    "#,##0": 3,
    "#,##0.00": 4,
    "0%": 9,
    "0.00%": 10,
    "0.00E+00": 11,
    "@": 49,
}
"""Excel's locale-independent built-in number formats (code -> ``numFmtId``)."""

MINIMAL_STYLES_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/><color theme="1"/><name val="Calibri"/>'
    b'<family val="2"/><scheme val="minor"/></font></fonts>'
    b'<fills count="2"><fill><patternFill patternType="none"/></fill>'
    b'<fill><patternFill patternType="gray125"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    b"</cellStyleXfs>"
    b'<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    b"</cellXfs>"
    b'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    b'<dxfs count="0"/><tableStyles count="0"/></styleSheet>'
)
"""A complete default styles part, for a package that has none."""

_MAIN_URIS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # Strict OOXML
)
# Children of <styleSheet>, in schema order (CT_Stylesheet).
_ORDER = (
    "numFmts",
    "fonts",
    "fills",
    "borders",
    "cellStyleXfs",
    "cellXfs",
    "cellStyles",
    "dxfs",
    "tableStyles",
    "colors",
    "extLst",
)
_EDITED = ("numFmts", "fonts", "fills", "borders", "cellXfs")

# Flags: Excel's "Good" and "Bad" cell style colours.
_GOOD_FILL, _GOOD_FONT = "FFC6EFCE", "FF006100"
_BAD_FILL, _BAD_FONT = "FFFFC7CE", "FF9C0006"
_RULE = "FFD9D9D9"  # light grey line under data rows

# ---------------------------------------------------------------------------------------
# A tiny element model: enough to compare styles and to write new ones
# ---------------------------------------------------------------------------------------

_Attrs: TypeAlias = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _El:
    """An element by local name (main namespace), attributes and children."""

    name: str
    attrs: _Attrs = ()
    children: tuple[_El, ...] = ()

    def key(self, main: str) -> tuple[object, ...]:
        """Comparable form: namespace-qualified names, attributes in sorted order."""
        return (
            f"{{{main}}}{self.name}",
            tuple(sorted(self.attrs)),
            tuple(c.key(main) for c in self.children),
        )

    def xml(self, prefix: str) -> str:
        """Serialised with ``prefix`` for the main namespace ('' for the default one)."""
        tag = f"{prefix}:{self.name}" if prefix else self.name
        attrs = "".join(f' {k}="{xml_escape(v, attr=True)}"' for k, v in self.attrs)
        if not self.children:
            return f"<{tag}{attrs}/>"
        inner = "".join(c.xml(prefix) for c in self.children)
        return f"<{tag}{attrs}>{inner}</{tag}>"


def _el(name: str, *children: _El, **attrs: object) -> _El:
    return _El(name, tuple((k, str(v)) for k, v in attrs.items()), children)


def _key_of_parsed(name: str, attrs: dict[str, str], children: list[object]) -> tuple[object, ...]:
    return (name, tuple(sorted(attrs.items())), tuple(children))


# ---------------------------------------------------------------------------------------
# Reading the existing part: byte offsets of the lists, comparable keys of their items
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Span:
    """Where a child of <styleSheet> sits in the bytes."""

    start: int  # offset of "<" of the start tag
    tag_end: int  # offset just after the start tag's ">"
    end: int = -1  # offset of "</" of the end tag (-1 when self-closing)
    items: list[tuple[object, ...]] = field(default_factory=list)  # keys of the children
    raw_items: list[dict[str, str]] = field(default_factory=list)  # attributes of children
    first_item_children: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _bad(problem: str, detail: object = None) -> NoReturn:
    raise InputError(
        f"the workbook's styles part (xl/styles.xml) {problem}",
        value=detail,
        expected="the styles part Excel writes",
    )


def _start_tag_end(data: bytes, start: int) -> int:
    """Offset just after the ``>`` closing the start tag at ``start`` (quotes respected)."""
    quote = 0
    i = start + 1
    n = len(data)
    while i < n:
        ch = data[i]
        if quote:
            if ch == quote:
                quote = 0
        elif ch in (0x22, 0x27):  # " or '
            quote = ch
        elif ch == 0x3E:  # >
            return i + 1
        i += 1
    _bad("has an unfinished tag")


class _Scanner:
    """One expat pass: the root, the spans of its children and keys of their items."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.root_uri = ""
        self.prefix = ""
        self.root_end = -1
        self.spans: dict[str, _Span] = {}
        self._stack: list[tuple[str, dict[str, str], list[object]]] = []
        self._current: _Span | None = None
        self._parser = pyexpat.ParserCreate(namespace_separator=" ")
        self._parser.namespace_prefixes = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.StartDoctypeDeclHandler = self._forbid
        self._parser.EntityDeclHandler = self._forbid
        self._parser.ExternalEntityRefHandler = self._forbid

    def run(self) -> None:
        try:
            self._parser.Parse(self.data, True)
        except pyexpat.ExpatError as err:
            _bad("is not well-formed XML", str(err))

    @staticmethod
    def _forbid(*_: object) -> NoReturn:
        _bad("declares a DTD or entities (refused for safety)")

    @staticmethod
    def _qualify(raw: str) -> tuple[str, str, str]:
        parts = raw.split(" ")
        if len(parts) == 1:
            return "", parts[0], ""
        return parts[0], parts[1], parts[2] if len(parts) > 2 else ""

    def _name(self, raw: str) -> str:
        uri, local, _ = self._qualify(raw)
        return f"{{{uri}}}{local}" if uri else local

    def _start(self, raw: str, attrs: dict[str, str]) -> None:
        depth = len(self._stack)
        uri, local, prefix = self._qualify(raw)
        named = {self._name(k): v for k, v in attrs.items()}
        at = self._parser.CurrentByteIndex
        if depth == 0:
            if uri not in _MAIN_URIS or local != "styleSheet":
                _bad("does not start with a styleSheet element", local)
            self.root_uri, self.prefix = uri, prefix
        elif depth == 1:
            self._current = None
            if uri == self.root_uri and local in _ORDER and local not in self.spans:
                self._current = _Span(at, _start_tag_end(self.data, at))
                self.spans[local] = self._current
        elif depth == 2 and self._current is not None:
            self._current.raw_items.append({k: v for k, v in attrs.items() if " " not in k})
        elif (
            depth == 3
            and self._current is not None
            and len(self._current.raw_items) == 1
            and uri == self.root_uri
        ):
            self._current.first_item_children.append((local, dict(attrs)))
        self._stack.append((self._name(raw), named, []))

    def _end(self, raw: str) -> None:
        del raw
        name, attrs, children = self._stack.pop()
        depth = len(self._stack)
        at = self._parser.CurrentByteIndex
        if depth == 0:
            self.root_end = at if self.data[at : at + 2] == b"</" else -1
            return
        if depth == 1 and self._current is not None:
            self._current.end = at if self.data[at : at + 2] == b"</" else -1
            self._current = None
            return
        key = _key_of_parsed(name, attrs, children)
        if depth == 2 and self._current is not None:
            self._current.items.append(key)
        self._stack[-1][2].append(key)


# ---------------------------------------------------------------------------------------
# The style book
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _List:
    """One list of the styles part: what was there and what is appended."""

    keys: list[tuple[object, ...]]
    added: list[_El] = field(default_factory=list)
    missing: bool = False  # the list element itself is absent and must be written

    def __len__(self) -> int:
        return len(self.keys)


class StyleBook:
    """The cell formats of one workbook, growing append-only as report roles ask for them.

    Args:
        styles_xml: the bytes of ``xl/styles.xml`` (`MINIMAL_STYLES_XML` when the package
            has none).

    Raises:
        InputError: the part is not readable XML, or is not a styles part.

    """

    def __init__(self, styles_xml: bytes) -> None:
        if styles_xml[:2] in (b"\xff\xfe", b"\xfe\xff"):
            _bad("is UTF-16 encoded", "UTF-16")
        declared = re.match(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([^\"']+)", styles_xml)
        if declared and declared.group(1).lower().replace(b"-", b"") != b"utf8":
            _bad("uses an unsupported encoding", declared.group(1).decode("ascii", "replace"))
        self._data = styles_xml
        scan = _Scanner(styles_xml)
        scan.run()
        if scan.root_end < 0:
            _bad("is empty")
        self._scan = scan
        self._main = scan.root_uri
        self._lists: dict[str, _List] = {}
        for name in _EDITED:
            span = scan.spans.get(name)
            self._lists[name] = _List(list(span.items) if span else [], missing=span is None)
        self._seed_missing()
        self._formats: dict[str, int] = {}
        ids = [163]  # custom number formats start at 164
        for attrs in scan.spans["numFmts"].raw_items if "numFmts" in scan.spans else []:
            code, num_id = attrs.get("formatCode"), attrs.get("numFmtId", "")
            if num_id.isdigit():
                ids.append(int(num_id))
                if code is not None:
                    self._formats.setdefault(code, int(num_id))
        self._next_format = max(ids) + 1
        self._has_style_xfs = bool(
            "cellStyleXfs" in scan.spans and scan.spans["cellStyleXfs"].items
        )
        self._base_font = self._read_base_font()
        self._cache: dict[tuple[object, ...], XfIndex] = {}

    # -- public roles ---------------------------------------------------------------

    def style(
        self,
        role: StyleRole,
        *,
        currency: str = "",
        quoted: bool = False,
        numeric: bool = False,
    ) -> XfIndex:
        """The ``cellXfs`` index for ``role``, appended on first use.

        Args:
            role: what the cell is (see `StyleRole`).
            currency: currency code for ``amount`` (e.g. ``EUR`` -> ``#,##0 "€"``).
            quoted: add Excel's quote prefix, so that editing a text such as ``=x`` in
                Excel keeps it text.
            numeric: for ``header``: right-aligned, over a column of numbers.

        """
        cache_key = (role, currency if role == "amount" else "", quoted, numeric)
        found = self._cache.get(cache_key)
        if found is None:
            if role not in get_args(StyleRole):
                raise ValueError(f"unknown style role {role!r}")
            found = self._xf(role, currency=currency, quoted=quoted, numeric=numeric)
            self._cache[cache_key] = found
        return found

    def title(self) -> XfIndex:
        """Sheet title: bold, large, dark blue."""
        return self.style("title")

    def subtitle(self) -> XfIndex:
        """Sheet subtitle: italic grey."""
        return self.style("subtitle")

    def block_title(self) -> XfIndex:
        """Block title: bold, dark blue, a little larger than the body."""
        return self.style("block_title")

    def header(self, *, numeric: bool = False) -> XfIndex:
        """Column header: bold white on dark blue, wrapped; right-aligned when numeric."""
        return self.style("header", numeric=numeric)

    def note(self) -> XfIndex:
        """Note under a table: small italic grey."""
        return self.style("note")

    def text(self) -> XfIndex:
        """Plain text data cell."""
        return self.style("text")

    def text_quoted(self) -> XfIndex:
        """Text data cell with the quote prefix (text starting with ``= + - @``)."""
        return self.style("text", quoted=True)

    def int(self) -> XfIndex:
        """Whole numbers: ``#,##0``."""
        return self.style("int")

    def number(self) -> XfIndex:
        """Numbers with two decimals: ``#,##0.00``."""
        return self.style("number")

    def amount(self, currency: str) -> XfIndex:
        """Whole currency amounts with the currency's symbol (``#,##0 "€"``, ``"$"#,##0``)."""
        return self.style("amount", currency=currency)

    def pct(self) -> XfIndex:
        """Percentages: ``0.0%``."""
        return self.style("pct")

    def date(self) -> XfIndex:
        """Dates: ``yyyy-mm-dd``."""
        return self.style("date")

    def flag_f(self) -> XfIndex:
        """Favourable flag: green fill, dark green font, centred."""
        return self.style("flag_f")

    def flag_u(self) -> XfIndex:
        """Unfavourable flag: red fill, dark red font, centred."""
        return self.style("flag_u")

    @staticmethod
    def needs_quote(text: str) -> bool:
        """Whether Excel would read ``text`` typed into a cell as a formula or a sign."""
        return text.startswith(QUOTE_STARTS)

    @property
    def changed(self) -> bool:
        """Whether anything was appended (`to_bytes` differs from the input)."""
        return any(lst.added for lst in self._lists.values())

    def to_bytes(self) -> bytes:
        """The styles part with the appended styles; the input bytes when nothing was added."""
        if not self.changed:
            return self._data
        scan = self._scan
        edits: list[tuple[int, int, str]] = []
        inserts: dict[int, list[str]] = {}
        for name in _ORDER:
            if name not in self._lists:
                continue
            lst = self._lists[name]
            if not lst.added:
                continue
            new_items = "".join(e.xml(scan.prefix) for e in lst.added)
            if lst.missing:
                tag = self._tag(name)
                at = self._insert_point(name)
                inserts.setdefault(at, []).append(f'<{tag} count="{len(lst)}">{new_items}</{tag}>')
                continue
            span = scan.spans[name]
            start_tag = self._data[span.start : span.tag_end].decode("utf-8")
            start_tag = _set_count(start_tag, len(lst))
            if span.end < 0:  # self-closing: <numFmts count="0"/>
                opened = re.sub(r"\s*/>$", ">", start_tag)
                edits.append((span.start, span.tag_end, f"{opened}{new_items}</{self._tag(name)}>"))
            else:
                edits.append((span.start, span.tag_end, start_tag))
                edits.append((span.end, span.end, new_items))
        edits.extend((at, at, "".join(parts)) for at, parts in inserts.items())
        out = self._data
        for start, stop, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            out = out[:start] + text.encode("utf-8") + out[stop:]
        return out

    # -- internals --------------------------------------------------------------------

    def _tag(self, name: str) -> str:
        return f"{self._scan.prefix}:{name}" if self._scan.prefix else name

    def _insert_point(self, name: str) -> _Id:
        """Offset where a missing list goes: before the next present list, in schema order."""
        later = _ORDER[_ORDER.index(name) + 1 :]
        for other in later:
            span = self._scan.spans.get(other)
            if span is not None:
                return span.start
        return self._scan.root_end

    def _seed_missing(self) -> None:
        """Defaults Excel needs at index 0 (and 1 for fills) when a list is absent."""
        seeds = {
            "fonts": [
                _el(
                    "font",
                    _el("sz", val=11),
                    _el("color", theme=1),
                    _el("name", val="Calibri"),
                    _el("family", val=2),
                    _el("scheme", val="minor"),
                )
            ],
            "fills": [
                _el("fill", _el("patternFill", patternType="none")),
                _el("fill", _el("patternFill", patternType="gray125")),
            ],
            "borders": [_el("border", *(_el(s) for s in _SIDES))],
            "cellXfs": [_el("xf", numFmtId=0, fontId=0, fillId=0, borderId=0)],
        }
        for name, items in seeds.items():
            lst = self._lists[name]
            if lst.missing or not lst.keys:
                for item in items:
                    self._append(name, item)

    def _append(self, name: str, element: _El) -> _Id:
        lst = self._lists[name]
        lst.keys.append(element.key(self._main))
        lst.added.append(element)
        return len(lst.keys) - 1

    def _find_or_add(self, name: str, element: _El) -> _Id:
        key = element.key(self._main)
        lst = self._lists[name]
        for i, existing in enumerate(lst.keys):
            if existing == key:
                return i
        return self._append(name, element)

    def _read_base_font(self) -> tuple[str, str, str, str]:
        """Name, size, family and scheme of font 0 (the workbook's default font)."""
        name, size, family, scheme = STYLE.font, "11", "2", ""
        span = self._scan.spans.get("fonts")
        for local, attrs in span.first_item_children if span else []:
            value = attrs.get("val", "")
            if local == "name" and value:
                name = value
            elif local == "sz" and value:
                size = value
            elif local == "family" and value:
                family = value
            elif local == "scheme" and value:
                scheme = value
        return name, size, family, scheme

    def _number_format(self, code: str) -> _Id:
        if code in BUILTIN_FORMATS:
            return BUILTIN_FORMATS[code]
        found = self._formats.get(code)
        if found is None:
            found = self._next_format
            self._next_format += 1
            self._formats[code] = found
            self._lists["numFmts"].keys.append(("numFmt", code))
            self._lists["numFmts"].added.append(_el("numFmt", numFmtId=found, formatCode=code))
        return found

    def _font(
        self, *, bold: bool = False, italic: bool = False, size: float | None = None, rgb: str = ""
    ) -> _Id:
        if not (bold or italic or size or rgb):
            return 0
        name, base_size, family, scheme = self._base_font
        parts: list[_El] = []
        if bold:
            parts.append(_el("b"))
        if italic:
            parts.append(_el("i"))
        parts.append(_el("sz", val=_num(size) if size else base_size))
        parts.append(_el("color", rgb=rgb) if rgb else _el("color", theme=1))
        parts.append(_el("name", val=name))
        parts.append(_el("family", val=family))
        if scheme:
            parts.append(_el("scheme", val=scheme))
        return self._find_or_add("fonts", _el("font", *parts))

    def _fill(self, rgb: str) -> _Id:
        if not rgb:
            return 0
        solid = _el(
            "patternFill",
            _el("fgColor", rgb=rgb),
            _el("bgColor", indexed=64),
            patternType="solid",
        )
        return self._find_or_add("fills", _el("fill", solid))

    def _rule_border(self) -> _Id:
        """A thin light-grey line under the cell."""
        sides = [
            _el("bottom", _el("color", rgb=_RULE), style="thin") if s == "bottom" else _el(s)
            for s in _SIDES
        ]
        return self._find_or_add("borders", _el("border", *sides))

    def _xf(self, role: StyleRole, *, currency: str, quoted: bool, numeric: bool) -> XfIndex:
        font, fill, border, code = 0, 0, 0, "General"
        align: dict[str, object] = {}
        title_rgb = _argb(STYLE.title_font)
        note_rgb = _argb(STYLE.note_font)
        if role == "title":
            font = self._font(bold=True, size=16, rgb=title_rgb)
        elif role == "subtitle":
            font = self._font(italic=True, rgb=note_rgb)
        elif role == "block_title":
            font = self._font(bold=True, size=13, rgb=title_rgb)
        elif role == "header":
            font = self._font(bold=True, rgb=_argb(STYLE.header_font))
            fill = self._fill(_argb(STYLE.header_fill))
            align = {"horizontal": "right" if numeric else "left", "vertical": "center"}
            if not numeric:  # one indent: never flush against a right-aligned neighbour
                align["indent"] = 1
            align["wrapText"] = 1
        elif role == "note":
            font = self._font(italic=True, size=9, rgb=note_rgb)
        elif role in ("flag_f", "flag_u"):
            good = role == "flag_f"
            font = self._font(bold=True, rgb=_GOOD_FONT if good else _BAD_FONT)
            fill = self._fill(_GOOD_FILL if good else _BAD_FILL)
            border = self._rule_border()
            align = {"horizontal": "center"}
        else:  # data cells
            border = self._rule_border()
            code = number_format(role, currency)
        num_id = self._number_format(code)
        attrs: dict[str, object] = {
            "numFmtId": num_id,
            "fontId": font,
            "fillId": fill,
            "borderId": border,
        }
        if self._has_style_xfs:
            attrs["xfId"] = 0
        if quoted:
            attrs["quotePrefix"] = 1
        for flag, used in (
            ("applyNumberFormat", num_id),
            ("applyFont", font),
            ("applyFill", fill),
            ("applyBorder", border),
            ("applyAlignment", align),
        ):
            if used:
                attrs[flag] = 1
        children = (_el("alignment", **align),) if align else ()
        return self._find_or_add("cellXfs", _el("xf", *children, **attrs))


_SIDES = ("left", "right", "top", "bottom", "diagonal")


def number_format(kind: str, currency: str = "") -> str:
    """The Excel number format of a report column kind (``General`` for text and flags).

    Args:
        kind: a `report_model.ColumnKind` (or a style role).
        currency: currency code, for ``amount``.

    """
    if kind == "amount":
        return currency_format(currency)
    return _FORMATS.get(kind, "General")


_FORMATS = {"int": "#,##0", "number": "#,##0.00", "pct": "0.0%", "date": "yyyy-mm-dd"}


def _argb(hex_colour: str) -> str:
    """``#1F4E78`` -> ``FF1F4E78`` (opaque ARGB, as Excel writes colours)."""
    return "FF" + hex_colour.lstrip("#").upper()


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _set_count(start_tag: str, count: int) -> str:
    """Set (or add) the unprefixed ``count`` attribute of a start tag."""
    pattern = re.compile(r"(?<![\w:.-])count\s*=\s*([\"'])[^\"']*\1")
    if pattern.search(start_tag):
        return pattern.sub(f'count="{count}"', start_tag, count=1)
    return re.sub(r"\s*(/?>)$", rf' count="{count}"\1', start_tag)
