"""Benchmark: import a 100,000-row CRM export into an empty workbook (target <= 10 s).

`case_import` follows the contract of ``benchmarks/run.py`` (seconds, baseline, ratio,
peak_mb); the baseline is pandas reading the same CSV. Run alone with
``python benchmarks/bench_import.py``.
"""

from __future__ import annotations

import csv
import json
import resource
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

AS_OF = date(2026, 11, 30)
STAGES = ["Lead", "Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]


def write_export(path: Path, n: int, seed: int = 3) -> Path:
    """A Salesforce-shaped opportunity export of ``n`` deals (fixed seed)."""
    rng = np.random.default_rng(seed)
    stage = rng.integers(0, len(STAGES), n)
    created = rng.integers(0, 700, n)
    length = rng.integers(5, 200, n)
    amount = rng.integers(10, 5000, n) * 25.0
    owners = [f"Rep {i:02d}" for i in range(40)]
    start = AS_OF - timedelta(days=800)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Opportunity ID", "Opportunity Name", "Account Name", "Opportunity Owner",
                      "Lead Source", "Stage", "Amount", "Probability (%)", "Close Date",
                      "Created Date", "Forecast Category", "Type"])  # fmt: skip
        for i in range(n):
            made = start + timedelta(days=int(created[i]))
            close = made + timedelta(days=int(length[i]))
            out.writerow([
                f"006{i:09d}", f"Deal {i}", f"Account {i % 9000}", owners[i % 40],
                ("Web", "Partner", "Event")[i % 3], STAGES[stage[i]], f"{amount[i]:.2f}",
                str(min(100, 10 + 20 * int(stage[i]))), close.strftime("%m/%d/%Y"),
                made.strftime("%m/%d/%Y"), "Pipeline", "New Business",
            ])  # fmt: skip
    return path


def case_import(n: int = 100_000) -> dict[str, float]:
    """Seconds to import ``n`` deals (read, map, convert, diff, write) vs pandas read_csv."""
    import pandas as pd

    from pipeline_xl.usecases.importing import import_export
    from pipeline_xl.usecases.new import new_workbook

    folder = Path(tempfile.mkdtemp(prefix="bench_import_"))
    try:
        export = write_export(folder / "opportunities.csv", n)
        empty = new_workbook(
            folder / "empty.xlsm",
            company="Bench",
            sample=None,
            empty=True,
            currency="EUR",
            fiscal_start=1,
            as_of=AS_OF,
        )
        book = folder / "pipeline.xlsm"
        shutil.copyfile(empty, book)
        start = time.perf_counter()
        pd.read_csv(export, dtype=str, keep_default_na=False)
        base = time.perf_counter() - start
        start = time.perf_counter()
        result = import_export(export, book, preset="salesforce")
        took = time.perf_counter() - start
        assert result.written
        assert len(result.plan.added) == n
        start = time.perf_counter()
        again = import_export(export, book, preset="salesforce")
        reimport = time.perf_counter() - start
        assert not again.plan.changed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": peak,
            "reimport_seconds": reimport}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(case_import()))
