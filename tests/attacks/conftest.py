"""Shared pieces of the attack suite: one ready workbook, the command line, LibreOffice.

The ready workbook (300 sample deals, refreshed once) is built once per session and
copied for each test. `run` runs the command line in this process and returns its exit
code and what it printed. `opened` asks one LibreOffice, started once per session
(``tools/lo/serve.py``), to open a workbook and returns its sheet names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline_xl.cli import main
from pipeline_xl.io import libreoffice
from pipeline_xl.usecases.refresh import refresh_file
from tests.io.workbooks import new_sample

ROOT = Path(__file__).resolve().parents[2]
DEALS = 300


@dataclass(frozen=True)
class Ran:
    """What one command did: exit code, standard output and standard error."""

    code: int
    out: str
    err: str


@pytest.fixture(scope="session")
def ready(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ready workbook with 300 sample deals, refreshed once (do not change it)."""
    folder = tmp_path_factory.mktemp("ready")
    path = new_sample(folder / "Book.xlsm", DEALS)
    refresh_file(path, backup=False)
    return path


@pytest.fixture
def book(ready: Path, tmp_path: Path) -> Path:
    """A copy of the ready workbook, ``Book.xlsm`` in a folder of its own."""
    target = tmp_path / "Book.xlsm"
    shutil.copyfile(ready, target)
    return target


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """Run ``pipeline-xl ARGS`` in this process."""

    def go(*args: object) -> Ran:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return go


class Office:
    """One headless LibreOffice that opens workbooks on request."""

    def __init__(self) -> None:
        tools = Path(os.environ.get("PXL_LO_TOOLS", ROOT / "tools" / "lo"))
        python = os.environ.get("PXL_LO_PYTHON", "/usr/bin/python3")
        self.proc = subprocess.Popen(  # noqa: S603 - fixed arguments
            [python, str(tools / "serve.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def sheets(self, path: Path) -> list[str]:
        """The sheet names of ``path`` as LibreOffice opened it (AssertionError if not)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{path.resolve()}\n")
        self.proc.stdin.flush()
        answer = json.loads(self._line())
        assert "error" not in answer, answer.get("error")
        return list(answer["sheets"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def office() -> Iterator[Office]:
    """The session's LibreOffice (tests using it are skipped where it is missing)."""
    reason = libreoffice.missing_reason()
    if reason is not None:
        pytest.skip(reason)
    started = Office()
    yield started
    started.close()


@pytest.fixture
def opened(office: Office) -> Callable[[Path], list[str]]:
    """``opened(path)``: the sheet names LibreOffice shows after opening ``path``."""
    return office.sheets
