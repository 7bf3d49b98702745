"""Render chosen sheets of a workbook to PNG pictures (PDF export, then ``pdftoppm``).

Usage (system Python with python3-uno)::

    /usr/bin/python3 tools/lo/render.py IN.xlsm OUTDIR --sheets Dashboard,Prospects

Writes ``OUTDIR/<sheet>.png`` (first page; ``--pages N`` adds ``<sheet>-2.png`` ...) and
``OUTDIR/<sheet>.pdf``. Each sheet is printed landscape and fitted to one page wide. By
default the cells show the values stored in the file (what a reader sees before any
recalculation); ``--recalc`` recalculates first.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uno  # type: ignore[import-not-found]
from _office import UnoObject, open_document, props


def _landscape_fit_width(doc: UnoObject, sheet: UnoObject) -> None:
    styles = doc.getStyleFamilies().getByName("PageStyles")
    style = styles.getByName(sheet.PageStyle)
    if not style.IsLandscape:
        width, height = style.Width, style.Height
        style.IsLandscape = True
        style.Width, style.Height = max(width, height), min(width, height)
    style.ScaleToPagesX = 1
    style.ScaleToPagesY = 0


def _used_range(sheet: UnoObject) -> UnoObject:
    cursor = sheet.createCursor()
    cursor.gotoStartOfUsedArea(False)
    cursor.gotoEndOfUsedArea(True)
    return cursor


def export_sheet_pdf(doc: UnoObject, sheet_name: str, pdf: Path) -> None:
    """Export one sheet (its used area) to ``pdf``."""
    sheets = doc.getSheets()
    if not sheets.hasByName(sheet_name):
        raise SystemExit(f"no sheet named {sheet_name!r}")
    sheet = sheets.getByName(sheet_name)
    _landscape_fit_width(doc, sheet)
    options = props(Selection=_used_range(sheet), ExportNotes=False, ExportNotesInMargin=False)
    filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", options)
    doc.storeToURL(
        uno.systemPathToFileUrl(str(pdf.resolve())),
        props(FilterName="calc_pdf_Export", FilterData=filter_data),
    )


def to_png(pdf: Path, out_stem: Path, *, pages: int, dpi: int) -> list[Path]:
    """Rasterise the first ``pages`` pages of ``pdf`` next to ``out_stem``."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise SystemExit("pdftoppm not found: install poppler-utils")
    made: list[Path] = []
    for page in range(1, pages + 1):
        target = out_stem if page == 1 else out_stem.with_name(f"{out_stem.name}-{page}")
        cmd = [tool, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile"]
        done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [*cmd, str(pdf), str(target)], capture_output=True, check=False, timeout=120
        )
        png = target.with_name(target.name + ".png")
        if done.returncode != 0 or not png.is_file():
            if page == 1:
                raise SystemExit(f"pdftoppm failed: {done.stderr.decode(errors='replace')}")
            break  # fewer pages than asked
        made.append(png)
    return made


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--sheets", required=True, help="comma-separated sheet names")
    parser.add_argument("--pages", type=int, default=1, help="pages per sheet to rasterise")
    parser.add_argument("--dpi", type=int, default=110)
    parser.add_argument("--recalc", action="store_true", help="recalculate before exporting")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for soffice")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"no such file: {args.source}")
    args.outdir.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.sheets.split(",") if n.strip()]
    with open_document(args.source, timeout=args.timeout) as doc:
        if args.recalc:
            doc.calculateAll()
        for name in names:
            pdf = args.outdir / f"{name}.pdf"
            export_sheet_pdf(doc, name, pdf)
            for png in to_png(pdf, args.outdir / name, pages=args.pages, dpi=args.dpi):
                print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
