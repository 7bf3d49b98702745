"""openxml-audit (OOXML schemas and Excel's known rules) on the built workbooks.

It is the closest stand-in for Excel's own strictness available here (design notes,
section 4). The security pass flags macros as "active content": that is the point of a
macro-enabled workbook, so those two findings are expected and nothing else is.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline_xl.workbook.builder import build_workbook
from tests.workbook.handmade import AS_OF, hand_tables

try:
    import openxml_audit as audit
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI"):
        raise
    pytest.skip(
        "openxml-audit is not installed (pip install openxml-audit)", allow_module_level=True
    )

FORMATS = [audit.FileFormat.OFFICE_2016, audit.FileFormat.MICROSOFT_365]


def _errors(path: Path, file_format, *, security: bool = False) -> list[str]:
    validator = audit.OpenXmlValidator(file_format=file_format, security_validation=security)
    result = validator.validate(str(path))
    return [f"{e.part_uri}: {e.description}" for e in result.errors]


@pytest.mark.parametrize("file_format", FORMATS, ids=lambda f: f.value)
def test_macro_workbook_has_no_findings(hand_book, file_format):
    assert _errors(hand_book, file_format) == []
    verdict = audit.predict(
        audit.OpenXmlValidator(file_format=file_format).validate(str(hand_book))
    )
    assert verdict.prediction == audit.AppPrediction.OPENS_CLEAN


def test_security_pass_only_reports_the_macros(hand_book):
    found = _errors(hand_book, audit.FileFormat.OFFICE_2016, security=True)
    # False positives for this product: a macro-enabled workbook declares its VBA project
    # (.bin) and the macro-enabled workbook content type on purpose.
    assert len(found) == 2
    assert all("Active content" in e for e in found)
    assert any("vbaProject" in e for e in found)
    assert any("macroEnabled" in e for e in found)


def test_lite_workbook_has_no_findings(tmp_path):
    path = build_workbook(
        tmp_path / "lite.xlsx", company="X", tables=hand_tables(), as_of=AS_OF, lite=True
    )
    assert _errors(path, audit.FileFormat.MICROSOFT_365, security=True) == []
