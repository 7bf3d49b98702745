"""Fixtures: the hand-made company's workbook and the LibreOffice guard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline_xl.io import libreoffice
from pipeline_xl.workbook.builder import build_workbook
from tests.workbook.handmade import AS_OF, hand_tables


@pytest.fixture(scope="session")
def hand_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made company's workbook (cached engine values for two cells)."""
    path = tmp_path_factory.mktemp("hand") / "acme_pipeline.xlsm"
    return build_workbook(
        path,
        company="Acme & Co <Test>",
        tables=hand_tables(),
        as_of=AS_OF,
        cached={
            "won.month": 100000.0,
            "range.quarter.1": 1.0,
            "range.quarter.2": 2.0,
            "range.quarter.3": 3.0,
        },
    )


@pytest.fixture(scope="session")
def lo() -> None:
    """Skip (locally) or fail (in CI) when LibreOffice cannot be driven."""
    reason = libreoffice.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"LibreOffice is required in CI: {reason}")
    pytest.skip(f"LibreOffice not available ({reason}); CI runs these tests")
