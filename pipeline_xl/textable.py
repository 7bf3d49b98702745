"""Plain-text tables for the terminal: aligned columns, thousands separators, no colours."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["fmt_amount", "fmt_pct", "render_table"]


def fmt_amount(value: float, currency: str = "") -> str:
    """``1234567.8`` -> ``1,234,568`` (whole currency units; blank for NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:,.0f}"
    return f"{text} {currency}".strip()


def fmt_pct(value: float) -> str:
    """``0.4567`` -> ``45.7%`` (blank for NaN or infinity)."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.1%}"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """Render rows under headers; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]]
    cells += [["" if v is None else str(v) for v in row] for row in rows]
    numeric = [all(_looks_numeric(r[i]) for r in cells[1:] if r[i]) for i in range(len(headers))]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    if title:
        lines.append(title)
    for n, row in enumerate(cells):
        parts = [
            row[i].rjust(widths[i]) if numeric[i] else row[i].ljust(widths[i])
            for i in range(len(headers))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    stripped = text.replace(",", "").replace("%", "").replace(" ", "").lstrip("+-")
    head = stripped.split(".")[0]
    return bool(head) and head.isdigit()
