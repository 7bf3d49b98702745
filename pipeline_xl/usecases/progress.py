"""How a long use case reports its steps, without knowing where they are shown."""

from __future__ import annotations

from typing import Protocol

__all__ = ["SILENT", "Progress"]


class Progress(Protocol):
    """Receives a use case's steps: `start` once, `step` before each step."""

    def start(self, label: str, total: int) -> None:
        """A task of ``total`` steps begins."""

    def step(self, note: str) -> None:
        """The next step begins; ``note`` says what it does."""


class _Silent:
    """Shows nothing (the default, and what tests use)."""

    def start(self, label: str, total: int) -> None:
        """Show nothing."""

    def step(self, note: str) -> None:
        """Show nothing."""


SILENT: Progress = _Silent()
