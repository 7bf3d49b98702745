"""A report sheet as SpreadsheetML: the worksheet part, its charts and their drawing.

The headless writer adds these parts to the user's package (``package.py``); nothing here
touches files. Cells go where `report_model.sheet_cells` puts them (the layout of
`report_model.place`), so every writer produces the same cells at the same addresses.

Safety (design notes, section 5): every text is an inline string (``t="inlineStr"``),
never a formula, whatever it starts with; text that Excel would read as a formula when
edited (``= + - @``) gets the quote-prefix style. Characters XML cannot carry are written
with Excel's ``_xHHHH_`` escape (and a literal ``_xHHHH_`` in the text is protected by
escaping its underscore), so the cell shows exactly the original text.

Numbers are written in their shortest round-trip form, dates as 1900-system serial numbers
with a date style (a date before 1900-03-01, which has no true serial, as its ISO text);
None, NaN and infinities leave the cell empty. The output depends only on the input: the
same sheet gives the same bytes. Cell text, references and sheet names follow `sheetxml`;
column widths follow `pipeline_xl.core.display.column_width`.

Charts are ``c:chartSpace`` parts whose series reference the sheet's cells and carry the
values in caches (``c:strCache`` / ``c:numCache``), so they show without recalculation.
Elements follow the schema order of the chart and worksheet schemas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from typing import get_args

from pipeline_xl.core.display import column_width, shown_width, text_width
from pipeline_xl.core.excel import TEXT_LIMIT, excel_serial, has_serial
from pipeline_xl.core.report_model import (
    ChartSpec,
    PlacedBlock,
    PlacedChart,
    ReportSheet,
    place,
    sheet_cells,
)
from pipeline_xl.io.sheetxml import (
    bool_cell_xml,
    cell_ref,
    number_cell_xml,
    number_text,
    range_ref,
    text_cell_xml,
    xml_clean,
    xml_escape,
)
from pipeline_xl.io.styles import StyleBook, StyleRole, XfIndex, number_format

__all__ = ["RenderedChart", "RenderedSheet", "chart_xml", "drawing_xml", "render_sheet"]

_MAX_TEXT = TEXT_LIMIT
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CHART = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_DRAWINGML = "http://schemas.openxmlformats.org/drawingml/2006/main"
_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NUMERIC_KINDS = frozenset({"int", "number", "amount", "pct", "date"})
_TITLE_ROLES = frozenset({"title", "subtitle", "block_title", "note"})
# Office palette: series colours in order.
_PALETTE = ("4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47", "264478", "9E480E")


@dataclass(frozen=True, slots=True)
class RenderedChart:
    """One chart part: where it sits on the sheet and its ``c:chartSpace`` XML."""

    anchor: PlacedChart
    xml: bytes


@dataclass(frozen=True, slots=True)
class RenderedSheet:
    """A worksheet part and the charts that belong to its drawing, in anchor order."""

    xml: bytes
    charts: tuple[RenderedChart, ...]


# ---------------------------------------------------------------------------------------
# Text and dates
# ---------------------------------------------------------------------------------------


def _plain_text(text: str) -> str:
    """Text for chart labels and names: characters XML cannot hold removed, escaped."""
    return xml_escape(xml_clean(text))


def _serial(value: date) -> float | None:
    """The 1900-system serial of a date or datetime; None before 1900-03-01 (none true)."""
    return excel_serial(value) if has_serial(value) else None


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cell:
    """A cell's XML after its value was classified; ``width`` is its shown length."""

    xml: str
    width: float


def _as_number(value: object) -> float | None:
    """A finite float for numeric values (bool excluded), None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 1e300 else None
    if isinstance(value, float | Decimal | Fraction):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _is_missing_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float | Decimal):
        return not math.isfinite(float(value))
    return False


class _CellWriter:
    """Turns (value, role) into cell XML with the right type and style."""

    def __init__(self, styles: StyleBook, currency: str) -> None:
        self.styles = styles
        self.currency = currency

    def style(self, role: str, *, quoted: bool = False, numeric: bool = False) -> XfIndex:
        if role == "flag":
            role = "text"
        return self.styles.style(
            _role(role), currency=self.currency, quoted=quoted, numeric=numeric
        )

    def cell(self, ref: str, value: object, role: str, *, numeric_header: bool) -> _Cell | None:
        """The cell at ``ref`` for ``value`` in ``role``, or None to leave it empty."""
        shown = _classify(value)
        if shown is None:
            return None
        if isinstance(shown, str):
            return self.text(ref, shown, role, numeric_header=numeric_header)
        if isinstance(shown, bool):
            style = self.style(_value_role(role, is_date=False))
            return _Cell(bool_cell_xml(ref, shown, style), 5.0)
        number, is_date = shown
        return self.number(ref, number, _value_role(role, is_date=is_date))

    def number(self, ref: str, number: float, role: str) -> _Cell:
        """A numeric cell (dates are numbers too) styled as ``role``."""
        style = self.style(role)
        width = shown_width(number, role, self.currency)
        return _Cell(number_cell_xml(ref, number, style), width)

    def text(self, ref: str, value: str, role: str, *, numeric_header: bool) -> _Cell | None:
        text = value[:_MAX_TEXT]
        if not text:
            return None
        quoted = StyleBook.needs_quote(text)
        if role == "flag" and text.strip() in ("F", "U"):
            style = self.styles.style("flag_f" if text.strip() == "F" else "flag_u")
        elif role in _TITLE_ROLES or role == "header":
            style = self.style(role, quoted=quoted, numeric=numeric_header)
        else:  # text in a data column of any kind is plain text
            style = self.style("text", quoted=quoted)
        return _Cell(text_cell_xml(ref, text, style, preserve=True), text_width(text))


def _classify(value: object) -> str | bool | tuple[float, bool] | None:
    """What a value becomes: a text, a boolean, (number, is a date) or None (no cell).

    None, NaN, infinities and numbers beyond Excel's range give no cell; dates before
    1900-03-01 (no true Excel serial) and other objects give their text.
    """
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, date):
        serial = _serial(value)
        return value.isoformat() if serial is None else (serial, True)
    if isinstance(value, int | float | Decimal | Fraction):
        number = _as_number(value)
        return None if number is None else (number, False)
    return value.isoformat() if isinstance(value, time) else str(value)


def _value_role(role: str, *, is_date: bool) -> str:
    """The style role of a number, date or boolean written in a cell of ``role``."""
    if role in _TITLE_ROLES or role == "header":
        return role
    if is_date:
        return "date"
    return role if role in _NUMERIC_KINDS else "text"


_ROLES: dict[str, StyleRole] = {
    role: role for role in get_args(StyleRole) if not role.startswith("flag_")
}  # a report role or column kind -> its style (flags are styled by value)


def _role(name: str) -> StyleRole:
    return _ROLES.get(name, "text")


# ---------------------------------------------------------------------------------------
# Worksheet
# ---------------------------------------------------------------------------------------


def render_sheet(
    sheet: ReportSheet,
    styles: StyleBook,
    *,
    currency: str,
    drawing_rid: str | None = None,
) -> RenderedSheet:
    """The worksheet part of ``sheet`` and its charts.

    The part holds, in schema order: sheet properties (fit to page), dimension, a view
    without gridlines, default row height, column widths (``Column.width`` or the longest
    shown value, by `display.column_width`; titles and notes overflow instead of
    widening column A), the cells, margins, a landscape page one page wide, and the
    drawing reference when there are charts and ``drawing_rid`` is given.

    Args:
        sheet: the report sheet.
        styles: the workbook's style book; the styles the sheet uses are added to it.
        currency: currency code for amount formats.
        drawing_rid: relationship id of the sheet's drawing part (its charts); None when
            the caller adds no drawing.

    Returns:
        The worksheet XML and one `RenderedChart` per chart of a block with data rows
        (a chart over no rows would reference an empty range, so it is left out).

    """
    placed = place(sheet)
    writer = _CellWriter(styles, currency)
    numeric_headers = {
        (p.header_row, j + 1)
        for p in placed
        for j, column in enumerate(p.block.columns)
        if column.kind in _NUMERIC_KINDS
    }
    rows: dict[int, list[tuple[int, str]]] = {}
    widths: dict[int, float] = {}
    for row, col, value, role in sheet_cells(sheet):
        cell = writer.cell(
            cell_ref(row, col), value, role, numeric_header=(row, col) in numeric_headers
        )
        if cell is None:
            continue
        rows.setdefault(row, []).append((col, cell.xml))
        if role not in _TITLE_ROLES:
            widths[col] = max(widths.get(col, 0.0), cell.width)
    explicit = {  # a width the report asks for wins over the content's
        j + 1: float(column.width)
        for p in placed
        for j, column in enumerate(p.block.columns)
        if column.width is not None
    }
    charts = tuple(
        RenderedChart(pc, chart_xml(sheet.name, p, pc, currency=currency))
        for p in placed
        if p.last_row >= p.first_row
        for pc in p.charts
    )
    parts = [
        _DECL,
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
        f'<dimension ref="{_dimension(rows)}"/>',
        '<sheetViews><sheetView showGridLines="0" workbookViewId="0"/></sheetViews>',
        '<sheetFormatPr defaultRowHeight="15"/>',
        _cols(widths, explicit),
        _sheet_data(rows),
        '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>',
        '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>',
    ]
    if charts and drawing_rid:
        parts.append(f'<drawing r:id="{xml_escape(drawing_rid, attr=True)}"/>')
    parts.append("</worksheet>")
    return RenderedSheet("".join(parts).encode("utf-8"), charts)


def _dimension(rows: dict[int, list[tuple[int, str]]]) -> str:
    if not rows:
        return "A1"
    cols = [col for cells in rows.values() for col, _ in cells]
    first, last = cell_ref(min(rows), min(cols)), cell_ref(max(rows), max(cols))
    return first if first == last else f"{first}:{last}"


def _cols(widths: dict[int, float], explicit: dict[int, float]) -> str:
    if not widths and not explicit:
        return ""
    out = ["<cols>"]
    for col in sorted(set(widths) | set(explicit)):
        width = column_width(widths.get(col, 0.0), explicit.get(col))
        out.append(f'<col min="{col}" max="{col}" width="{width:g}" customWidth="1"/>')
    out.append("</cols>")
    return "".join(out)


def _sheet_data(rows: dict[int, list[tuple[int, str]]]) -> str:
    if not rows:
        return "<sheetData/>"
    out = ["<sheetData>"]
    for row in sorted(rows):
        cells = "".join(xml for _, xml in sorted(rows[row]))
        out.append(f'<row r="{row}">{cells}</row>')
    out.append("</sheetData>")
    return "".join(out)


# ---------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------


def _cache_number(value: object) -> float | None:
    if isinstance(value, date):
        return _serial(value)
    return _as_number(value)


def _str_ref(ref: str, values: Sequence[object]) -> str:
    points = "".join(
        f'<c:pt idx="{i}"><c:v>{_plain_text(_label(v))}</c:v></c:pt>'
        for i, v in enumerate(values)
        if v is not None and not _is_missing_number(v)
    )
    return (
        f"<c:strRef><c:f>{xml_escape(ref)}</c:f><c:strCache>"
        f'<c:ptCount val="{len(values)}"/>{points}</c:strCache></c:strRef>'
    )


def _num_ref(ref: str, values: Sequence[object], code: str) -> str:
    points = []
    for i, value in enumerate(values):
        number = _cache_number(value)
        if number is not None:
            points.append(f'<c:pt idx="{i}"><c:v>{number_text(number)}</c:v></c:pt>')
    return (
        f"<c:numRef><c:f>{xml_escape(ref)}</c:f><c:numCache>"
        f"<c:formatCode>{xml_escape(code)}</c:formatCode>"
        f'<c:ptCount val="{len(values)}"/>{"".join(points)}</c:numCache></c:numRef>'
    )


def _label(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rich(text: str, size: int, *, bold: bool) -> str:
    b = ' b="1"' if bold else ' b="0"'
    return (
        "<c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p>"
        f'<a:pPr><a:defRPr sz="{size}"{b}/></a:pPr>'
        f'<a:r><a:rPr lang="en-US" sz="{size}"{b}/><a:t>{_plain_text(text)}</a:t></a:r>'
        "</a:p></c:rich></c:tx>"
    )


def _title(text: str, size: int, *, bold: bool = True) -> str:
    return f'<c:title>{_rich(text, size, bold=bold)}<c:overlay val="0"/></c:title>'


@dataclass(frozen=True, slots=True)
class _Series:
    """One chart series: the block column it plots."""

    header: str
    kind: str
    col: int
    values: list[object]


@dataclass(frozen=True, slots=True)
class _ChartData:
    """What a chart plots, resolved against its block."""

    bars: list[_Series]
    lines: list[_Series]
    categories: str  # the c:cat content
    cat_code: str


def _chart_data(sheet_name: str, block: PlacedBlock, spec: ChartSpec, currency: str) -> _ChartData:
    columns = {c.key: c for c in block.block.columns}
    for key in (spec.categories, *spec.series, *spec.line_series):
        if key not in columns:
            raise ValueError(f"chart {spec.title!r} names unknown column {key!r}")
    rows = block.block.values()
    first, last = block.first_row, block.last_row

    def series(key: str) -> _Series:
        j = block.column_of(key)
        return _Series(columns[key].header, columns[key].kind, j, [r[j - 1] for r in rows])

    bars = [series(k) for k in spec.series]
    lines = [series(k) for k in spec.line_series]
    if spec.kind == "line":
        bars, lines = [], bars + lines
    elif spec.kind == "bar":
        bars, lines = bars + lines, []
    cat = series(spec.categories)
    ref = range_ref(sheet_name, first, cat.col, last)
    numeric = cat.kind in _NUMERIC_KINDS and all(
        v is None or _cache_number(v) is not None for v in cat.values
    )
    code = number_format(cat.kind, currency) if numeric else "General"
    categories = _num_ref(ref, cat.values, code) if numeric else _str_ref(ref, cat.values)
    return _ChartData(bars, lines, categories, code)


def _series_xml(
    index: int, s: _Series, data: _ChartData, *, sheet_name: str, block: PlacedBlock, currency: str
) -> str:
    colour = _PALETTE[index % len(_PALETTE)]
    name = _str_ref(range_ref(sheet_name, block.header_row, s.col, block.header_row), [s.header])
    values = _num_ref(
        range_ref(sheet_name, block.first_row, s.col, block.last_row),
        s.values,
        number_format(s.kind, currency),
    )
    head = f'<c:ser><c:idx val="{index}"/><c:order val="{index}"/><c:tx>{name}</c:tx>'
    refs = f"<c:cat>{data.categories}</c:cat><c:val>{values}</c:val>"
    fill = f'<a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
    if index >= len(data.bars):  # a line
        shape = (
            f'<c:spPr><a:ln w="28575" cap="rnd">{fill}<a:round/></a:ln></c:spPr>'
            f'<c:marker><c:symbol val="circle"/><c:size val="5"/><c:spPr>{fill}</c:spPr>'
            "</c:marker>"
        )
        return f'{head}{shape}{refs}<c:smooth val="0"/></c:ser>'
    return f'{head}<c:spPr>{fill}</c:spPr><c:invertIfNegative val="0"/>{refs}</c:ser>'


_CAT_AX_ID, _VAL_AX_ID = 500000001, 500000002


def _axes_xml(spec: ChartSpec, data: _ChartData, currency: str) -> str:
    horizontal = spec.kind == "bar"
    value_kind = (data.bars or data.lines)[0].kind
    value_code = "0%" if value_kind == "pct" else number_format(value_kind, currency)
    orientation = "maxMin" if horizontal else "minMax"  # bars read top-down like the table
    cat_ax = (
        f'<c:catAx><c:axId val="{_CAT_AX_ID}"/><c:scaling><c:orientation val="{orientation}"/>'
        f'</c:scaling><c:delete val="0"/><c:axPos val="{"l" if horizontal else "b"}"/>'
        f'<c:numFmt formatCode="{xml_escape(data.cat_code, attr=True)}" sourceLinked="0"/>'
        '<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="low"/>'
        f'<c:crossAx val="{_VAL_AX_ID}"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>'
    )
    y_title = _title(spec.y_title, 1000, bold=False) if spec.y_title else ""
    gridlines = (
        '<c:majorGridlines><c:spPr><a:ln w="9525"><a:solidFill><a:srgbClr val="D9D9D9"/>'
        "</a:solidFill></a:ln></c:spPr></c:majorGridlines>"
    )
    val_ax = (
        f'<c:valAx><c:axId val="{_VAL_AX_ID}"/><c:scaling><c:orientation val="minMax"/>'
        f'</c:scaling><c:delete val="0"/><c:axPos val="{"b" if horizontal else "l"}"/>'
        f"{gridlines}{y_title}"
        f'<c:numFmt formatCode="{xml_escape(value_code, attr=True)}" sourceLinked="0"/>'
        '<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        f'<c:crossAx val="{_CAT_AX_ID}"/><c:crosses val="{"max" if horizontal else "autoZero"}"/>'
        '<c:crossBetween val="between"/></c:valAx>'
    )
    return cat_ax + val_ax


def chart_xml(sheet_name: str, block: PlacedBlock, chart: PlacedChart, *, currency: str) -> bytes:
    """The ``c:chartSpace`` part of one chart of ``block`` on the sheet ``sheet_name``.

    Column and bar charts are clustered; a line chart draws every series as a line; on a
    column chart, ``line_series`` are lines over the bars on the same axes (a combo).
    A horizontal bar chart cannot share its axes with lines, so there they are bars too.
    Series names reference the header cells, categories and values the data cells, each
    with a cache of the values written, so the chart shows before any recalculation.

    Raises:
        ValueError: the chart names a column the block does not have, or has no series.

    """
    spec = chart.spec
    if not spec.series and not spec.line_series:
        raise ValueError(f"chart {spec.title!r} has no series")
    data = _chart_data(sheet_name, block, spec, currency)
    axes = f'<c:axId val="{_CAT_AX_ID}"/><c:axId val="{_VAL_AX_ID}"/>'
    plots = []
    everything = data.bars + data.lines
    if data.bars:
        direction = "bar" if spec.kind == "bar" else "col"
        body = "".join(
            _series_xml(i, s, data, sheet_name=sheet_name, block=block, currency=currency)
            for i, s in enumerate(data.bars)
        )
        plots.append(
            f'<c:barChart><c:barDir val="{direction}"/><c:grouping val="clustered"/>'
            f'<c:varyColors val="0"/>{body}<c:gapWidth val="150"/>{axes}</c:barChart>'
        )
    if data.lines:
        body = "".join(
            _series_xml(i, s, data, sheet_name=sheet_name, block=block, currency=currency)
            for i, s in enumerate(everything)
            if i >= len(data.bars)
        )
        plots.append(
            '<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>'
            f'{body}<c:marker val="1"/>{axes}</c:lineChart>'
        )
    xml = (
        f"{_DECL}"
        f'<c:chartSpace xmlns:c="{_CHART}" xmlns:a="{_DRAWINGML}" xmlns:r="{_REL}">'
        '<c:roundedCorners val="0"/>'
        f'<c:chart>{_title(spec.title, 1400)}<c:autoTitleDeleted val="0"/>'
        f"<c:plotArea><c:layout/>{''.join(plots)}{_axes_xml(spec, data, currency)}</c:plotArea>"
        '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>'
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        "</c:chartSpace>"
    )
    return xml.encode("utf-8")


# ---------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------


def drawing_xml(charts: Sequence[tuple[PlacedChart, str]]) -> bytes:
    """The ``xdr:wsDr`` drawing part: one two-cell anchor per (chart, relationship id).

    The anchor spans the chart's cells (``PlacedChart.rows`` x ``cols`` from its top-left
    cell) and moves with them; drawing object ids are 2, 3, ... (1 is the drawing).
    """
    anchors = []
    for i, (chart, rid) in enumerate(charts):
        col0, row0 = chart.col - 1, chart.row - 1
        name = f"Chart {i + 1}"
        anchors.append(
            '<xdr:twoCellAnchor editAs="oneCell">'
            f"<xdr:from><xdr:col>{col0}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row0}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f"<xdr:to><xdr:col>{col0 + chart.cols}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{row0 + chart.rows}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
            '<xdr:graphicFrame macro="">'
            f'<xdr:nvGraphicFramePr><xdr:cNvPr id="{i + 2}" name="{name}"'
            f' descr="{xml_escape(xml_clean(chart.spec.title), attr=True)}"/>'
            "<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{_CHART}">'
            f'<c:chart xmlns:c="{_CHART}" r:id="{xml_escape(rid, attr=True)}"/>'
            "</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>"
            "</xdr:twoCellAnchor>"
        )
    xml = (
        f'{_DECL}<xdr:wsDr xmlns:xdr="{_XDR}" xmlns:a="{_DRAWINGML}" xmlns:r="{_REL}">'
        f"{''.join(anchors)}</xdr:wsDr>"
    )
    return xml.encode("utf-8")
