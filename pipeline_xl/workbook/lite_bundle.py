"""Generate the ``main.py`` that xlwings Lite runs: the engine's own modules, embedded.

xlwings Lite runs a single ``main.py`` in the browser (Pyodide) and cannot import local
packages, so the modules it needs travel inside that file. They are read from this
installation at build time (one source of truth): the worksheet functions (``udfs``), the
refresh (``pipeline_xl.usecases.refresh_live`` and the core modules it imports) and nothing that
needs a file system or a desktop Excel (``pipeline_xl.io`` other than its xlwings writer,
the command line, the sample generator, ``pipeline_xl.workbook``).

Each module's source is zlib-compressed and base64-encoded. When ``main.py`` runs, a small
loader creates ``pipeline_xl``, ``pipeline_xl.io`` and ``udfs`` as empty packages (their
``__init__`` files are not run), then executes each module into a real module object in
``sys.modules``, dependencies first, so ordinary imports between them work. Re-running
the same ``main.py`` (xlwings Lite executes it more than once) reuses the installed
modules. Then ``from pipeline_xl.udfs.functions import *`` makes the PIPE_* functions globals of
``main.py``, which is where xlwings Lite looks for ``@func`` functions.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import sys
import textwrap
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUNDLE_ROOTS",
    "DEFAULT_BUTTON",
    "DEFAULT_CALL_BUTTON",
    "LITE_REQUIRED",
    "MAX_MAIN_PY_BYTES",
    "REQUIREMENTS",
    "BundleError",
    "BundledModule",
    "build_main_py",
    "bundle_modules",
    "requirements_txt",
]

BUNDLE_ROOTS: tuple[str, ...] = (
    "pipeline_xl.udfs.functions",
    "pipeline_xl.usecases.refresh_live",
    "pipeline_xl.usecases.calls_live",
)
"""Modules main.py needs; everything they import from our packages comes along."""

DEFAULT_BUTTON = "Dashboard!F1"
"""Sheet-button reference of the refresh script: selecting this cell runs it."""
DEFAULT_CALL_BUTTON = "Dashboard!K21"
"""Sheet-button reference of the add_call script (the Dashboard's Add call cell)."""

MAX_MAIN_PY_BYTES = 300 * 1024

LITE_REQUIRED: tuple[str, ...] = ("python-dotenv==1.1.1", "pyodide-http", "black")
"""The packages xlwings Lite itself needs, as it lists them after xlwings (each marked
``# required``; the pins of its add-in version 1.0.0.0-18)."""

REQUIREMENTS: tuple[str, ...] = ("numpy", "pandas")
"""What the engine needs besides xlwings. numpy and pandas come from Lite's Pyodide
distribution and are tied to it (Lite records what it installed in
requirements-pinned.txt), so they are not pinned."""

_REQUIRED_MARK = "  # required"

_OUR_PACKAGES = frozenset({"pipeline_xl"})
_RUNTIME_PACKAGES = frozenset({"numpy", "pandas", "xlwings", "__future__"})
# Standard-library modules that Pyodide leaves out or cannot run (no processes).
_NOT_IN_PYODIDE = frozenset(
    {"curses", "dbm", "ensurepip", "idlelib", "multiprocessing", "subprocess", "tkinter",
     "turtle", "venv"}
)  # fmt: skip
_LINE = 96  # characters of base64 per line in main.py


class BundleError(RuntimeError):
    """The modules cannot be embedded as they are (an import Lite cannot satisfy, a cycle)."""


@dataclass(frozen=True, slots=True)
class BundledModule:
    """One embedded module: its dotted name, its path in the package and its source."""

    name: str
    path: str
    source: str

    @property
    def blob(self) -> str:
        """The source as Lite's loader reads it: UTF-8, zlib level 9, base64."""
        return base64.b64encode(zlib.compress(self.source.encode("utf-8"), 9)).decode("ascii")


@dataclass(frozen=True, slots=True)
class _Import:
    module: str
    names: tuple[str, ...]
    optional: bool  # inside ``try: ... except ImportError`` or ``if TYPE_CHECKING:``


class _ImportFinder(ast.NodeVisitor):
    """Every import of a module, with whether it is allowed to fail."""

    def __init__(self, module: str, *, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[_Import] = []
        self._optional = 0

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(h) for h in node.handlers)
        self._optional += guarded
        for stmt in node.body:
            self.visit(stmt)
        self._optional -= guarded
        for handler in node.handlers:
            self.visit(handler)
        for stmt in (*node.orelse, *node.finalbody):
            self.visit(stmt)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        checking = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        self._optional += checking
        for child in node.body:
            self.visit(child)
        self._optional -= checking
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.extend(_Import(a.name, (), self._optional > 0) for a in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            anchor = ".".join(parts[: len(parts) - node.level + 1])
            base = f"{anchor}.{base}" if base else anchor
        names = tuple(a.name for a in node.names)
        self.found.append(_Import(base, names, self._optional > 0))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type
    if kinds is None:
        return True
    items = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
    return any(
        isinstance(i, ast.Name) and i.id in {"ImportError", "ModuleNotFoundError", "Exception"}
        for i in items
    )


@dataclass(frozen=True, slots=True)
class _Found:
    path: Path
    is_package: bool


def _locate(name: str) -> _Found | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return _Found(Path(spec.origin), spec.submodule_search_locations is not None)


def _ours(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in _OUR_PACKAGES


def _check_foreign(importer: str, imported: str) -> None:
    top = imported.split(".", maxsplit=1)[0]
    if top in _NOT_IN_PYODIDE:
        raise BundleError(f"{importer} imports {imported}, which xlwings Lite (Pyodide) lacks")
    if top in _RUNTIME_PACKAGES or top in sys.stdlib_module_names:
        return
    raise BundleError(
        f"{importer} imports {imported}: xlwings Lite only has the standard library, "
        f"{', '.join(sorted(_RUNTIME_PACKAGES - {'__future__'}))}"
    )


def _dependencies(name: str, found: _Found, source: str) -> list[str]:
    """Our modules that ``name`` imports (a package's own submodules included)."""
    finder = _ImportFinder(name, is_package=found.is_package)
    finder.visit(ast.parse(source, filename=str(found.path)))
    deps: list[str] = []
    for imp in finder.found:
        if not _ours(imp.module):
            if not imp.optional:
                _check_foreign(name, imp.module)
            continue
        target = _locate(imp.module)
        if target is None:
            if imp.optional:
                continue
            raise BundleError(f"{name} imports {imp.module}, which cannot be found")
        if not target.is_package:
            deps.append(imp.module)
            continue
        for item in imp.names or ("",):
            sub = f"{imp.module}.{item}" if item else ""
            located = _locate(sub) if item and item != "*" else None
            if located is not None:
                deps.append(sub)
            elif not imp.optional:
                raise BundleError(
                    f"{name} imports {item or 'the package'} from the package {imp.module}: "
                    "the bundle creates packages without running their __init__; import "
                    "from the defining module instead"
                )
    return deps


def bundle_modules(roots: Sequence[str] = BUNDLE_ROOTS) -> tuple[BundledModule, ...]:
    """The modules ``roots`` need from ``pipeline_xl`` and ``udfs``, dependencies first.

    Raises:
        BundleError: a module imports something xlwings Lite cannot provide, an import
            from a package's ``__init__``, a module that cannot be found, or a cycle.

    """
    ordered: list[BundledModule] = []
    done: set[str] = set()
    active: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in active:
            cycle = " -> ".join([*active[active.index(name) :], name])
            raise BundleError(f"import cycle: {cycle}")
        found = _locate(name)
        if found is None or found.is_package:
            raise BundleError(f"{name} is not a module that can be embedded")
        source = found.path.read_text(encoding="utf-8")
        active.append(name)
        for dep in sorted(set(_dependencies(name, found, source)) - {name}):
            visit(dep)
        active.pop()
        done.add(name)
        path = "/".join(name.split(".")) + ".py"
        ordered.append(BundledModule(name, path, source))

    for root in roots:
        visit(root)
    return tuple(ordered)


def _packages(modules: Iterable[BundledModule]) -> tuple[str, ...]:
    names: set[str] = set()
    for module in modules:
        parts = module.name.split(".")[:-1]
        names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return tuple(sorted(names))


def requirements_txt(xlwings_version: str | None = None) -> str:
    """The ``requirements.txt`` stored with the workbook, in the form xlwings Lite writes.

    First xlwings, pinned to ``xlwings_version`` (default: the xlwings installed here,
    the one the engine and its tests run with), then Lite's own packages
    (`LITE_REQUIRED`), each marked ``# required`` as Lite marks them, then numpy and
    pandas unpinned. One requirement a line, no final newline (as Lite saves it).
    """
    version = xlwings_version or _xlwings_version()
    required = (f"xlwings=={version}", *LITE_REQUIRED)
    return "\n".join([*(r + _REQUIRED_MARK for r in required), *REQUIREMENTS])


def _xlwings_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415 - only needed when building

    return version("xlwings")


def _version() -> str:
    try:
        from importlib.metadata import version  # noqa: PLC0415 - only for the header

        return version("pipeline-xl")
    except Exception:  # noqa: BLE001 - a missing distribution only loses the version text
        return "(development)"


_HEADER = '''\
"""pipeline-xl for xlwings Lite: {summary}.

Generated by pipeline-xl {version}: build a new workbook rather than editing this file.
xlwings Lite runs this single file, so the engine's modules are embedded at its end
(zlib + base64) and installed as regular modules when it runs.
{usage}"""

import base64
import linecache
import sys
import types
import zlib

import xlwings as xw
from xlwings import script

BUNDLE_ID = "{bundle_id}"
PACKAGES = {packages}

'''

_USAGE = """
Refresh reports: select the Dashboard's refresh cell ({button}) or run refresh_reports
from the task pane. It reads the tables, validates them and writes the report sheets.
"""
_CALL_USAGE = """
Add a forecast call: fill the Dashboard's call form, then select its Add call cell
({button}) or run add_call from the task pane. It appends the call to tblCalls.
"""

_SCRIPT = '''
@script({script_args})
def refresh_reports(book: xw.Book):
    """Write the report sheets from the workbook's tables (as of the Settings date)."""
    try:
        written = refresh_book(book, today=date.today())
    except InputError as err:
        print(f"pipeline-xl: {{err}}")
        return
    print("pipeline-xl: wrote " + ", ".join(written))

'''
_CALL_SCRIPT = '''
@script({script_args})
def add_call(book: xw.Book):
    """Append the call typed in the Dashboard's form to the Forecast calls table."""
    try:
        print("pipeline-xl: " + add_call_book(book, today=date.today()))
    except InputError as err:
        print(f"pipeline-xl: {{err}}")

'''

_LOADER = '''
def _ours(name):
    return name.split(".", 1)[0] in {{p.split(".", 1)[0] for p in PACKAGES}}


def _install(packages, modules):
    """Create the packages, then run each embedded module into sys.modules, in order."""
    installed = sys.modules.get(packages[0]) if packages else None
    if getattr(installed, "__bundle__", None) == BUNDLE_ID:
        return
    for name in [k for k in sys.modules if _ours(k)]:
        del sys.modules[name]
    try:
        for name in packages:
            package = types.ModuleType(name)
            package.__path__ = []
            package.__package__ = name
            _attach(name, package)
        for name, path, blob in modules:
            module = types.ModuleType(name)
            module.__file__ = "<pipeline-xl>/" + path
            module.__package__ = name.rpartition(".")[0]
            _attach(name, module)
            source = zlib.decompress(base64.b64decode(blob)).decode("utf-8")
            linecache.cache[module.__file__] = (
                len(source), None, source.splitlines(True), module.__file__
            )
            exec(compile(source, module.__file__, "exec"), module.__dict__)
    except BaseException:
        for name in [k for k in sys.modules if _ours(k)]:
            del sys.modules[name]
        raise
    sys.modules[packages[0]].__bundle__ = BUNDLE_ID


def _attach(name, module):
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)

'''

_INSTALL = """
_install(PACKAGES, MODULES)
"""
_SCRIPT_IMPORTS = """
from datetime import date  # noqa: E402 - beside the imports that need the loader

from pipeline_xl.core.errors import InputError  # noqa: E402 - needs the loader above
"""
_REFRESH_IMPORTS = """
from pipeline_xl.usecases.refresh_live import refresh_book  # noqa: E402 - needs the loader above
"""
_CALL_IMPORTS = """
from pipeline_xl.usecases.calls_live import add_call_book  # noqa: E402 - needs the loader above
"""
_FUNCTION_IMPORTS = """
from pipeline_xl.udfs.functions import *  # noqa: E402, F403 - PIPE_* become Lite functions
"""
_REFRESH = "pipeline_xl.usecases.refresh_live"
_CALLS = "pipeline_xl.usecases.calls_live"
_FUNCTIONS = "pipeline_xl.udfs.functions"


def _blob_lines(blob: str) -> str:
    chunks = textwrap.wrap(blob, _LINE, break_on_hyphens=False)
    return "\n".join(f'            "{chunk}"' for chunk in chunks)


def build_main_py(
    *,
    button: str | None = DEFAULT_BUTTON,
    roots: Sequence[str] = BUNDLE_ROOTS,
    call_button: str | None = DEFAULT_CALL_BUTTON,
) -> str:
    """The ``main.py`` text for xlwings Lite (see the module docstring).

    Args:
        button: the sheet-button reference of the refresh script, ``Sheet!A1`` or
            ``[shape name]Sheet!A1`` (xlwings Lite runs the script when that cell is
            selected, e.g. through a shape's hyperlink); None for no sheet button.
        roots: the modules to embed with their dependencies.
        call_button: the sheet-button reference of the add_call script (when its module
            is embedded); None for no sheet button.

    Raises:
        BundleError: the modules cannot be embedded, or the result is over
            `MAX_MAIN_PY_BYTES`.

    """
    modules = bundle_modules(roots)
    names = {m.name for m in modules}
    refresh, functions, calls = _REFRESH in names, _FUNCTIONS in names, _CALLS in names
    digest = hashlib.sha256()
    for module in modules:
        digest.update(f"{module.name}\0{module.source}\0".encode())
    parts = ["the PIPE_* worksheet functions"] if functions else []
    parts += ["the refresh script"] if refresh else []
    parts += ["the add-call script"] if calls else []
    header = _HEADER.format(
        summary=" and ".join(parts) or "embedded modules",
        version=_version(),
        usage=(_USAGE.format(button=button or "none") if refresh else "")
        + (_CALL_USAGE.format(button=call_button or "none") if calls else ""),
        bundle_id=digest.hexdigest()[:16],
        packages=repr(_packages(modules)),
    )
    script_args = "" if button is None else f"button={button!r}, show_taskpane=True"
    call_args = "" if call_button is None else f"button={call_button!r}, show_taskpane=True"
    entries = "\n".join(
        f'    (\n        "{m.name}",\n        "{m.path}",\n        (\n{_blob_lines(m.blob)}\n'
        "        ),\n    ),"
        for m in modules
    )
    text = "".join(
        (
            header,
            _SCRIPT.format(script_args=script_args) if refresh else "",
            _CALL_SCRIPT.format(script_args=call_args) if calls else "",
            _LOADER.format(),
            f"\nMODULES = (\n{entries}\n)\n",
            _INSTALL,
            _SCRIPT_IMPORTS if refresh or calls else "",
            _REFRESH_IMPORTS if refresh else "",
            _CALL_IMPORTS if calls else "",
            _FUNCTION_IMPORTS if functions else "",
        )
    )
    size = len(text.encode("utf-8"))
    if size > MAX_MAIN_PY_BYTES:
        raise BundleError(
            f"main.py would be {size / 1024:.0f} KB, over the {MAX_MAIN_PY_BYTES // 1024} KB limit"
        )
    return text
