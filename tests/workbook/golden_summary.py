"""A JSON summary of the workbook's structure, and the command that rewrites its golden copy.

The golden file changes only on purpose::

    .venv/bin/python -m tests.workbook.golden_summary --update

then review ``git diff tests/workbook/golden/structure.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from python_calamine import CalamineWorkbook

from pipeline_xl.workbook import spec
from pipeline_xl.workbook.builder import build_workbook
from tests.workbook import xlsx_parts as xp
from tests.workbook.handmade import AS_OF, hand_tables

GOLDEN = Path(__file__).with_name("golden") / "structure.json"


def summarize(path: Path) -> dict[str, object]:
    """Sheets, code names, tables, lists, names, buttons, formulas, xlwings.conf, calcPr."""
    book = xp.open_book(path)
    dashboard = xp.cells(book.sheet("Dashboard"))
    formulas = {
        ref: c["f"] + (" [array]" if c["f_attrs"].get("t") == "array" else "")
        for ref, c in sorted(dashboard.items())
        if c["f"]
    }
    conf_rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("xlwings.conf").to_python()
    return {
        "sheets": [{"name": s.name, "codename": xp.codename(s)} for s in book.sheets],
        "workbook_codename": book.workbook.find("m:workbookPr", xp.NS).get("codeName"),
        "tables": xp.tables(book),
        "validations": {s.name: xp.validations(s) for s in book.sheets if xp.validations(s)},
        "names": dict(sorted(book.names.items())),
        "buttons": xp.buttons(book, book.sheet("Dashboard")),
        "dashboard_formulas": formulas,
        "xlwings_conf": [r[:2] for r in conf_rows[: len(spec.XLWINGS_CONF_ROWS)]],
        "vba_project": "xl/vbaProject.bin" in book.zf.namelist(),
        "calc_pr": dict(book.workbook.find("m:calcPr", xp.NS).attrib),
    }


def build_and_summarize() -> dict[str, object]:
    """Build the hand-made company's workbook in a temporary folder and summarise it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = build_workbook(
            Path(tmp) / "golden_book.xlsm", company="Golden Co", tables=hand_tables(), as_of=AS_OF
        )
        return summarize(path)


def main(argv: list[str] | None = None) -> int:
    """Print the summary, or rewrite the golden file with ``--update``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help=f"rewrite {GOLDEN}")
    args = parser.parse_args(argv)
    text = json.dumps(build_and_summarize(), indent=1, ensure_ascii=False) + "\n"
    if args.update:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
