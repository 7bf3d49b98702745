"""Speed and memory benchmarks with their targets; `make bench` prints the table.

Each figure is reported with a baseline measured in the same run, so a slow machine moves
both. Peak memory comes from a fresh subprocess per case (resident set high-water mark).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 30)


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_pipeline(n: int) -> dict[str, float]:
    """Validate + forecast + backward plan + variance against building the DataFrames.

    The sample company of ``n`` prospects also has its activities and snapshot change log
    (about 1.5 and 2 rows per prospect); the job validates every table.
    """
    import pandas as pd

    from pipeline_xl.core.forecast import forecast_table
    from pipeline_xl.core.planning import backward_plan
    from pipeline_xl.core.sample import generate
    from pipeline_xl.core.schema import validate
    from pipeline_xl.core.variance import variance_table

    tables = generate(n, as_of=AS_OF, seed=11).tables
    # The rows as Excel hands them over: a header row and lists of cell values.
    prospects = tables["Prospects"]
    rows = [list(prospects.columns), *prospects.astype(object).values.tolist()]
    others = {
        name: [list(t.columns), *t.astype(object).values.tolist()]
        for name, t in tables.items()
        if name != "Prospects"
    }

    def baseline() -> object:
        # Only building DataFrames from the same rows, every table the job reads.
        frames = [pd.DataFrame(rows[1:], columns=rows[0])]
        frames += [pd.DataFrame(t[1:], columns=t[0]) for t in others.values()]
        return frames

    def job() -> object:
        model = validate(
            rows, others["Stages"], others["Targets"], others["Activities"],
            others["Snapshots"], others["Settings"], as_of=AS_OF,
        )  # fmt: skip
        table = forecast_table(model)
        current = model.settings.current_period
        backward_plan(model, current)
        backward_plan(model, current.next())
        return variance_table(model, forecast=table)

    base = best_of(baseline)
    took = best_of(job)
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": rss_mb(),
            "snapshot_rows": len(others["Snapshots"]) - 1}  # fmt: skip


def case_montecarlo(deals: int, trials: int) -> dict[str, float]:
    """Monte Carlo of open deals x trials against drawing the same uniforms with numpy."""
    import numpy as np

    from pipeline_xl.core.forecast import simulate
    from pipeline_xl.core.model import (
        Model,
        Settings,
        activities_frame,
        default_stages,
        prospects_frame,
        snapshots_frame,
        targets_frame,
    )

    rng = np.random.default_rng(5)
    stages = default_stages()
    names = [s.name for s in stages.open]
    months = rng.integers(0, 6, deals)
    records = [
        {"id": f"D{i}", "stage": names[i % len(names)],
         "amount": float(rng.integers(1, 100) * 1000),
         "owner": f"Rep {i % 20}", "expected_close": AS_OF + timedelta(days=30 * int(m))}
        for i, m in enumerate(months)
    ]  # fmt: skip
    model = Model(
        prospects=prospects_frame(records, stages),
        stages=stages,
        targets=targets_frame([{"period": "2026-12", "revenue": 5e6}]),
        activities=activities_frame([]),
        snapshots=snapshots_frame([]),
        settings=Settings(as_of=AS_OF),
        issues=prospects_frame([]).iloc[:0],
    )
    before = rss_mb()

    def baseline() -> object:
        gen = np.random.default_rng(1)
        for _ in range(trials // 1000):
            gen.random((1000, deals), dtype=np.float32)
        return None

    def job() -> object:
        return simulate(model, np.random.default_rng(1), trials=trials)

    base = best_of(baseline, 2)
    took = best_of(job, 2)
    return {"seconds": took, "baseline": base, "ratio": took / base,
            "peak_mb": rss_mb(), "peak_increase_mb": rss_mb() - before}  # fmt: skip


def case_scalar() -> dict[str, float]:
    """One PIPE_REQUIRED_CALLS computation against the naive float chain."""
    import math
    import timeit

    from pipeline_xl.core.planning import required_calls

    rates = [0.25, 0.4, 0.625, 0.8]

    def naive() -> float:
        count = math.ceil((500000 - 100000 - 100000) / 25000)
        for r in reversed(rates):
            count = math.ceil(count / r)
        return count

    def job() -> int:
        return required_calls(500000, 25000, rates, 100000, 100000)

    n = 20000
    base = min(timeit.repeat(naive, number=n, repeat=5)) / n
    took = min(timeit.repeat(job, number=n, repeat=5)) / n
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": rss_mb()}


def case_import() -> dict[str, float]:
    """Importing a 100,000-row CRM export into a workbook, against pandas reading the CSV."""
    from bench_import import case_import as run  # benchmarks/bench_import.py

    return run(100_000)


def case_refresh(n: int) -> dict[str, float]:
    """Headless refresh of an n-prospect workbook against calamine reading its sheets.

    The workbook is the sample company a week after it was built, with 0.5% of its deals
    changed since (their amounts), so the refresh records a new snapshot and appends to
    the Snapshots log: the daily case.
    """
    import shutil
    import tempfile

    from python_calamine import CalamineWorkbook

    from pipeline_xl.io.package import Package
    from pipeline_xl.io.reader import read_workbook
    from pipeline_xl.io.tables import replace_table_rows
    from pipeline_xl.usecases.new import new_workbook
    from pipeline_xl.usecases.refresh import refresh_file

    folder = Path(tempfile.mkdtemp(prefix="bench_refresh_"))
    try:
        book = new_workbook(
            folder / "big.xlsm",
            company="Bench",
            sample=n,
            empty=False,
            currency="EUR",
            fiscal_start=1,
            as_of=AS_OF,
        )
        rows = [list(r) for r in read_workbook(book).table("Prospects")]
        header, amount = rows[0], rows[0].index("Amount")
        for row in rows[1::200]:
            row[amount] = (row[amount] or 0.0) + 1000.0
        package = Package.open(book)
        replace_table_rows(package, "tblProspects", header, rows[1:], ["auto"] * len(header))
        changed = package.to_bytes()

        def read_all() -> object:
            workbook = CalamineWorkbook.from_path(str(book))
            return [workbook.get_sheet_by_name(s).to_python() for s in workbook.sheet_names]

        def refresh() -> object:
            book.write_bytes(changed)  # each run refreshes the same file
            return refresh_file(book, as_of=AS_OF + timedelta(days=7), backup=False)

        book.write_bytes(changed)
        base = best_of(read_all, 2)
        took = best_of(refresh, 2)
        added = refresh().snapshot_rows_added
        assert added >= n // 200, added
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": rss_mb()}


def case_lying_zip() -> dict[str, float]:
    """Refusing a workbook whose sharedStrings part inflates to 1.87 GB but declares 2 MB."""
    from bench_safety import case_lying_zip as run  # benchmarks/bench_safety.py

    return run()


CASES: dict[str, Callable[[], dict[str, float]]] = {
    "pipeline_100k": lambda: case_pipeline(100_000),
    "montecarlo_10k_x_10k": lambda: case_montecarlo(10_000, 10_000),
    "required_calls": case_scalar,
    "import_100k": case_import,
    "refresh_100k": lambda: case_refresh(100_000),
    "lying_zip": case_lying_zip,
}
# name -> (max seconds, max ratio to baseline or None, max peak MB or None)
TARGETS: dict[str, tuple[float, float | None, float | None]] = {
    "pipeline_100k": (1.0, 5.0, None),
    "montecarlo_10k_x_10k": (2.0, None, 500.0),
    "required_calls": (20e-6, None, None),
    "import_100k": (10.0, None, None),
    "refresh_100k": (8.0, 3.0, None),
    "lying_zip": (1.0, None, 200.0),
}


def run_case(name: str) -> dict[str, float]:
    """Run one case in a fresh interpreter so its peak memory is its own."""
    out = subprocess.run(  # noqa: S603 - runs this same file with a fixed argument list
        [sys.executable, __file__, "--case", name],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.1f} us"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=sorted(CASES))
    args = parser.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case]()))
        return 0
    failed = False
    header = f"{'case':24} {'time':>10} {'baseline':>10} {'ratio':>7} {'peak MB':>8}  target"
    print(header)
    print("-" * len(header))
    for name in CASES:
        result = run_case(name)
        max_s, max_ratio, max_mb = TARGETS[name]
        ok = result["seconds"] <= max_s
        ok &= max_ratio is None or result["ratio"] <= max_ratio
        peak = result.get("peak_increase_mb", result["peak_mb"])
        ok &= max_mb is None or peak <= max_mb
        failed |= not ok
        goal = f"<= {fmt_seconds(max_s)}"
        goal += f", <= {max_ratio:g}x" if max_ratio else ""
        goal += f", <= {max_mb:g} MB" if max_mb else ""
        print(
            f"{name:24} {fmt_seconds(result['seconds']):>10} {fmt_seconds(result['baseline']):>10}"
            f" {result['ratio']:>6.1f}x {peak:>8.0f}  {goal} {'ok' if ok else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
