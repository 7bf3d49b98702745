"""The parts of a workbook package (the .xlsx/.xlsm zip), held in memory part by part.

`PartStore` reads the zip directory once and keeps every part's bytes as found: a part
is decompressed only when read, and written back byte for byte, compressed bytes
included, unless it was changed (`ziparchive`). Parts can be read (`part`, `xml`),
added or replaced (`set_part`) and removed (`remove_part`); the package's
``[Content_Types].xml`` follows (an ``Override`` per part whose extension's ``Default``
does not already say its type).

Part names are written without a leading slash (``xl/workbook.xml``) and matched
ignoring case, as the Open Packaging Conventions say. A part removed and added again
while the store is open returns to its old place: in the zip, and among the content
types (a removed ``Override`` leaves a placeholder that is written as nothing). Edits of
an XML part's child list go through `xmledit.Children`, kept until the package is
written so that many small edits parse the part once.

What is refused (`InputError`): data that is not a zip, a zip without
``[Content_Types].xml``, a part name that appears twice (ignoring case), a file that
cannot be read, and XML parts that are not well formed or declare entities. Zip bombs
are refused earlier, by `zipguard.check_zip` (`from_bytes` and `open` call it).
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Self
from xml.etree.ElementTree import Element

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.sheetxml import xml_escape
from pipeline_xl.io.xmledit import Children, decode, encode, parse_xml, start_tag, tag_attrs
from pipeline_xl.io.ziparchive import ZipEntry, can_copy, zip_bytes
from pipeline_xl.io.zipguard import check_zip

__all__ = [
    "CT_CHART",
    "CT_DRAWING",
    "CT_WORKSHEET",
    "PartStore",
    "read_file",
]

_CT_BASE = "application/vnd.openxmlformats-officedocument"
CT_WORKSHEET = f"{_CT_BASE}.spreadsheetml.worksheet+xml"
CT_DRAWING = f"{_CT_BASE}.drawing+xml"
CT_CHART = f"{_CT_BASE}.drawingml.chart+xml"
_CONTENT_TYPES = "[Content_Types].xml"


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


class PartStore:
    """The parts of a zip package held in memory; see the module docstring for what is kept.

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
        self._lists: dict[str, tuple[Children, str]] = {}
        if self.find(_CONTENT_TYPES) is None:
            raise InputError(
                f"{name} is not an Excel workbook (no [Content_Types].xml)",
                expected="an .xlsx or .xlsm file",
            )

    # ------------------------------------------------------------------ opening, saving

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Self:
        """Read the workbook at ``path`` after `check_zip`.

        Raises:
            InputError: missing, not a workbook, refused as a zip bomb, or damaged.

        """
        target = Path(path)
        return cls.from_bytes(read_file(target), name=target.name)

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str = "the workbook") -> Self:
        """A package over ``data`` after `check_zip`.

        Raises:
            InputError: not a workbook, refused as a zip bomb, or damaged.

        """
        check_zip(data, name=name)
        return cls(data, name=name)

    def _before_write(self) -> None:
        """Bring derived parts up to date before the package is written (a hook)."""

    def _flush(self) -> None:
        self._before_write()
        for part, (children, encoding) in self._lists.items():
            if part in self._removed:
                continue
            new = encode(children.text(), encoding)
            if new != self._raw(part):
                self._data[part] = new
        self._lists.clear()

    def to_bytes(self) -> bytes:
        """The package as zip bytes: parts in their original order, new parts after them.

        Untouched parts are copied as stored (their compressed bytes), so a large
        workbook is not decompressed and compressed again.
        """
        self._flush()
        entries: list[ZipEntry] = []
        for part in self.names():
            old = self._infos.get(part)
            if old is not None and part not in self._data and can_copy(old):
                entries.append(ZipEntry.copied(old, self._source))
            else:
                entries.append(ZipEntry.rewritten(part, self._raw(part), old))
        return zip_bytes(entries)

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
            return encode(children.text(), encoding)
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
        """Remove part ``name`` and its content-type override."""
        found = self.find(name)
        if found is None:
            return
        self._lists.pop(found, None)
        self._removed.add(found)
        self._data.pop(found, None)
        self._remove_content_type(found)

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
        return parse_xml(self.part(name), name, self.name)

    def _text(self, part: str) -> tuple[str, str]:
        return decode(self.part(part))

    def _set_text(self, part: str, text: str, encoding: str) -> None:
        self._lists.pop(part, None)
        self._data[part] = encode(text, encoding)

    def _listing(self, part: str, child: str) -> Children:
        """The editable children of ``part``'s root element (kept until written)."""
        if part not in self._lists:
            text, encoding = decode(self._raw(part))
            found = Children.parse(text, None, child)
            if found is None:
                raise InputError(
                    f"{self.name} is damaged: {part} has no root element",
                    expected="a workbook saved by Excel",
                )
            self._lists[part] = (found, encoding)
        return self._lists[part][0]

    def _read_list(self, part: str, container: str, child: str) -> Children | None:
        """The children of ``container`` in ``part`` as they are now (None if absent)."""
        return Children.parse(self._text(part)[0], container, child)

    def _edit_list(
        self, part: str, container: str, child: str, edit: Callable[[Children], None]
    ) -> None:
        """Parse ``container`` of ``part``, let ``edit`` change it, store the new text."""
        text, encoding = self._text(part)
        found = Children.parse(text, container, child)
        if found is None:
            return
        edit(found)
        new = found.text()
        if new != text:
            self._set_text(part, new, encoding)

    # ------------------------------------------------------------------ content types

    def _types(self) -> Children:
        return self._listing(self._keys[_CONTENT_TYPES.casefold()], "Default|Override")

    def content_type(self, name: str) -> str | None:
        """The content type of part ``name`` (its Override, else its extension's Default)."""
        want = "/" + name.lstrip("/").casefold()
        ext = posixpath.splitext(name)[1].lstrip(".").casefold()
        default = None
        for _, item in self._types().elements():
            attrs = tag_attrs(start_tag(item))
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
            attrs = tag_attrs(start_tag(item))
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
            if tag_attrs(start_tag(item)).get("PartName", "").casefold() == want:
                types.items[i] = "\0" + want  # a placeholder: written as nothing
