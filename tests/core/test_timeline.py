"""The pipeline as it stood on any date: rebuilt from the log and the deals' own dates."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core import contract
from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    Model,
    Settings,
    activities_frame,
    default_stages,
    prospects_frame,
    snapshots_frame,
    targets_frame,
)
from pipeline_xl.core.sample import generate
from pipeline_xl.core.schema import validate
from pipeline_xl.core.timeline import as_it_stood, first_date, is_past, recorded_until

STAGES = default_stages()  # Lead, Qualified, Proposal, Negotiation (+ Won, Lost)
DAY = date(2026, 5, 31)
TRACKED = ["owner", "stage", "stage_idx", "status", "amount", "expected_close", "probability"]


def book(**changes: object) -> Model:
    """Five deals, a month-end log on 2026-04-30 and 2026-05-31, activities, as of 2026-06-20.

    A: created in April, at Qualified on 04-30, Proposal on 05-31, won on 06-10.
    B: created in April, Lead on 04-30, lost on 05-15 (reached Lead).
    C: created 05-20 (after the last April snapshot), not in the log until 05-31.
    D: created 06-05, after the day looked at.
    E: created in March, Negotiation since 04-30, still open, offer re-dated on 06-12.
    """
    prospects = prospects_frame([
        {"id": "A", "owner": "Ann", "stage": "Won", "amount": 900.0,
         "created": date(2026, 4, 2), "closed": date(2026, 6, 10),
         "last_activity": date(2026, 6, 10)},
        {"id": "B", "owner": "Bob", "stage": "Lost", "amount": 300.0, "reached_idx": 0,
         "created": date(2026, 4, 6), "closed": date(2026, 5, 15),
         "last_activity": date(2026, 5, 15)},
        {"id": "C", "owner": "Ann", "stage": "Proposal", "amount": 400.0,
         "expected_close": date(2026, 7, 15), "created": date(2026, 5, 20),
         "last_activity": date(2026, 6, 18)},
        {"id": "D", "owner": "Bob", "stage": "Lead", "amount": 50.0,
         "expected_close": date(2026, 9, 1), "created": date(2026, 6, 5)},
        {"id": "E", "owner": "Bob", "stage": "Negotiation", "amount": 700.0,
         "expected_close": date(2026, 7, 30), "created": date(2026, 3, 3),
         "last_activity": date(2026, 6, 12)},
    ])  # fmt: skip
    log = snapshots_frame([
        {"snapshot_date": date(2026, 4, 30), "id": "A", "owner": "Ann", "stage": "Qualified",
         "amount": 1000.0, "expected_close": date(2026, 6, 1)},
        {"snapshot_date": date(2026, 4, 30), "id": "B", "owner": "Bob", "stage": "Lead",
         "amount": 300.0, "expected_close": date(2026, 6, 30)},
        {"snapshot_date": date(2026, 4, 30), "id": "E", "owner": "Bob", "stage": "Negotiation",
         "amount": 800.0, "expected_close": date(2026, 5, 20), "probability": 0.7},
        {"snapshot_date": date(2026, 5, 31), "id": "A", "owner": "Ann", "stage": "Proposal",
         "amount": 950.0, "expected_close": date(2026, 6, 15)},
        {"snapshot_date": date(2026, 5, 31), "id": "B", "owner": "Bob", "stage": "Lost",
         "amount": 300.0},
        {"snapshot_date": date(2026, 5, 31), "id": "C", "owner": "Ann", "stage": "Lead",
         "amount": 400.0, "expected_close": date(2026, 7, 1)},
        {"snapshot_date": date(2026, 5, 31), "id": "E", "owner": "Bob", "stage": "Negotiation",
         "amount": 700.0, "expected_close": date(2026, 6, 30), "probability": 0.7},
    ])  # fmt: skip
    activities = activities_frame([
        {"date": date(2026, 4, 2), "type": "Call", "prospect_id": "A", "owner": "Ann"},
        {"date": date(2026, 4, 20), "type": "Meeting", "prospect_id": "A", "owner": "Ann"},
        {"date": date(2026, 5, 22), "type": "Offer", "prospect_id": "A", "owner": "Ann"},
        {"date": date(2026, 5, 20), "type": "Call", "prospect_id": "C", "owner": "Ann"},
        {"date": date(2026, 5, 27), "type": "Meeting", "prospect_id": "C", "owner": "Ann"},
        {"date": date(2026, 6, 12), "type": "Offer", "prospect_id": "C", "owner": "Ann"},
        {"date": date(2026, 6, 12), "type": "Call", "prospect_id": "E", "owner": "Bob"},
    ])  # fmt: skip
    fields: dict[str, object] = {
        "prospects": prospects,
        "stages": STAGES,
        "targets": targets_frame([{"period": "2026-06", "revenue": 1000.0}]),
        "activities": activities,
        "snapshots": log,
        "settings": Settings(as_of=date(2026, 6, 20)),
        "issues": pd.DataFrame(),
    }
    fields.update(changes)
    return Model(**fields)


class TestDates:
    def test_record_and_first_dates(self):
        model = book()
        # Latest: D created 06-05 < A closed 06-10; the log ends 05-31.
        assert recorded_until(model) == date(2026, 6, 10)
        assert first_date(model) == date(2026, 3, 3)  # E's creation
        assert is_past(model, DAY)
        assert not is_past(model, date(2026, 6, 10))


class TestWorkedExample:
    def test_state_on_a_month_end(self):
        past = as_it_stood(book(), DAY)
        assert past.settings.as_of == DAY
        rows = past.prospects.set_index("id")
        # D did not exist yet; every other deal did.
        assert list(rows.index) == ["A", "B", "C", "E"]
        # A: won on 06-10, so open on 05-31 in its logged state, no close date.
        a = rows.loc["A"]
        assert (a["status"], a["stage"], a["amount"]) == ("open", "Proposal", 950.0)
        assert a["expected_close"] == pd.Timestamp(2026, 6, 15)
        assert pd.isna(a["closed"])
        assert a["last_activity"] == pd.Timestamp(2026, 5, 22)  # its latest activity by then
        # B: lost on 05-15, final state kept.
        b = rows.loc["B"]
        assert (b["status"], b["stage"], b["closed"]) == ("lost", "Lost", pd.Timestamp(2026, 5, 15))
        # C: logged at Lead on 05-31 although a meeting on 05-27 is known: the log row is
        # dated after the meeting, so the log wins; its offer (06-12) is in the future.
        c = rows.loc["C"]
        assert (c["status"], c["stage"], c["amount"]) == ("open", "Lead", 400.0)
        assert c["last_activity"] == pd.Timestamp(2026, 5, 27)
        # E: the log's 05-31 row, override probability included.
        e = rows.loc["E"]
        assert (e["stage"], e["amount"], e["probability"]) == ("Negotiation", 700.0, 0.7)
        assert e["expected_close"] == pd.Timestamp(2026, 6, 30)
        assert pd.isna(e["last_activity"])  # its only activity is dated 06-12
        # The log and activities are cut at the day.
        assert (past.snapshots["snapshot_date"] <= pd.Timestamp(DAY)).all()
        assert (past.activities["date"] <= pd.Timestamp(DAY)).all()
        assert len(past.activities) == 5

    def test_between_snapshots_the_activities_move_a_deal_on(self):
        # On 05-28 C is in no snapshot yet: rebuilt from its own dates, at the first
        # stage, moved on by its 05-27 meeting to Qualified; A is at Qualified from the
        # 04-30 row, moved on by its 05-22 offer to Proposal.
        rows = as_it_stood(book(), date(2026, 5, 28)).prospects.set_index("id")
        assert rows.loc["C", "stage"] == "Qualified"
        assert rows.loc["C", "amount"] == 400.0  # today's amount: nothing older is known
        assert rows.loc["A", "stage"] == "Proposal"
        assert rows.loc["A", "amount"] == 1000.0  # the 04-30 row's

    def test_on_or_after_the_record_date_nothing_is_rebuilt(self):
        model = book()
        same = as_it_stood(model, date(2026, 6, 20))
        assert same is model
        later = as_it_stood(model, date(2026, 6, 30))
        assert later.prospects is model.prospects
        assert later.settings.as_of == date(2026, 6, 30)

    def test_refuses_a_date_before_any_data(self):
        with pytest.raises(InputError, match="nothing in the workbook is dated that early"):
            as_it_stood(book(), date(2026, 1, 1))

    def test_refuses_without_any_date(self):
        undated = prospects_frame([
            {"id": "X", "stage": "Won", "amount": 5.0, "closed": date(2026, 6, 1)},
            {"id": "Y", "stage": "Lead", "amount": 5.0},
        ])  # fmt: skip
        model = book(prospects=undated, snapshots=snapshots_frame([]))
        with pytest.raises(InputError, match="no snapshot and no deal with a creation date"):
            as_it_stood(model, date(2026, 5, 1))


@pytest.fixture(scope="module")
def sample() -> Model:
    data = generate(600, as_of=date(2026, 12, 7), seed=5)
    return validate(*(data.tables[t.sheet] for t in contract.DATA_TABLES), as_of=data.as_of)


class TestSample:
    def test_a_month_end_equals_the_logged_pipeline(self, sample):
        # The sample logs every deal at every month end: the rebuilt state on one is the
        # log's own latest row per deal, read here with plain pandas.
        day = pd.Timestamp(2026, 8, 31)
        past = as_it_stood(sample, day.date()).prospects.set_index("id").sort_index()
        log = sample.snapshots
        logged = log[log["snapshot_date"] <= day].groupby("id").tail(1).set_index("id")
        logged = logged.sort_index()
        assert list(past.index) == list(logged.index)
        for column in TRACKED:
            np.testing.assert_array_equal(
                past[column].to_numpy(), logged.loc[past.index, column].to_numpy(), column
            )

    def test_open_deals_agree_with_their_own_dates(self, sample):
        day = date(2026, 8, 14)
        past = as_it_stood(sample, day).prospects
        ts = pd.Timestamp(day)
        assert (past["created"] <= ts).all()
        closed = past["status"] != "open"
        assert (past.loc[closed, "closed"] <= ts).all()
        assert past.loc[~closed, "closed"].isna().all()


# A future-dated change of each kind the rebuild reads.
change_kinds = st.sampled_from(["new deal", "log row", "activity", "closed later"])


@settings(max_examples=30, deadline=None)
@given(kind=change_kinds, offset=st.integers(1, 60), pick=st.integers(0, 10_000))
def test_nothing_dated_after_the_day_changes_the_state(kind, offset, pick):
    model = book()
    later = pd.Timestamp(DAY + timedelta(days=offset))
    prospects, log, acts = model.prospects, model.snapshots, model.activities
    if kind == "new deal":
        extra = prospects_frame([
            {"id": "Z", "stage": "Negotiation", "amount": 1.0 + pick, "created": later.date(),
             "expected_close": later.date()},
        ])  # fmt: skip
        prospects = pd.concat([prospects, extra], ignore_index=True)
    elif kind == "log row":
        deal = ["A", "C", "E"][pick % 3]
        row = snapshots_frame([
            {"snapshot_date": later.date(), "id": deal, "stage": "Negotiation",
             "amount": float(pick), "expected_close": later.date()},
        ])  # fmt: skip
        log = pd.concat([log, row], ignore_index=True)
    elif kind == "activity":
        deal = ["A", "C", "E"][pick % 3]
        row = activities_frame([{"date": later.date(), "type": "Negotiation", "prospect_id": deal}])
        acts = pd.concat([acts, row], ignore_index=True)
    else:
        # E is lost some day after DAY instead of staying open.
        prospects = prospects.copy()
        e = prospects["id"] == "E"
        prospects.loc[e, ["stage", "status", "stage_idx"]] = ["Lost", "lost", -1]
        prospects.loc[e, "closed"] = later
    changed = book(prospects=prospects, snapshots=log, activities=acts)
    a = as_it_stood(book(), DAY).prospects.reset_index(drop=True)
    b = as_it_stood(changed, DAY).prospects.reset_index(drop=True)
    columns = [*TRACKED, "closed", "created", "last_activity", "reached_idx"]
    pd.testing.assert_frame_equal(a[["id", *columns]], b[["id", *columns]])
