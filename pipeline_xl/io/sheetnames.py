"""Sheet names: Excel's rules for them, and the places that follow a rename or removal.

`check_sheet_name` refuses (`InputError`) what Excel refuses: an empty name or one over
31 characters, the characters ``[ ] : * ? /`` and backslash, an apostrophe at either
end, the reserved name History, and a name already taken (ignoring case).

References to a sheet inside formulas are found as ``Name!`` or ``'Name'!`` (quotes
doubled inside, case ignored, not as the end of a longer name): `rename_refs` spells
them with the new name (quoted as `sheetxml.quote_sheet` says), `drop_refs` turns a
reference to a removed sheet into ``#REF!`` as Excel does.

``docProps/app.xml`` lists the worksheet titles, and named ranges such as
``Sheet!Print_Area``, grouped under headings: `app_titles` rewrites the worksheet group
for the current sheet list and makes named-range titles follow renamed sheets (those of
removed sheets go). A part whose groups and titles do not add up is left alone (None),
as Excel rebuilds the list anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.sheetxml import PLAIN_SHEET_NAME, quote_sheet, xml_escape, xml_unescape
from pipeline_xl.io.xmledit import root_prefix_for

__all__ = ["app_titles", "check_sheet_name", "drop_refs", "rename_refs", "sheet_ref_pattern"]

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_AREA = (
    r"(?:\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?"
    r"|\$?\d+:\$?\d+|\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3})"
)
_VT_NAMESPACE = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"


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


def sheet_ref_pattern(name: str) -> re.Pattern[str]:
    """Matches a reference prefix ``Name!`` or ``'Name'!`` (not inside a longer name)."""
    quoted = "'" + re.escape(name.replace("'", "''")) + "'"
    forms = [quoted]
    if PLAIN_SHEET_NAME.fullmatch(name):
        forms.append(re.escape(name))
    return re.compile(rf"(?<![\w.'])(?:{'|'.join(forms)})!", re.IGNORECASE)


def rename_refs(formula: str, old: str, new: str) -> str:
    """``formula`` with its references to sheet ``old`` naming sheet ``new``."""
    return sheet_ref_pattern(old).sub(lambda _: quote_sheet(new) + "!", formula)


def drop_refs(formula: str, name: str) -> str:
    """``formula`` with each reference to a cell or range of sheet ``name`` as ``#REF!``."""
    pattern = re.compile(sheet_ref_pattern(name).pattern + _AREA, re.IGNORECASE)
    return pattern.sub("#REF!", formula)


def app_titles(
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
    vt = root_prefix_for(text, _VT_NAMESPACE)
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
