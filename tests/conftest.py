"""Settings for the whole test run."""

from __future__ import annotations

import os

# xlwings' remote engine (what xlwings Lite drives) needs a licence key, read when xlwings
# is first imported. xlwings provides "noncommercial" for noncommercial use such as these
# tests; the product itself never depends on that engine.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
