"""Speed and memory benchmarks with their targets; `make bench` prints the table.

Each figure is reported with a baseline measured in the same run, so a slow machine moves
both. Peak memory comes from a fresh subprocess per case (resident set high-water mark).
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
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


def case_lying_zip() -> dict[str, float]:
    """Refusing a workbook whose sharedStrings part inflates to 1.87 GB but declares 2 MB."""
    from bench_safety import case_lying_zip as run  # benchmarks/bench_safety.py

    return run()


def book_case(name: str, n: int, data: Path) -> dict[str, float]:
    """The workbook cases of bench_books.py (the workbooks live in ``data``)."""
    import bench_books as books  # benchmarks/bench_books.py

    kind, _, rest = name.partition("_")
    if kind == "new":
        return books.case_new(data, n)
    if kind == "engine":
        return books.case_engine(n)
    if kind == "pipe":
        return books.case_pipe(n)
    return books.case_refresh(data, n, rest)


SIZES = (10_000, 100_000)
MILLION = 1_000_000
MB_1G, MB_8G = 1024.0, 8192.0

CASES: dict[str, Callable[[Path], dict[str, float]]] = {
    "pipeline_100k": lambda _: case_pipeline(100_000),
    "montecarlo_10k_x_10k": lambda _: case_montecarlo(10_000, 10_000),
    "required_calls": lambda _: case_scalar(),
    "import_100k": lambda _: case_import(),
    "lying_zip": lambda _: case_lying_zip(),
    "pipe_100k": lambda data: book_case("pipe", 100_000, data),
}
# name -> (max seconds, max ratio to baseline or None, max peak MB or None)
TARGETS: dict[str, tuple[float, float | None, float | None]] = {
    "pipeline_100k": (1.0, 5.0, None),
    "montecarlo_10k_x_10k": (2.0, None, 500.0),
    "required_calls": (20e-6, None, None),
    "import_100k": (10.0, None, None),
    "lying_zip": (1.0, None, 200.0),
    "pipe_100k": (1.0, 2.0, None),
}
for _n in (*SIZES, MILLION):
    _k = f"{_n // 1000}k" if _n < MILLION else "1m"
    for _kind in ("engine", "new", "refresh_daily", "refresh_first"):
        CASES[f"{_kind}_{_k}"] = lambda data, n=_n, kind=_kind: book_case(kind, n, data)
TARGETS |= {
    "new_100k": (8.0, 3.0, None),
    "refresh_daily_100k": (float("inf"), 2.0, MB_1G),
    "refresh_first_100k": (float("inf"), 2.0, MB_1G),
    "refresh_daily_1m": (float("inf"), None, MB_8G),
}
SCALED = ("engine", "new", "refresh_daily")


def run_case(name: str, data: Path) -> dict[str, float]:
    """Run one case in a fresh interpreter so its peak memory is its own."""
    out = subprocess.run(  # noqa: S603 - runs this same file with a fixed argument list
        [sys.executable, __file__, "--case", name, "--data", str(data)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_seconds(value: float) -> str:
    if value < 1e-3:
        return f"{value * 1e6:.1f} us"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s"


def _line(name: str, result: dict[str, float]) -> tuple[str, bool]:
    max_s, max_ratio, max_mb = TARGETS.get(name, (float("inf"), None, None))
    ok = result["seconds"] <= max_s
    ok &= max_ratio is None or result["ratio"] <= max_ratio
    peak = result.get("peak_increase_mb", result["peak_mb"])
    ok &= max_mb is None or peak <= max_mb
    goal = f"<= {fmt_seconds(max_s)}" if max_s != float("inf") else ""
    goal += f", <= {max_ratio:g}x" if max_ratio else ""
    goal += f", <= {max_mb:g} MB" if max_mb else ""
    mark = ("ok" if ok else "MISSED") if goal else ""
    text = (
        f"{name:24} {fmt_seconds(result['seconds']):>10} {fmt_seconds(result['baseline']):>10}"
        f" {result['ratio']:>6.1f}x {peak:>8.0f}  {goal.lstrip(', ')} {mark}"
    )
    return text, ok


def _scaling(results: dict[str, dict[str, float]], sizes: tuple[int, ...]) -> bool:
    """The scaling table: time per prospect and peak by size; largest within 1.5x of 100k."""
    print()
    head = f"{'scaling':14}" + "".join(f"{n:>22,}" for n in sizes)
    print(head + "   (us per prospect / peak MB)")
    print("-" * len(head))
    failed = False
    for kind in SCALED:
        cells = []
        for n in sizes:
            key = f"{kind}_{n // 1000}k" if n < MILLION else f"{kind}_1m"
            r = results.get(key)
            cells.append("-" if r is None else f"{r['per_prospect_us']:.1f} / {r['peak_mb']:.0f}")
        line = f"{kind:14}" + "".join(f"{c:>22}" for c in cells)
        largest = max(sizes)
        big = results.get(f"{kind}_1m" if largest == MILLION else f"{kind}_{largest // 1000}k")
        mid = results.get(f"{kind}_100k")
        if big is not None and mid is not None and largest > 100_000:
            growth = big["per_prospect_us"] / mid["per_prospect_us"]
            ok = growth <= 1.5
            failed |= not ok
            line += f"   {growth:.2f}x the 100k figure (<= 1.5x) {'ok' if ok else 'MISSED'}"
        print(line)
    return failed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument("--data", type=Path, help="folder of the built workbooks")
    parser.add_argument(
        "--million", action="store_true", help="also build and refresh 1,000,000 prospects"
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case](args.data)))
        return 0
    sizes = (*SIZES, MILLION) if args.million else SIZES
    names = [n for n in CASES if not n.endswith("_1m") or args.million]
    failed = False
    header = f"{'case':24} {'time':>10} {'baseline':>10} {'ratio':>7} {'peak MB':>8}  target"
    print(header)
    print("-" * len(header))
    results: dict[str, dict[str, float]] = {}
    data = Path(tempfile.mkdtemp(prefix="pipeline_bench_"))
    try:
        for name in names:
            results[name] = run_case(name, data)
            text, ok = _line(name, results[name])
            failed |= not ok
            print(text, flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    failed |= _scaling(results, sizes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
