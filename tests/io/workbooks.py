"""Workbooks for the package tests: the ready sample workbook, extended by zip editing.

`extend` adds what a user's workbook holds and a spreadsheet library would lose: a user
sheet with values and formulas, a native chart, a sparkline, a DrawingML shape bound to a
macro, and a custom XML part (plus ``mc:Ignorable`` on the workbook part). It edits the
zip directly (no code under test), so the byte-identity tests compare against parts that
the package code never wrote.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd

from pipeline_xl.core.model import Model
from pipeline_xl.core.report_model import Block, ChartSpec, Column, Report, ReportSheet
from pipeline_xl.core.sample import generate
from pipeline_xl.core.snapshots import record_snapshot
from pipeline_xl.usecases.new import new_workbook
from pipeline_xl.workbook.builder import build_workbook

AS_OF = date(2026, 3, 15)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
DRAWING_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
USER_SHEET = "My notes"
MC_ROOT = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'mc:Ignorable="x15" '
    'xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main">'
)


def excel_decode(text: str) -> str:
    """Excel's reading of ``_xHHHH_`` escapes (left to right)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def new_sample(path: Path, n: int = 200) -> Path:
    """The ready workbook with ``n`` sample prospects (as `pipeline-xl new` makes it)."""
    return new_workbook(
        path, company="Acme", sample=n, empty=False, currency="EUR", fiscal_start=1, as_of=AS_OF
    )


def sample_tables(n: int = 200) -> dict[str, pd.DataFrame]:
    """The sample company's raw tables, to change before building a workbook."""
    return {k: v.copy() for k, v in generate(n, as_of=AS_OF, company="Acme").tables.items()}


def build(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """The ready workbook holding ``tables``."""
    return build_workbook(path, company="Acme", tables=tables, as_of=AS_OF)


def part_hashes(path: Path) -> dict[str, str]:
    """sha256 of every part, by name."""
    with zipfile.ZipFile(path) as zf:
        return {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist()}


def read_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_parts(path: Path, parts: dict[str, bytes], stored: frozenset[str] = frozenset()) -> None:
    """Write ``parts`` as a zip in the given order (``stored`` parts uncompressed)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            method = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            zf.writestr(zipfile.ZipInfo(name, (2024, 5, 6, 7, 8, 10)), data, compress_type=method)


_USER_SHEET_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{MAIN}" xmlns:r="{REL}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" mc:Ignorable="x14ac"><dimension ref="A1:C4"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Month</t></is></c><c r="B1" t="inlineStr"><is><t>Calls</t></is></c><c r="C1" t="inlineStr"><is><t>Trend</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Jan</t></is></c><c r="B2"><v>10</v></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>Feb</t></is></c><c r="B3"><v>14</v></c></row><row r="4"><c r="A4" t="inlineStr"><is><t>Total</t></is></c><c r="B4"><f>SUM(B2:B3)</f><v>24</v></c><c r="C4"><f>COUNTA(Prospects!A:A)-1</f><v>200</v></c></row></sheetData><drawing r:id="rId1"/><extLst><ext uri="{{05C60535-1F16-4fd2-B633-F4F36F0B64E0}}" xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><x14:sparklineGroup displayEmptyCellsAs="gap"><x14:colorSeries rgb="FF376092"/><x14:colorNegative rgb="FFD00000"/><x14:colorAxis rgb="FF000000"/><x14:colorMarkers rgb="FFD00000"/><x14:colorFirst rgb="FFD00000"/><x14:colorLast rgb="FFD00000"/><x14:colorHigh rgb="FFD00000"/><x14:colorLow rgb="FFD00000"/><x14:sparklines><x14:sparkline><xm:f>'My notes'!B2:B3</xm:f><xm:sqref>C2</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup></x14:sparklineGroups></ext></extLst></worksheet>"""  # noqa: E501 - one sheet part, kept as Excel writes it

_ANCHOR = (
    "<xdr:from><xdr:col>{c0}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{r0}</xdr:row>"
    "<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>{c1}</xdr:col><xdr:colOff>0"
    "</xdr:colOff><xdr:row>{r1}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
)
_DRAWING_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<xdr:wsDr xmlns:xdr="{DRAWING_NS}" xmlns:a="{A_NS}">'
    '<xdr:twoCellAnchor editAs="oneCell">'
    + _ANCHOR.format(c0=4, r0=0, c1=10, r1=15)
    + '<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="2" name="Chart 1"/>'
    '<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm><a:off x="0" y="0"/>'
    '<a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic>'
    f'<a:graphicData uri="{C_NS}"><c:chart xmlns:c="{C_NS}" xmlns:r="{REL}" r:id="rId1"/>'
    "</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>"
    "<xdr:twoCellAnchor>"
    + _ANCHOR.format(c0=0, r0=6, c1=2, r1=8)
    + '<xdr:sp macro="[0]!SampleCall" textlink=""><xdr:nvSpPr>'
    '<xdr:cNvPr id="3" name="Rounded Rectangle 2"/><xdr:cNvSpPr/></xdr:nvSpPr><xdr:spPr>'
    '<a:xfrm><a:off x="0" y="0"/><a:ext cx="1000000" cy="300000"/></a:xfrm>'
    '<a:prstGeom prst="roundRect"><a:avLst/></a:prstGeom></xdr:spPr><xdr:txBody><a:bodyPr/>'
    "<a:lstStyle/><a:p><a:r><a:t>Run macro</a:t></a:r></a:p></xdr:txBody></xdr:sp>"
    "<xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
)
_CHART_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<c:chartSpace xmlns:c="{C_NS}" xmlns:a="{A_NS}" xmlns:r="{REL}"><c:chart>'
    '<c:autoTitleDeleted val="1"/><c:plotArea><c:layout/><c:barChart><c:barDir val="col"/>'
    '<c:grouping val="clustered"/><c:varyColors val="0"/><c:ser><c:idx val="0"/>'
    "<c:order val=\"0\"/><c:tx><c:strRef><c:f>'My notes'!$B$1</c:f></c:strRef></c:tx>"
    "<c:cat><c:strRef><c:f>'My notes'!$A$2:$A$3</c:f></c:strRef></c:cat>"
    "<c:val><c:numRef><c:f>'My notes'!$B$2:$B$3</c:f></c:numRef></c:val></c:ser>"
    '<c:axId val="10"/><c:axId val="20"/></c:barChart><c:catAx><c:axId val="10"/><c:scaling>'
    '<c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/>'
    '<c:crossAx val="20"/></c:catAx><c:valAx><c:axId val="20"/><c:scaling>'
    '<c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="l"/>'
    '<c:crossAx val="10"/></c:valAx></c:plotArea><c:plotVisOnly val="1"/></c:chart>'
    "</c:chartSpace>"
)
_ITEM_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<pipeline xmlns="urn:acme:crm"><owner>Acme</owner></pipeline>'
)
_ITEM_PROPS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    b'<ds:datastoreItem ds:itemID="{6D1B8B7A-4E0F-4C55-9F54-3C8E2A1B7C11}" '
    b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
    b"<ds:schemaRefs/></ds:datastoreItem>"
)


def _rels(*items: tuple[str, str, str]) -> bytes:
    body = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{g}"/>' for i, t, g in items)
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Relationships xmlns="{PKG_REL}">{body}</Relationships>'
    ).encode()


def extend(path: Path) -> Path:
    """Add a user sheet, chart, sparkline, macro shape and custom XML part to ``path``."""
    parts = read_parts(path)
    n = len(re.findall(r"<sheet ", parts["xl/workbook.xml"].decode()))  # the builder's sheets
    sheet = f"sheet{n + 1}.xml"
    ct = parts["[Content_Types].xml"].decode()
    overrides = (
        f'<Override PartName="/xl/worksheets/{sheet}" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/drawings/drawing1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.drawing+xml"/>'
        '<Override PartName="/xl/charts/chart1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.drawingml.chart+xml"/>'
        '<Override PartName="/customXml/itemProps1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.customXmlProperties+xml"/>'
    )
    parts["[Content_Types].xml"] = ct.replace("</Types>", overrides + "</Types>").encode()
    wb = parts["xl/workbook.xml"].decode()
    wb = re.sub(r"<workbook [^>]*>", MC_ROOT, wb, count=1)
    wb = wb.replace(
        "</sheets>", f'<sheet name="{USER_SHEET}" sheetId="{n + 1}" r:id="rId20"/></sheets>'
    )
    parts["xl/workbook.xml"] = wb.encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="rId20" Type="{REL}/worksheet" Target="worksheets/{sheet}"/>'
        f'<Relationship Id="rId21" Type="{REL}/customXml" Target="../customXml/item1.xml"/>'
        "</Relationships>",
    )
    parts["xl/_rels/workbook.xml.rels"] = rels.encode()
    app = parts["docProps/app.xml"].decode()
    app = app.replace(f"<vt:i4>{n}</vt:i4>", f"<vt:i4>{n + 1}</vt:i4>", 1)
    size = int(re.search(r'<vt:vector size="(\d+)" baseType="lpstr">', app)[1])
    app = app.replace(
        f'<vt:vector size="{size}" baseType="lpstr">',
        f'<vt:vector size="{size + 1}" baseType="lpstr">',
    )
    app = app.replace(
        "<vt:lpstr>xlwings.conf</vt:lpstr>",
        f"<vt:lpstr>xlwings.conf</vt:lpstr><vt:lpstr>{USER_SHEET}</vt:lpstr>",
    )
    parts["docProps/app.xml"] = app.encode()
    parts[f"xl/worksheets/{sheet}"] = _USER_SHEET_XML.encode()
    parts[f"xl/worksheets/_rels/{sheet}.rels"] = _rels(
        ("rId1", f"{REL}/drawing", "../drawings/drawing1.xml")
    )
    parts["xl/drawings/drawing1.xml"] = _DRAWING_XML.encode()
    parts["xl/drawings/_rels/drawing1.xml.rels"] = _rels(
        ("rId1", f"{REL}/chart", "../charts/chart1.xml")
    )
    parts["xl/charts/chart1.xml"] = _CHART_XML.encode()
    parts["customXml/item1.xml"] = _ITEM_XML
    parts["customXml/itemProps1.xml"] = _ITEM_PROPS
    parts["customXml/_rels/item1.xml.rels"] = _rels(
        ("rId1", f"{REL}/customXmlProps", "itemProps1.xml")
    )
    write_parts(path, parts, stored=frozenset({"xl/vbaProject.bin", "customXml/item1.xml"}))
    return path


def snapshot_dates_ids(path: Path) -> list[tuple[object, object]]:
    """(Snapshot date, ID) of every row of tblSnapshots, read with calamine."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path), load_tables=True)
    rows = book.get_table_by_name("tblSnapshots").to_python()
    return [(r[0], r[1]) for r in rows if r[0] != "" or r[1] != ""]


def stub_report(model: Model) -> Report:
    """A small report of the five sheets (charts included) and the new snapshot log.

    It stands in for `pipeline_xl.core.reports.build_report` so these tests check the
    writing, whatever the report's content becomes.
    """
    as_of = model.settings.as_of
    log = record_snapshot(model.snapshots, model.prospects, as_of, model.stages)
    subtitle = f"As of {as_of.isoformat()} · {model.settings.currency}"
    by_stage = model.prospects.groupby("stage", as_index=False)["amount"].sum()
    stage_cols = (Column("stage", "Stage"), Column("amount", "Amount", "amount"))
    chart = ChartSpec("column", "Amount by stage", "stage", ("amount",))
    owners = model.prospects.groupby("owner", as_index=False)["amount"].agg(["sum", "count"])
    owner_cols = (
        Column("owner", "Owner"),
        Column("sum", "Amount", "amount"),
        Column("count", "Deals", "int"),
    )
    issues = model.issues.astype({"value": object})
    issue_cols = (
        Column("sheet", "Sheet"),
        Column("row", "Row", "int"),
        Column("column", "Column"),
        Column("value", "Value"),
        Column("problem", "Problem"),
        Column("severity", "Severity"),
    )
    sheets = (
        ReportSheet(
            "Variance", "Variance", subtitle, (Block("By stage", by_stage, stage_cols, (chart,)),)
        ),
        ReportSheet(
            "Activity plan", "Activity plan", subtitle, (Block("By owner", owners, owner_cols),)
        ),
        ReportSheet(
            "Forecast range",
            "Forecast range",
            subtitle,
            (Block("By stage", by_stage, stage_cols, (chart,), notes=("A note.",)),),
        ),
        ReportSheet(
            "Pipeline flow",
            "Pipeline flow",
            subtitle,
            (
                Block("By stage", by_stage, stage_cols, (chart, chart)),
                Block("By owner", owners, owner_cols),
            ),
        ),
        ReportSheet(
            "Data issues", "Data issues", subtitle, (Block("Problems", issues, issue_cols),)
        ),
    )
    return Report(as_of=as_of, currency=model.settings.currency, sheets=sheets, snapshots=log)
