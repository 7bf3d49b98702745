"""The text of a CSV export, whatever encoding, or encodings, its bytes are in.

* A UTF-8 byte-order mark: UTF-8 (``UTF-8 with BOM``). A UTF-16 mark, either byte
  order: UTF-16. No mark: UTF-8 when the whole file is valid UTF-8.
* Otherwise each line (the bytes up to a line feed) is looked at on its own. A line
  that is valid UTF-8 and holds a character beyond ASCII is UTF-8; the lines that are
  not valid UTF-8 are in a single-byte code page, which charset-normalizer detects from
  those lines alone, among the Windows code pages Excel saves CSV files in (1250 to
  1258) and Latin-1. Where candidates read the lines equally well, Windows-1252 (Western
  Windows, what Excel saves as "CSV" there) is taken.
* A file without a UTF-8 line is decoded whole in that code page. A file with both
  (rows pasted from two systems) is decoded line by line, each line in the encoding it
  is valid in, and a note says how many lines were read in each and which lines were
  the code page's (line numbers as a text editor counts them).
* Bytes that no candidate decodes (bytes Windows-1252 leaves undefined, a damaged
  UTF-16 file) become U+FFFD, and a note names their lines: undecodable bytes never
  turn into other text silently.

Telling binary content from text is the caller's concern.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from pipeline_xl.core.display import counted

__all__ = ["CODE_PAGES", "Decoded", "decode_export"]

CODE_PAGES = (
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "latin_1",
)
"""The single-byte encodings an export without UTF-8 can be in, the preferred first."""
_PREFERRED = CODE_PAGES[0]
_DETECT_BYTES = 1 << 20  # the code page is detected from the first MiB of its lines
_SHOWN_LINES = 5


@dataclass(frozen=True)
class Decoded:
    """A file's text, its encoding as a label (``UTF-8``, ``Windows-1252``...) and notes."""

    text: str
    encoding: str
    notes: tuple[str, ...] = ()


def _label(codec: str) -> str:
    """``cp1252`` -> ``Windows-1252``, ``latin_1`` -> ``Latin-1``."""
    if codec.startswith("cp"):
        return f"Windows-{codec[2:]}"
    return "Latin-1" if codec == "latin_1" else codec


def _lines(numbers: list[int]) -> str:
    """``5, 9, 14, ...``: the first line numbers (0-based indices shown 1-based)."""
    shown = ", ".join(str(n + 1) for n in numbers[:_SHOWN_LINES])
    return shown + (", ..." if len(numbers) > _SHOWN_LINES else "")


def _code_page(sample: bytes) -> str:
    """The code page of bytes that are not UTF-8 (module docstring)."""
    found = from_bytes(sample[:_DETECT_BYTES], cp_isolation=list(CODE_PAGES))
    if not found:
        return _PREFERRED
    least = min(match.chaos for match in found)
    best = [match for match in found if match.chaos <= least]
    if any(_PREFERRED in match.could_be_from_charset for match in best):
        return _PREFERRED
    return str(best[0].encoding)


def _utf16(data: bytes) -> Decoded:
    try:
        return Decoded(data.decode("utf-16"), "UTF-16")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-16", errors="replace")
    lines = [i for i, line in enumerate(text.split("\n")) if "\ufffd" in line]
    note = (
        f"the UTF-16 file holds bytes that are no UTF-16 text: {counted(len(lines), 'line')} "
        f"{'shows' if len(lines) == 1 else 'show'} U+FFFD (\ufffd) in their place "
        f"(lines {_lines(lines)})"
    )
    return Decoded(text, "UTF-16", (note,))


def decode_export(data: bytes) -> Decoded:
    """The text of an export's bytes, their encoding and notes (module docstring)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _utf16(data)
    label = "UTF-8"
    if data.startswith(codecs.BOM_UTF8):
        data, label = data[len(codecs.BOM_UTF8) :], "UTF-8 with BOM"
    try:
        return Decoded(data.decode("utf-8"), label)
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    texts: list[str] = []
    utf8: list[int] = []
    other: list[int] = []
    for i, line in enumerate(lines):
        if line.isascii():
            texts.append(line.decode("ascii"))
            continue
        try:
            texts.append(line.decode("utf-8"))
            utf8.append(i)
        except UnicodeDecodeError:
            texts.append("")
            other.append(i)
    page = _code_page(b"\n".join(lines[i] for i in other))
    if not utf8:
        try:
            return Decoded(data.decode(page), _label(page))
        except UnicodeDecodeError:
            pass
    undecodable: list[int] = []
    for i in other:
        try:
            texts[i] = lines[i].decode(page)
        except UnicodeDecodeError:
            texts[i] = lines[i].decode(page, errors="replace")
            undecodable.append(i)
    notes: list[str] = []
    encoding = _label(page)
    if utf8:
        encoding = f"UTF-8 and {_label(page)}, line by line"
        notes.append(
            f"mixed encodings: of the {counted(len(utf8) + len(other), 'line')} with "
            f"characters beyond ASCII, {len(utf8):,} read as UTF-8 and {len(other):,} as "
            f"{_label(page)}, each line on its own ({_label(page)} on lines {_lines(other)})"
        )
    if undecodable:
        notes.append(
            f"{counted(len(undecodable), 'line')} held bytes that neither UTF-8 nor "
            f"{_label(page)} can read: shown as U+FFFD (\ufffd) (lines {_lines(undecodable)})"
        )
    return Decoded("\n".join(texts), encoding, tuple(notes))
