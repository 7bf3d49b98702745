"""Headless LibreOffice from Python: recalculate a workbook, read its cells, render sheets.

LibreOffice's Python bridge (``python3-uno``) belongs to the system Python, not to a
virtualenv, so the work is done by two small scripts in ``tools/lo/`` run with
``/usr/bin/python3`` (``recalc.py`` and ``render.py``); this module finds LibreOffice and
the scripts, runs them with a timeout and turns failures into `LibreOfficeError` with the
script's own message. Each run starts a private ``soffice`` (throw-away profile, a named
pipe, no network port) and stops it at the end.

Settings: ``PXL_LO_PYTHON`` (the Python with ``uno``, default ``/usr/bin/python3``),
``PXL_LO_TOOLS`` (the folder of the scripts) and ``SOFFICE`` (the office launcher).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

__all__ = [
    "CellRecord",
    "LibreOfficeError",
    "available",
    "cell_values",
    "find_soffice",
    "missing_reason",
    "recalculate",
    "render",
]

_DEFAULT_PYTHON = "/usr/bin/python3"


class LibreOfficeError(RuntimeError):
    """LibreOffice is missing, failed or took too long."""


class CellRecord(TypedDict):
    """One cell as LibreOffice sees it (``error`` 0 = none, e.g. 525 = ``#NAME?``)."""

    value: float | None
    text: str
    formula: str
    error: int


def find_soffice() -> str | None:
    """The ``soffice`` launcher (``$SOFFICE`` first, then ``PATH``), or None."""
    return os.environ.get("SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")


def _python() -> str:
    return os.environ.get("PXL_LO_PYTHON", _DEFAULT_PYTHON)


def _tools() -> Path:
    configured = os.environ.get("PXL_LO_TOOLS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "tools" / "lo"


@functools.cache
def _uno_python_ok(python: str) -> bool:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [python, "-c", "import uno"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def missing_reason() -> str | None:
    """Why LibreOffice cannot be driven here (None when it can)."""
    if find_soffice() is None:
        return "soffice (LibreOffice) is not installed"
    if not _uno_python_ok(_python()):
        return f"{_python()} cannot import uno (install python3-uno)"
    if not (_tools() / "recalc.py").is_file():
        return f"the LibreOffice scripts are missing in {_tools()}"
    return None


def available() -> bool:
    """Whether `recalculate`, `cell_values` and `render` can run here."""
    return missing_reason() is None


def _run(script: str, args: Sequence[str], timeout: float) -> str:
    reason = missing_reason()
    if reason is not None:
        raise LibreOfficeError(reason)
    cmd = [_python(), str(_tools() / script), *args, "--timeout", str(max(10.0, timeout / 2))]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            cmd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise LibreOfficeError(f"{script} took longer than {timeout:.0f} s") from err
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise LibreOfficeError(f"{script} failed: {lines[-1] if lines else 'no output'}")
    return done.stdout


def recalculate(
    source: str | os.PathLike[str], out: str | os.PathLike[str], *, timeout: float = 180.0
) -> Path:
    """Open ``source`` in LibreOffice, recalculate every formula and save ``out`` (.xlsx)."""
    _run("recalc.py", [str(source), str(out)], timeout)
    return Path(out)


def cell_values(
    source: str | os.PathLike[str],
    ranges: Sequence[str],
    *,
    recalc: bool = True,
    out: str | os.PathLike[str] | None = None,
    timeout: float = 180.0,
) -> dict[str, dict[str, CellRecord]]:
    """Non-empty cells of ``ranges`` (``"Dashboard!A1:I40"``) by sheet and address.

    With ``recalc`` LibreOffice recalculates first (PIPE_* cells then show ``#NAME?``:
    LibreOffice has no Python functions); without it the stored values are read. ``out``
    also saves the (recalculated) workbook there, in the same LibreOffice run.
    """
    with tempfile.TemporaryDirectory(prefix="pxl-lo-") as tmp:
        target = Path(tmp) / "cells.json"
        args = [str(source), "-" if out is None else str(out), "--json", str(target)]
        for block in ranges:
            args += ["--range", block]
        if not recalc:
            args.append("--no-recalc")
        _run("recalc.py", args, timeout)
        data: dict[str, dict[str, CellRecord]] = json.loads(target.read_text(encoding="utf-8"))
    return data


def render(
    source: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    sheets: Sequence[str],
    *,
    pages: int = 1,
    dpi: int = 110,
    recalc: bool = False,
    timeout: float = 240.0,
) -> list[Path]:
    """PNG pictures of ``sheets`` (landscape, one page wide) in ``outdir``; their paths."""
    args = [str(source), str(outdir), "--sheets", ",".join(sheets)]
    args += ["--pages", str(pages), "--dpi", str(dpi)]
    if recalc:
        args.append("--recalc")
    out = _run("render.py", args, timeout)
    return [Path(line) for line in out.splitlines() if line.strip()]
