"""The workbook's structure against its reviewed golden summary."""

from __future__ import annotations

import json

from tests.workbook.golden_summary import GOLDEN, build_and_summarize


def test_structure_matches_golden():
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(build_and_summarize(), ensure_ascii=False))
    # On a deliberate change: .venv/bin/python -m tests.workbook.golden_summary --update
    for key in expected:
        assert got[key] == expected[key], key
    assert set(got) == set(expected)
