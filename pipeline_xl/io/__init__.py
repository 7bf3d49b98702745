"""Workbook input and output: the adapters between files or Excel and the engine."""

__all__: list[str] = []
