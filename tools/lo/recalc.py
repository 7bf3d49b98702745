"""Recalculate a workbook in headless LibreOffice and save it, or dump cell values as JSON.

Usage (system Python with python3-uno, not the project's virtualenv)::

    /usr/bin/python3 tools/lo/recalc.py IN.xlsm OUT.xlsx
    /usr/bin/python3 tools/lo/recalc.py IN.xlsm - --json cells.json \
        --range Dashboard!A1:I40 --range Stages!A1:F8

``OUT`` may be ``-`` to skip saving. ``soffice --convert-to`` keeps cached values, so the
document is loaded over UNO, ``calculateAll()`` runs, then it is stored. The JSON holds, per
range, every non-empty cell: ``{"Dashboard": {"B9": {"value": 1.0, "text": "1",
"formula": "=...", "error": 0}}}``; ``error`` is LibreOffice's error code (0 = none,
e.g. 525 = #NAME?, 532 = #DIV/0!).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _office import UnoObject, open_document, store

_EMPTY = "EMPTY"
_RESULT_TEXT = 2  # com.sun.star.sheet.FormulaResult.STRING


def _cell_record(cell: UnoObject) -> dict[str, Any] | None:
    kind = cell.getType().value  # EMPTY, VALUE, TEXT, FORMULA
    if kind == _EMPTY:
        return None
    error = int(cell.getError())
    formula = cell.getFormula() if kind == "FORMULA" else ""
    text = cell.getString()
    is_text = kind == "TEXT" or (
        kind == "FORMULA" and cell.FormulaResultType2 == _RESULT_TEXT and not error
    )
    value: float | None = None if (is_text or error) else float(cell.getValue())
    return {"value": value, "text": text, "formula": formula, "error": error}


def dump_ranges(doc: UnoObject, ranges: list[str]) -> dict[str, dict[str, Any]]:
    """Non-empty cells of each ``Sheet!A1:B2`` range, keyed by sheet then cell address."""
    out: dict[str, dict[str, Any]] = {}
    sheets = doc.getSheets()
    for spec in ranges:
        sheet_name, _, address = spec.rpartition("!")
        sheet_name = sheet_name.strip("'")
        if not sheets.hasByName(sheet_name):
            raise SystemExit(f"no sheet named {sheet_name!r}")
        sheet = sheets.getByName(sheet_name)
        block = sheet.getCellRangeByName(address)
        addr = block.getRangeAddress()
        cells = out.setdefault(sheet_name, {})
        for row in range(addr.StartRow, addr.EndRow + 1):
            for col in range(addr.StartColumn, addr.EndColumn + 1):
                record = _cell_record(sheet.getCellByPosition(col, row))
                if record is not None:
                    cells[f"{_column_letters(col)}{row + 1}"] = record
    return out


def _column_letters(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", help="output .xlsx/.ods path, or - to skip saving")
    parser.add_argument("--json", type=Path, help="write cell values of --range blocks here")
    parser.add_argument("--range", action="append", default=[], help="Sheet!A1:B2 (repeatable)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for soffice")
    parser.add_argument(
        "--no-recalc", action="store_true", help="keep the cached values (dump them as stored)"
    )
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"no such file: {args.source}")
    with open_document(args.source, timeout=args.timeout) as doc:
        if not args.no_recalc:
            doc.calculateAll()
        if args.out != "-":
            store(doc, Path(args.out))
        if args.json is not None:
            data = dump_ranges(doc, args.range)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
