"""The zip-bomb guard: a workbook package is checked before any reader inflates it.

A 1 MB workbook can hold a part that expands to gigabytes, and
a zip's directory can declare sizes that its parts do not keep to. `check_zip` therefore
refuses a package in two steps, both before python-calamine or the package editor read
a part:

1. the zip directory: more than `MAX_MEMBERS` parts, a part name that is absolute or
   contains ``..``, a part declared larger than `MAX_PART`, parts declared larger than
   `MAX_TOTAL` together, or a part above `RATIO_FLOOR` declared to expand more than
   `MAX_RATIO` times;
2. the bytes themselves: every part is inflated in chunks of at most `CHUNK` bytes that
   are counted and dropped. Reading stops, and the package is refused, as soon as a
   part gives more bytes than its directory entry declares (so the declared sizes
   checked in step 1 are true) or than `MAX_PART`, or all parts together more than
   `MAX_TOTAL`, whatever the headers say. A part that gives fewer bytes than declared,
   whose checksum differs or whose data runs past the end of the file is damaged.

Only stored and deflated parts are accepted (what Excel, LibreOffice and the spreadsheet
libraries write); encrypted parts are refused. Memory stays at a few chunks whatever the
package declares; the time is that of inflating the package once. While the parts
inflate, `check_zip` can also say which of them hold given bytes (``find``), so a reader
looking for something rare does not inflate every part a second time.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pipeline_xl.core.errors import InputError

__all__ = [
    "CHUNK",
    "MAX_MEMBERS",
    "MAX_PART",
    "MAX_RATIO",
    "MAX_TOTAL",
    "RATIO_FLOOR",
    "check_zip",
    "human_size",
]

MAX_TOTAL = 2 * 1024**3  # inflated bytes of all parts together
MAX_PART = 1024**3  # inflated bytes of one part
MAX_RATIO = 200.0  # declared inflated / compressed size, for parts above RATIO_FLOOR
RATIO_FLOOR = 10 * 1024**2
MAX_MEMBERS = 20_000
CHUNK = 1024**2  # bytes inflated (and read) at a time

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIG = b"PK\x03\x04"
_ENCRYPTED = 0x1
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


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
    max_part: int = MAX_PART,
    max_ratio: float = MAX_RATIO,
    ratio_floor: int = RATIO_FLOOR,
    max_members: int = MAX_MEMBERS,
    find: tuple[bytes, ...] = (),
) -> frozenset[str]:
    """Refuse a package that looks like a zip bomb or a path trick (module docstring).

    ``source`` is the file's path or bytes; ``name`` the file name used in messages.
    Returns the names of the parts whose inflated bytes hold one of ``find`` (none when
    ``find`` is empty).

    Raises:
        InputError: the file is missing, unreadable, not a zip package, damaged or
            refused (the message says why).

    """
    label = name or (Path(source).name if not isinstance(source, bytes) else "the workbook")
    try:
        handle: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else _open(source)
    except FileNotFoundError as err:
        raise InputError(f"{label} does not exist", expected="an existing workbook") from err
    except OSError as err:
        raise InputError(f"{label} cannot be read: {err.strerror or err}") from err
    with handle:
        try:
            with zipfile.ZipFile(handle) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
            raise InputError(
                f"{label} is not an Excel workbook (not a zip package)",
                expected="an .xlsx or .xlsm file saved by Excel",
            ) from err
        except OSError as err:
            raise InputError(f"{label} cannot be read: {err.strerror or err}") from err
        limits = (max_total, max_part, max_ratio, ratio_floor)
        _check_directory(infos, label, max_members, limits)
        return _check_inflated(handle, infos, label, (max_total, max_part), find)


def _open(source: str | os.PathLike[str]) -> BinaryIO:
    path = Path(source)
    if path.is_dir():
        raise IsADirectoryError(21, "it is a folder", str(path))
    return path.open("rb")


def _check_directory(
    infos: list[zipfile.ZipInfo],
    label: str,
    max_members: int,
    limits: tuple[int, int, float, int],
) -> None:
    """Step 1: what the zip directory declares."""
    max_total, max_part, max_ratio, ratio_floor = limits
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
        if info.flag_bits & _ENCRYPTED:
            raise InputError(
                f"refusing {label}: its part {info.filename} is encrypted",
                expected="a workbook saved without a password",
            )
        if info.compress_type not in _METHODS:
            raise InputError(
                f"refusing {label}: its part {info.filename} uses a zip compression that "
                "Excel does not write",
                expected="a workbook saved by Excel",
            )
        if info.file_size > max_part:
            raise InputError(
                f"refusing {label}: its part {info.filename} expands to "
                f"{human_size(info.file_size)} (more than {human_size(max_part)}), "
                "which looks like a zip bomb"
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


def _compressed_chunks(handle: BinaryIO, info: zipfile.ZipInfo, label: str) -> Iterator[bytes]:
    """The stored bytes of one member, read from its local header on, a chunk at a time."""
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != _LOCAL_SIG:
        raise InputError(f"{label} is damaged: the zip entry of {info.filename} is broken")
    fields = _LOCAL.unpack(header)
    handle.seek(fields[10] + fields[11], os.SEEK_CUR)
    left = info.compress_size
    while left > 0:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            raise InputError(f"{label} is damaged: the file ends inside {info.filename}")
        left -= len(chunk)
        yield chunk


def _inflated(chunks: Iterator[bytes], method: int) -> Iterator[bytes]:
    """The bytes of a member as they inflate, at most `CHUNK` at a time."""
    if method == zipfile.ZIP_STORED:
        yield from chunks
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    for chunk in chunks:
        pending = chunk
        while pending and not inflater.eof:
            yield inflater.decompress(pending, CHUNK)
            pending = inflater.unconsumed_tail
        if inflater.eof:
            return
    yield inflater.flush()


def _check_inflated(
    handle: BinaryIO,
    infos: list[zipfile.ZipInfo],
    label: str,
    limits: tuple[int, int],
    find: tuple[bytes, ...],
) -> frozenset[str]:
    """Step 2: every part inflated and counted; stops at the first limit passed.

    Returns the parts that hold one of ``find`` (a chunk is searched with the end of the
    one before it, so bytes cut by a chunk boundary are found too).
    """
    max_total, max_part = limits
    overlap = max(map(len, find), default=1) - 1
    found: set[str] = set()
    total = 0
    for info in infos:
        count = 0
        crc = 0
        limit = min(info.file_size, max_part)
        tail = b""
        try:
            for piece in _inflated(_compressed_chunks(handle, info, label), info.compress_type):
                count += len(piece)
                total += len(piece)
                if count > limit or total > max_total:
                    raise _bomb(label, info, (count, total), max_part, max_total)
                crc = zlib.crc32(piece, crc)
                if find and info.filename not in found:
                    window = tail + piece
                    if any(f in window for f in find):
                        found.add(info.filename)
                    tail = window[-overlap:] if overlap else b""
        except zlib.error as err:
            raise InputError(f"{label} is damaged: {info.filename} cannot be inflated") from err
        if count != info.file_size or crc != info.CRC:
            raise InputError(
                f"{label} is damaged: {info.filename} does not hold the "
                f"{human_size(info.file_size)} its zip entry declares",
                expected="a workbook saved by Excel",
            )
    return frozenset(found)


def _bomb(
    label: str, info: zipfile.ZipInfo, counts: tuple[int, int], max_part: int, max_total: int
) -> InputError:
    count, total = counts
    if total > max_total:
        return InputError(
            f"refusing {label}: its parts expand to more than {human_size(max_total)}, "
            "which looks like a zip bomb"
        )
    if count > max_part:
        return InputError(
            f"refusing {label}: its part {info.filename} expands to more than "
            f"{human_size(max_part)}, which looks like a zip bomb"
        )
    return InputError(
        f"refusing {label}: its part {info.filename} expands beyond the "
        f"{human_size(info.file_size)} its zip entry declares, which looks like a zip bomb"
    )
