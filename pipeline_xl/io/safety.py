"""Guards around a user's workbook file: zip bombs, a file open in Excel, atomic writes.

A 1 MB workbook can hold a part that expands to gigabytes (design notes, section 5), so
`check_zip` reads only the zip directory and refuses suspicious packages before anything
decompresses a byte. `check_not_open` looks for the lock file Excel (or LibreOffice)
keeps beside an open workbook: writing under an open Excel would be lost at its next save.
`atomic_write` never leaves half a file: the new bytes go to a temporary file in the same
folder, the previous version is kept as ``NAME.bak``, then one `os.replace` swaps them.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pipeline_xl.core.errors import InputError

__all__ = [
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_TOTAL",
    "RATIO_FLOOR",
    "atomic_write",
    "backup_path",
    "check_not_open",
    "check_zip",
    "human_size",
]

MAX_TOTAL = 2 * 1024**3  # uncompressed bytes of all parts together
MAX_RATIO = 200.0  # uncompressed / compressed, checked for parts above RATIO_FLOOR
RATIO_FLOOR = 10 * 1024**2
MAX_MEMBERS = 20_000

# Called between writing the temporary file and replacing the target (tests pause here).
_before_replace: Callable[[Path], None] | None = None


def human_size(n: float) -> str:
    """``1.2 MB``, ``1.0 GiB``-style text for a byte count (decimal below a GiB)."""
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GiB"
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def _bad_name(name: str) -> bool:
    """A member name that could escape a folder: absolute, drive letter or ``..``."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return True
    return ".." in PurePosixPath(text).parts


def check_zip(
    source: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    max_total: int = MAX_TOTAL,
    max_ratio: float = MAX_RATIO,
    ratio_floor: int = RATIO_FLOOR,
    max_members: int = MAX_MEMBERS,
) -> None:
    """Refuse a package whose zip directory looks like a zip bomb or a path trick.

    Only the central directory is read. Refused: more than ``max_members`` parts, a part
    name that is absolute or contains ``..``, parts adding up to more than ``max_total``
    uncompressed bytes, or a part above ``ratio_floor`` bytes that expands more than
    ``max_ratio`` times. ``name`` is the file name used in messages.

    Raises:
        InputError: the file is not a zip package or is refused (the message says why).

    """
    label = name or (Path(source).name if not isinstance(source, bytes) else "the workbook")
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        with zipfile.ZipFile(handle) as zf:
            infos = zf.infolist()
    except FileNotFoundError as err:
        raise InputError(f"{label} does not exist", expected="an existing workbook") from err
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as err:
        raise InputError(
            f"{label} is not an Excel workbook (not a zip package)",
            expected="an .xlsx or .xlsm file saved by Excel",
        ) from err
    if len(infos) > max_members:
        raise InputError(
            f"refusing {label}: it holds {len(infos):,} parts (more than {max_members:,}), "
            "which looks like a zip bomb"
        )
    total = 0
    for info in infos:
        if _bad_name(info.filename):
            raise InputError(
                f"refusing {label}: its part name {info.filename!r} points outside the package"
            )
        total += info.file_size
        if info.file_size > ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio:
                raise InputError(
                    f"refusing {label}: its part {info.filename} expands to "
                    f"{human_size(info.file_size)} from {human_size(info.compress_size)} "
                    f"(ratio {ratio:.0f}:1), which looks like a zip bomb"
                )
    if total > max_total:
        raise InputError(
            f"refusing {label}: its parts expand to {human_size(total)} "
            f"(more than {human_size(max_total)}), which looks like a zip bomb"
        )


def check_not_open(path: str | os.PathLike[str]) -> None:
    """Refuse a workbook that Excel or LibreOffice has open (their lock file is beside it).

    Raises:
        InputError: the lock file ``~$NAME`` (Excel) or ``.~lock.NAME#`` (LibreOffice)
            exists.

    """
    target = Path(path)
    for lock, app in ((f"~${target.name}", "Excel"), (f".~lock.{target.name}#", "LibreOffice")):
        if (target.parent / lock).exists():
            raise InputError(
                f"{target.name} is open in {app} (lock file {lock}): close it and try again"
            )


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where `atomic_write` keeps the previous version: ``NAME.bak`` beside the file."""
    target = Path(path)
    return target.with_name(target.name + ".bak")


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
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.{tag}")


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary files that a killed earlier write left beside ``target``."""
    prefix = f".{target.name}."
    try:
        names = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for leftover in names:
        tag = leftover.name[len(prefix) :]
        if len(tag) in (12, 15) and tag.split(".")[-1] in ("tmp", "baktmp"):
            leftover.unlink(missing_ok=True)


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | Callable[[Path], None],
    *,
    backup: bool = True,
) -> Path | None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    ``data`` is the new file's bytes, or a function that writes the new file at the path
    it is given (a library that writes to a file name). The new file goes to a temporary
    file in the same folder (flushed and fsynced); with
    ``backup`` the current file is first copied to ``NAME.bak`` (an older one is
    replaced); then `os.replace` swaps the new file in. On any failure the original is
    untouched and the temporary files are removed. Returns the backup path, if any.
    """
    target = Path(path)
    _remove_stale_temps(target)
    tmp = _temp_name(target, "tmp")
    bak_tmp = _temp_name(target, "baktmp")
    saved: Path | None = None
    try:
        if callable(data):
            data(tmp)
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
        else:
            with tmp.open("xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
            if backup:
                shutil.copyfile(target, bak_tmp)
                shutil.copystat(target, bak_tmp)
                saved = backup_path(target)
                bak_tmp.replace(saved)
        if _before_replace is not None:
            _before_replace(tmp)
        tmp.replace(target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
        bak_tmp.unlink(missing_ok=True)
    return saved
