"""Which export column feeds which Prospects field (`resolve_mapping`), and the options.

Fields are those of `contract.PROSPECTS` (`FIELDS`, in the table's column order); an
export must provide a column for each required one (`REQUIRED`: ID, Stage, Amount).
Columns are found in this order, an export column feeding one field only:

1. an explicit ``--map`` (`parse_map`): ``field=column,...``, the field named by its
   name (``expected_close``) or its workbook header (``Expected close``), ``a|b`` giving
   fallback columns;
2. the preset's columns (`presets.PRESETS`);
3. the header synonyms of the contract (`schema.match_headers`).

Where several columns feed one field, each row takes the first non-blank one. A lone
``Close date`` column (the preset says so, or no other column dates closed deals) is
both the expected close of open deals and the close date of won and lost deals.

``--stage-map`` (`parse_stage_map`) renames CRM stages to the workbook's stages.
`known_header` tells the export reader which header cells name a column it can read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.contract import PROSPECTS, norm_key
from pipeline_xl.core.crm.presets import PRESETS, Preset
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import Stages
from pipeline_xl.core.schema import match_headers

__all__ = [
    "FIELDS",
    "REQUIRED",
    "ColumnMapping",
    "known_header",
    "parse_map",
    "parse_stage_map",
    "resolve_mapping",
]

FIELDS: tuple[str, ...] = tuple(f.name for f in PROSPECTS.fields)
"""The Prospects fields an export can feed, in the table's column order."""
REQUIRED: tuple[str, ...] = tuple(f.name for f in PROSPECTS.required)
"""Fields an export must provide (a deal needs an ID, a stage and an amount column)."""

_FIELD_KEYS = {norm_key(f.name): f.name for f in PROSPECTS.fields} | {
    norm_key(f.header): f.name for f in PROSPECTS.fields
}
_KNOWN_HEADERS = frozenset(
    norm_key(c) for p in PRESETS.values() for names in p.columns.values() for c in names
)
_CLOSE_DATE = norm_key("Close date")
"""The export header that dates open deals' expected close and closed deals' close alike."""


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


def parse_stage_map(text: str | None, stages: Stages) -> dict[str, str]:
    """Read ``--stage-map``: ``CRM stage=workbook stage,...`` (folded CRM name -> stage name).

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
                "--stage-map: not a stage=stage pair",
                value=part.strip(),
                expected="CRM stage=workbook stage, e.g. Engaging=Qualified",
            )
        stage = stages.find(ours.strip())
        if stage is None:
            raise InputError(
                "--stage-map: not a stage of the workbook's Stages table",
                value=ours.strip(),
                expected=f"one of {', '.join(s.name for s in stages.all)}",
            )
        found[norm_key(crm)] = stage.name
    return found


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

    @property
    def unused(self) -> tuple[str, ...]:
        """Export columns that feed no field."""
        used = {p for positions in self.columns.values() for p in positions}
        return tuple(h for i, h in enumerate(self.headers) if i not in used and h)

    def describe(self) -> list[str]:
        """One line per mapped field: ``Amount <- close_value (maven preset)``."""
        lines = []
        width = max(len(PROSPECTS.header(f)) for f in self.columns)
        for name in FIELDS:
            if name not in self.columns:
                continue
            cols = " | ".join(self.headers[p] for p in self.columns[name])
            lines.append(f"{PROSPECTS.header(name):<{width}} <- {cols} ({self.sources[name]})")
        if self.close_date_closes:
            closed = PROSPECTS.header("closed")
            lines.append(f"{closed:<{width}} <- the close date of won and lost deals")
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
) -> ColumnMapping:
    """Map Prospects fields to export columns: ``explicit`` first, then preset, then synonyms.

    An export column feeds one field only. ``where`` (the file name) and ``header_row``
    go into error messages.

    Raises:
        InputError: an explicit column the export lacks, or no column for a field of
            `REQUIRED`.

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
    if missing:
        raise InputError(
            f"no column for {', '.join(PROSPECTS.header(n) for n in missing)}; "
            f"columns found: {', '.join(t for t in texts if t)[:300] or 'none'}",
            sheet=where,
            row=header_row,
            expected=f"a deals export with {_required_columns()} columns "
            f"(--preset {'|'.join(PRESETS)} or --map field=column)",
        )
    closes = "expected_close" in columns and "closed" not in columns
    if closes and not (preset is not None and preset.close_date_closes):
        exp = columns["expected_close"]
        closes = len(exp) == 1 and norm_key(texts[exp[0]]) == _CLOSE_DATE
    return ColumnMapping(texts, columns, sources, close_date_closes=closes)


def _required_columns() -> str:
    """``ID, Stage and Amount``: the headers of the `REQUIRED` fields."""
    *first, last = (PROSPECTS.header(n) for n in REQUIRED)
    return f"{', '.join(first)} and {last}" if first else last


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
