"""Read a CRM export file (CSV or Excel) into a header and typed or text columns.

CSV files: the encoding is UTF-8 (with or without a byte-order mark), UTF-16 with a mark,
else the Windows code page charset-normalizer finds (Windows-1252, what Excel saves as
"CSV" on Western Windows, when it reads as well as any); a file mixing UTF-8 lines and
lines in a code page is decoded line by line, with a note (`pipeline_xl.io.decoding`).
The delimiter is the one of ``,`` ``;`` tab ``|`` that splits the first rows into the
same number of columns (more than one). Conventions the cells share are detected: a
decimal comma over the first rows (``1.234,50``; a clear comma decimal beats a clear point
decimal by count), and the day/month order of ``a/b/yy`` dates from every distinct date
text of the file (`pipeline_xl.core.cells.date_order`: ``6/13/24`` can only be month
first). The conversion decides per column from the column's own dates and falls back on
the file's evidence; a file whose dates never tell the order says so.

Excel files (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``) are read with python-calamine,
after `safety.check_zip` for zip packages; the sheet is the named one, else the first
whose header row names a known column. The file type comes from its first bytes, so an
Excel file saved with a ``.csv`` name still reads.

The header row is the row, among the first 10 non-blank ones, naming the most columns
that a preset or a header synonym knows (`pipeline_xl.core.crm.known_header`); title rows
above it are skipped. Blank rows are skipped; row numbers are the file's (CSV record
number, Excel row), the header being row 1 in a plain CSV.

Whatever is wrong with a file gives one `InputError`: empty file, binary content, one
column only (wrong delimiter), a header without data rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipeline_xl.core.cells import clean_text
from pipeline_xl.core.crm import Preset, known_header, price_list
from pipeline_xl.core.dates import DateOrder, date_order
from pipeline_xl.core.errors import InputError
from pipeline_xl.io.decoding import Decoded, decode_export
from pipeline_xl.io.safety import check_zip

__all__ = ["DELIMITERS", "ExportFile", "read_export", "read_price_list"]

DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SAMPLE = 256 * 1024
_SAMPLE_ROWS = 50
_SCAN_ROWS = 5000
_HEADER_SCAN = 10
_HEADER_LENGTH = 256  # longer cells are data, never a column name
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
_NUMBER_RE = re.compile(r"^[-+(]?\d[\d.,'\s\u00a0\u202f]*\)?$")
_DATE_LIKE_RE = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_CURRENCY_RE = re.compile(r"[$€£¥%]|\b[A-Z]{3}\b")


@dataclass(frozen=True)
class ExportFile:
    """An export as read: headers, data columns (object dtype) and what was detected.

    ``frame`` has one column per header (blank headers become ``Column N``, repeated
    ones get `` (2)``); ``rows`` is the file row of each data row; ``header_row`` the
    file row of the header; ``notes`` what reading the file found that needs a look
    (mixed or undecodable encodings).
    """

    path: Path
    kind: Literal["csv", "excel"]
    headers: tuple[str, ...]
    frame: pd.DataFrame
    rows: npt.NDArray[np.int64]
    header_row: int
    encoding: str | None = None
    delimiter: str | None = None
    decimal_comma: bool = False
    dates: DateOrder = field(default_factory=DateOrder)
    sheet: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def month_first(self) -> bool | None:
        """The file's day/month order: True month first, False day first, None untold."""
        order = self.dates.order
        return None if order is None else order == "month"

    def describe(self) -> str:
        """One line: file kind, encoding, delimiter, conventions, row count."""
        parts = [self.path.name]
        if self.kind == "csv":
            parts.append(
                f"CSV {self.encoding}, {_DELIMITER_NAMES.get(self.delimiter or '', '?')} delimiter"
            )
        else:
            parts.append(f"Excel sheet {self.sheet!r}")
        parts.append("decimal comma" if self.decimal_comma else "decimal point")
        dates = self.dates
        if dates.mixed:
            parts.append(f"dates in both orders ({dates.month_example}, {dates.day_example})")
        elif dates.order == "month":
            parts.append(f"dates month first ({dates.month_example})")
        elif dates.order == "day":
            parts.append(f"dates day first ({dates.day_example})")
        elif dates.ambiguous:
            parts.append(f"day/month order untold ({dates.ambiguous_example})")
        parts.append(f"header on row {self.header_row}, {len(self.frame):,} data rows")
        return ": ".join(parts[:2]) + ", " + ", ".join(parts[2:])


# --------------------------------------------------------------------------- text


def _decode(data: bytes, name: str) -> Decoded:
    """The file's text, encoding and notes (`decoding.decode_export`); binary refused.

    A file without a UTF-16 mark whose first bytes are more than 0.5 % NUL is binary (or
    UTF-16 without its mark): refused. Fewer NULs are control characters of the text,
    which the import removes and reports.
    """
    sample = data[:_SAMPLE]
    is_utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not is_utf16 and sample.count(b"\x00") > max(8, len(sample) // 200):
        raise _garbage(name)
    return decode_export(data)


def _garbage(name: str) -> InputError:
    return InputError(
        f"{name} is not a text (CSV) file: it holds binary data",
        expected="a CSV export or an Excel workbook",
    )


def _check_text(text: str, name: str) -> None:
    sample = text[:_SAMPLE]
    odd = sum(
        1
        for ch in sample
        if (ord(ch) < 32 and ch not in "\t\r\n\f") or "\x7f" <= ch <= "\x9f" or ch == "\ufffd"
    )
    if odd > max(8, len(sample) // 200):
        raise _garbage(name)


def _records(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _delimiter(text: str, name: str) -> str:
    """The delimiter that splits the first rows into the same number (> 1) of columns."""
    sample = text[:_SAMPLE]
    if len(text) > _SAMPLE and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best: tuple[float, int] = (0.0, 1)
    chosen = None
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in _records(sample, delimiter) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        rows = rows[:_SAMPLE_ROWS]
        if not rows:
            continue
        widths = Counter(len(r) for r in rows)
        width, count = max(widths.items(), key=lambda wc: (wc[1], wc[0]))
        if width < 2:
            continue
        score = (count / len(rows), width)
        if score > best:
            best, chosen = score, delimiter
    if chosen is None:
        raise InputError(
            f"{name}: only one column found; the delimiter is not a comma, semicolon, tab "
            "or pipe, or the file is not a table",
            expected="a CSV file with columns separated by , ; or tab",
        )
    return chosen


# --------------------------------------------------------------------------- detection


def _number_signal(text: str) -> Literal["comma", "dot"] | None:
    """Which decimal separator a number text clearly uses, if any."""
    body = _CURRENCY_RE.sub("", text).strip()
    if not body or not _NUMBER_RE.match(body) or _DATE_LIKE_RE.match(body):
        return None
    body = body.strip("()+-").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    cut = max(body.rfind(","), body.rfind("."))
    if cut < 0:
        return None
    sep, before, after = body[cut], body[:cut], body[cut + 1 :]
    other = "." if sep == "," else ","
    if not after.isdigit():
        return None
    clear = len(after) != 3 or other in before or before in {"0", ""}
    if not clear or (sep == "." and before.count(".")) or (sep == "," and before.count(",")):
        return None
    return "comma" if sep == "," else "dot"


def _conventions(frame: pd.DataFrame) -> tuple[bool, DateOrder]:
    """(decimal comma from the first rows, day/month evidence of every column's dates)."""
    comma = dot = 0
    head = frame.head(_SCAN_ROWS)
    for col in range(head.shape[1]):
        texts = {v.strip() for v in head.iloc[:, col].tolist() if isinstance(v, str) and v.strip()}
        for text in texts:
            signal = _number_signal(text)
            comma += signal == "comma"
            dot += signal == "dot"
    dates = DateOrder()
    for col in range(frame.shape[1]):
        dates += date_order(frame.iloc[:, col].to_numpy(dtype=object))
    return comma > dot, dates


# --------------------------------------------------------------------------- tables


def _header_index(rows: Sequence[Sequence[object]]) -> int | None:
    """Index of the header row among the first non-blank rows (module docstring)."""
    filled = [i for i, r in enumerate(rows[: _HEADER_SCAN * 5]) if any(map(_filled, r))]
    if not filled:
        return None
    best, best_score = filled[0], 0
    for i in filled[:_HEADER_SCAN]:
        score = sum(1 for c in rows[i] if _header_like(c))
        if score > best_score:
            best, best_score = i, score
    return best


def _header_like(cell: object) -> bool:
    """Whether a cell names a known column (long cells are data: never folded)."""
    return isinstance(cell, str) and len(cell) <= _HEADER_LENGTH and known_header(cell)


def _filled(value: object) -> bool:
    if isinstance(value, str) and len(value) > _HEADER_LENGTH:
        return not value.isspace()  # too long for an error value or a blank word
    return clean_text(value) != ""


def _unique_headers(cells: Sequence[object], width: int) -> tuple[str, ...]:
    out: list[str] = []
    seen: Counter[str] = Counter()
    for i in range(width):
        text = clean_text(cells[i]) if i < len(cells) else ""
        text = text or f"Column {i + 1}"
        seen[text.casefold()] += 1
        if seen[text.casefold()] > 1:
            text = f"{text} ({seen[text.casefold()]})"
        out.append(text)
    return tuple(out)


def _grid(rows: Sequence[Sequence[object]]) -> npt.NDArray[np.object_]:
    """Rows of any lengths as a rectangular object array ("" fills short rows)."""
    width = max((len(r) for r in rows), default=0)
    grid = np.full((len(rows), width), "", dtype=object)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = row
    return grid


def _table(
    grid: npt.NDArray[np.object_], name: str, where: str
) -> tuple[tuple[str, ...], pd.DataFrame, npt.NDArray[np.int64], int]:
    """Headers, data frame, file row numbers (1-based) and header row of a grid of cells."""
    top = _header_index(grid[: _HEADER_SCAN * 5].tolist())
    if top is None:
        raise InputError(f"{name} is empty: no cell holds a value", expected="a deals export")
    header = grid[top].tolist()
    filled_at = [i for i, c in enumerate(header) if _filled(c)]
    width = filled_at[-1] + 1 if filled_at else 0
    if width < 2:
        raise InputError(
            f"{name}: only one column found in {where}; the delimiter may be wrong",
            row=top + 1,
            expected="a table of deals with several columns (ID, Stage, Amount, ...)",
        )
    body = grid[top + 1 :, :width]
    blank = (body == "") | pd.isna(body)
    data_index = np.flatnonzero(~blank.all(axis=1))
    if not len(data_index):
        raise InputError(
            f"{name} has a header row but no data rows",
            row=top + 1,
            expected="one row per deal below the header",
        )
    headers = _unique_headers(header, width)
    data = body[data_index]
    frame = pd.DataFrame({h: pd.Series(data[:, j], dtype=object) for j, h in enumerate(headers)})
    return headers, frame, (data_index + top + 2).astype(np.int64), top + 1


def _parse_csv(text: str, delimiter: str) -> npt.NDArray[np.object_]:
    """All records as a grid: pandas' C parser, or the csv module for ragged files."""
    sample = text[:_SAMPLE]
    if len(text) > _SAMPLE and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    width = max((len(r) for r in _records(sample, delimiter)), default=1)
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            names=range(width),
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError):
        return _grid(_records(text, delimiter))  # a later row is wider than the first ones
    return table.to_numpy(dtype=object)


def _read_csv(path: Path, data: bytes) -> ExportFile:
    name = path.name
    decoded = _decode(data, name)
    text = decoded.text
    if not text.strip():
        raise InputError(f"{name} is empty", expected="a deals export with a header row")
    _check_text(text, name)
    delimiter = _delimiter(text, name)
    try:
        grid = _parse_csv(text, delimiter)
    except csv.Error as err:
        raise InputError(f"{name} is not a readable CSV file: {err}") from err
    headers, frame, rows, header_row = _table(grid, name, "the file")
    comma, dates = _conventions(frame)
    return ExportFile(
        path,
        "csv",
        headers,
        frame,
        rows,
        header_row,
        decoded.encoding,
        delimiter,
        comma,
        dates,
        notes=decoded.notes,
    )


def _read_excel(path: Path, data: bytes, sheet: str | None) -> ExportFile:
    from python_calamine import CalamineWorkbook  # noqa: PLC0415 - only Excel exports need it

    name = path.name
    if data.startswith(_ZIP_MAGIC):
        check_zip(data, name=name)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
        if sheet is not None and sheet not in names:
            raise InputError(
                f"{name} has no sheet {sheet!r}", expected=f"one of {', '.join(names)}"
            )
        candidates = [sheet] if sheet is not None else names
        chosen: tuple[str, list[list[object]]] | None = None
        for candidate in candidates:
            cells = book.get_sheet_by_name(candidate).to_python(skip_empty_area=False)
            rows: list[list[object]] = [list(r) for r in cells]
            top = _header_index(rows)
            if top is not None and (chosen is None or any(_header_like(c) for c in rows[top])):
                chosen = (candidate, rows)
                if any(_header_like(c) for c in rows[top]):
                    break
    except InputError:
        raise
    except Exception as err:  # calamine raises many error types for a bad file
        raise InputError(
            f"{name} is not a readable Excel file ({type(err).__name__})",
            expected="an .xlsx, .xlsm, .xls or .ods file, or a CSV export",
        ) from err
    if chosen is None:
        raise InputError(f"{name} is empty: no sheet holds a value", expected="a deals export")
    sheet_name, rows = chosen
    headers, frame, numbers, header_row = _table(_grid(rows), name, f"sheet {sheet_name!r}")
    comma, dates = _conventions(frame)
    return ExportFile(
        path, "excel", headers, frame, numbers, header_row, None, None, comma, dates, sheet_name
    )


def read_export(path: str | Path, *, sheet: str | None = None) -> ExportFile:
    """Read a CSV or Excel export (module docstring).

    Raises:
        InputError: the file is missing, empty, binary, has one column only or no data
            rows, or is not a readable workbook.

    """
    target = Path(path)
    try:
        data = target.read_bytes()
    except FileNotFoundError as err:
        raise InputError(f"{target.name} does not exist", value=str(target)) from err
    except IsADirectoryError as err:
        raise InputError(f"{target.name} is a folder, not a file", value=str(target)) from err
    except OSError as err:
        raise InputError(f"{target.name} cannot be read: {err.strerror}") from err
    if not data.strip():
        raise InputError(f"{target.name} is empty", expected="a deals export with a header row")
    excel = data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or (
        target.suffix.lower() in _EXCEL_SUFFIXES and not data[:1].isascii()
    )
    if excel:
        return _read_excel(target, data, sheet)
    return _read_csv(target, data)


def read_price_list(
    export: str | Path, preset: Preset
) -> tuple[dict[str, tuple[str, float]], Path] | None:
    """The preset's price list beside the export (Maven's products.csv), if there is one.

    Raises:
        InputError: the file is there but unreadable or lacks its columns.

    """
    if preset.prices is None:
        return None
    file_name, product, price = preset.prices
    path = Path(export).with_name(file_name)
    if not path.is_file():
        return None
    table = read_export(path)
    return price_list(table.frame, product, price), path
