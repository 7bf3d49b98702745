"""A private headless LibreOffice for one job, driven over UNO.

Run by the system Python (``/usr/bin/python3``), which has ``python3-uno``. Each job
starts its own ``soffice`` with a throw-away user profile and a named pipe (no TCP port
is opened), loads one document with macros disabled, and kills the office at the end
whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]

__all__ = ["UnoObject", "find_soffice", "load", "office", "open_document", "props", "store"]

UnoObject = Any  # UNO proxies carry no static types

_NEVER_EXECUTE_MACROS = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE


def find_soffice() -> str:
    """Path of the ``soffice`` launcher (``$SOFFICE`` first, then ``PATH``)."""
    found = os.environ.get("SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise SystemExit("soffice not found: install LibreOffice or set SOFFICE")
    return found


def props(**values: object) -> tuple[UnoObject, ...]:
    """UNO property values from keyword arguments."""
    out = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name = name
        prop.Value = value
        out.append(prop)
    return tuple(out)


def _connect(pipe: str, proc: subprocess.Popen[bytes], timeout: float) -> UnoObject:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if proc.poll() is not None:
                raise SystemExit(f"soffice exited early with code {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"soffice did not answer within {timeout:.0f} s") from None
            time.sleep(0.25)


@contextmanager
def office(*, timeout: float = 60.0) -> Iterator[Any]:
    """Start a private office (throw-away profile, a named pipe); yield its desktop."""
    profile = Path(tempfile.mkdtemp(prefix="pxl-lo-profile-"))
    pipe = f"pxl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    cmd = [
        find_soffice(),
        "--headless",
        "--invisible",
        "--nologo",
        "--norestore",
        "--nodefault",
        "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
    ]
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    desktop = None
    try:
        ctx = _connect(pipe, proc, timeout)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        yield desktop
    finally:
        _shutdown(None, desktop, proc)
        shutil.rmtree(profile, ignore_errors=True)


def load(desktop: UnoObject, path: Path) -> UnoObject:
    """Load ``path`` hidden, macros disabled (SystemExit when LibreOffice cannot)."""
    url = uno.systemPathToFileUrl(str(path.resolve()))
    doc = desktop.loadComponentFromURL(
        url, "_blank", 0, props(Hidden=True, MacroExecutionMode=_NEVER_EXECUTE_MACROS)
    )
    if doc is None:
        raise SystemExit(f"LibreOffice could not open {path}")
    return doc


@contextmanager
def open_document(path: Path, *, timeout: float = 60.0) -> Iterator[Any]:
    """Start a private office, load ``path`` hidden with macros disabled, yield the document."""
    with office(timeout=timeout) as desktop:
        doc = None
        try:
            doc = load(desktop, path)
            yield doc
        finally:
            with contextlib.suppress(Exception):
                if doc is not None:
                    doc.close(True)


def _shutdown(doc: UnoObject, desktop: UnoObject, proc: subprocess.Popen[bytes]) -> None:
    # Failures here are harmless: the office process is killed below anyway.
    with contextlib.suppress(Exception):
        if doc is not None:
            doc.close(True)
    with contextlib.suppress(Exception):
        if desktop is not None:
            desktop.terminate()
    if desktop is None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def store(doc: UnoObject, out: Path) -> None:
    """Save ``doc`` as xlsx (or ods / pdf by the suffix of ``out``)."""
    filters = {
        ".xlsx": "Calc Office Open XML",
        ".xlsm": "Calc Office Open XML",
        ".ods": "calc8",
        ".pdf": "calc_pdf_Export",
    }
    name = filters.get(out.suffix.lower())
    if name is None:
        raise SystemExit(f"cannot write {out.suffix} files")
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.storeToURL(uno.systemPathToFileUrl(str(out.resolve())), props(FilterName=name))
