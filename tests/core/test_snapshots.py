"""The Snapshots change log: rebuilding states, recording a day, movement between dates."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.errors import InputError
from pipeline_xl.core.model import (
    SNAPSHOT_COLUMNS,
    default_stages,
    prospects_frame,
    snapshots_frame,
)
from pipeline_xl.core.periods import period_of
from pipeline_xl.core.snapshots import (
    CHANGES,
    compact_log,
    fit_log,
    movement,
    movement_summary,
    pipeline_as_of,
    record_snapshot,
    snapshot_changes,
    snapshot_dates,
)

STAGES = default_stages()  # Lead, Qualified, Proposal, Negotiation (+ Won, Lost)
TRACKED = ["id", "owner", "stage", "stage_idx", "status", "amount", "expected_close", "probability"]


def row(day, id_, stage, amount, close, owner="Ann"):  # noqa: PLR0917 - table rows
    return {
        "snapshot_date": day,
        "id": id_,
        "stage": stage,
        "amount": amount,
        "expected_close": close,
        "owner": owner,
    }


def hand_log():
    """Nine deals over five weekly snapshots; every movement category happens once or twice."""
    return snapshots_frame(
        [
            row("2026-01-05", "A", "Lead", 100.0, "2026-02-15"),
            row("2026-01-05", "B", "Qualified", 200.0, "2026-02-20"),
            row("2026-01-05", "C", "Proposal", 300.0, "2026-03-10"),
            row("2026-01-05", "D", "Negotiation", 400.0, "2026-02-28"),
            row("2026-01-05", "E", "Proposal", 500.0, "2026-02-10"),
            row("2026-01-05", "F", "Qualified", 600.0, "2026-03-05"),
            row("2026-01-05", "G", "Lead", 700.0, "2026-02-01"),
            row("2026-01-05", "J", "Lead", 900.0, "2026-02-10"),
            row("2026-01-12", "A", "Qualified", 100.0, "2026-02-15"),  # advanced
            row("2026-01-12", "B", "Qualified", 250.0, "2026-02-20"),  # amount only
            row("2026-01-19", "C", "Won", 350.0, "2026-03-10"),  # won (and amount)
            row("2026-01-19", "D", "Lost", 400.0, "2026-02-28"),  # lost
            row("2026-01-26", "E", "Proposal", 550.0, "2026-03-15"),  # pushed (and amount)
            row("2026-01-26", "F", "Lead", 600.0, "2026-03-05"),  # regressed
            row("2026-01-26", "H", "Lead", 800.0, "2026-04-01", owner="Bob"),  # new
            row("2026-01-26", "J", "Qualified", 900.0, "2026-03-10"),  # advanced and pushed
            row("2026-02-02", "G", "Lead", 700.0, "2026-01-25"),  # pulled in
            row("2026-02-02", "A", "Proposal", 150.0, "2026-02-15"),  # advanced again
        ],
        STAGES,
    )


def state_dict(frame):
    """id -> (stage, amount) for compact comparisons."""
    return {r.id: (r.stage, r.amount) for r in frame.itertuples()}


def prospects_like(state):
    """A prospects table holding exactly the deals of a rebuilt state."""
    records = [
        {
            "id": r.id,
            "owner": r.owner,
            "stage": r.stage,
            "amount": r.amount,
            "expected_close": r.expected_close,
            "probability": r.probability,
        }
        for r in state.itertuples()
    ]
    return prospects_frame(records, STAGES)


class TestPipelineAsOf:
    def test_latest_row_per_deal(self):
        state = pipeline_as_of(hand_log(), date(2026, 1, 12))
        assert state_dict(state) == {
            "A": ("Qualified", 100.0),
            "B": ("Qualified", 250.0),
            "C": ("Proposal", 300.0),
            "D": ("Negotiation", 400.0),
            "E": ("Proposal", 500.0),
            "F": ("Qualified", 600.0),
            "G": ("Lead", 700.0),
            "J": ("Lead", 900.0),
        }
        by_id = state.set_index("id")
        assert by_id.loc["A", "snapshot_date"] == pd.Timestamp("2026-01-12")
        assert by_id.loc["G", "snapshot_date"] == pd.Timestamp("2026-01-05")

    def test_between_dates_and_before_the_first(self):
        log = hand_log()
        assert pipeline_as_of(log, date(2026, 1, 22)).equals(pipeline_as_of(log, date(2026, 1, 19)))
        assert pipeline_as_of(log, date(2026, 1, 4)).empty

    def test_final_state(self):
        state = pipeline_as_of(hand_log(), date(2026, 12, 31)).set_index("id")
        assert len(state) == 9
        assert state.loc["C", "status"] == "won"
        assert state.loc["D", "status"] == "lost"
        assert state.loc["A", ["stage", "amount"]].tolist() == ["Proposal", 150.0]

    def test_columns_and_dtypes_follow_the_model(self):
        state = pipeline_as_of(hand_log(), date(2026, 2, 2))
        assert list(state.columns) == list(SNAPSHOT_COLUMNS)
        assert state["stage_idx"].dtype == np.int64
        assert state["amount"].dtype == np.float64
        assert state["expected_close"].dtype == "datetime64[ns]"

    def test_same_date_twice_takes_the_later_row(self):
        log = snapshots_frame(
            [
                row("2026-01-05", "A", "Lead", 1.0, None),
                row("2026-01-05", "A", "Qualified", 2.0, None),
            ]
        )
        assert state_dict(pipeline_as_of(log, date(2026, 1, 5))) == {"A": ("Qualified", 2.0)}

    def test_rows_without_id_or_date_are_ignored(self):
        log = snapshots_frame(
            [row("2026-01-05", "", "Lead", 1.0, None), row(None, "B", "Lead", 1.0, None)]
        )
        assert pipeline_as_of(log, date(2026, 1, 5)).empty

    def test_snapshot_dates(self):
        assert snapshot_dates(hand_log()) == [
            date(2026, 1, 5),
            date(2026, 1, 12),
            date(2026, 1, 19),
            date(2026, 1, 26),
            date(2026, 2, 2),
        ]
        assert snapshot_dates(snapshots_frame([])) == []


class TestRecordSnapshot:
    def current(self):
        """The prospects as the final log state, then B's amount edited and K added."""
        state = pipeline_as_of(hand_log(), date(2026, 2, 2))
        prospects = prospects_like(state)
        prospects.loc[prospects["id"] == "B", "amount"] = 260.0
        extra = prospects_frame([{"id": "K", "stage": "Lead", "amount": 50.0}], STAGES)
        return pd.concat([prospects, extra], ignore_index=True)

    def test_adds_only_new_or_changed_deals(self):
        log = hand_log()
        changes = snapshot_changes(log, self.current(), date(2026, 2, 9), STAGES)
        assert state_dict(changes) == {"B": ("Qualified", 260.0), "K": ("Lead", 50.0)}
        assert (changes["snapshot_date"] == pd.Timestamp("2026-02-09")).all()
        new_log = record_snapshot(log, self.current(), date(2026, 2, 9), STAGES)
        assert len(new_log) == len(log) + 2
        assert new_log["row"].tolist() == list(range(2, len(log) + 4))
        assert new_log["snapshot_date"].is_monotonic_increasing

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("owner", "Bob"),
            ("stage", "Proposal"),
            ("amount", 201.0),
            ("expected_close", pd.Timestamp("2026-02-21")),
            ("probability", 0.3),
        ],
    )
    def test_each_tracked_field_counts_as_a_change(self, field, value):
        prospects = prospects_like(pipeline_as_of(hand_log(), date(2026, 2, 2)))
        b = prospects.index[prospects["id"] == "B"][0]
        prospects.loc[b, field] = value
        if field == "stage":
            prospects.loc[b, "stage_idx"] = 2
        changes = snapshot_changes(hand_log(), prospects, date(2026, 2, 9), STAGES)
        assert changes["id"].tolist() == ["B"]

    def test_nothing_changed_adds_nothing(self):
        log = hand_log()
        prospects = prospects_like(pipeline_as_of(log, date(2026, 2, 2)))
        assert snapshot_changes(log, prospects, date(2026, 2, 9), STAGES).empty
        assert record_snapshot(log, prospects, date(2026, 2, 9), STAGES)[TRACKED].equals(
            log[TRACKED]
        )

    def test_same_day_twice_is_the_same_as_once(self):
        once = record_snapshot(hand_log(), self.current(), date(2026, 2, 9), STAGES)
        twice = record_snapshot(once, self.current(), date(2026, 2, 9), STAGES)
        pd.testing.assert_frame_equal(once, twice)

    def test_recording_a_day_again_replaces_its_rows(self):
        first = record_snapshot(hand_log(), self.current(), date(2026, 2, 9), STAGES)
        edited = self.current()
        edited.loc[edited["id"] == "K", "amount"] = 75.0
        again = record_snapshot(first, edited, date(2026, 2, 9), STAGES)
        direct = record_snapshot(hand_log(), edited, date(2026, 2, 9), STAGES)
        pd.testing.assert_frame_equal(again, direct)
        assert (again["id"] == "K").sum() == 1

    def test_removed_deal_stays_as_last_seen(self):
        prospects = self.current()
        prospects = prospects.loc[prospects["id"] != "H"]
        new_log = record_snapshot(hand_log(), prospects, date(2026, 2, 9), STAGES)
        state = pipeline_as_of(new_log, date(2026, 2, 9)).set_index("id")
        assert state.loc["H", ["stage", "amount", "owner"]].tolist() == ["Lead", 800.0, "Bob"]

    def test_removed_deal_keeps_its_row_when_its_day_is_recorded_again(self):
        with_k = record_snapshot(hand_log(), self.current(), date(2026, 2, 9), STAGES)
        without_k = self.current().loc[lambda p: p["id"] != "K"]
        again = record_snapshot(with_k, without_k, date(2026, 2, 9), STAGES)
        assert state_dict(pipeline_as_of(again, date(2026, 2, 9)))["K"] == ("Lead", 50.0)

    def test_stage_names_take_the_stages_table_spelling(self):
        prospects = prospects_frame([{"id": "Z", "stage": "proposal", "amount": 1.0}], STAGES)
        log = record_snapshot(snapshots_frame([]), prospects, date(2026, 1, 1), STAGES)
        assert log["stage"].tolist() == ["Proposal"]
        assert log["row"].tolist() == [2]

    def test_deals_without_id_are_not_logged(self):
        prospects = prospects_frame([{"id": "", "stage": "Lead"}], STAGES)
        assert record_snapshot(snapshots_frame([]), prospects, date(2026, 1, 1), STAGES).empty

    def test_back_fill_keeps_every_later_state(self):
        log = hand_log()
        # On Jan 15 A was already at Proposal with 120 and G closed as lost.
        prospects = prospects_like(pipeline_as_of(log, date(2026, 1, 12)))
        prospects.loc[prospects["id"] == "A", ["stage", "stage_idx", "amount"]] = [
            "Proposal",
            2,
            120.0,
        ]
        prospects.loc[prospects["id"] == "G", ["stage", "stage_idx", "status"]] = [
            "Lost",
            -1,
            "lost",
        ]
        new_log = record_snapshot(log, prospects, date(2026, 1, 15), STAGES)
        assert state_dict(pipeline_as_of(new_log, date(2026, 1, 15)))["A"] == ("Proposal", 120.0)
        assert state_dict(pipeline_as_of(new_log, date(2026, 1, 15)))["G"] == ("Lost", 700.0)
        for day in snapshot_dates(log):
            pd.testing.assert_frame_equal(
                pipeline_as_of(new_log, day)[TRACKED], pipeline_as_of(log, day)[TRACKED]
            )
        # G had no row on Jan 19, so one is added there to restore its Lead state.
        restored = new_log.loc[(new_log["id"] == "G") & (new_log["snapshot_date"] == "2026-01-19")]
        assert restored["stage"].tolist() == ["Lead"]


class TestMovement:
    def test_each_category_on_a_hand_made_log(self):
        moves = movement(hand_log(), date(2026, 1, 5), date(2026, 2, 2))
        got = dict(zip(moves["id"], moves["change"], strict=True))
        assert got == {
            "H": "new",
            "C": "won",  # its amount changed too: won comes first
            "D": "lost",
            "A": "advanced",  # amount changed too
            "J": "advanced",  # pushed too
            "F": "regressed",
            "E": "pushed",  # February -> March; amount changed too
            "G": "pulled_in",  # February -> January
            "B": "amount_changed",
        }
        # Ordered by category, then id.
        assert moves["id"].tolist() == ["H", "C", "D", "A", "J", "F", "E", "G", "B"]

    def test_before_and_after_columns(self):
        moves = movement(hand_log(), date(2026, 1, 5), date(2026, 2, 2)).set_index("id")
        assert moves.loc["A", ["stage_before", "stage_after"]].tolist() == ["Lead", "Proposal"]
        assert moves.loc["A", ["amount_before", "amount_after", "amount_change"]].tolist() == [
            100.0,
            150.0,
            50.0,
        ]
        assert moves.loc["C", ["status_before", "status_after"]].tolist() == ["open", "won"]
        # A new deal has no before state and counts its whole amount as change.
        assert moves.loc["H", "stage_before"] == ""
        assert np.isnan(moves.loc["H", "amount_before"])
        assert moves.loc["H", "amount_change"] == 800.0
        assert moves.loc["E", "expected_close_before"] == pd.Timestamp("2026-02-10")
        assert moves.loc["E", "expected_close_after"] == pd.Timestamp("2026-03-15")

    def test_quarters_hide_moves_inside_a_quarter(self):
        moves = movement(hand_log(), date(2026, 1, 5), date(2026, 2, 2), "quarter")
        got = dict(zip(moves["id"], moves["change"], strict=True))
        assert got["E"] == "amount_changed"  # Feb 10 -> Mar 15: both in 2026-Q1
        assert "G" not in got  # Feb 1 -> Jan 25: same quarter, nothing else changed

    def test_fiscal_quarters(self):
        # Fiscal year starting in March: Dec-Feb is one quarter, Mar-May the next.
        moves = movement(hand_log(), date(2026, 1, 5), date(2026, 2, 2), "quarter", 3)
        got = dict(zip(moves["id"], moves["change"], strict=True))
        assert got["E"] == "pushed"  # Feb 10 (Dec-Feb) -> Mar 15 (Mar-May)
        assert "G" not in got

    def test_short_window(self):
        moves = movement(hand_log(), date(2026, 1, 12), date(2026, 1, 19))
        assert dict(zip(moves["id"], moves["change"], strict=True)) == {"C": "won", "D": "lost"}

    def test_prospects_as_end_state(self):
        log = hand_log()
        prospects = prospects_like(pipeline_as_of(log, date(2026, 2, 2)))
        prospects.loc[prospects["id"] == "B", ["stage", "stage_idx", "status"]] = [
            "Won",
            4,
            "won",
        ]
        prospects = prospects.loc[prospects["id"] != "H"]  # gone from the table: not listed
        moves = movement(log, date(2026, 2, 2), date(2026, 2, 9), prospects=prospects)
        assert dict(zip(moves["id"], moves["change"], strict=True)) == {"B": "won"}

    def test_end_before_start_is_an_input_error(self):
        with pytest.raises(InputError, match="ends before it starts"):
            movement(hand_log(), date(2026, 2, 2), date(2026, 1, 5))

    def test_summary(self):
        moves = movement(hand_log(), date(2026, 1, 5), date(2026, 2, 2))
        summary = movement_summary(moves).set_index("change")
        assert summary.index.tolist() == list(CHANGES)
        assert summary["count"].tolist() == [1, 1, 1, 2, 1, 1, 1, 1]
        # Amounts after the move: advanced A 150 + J 900; won C 350.
        assert summary.loc["advanced", "amount"] == 1050.0
        assert summary.loc["won", "amount"] == 350.0
        # Changes: new H +800; won C 300 -> 350 = +50; advanced A +50, J 0.
        assert summary.loc["new", "amount_change"] == 800.0
        assert summary.loc["won", "amount_change"] == 50.0
        assert summary.loc["advanced", "amount_change"] == 50.0

    def test_summary_of_nothing(self):
        moves = movement(hand_log(), date(2026, 1, 5), date(2026, 1, 5))
        assert moves.empty
        summary = movement_summary(moves)
        assert summary["count"].sum() == 0
        assert summary["amount"].sum() == 0.0


# --- property: recording a day and rebuilding it gives the prospects back -------------------

IDS = [f"D{i}" for i in range(8)]
STAGE_NAMES = [s.name for s in STAGES.all]
BASE_DAY = date(2026, 1, 1)
amounts = st.one_of(st.just(float("nan")), st.sampled_from([0.0, 100.0, 250.5, 1e6]))
closes = st.one_of(st.none(), st.integers(0, 120).map(lambda n: BASE_DAY + timedelta(days=n)))
probabilities = st.one_of(st.just(float("nan")), st.sampled_from([0.0, 0.25, 1.0]))


def deal_fields():
    return st.fixed_dictionaries(
        {
            "id": st.sampled_from(IDS),
            "owner": st.sampled_from(["Ann", "Bob", ""]),
            "stage": st.sampled_from(STAGE_NAMES),
            "amount": amounts,
            "expected_close": closes,
            "probability": probabilities,
        }
    )


log_rows = st.lists(
    st.tuples(st.integers(0, 4), deal_fields()).map(
        lambda t: {**t[1], "snapshot_date": BASE_DAY + timedelta(days=7 * t[0])}
    ),
    max_size=25,
)
prospect_rows = st.lists(deal_fields(), max_size=8, unique_by=lambda r: r["id"])


def same_states(got, expected):
    got = got[TRACKED].sort_values("id").reset_index(drop=True)
    expected = expected[TRACKED].sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


@settings(max_examples=50, deadline=None)
@given(log_rows, prospect_rows, st.integers(0, 35))
def test_record_then_rebuild_gives_the_prospects_back(rows, deals, offset):
    log = snapshots_frame(rows, STAGES)
    prospects = prospects_frame(deals, STAGES)
    day = BASE_DAY + timedelta(days=offset)
    new_log = record_snapshot(log, prospects, day, STAGES)

    state = pipeline_as_of(new_log, day)
    ids = set(prospects["id"])
    same_states(state.loc[state["id"].isin(ids)], prospects)
    # Deals missing from the prospects stay as they were seen on that day.
    old_state = pipeline_as_of(log, day)
    same_states(state.loc[~state["id"].isin(ids)], old_state.loc[~old_state["id"].isin(ids)])
    # Every other snapshot date rebuilds as before (for the deals known then).
    for other in snapshot_dates(log):
        if other == day:
            continue
        before = pipeline_as_of(log, other)
        after = pipeline_as_of(new_log, other)
        same_states(after.loc[after["id"].isin(before["id"])], before)
    # Recording the same day again changes nothing.
    pd.testing.assert_frame_equal(record_snapshot(new_log, prospects, day, STAGES), new_log)


# --------------------------------------------------------------------------- compaction

LONG_LOG = st.lists(
    st.tuples(st.integers(0, 730), deal_fields()).map(
        lambda t: {**t[1], "snapshot_date": BASE_DAY + timedelta(days=t[0])}
    ),
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(LONG_LOG, st.integers(0, 760), st.sampled_from(["month", "quarter"]), st.integers(1, 12))
def test_compaction_keeps_every_period_end_and_everything_since(rows, cut, kind, fiscal):
    """Rebuilding as of any period end, and any day from the cut's period on, is exact."""
    log = snapshots_frame(rows, STAGES)
    before = BASE_DAY + timedelta(days=cut)
    compact = compact_log(log, before, kind, fiscal)
    first = period_of(before, kind, fiscal).start
    days = {BASE_DAY + timedelta(days=n) for n in range(-1, 770, 23)}
    days |= {period_of(d, kind, fiscal).end - timedelta(days=1) for d in days}
    for day in sorted(days):
        if day < first and day != period_of(day, kind, fiscal).end - timedelta(days=1):
            continue  # inside an old period: forgotten on purpose
        same_states(pipeline_as_of(compact, day), pipeline_as_of(log, day))
    # Old history holds at most one row per deal and period; the rest is untouched.
    dates = pd.to_datetime(compact["snapshot_date"])
    old = compact.loc[dates < pd.Timestamp(first)]
    periods = [period_of(d.date(), kind, fiscal) for d in pd.to_datetime(old["snapshot_date"])]
    assert len(set(zip(old["id"], periods, strict=True))) == len(old)
    recent = log.loc[pd.to_datetime(log["snapshot_date"]) >= pd.Timestamp(first)]
    pd.testing.assert_frame_equal(
        compact.loc[dates >= pd.Timestamp(first)].reset_index(drop=True),
        recent.reset_index(drop=True),
    )
    assert len(compact_log(compact, before, kind, fiscal)) == len(compact)  # nothing more


def test_compaction_by_hand():
    log = hand_log()  # five weekly dates in January and February 2026
    compact = compact_log(log, date(2026, 2, 1), "month")
    # January: A, B, C, D, E, F, J changed there, each keeps its last January row; G and H
    # have one; the February rows are kept.
    assert len(compact) == 9 + 2
    assert state_dict(pipeline_as_of(compact, date(2026, 1, 31))) == state_dict(
        pipeline_as_of(log, date(2026, 1, 31))
    )
    assert state_dict(pipeline_as_of(compact, date(2026, 1, 12))) != state_dict(
        pipeline_as_of(log, date(2026, 1, 12))
    )  # inside January: forgotten


def test_fit_log_compacts_only_as_far_as_it_must():
    log = hand_log()  # 18 rows, nine deals, January and February 2026
    assert fit_log(log, date(2026, 3, 31), limit=18) == (log, None)
    # Every row is in the as-of quarter (Q1 2026), whose changes are all kept.
    assert fit_log(log, date(2026, 3, 31), limit=17) == (log, None)
    later, horizon = fit_log(log, date(2026, 4, 15), limit=17)  # Q1 is a past quarter now
    assert horizon == date(2026, 4, 1)  # a year or a quarter back would thin nothing
    assert len(later) == 9
    assert state_dict(pipeline_as_of(later, date(2026, 3, 31))) == state_dict(
        pipeline_as_of(log, date(2026, 3, 31))
    )
