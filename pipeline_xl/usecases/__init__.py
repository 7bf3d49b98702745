"""What a user asks for, one module each: new, refresh, import, metrics, rollup, demo.

A use case takes plain values (paths, dates, options), calls the core and the adapters,
and returns a result value; the command line, the workbook's button and the xlwings Lite
script only parse their input, call a use case and show its result. Nothing here reads
the clock: an entry point passes ``today`` where a default date is needed.
"""

__all__: list[str] = []
