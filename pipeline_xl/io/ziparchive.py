"""Write a workbook package's zip, copying unchanged members as stored.

A refresh changes a few parts of a workbook that may hold hundreds of megabytes of
other parts. `ZipEntry.copied` takes an unchanged member's compressed bytes straight
from the source archive (no decompression, no recompression), with its name, time,
compression method, CRC and attributes, so the member comes out byte for byte as it
went in. `ZipEntry.rewritten` compresses a new or changed part (deflate level 1: fast;
Excel itself favours speed too), keeping the old member's method, time and attributes
when there was one; new parts get 1980-01-01 00:00, so the same refresh gives the same
bytes.

What is refused (`InputError`): a damaged local header of a member to copy, an archive
over 4 GB or with more than 65,535 members (plain zip, no zip64: the safety checks on
reading keep workbooks well below those limits).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline_xl.core.errors import InputError

__all__ = ["ZipEntry", "can_copy", "zip_bytes"]

_LEVEL = 1  # deflate level of rewritten parts: fast; Excel itself favours speed too
_NEW_PART_TIME = (1980, 1, 1, 0, 0, 0)
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"
_VERSION = 20  # zip 2.0: deflate
_UTF8_NAME = 0x800  # general purpose flag: the name is UTF-8
_COPYABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ZIP_LIMIT = 0xFFFFFFFF
_MAX_MEMBERS = 0xFFFF


def can_copy(info: zipfile.ZipInfo) -> bool:
    """Whether a member can be written again as stored (stored or deflated)."""
    return info.compress_type in _COPYABLE


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One zip member to write: its compressed bytes and directory fields."""

    name: bytes
    flags: int
    method: int
    dos_time: int
    dos_date: int
    crc: int
    size: int
    payload: bytes
    external_attr: int

    @classmethod
    def copied(cls, info: zipfile.ZipInfo, source: bytes) -> ZipEntry:
        """A member copied from ``source`` as stored (no decompression).

        Raises:
            InputError: the member's local header is damaged.

        """
        header = source[info.header_offset : info.header_offset + _LOCAL.size]
        fields = _LOCAL.unpack(header)
        if fields[0] != _LOCAL_SIG:
            raise InputError(f"the zip entry of {info.filename} is damaged")
        start = info.header_offset + _LOCAL.size + fields[10] + fields[11]
        payload = source[start : start + info.compress_size]
        name, flags = _zip_name(info.filename)
        dos_time, dos_date = _dos_time(info.date_time)
        return cls(
            name,
            flags,
            info.compress_type,
            dos_time,
            dos_date,
            info.CRC,
            info.file_size,
            payload,
            info.external_attr,
        )

    @classmethod
    def rewritten(cls, name: str, data: bytes, old: zipfile.ZipInfo | None) -> ZipEntry:
        """A member holding ``data``, written like ``old`` (None: a new part).

        It keeps the old member's compression method (deflate when the old one is
        neither stored nor deflated), time and attributes.
        """
        method = old.compress_type if old is not None and can_copy(old) else zipfile.ZIP_DEFLATED
        if method == zipfile.ZIP_DEFLATED:
            packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, -15)
            payload = packer.compress(data) + packer.flush()
        else:
            payload = data
        encoded, flags = _zip_name(name)
        dos_time, dos_date = _dos_time(old.date_time if old is not None else _NEW_PART_TIME)
        return cls(
            encoded,
            flags,
            method,
            dos_time,
            dos_date,
            zlib.crc32(data),
            len(data),
            payload,
            old.external_attr if old is not None else 0,
        )

    def _shared_fields(self) -> tuple[int, ...]:
        """The fields the local header and the central directory record both hold."""
        return (
            self.flags,
            self.method,
            self.dos_time,
            self.dos_date,
            self.crc,
            len(self.payload),
            self.size,
            len(self.name),
        )

    def local_header(self) -> bytes:
        """The local file header, name included."""
        return _LOCAL.pack(_LOCAL_SIG, _VERSION, 0, *self._shared_fields(), 0) + self.name

    def central_record(self, offset: int) -> bytes:
        """The central directory record of the member written at ``offset``."""
        fields = self._shared_fields()
        record = _CENTRAL.pack(
            _CENTRAL_SIG, _VERSION, 0, _VERSION, 0, *fields, 0, 0, 0, 0, self.external_attr, offset
        )
        return record + self.name


def _zip_name(name: str) -> tuple[bytes, int]:
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), _UTF8_NAME


def _dos_time(when: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = when
    year = min(max(year, 1980), 2107)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


def zip_bytes(entries: Sequence[ZipEntry]) -> bytes:
    """A zip archive of ``entries`` (plain zip: the size limits keep zip64 unneeded).

    Raises:
        InputError: the archive would exceed 4 GB or 65,535 members.

    """
    out = io.BytesIO()
    central: list[bytes] = []
    for entry in entries:
        offset = out.tell()
        if max(offset, len(entry.payload), entry.size) > _ZIP_LIMIT:
            raise InputError("the workbook is too large to write (over 4 GB)")
        out.write(entry.local_header())
        out.write(entry.payload)
        central.append(entry.central_record(offset))
    start = out.tell()
    for record in central:
        out.write(record)
    size = out.tell() - start
    if len(entries) > _MAX_MEMBERS or start > _ZIP_LIMIT:
        raise InputError("the workbook has too many parts to write")
    out.write(_END.pack(_END_SIG, 0, 0, len(entries), len(entries), size, start, 0))
    return out.getvalue()
