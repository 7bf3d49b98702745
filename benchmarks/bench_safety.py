"""Benchmark: refusing a lying zip (a part that inflates far beyond what it declares).

The workbook is a small ready workbook whose ``xl/sharedStrings.xml`` inflates to 1.87 GB
while its zip entries declare 2 MB (the file is about 2 MB). `case_lying_zip` follows
the contract of ``benchmarks/run.py``: seconds to refuse it (target <= 1 s), peak memory
added by the refusal (target <= 200 MB), the baseline being python-calamine opening the
honest workbook. Run alone with ``python benchmarks/bench_safety.py``.
"""

from __future__ import annotations

import json
import resource
import shutil
import struct
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

AS_OF = date(2026, 11, 30)
PART = "xl/sharedStrings.xml"
INFLATES_TO = 1_870_000_000
DECLARES = 2_000_000


def lying_copy(source: Path, target: Path) -> Path:
    """``source`` with a sharedStrings part that inflates to 1.87 GB and declares 2 MB."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != PART:
                new.writestr(info, old.read(info), compress_type=info.compress_type)
                continue
            entry = zipfile.ZipInfo(PART, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with new.open(entry, "w", force_zip64=False) as out:
                out.write(
                    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                )
                chunk = b"<si><t>" + b"A" * (1 << 20) + b"</t></si>"
                for _ in range(INFLATES_TO // len(chunk)):
                    out.write(chunk)
                out.write(b"</sst>")
    data = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as zf:
        struct.pack_into("<L", data, zf.getinfo(PART).header_offset + 22, DECLARES)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + length]) == PART.encode():
            struct.pack_into("<L", data, at + 24, DECLARES)
        at = data.find(b"PK\x01\x02", at + 4)
    target.write_bytes(bytes(data))
    return target


def case_lying_zip() -> dict[str, float]:
    """Seconds and added peak memory to refuse the lying workbook; baseline: calamine."""
    from python_calamine import CalamineWorkbook

    from pipeline_xl.core.errors import InputError
    from pipeline_xl.usecases.new import new_workbook
    from pipeline_xl.usecases.refresh import refresh_file

    folder = Path(tempfile.mkdtemp(prefix="bench_safety_"))
    try:
        honest = new_workbook(folder / "honest.xlsm", company="Bench", sample=20, as_of=AS_OF)
        bomb = lying_copy(honest, folder / "bomb.xlsm")
        start = time.perf_counter()
        CalamineWorkbook.from_path(str(honest)).close()
        base = time.perf_counter() - start
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        times = []
        for _ in range(3):
            start = time.perf_counter()
            refused = ""
            try:
                refresh_file(bomb, backup=False)
            except InputError as err:
                refused = str(err)
            times.append(time.perf_counter() - start)
            assert "declares" in refused, refused
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size_mb = bomb.stat().st_size / 1e6
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    took = min(times)
    return {
        "seconds": took, "baseline": base, "ratio": took / base, "peak_mb": after,
        "peak_increase_mb": max(after - before, 0.0), "file_mb": size_mb,
    }  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(case_lying_zip()))
