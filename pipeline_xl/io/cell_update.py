"""Update cells of an existing sheet in place: formula results and the tool's own texts.

A refresh keeps the Dashboard in step with the report sheets: it writes the new result
of each of the Dashboard's formulas (the cached value Excel shows until it recalculates)
and its date-dependent texts, and nothing else. The edit is made on the sheet part's
text, cell by cell: every other byte of the part, and every other part, stays as it was.

Rules:

* a formula cell is updated only when its formula is the one the tool wrote there
  (``expected`` formula text, compared without the leading ``=`` and the ``_xlfn.`` /
  ``_xldudf_`` prefixes a file may add); a formula the user changed is left alone and
  reported. The formula, the style and the other attributes are kept; only the cached
  value and its type (``t="str"``, ``t="e"``, ``t="b"`` or none for a number) change;
* a text cell is updated only when it holds text the tool wrote (``expected`` text, or
  any text when no expectation is given); it is written as an inline string, never as a
  formula;
* a cell of a block the tool owns (``owned``) gets the new value as a constant, whatever
  it held; the block is labelled on the sheet as filled by each refresh;
* a cell that does not exist in the part is not created (the layout changed): reported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline_xl.io.package import Package
from pipeline_xl.io.sheetxml import number_text, xml_escape, xml_text, xml_unescape
from pipeline_xl.io.xmledit import PREFIX, decode, encode, set_attr, tag_attrs

__all__ = [
    "ERROR_VALUES",
    "CellEdit",
    "EditResult",
    "cell_contents",
    "shared_strings",
    "update_cells",
]

ERROR_VALUES = frozenset({"#N/A", "#DIV/0!", "#NUM!", "#VALUE!", "#REF!", "#NAME?", "#NULL!"})
"""Texts written as Excel error values (``t="e"``) when they are a formula's result."""

CellValue = float | int | bool | str | None


@dataclass(frozen=True, slots=True)
class CellEdit:
    """The new value of one cell, and what the cell must hold for the edit to be made.

    ``formula``: the formula the tool wrote there (None for a text cell); ``text``: for a
    text cell, the text it must hold now (None: any text). ``owned``: a cell of a block
    the tool fills on every refresh (a list, a chart's data): the value replaces whatever
    the cell holds, as a constant (a number, a text or empty), its style kept.
    """

    value: CellValue
    formula: str | None = None
    text: str | None = None
    owned: bool = False


@dataclass
class EditResult:
    """Cells changed, and cells left alone with the reason."""

    changed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


_CELL_RE = re.compile(
    rf"<(?P<p>{PREFIX})c\b(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</(?P=p)c>)", re.DOTALL
)
_REF_ATTR = re.compile(r"""\br\s*=\s*["']([A-Z]+[0-9]+)["']""")
_FORMULA_RE = re.compile(rf"<{PREFIX}f\b[^>]*?(?:/>|>(.*?)</{PREFIX}f>)", re.DOTALL)
_VALUE_RE = re.compile(rf"<{PREFIX}v>.*?</{PREFIX}v>|<{PREFIX}v/>", re.DOTALL)
_TEXT_RE = re.compile(rf"<{PREFIX}t\b[^>]*>(.*?)</{PREFIX}t>", re.DOTALL)
_PREFIXES = re.compile(r"_xlfn\.|_xldudf_|_xlws\.")


def _norm_formula(text: str) -> str:
    body = text[1:] if text.startswith("=") else text
    return _PREFIXES.sub("", xml_unescape(body)).replace(" ", "")


def _value_xml(prefix: str, value: CellValue) -> tuple[str | None, str]:
    """(type attribute, ``<v>`` element) of a formula result."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, ""
    if isinstance(value, bool):
        return "b", f"<{prefix}v>{int(value)}</{prefix}v>"
    if isinstance(value, int | float):
        if math.isinf(value):
            return "e", f"<{prefix}v>#NUM!</{prefix}v>"
        return None, f"<{prefix}v>{number_text(float(value))}</{prefix}v>"
    text = str(value)
    kind = "e" if text in ERROR_VALUES else "str"
    return kind, f"<{prefix}v>{xml_escape(xml_text(text))}</{prefix}v>"


def _formula_cell(match: re.Match[str], edit: CellEdit) -> str | None:
    """The cell with its new cached value, or None when its formula is not the expected one."""
    prefix, attrs, body = match["p"], match["attrs"], match["body"] or ""
    found = _FORMULA_RE.search(body)
    if found is None or edit.formula is None:
        return None
    if _norm_formula(found.group(1) or "") != _norm_formula(edit.formula):
        return None
    kind, value = _value_xml(prefix, edit.value)
    new_body = _VALUE_RE.sub("", body)
    formula = _FORMULA_RE.search(new_body)
    if formula is None:  # the <v> pattern never matches inside <f>; kept for the type checker
        return None
    new_body = new_body[: formula.end()] + value + new_body[formula.end() :]
    tag = set_attr(f"<{prefix}c{attrs}>", "t", kind)
    return f"{tag}{new_body}</{prefix}c>"


def _cell_text(body: str) -> str | None:
    if _FORMULA_RE.search(body):
        return None
    texts = _TEXT_RE.findall(body)
    return xml_unescape("".join(texts)) if texts else None


def _text_cell(match: re.Match[str], edit: CellEdit, shared: list[str]) -> str | None:
    """The cell with its new inline text, or None when it does not hold the tool's text."""
    prefix, attrs, body = match["p"], match["attrs"], match["body"] or ""
    kind = tag_attrs(f"<c{attrs}>").get("t")
    if kind == "s":
        value = _VALUE_RE.search(body)
        digits = re.sub(r"<[^>]+>", "", value.group(0)) if value else ""
        index = int(digits) if digits.isdigit() else -1
        current = shared[index] if 0 <= index < len(shared) else None
    elif kind in ("inlineStr", "str"):
        current = _cell_text(body) if kind == "inlineStr" else None
    else:
        current = None
    if current is None or (edit.text is not None and current != edit.text):
        return None
    text = "" if edit.value is None else str(edit.value)
    tag = set_attr(f"<{prefix}c{attrs}>", "t", "inlineStr")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    body = f"<{prefix}t{space}>{xml_escape(xml_text(text))}</{prefix}t>"
    return f"{tag}<{prefix}is>{body}</{prefix}is></{prefix}c>"


_SI_RE = re.compile(rf"<{PREFIX}si\b[^>]*>(.*?)</{PREFIX}si>", re.DOTALL)
_PHONETIC_RE = re.compile(rf"<{PREFIX}rPh\b.*?</{PREFIX}rPh>", re.DOTALL)


def shared_strings(package: Package) -> list[str]:
    """The workbook's shared strings, in order (phonetic runs left out)."""
    part = package.related(package.workbook_part, "sharedStrings")
    if part is None:
        return []
    text, _ = decode(package.part(part))
    out = []
    for item in _SI_RE.finditer(text):
        body = _PHONETIC_RE.sub("", item.group(1))
        out.append(xml_unescape("".join(_TEXT_RE.findall(body))))
    return out


def _owned_cell(match: re.Match[str], edit: CellEdit) -> str:
    """The cell holding ``edit.value`` as a constant, its style and other attributes kept."""
    prefix, attrs = match["p"], match["attrs"]
    value = edit.value
    tag = set_attr(f"<{prefix}c{attrs}>", "t", None)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return tag[:-1] + "/>"
    if isinstance(value, bool):
        tag = set_attr(tag, "t", "b")
        return f"{tag}<{prefix}v>{int(value)}</{prefix}v></{prefix}c>"
    if isinstance(value, int | float) and math.isfinite(value):
        return f"{tag}<{prefix}v>{number_text(float(value))}</{prefix}v></{prefix}c>"
    text = str(value)
    tag = set_attr(tag, "t", "inlineStr")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    body = f"<{prefix}t{space}>{xml_escape(xml_text(text))}</{prefix}t>"
    return f"{tag}<{prefix}is>{body}</{prefix}is></{prefix}c>"


def update_cells(
    package: Package,
    sheet: str,
    edits: Mapping[str, CellEdit],
    *,
    shared: list[str] | None = None,
) -> EditResult:
    """Apply ``edits`` (by A1 reference) to sheet ``sheet`` of ``package`` (module rules).

    ``shared``: the workbook's shared strings when the caller has them (read from the
    package otherwise), to recognise a text cell saved as a shared string; a text edit of
    such a cell writes an inline string.
    """
    part = package.sheet(sheet).part
    text, encoding = decode(package.part(part))
    result = EditResult()
    pieces: list[str] = []
    last = 0
    seen: set[str] = set()
    for match in _CELL_RE.finditer(text):
        ref_match = _REF_ATTR.search(match["attrs"])
        ref = ref_match.group(1) if ref_match else ""
        edit = edits.get(ref)
        if edit is None:
            continue
        seen.add(ref)
        if edit.owned:
            new: str | None = _owned_cell(match, edit)
            reason = ""
        elif edit.formula is not None:
            new = _formula_cell(match, edit)
            reason = "its formula is not the one the refresh wrote there"
        else:
            if shared is None:
                shared = shared_strings(package)
            new = _text_cell(match, edit, shared)
            reason = "it does not hold the text the refresh wrote there"
        if new is None:
            result.skipped[ref] = reason
            continue
        if new != match.group(0):
            pieces.append(text[last : match.start()])
            pieces.append(new)
            last = match.end()
            result.changed.append(ref)
    for ref in edits:
        if ref not in seen:
            result.skipped[ref] = "the cell is not in the sheet"
    if result.changed:
        pieces.append(text[last:])
        package.set_part(part, encode("".join(pieces), encoding))
    return result


def cell_contents(
    package: Package, sheet: str, refs: Iterable[str]
) -> dict[str, tuple[str | None, object]]:
    """The formula (None for a constant) and the value of each cell ``refs`` names.

    A value is a float, a bool, or a text (shared, inline or a formula's text result);
    a cell that is absent or empty has value None.
    """
    wanted = set(refs)
    text, _ = decode(package.part(package.sheet(sheet).part))
    shared: list[str] | None = None
    out: dict[str, tuple[str | None, object]] = dict.fromkeys(wanted, (None, None))
    for match in _CELL_RE.finditer(text):
        ref_match = _REF_ATTR.search(match["attrs"])
        ref = ref_match.group(1) if ref_match else ""
        if ref not in wanted:
            continue
        body = match["body"] or ""
        formula = _FORMULA_RE.search(body)
        kind = tag_attrs(f"<c{match['attrs']}>").get("t")
        value_match = _VALUE_RE.search(body)
        raw = xml_unescape(re.sub(r"<[^>]+>", "", value_match.group(0))) if value_match else ""
        value: object = None
        if kind == "s" and raw.isdigit():
            if shared is None:
                shared = shared_strings(package)
            index = int(raw)
            value = shared[index] if index < len(shared) else None
        elif kind == "inlineStr":
            value = _cell_text(body)
        elif kind in ("str", "e"):
            value = raw
        elif kind == "b":
            value = raw == "1"
        elif raw:
            value = float(raw)
        out[ref] = (None if formula is None else xml_unescape(formula.group(1) or ""), value)
    return out
