"""An import and a refresh started together on a 20,000-deal workbook, run many times.

Each run copies the same ready workbook (20,000 sample deals), then starts
``pipeline-xl import`` (an export changing the amount of 2,000 deals) and
``pipeline-xl refresh --as-of DAY`` at the same moment, each with the default wait for
the workbook's lock. Afterwards the final file must hold every imported change and the
refresh (the Variance sheet as of DAY). Prints one line per run and a summary; exit
status 1 when a change was lost, a command failed or the refresh is missing.

    python benchmarks/concurrent_writes.py --runs 25
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from python_calamine import CalamineWorkbook

AS_OF = date(2026, 11, 30)
DAY = "2026-12-07"
CLI = Path(sys.executable).parent / "pipeline-xl"


def _prospects(path: Path) -> list[list[object]]:
    book = CalamineWorkbook.from_path(str(path), load_tables=True)
    table = book.get_table_by_name("tblProspects")
    return [list(table.columns), *table.to_python()]


def _export(book: Path, target: Path, every: int) -> dict[str, float]:
    """Change the amount of every ``every``-th deal; returns ID -> new amount."""
    rows = _prospects(book)
    header = rows[0]
    i, s, a = header.index("ID"), header.index("Stage"), header.index("Amount")
    changes = {str(r[i]): float(r[a]) + 111.0 for r in rows[1::every]}
    stages = {str(r[i]): r[s] for r in rows[1:]}
    with target.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["ID", "Stage", "Amount"])
        out.writerows([deal, stages[deal], amount] for deal, amount in changes.items())
    return changes


def _one_run(base: Path, export: Path, changes: dict[str, float], folder: Path) -> str:
    book = folder / "Book.xlsm"
    shutil.copyfile(base, book)
    commands = [
        [str(CLI), "import", str(export), "--into", str(book)],
        [str(CLI), "refresh", str(book), "--as-of", DAY],
    ]
    started = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603 - fixed arguments
             for c in commands]  # fmt: skip
    outs = [p.communicate(timeout=600) for p in procs]
    took = time.perf_counter() - started
    codes = [p.returncode for p in procs]
    rows = _prospects(book)
    header = rows[0]
    i, a = header.index("ID"), header.index("Amount")
    amounts = {str(r[i]): r[a] for r in rows[1:]}
    lost = sum(1 for deal, amount in changes.items() if amounts.get(deal) != amount)
    variance = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("Variance").to_python()
    refreshed = str(variance[1][0]).startswith(f"As of {DAY}")
    errors = " | ".join(err.strip() for _, err in outs if err.strip())
    return (
        f"exit codes {codes}, {lost} of {len(changes)} imported changes lost, "
        f"refresh {'present' if refreshed else 'MISSING'}, {took:.1f} s"
        + (f"; stderr: {errors}" if errors else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--deals", type=int, default=20_000)
    args = parser.parse_args()
    from pipeline_xl.usecases.new import new_workbook

    folder = Path(tempfile.mkdtemp(prefix="concurrent_"))
    try:
        base = new_workbook(folder / "base.xlsm", company="Bench", sample=args.deals, as_of=AS_OF)
        export = folder / "changes.csv"
        changes = _export(base, export, every=10)
        bad = 0
        for n in range(1, args.runs + 1):
            run_folder = folder / f"run{n}"
            run_folder.mkdir()
            line = _one_run(base, export, changes, run_folder)
            ok = line.startswith("exit codes [0, 0], 0 of") and "present" in line
            bad += not ok
            print(f"run {n:2d}: {line}", flush=True)
            shutil.rmtree(run_folder, ignore_errors=True)
        print(f"{args.runs} runs, {bad} with a lost change, a failed command or no refresh")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
