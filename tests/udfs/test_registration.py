"""What "Import functions" would register in Excel, checked against a golden file.

On Linux ``xlwings.func`` and friends are pass-through decorators. The real ones live in
``xlwings.udfs``, which needs the Windows COM modules; small stand-ins for those let it
import, so the test can decorate ``udfs`` for real and print the VBA wrapper Excel gets.
Regenerate the golden files after an intended change with:

    PIPELINE_XL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/udfs/test_registration.py
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import types
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def _stand_ins() -> dict[str, types.ModuleType]:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None  # type: ignore[attr-defined]
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = type("com_error", (Exception,), {})  # type: ignore[attr-defined]
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *_a, **_k: None  # type: ignore[attr-defined]
    win32com.client = client  # type: ignore[attr-defined]
    return {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com,
            "win32com.client": client}  # fmt: skip


@pytest.fixture
def registered(monkeypatch):
    """The udfs package decorated by xlwings' real (Windows) decorators, and xlwings.udfs."""
    for name, module in _stand_ins().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "xlwings.udfs", raising=False)
    xlwings = importlib.import_module("xlwings")
    xlwings_udfs = importlib.import_module("xlwings.udfs")
    monkeypatch.setattr(xlwings, "func", xlwings_udfs.xlfunc)
    monkeypatch.setattr(xlwings, "arg", xlwings_udfs.xlarg)
    monkeypatch.setattr(xlwings, "ret", xlwings_udfs.xlret)
    saved = {
        k: v
        for k, v in sys.modules.items()
        if k == "pipeline_xl.udfs" or k.startswith("pipeline_xl.udfs.")
    }
    for name in saved:
        del sys.modules[name]
    module = importlib.import_module("pipeline_xl.udfs")
    yield module, xlwings_udfs
    for name in [
        k for k in sys.modules if k == "pipeline_xl.udfs" or k.startswith("pipeline_xl.udfs.")
    ]:
        del sys.modules[name]
    sys.modules.update(saved)
    sys.modules.pop("xlwings.udfs", None)


def _summary(module) -> dict[str, object]:
    out = {}
    for name in module.__all__:
        meta = getattr(module, name).__xlfunc__
        out[name] = {
            "category": meta["category"],
            "volatile": meta["volatile"],
            "doc": meta["ret"]["doc"].strip(),
            "args": [
                {
                    "name": a["name"],
                    "optional": "optional" in a,
                    "doc": a["doc"],
                    "options": {k: repr(v) for k, v in a["options"].items()},
                }
                for a in meta["args"]
            ],
            "returns": repr(meta["ret"]["options"].get("convert")),
        }
    return out


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PIPELINE_XL_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} missing: set PIPELINE_XL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_vba_wrapper_matches_golden(registered):
    module, xlwings_udfs = registered
    buffer = io.StringIO()
    workbook = types.SimpleNamespace(Name="pipeline.xlsm")
    xlwings_udfs.generate_vba_wrapper("udfs", module, buffer, workbook)
    vba = buffer.getvalue()
    for name in module.__all__:
        assert f"Function {name}(" in vba
    assert "Optional owner" in vba
    _check("udfs_vba.bas", vba)


def test_registration_metadata_matches_golden(registered):
    module, _ = registered
    summary = _summary(module)
    assert all(entry["category"] == "pipeline-xl" for entry in summary.values())
    _check("udfs_registration.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")


def test_every_converter_is_one_xlwings_knows(registered):
    """A type hint xlwings cannot convert would fail in Excel only: catch it here."""
    module, _ = registered
    from xlwings.conversion import accessors

    for name in module.__all__:
        meta = getattr(module, name).__xlfunc__
        converters = [a["options"].get("convert") for a in meta["args"]]
        converters.append(meta["ret"]["options"].get("convert"))
        for convert in converters:
            assert convert is None or convert in accessors, (name, convert)


# Words VBA reserves (its language reference, "Keywords"): an argument of that name makes
# the generated module fail to compile, and then no function works in classic Excel.
_VBA_RESERVED = frozenset({
    "and", "as", "boolean", "byref", "byte", "byval", "call", "case", "const", "currency",
    "date", "declare", "dim", "do", "double", "each", "else", "elseif", "empty", "end",
    "enum", "eqv", "error", "event", "exit", "false", "for", "friend", "function", "get",
    "global", "gosub", "goto", "if", "imp", "implements", "in", "integer", "is", "let",
    "like", "long", "loop", "lset", "me", "mod", "new", "next", "not", "nothing", "null",
    "on", "optional", "or", "paramarray", "preserve", "private", "property", "public",
    "raiseevent", "redim", "rem", "resume", "return", "rset", "select", "set", "single",
    "static", "step", "stop", "string", "sub", "then", "to", "true", "type", "typeof",
    "until", "variant", "wend", "while", "with", "xor",
})  # fmt: skip


def test_no_argument_is_a_word_vba_reserves(registered):
    module, _ = registered
    for name in module.__all__:
        for arg in getattr(module, name).__xlfunc__["args"]:
            assert arg["name"].casefold() not in _VBA_RESERVED, (name, arg["name"])


def test_the_plain_module_is_restored_after(registered):
    module, _ = registered
    assert hasattr(module.PIPE_WON, "__xlfunc__")
