"""Zip bombs: the guard counts the bytes actually inflated, whatever the zip declares.

Issue 12, item 5: a 4.6 MB workbook whose sharedStrings part expanded to 1.87 GB passed
the check (its zip entry declared a small size) and the refresh took 6.1 GB of memory.
The time limit (under 1 s) is checked by the benchmark ``lying_zip`` (`make bench`);
here the peak memory of the refusal is measured with tracemalloc.
"""

from __future__ import annotations

import tracemalloc

from pipeline_xl.io.safety import MAX_PART, MAX_TOTAL, human_size
from tests.attacks.books import lying_zip

MB = 1024**2


def test_a_part_that_inflates_beyond_what_it_declares(book, tmp_path, run):
    bomb = lying_zip(book, tmp_path / "Bomb.xlsm", inflates_to=300 * MB, declares=2 * MB)
    assert bomb.stat().st_size < 5 * MB
    before = bomb.read_bytes()
    tracemalloc.start()
    try:
        ran = run("refresh", bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ran.code == 2
    assert ran.err == (
        "pipeline-xl: refusing Bomb.xlsm: its part xl/sharedStrings.xml expands beyond the "
        "2.1 MB its zip entry declares, which looks like a zip bomb\n"
    )
    assert peak < 200 * MB, human_size(peak)
    assert bomb.read_bytes() == before
    for command in (("import", tmp_path / "none.csv", "--into", bomb), ("metrics", bomb)):
        (tmp_path / "none.csv").write_text("ID,Stage,Amount\nX,Lead,1\n")
        assert run(*command).err.startswith("pipeline-xl: refusing Bomb.xlsm: its part")


def test_a_part_that_declares_a_huge_size_is_refused_from_the_directory(book, tmp_path, run):
    bomb = lying_zip(book, tmp_path / "Big.xlsm", inflates_to=2 * MB, declares=MAX_PART + 1)
    ran = run("refresh", bomb)
    assert ran.err == (
        f"pipeline-xl: refusing Big.xlsm: its part xl/sharedStrings.xml expands to "
        f"{human_size(MAX_PART + 1)} (more than {human_size(MAX_PART)}), which looks like a "
        "zip bomb\n"
    )
    assert MAX_TOTAL == 2 * MAX_PART


def test_a_part_shorter_than_declared_is_damaged(book, tmp_path, run):
    short = lying_zip(book, tmp_path / "Short.xlsm", inflates_to=1 * MB, declares=1 * MB + 7)
    before = short.read_bytes()
    ran = run("refresh", short)
    assert ran.err == (
        "pipeline-xl: Short.xlsm is damaged: xl/sharedStrings.xml does not hold the 1.0 MB its "
        "zip entry declares (expected a workbook saved by Excel)\n"
    )
    assert short.read_bytes() == before
