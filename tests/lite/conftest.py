"""Fixtures for the xlwings Lite workbook: the built file, its parts and its code run here.

The embedded ``main.py`` is run under CPython in a fresh namespace. Its loader installs
its own ``pipeline_xl`` modules in ``sys.modules``; `isolated_modules` takes
this checkout's modules out first and puts them back afterwards, so the rest of the test
session never sees the embedded copies (and the embedded code never sees this checkout).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from defusedxml import ElementTree

from pipeline_xl.io import libreoffice
from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook.lite import WEBEXTENSION_PART

AS_OF = date(2026, 11, 30)
COMPANY = "Acme & Co <Test>"
SAMPLE = 300
_OURS = ("pipeline_xl",)


def parts(path: Path) -> dict[str, bytes]:
    """Every part of a package by name."""
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def lite_properties(path: Path) -> dict[str, str]:
    """The web extension's properties, JSON-decoded (main.py, requirements.txt)."""
    root = ElementTree.fromstring(parts(path)[WEBEXTENSION_PART])
    ns = {"we": "http://schemas.microsoft.com/office/webextensions/webextension/2010/11"}
    return {
        p.get("name", ""): json.loads(p.get("value", ""))
        for p in root.findall("we:properties/we:property", ns)
    }


def _ours(name: str) -> bool:
    return name.split(".", 1)[0] in _OURS


@contextlib.contextmanager
def isolated_modules(installed: dict[str, types.ModuleType] | None = None) -> Iterator[None]:
    """Run with this checkout's pipeline_xl modules out of sys.modules.

    ``installed`` (modules captured earlier) are put in place for the duration; whatever
    the block installs is removed at the end and the checkout's modules come back.
    """
    saved = {k: v for k, v in sys.modules.items() if _ours(k)}
    for name in saved:
        del sys.modules[name]
    sys.modules.update(installed or {})
    try:
        yield
    finally:
        for name in [k for k in sys.modules if _ours(k)]:
            del sys.modules[name]
        sys.modules.update(saved)


@dataclass(frozen=True)
class Bundle:
    """The namespace of the embedded main.py after it ran, and the modules it installed."""

    namespace: dict[str, object]
    modules: dict[str, types.ModuleType]


def run_main(text: str) -> Bundle:
    """Run ``main.py`` like xlwings Lite does (as a module named main), in isolation."""
    namespace: dict[str, object] = {"__name__": "main"}
    with isolated_modules():
        exec(compile(text, "main.py", "exec"), namespace)  # noqa: S102 - the code under test
        modules = {k: v for k, v in sys.modules.items() if _ours(k)}
    return Bundle(namespace, modules)


@pytest.fixture(scope="session")
def lite_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lite workbook of a 300-prospect sample company."""
    path = tmp_path_factory.mktemp("lite") / "acme_lite.xlsx"
    return new_workbook(
        path,
        company=COMPANY,
        sample=SAMPLE,
        empty=False,
        currency="EUR",
        fiscal_start=1,
        as_of=AS_OF,
        lite=True,
    )


@pytest.fixture(scope="session")
def main_py(lite_book: Path) -> str:
    """The main.py stored in the workbook."""
    return lite_properties(lite_book)["main.py"]


@pytest.fixture(scope="session")
def bundle(main_py: str) -> Bundle:
    """main.py run once under CPython."""
    return run_main(main_py)


@pytest.fixture
def bundled(bundle: Bundle) -> Iterator[Bundle]:
    """The embedded modules in sys.modules for the duration of a test."""
    with isolated_modules(bundle.modules):
        yield bundle


@pytest.fixture(scope="session")
def lo() -> None:
    """Skip (locally) or fail (in CI) when LibreOffice cannot be driven."""
    reason = libreoffice.missing_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"LibreOffice is required in CI: {reason}")
    pytest.skip(f"LibreOffice not available ({reason}); CI runs these tests")
