"""The client workbook for xlwings Lite: the ready workbook with its Python code inside.

`build_lite_workbook` makes the same workbook as the classic builder, without VBA,
buttons or the xlwings.conf sheet (`pipeline_xl.workbook.builder.workbook_bytes`), then,
as the last step, adds the parts that make Excel load the xlwings Lite add-in with this
workbook's code (design notes, section 3):

* ``xl/webextensions/webextension1.xml``: the add-in reference (xlwings Lite's Office
  store id) and two properties, ``main.py`` (`pipeline_xl.workbook.lite_bundle.build_main_py`) and
  ``requirements.txt``, each a JSON-encoded string;
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
import uuid
import zipfile
from collections.abc import Mapping
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
    "CONTENT_TYPES",
    "LITE_STORE_ID",
    "TASKPANES_PART",
    "TASKPANES_REL",
    "WEBEXTENSION_PART",
    "WEBEXTENSION_REL",
    "add_lite_parts",
    "build_lite_workbook",
    "refresh_button",
    "taskpanes_xml",
    "webextension_xml",
]

LITE_STORE_ID = "WA200008175"
"""xlwings Lite's id in the Office add-in store (AppSource / OMEX)."""

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


def webextension_xml(main_py: str, requirements: str, *, extension_id: uuid.UUID) -> bytes:
    """The web-extension part: xlwings Lite from the Office store, with the code as properties.

    The reference is the store add-in (store type OMEX); ``main.py`` and
    ``requirements.txt`` are JSON-encoded strings, as xlwings Lite stores them.
    """
    reference = f'id="{LITE_STORE_ID.lower()}" version="1.0.0.0" store="en-US" storeType="OMEX"'
    alternate = f'id="{LITE_STORE_ID}" version="1.0.0.0" store="{LITE_STORE_ID}" storeType="OMEX"'
    xml = (
        f'{_XML_DECL}<we:webextension xmlns:we="{_WE_NS}" id="{{{str(extension_id).upper()}}}">'
        f"<we:reference {reference}/>"
        f"<we:alternateReferences><we:reference {alternate}/></we:alternateReferences>"
        "<we:properties>"
        f"{_json_property('main.py', main_py)}"
        f"{_json_property('requirements.txt', requirements)}"
        "</we:properties>"
        "<we:bindings/>"
        f'<we:snapshot xmlns:r="{_R_NS}"/>'
        "</we:webextension>"
    )
    return xml.encode("utf-8")


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
    same file.

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
        WEBEXTENSION_PART: webextension_xml(main_py, requirements, extension_id=extension_id),
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


def build_lite_workbook(
    path: str | os.PathLike[str],
    *,
    company: str,
    tables: Mapping[str, pd.DataFrame],
    currency: str = "EUR",
    fiscal_start: int = 1,
    as_of: date,
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

    Raises:
        InputError: a bad path, argument or Stages table.

    """
    target = Path(path)
    check_target(target, lite=True)
    main_py = build_main_py(button=refresh_button())
    requirements = requirements_txt()
    currency_code = currency.strip().upper()
    cached = engine_cache(tables, currency=currency_code, fiscal_start=fiscal_start, as_of=as_of)
    plain = workbook_bytes(
        company=company, tables=tables, currency=currency, fiscal_start=fiscal_start,
        as_of=as_of, cached=cached,
    )  # fmt: skip
    data = add_lite_parts(plain, main_py=main_py, requirements=requirements)
    atomic_write(target, data, backup=False)
    return target
