"""Relationships between the parts of a workbook package, and parts that follow them.

Each part's relationships live in its relationship part (``xl/_rels/workbook.xml.rels``
for ``xl/workbook.xml``; ``_rels/.rels`` for the package itself). `RelationshipStore`
reads them as `Rel` values, targets resolved to part names (relative targets against
the source part's folder, absolute ones from the package root, percent-escapes
decoded; external targets are kept as written and resolve to no part), and edits them
element by element: `add_rel` writes a target relative to the source part, `remove_rel`
leaves a placeholder so that a relationship put back with the same id returns to its
place, and relationship ids default to one above the highest ``rIdN`` in use.

Removing a part removes its relationship part; `_drop_rels_of` and `_drop_tree` also
remove the parts that nothing refers to any more (a sheet's drawing, its charts, a
chart's colour and style parts), never a part something else still uses.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from pipeline_xl.io.parts import PartStore
from pipeline_xl.io.sheetxml import xml_escape
from pipeline_xl.io.xmledit import Children, start_tag, tag_attrs

__all__ = [
    "REL_CALC_CHAIN",
    "REL_CHART",
    "REL_DRAWING",
    "REL_OFFICE_DOCUMENT",
    "REL_TABLE",
    "REL_WORKSHEET",
    "R_NAMESPACE",
    "Rel",
    "RelationshipStore",
    "rels_name",
]

R_NAMESPACE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
"""The namespace of relationship ids (``r:id``) and of the relationship types below."""
REL_OFFICE_DOCUMENT = f"{R_NAMESPACE}/officeDocument"
REL_WORKSHEET = f"{R_NAMESPACE}/worksheet"
REL_DRAWING = f"{R_NAMESPACE}/drawing"
REL_CHART = f"{R_NAMESPACE}/chart"
REL_TABLE = f"{R_NAMESPACE}/table"
REL_CALC_CHAIN = f"{R_NAMESPACE}/calcChain"


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


def _rels_source(rels_part: str) -> str | None:
    """The part a ``.rels`` part belongs to (``""`` for the package's own)."""
    folder, base = posixpath.split(rels_part)
    if posixpath.basename(folder) != "_rels" or not base.casefold().endswith(".rels"):
        return None
    return posixpath.join(posixpath.dirname(folder), base[: -len(".rels")])


class RelationshipStore(PartStore):
    """A `PartStore` that follows the relationships between parts.

    Relationship parts are edited like the other package directory parts: one
    ``Relationship`` element at a time, a removed one leaving a placeholder so that an
    id put back returns to its place.
    """

    def remove_part(self, name: str) -> None:
        """Remove part ``name``, its relationship part and its content-type override."""
        found = self.find(name)
        if found is None:
            return
        super().remove_part(found)
        rels = self.find(rels_name(found))
        if rels is not None:
            self.remove_part(rels)

    def _rels_list(self, part: str, *, create: bool) -> Children | None:
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
            attrs = tag_attrs(start_tag(item))
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

    def related(self, part: str, kind: str) -> str | None:
        """The part ``part`` refers to with a relationship of type ``.../kind``, if any.

        ``kind`` is the last segment of the type (``styles``, ``sharedStrings``,
        ``extended-properties``); the first such relationship whose target exists counts.
        """
        for rel in self.rels(part):
            if rel.part and rel.type.endswith("/" + kind):
                found = self.find(rel.part)
                if found is not None:
                    return found
        return None

    def remove_rel(self, part: str, rid: str) -> None:
        """Remove relationship ``rid`` of ``part`` (the target part is left alone)."""
        listing = self._rels_list(part, create=False)
        if listing is None:
            return
        for i, item in listing.elements():
            if tag_attrs(start_tag(item)).get("Id") == rid:
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
        """Remove ``part`` and, recursively, the parts that nothing else refers to.

        The package's own relationships (``_rels/.rels``) count: the workbook part and
        the document properties are never dropped.
        """
        found = self.find(part)
        if found is None:
            return
        targets = [r.part for r in self.rels(found) if r.part]
        self.remove_part(found)
        for target in targets:
            existing = self.find(target)
            if existing is None:
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
