"""Export cells to typed Prospects cells (`convert_export`): numbers, dates, stages, prices.

All pure: no file access, no Excel library, no clock. For each mapped field
(`mapping.ColumnMapping`), each row takes the first non-blank of its columns, then:

* cells are typed by the field's kind in `contract.PROSPECTS` (`incoming.kind_of`):
  numbers with the file's decimal separator, rates as shares (a 0-100 column, or a
  header with ``%``, is divided by 100; ``40%`` is 0.40), dates with the day/month order
  their own column tells (`cells.date_order` over the whole column: ``6/13/24`` is month
  first), else the one the file's other dates tell, else day first, reported when some
  date could be read both ways. A column with dates of both orders is reported too. A
  cell that cannot be read is kept as text and reported with its export rows;
* before typing, control characters XML cannot carry are removed (a note per column)
  and texts over Excel's 32,767 characters are cut to them; a date before 1900-03-01 or
  a number beyond Excel's range or 15 significant digits is kept as its text
  (`limits`); each cut or kept cell is an `incoming.CellIssue` with its export row;
* stages: an export stage matches a workbook stage ignoring case, spaces and accents,
  with or without a trailing ``(...)``; ``Closed Won`` and ``Closed Lost`` (and the other
  status words of `contract.status_word`) match the Won and Lost stages; ``stage_map``
  (`mapping.stage_map_for`: the preset's map, the stored one, ``--stage-map``) renames
  CRM stages to workbook stages first, and the stages it renamed are reported. A stage
  that still does not match is written as it is and reported with the ``--stage-map``
  to give (validation leaves those deals out until the Stages sheet knows the stage);
* a Status column saying won or lost moves the deal to the Won or Lost stage (a lost
  deal's open stage becomes its Stage reached); statuses are written as
  `contract.STATUS_LABELS` says; other status text is kept and reported;
* a lone close-date column (`mapping.ColumnMapping.close_date_closes`) also dates won and
  lost deals;
* with a price list (`price_list`, the preset's ``prices``), open deals without an amount
  and lost deals at 0 take their product's price, products matched by
  `contract.norm_key`;
* an export without an ID column (`mapping.ColumnMapping.keyed_by`) gets a stable key
  per deal from its name, company and created date (`keys.deal_key`), reported with a
  warning: a deal renamed in the CRM will be seen as a new one;
* rows without an ID (or, without an ID column, without a name, company or created
  date) are skipped; an ID given twice with the same values (`incoming.same_cell`) is
  imported once, with different values it is a conflict: reported and not imported;
* a preset's currency column (`mapping.ColumnMapping.currency`) gives the export's
  currency (`incoming.Incoming.currency`) when every deal has the same ISO code; several
  currencies, or text that is no ISO code, are reported (amounts are never converted);
* an export without ID or Name read for ``metrics`` (``need_key`` off in
  `mapping.resolve_mapping`) has one deal per row, keyed ``row N``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.cells import clean_text, clean_texts, is_blank, parse_number
from pipeline_xl.core.contract import (
    PROSPECTS,
    STAGES,
    STATUS_LABELS,
    StatusWord,
    norm_key,
    status_word,
)
from pipeline_xl.core.crm.incoming import (
    CellIssue,
    Incoming,
    Kind,
    Note,
    ObjectArray,
    kind_of,
    same_cell,
)
from pipeline_xl.core.crm.keys import deal_keys
from pipeline_xl.core.crm.limits import (
    date_problem,
    fit_long_texts,
    number_problem,
    without_controls,
)
from pipeline_xl.core.crm.mapping import ColumnMapping, stage_spellings
from pipeline_xl.core.crm.presets import Preset
from pipeline_xl.core.currency import currency_code
from pipeline_xl.core.dates import DateOrder, date_order, parse_date
from pipeline_xl.core.display import counted, shown
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.excel import TEXT_LIMIT
from pipeline_xl.core.model import Stages

__all__ = ["convert_export", "price_list"]


def _objects(frame: pd.DataFrame, pos: int) -> ObjectArray:
    return np.asarray(frame.iloc[:, pos].to_numpy(dtype=object), dtype=object)


def _blank_mask(values: ObjectArray) -> npt.NDArray[np.bool_]:
    """True where a cell is blank (None, NaN, spaces), one test per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.fromiter((is_blank(u) for u in uniques), dtype=bool, count=len(uniques))
    table = np.append(table, True)  # code -1: missing
    return table[codes]


def _coalesce(frame: pd.DataFrame, positions: tuple[int, ...]) -> ObjectArray:
    """Per row, the first non-blank cell among ``positions``."""
    out = _objects(frame, positions[0]).copy()
    for pos in positions[1:]:
        blank = _blank_mask(out)
        if not blank.any():
            break
        out[blank] = _objects(frame, pos)[blank]
    return out


def _per_distinct(values: ObjectArray, fn: Callable[[object], object]) -> ObjectArray:
    """``fn`` applied once per distinct cell, spread over the column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = [fn(u) for u in uniques]
    table[len(uniques)] = fn(None)
    return table[codes]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)  # noqa: DTZ001 - workbook dates are naive


_UNREAD = "unreadable"
"""Why a cell was kept as text when it reads as no value of its column's kind."""


def _convert_column(
    values: ObjectArray, kind: Kind, *, decimal_comma: bool, month_first: bool, percent: bool
) -> tuple[ObjectArray, ObjectArray]:
    """Typed cells of one column and, per cell, why it was kept as text (``""``: it was not).

    A cell is kept as text when it reads as no number or date (`_UNREAD`), or when it
    does but Excel cannot hold the value (`limits.date_problem`, `limits.number_problem`).
    """
    if kind == "text":
        texts, _ = clean_texts(values)
        out = texts.astype(object)
        out[out == ""] = None
        return out, np.full(len(out), "", dtype=object)

    def convert(cell: object) -> tuple[object, str]:
        if cell is None or is_blank(cell):
            return None, ""
        if kind == "date":
            day = parse_date(cell, month_first=month_first)
            if day is None:
                return clean_text(cell), _UNREAD
            problem = date_problem(day)
            return (clean_text(cell), problem) if problem else (_midnight(day), "")
        rate = kind == "rate"
        number = parse_number(cell, rate=rate, decimal_comma=decimal_comma)
        problem = number_problem(cell, number)
        if problem:
            return clean_text(cell), problem
        if number is None:
            return clean_text(cell), _UNREAD
        if rate and percent and not (isinstance(cell, str) and "%" in cell):
            number /= 100.0
        return number, ""

    pairs = _per_distinct(values, convert)
    out = np.empty(len(pairs), dtype=object)
    why = np.empty(len(pairs), dtype=object)
    for i, (value, reason) in enumerate(pairs.tolist()):
        out[i], why[i] = value, reason
    return out, why


def _fit_raw(
    raw: ObjectArray,
    header: str,
    rows: npt.NDArray[np.int64],
    notes: list[Note],
    issues: list[CellIssue],
) -> ObjectArray:
    """A column's cells without XML's control characters and within Excel's text limit.

    Control characters removed are one note for the column; each text cut to
    `excel.TEXT_LIMIT` characters is a `CellIssue` (`limits`).
    """
    raw, controlled = without_controls(raw)
    if controlled.any():
        count = int(controlled.sum())
        notes.append(
            Note(
                "warning",
                f"{header}: {counted(count, 'cell')} held control characters that a "
                f"workbook cannot store (U+0000-U+001F except tab, LF and CR); "
                f"removed (export rows {_some_rows(rows[controlled])})",
            )
        )
    found = raw
    raw, cut = fit_long_texts(raw)
    for pos, length in cut.items():
        issues.append(
            CellIssue(
                int(rows[pos]),
                header,
                f"a text of {length:,} characters, more than the {TEXT_LIMIT:,} an Excel "
                f"cell holds; its first {TEXT_LIMIT:,} kept",
                shown(str(found[pos])),
            )
        )
    return raw


def _lost_name(stages: Stages) -> str:
    """The stage a lost deal goes to: the Lost stage, else the word validation reads as lost."""
    return stages.lost.name if stages.lost is not None else STATUS_LABELS["lost"]


def _stage_lookup(
    stages: Stages, stage_map: Mapping[str, str]
) -> Callable[[str], tuple[str, StatusWord | None]]:
    """Export stage text -> (workbook stage name, status); unknown: (text, None)."""
    lost_name = _lost_name(stages)
    folded = {norm_key(k): v for k, v in stage_map.items()}

    def find(text: str) -> tuple[str, StatusWord | None]:
        for candidate in stage_spellings(text):
            if not candidate:
                continue
            mapped = folded.get(norm_key(candidate))
            stage = stages.find(mapped if mapped is not None else candidate)
            if stage is not None:
                return stage.name, stage.status
            word = status_word(candidate)
            if word == "won":
                return stages.won.name, word
            if word == "lost":
                return lost_name, word
        return text, None

    return find


def _some_rows(rows: npt.NDArray[np.int64], limit: int = 5) -> str:
    shown = ", ".join(str(r) for r in rows[:limit].tolist())
    return shown + (", ..." if len(rows) > limit else "")


def price_list(frame: pd.DataFrame, product: str, price: str) -> dict[str, tuple[str, float]]:
    """Product name folded by `contract.norm_key` -> (name as written, price), from a price table.

    Raises:
        InputError: the table lacks the product or the price column.

    """
    heads = {norm_key(c): c for c in frame.columns}
    if norm_key(product) not in heads or norm_key(price) not in heads:
        raise InputError(
            "the price list has no product or price column",
            expected=f"columns {product} and {price}",
        )
    names = frame[heads[norm_key(product)]].tolist()
    prices = frame[heads[norm_key(price)]].tolist()
    out: dict[str, tuple[str, float]] = {}
    for name, value in zip(names, prices, strict=True):
        number = parse_number(value)
        if number is not None and clean_text(name):
            out.setdefault(norm_key(name), (clean_text(name), number))
    return out


@dataclass
class _Build:
    """Working state of `convert_export`."""

    values: dict[str, ObjectArray]
    status: ObjectArray
    notes: list[Note]


def convert_export(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    stages: Stages,
    *,
    rows: Sequence[int] | npt.NDArray[np.int64] | None = None,
    decimal_comma: bool = False,
    month_first: bool | None = None,
    stage_map: Mapping[str, str] | None = None,
    prices: Mapping[str, tuple[str, float]] | None = None,
    preset: Preset | None = None,
    prices_name: str = "the price list",
) -> Incoming:
    """The export's deals as Prospects cells (module docstring), with notes on what was done.

    ``frame``: the export's data rows, columns in header order; ``rows``: their row
    numbers in the file (default: 2, 3, ...). ``decimal_comma`` is the file's convention
    for ambiguous numbers (``1.234``); ``month_first`` the day/month order the file's
    dates tell (None: they do not), for a date column whose own dates do not tell
    (``03/04/2026``). ``stage_map``: CRM stage -> workbook stage (`mapping.stage_map_for`).
    ``prices`` (from `price_list`) prices open deals without an amount and lost deals
    at zero, by the product in ``preset.product_field``.

    Rows without an ID are skipped; an ID given twice with the same values is imported
    once, with different values it is a conflict: reported and not imported. Without an
    ID column, deals are keyed by `keys.deal_key`.
    """
    n = len(frame)
    row_numbers = (
        np.arange(2, n + 2, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    )
    notes: list[Note] = []
    issues: list[CellIssue] = []
    values: dict[str, ObjectArray] = {}
    for name, positions in mapping.columns.items():
        header = PROSPECTS.header(name)
        raw = _fit_raw(_coalesce(frame, positions), header, row_numbers, notes, issues)
        kind = kind_of(name)
        percent = "%" in mapping.headers[positions[0]]
        first = False
        if kind == "date":
            first = _date_order(raw, header, notes, file_month_first=month_first)
        options = {"decimal_comma": decimal_comma, "month_first": first}
        converted, why = _convert_column(raw, kind, percent=percent, **options)
        if kind == "rate" and not percent:
            # A 0-100 column (35 meaning 35 %): every cell without a % sign is divided.
            numbers = [v for v in converted if isinstance(v, float)]
            if numbers and max(numbers) > 1.0:
                converted, why = _convert_column(raw, kind, percent=True, **options)
        unread = np.flatnonzero(why == _UNREAD)
        if len(unread):
            bad = len(unread)
            notes.append(
                Note(
                    "warning",
                    f"{header}: {counted(bad, 'cell')} could not be read and "
                    f"{'was' if bad == 1 else 'were'} kept as text (export rows "
                    f"{_some_rows(row_numbers[unread])})",
                )
            )
        for pos in np.flatnonzero((why != "") & (why != _UNREAD)).tolist():
            issue = CellIssue(int(row_numbers[pos]), header, str(why[pos]), shown(str(raw[pos])))
            issues.append(issue)
        values[name] = converted
    build = _Build(values, np.full(n, "", dtype=object), notes)
    _resolve_stages(build, stages, stage_map or {})
    if mapping.close_date_closes:
        _close_dates(build)
    if prices is not None and preset is not None and preset.product_field in values:
        _price(build, prices, preset.product_field or "", prices_name)
    _blank_notes(build, mapping)
    if "id" in values:
        ids = values.pop("id")
    elif mapping.keyed_by:
        ids = deal_keys(values, mapping.keyed_by, notes)
    else:  # metrics of an export without ID or Name: each row is a deal
        ids = np.asarray([f"row {r}" for r in row_numbers.tolist()], dtype=object)
    keep = np.asarray([v is not None for v in ids], dtype=bool)
    if not keep.all():
        missing = row_numbers[~keep]
        what = "an ID" if "id" in mapping.columns else "anything to key them by"
        notes.append(
            Note(
                "warning",
                f"{counted(len(missing), 'row')} without {what} skipped "
                f"(export rows {_some_rows(missing)})",
            )
        )
    currency = _currency(frame, mapping, notes) if mapping.currency else None
    incoming = Incoming(
        ids=ids[keep],
        values={PROSPECTS.header(k): v[keep] for k, v in build.values.items()},
        rows=row_numbers[keep],
        status=build.status[keep],
        notes=notes,
        read=n,
        currency=currency,
        issues=_issues_of(issues, row_numbers[keep]),
    )
    return _dedupe(incoming)


def _issues_of(issues: list[CellIssue], rows: npt.NDArray[np.int64]) -> list[CellIssue]:
    """The issues of the export rows ``rows`` (the deals imported), in export order."""
    kept = set(rows.tolist())
    return sorted((i for i in issues if i.row in kept), key=lambda i: i.row)


def _date_order(
    raw: ObjectArray, header: str, notes: list[Note], *, file_month_first: bool | None
) -> bool:
    """Whether a date column reads month first: its own dates, else the file's; reported."""
    order: DateOrder = date_order(raw)
    if order.mixed:
        read = "month" if order.order == "month" else "day"
        notes.append(
            Note(
                "warning",
                f"{header}: dates of both orders ({order.month_example} can only be month "
                f"first, {order.day_example} only day first); dates that read both ways "
                f"are read {read} first: check the column",
            )
        )
    if order.order is not None:
        return order.order == "month"
    if order.ambiguous and file_month_first is None:
        notes.append(
            Note(
                "warning",
                f"{header}: {counted(order.ambiguous, 'date')} such as "
                f"{order.ambiguous_example} could be day/month or month/day and no date "
                f"of the file tells; read day first: check them",
            )
        )
    return bool(file_month_first)


def _currency(frame: pd.DataFrame, mapping: ColumnMapping, notes: list[Note]) -> str | None:
    """The one ISO currency of the export's currency column, else None (reported)."""
    texts, _ = clean_texts(_coalesce(frame, mapping.currency))
    typed = [t for t in texts.tolist() if t]
    counts = Counter(t.upper() for t in typed)
    column = mapping.headers[mapping.currency[0]]
    if len(counts) > 1:
        listed = ", ".join(f"{shown(c)} ({k:,})" for c, k in counts.most_common(5))
        notes.append(
            Note(
                "warning",
                f"{column}: amounts in several currencies ({listed}); the workbook has one "
                f"currency and amounts are not converted",
            )
        )
        return None
    if not counts:
        return None
    try:
        return currency_code(typed[0], argument=column)
    except InputError as err:
        notes.append(Note("warning", str(err)))
        return None


def _resolve_stages(build: _Build, stages: Stages, stage_map: Mapping[str, str]) -> None:
    """Stage names to the workbook's; status from the stage or a Status column."""
    values, notes = build.values, build.notes
    stage = values["stage"]
    find = _stage_lookup(stages, stage_map)
    found = _per_distinct(stage, lambda t: find(t) if isinstance(t, str) else ("", None))
    names = np.empty(len(found), dtype=object)
    names[:] = [None if not f[0] else f[0] for f in found]
    unknown = np.asarray([f[1] is None and bool(f[0]) for f in found], dtype=bool)
    # A stage the workbook does not know is an open stage (Won and Lost words are known).
    status = np.asarray([f[1] or ("open" if f[0] else "") for f in found], dtype=object)
    folded = {norm_key(k) for k in stage_map}
    renamed = Counter(
        (clean_text(t), n)
        for t, n, f in zip(stage.tolist(), names.tolist(), found.tolist(), strict=True)
        if isinstance(t, str) and f[1] == "open" and norm_key(t) in folded
    )
    if renamed:
        listed = ", ".join(f"{shown(t)} -> {n} ({c:,})" for (t, n), c in sorted(renamed.items()))
        notes.append(Note("info", f"stages mapped onto the workbook's: {listed}"))
    if unknown.any():
        counts = Counter(names[unknown].tolist())
        listed = ", ".join(f"{shown(str(s))} ({c:,})" for s, c in counts.most_common(8))
        first = shown(str(counts.most_common(1)[0][0]))
        notes.append(
            Note(
                "warning",
                f"stages not in the workbook's {STAGES.sheet} table, written as "
                f"they are: {listed}. Validation leaves these deals out until the "
                f"{STAGES.sheet} sheet has them, or map them onto its stages "
                f"({', '.join(s.name for s in stages.open)}): "
                f'--stage-map "{first}={stages.open[0].name},..."',
            )
        )
    if "status" in values:
        words = _per_distinct(values["status"], status_word)
        given = values["status"]
        odd = np.asarray([w is None and g is not None for w, g in zip(words, given, strict=True)])
        if odd.any():
            listed = ", ".join(shown(g) for g in sorted({str(g) for g in given[odd]})[:5])
            notes.append(
                Note(
                    "warning",
                    f"{PROSPECTS.header('status')}: {counted(int(odd.sum()), 'deal')} with a "
                    f"status that is not open, won or lost ({listed}); status taken "
                    f"from the stage",
                )
            )
        closing = np.asarray([w in {"won", "lost"} for w in words], dtype=bool)
        moved = closing & (status != words)
        if moved.any():
            lost_name = _lost_name(stages)
            lost_from = moved & (words == "lost") & (status == "open")
            if lost_from.any() and "reached" not in values:
                reached = np.full(len(stage), None, dtype=object)
                reached[lost_from] = names[lost_from]
                values["reached"] = reached
            names[moved & (words == "won")] = stages.won.name
            names[moved & (words == "lost")] = lost_name
            status[moved] = words[moved]
            notes.append(
                Note(
                    "info",
                    f"{counted(int(moved.sum()), 'deal')} moved to "
                    f"{stages.won.name} or {lost_name} as their status says; "
                    f"a lost deal's stage is kept as its {PROSPECTS.header('reached')}",
                )
            )
        text = np.empty(len(words), dtype=object)
        text[:] = [g if w is None else STATUS_LABELS[w] for w, g in zip(words, given, strict=True)]
        values["status"] = text
    values["stage"] = names
    build.status = status


def _close_dates(build: _Build) -> None:
    """Won and lost deals take the close-date column as their close date too."""
    values = build.values
    closing = np.isin(build.status, ["won", "lost"])
    closed = np.full(len(closing), None, dtype=object)
    closed[closing] = values["expected_close"][closing]
    values["closed"] = closed


def _price(
    build: _Build, prices: Mapping[str, tuple[str, float]], product_field: str, source: str
) -> None:
    """Open deals without an amount and lost deals at zero take the product's price."""
    values, notes, status = build.values, build.notes, build.status
    amount = values["amount"].copy()
    products = values[product_field]
    keys = _per_distinct(products, lambda p: norm_key(p) if isinstance(p, str) else "")
    price = _per_distinct(keys, lambda k: prices[str(k)][1] if k in prices else None)
    blank = np.asarray([a is None for a in amount], dtype=bool)
    zero = np.asarray([isinstance(a, float) and a == 0.0 for a in amount], dtype=bool)
    known = np.asarray([p is not None for p in price], dtype=bool)
    open_blank = (status == "open") & blank
    lost_zero = (status == "lost") & zero
    cases: tuple[tuple[npt.NDArray[np.bool_], str, Literal["info", "warning"]], ...] = (
        (open_blank, "open deals without an amount", "info"),
        (lost_zero, "lost deals at 0", "warning"),
    )
    for mask, what, severity in cases:
        if not mask.any():
            continue
        priced = mask & known
        amount[priced] = price[priced]
        text = (
            f"Amount: {counted(int(priced.sum()), 'deal')} of the {int(mask.sum()):,} {what} "
            f"priced at their product's price from {source}"
        )
        if what.startswith("lost"):
            text += " (so the value win rate counts them)"
        unpriced = mask & ~known
        if unpriced.any():
            names = [
                shown(p) for p in sorted({str(p) for p in products[unpriced] if p is not None})
            ][:5]
            text += f"; {int(unpriced.sum()):,} left as they are (product not in the list: "
            text += f"{', '.join(names) or 'blank'})"
        notes.append(Note(severity, text))
    used = known & (open_blank | lost_zero)
    odd = sorted(
        {
            f"{shown(str(p))} = {prices[str(k)][0]}"
            for p, k in zip(products[used].tolist(), keys[used].tolist(), strict=True)
            if clean_text(p) != prices[str(k)][0]
        }
    )
    if odd:
        notes.append(
            Note("info", f"product names matched ignoring case and spaces: {', '.join(odd[:5])}")
        )
    values["amount"] = amount


def _blank_notes(build: _Build, mapping: ColumnMapping) -> None:
    """Report mapped columns with blank cells, with the stages those deals sit in."""
    values, notes = build.values, build.notes
    stage = values["stage"]
    closing = np.isin(build.status, ["won", "lost"])
    for name in mapping.columns:
        if name in {"id", "status"}:
            continue
        blank = np.asarray([v is None for v in values[name]], dtype=bool)
        if name == "closed":
            blank &= closing  # open deals have no close date yet
        elif name == "expected_close":
            blank &= build.status == "open"
        if not blank.any():
            continue
        counts = Counter(str(s) for s in stage[blank] if s is not None)
        where = ", ".join(f"{s} {c:,}" for s, c in counts.most_common(3))
        notes.append(
            Note(
                "info",
                f"{PROSPECTS.header(name)}: {counted(int(blank.sum()), 'deal')} "
                f"blank" + (f" (by stage: {where})" if where else ""),
            )
        )


def _dedupe(incoming: Incoming) -> Incoming:
    """One row per ID: identical repeats dropped, conflicting IDs left out and reported."""
    ids = incoming.ids
    codes, uniques = pd.factorize(ids)
    if len(uniques) == len(ids):
        return incoming
    counts = np.bincount(codes)
    repeated = np.flatnonzero(counts[codes] > 1)
    keep = np.ones(len(ids), dtype=bool)
    groups: dict[int, list[int]] = {}
    for i in repeated.tolist():
        groups.setdefault(int(codes[i]), []).append(i)
    same = 0
    for members in groups.values():
        first = members[0]
        differ = [
            h
            for h, col in incoming.values.items()
            if any(not same_cell(col[first], col[j]) for j in members[1:])
        ]
        keep[members[1:]] = False
        if differ:
            keep[first] = False
            rows = ", ".join(str(incoming.rows[j]) for j in members)
            incoming.conflicts.append(
                f"ID {shown(str(ids[first]))} is on export rows {rows} with different "
                f"{', '.join(differ)}; "
                f"not imported"
            )
        else:
            same += len(members) - 1
    if same:
        incoming.notes.append(
            Note(
                "info",
                f"{counted(same, 'repeated row')} with the same "
                f"values as an earlier row of the same ID imported once",
            )
        )
    return Incoming(
        ids=ids[keep],
        values={h: v[keep] for h, v in incoming.values.items()},
        rows=incoming.rows[keep],
        status=incoming.status[keep],
        notes=incoming.notes,
        conflicts=incoming.conflicts,
        read=incoming.read,
        currency=incoming.currency,
        issues=_issues_of(incoming.issues, incoming.rows[keep]),
    )
