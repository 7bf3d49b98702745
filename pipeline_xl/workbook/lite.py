"""The client workbook for xlwings Lite: the ready workbook with its Python code inside.

`build_lite_workbook` makes the same workbook as the classic builder, without VBA,
buttons or the xlwings.conf sheet (`pipeline_xl.workbook.builder.workbook_bytes`), then,
as the last step, adds the parts that make Excel load the xlwings Lite add-in with this
workbook's code:

* ``xl/webextensions/webextension1.xml``, as Excel writes it for a workbook whose cells
  call the add-in's functions: the add-in reference (xlwings Lite's Office store id); four
  properties, each a JSON-encoded string, in Excel's order: ``main.py``
  (`pipeline_xl.workbook.lite_bundle.build_main_py`), ``pyodideVersion``, ``addinVersion``
  and ``requirements.txt`` (`pipeline_xl.workbook.lite_bundle.requirements_txt`); then an
  extension list that says the workbook contains custom functions and names each one its
  cells call (``_xldudf_PIPE_WON`` ...: `custom_function_ids` reads them from the built
  sheets and defined names, so the list always matches the cells). Without that list
  Excel has no reason to tie the stored ``_xldudf_`` calls to the add-in;
* ``xl/webextensions/taskpanes.xml`` and its ``_rels``: a task pane showing that add-in,
  open when the workbook opens, so the functions and the refresh button register;
* a root ``_rels/.rels`` relationship to the task panes and two ``[Content_Types].xml``
  overrides.

The parts are added by editing the package in memory: every part the builder made is
copied byte for byte, only ``[Content_Types].xml`` and ``_rels/.rels`` gain one entry
each. The file is written atomically (`pipeline_xl.io.safety.atomic_write`): an existing
file is replaced only by a complete workbook.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from pipeline_xl.core import contract
from pipeline_xl.core.model import default_stages
from pipeline_xl.io.safety import atomic_write
from pipeline_xl.workbook.builder import check_target, engine_cache, workbook_bytes
from pipeline_xl.workbook.dashboard_spec import dashboard_layout
from pipeline_xl.workbook.lite_bundle import build_main_py, requirements_txt

__all__ = [
    "ADDIN_VERSION",
    "CONTENT_TYPES",
    "LITE_STORE_ID",
    "PYODIDE_VERSION",
    "TASKPANES_PART",
    "TASKPANES_REL",
    "WEBEXTENSION_PART",
    "WEBEXTENSION_REL",
    "add_lite_parts",
    "build_lite_workbook",
    "call_button",
    "custom_function_ids",
    "refresh_button",
    "taskpanes_xml",
    "webextension_xml",
]

LITE_STORE_ID = "WA200008175"
"""xlwings Lite's id in the Office add-in store (AppSource / OMEX)."""

PYODIDE_VERSION = "0.27.5"
"""The ``pyodideVersion`` property: the Pyodide release of the newest Excel-saved xlwings
Lite workbooks published (add-in version 1.0.0.0-18, January 2026)."""

ADDIN_VERSION = "1.0.0.0-18"
"""The ``addinVersion`` property: the xlwings Lite add-in version of those workbooks."""

WEBEXTENSION_PART = "xl/webextensions/webextension1.xml"
TASKPANES_PART = "xl/webextensions/taskpanes.xml"
_TASKPANES_RELS = "xl/webextensions/_rels/taskpanes.xml.rels"
TASKPANES_REL = "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes"
WEBEXTENSION_REL = "http://schemas.microsoft.com/office/2011/relationships/webextension"
CONTENT_TYPES: dict[str, str] = {
    TASKPANES_PART: "application/vnd.ms-office.webextensiontaskpanes+xml",
    WEBEXTENSION_PART: "application/vnd.ms-office.webextension+xml",
}
_WE_NS = "http://schemas.microsoft.com/office/webextensions/webextension/2010/11"
_WETP_NS = "http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11"
_A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
# The two extensions Excel writes after the snapshot (their uri values are Excel's).
_CONTAINS_FUNCTIONS_URI = "{D87F86FE-615C-45B5-9D79-34F1136793EB}"
_FUNCTION_IDS_URI = "{7C84B067-C214-45C3-A712-C9D94CD141B2}"
_ADDIN_CALL = re.compile(rb"(?<![A-Za-z0-9_.])(_xldudf_[A-Za-z][A-Za-z0-9_.]*)\(")
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PANE_WIDTH = 420  # points; wide enough for the editor and the script button
_ID_NAMESPACE = uuid.UUID("8d6f0d38-61b2-4b0c-9b7e-3a1f0e5c2d41")


def _attr(value: str) -> str:
    """``value`` as a double-quoted XML attribute."""
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _json_property(name: str, text: str) -> str:
    """A ``<we:property>`` whose value is ``text`` as a JSON string (XML-escaped)."""
    return f"<we:property name={_attr(name)} value={_attr(json.dumps(text))}/>"


def _extension_list(functions: Iterable[str]) -> str:
    """Excel's extension list: whether the workbook calls custom functions, and which.

    With no function Excel writes both elements empty.
    """
    names = sorted(set(functions))
    if names:
        ids = "".join(f"<we:customFunctionIds>{escape(n)}</we:customFunctionIds>" for n in names)
        contains = '<we:containsCustomFunctions val="1"/>'
        id_list = f"<we:customFunctionIdList>{ids}</we:customFunctionIdList>"
    else:
        contains, id_list = "<we:containsCustomFunctions/>", "<we:customFunctionIdList/>"
    return (
        "<we:extLst>"
        f'<a:ext xmlns:a="{_A_NS}" uri="{_CONTAINS_FUNCTIONS_URI}">{contains}</a:ext>'
        f'<a:ext xmlns:a="{_A_NS}" uri="{_FUNCTION_IDS_URI}">{id_list}</a:ext>'
        "</we:extLst>"
    )


def webextension_xml(
    main_py: str,
    requirements: str,
    *,
    extension_id: uuid.UUID,
    functions: Iterable[str] = (),
) -> bytes:
    """The web-extension part: xlwings Lite from the Office store, with the code as properties.

    The reference is the store add-in (store type OMEX); the properties are JSON-encoded
    strings in the order Excel saves them; ``functions`` are the ``_xldudf_`` names the
    cells call (sorted in the part, as Excel lists them).
    """
    reference = f'id="{LITE_STORE_ID.lower()}" version="1.0.0.0" store="en-US" storeType="OMEX"'
    alternate = f'id="{LITE_STORE_ID}" version="1.0.0.0" store="{LITE_STORE_ID}" storeType="OMEX"'
    xml = (
        f'{_XML_DECL}<we:webextension xmlns:we="{_WE_NS}" id="{{{str(extension_id).upper()}}}">'
        f"<we:reference {reference}/>"
        f"<we:alternateReferences><we:reference {alternate}/></we:alternateReferences>"
        "<we:properties>"
        f"{_json_property('main.py', main_py)}"
        f"{_json_property('pyodideVersion', PYODIDE_VERSION)}"
        f"{_json_property('addinVersion', ADDIN_VERSION)}"
        f"{_json_property('requirements.txt', requirements)}"
        "</we:properties>"
        "<we:bindings/>"
        f'<we:snapshot xmlns:r="{_R_NS}"/>'
        f"{_extension_list(functions)}"
        "</we:webextension>"
    )
    return xml.encode("utf-8")


def custom_function_ids(parts: Mapping[str, bytes]) -> list[str]:
    """The add-in functions (``_xldudf_NAME``) that the package's formulas call, sorted.

    Read from every worksheet part and from ``xl/workbook.xml`` (defined names), so the
    list names exactly what the built cells use.
    """
    found: set[str] = set()
    for name, data in parts.items():
        if name == "xl/workbook.xml" or (
            name.startswith("xl/worksheets/") and name.endswith(".xml")
        ):
            found.update(m.decode("ascii") for m in _ADDIN_CALL.findall(data))
    return sorted(found)


def taskpanes_xml() -> bytes:
    """The task-pane part: one pane on the right, visible when the workbook opens."""
    xml = (
        f'{_XML_DECL}<wetp:taskpanes xmlns:wetp="{_WETP_NS}">'
        f'<wetp:taskpane dockstate="right" visibility="1" width="{_PANE_WIDTH}" row="1">'
        f'<wetp:webextensionref xmlns:r="{_R_NS}" r:id="rId1"/>'
        "</wetp:taskpane></wetp:taskpanes>"
    )
    return xml.encode("utf-8")


def _taskpanes_rels() -> bytes:
    xml = (
        f'{_XML_DECL}<Relationships xmlns="{_PKG_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{WEBEXTENSION_REL}" Target="webextension1.xml"/>'
        "</Relationships>"
    )
    return xml.encode("utf-8")


def _insert_before_close(xml: bytes, closing: bytes, addition: bytes, part: str) -> bytes:
    at = xml.rfind(closing)
    if at < 0:
        raise ValueError(f"{part} has no {closing.decode()} element to extend")
    return xml[:at] + addition + xml[at:]


def _free_rel_id(rels: bytes) -> str:
    n = 1
    while f'Id="rId{n}"'.encode() in rels:
        n += 1
    return f"rId{n}"


def add_lite_parts(package: bytes, *, main_py: str, requirements: str) -> bytes:
    """The package with xlwings Lite's parts added; every existing part kept byte for byte.

    Only ``[Content_Types].xml`` (two overrides) and ``_rels/.rels`` (one relationship)
    change. The web-extension id is derived from the code, so the same inputs give the
    same file; the custom functions listed are those the package's formulas call.

    Raises:
        ValueError: the package already holds web extensions, or lacks its directory parts.

    """
    with zipfile.ZipFile(BytesIO(package)) as source:
        entries = source.infolist()
        names = {e.filename for e in entries}
        if any(n.startswith("xl/webextensions/") for n in names):
            raise ValueError("the workbook already holds web extensions (add-in parts)")
        parts = {e.filename: source.read(e) for e in entries}
    overrides = "".join(
        f'<Override PartName="/{part}" ContentType="{kind}"/>'
        for part, kind in CONTENT_TYPES.items()
    )
    content_types = _insert_before_close(
        parts["[Content_Types].xml"], b"</Types>", overrides.encode(), "[Content_Types].xml"
    )
    root_rels = parts["_rels/.rels"]
    relation = (
        f'<Relationship Id="{_free_rel_id(root_rels)}" Type="{TASKPANES_REL}" '
        f'Target="{TASKPANES_PART}"/>'
    )
    root_rels = _insert_before_close(
        root_rels, b"</Relationships>", relation.encode(), "_rels/.rels"
    )
    digest = hashlib.sha256(f"{main_py}\0{requirements}".encode()).hexdigest()
    extension_id = uuid.uuid5(_ID_NAMESPACE, digest)
    added = {
        WEBEXTENSION_PART: webextension_xml(
            main_py, requirements, extension_id=extension_id, functions=custom_function_ids(parts)
        ),
        TASKPANES_PART: taskpanes_xml(),
        _TASKPANES_RELS: _taskpanes_rels(),
    }
    changed = {"[Content_Types].xml": content_types, "_rels/.rels": root_rels}
    stamp = next(e.date_time for e in entries if e.filename == "[Content_Types].xml")
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in entries:
            target.writestr(entry, changed.get(entry.filename, parts[entry.filename]))
        for name, data in added.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def refresh_button() -> str:
    """The refresh script's sheet-button reference: the Dashboard's refresh anchor cell.

    xlwings Lite runs the script when that cell gets selected (a shape hyperlinked to
    the cell makes it a button; clicking the cell itself works too).
    """
    stages = default_stages()
    layout = dashboard_layout(list(stages.activities), stages.won.activity)
    return f"{contract.DASHBOARD}!{layout.buttons['refresh']}"


def call_button() -> str:
    """The add_call script's sheet-button reference: the Dashboard's Add call cell."""
    stages = default_stages()
    layout = dashboard_layout(list(stages.activities), stages.won.activity)
    return f"{contract.DASHBOARD}!{layout.buttons['call']}"


def build_lite_workbook(
    path: str | os.PathLike[str],
    *,
    company: str,
    tables: Mapping[str, pd.DataFrame],
    currency: str = "EUR",
    fiscal_start: int = 1,
    as_of: date,
    pin_as_of: bool = True,
) -> Path:
    """Write the xlwings Lite workbook (``.xlsx``) to ``path`` and return the path.

    The tables, Dashboard and cached PIPE_* values are those of the classic workbook
    (`pipeline_xl.workbook.builder`); the Python code is embedded (see the module doc).

    Args:
        path: the ``.xlsx`` to write; replaced if it exists.
        company: the company name shown on the Dashboard.
        tables: raw tables keyed by sheet name, as for ``build_workbook``.
        currency: currency code.
        fiscal_start: first month of the fiscal year (1-12).
        as_of: the as-of date.
        pin_as_of: write ``as_of`` into the Settings table (else it stays blank).

    Raises:
        InputError: a bad path, argument or Stages table.

    """
    target = Path(path)
    check_target(target, lite=True)
    main_py = build_main_py(button=refresh_button(), call_button=call_button())
    requirements = requirements_txt()
    currency_code = currency.strip().upper()
    cached = engine_cache(
        tables, currency=currency_code, fiscal_start=fiscal_start, as_of=as_of,
        pin_as_of=pin_as_of,
    )  # fmt: skip
    plain = workbook_bytes(
        company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of, cached=cached, pin_as_of=pin_as_of,
    )  # fmt: skip
    data = add_lite_parts(plain, main_py=main_py, requirements=requirements)
    atomic_write(target, data, backup=False)
    return target
