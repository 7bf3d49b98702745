"""One writer at a time: an exclusive OS lock on a lock file beside the workbook.

Every command that writes a workbook holds `workbook_lock` from before it reads the
file until its new version is in place, so two commands on one file run one after the
other and the second one reads what the first one wrote (an import and a refresh started
together both keep their changes). The lock is the operating system's (``flock`` on
Linux and macOS, ``LockFileEx`` on Windows, through filelock) on the file
``.NAME.lock`` in the workbook's folder: the system releases it when the process ends,
even when it is killed, so a crash never leaves a workbook locked. The lock file itself
stays (an empty file): removing it while another process waits for it would let two
writers in.

A second command waits up to ``wait`` seconds (`DEFAULT_WAIT` unless told), then refuses
with a message (`InputError`). Within one process the lock is re-entrant, so a command
that writes a workbook and then refreshes it (``rollup``) takes it once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import BaseFileLock, FileLock, Timeout

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.safety import real_path, write_problem

__all__ = ["DEFAULT_WAIT", "lock_path", "workbook_lock"]

DEFAULT_WAIT = 10.0
"""Seconds a command waits for another one writing the same workbook."""

_held: dict[Path, BaseFileLock] = {}
_guard = threading.Lock()


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of the workbook at ``path``: ``.NAME.lock`` beside the real file."""
    target = real_path(path)
    return target.with_name(f".{target.name}.lock")


@contextmanager
def workbook_lock(path: str | os.PathLike[str], *, wait: float = DEFAULT_WAIT) -> Iterator[Path]:
    """Hold the workbook's lock; yields the real path of the workbook (links followed).

    Raises:
        InputError: another command holds the lock for longer than ``wait`` seconds, or
            the lock file cannot be made (a folder that is not writable, a full disk).

    """
    target = real_path(path)
    lock_file = lock_path(target)
    with _guard:
        lock = _held.get(lock_file)
        if lock is None:
            lock = FileLock(lock_file)
            _held[lock_file] = lock
    try:
        lock.acquire(timeout=max(wait, 0.0))
    except Timeout as err:
        raise InputError(
            f"{target.name} is being changed by another pipeline-xl command: waited "
            f"{wait:g} s for it to finish; nothing was written (try again when it has "
            "finished)"
        ) from err
    except OSError as err:
        raise write_problem(err, target) from err
    try:
        yield target
    finally:
        lock.release()
