"""The layer check (`lint-imports`, configured in pyproject.toml) passes, and catches a
core module that imports an adapter."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(  # noqa: S603 - fixed arguments
        [str(LINT), "--config", str(folder / "pyproject.toml"), "--no-cache"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def lint_tool() -> Path:
    if not LINT.is_file():
        pytest.skip(f"import-linter is not installed beside {sys.executable}")
    return LINT


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "tree"
    folder.mkdir()
    shutil.copytree(ROOT / "pipeline_xl", folder / "pipeline_xl",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def test_the_layers_hold(lint_tool, tmp_path):
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("core/periods.py", "import pipeline_xl.io.reader", "pipeline_xl.core.periods ->"),
        ("core/model.py", "import xlsxwriter", "pipeline_xl.core.model -> xlsxwriter"),
        ("core/cells.py", "import pipeline_xl.core.forecast", "pipeline_xl.core.cells ->"),
        ("io/render.py", "import pipeline_xl.workbook.spec", "pipeline_xl.io.render ->"),
        ("udfs/convert.py", "import pipeline_xl.io.reader", "pipeline_xl.udfs.convert ->"),
    ],
)
def test_a_planted_violation_fails(lint_tool, tmp_path, module, planted, broken):
    folder = _copy(tmp_path)
    target = folder / "pipeline_xl" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{planted}  # planted\n")
    result = _lint(folder)
    assert result.returncode != 0
    assert broken in result.stdout
