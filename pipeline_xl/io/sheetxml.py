"""The low-level text of worksheet XML: escaping, references, sheet names, numbers, cells.

Every writer of SpreadsheetML here (report sheets in `render`, table rows in `tables`)
and the package editor (`package`) take these rules from this one module, so a cell, a
reference or a quoted sheet name is spelt the same wherever it is written.

* XML text: `xml_escape` escapes ``& < >`` (and ``"`` in attribute values);
  `xml_unescape` reads the five named entities and numeric references back.
* Cell text (`xml_text`): characters XML 1.0 cannot carry, and CR (which parsers turn
  into LF), are written as Excel's ``_xHHHH_`` escapes; a literal ``_xHHHH_`` in the
  text gets its underscore escaped (``_x005F_``) so Excel does not decode it; U+FFFE,
  U+FFFF and lone surrogates, which no XML file can hold, are dropped. The cell then
  shows exactly the original text. `xml_clean` only drops what XML cannot hold (for
  chart labels and names, where Excel does not decode escapes).
* Cells (`text_cell_xml`, `number_cell_xml`, `bool_cell_xml`, `empty_cell_xml`): text
  is always an inline string (``t="inlineStr"``), never a formula, with
  ``xml:space="preserve"`` when it starts or ends with white space (or always, when the
  writer asks);
  numbers are written in their shortest round-trip form (`number_text`), whole numbers
  without a decimal point; style 0 (the default) writes no ``s`` attribute.
* References: 1-based rows and columns, ``A``..``XFD`` (`column_letter`,
  `column_index`, `cell_ref`, `split_ref`, `area_ref`, `range_ref`).
* Sheet names in formulas (`quote_sheet`): plain when a formula can carry them bare
  (letters, digits, ``_`` and ``.``, not starting with a digit, not readable as a cell
  reference, an R1C1 reference or TRUE/FALSE), else in apostrophes with inner
  apostrophes doubled.

Text that Excel would read as a formula when edited starts with one of `QUOTE_STARTS`;
writers give such cells a quote-prefix style.
"""

from __future__ import annotations

import re

__all__ = [
    "PLAIN_SHEET_NAME",
    "QUOTE_STARTS",
    "area_ref",
    "bool_cell_xml",
    "cell_ref",
    "column_index",
    "column_letter",
    "empty_cell_xml",
    "number_cell_xml",
    "number_text",
    "quote_sheet",
    "range_ref",
    "split_ref",
    "text_cell_xml",
    "xml_clean",
    "xml_escape",
    "xml_text",
    "xml_unescape",
]

QUOTE_STARTS = ("=", "+", "-", "@")
"""First characters that make Excel read typed text as a formula or a sign."""

PLAIN_SHEET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
"""A sheet name a formula may write without quotes (unless it reads as a reference)."""

_LOOKS_LIKE_REF = re.compile(r"(?i)[a-z]{1,3}[0-9]+|r[0-9]*c[0-9]*|true|false")
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_ESCAPE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # CR too: parsers drop it
_SURROGATES = re.compile("[\ud800-\udfff]")
_LITERAL_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_NEEDS_WORK = re.compile("[&<>_\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_ENTITY_RE = re.compile(r"&(#x[0-9A-Fa-f]+|#\d+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_LARGEST_WHOLE = 1e15  # whole numbers below it are written as integers, others by repr


# --------------------------------------------------------------------------- XML text


def xml_escape(text: str, *, attr: bool = False) -> str:
    """Escape ``& < >`` (and ``"`` in attribute values) for XML text."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;") if attr else out


def xml_unescape(text: str) -> str:
    """Undo XML escaping: the five named entities and numeric character references."""

    def one(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED[ref]

    return _ENTITY_RE.sub(one, text) if "&" in text else text


def xml_text(text: str) -> str:
    """Text for a cell's string, XML-escaped, that Excel reads back exactly as ``text``.

    See the module docstring: ``_xHHHH_`` escapes for control characters and CR, a
    literal ``_xHHHH_`` protected, U+FFFE, U+FFFF and lone surrogates dropped.
    """
    if _NEEDS_WORK.search(text) is None:
        return text
    text = _SURROGATES.sub("", text)
    text = _LITERAL_ESCAPE.sub(r"_x005F_\1", text)
    text = _ESCAPE_CHARS.sub(_escape_char, text)
    return xml_escape(text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return "" if code > 0xFFFD else f"_x{code:04X}_"


def xml_clean(text: str) -> str:
    """``text`` without the characters XML cannot carry (not escaped)."""
    return _ESCAPE_CHARS.sub("", _SURROGATES.sub("", text))


# --------------------------------------------------------------------------- cells


def number_text(value: float) -> str:
    """A number as a cell's ``<v>`` holds it: whole numbers bare, others round-trip exact."""
    if value.is_integer() and abs(value) < _LARGEST_WHOLE:
        return str(int(value))
    return repr(value)


def empty_cell_xml(ref: str, style: int = 0) -> str:
    """A cell at ``ref`` with no value (it shows its style: a fill, a border)."""
    s = f' s="{style}"' if style else ""  # in each function: they run once per cell
    return f'<c r="{ref}"{s}/>'


def text_cell_xml(ref: str, text: str, style: int = 0, *, preserve: bool = False) -> str:
    """An inline-string cell at ``ref`` showing ``text`` (never a formula).

    ``preserve`` marks every text ``xml:space="preserve"``, not only those that start or
    end with white space (report sheets do, so that no text depends on a reader's
    white-space handling).
    """
    s = f' s="{style}"' if style else ""
    space = ' xml:space="preserve"' if preserve or text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{xml_text(text)}</t></is></c>'


def number_cell_xml(ref: str, value: float, style: int = 0) -> str:
    """A number cell at ``ref`` (dates too, as serial numbers)."""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s}><v>{number_text(value)}</v></c>'


def bool_cell_xml(ref: str, value: bool, style: int = 0) -> str:  # noqa: FBT001 - the cell's value, not a switch
    """A TRUE/FALSE cell at ``ref``."""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'


# --------------------------------------------------------------------------- references


def column_letter(col: int) -> str:
    """1-based column number -> letters: ``1`` -> ``A``, ``28`` -> ``AB``.

    Raises:
        ValueError: ``col`` is below 1.

    """
    if col < 1:
        raise ValueError(f"column numbers start at 1, not {col}")
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """1-based column number of column letters: ``A`` -> 1, ``AB`` -> 28."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def cell_ref(row: int, col: int, *, absolute: bool = False) -> str:
    """A1 reference of a 1-based cell: ``(6, 2)`` -> ``B6`` (``$B$6`` if absolute).

    Raises:
        ValueError: ``row`` or ``col`` is below 1.

    """
    if row < 1:
        raise ValueError(f"row numbers start at 1, not {row}")
    if absolute:
        return f"${column_letter(col)}${row}"
    return f"{column_letter(col)}{row}"


def split_ref(ref: str) -> tuple[int, int, int, int]:
    """``A1:H20`` -> (first row, first col, last row, last col), all 1-based.

    Raises:
        ValueError: ``ref`` is not a cell or a range of cells.

    """
    first, _, last = ref.partition(":")
    m1, m2 = _REF_RE.match(first), _REF_RE.match(last or first)
    if m1 is None or m2 is None:
        raise ValueError(f"not a cell range: {ref!r}")
    return int(m1.group(2)), column_index(m1.group(1)), int(m2.group(2)), column_index(m2.group(1))


def area_ref(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    """A range without sheet or ``$``: ``(1, 1, 20, 8)`` -> ``A1:H20``."""
    return f"{cell_ref(first_row, first_col)}:{cell_ref(last_row, last_col)}"


def range_ref(
    sheet: str, first_row: int, col: int, last_row: int, last_col: int | None = None
) -> str:
    """Absolute reference with sheet: ``'Sheet name'!$B$6:$B$17`` (one cell: ``!$B$6``)."""
    end_col = col if last_col is None else last_col
    start = cell_ref(first_row, col, absolute=True)
    if (first_row, col) == (last_row, end_col):
        return f"{quote_sheet(sheet)}!{start}"
    return f"{quote_sheet(sheet)}!{start}:{cell_ref(last_row, end_col, absolute=True)}"


def quote_sheet(name: str) -> str:
    """A sheet name as formulas write it: plain when simple, else in quotes (``'`` doubled)."""
    if PLAIN_SHEET_NAME.fullmatch(name) and not _LOOKS_LIKE_REF.fullmatch(name):
        return name
    return "'" + name.replace("'", "''") + "'"
