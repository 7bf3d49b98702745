"""The embedded main.py: what it carries, and that its functions equal the udfs package's."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import math
import sys
import traceback
from datetime import datetime
from pathlib import Path

import pytest

import pipeline_xl.udfs
from pipeline_xl.core.sample import generate
from pipeline_xl.workbook.lite_bundle import (
    BUNDLE_ROOTS,
    MAX_MAIN_PY_BYTES,
    BundleError,
    build_main_py,
    bundle_modules,
)
from tests.lite.conftest import AS_OF, isolated_modules, run_main
from tests.udfs.conftest import excel_rows

EXCEL_EPOCH = datetime(1899, 12, 30)


@pytest.fixture(scope="module")
def excel_tables() -> dict[str, list[list[object]]]:
    tables = generate(300, as_of=AS_OF, seed=3).tables
    return {name: excel_rows(frame) for name, frame in tables.items()}


def _args(name: str, t: dict[str, list[list[object]]]) -> tuple[object, ...]:
    """Arguments for each function, shaped as Excel passes them (tables with headers)."""
    p, s, g, c = t["Prospects"], t["Stages"], t["Targets"], t["Forecast calls"]
    owner = p[1][p[0].index("Owner")]
    return {
        "PIPE_CALL": (c, "2026-11", owner, "best case", datetime(2026, 11, 20)),
        "PIPE_REQUIRED_CALLS": (100000.0, 20000.0, [0.25, 0.4, 0.625, 0.8], 10000.0, 5000.0),
        "PIPE_REQUIRED_DEALS": (100000.0, 20000.0, 10000.0, 5000.0),
        "PIPE_REQUIRED": ("Call", p, s, g, "2027-Q1"),
        "PIPE_FUNNEL": (250000.0, 25000.0, s),
        "PIPE_PLAN": (p, s, g, "2027-Q1"),
        "PIPE_FORECAST": (p, "2026-Q4"),
        "PIPE_FORECAST_RANGE": (p, "2026-Q4", None, 500.0, 7.0),
        "PIPE_HIT_PROBABILITY": (p, g, "2026-Q4"),
        "PIPE_WON": (p, "2026-Q3"),
        "PIPE_WEIGHTED": (p, "2026-12", owner),
        "PIPE_GAP": (p, g, "2026-Q4"),
        "PIPE_COVERAGE": (p, g, "2026-Q4"),
        "PIPE_WIN_RATE": (p, None, None, True),
        "PIPE_AVG_DEAL": (p,),
        "PIPE_CYCLE_DAYS": (p, None, None, 80.0),
        "PIPE_VELOCITY": (p, owner),
        "PIPE_STALE_COUNT": (p, None, 20.0),
    }[name]


def _same(a: object, b: object) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _not_empty(value: object) -> bool:
    """A result worth comparing: not zero, not a header-only table."""
    if isinstance(value, list):
        rows = [r for r in value if not all(isinstance(c, str) for c in r)]
        return bool(rows)
    return value not in (0, 0.0, None)


class TestContents:
    def test_main_py_is_within_the_size_limit(self, main_py):
        assert len(main_py.encode("utf-8")) <= MAX_MAIN_PY_BYTES

    def test_carries_the_functions_and_the_refresh_and_nothing_else(self):
        names = [m.name for m in bundle_modules()]
        assert len(names) == len(set(names))
        for needed in (
            "pipeline_xl.udfs.functions",
            "pipeline_xl.udfs.convert",
            "pipeline_xl.usecases.refresh_live",
            "pipeline_xl.usecases.calls_live",
            "pipeline_xl.core.reports",
            "pipeline_xl.core.schema",
            "pipeline_xl.io.writer_xlwings",
        ):
            assert needed in names
        for left_out in (
            "pipeline_xl.cli",
            "pipeline_xl.core.sample",
            "pipeline_xl.workbook.lite",
            "pipeline_xl.workbook.lite_bundle",
        ):
            assert left_out not in names
        io_modules = [n for n in names if n.startswith("pipeline_xl.io.")]
        assert io_modules == ["pipeline_xl.io.writer_xlwings"]
        assert not any(n.startswith("pipeline_xl.workbook") for n in names)

    def test_every_module_comes_after_the_modules_it_imports(self):
        modules = bundle_modules()
        position = {m.name: i for i, m in enumerate(modules)}
        for i, module in enumerate(modules):
            for node in ast.walk(ast.parse(module.source)):
                if isinstance(node, ast.ImportFrom) and node.module in position:
                    assert position[node.module] < i, f"{module.name} before {node.module}"

    def test_sources_are_this_checkouts_files(self):
        for module in bundle_modules():
            spec = importlib.util.find_spec(module.name)
            assert spec is not None
            spec_file = spec.origin
            assert spec_file is not None
            assert Path(spec_file).read_text(encoding="utf-8") == module.source
            assert spec_file.replace("\\", "/").endswith(module.path)

    def test_modules_lite_cannot_import_are_refused(self):
        with pytest.raises(BundleError, match=r"pipeline_xl\.workbook"):
            bundle_modules(("pipeline_xl.workbook.lite",))

    def test_a_missing_module_is_refused(self):
        with pytest.raises(BundleError, match=r"pipeline_xl\.nonexistent"):
            bundle_modules(("pipeline_xl.nonexistent",))

    def test_no_button_gives_a_script_without_a_sheet_button(self):
        text = build_main_py(button=None, roots=BUNDLE_ROOTS)
        assert "@script()" in text
        compile(text, "main.py", "exec")


_PACKAGES = {
    "pipeline_xl",
    "pipeline_xl.core",
    "pipeline_xl.core.validation",
    "pipeline_xl.io",
    "pipeline_xl.udfs",
    "pipeline_xl.usecases",
}


class TestLoader:
    def test_installs_real_modules_from_the_embedded_sources(self, bundle):
        embedded = {m.name for m in bundle_modules()}
        with isolated_modules(bundle.modules):
            for name, module in bundle.modules.items():
                assert sys.modules[name] is module
                if name in _PACKAGES:
                    assert module.__path__ == []  # a package, without its __init__ run
                else:
                    assert module.__file__.startswith("<pipeline-xl>/")
        assert set(bundle.modules) == embedded | _PACKAGES

    def test_pipe_functions_are_globals_of_main(self, bundle):
        found = sorted(k for k in bundle.namespace if k.startswith("PIPE_"))
        assert found == sorted(pipeline_xl.udfs.__all__)
        for name in found:
            func = bundle.namespace[name]
            assert func is not getattr(pipeline_xl.udfs, name)
            home = inspect.unwrap(func).__globals__["__file__"]
            assert home.startswith("<pipeline-xl>/pipeline_xl/udfs/")

    def test_running_main_again_reuses_the_installed_modules(self, bundled, main_py):
        namespace: dict[str, object] = {"__name__": "main"}
        exec(compile(main_py, "main.py", "exec"), namespace)  # noqa: S102 - code under test
        assert namespace["PIPE_WON"] is bundled.namespace["PIPE_WON"]

    def test_a_different_bundle_replaces_the_installed_modules(self, bundle):
        other = build_main_py(roots=("pipeline_xl.udfs.functions",))
        namespace: dict[str, object] = {"__name__": "main"}
        with isolated_modules(bundle.modules):
            exec(compile(other, "main.py", "exec"), namespace)  # noqa: S102 - code under test
            assert (
                sys.modules["pipeline_xl.udfs.functions"]
                is not bundle.modules["pipeline_xl.udfs.functions"]
            )
            assert "pipeline_xl.core.reports" not in sys.modules

    def test_tracebacks_show_the_embedded_source_lines(self, bundled):
        func = bundled.namespace["PIPE_FORECAST"]
        with pytest.raises(Exception, match="not a header row") as info:
            func([[1.0, 2.0]], "2026-Q4")
        text = "".join(traceback.format_exception(info.value))
        assert "<pipeline-xl>/pipeline_xl/udfs/values.py" in text


@pytest.mark.parametrize("name", sorted(pipeline_xl.udfs.__all__))
def test_embedded_function_equals_the_package_function(name, excel_tables, bundle):
    args = _args(name, excel_tables)
    expected = getattr(pipeline_xl.udfs, name)(*args)
    assert _not_empty(expected), "pick arguments that give a telling result"
    with isolated_modules(bundle.modules):
        got = bundle.namespace[name](*args)
    assert _same(got, expected)


def test_embedded_errors_read_like_the_package_errors(excel_tables, bundle):
    p = excel_tables["Prospects"]
    # Both raise their own InputError class (a ValueError): compare names and messages.
    with pytest.raises(ValueError, match="period") as expected:
        pipeline_xl.udfs.PIPE_FORECAST(p, "not a period")
    with isolated_modules(bundle.modules), pytest.raises(ValueError, match="period") as got:
        bundle.namespace["PIPE_FORECAST"](p, "not a period")
    assert type(got.value).__name__ == type(expected.value).__name__ == "InputError"
    assert str(got.value) == str(expected.value)


class TestUnderLiteDecorators:
    """main.py with xlwings' own Lite decorators, called the way xlwings Lite calls it.

    Those decorators live in xlwings PRO (licence key for tests: tests/conftest.py).
    """

    @pytest.fixture
    def lite(self, monkeypatch, main_py):
        import xlwings
        from xlwings import server

        monkeypatch.setattr(xlwings, "func", server.func)
        monkeypatch.setattr(xlwings, "arg", server.arg)
        monkeypatch.setattr(xlwings, "script", server.script)
        bundle = run_main(main_py)
        module = type(sys)("main")
        module.__dict__.update(bundle.namespace)
        return server, module, bundle

    def test_registers_every_function_without_a_prefix(self, lite):
        server, module, _ = lite
        meta = server.custom_functions_meta(module)
        ids = sorted(f["id"] for f in meta["functions"])
        assert ids == sorted(pipeline_xl.udfs.__all__)
        forecast = next(f for f in meta["functions"] if f["id"] == "PIPE_FORECAST")
        assert forecast["name"] == "PIPE_FORECAST"
        assert forecast["parameters"][0]["dimensionality"] == "matrix"
        assert forecast["description"].startswith("Expected revenue of the period")

    def test_registers_the_scripts_with_their_sheet_buttons(self, lite):
        server, module, _ = lite
        scripts = {s["function_name"]: s for s in server.custom_scripts_meta(module)}
        assert sorted(scripts) == ["add_call", "refresh_reports"]
        assert scripts["refresh_reports"]["button"] == "Dashboard!F1"
        assert scripts["add_call"]["button"] == "Dashboard!K21"
        assert all(s["show_taskpane"] is True for s in scripts.values())

    @staticmethod
    def _call(lite, name: str, args: list[object]) -> object:
        import xlwings

        server, module, bundle = lite
        data = {
            "func_name": name,
            "args": args,
            "version": xlwings.__version__,
            "client": "Office.js",
            "runtime": "1.4",
            "culture_info_name": "en-US",
            "date_format": "yyyy-mm-dd",
        }
        with isolated_modules(bundle.modules):
            return asyncio.run(server.custom_functions_call(data, module))

    def test_a_call_as_lite_makes_it(self, lite):
        # Office.js passes every argument as a 2-D array; empty cells as "".
        args = [[[100000]], [[20000]], [[0.25, 0.4, 0.625, 0.8]], [[""]], [[""]]]
        # gap 100,000 / 20,000 = 5 deals; 5/0.8 -> 7; 7/0.625 -> 12; 12/0.4 = 30; 30/0.25 = 120.
        assert self._call(lite, "PIPE_REQUIRED_CALLS", args) == [[120]]

    def test_dates_arrive_as_serial_numbers(self, lite, excel_tables):
        rows = excel_tables["Prospects"]
        serial = [
            ["" if c is None else (c - EXCEL_EPOCH).days if isinstance(c, datetime) else c
             for c in row]
            for row in rows
        ]  # fmt: skip
        got = self._call(lite, "PIPE_WON", [serial, [["2026-Q3"]]])
        assert got == [[pipeline_xl.udfs.PIPE_WON(rows, "2026-Q3")]]

    def test_a_call_with_serial_dates_is_the_packages_call(self, lite, excel_tables):
        # The Dashboard passes the period and AsOfDate as dates: Office.js sends serials.
        rows = excel_tables["Forecast calls"]
        serial = [
            ["" if c is None else (c - EXCEL_EPOCH).days if isinstance(c, datetime) else c
             for c in row]
            for row in rows
        ]  # fmt: skip
        day, month = datetime(2026, 11, 20), datetime(2026, 11, 1)
        dates = [[[(month - EXCEL_EPOCH).days]], [[""]], [[""]], [[(day - EXCEL_EPOCH).days]]]
        expected = pipeline_xl.udfs.PIPE_CALL(rows, "2026-11", None, None, day)
        assert expected > 0  # the team called November by the 20th
        assert self._call(lite, "PIPE_CALL", [serial, *dates]) == [[expected]]
