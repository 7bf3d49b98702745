"""Writing a user's workbook file safely: never half a file, never what the user made.

Refused before anything is written (`InputError`, the file unchanged):

* a workbook open in Excel or LibreOffice (`check_not_open`: their lock file
  ``~$NAME`` or ``.~lock.NAME#`` is beside it): what is written under an open Excel is
  lost at its next save;
* a read-only file (no write permission bit, or not writable by this user), and a file
  a command would replace without being told (`check_replace`: ``new`` and ``rollup``
  replace an existing file only with ``--replace``);
* a folder that cannot be written, a full disk and other system errors while writing
  become one message that says so (`write_problem`).

`atomic_write` never leaves half a file: the new bytes go to a temporary file in the
same folder (flushed and fsynced), the backups turn (``NAME.bak`` becomes
``NAME.bak.1``, ``.bak.1`` becomes ``.bak.2``, the oldest goes; `KEEP_BACKUPS` in all)
and the current file is copied to ``NAME.bak``, then one `os.replace` swaps the new
file in. So ``NAME.bak`` is always the file as it was before the latest command, and an
import followed by a refresh still leaves the pre-import file in ``NAME.bak.1``. A path
that is a symbolic link is followed: the file it points to is replaced and its backups
sit beside it, the link stays a link (`real_path`).

Temporary files are named ``.NAME.<host>.<pid>.<random>.tmp``; a write removes those
that an earlier write left behind only when their process is gone (same host, no such
process), never those of a write still running. One writer at a time is
`pipeline_xl.io.locking`'s job; zip bombs are refused by `pipeline_xl.io.zipguard`
(`check_zip`, `human_size` and the limits are re-exported here for existing callers).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

from pipeline_xl.core.errors import InputError
from pipeline_xl.io.zipguard import (
    MAX_MEMBERS,
    MAX_PART,
    MAX_RATIO,
    MAX_TOTAL,
    RATIO_FLOOR,
    check_zip,
    human_size,
)

__all__ = [
    "KEEP_BACKUPS",
    "MAX_MEMBERS",
    "MAX_PART",
    "MAX_RATIO",
    "MAX_TOTAL",
    "RATIO_FLOOR",
    "atomic_write",
    "backup_path",
    "backup_paths",
    "check_not_open",
    "check_replace",
    "check_writable",
    "check_zip",
    "human_size",
    "keep_backup",
    "real_path",
    "write_problem",
]

KEEP_BACKUPS = 3
"""Backups kept beside a workbook: ``NAME.bak`` (the latest), ``NAME.bak.1``, ``NAME.bak.2``."""

# Called between writing the temporary file and replacing the target (tests pause here).
_before_replace: Callable[[Path], None] | None = None

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8")).hexdigest()[:6]
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_DENIED = (errno.EACCES, errno.EPERM)


def real_path(path: str | os.PathLike[str]) -> Path:
    """The file ``path`` names, symbolic links followed (the path itself if none)."""
    given = Path(path)
    try:
        return given.resolve()
    except (OSError, RuntimeError):  # a link loop: the writes will report it
        return given.absolute()


def check_not_open(path: str | os.PathLike[str]) -> None:
    """Refuse a workbook that Excel or LibreOffice has open (their lock file is beside it).

    Raises:
        InputError: the lock file ``~$NAME`` (Excel) or ``.~lock.NAME#`` (LibreOffice)
            exists beside the file or, for a link, beside the file it points to.

    """
    given = Path(path)
    for target in dict.fromkeys((given, real_path(given))):
        for lock, app in ((f"~${target.name}", "Excel"), (f".~lock.{target.name}#", "LibreOffice")):
            if (target.parent / lock).exists():
                raise InputError(
                    f"{target.name} is open in {app} (lock file {lock}): close it and try again"
                )


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse a read-only file and a folder this user cannot write in.

    A file without any write permission bit is read-only even for an administrator
    (as Excel treats the read-only attribute); a missing file is fine.

    Raises:
        InputError: the file is read-only or its folder is not writable.

    """
    target = real_path(path)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise write_problem(err, target) from err
    if mode is not None and (not mode & _WRITE_BITS or not os.access(target, os.W_OK)):
        raise InputError(
            f"{target.name} is read-only: nothing was written",
            expected="a workbook you may change (clear its read-only setting first)",
        )
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise InputError(
            f"cannot write in the folder {target.parent}: permission denied; "
            f"{target.name} was not written",
            expected="a folder you may write in",
        )


def check_replace(path: str | os.PathLike[str], *, replace: bool, command: str) -> None:
    """Refuse to replace an existing file unless told (``--replace``).

    Raises:
        InputError: ``path`` exists and ``replace`` is False.

    """
    target = Path(path)
    if replace or not (target.exists() or target.is_symlink()):
        return
    raise InputError(
        f"{target.name} already exists: {command} does not replace a file unless told; "
        "nothing was written",
        expected=f"another file name, or --replace (the old file is kept as {target.name}.bak)",
    )


def write_problem(err: OSError, target: Path) -> InputError:
    """The user's message for a system error while writing ``target`` (left unchanged)."""
    unchanged = f"{target.name} is unchanged"
    if err.errno in _FULL:
        return InputError(
            f"the disk holding {target.parent} is full: {unchanged}",
            expected="some free space, then try again",
        )
    if err.errno in _DENIED:
        return InputError(
            f"cannot write in the folder {target.parent}: permission denied; {unchanged}",
            expected="a folder you may write in",
        )
    if err.errno == errno.EROFS:
        return InputError(f"{target.parent} is on a read-only disk: {unchanged}")
    reason = err.strerror or str(err)
    return InputError(f"cannot write {target.name}: {reason}; {unchanged}")


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where the file as it was before the latest write is kept: ``NAME.bak`` beside it."""
    target = real_path(path)
    return target.with_name(target.name + ".bak")


def backup_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The backups kept, newest first: ``NAME.bak``, ``NAME.bak.1``, ``NAME.bak.2``."""
    first = backup_path(path)
    return [first] + [first.with_name(f"{first.name}.{n}") for n in range(1, KEEP_BACKUPS)]


def _rotate_backups(target: Path) -> None:
    """Make room for a new ``NAME.bak``: each backup moves one place; the oldest goes."""
    paths = backup_paths(target)
    for newer, older in zip(reversed(paths[:-1]), reversed(paths[1:]), strict=True):
        if newer.exists():
            newer.replace(older)


def keep_backup(path: str | os.PathLike[str]) -> Path | None:
    """Copy the file at ``path`` to ``NAME.bak`` (older backups turn); None when absent.

    Raises:
        InputError: the copy cannot be written (`write_problem`).

    """
    target = real_path(path)
    if not target.exists():
        return None
    bak_tmp = _temp_name(target, "baktmp")
    try:
        shutil.copyfile(target, bak_tmp)
        shutil.copystat(target, bak_tmp)
        _rotate_backups(target)
        saved = backup_path(target)
        bak_tmp.replace(saved)
    except OSError as err:
        raise write_problem(err, target) from err
    finally:
        bak_tmp.unlink(missing_ok=True)
    return saved


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some systems cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name}.{_HOST}.{os.getpid()}.{uuid.uuid4().hex[:8]}.{tag}")


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else (or cannot be asked)
        return True
    return True


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary files beside ``target`` whose writing process is gone."""
    prefix = f".{target.name}."
    try:
        names = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for leftover in names:
        parts = leftover.name[len(prefix) :].split(".")
        if len(parts) != 4 or parts[3] not in ("tmp", "baktmp") or parts[0] != _HOST:
            continue  # not one of ours, or written on another machine
        if parts[1].isdigit() and not _running(int(parts[1])):
            leftover.unlink(missing_ok=True)


def _write_temp(tmp: Path, data: bytes | Callable[[Path], None]) -> None:
    if callable(data):
        data(tmp)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        return
    with tmp.open("xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | Callable[[Path], None],
    *,
    backup: bool = True,
) -> Path | None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    ``data`` is the new file's bytes, or a function that writes the new file at the path
    it is given (a library that writes to a file name). A symbolic link is followed.
    With ``backup`` the current file becomes ``NAME.bak`` (older backups turn, see the
    module docstring). On any failure the original is untouched and the temporary files
    are removed. Returns the backup path, if any.

    Raises:
        InputError: the file is read-only, the folder is not writable, the disk is full
            or another system error stops the write.

    """
    target = real_path(path)
    check_writable(target)
    _remove_stale_temps(target)
    tmp = _temp_name(target, "tmp")
    saved: Path | None = None
    try:
        _write_temp(tmp, data)
        if target.exists():
            shutil.copymode(target, tmp)
            if backup:
                saved = keep_backup(target)
        if _before_replace is not None:
            _before_replace(tmp)
        tmp.replace(target)
        _fsync_dir(target.parent)
    except OSError as err:
        raise write_problem(err, target) from err
    finally:
        tmp.unlink(missing_ok=True)
    return saved
