"""The engine against a real public CRM export (Maven Analytics CRM Sales Opportunities).

The data stays in the shared folder beside the repository; these tests skip when it is
absent. The reference numbers are a plain pandas computation on the raw CSV.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline_xl.core.metrics import compute_metrics
from pipeline_xl.core.schema import validate

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "maven-crm"
PIPELINE = DATA / "sales_pipeline.csv"

pytestmark = pytest.mark.skipif(
    not PIPELINE.exists(), reason=f"the Maven CRM export is not at {DATA}"
)

# Maven's column names -> our header names: the column mapping under test.
MAPPING = {
    "opportunity_id": "ID",
    "sales_agent": "Owner",
    "product": "Name",
    "account": "Company",
    "deal_stage": "Stage",
    "engage_date": "Created",
    "close_date": "Closed",
    "close_value": "Amount",
}
STAGES = [
    ["Stage", "Activity", "Probability", "Conversion", "Days to close", "Status"],
    ["Prospecting", "Call", 0.3, 0.6, 60, "open"],
    ["Engaging", "Meeting", 0.5, 0.5, 45, "open"],
    ["Won", "Order", 1.0, None, 0, "won"],
    ["Lost", "", 0.0, None, 0, "lost"],
]


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(PIPELINE)


@pytest.fixture(scope="module")
def model(raw):
    return validate(raw.rename(columns=MAPPING), STAGES, as_of=date(2017, 12, 31))


def test_win_rates_and_won_amounts_match_pandas(raw, model):
    won = raw[raw["deal_stage"] == "Won"]
    lost = raw[raw["deal_stage"] == "Lost"]
    metrics = compute_metrics(model)
    assert metrics.won_count == len(won)
    assert metrics.lost_count == len(lost)
    assert metrics.win_rate == pytest.approx(len(won) / (len(won) + len(lost)), rel=1e-12)
    assert metrics.won_amount == pytest.approx(won["close_value"].sum(), rel=1e-12)
    assert metrics.avg_won_deal == pytest.approx(won["close_value"].mean(), rel=1e-12)


def test_median_cycle_days_match_pandas(raw, model):
    won = raw[raw["deal_stage"] == "Won"]
    cycle = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["engage_date"])).dt.days
    metrics = compute_metrics(model)
    assert metrics.median_cycle_days == pytest.approx(cycle.median())
    assert metrics.p80_cycle_days == pytest.approx(cycle.quantile(0.8))


def test_quirks_are_issues_not_crashes(raw, model):
    issues = model.issues
    open_deals = raw["deal_stage"].isin(["Prospecting", "Engaging"])
    # Open deals carry no close_value: each is reported and left out of the numbers.
    no_amount = issues[(issues["column"] == "Amount") & (issues["severity"] == "error")]
    assert len(no_amount) == int((open_deals & raw["close_value"].isna()).sum())
    # Lost deals recorded at 0 are kept, with a warning.
    zero_lost = issues[(issues["column"] == "Amount") & (issues["severity"] == "warning")]
    assert len(zero_lost) == int(((raw["deal_stage"] == "Lost") & (raw["close_value"] == 0)).sum())
    # Excel row numbers: header is row 1, so the first data row is row 2.
    first = raw.index[open_deals & raw["close_value"].isna()][0]
    assert first + 2 in set(no_amount["row"])
    kept = len(raw) - len(no_amount)
    assert len(model.prospects) == kept
