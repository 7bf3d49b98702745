"""The Report value: ordered named sheets of titled tables and chart specs, and their layout.

The engine builds a `Report`; writers (headless package writer, live xlwings writer,
xlwings Lite writer) only put it into a workbook. `place` decides where every block
and chart goes, so all writers produce the same cells at the same addresses.

Layout of a report sheet (1-based Excel rows and columns):

* row 1: the sheet title; row 2: the subtitle (as-of date, currency, sources);
* from row 4, blocks stacked downwards: a block title row, a header row, the data rows,
  then one blank row before the next block (notes under the table, one per row);
* a block's charts sit to the right of its table, starting two columns after its last
  column, each `CHART_ROWS` rows tall, stacked downwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import pandas as pd

__all__ = [
    "CHART_COLS",
    "CHART_ROWS",
    "FIRST_BLOCK_ROW",
    "Block",
    "ChartSpec",
    "Column",
    "ColumnKind",
    "PlacedBlock",
    "PlacedChart",
    "Report",
    "ReportSheet",
    "place",
    "sheet_cells",
]

ColumnKind = Literal["text", "int", "number", "amount", "pct", "date", "flag"]
FIRST_BLOCK_ROW = 4
CHART_ROWS = 16
CHART_COLS = 8


@dataclass(frozen=True, slots=True)
class Column:
    """One output column: the frame column ``key`` shown under ``header`` as ``kind``.

    Kinds: text (written as text, never a formula), int, number (2 decimals), amount
    (currency, no decimals), pct (0.0%), date (yyyy-mm-dd), flag ("F"/"U": favourable
    cells green, unfavourable red).
    """

    key: str
    header: str
    kind: ColumnKind = "text"
    width: float | None = None


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """A native chart over a block's rows: categories and series are column keys.

    ``line_series`` are drawn as lines over the bars of ``series`` (a combo chart), for
    example a target line over won and expected columns.
    """

    kind: Literal["column", "bar", "line"]
    title: str
    categories: str
    series: tuple[str, ...]
    line_series: tuple[str, ...] = ()
    y_title: str = ""


@dataclass(frozen=True)
class Block:
    """A titled table of a report sheet, with optional notes and charts."""

    title: str
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    charts: tuple[ChartSpec, ...] = ()
    notes: tuple[str, ...] = ()

    def values(self) -> list[list[object]]:
        """The data rows in column order: None for missing, plain Python scalars."""
        if self.frame.empty:
            return []
        keys = [c.key for c in self.columns]
        sub = self.frame[keys].astype(object)
        sub = sub.where(sub.notna(), None)
        return [[_plain(v) for v in record] for record in sub.itertuples(index=False, name=None)]


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else value
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()  # numpy scalar
    return value


@dataclass(frozen=True)
class ReportSheet:
    """One report sheet: a fixed name, a title, a subtitle and its blocks."""

    name: str
    title: str
    subtitle: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    """What a refresh writes: the report sheets in order, as of one date.

    ``view``: the pipeline as it stood on a date before the workbook's latest record; a
    view records no snapshot (``snapshots`` is empty) and writers leave the log as it is.
    """

    as_of: date
    currency: str
    sheets: tuple[ReportSheet, ...]
    snapshots: pd.DataFrame = field(default_factory=pd.DataFrame)  # the new Snapshots log
    view: bool = False

    def sheet(self, name: str) -> ReportSheet:
        """The sheet called ``name``."""
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class PlacedChart:
    """A chart's anchor (top-left cell, 1-based) and size in cells."""

    spec: ChartSpec
    row: int
    col: int
    rows: int = CHART_ROWS
    cols: int = CHART_COLS


@dataclass(frozen=True, slots=True)
class PlacedBlock:
    """Where a block's pieces go (1-based rows; columns start at 1)."""

    block: Block
    title_row: int
    header_row: int
    first_row: int
    last_row: int  # last data row (= header_row when there is no data)
    notes_row: int  # first note row (after the data)
    charts: tuple[PlacedChart, ...]

    def column_of(self, key: str) -> int:
        """1-based column of the block column ``key``."""
        for i, column in enumerate(self.block.columns):
            if column.key == key:
                return i + 1
        raise KeyError(key)


def place(sheet: ReportSheet) -> list[PlacedBlock]:
    """Rows and chart anchors of every block of ``sheet`` (the layout in the module doc)."""
    placed: list[PlacedBlock] = []
    row = FIRST_BLOCK_ROW
    for block in sheet.blocks:
        n = len(block.frame)
        header_row = row + 1
        first_row = header_row + 1
        last_row = header_row + n
        notes_row = last_row + 1
        chart_col = len(block.columns) + 2
        charts = tuple(
            PlacedChart(spec, row + i * (CHART_ROWS + 1), chart_col)
            for i, spec in enumerate(block.charts)
        )
        placed.append(PlacedBlock(block, row, header_row, first_row, last_row, notes_row, charts))
        table_end = notes_row + len(block.notes)
        charts_end = row + len(block.charts) * (CHART_ROWS + 1)
        row = max(table_end, charts_end) + 1
    return placed


def sheet_cells(sheet: ReportSheet) -> list[tuple[int, int, object, str]]:
    """Every cell a writer puts on ``sheet``: (row, col, value, role), 1-based.

    Roles: ``title``, ``subtitle``, ``block_title``, ``header``, ``note`` and, for data,
    the column kind. Writers that work cell by cell use this; others may use `place`.
    """
    cells: list[tuple[int, int, object, str]] = [
        (1, 1, sheet.title, "title"),
        (2, 1, sheet.subtitle, "subtitle"),
    ]
    for p in place(sheet):
        cells.append((p.title_row, 1, p.block.title, "block_title"))
        for j, column in enumerate(p.block.columns):
            cells.append((p.header_row, j + 1, column.header, "header"))
        for i, values in enumerate(p.block.values()):
            for j, (column, value) in enumerate(zip(p.block.columns, values, strict=True)):
                cells.append((p.first_row + i, j + 1, value, column.kind))
        for k, note in enumerate(p.block.notes):
            cells.append((p.notes_row + k, 1, note, "note"))
    return cells
