"""Benchmarks of whole workbooks: build (``new --sample N``), refresh, worksheet functions.

Each case follows the contract of ``benchmarks/run.py``: it returns seconds, a baseline
measured in the same process (python-calamine reading the workbook's sheets, or the
floor of a worksheet function's cache), their ratio and the peak resident memory of the
process. The workbooks are built once per size into a folder shared by the cases
(``new_N`` builds them, the refresh cases read them), so each refresh runs in a fresh
process whose peak is its own.

The daily case is the sample company built without a pinned as-of date (the Settings
as-of date blank: the day of each refresh), a week later, with 0.5% of its deals changed
(their amounts); the first refresh is the same workbook as built, a week later (the
sample's Snapshots log already holds its history, so it may record nothing new).
"""

from __future__ import annotations

import resource
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 30)
LATER = AS_OF + timedelta(days=7)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_sheets(book: Path) -> float:
    """Seconds python-calamine takes to read every sheet of ``book`` (best of two)."""
    from python_calamine import CalamineWorkbook

    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        workbook = CalamineWorkbook.from_path(str(book))
        for sheet in workbook.sheet_names:
            workbook.get_sheet_by_name(sheet).to_python()
        best = min(best, time.perf_counter() - start)
    return best


def _fresh(folder: Path, n: int) -> Path:
    return folder / f"fresh_{n}.xlsm"


def _changed(folder: Path, n: int) -> Path:
    return folder / f"changed_{n}.xlsm"


def case_new(folder: Path, n: int) -> dict[str, float]:
    """``pipeline-xl new --sample n`` against calamine reading the workbook it wrote.

    Also leaves the workbooks the refresh cases read: as built, and with 0.5% of the
    deals' amounts changed.
    """
    from pipeline_xl.io.package import Package
    from pipeline_xl.io.reader import read_workbook
    from pipeline_xl.io.tables import replace_table_rows
    from pipeline_xl.usecases.new import new_workbook

    folder.mkdir(parents=True, exist_ok=True)
    book = _fresh(folder, n)
    start = time.perf_counter()
    new_workbook(book, company="Bench", sample=n, today=AS_OF, replace=True)
    took = time.perf_counter() - start
    peak = rss_mb()
    base = read_sheets(book)
    rows = [list(r) for r in read_workbook(book).table("Prospects") or []]
    header, amount = rows[0], rows[0].index("Amount")
    for row in rows[1::200]:
        row[amount] = (row[amount] or 0.0) + 1000.0
    package = Package.open(book)
    replace_table_rows(package, "tblProspects", header, rows[1:], ["auto"] * len(header))
    _changed(folder, n).write_bytes(package.to_bytes())
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": peak,
            "per_prospect_us": took / n * 1e6}  # fmt: skip


def case_refresh(folder: Path, n: int, kind: str) -> dict[str, float]:
    """A headless refresh a week after the build: ``daily`` or ``first`` (module notes)."""
    from pipeline_xl.usecases.refresh import refresh_file

    source = _changed(folder, n) if kind == "daily" else _fresh(folder, n)
    work = folder / f"run_{kind}_{n}.xlsm"
    shutil.copyfile(source, work)
    base = read_sheets(work)
    start = time.perf_counter()
    result = refresh_file(work, today=LATER, backup=False)
    took = time.perf_counter() - start
    if kind == "daily":  # the changed deals are recorded
        assert result.snapshot_rows_added >= n // 200, result.snapshot_rows_added
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": rss_mb(),
            "per_prospect_us": took / n * 1e6}  # fmt: skip


def case_engine(n: int) -> dict[str, float]:
    """Validate + forecast + backward plans + variance of ``n`` prospects (no files)."""
    from pipeline_xl.core.forecast import forecast_table
    from pipeline_xl.core.planning import backward_plan
    from pipeline_xl.core.sample import generate
    from pipeline_xl.core.schema import validate
    from pipeline_xl.core.variance import variance_table

    tables = generate(n, as_of=AS_OF, seed=11).tables
    rows = {
        name: [list(t.columns), *t.astype(object).values.tolist()] for name, t in tables.items()
    }
    start = time.perf_counter()
    model = validate(
        rows["Prospects"], rows["Stages"], rows["Targets"], rows["Activities"],
        rows["Snapshots"], rows["Settings"], as_of=AS_OF,
    )  # fmt: skip
    table = forecast_table(model)
    current = model.settings.current_period
    backward_plan(model, current)
    backward_plan(model, current.next())
    variance_table(model, forecast=table)
    took = time.perf_counter() - start
    return {"seconds": took, "baseline": took, "ratio": 1.0, "peak_mb": rss_mb(),
            "per_prospect_us": took / n * 1e6}  # fmt: skip


def case_pipe(n: int) -> dict[str, float]:
    """A cached PIPE_WON call over an n-row Prospects range against its floor.

    The floor is what any cache keyed on the range's contents does: turn the rows xlwings
    hands over (new lists each call) into tuples and hash them. The function is called
    once first, so the measured calls find the validated model in the cache.
    """
    import inspect

    from pipeline_xl.core.sample import generate
    from pipeline_xl.udfs import PIPE_WON
    from pipeline_xl.workbook.cache import excel_rows

    won = inspect.unwrap(PIPE_WON)
    rows = excel_rows(generate(n, as_of=AS_OF, seed=11).tables["Prospects"])
    period = f"{AS_OF:%Y-%m}"

    def best(call: object) -> float:
        fastest = float("inf")
        for _ in range(5):
            given = [list(r) for r in rows]
            start = time.perf_counter()
            call(given)  # type: ignore[operator]
            fastest = min(fastest, time.perf_counter() - start)
        return fastest

    base = best(lambda given: hash(tuple(map(tuple, given))))
    won([list(r) for r in rows], period)
    took = best(lambda given: won(given, period))
    return {"seconds": took, "baseline": base, "ratio": took / base, "peak_mb": rss_mb()}
