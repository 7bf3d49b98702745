"""The VBA project of the installed xlwings, taken from its standalone quickstart workbook.

Nothing of xlwings' VBA is kept in this repository: at build time ``xlwings quickstart
<name> --standalone`` runs in a temporary folder (with the same Python, so the VBA matches
the installed xlwings version) and ``xl/vbaProject.bin`` is read out of the ``.xlsm`` it
makes, together with the code names its workbook and sheets carry and the key/value rows
of its ``_xlwings.conf`` sheet.

Code names: the project's document modules are ``ThisWorkbook`` plus one per quickstart
sheet (``Sheet1`` for the first sheet, ``Sheet2`` for ``_xlwings.conf``). The builder gives
the workbook and those two sheets (Dashboard, xlwings.conf) the same code names, so every
document module of the project has its sheet; the other sheets get new ``SheetN`` names,
whose (empty) document modules Excel adds when it opens the file.
"""

from __future__ import annotations

import functools
import io
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from pipeline_xl.core import contract

__all__ = ["QuickstartVBA", "parse_quickstart", "quickstart_vba"]

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_PROJECT = "pxlquickstart"
_MAX_PART = 5_000_000  # bytes; the quickstart parts are far smaller


@dataclass(frozen=True)
class QuickstartVBA:
    """What the builder takes from xlwings' standalone quickstart workbook."""

    project: bytes
    workbook_codename: str
    sheet_codenames: dict[str, str]  # quickstart sheet name -> code name
    conf_rows: tuple[tuple[str, object], ...]  # the _xlwings.conf key/value rows
    xlwings_version: str

    @property
    def first_sheet_codename(self) -> str:
        """Code name of the quickstart's first sheet (the one its sample macro uses)."""
        return next(iter(self.sheet_codenames.values()))

    @property
    def conf_sheet_codename(self) -> str:
        """Code name of the quickstart's ``_xlwings.conf`` sheet."""
        return self.sheet_codenames.get(f"_{contract.XLWINGS_CONF}", "Sheet2")


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > _MAX_PART:
        raise RuntimeError(f"unexpectedly large part {name} in the xlwings quickstart")
    return zf.read(name)


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    root = ElementTree.fromstring(_read(zf, "xl/sharedStrings.xml"))
    return [
        "".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t"))
        for si in root.findall("m:si", _NS)
    ]


def _conf_rows(sheet_xml: bytes, strings: list[str]) -> tuple[tuple[str, object], ...]:
    root = ElementTree.fromstring(sheet_xml)
    cells: dict[str, object] = {}
    for c in root.iter(f"{{{_NS['m']}}}c"):
        ref = c.get("r", "")
        v = c.find("m:v", _NS)
        raw = "" if v is None or v.text is None else v.text
        kind = c.get("t")
        value: object = raw
        if kind == "s":
            value = strings[int(raw)]
        elif kind == "b":
            value = raw == "1"
        cells[ref] = value
    rows: list[tuple[str, object]] = []
    row = 1
    while isinstance(cells.get(f"A{row}"), str) and cells[f"A{row}"]:
        rows.append((str(cells[f"A{row}"]), cells.get(f"B{row}", "")))
        row += 1
    return tuple(rows)


def parse_quickstart(xlsm: bytes, xlwings_version: str) -> QuickstartVBA:
    """Read the VBA project, code names and conf rows out of a quickstart ``.xlsm``."""
    with zipfile.ZipFile(io.BytesIO(xlsm)) as zf:
        project = _read(zf, "xl/vbaProject.bin")
        workbook = ElementTree.fromstring(_read(zf, "xl/workbook.xml"))
        pr = workbook.find("m:workbookPr", _NS)
        wb_code = (pr.get("codeName") if pr is not None else None) or "ThisWorkbook"
        rels = ElementTree.fromstring(_read(zf, "xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
        strings = _shared_strings(zf)
        codenames: dict[str, str] = {}
        conf: tuple[tuple[str, object], ...] = ()
        for n, sheet in enumerate(workbook.iter(f"{{{_NS['m']}}}sheet"), start=1):
            name = sheet.get("name", "")
            target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
            part = "xl/" + target.lstrip("/").removeprefix("xl/")
            xml = _read(zf, part)
            spr = ElementTree.fromstring(xml).find("m:sheetPr", _NS)
            codenames[name] = (spr.get("codeName") if spr is not None else None) or f"Sheet{n}"
            if name.lstrip("_") == contract.XLWINGS_CONF:
                conf = _conf_rows(xml, strings)
    return QuickstartVBA(project, wb_code, codenames, conf, xlwings_version)


def _xlwings_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415 - only needed when building

    return version("xlwings")


@functools.cache
def quickstart_vba() -> QuickstartVBA:
    """Run ``xlwings quickstart --standalone`` once per process and read what it made.

    The quickstart runs with this interpreter, so the VBA matches the xlwings installed
    beside pipeline-xl.

    Raises:
        RuntimeError: xlwings is missing or the quickstart failed.

    """
    exe = sys.executable
    code = "import sys; from xlwings.cli import main; sys.argv[0] = 'xlwings'; main()"
    with tempfile.TemporaryDirectory(prefix="pxl-quickstart-") as tmp:
        try:
            done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                [exe, "-c", code, "quickstart", _PROJECT, "--standalone"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise RuntimeError(f"could not run xlwings quickstart: {err}") from err
        made = Path(tmp) / _PROJECT / f"{_PROJECT}.xlsm"
        if done.returncode != 0 or not made.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"xlwings quickstart failed: {detail[0]}")
        return parse_quickstart(made.read_bytes(), _xlwings_version())
