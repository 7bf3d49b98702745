"""The ``pipeline-xl`` command: parse the arguments, run a use case, print its result.

The command line is where the clock is read: a missing ``--as-of`` means today for the
commands that need a date. Exit codes: 0 done, 2 a problem the user can fix (one
message on standard error, nothing written), 1 an unexpected error (details with ``-v``),
141 the output went to a pipe that was closed early (``| head``), after the work was done.
"""

from __future__ import annotations

from pipeline_xl.cli.main import main

__all__ = ["main"]
