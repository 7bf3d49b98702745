"""Terminal output: aligned tables, plain lines and a progress bar, through rich.

Colour and the progress bar appear only on a terminal; piped output is plain text with
no escape codes and no line wrapping, so it stays easy to read and to test. Output into
a pipe whose reader has gone (``| head -2``) raises `BrokenPipeError` for the command
line to end quietly (rich would exit on its own).
"""

from __future__ import annotations

import errno
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

__all__ = ["TerminalProgress", "amount", "console", "pct", "progress", "say", "table"]

_WIDE = 200  # columns when the output is not a terminal: never wrap a table row


class _Console(Console):
    """A rich console that leaves a closed pipe to the command line."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "the reader of the output has gone")


def console(stream: TextIO | None = None) -> Console:
    """A console on ``stream`` (standard output by default): colour only on a terminal."""
    out = sys.stdout if stream is None else stream
    terminal = bool(getattr(out, "isatty", lambda: False)())
    return _Console(
        file=out,
        highlight=False,
        emoji=False,
        soft_wrap=not terminal,
        width=None if terminal else _WIDE,
        force_terminal=terminal,
        no_color=not terminal,
    )


def say(text: str = "", stream: TextIO | None = None) -> None:
    """Print ``text`` as it is (no markup, no wrapping)."""
    console(stream).out(text, highlight=False)


def amount(value: float, currency: str = "") -> str:
    """``1234567.8`` -> ``1,234,568`` (whole currency units; blank for NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f} {currency}".strip()


def pct(value: float) -> str:
    """``0.4567`` -> ``45.7%`` (blank for NaN or infinity)."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.1%}"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str = "",
    numeric: Sequence[bool] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Print rows under headers; ``numeric`` columns are right-aligned."""
    out = console(stream)
    if title:
        out.out(title, highlight=False)
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i, header in enumerate(headers):
        right = bool(numeric[i]) if numeric is not None and i < len(numeric) else False
        grid.add_column(header, justify="right" if right else "left", no_wrap=True)
    for row in rows:
        grid.add_row(*("" if v is None else str(v) for v in row))
    out.print(grid)


class TerminalProgress:
    """A use case's steps as a progress bar on standard error, when it is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._console = console(sys.stderr if stream is None else stream)
        self._bar: RichProgress | None = None
        self._task: int | None = None

    @property
    def enabled(self) -> bool:
        """Whether anything is drawn (only on a terminal)."""
        return self._console.is_terminal

    def start(self, label: str, total: int) -> None:
        """Begin a task of ``total`` steps."""
        if not self.enabled:
            return
        self.close()
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=self._console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=max(total, 1), note="")

    def step(self, note: str) -> None:
        """Advance one step and show what is being done now."""
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, note=note)  # type: ignore[arg-type]

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.stop()
        self._bar = None
        self._task = None


@contextmanager
def progress(stream: TextIO | None = None) -> Iterator[TerminalProgress]:
    """A `TerminalProgress` that is closed however the command ends."""
    bar = TerminalProgress(stream)
    try:
        yield bar
    finally:
        bar.close()
