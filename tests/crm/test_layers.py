"""The CRM import's own layers (pyproject.toml): a planted upward import is caught."""

from __future__ import annotations

import pytest

from tests.test_layers import _copy, _lint, lint_tool  # noqa: F401 - a fixture, used by name


@pytest.mark.usefixtures("lint_tool")
@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("presets.py", "import pipeline_xl.core.crm.mapping", "pipeline_xl.core.crm.presets ->"),
        ("mapping.py", "import pipeline_xl.core.crm.convert", "pipeline_xl.core.crm.mapping ->"),
        ("upsert.py", "import pipeline_xl.core.crm.convert", "pipeline_xl.core.crm.upsert ->"),
        ("convert.py", "import pipeline_xl.core.forecast", "pipeline_xl.core.crm.convert ->"),
    ],
)
def test_a_planted_crm_violation_fails(tmp_path, module, planted, broken):
    folder = _copy(tmp_path)
    target = folder / "pipeline_xl" / "core" / "crm" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{planted}  # planted\n")
    result = _lint(folder)
    assert result.returncode != 0
    assert broken in result.stdout
