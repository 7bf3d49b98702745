"""Every module says what it offers (`__all__`), and the light modules stay light."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import pipeline_xl

_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(pipeline_xl.__path__, prefix="pipeline_xl.")
)


def _defined_here(module: object, name: str) -> bool:
    value = getattr(module, name)
    return (inspect.isfunction(value) or inspect.isclass(value)) and (
        getattr(value, "__module__", None) == getattr(module, "__name__", "")
    )


@pytest.mark.parametrize("name", _MODULES)
def test_all_lists_every_public_function_and_class(name):
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{name} has no __all__"
    assert len(set(declared)) == len(declared), f"{name}.__all__ repeats a name"
    missing = [n for n in declared if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what the module lacks: {missing}"
    public = [n for n in vars(module) if not n.startswith("_") and _defined_here(module, n)]
    unlisted = sorted(set(public) - set(declared))
    assert not unlisted, f"{name} defines public names missing from __all__: {unlisted}"


@pytest.mark.parametrize(
    "name", ["pipeline_xl", "pipeline_xl.core.errors", "pipeline_xl.core.contract"]
)
def test_light_modules_do_not_import_pandas_or_numpy(name):
    code = (
        f"import sys, {name}; "
        "heavy = sorted(m for m in ('pandas', 'numpy') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    out = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert out == ""


def test_the_public_api_resolves():
    for name in pipeline_xl.__all__:
        assert getattr(pipeline_xl, name) is not None
