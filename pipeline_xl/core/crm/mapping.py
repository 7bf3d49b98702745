"""Which export column feeds which Prospects field (`resolve_mapping`), and the options.

Fields are those of `contract.PROSPECTS` (`FIELDS`, in the table's column order); an
export must provide a column for Stage and Amount. The workbook needs an ID per deal
(`REQUIRED`), but many exports lack one (a Salesforce report shows the Opportunity ID only
when it is added by hand): an export without an ID column is keyed by Name, Company and
Created (`KEY_FIELDS`, those of them it has; Name at least), a stable key that
`convert.convert_export` derives, and the mapping says so. A missing Amount column names
the columns that may hold the amount (a Salesforce report names it after the company's
field, "Total ACV"), for ``--map amount=COLUMN``: nothing is guessed.
Columns are found in this order, an export column feeding one field only:

1. an explicit ``--map`` (`parse_map`): ``field=column,...``, the field named by its
   name (``expected_close``) or its workbook header (``Expected close``), ``a|b`` giving
   fallback columns;
2. the preset's columns (`presets.PRESETS`);
3. the header synonyms of the contract (`schema.match_headers`).

Where several columns feed one field, each row takes the first non-blank one. A lone
``Close date`` column (the preset says so, or no other column dates closed deals) is
both the expected close of open deals and the close date of won and lost deals.

A preset's currency columns (``Deal - Currency``) are found the same way
(`ColumnMapping.currency`).

``--stage-map`` (`parse_stage_map`, written back by `format_stage_map`) renames CRM stages
to the workbook's stages; `preset_stage_map` is the preset's map onto the stages a
workbook has; `stage_map_for` layers them. `known_header` tells the export reader which
header cells name a column it can read; `matching_preset` names the preset whose columns
an export has, to suggest it when none was given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import PROSPECTS, norm_key
from pipeline_xl.core.crm.presets import PRESETS, Preset
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Stages
from pipeline_xl.core.schema import match_headers

__all__ = [
    "FIELDS",
    "KEY_FIELDS",
    "REQUIRED",
    "ColumnMapping",
    "format_stage_map",
    "known_header",
    "matching_preset",
    "parse_map",
    "parse_stage_map",
    "preset_stage_map",
    "resolve_mapping",
    "stage_map_for",
    "stage_spellings",
]

FIELDS: tuple[str, ...] = tuple(f.name for f in PROSPECTS.fields)
"""The Prospects fields an export can feed, in the table's column order."""
REQUIRED: tuple[str, ...] = tuple(f.name for f in PROSPECTS.required)
"""Fields an export must provide (a deal needs an ID, a stage and an amount column)."""

KEY_FIELDS: tuple[str, ...] = ("name", "company", "created")
"""Fields that key the deals of an export without an ID column (Name at least)."""

_FIELD_KEYS = {norm_key(f.name): f.name for f in PROSPECTS.fields} | {
    norm_key(f.header): f.name for f in PROSPECTS.fields
}
_KNOWN_HEADERS = frozenset(
    norm_key(c) for p in PRESETS.values() for names in p.columns.values() for c in names
)
_CLOSE_DATE = norm_key("Close date")
"""The export header that dates open deals' expected close and closed deals' close alike."""
_TRAILING_PARENS = re.compile(r"\s*\([^()]*\)\s*$")
_AMOUNT_WORDS = (
    "amount", "value", "acv", "arr", "tcv", "mrr", "revenue", "price", "total", "booking",
    "montant", "valeur", "prix",
)  # fmt: skip
"""Words of a header that may name the amount (for the hint when no column is found)."""


def known_header(text: object) -> bool:
    """Whether ``text`` names a column some preset or header synonym reads (header search)."""
    key = norm_key(clean_text(text))
    return bool(key) and (key in _KNOWN_HEADERS or bool(match_headers([text], PROSPECTS)))


def _field_of(text: str, what: str) -> str:
    found = _FIELD_KEYS.get(norm_key(text))
    if found is None:
        raise InputError(
            f"{what}: unknown field",
            value=text,
            expected=f"one of {', '.join(FIELDS)}",
        )
    return found


def parse_map(text: str | None) -> dict[str, tuple[str, ...]]:
    """Read ``--map``: ``field=column,...``; ``column|other`` gives fallbacks in order.

    Fields are the Prospects fields (``expected_close``) or their workbook headers
    (``Expected close``).

    Raises:
        InputError: a part without ``=``, an unknown field, or a field given twice.

    """
    found: dict[str, tuple[str, ...]] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, columns = part.partition("=")
        if not sep or not name.strip() or not columns.strip():
            raise InputError(
                "--map: not a field=column pair",
                value=part.strip(),
                expected="field=column, e.g. amount=Deal value",
            )
        key = _field_of(name.strip(), "--map")
        if key in found:
            raise InputError("--map: field given twice", value=name.strip())
        found[key] = tuple(c.strip() for c in columns.split("|") if c.strip())
    return found


def parse_stage_map(
    text: str | None, stages: Stages, *, where: str = "--stage-map"
) -> dict[str, str]:
    """Read ``CRM stage=workbook stage,...`` (``--stage-map`` or the stored setting).

    Returns CRM stage (as written) -> the workbook's stage name; a CRM stage given
    twice keeps the later pair. ``where`` names the source in messages.

    Raises:
        InputError: a part without ``=`` or a workbook stage the Stages table lacks.

    """
    found: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        crm, sep, ours = part.partition("=")
        if not sep or not crm.strip() or not ours.strip():
            raise InputError(
                f"{where}: not a stage=stage pair",
                value=part.strip(),
                expected="CRM stage=workbook stage, e.g. Engaging=Qualified",
            )
        stage = stages.find(ours.strip())
        if stage is None:
            raise InputError(
                f"{where}: not a stage of the workbook's Stages table",
                value=ours.strip(),
                expected=f"one of {', '.join(s.name for s in stages.all)}",
            )
        for old in [k for k in found if norm_key(k) == norm_key(crm)]:
            del found[old]
        found[clean_text(crm)] = stage.name
    return found


def stage_spellings(text: str) -> tuple[str, ...]:
    """The names an export stage may match: as written, then without a trailing ``(...)``."""
    bare = _TRAILING_PARENS.sub("", text)
    return (text, bare) if bare and bare != text else (text,)


def format_stage_map(stage_map: Mapping[str, str]) -> str:
    """``Engaging=Qualified, Prospecting=Lead``: a stage map as `parse_stage_map` reads it."""
    return ", ".join(f"{crm}={ours}" for crm, ours in stage_map.items())


def preset_stage_map(preset: Preset | None, stages: Stages) -> dict[str, str]:
    """The preset's CRM stage -> workbook stage pairs that apply to ``stages``.

    A pair is left out when the workbook has a stage of the CRM stage's own name (that
    stage wins) or lacks the stage the preset maps onto (a workbook with its own
    process: the CRM stage stays unknown and is reported).
    """
    if preset is None:
        return {}
    out: dict[str, str] = {}
    for crm, ours in preset.stages:
        target = stages.find(ours)
        if stages.find(crm) is None and target is not None:
            out[crm] = target.name
    return out


def stage_map_for(
    preset: Preset | None,
    stages: Stages,
    *,
    stored: Mapping[str, str] | None = None,
    given: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The stage map an import applies: the preset's, then the stored one, then ``given``.

    Later maps win for the same CRM stage (compared as `contract.norm_key` does).
    """
    out: dict[str, str] = {}
    for layer in (preset_stage_map(preset, stages), stored or {}, given or {}):
        for crm, ours in layer.items():
            for old in [k for k in out if norm_key(k) == norm_key(crm)]:
                del out[old]
            out[crm] = ours
    return out


def matching_preset(headers: Sequence[object]) -> Preset | None:
    """The preset whose export columns ``headers`` are, if one clearly is (to suggest it).

    A preset matches when its Stage and Amount columns are there and at least three of
    its fields, and half of them, are found by its column names; the best match wins.
    """
    keys = {norm_key(clean_text(h)) for h in headers}
    best: tuple[int, Preset | None] = (0, None)
    for preset in PRESETS.values():
        found = [
            f for f, names in preset.columns.items() if any(norm_key(n) in keys for n in names)
        ]
        enough = len(found) >= max(3, (len(preset.columns) + 1) // 2)
        if enough and {"stage", "amount"} <= set(found) and len(found) > best[0]:
            best = (len(found), preset)
    return best[1]


@dataclass(frozen=True)
class ColumnMapping:
    """Which export columns feed which Prospects field, and why.

    ``columns``: field -> positions of the export columns (first non-blank wins per
    row); ``sources``: field -> ``--map``, the preset name or ``header``;
    ``close_date_closes``: the expected-close column also dates won and lost deals.
    """

    headers: tuple[str, ...]
    columns: dict[str, tuple[int, ...]]
    sources: dict[str, str]
    close_date_closes: bool = False
    currency: tuple[int, ...] = ()

    @property
    def keyed_by(self) -> tuple[str, ...]:
        """``("id",)``, or the `KEY_FIELDS` that key the deals of an export without IDs."""
        if "id" in self.columns:
            return ("id",)
        return tuple(f for f in KEY_FIELDS if f in self.columns)

    @property
    def unused(self) -> tuple[str, ...]:
        """Export columns that feed no field."""
        used = {p for positions in self.columns.values() for p in positions}
        used.update(self.currency)
        return tuple(h for i, h in enumerate(self.headers) if i not in used and h)

    def describe(self) -> list[str]:
        """One line per mapped field: ``Amount <- close_value (maven preset)``."""
        lines = []
        width = max(len(PROSPECTS.header(f)) for f in (*self.columns, "id"))
        for name in FIELDS:
            if name not in self.columns:
                continue
            cols = " | ".join(self.headers[p] for p in self.columns[name])
            lines.append(f"{PROSPECTS.header(name):<{width}} <- {cols} ({self.sources[name]})")
        if self.close_date_closes:
            closed = PROSPECTS.header("closed")
            lines.append(f"{closed:<{width}} <- the close date of won and lost deals")
        if "id" not in self.columns:
            keys = _and(PROSPECTS.header(f) for f in self.keyed_by) if self.keyed_by else ""
            by = f"deals keyed by {keys}" if keys else "each row is a deal"
            lines.append(f"{PROSPECTS.header('id'):<{width}} <- none: {by}")
        if self.currency:
            cols = " | ".join(self.headers[p] for p in self.currency)
            lines.append(f"{'currency':<{width}} <- {cols}")
        if self.unused:
            lines.append(f"not imported: {', '.join(self.unused)}")
        return lines


def resolve_mapping(
    headers: Sequence[object],
    *,
    preset: Preset | None = None,
    explicit: Mapping[str, tuple[str, ...]] | None = None,
    where: str = "the export",
    header_row: int | None = None,
    need_key: bool = True,
) -> ColumnMapping:
    """Map Prospects fields to export columns: ``explicit`` first, then preset, then synonyms.

    An export column feeds one field only. ``where`` (the file name) and ``header_row``
    go into error messages. Without ``need_key`` (``metrics``, which matches no deal),
    an export with neither an ID nor a Name column is accepted: each row is a deal.

    Raises:
        InputError: an explicit column the export lacks, no Stage or Amount column (the
            message names the columns that may hold the amount), or, with ``need_key``,
            neither an ID nor a Name column.

    """
    texts = tuple(clean_text(h) for h in headers)
    position: dict[str, int] = {}
    for i, text in enumerate(texts):
        position.setdefault(norm_key(text), i)
    columns: dict[str, tuple[int, ...]] = {}
    sources: dict[str, str] = {}
    for name, wanted in (explicit or {}).items():
        columns[name] = tuple(_column_at(position, c, texts, where, header_row) for c in wanted)
        sources[name] = "--map"
    used = {p for found in columns.values() for p in found}
    preset_columns = preset.columns if preset is not None else {}
    label = f"{preset.name} preset" if preset is not None else ""
    for name, wanted in preset_columns.items():
        found = [p for c in wanted if (p := position.get(norm_key(c), -1)) >= 0 and p not in used]
        if name not in columns and found:
            columns[name], sources[name] = tuple(found), label
            used.update(found)
    for name, pos in match_headers(list(texts), PROSPECTS).items():
        if name not in columns and pos not in used:
            columns[name], sources[name] = (pos,), "header"
            used.add(pos)
    missing = [n for n in REQUIRED if n not in columns]
    if "id" in missing and ("name" in columns or not need_key):
        missing.remove("id")  # keyed by name, company and created date (or by row)
    if missing:
        raise InputError(
            f"no column for {', '.join(PROSPECTS.header(n) for n in missing)}; "
            f"columns found: {', '.join(t for t in texts if t)[:300] or 'none'}"
            + _amount_hint(texts, used, missing),
            sheet=where,
            row=header_row,
            expected=f"a deals export with {_required_columns(need_key=need_key)} "
            f"(--preset {'|'.join(PRESETS)} or --map field=column)",
        )
    currency: tuple[int, ...] = ()
    if preset is not None:
        found_at = (position.get(norm_key(c), -1) for c in preset.currency_columns)
        currency = tuple(p for p in found_at if p >= 0 and p not in used)
    closes = "expected_close" in columns and "closed" not in columns
    if closes and not (preset is not None and preset.close_date_closes):
        exp = columns["expected_close"]
        closes = len(exp) == 1 and norm_key(texts[exp[0]]) == _CLOSE_DATE
    return ColumnMapping(texts, columns, sources, close_date_closes=closes, currency=currency)


def _and(words: Iterable[str]) -> str:
    """``a, b and c``."""
    *first, last = words
    return f"{', '.join(first)} and {last}" if first else last


def _required_columns(*, need_key: bool) -> str:
    """``Stage and Amount columns, and an ID or a Name column``: what an export needs."""
    needed = _and(PROSPECTS.header(n) for n in REQUIRED if n != "id")
    key = f", and an {PROSPECTS.header('id')} or a {PROSPECTS.header('name')} column"
    return f"{needed} columns{key if need_key else ''}"


def _amount_hint(texts: Sequence[str], used: set[int], missing: Sequence[str]) -> str:
    """``; columns that may hold the amount: Total ACV (--map "amount=Total ACV")``."""
    if "amount" not in missing:
        return ""
    found = [
        t
        for i, t in enumerate(texts)
        if t and i not in used and any(w in norm_key(t) for w in _AMOUNT_WORDS)
    ]
    if not found:
        return ""
    return f'; columns that may hold the amount: {", ".join(found)} (--map "amount={found[0]}")'


def _column_at(
    position: Mapping[str, int], column: str, texts: Sequence[str], where: str, row: int | None
) -> int:
    """Position of an explicitly mapped column; InputError when the export lacks it."""
    pos = position.get(norm_key(column))
    if pos is None:
        raise InputError(
            f"--map: no column {column!r}",
            sheet=where,
            row=row,
            expected=f"one of {', '.join(t for t in texts if t)}",
        )
    return pos
