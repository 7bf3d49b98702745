"""Open workbooks one after another in one headless LibreOffice (for test suites).

Usage (system Python with python3-uno)::

    /usr/bin/python3 tools/lo/serve.py

Reads one workbook path per line on standard input and answers each with one JSON line
on standard output: ``{"sheets": ["Dashboard", ...]}`` when LibreOffice opened it, or
``{"error": "..."}`` when it could not. Starting LibreOffice takes seconds; opening a
small workbook in a running one a fraction of that, so a suite that checks many files
starts it once. Ends at the end of standard input.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _office import load, office


def main() -> int:
    """Serve until standard input ends."""
    with office() as desktop:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            path = Path(line.strip())
            doc = None
            try:
                doc = load(desktop, path)
                names = list(doc.getSheets().getElementNames())
                answer: dict[str, object] = {"sheets": names}
            except (SystemExit, Exception) as err:  # noqa: BLE001 - reported to the caller
                answer = {"error": str(err) or type(err).__name__}
            finally:
                with contextlib.suppress(Exception):
                    if doc is not None:
                        doc.close(True)
            print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
