"""Tables shaped the way Excel hands them to a worksheet function."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from pipeline_xl.core.sample import generate

AS_OF = date(2026, 11, 30)


def excel_rows(frame: pd.DataFrame) -> list[list[object]]:
    """Header row then values: None for blanks, datetime for dates, float for numbers."""
    out: list[list[object]] = [list(frame.columns)]
    for record in frame.astype(object).values.tolist():
        row: list[object] = []
        for value in record:
            if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                row.append(None)
            elif isinstance(value, pd.Timestamp):
                row.append(value.to_pydatetime())
            elif isinstance(value, int) and not isinstance(value, bool):
                row.append(float(value))
            else:
                row.append(value)
        out.append(row)
    return out


@pytest.fixture(scope="session")
def sample_tables() -> dict[str, list[list[object]]]:
    tables = generate(600, as_of=AS_OF, seed=3).tables
    return {name: excel_rows(frame) for name, frame in tables.items()}
