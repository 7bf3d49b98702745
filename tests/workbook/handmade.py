"""A small hand-made company whose numbers are worked out by hand in the tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

AS_OF = date(2026, 3, 15)
HYPERLINK = '=HYPERLINK("http://example.com","x")'


def _ts(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text)


def hand_tables() -> dict[str, pd.DataFrame]:
    """Tables for as-of 2026-03-15 with default stages (conversions .25/.4/.625/.8).

    March: team target 500,000 (blank-owner row); won 4 x 25,000 = 100,000; weighted
    pipeline P6 180,000 x 0.5 (Proposal) + P10 40,000 x 0.25 (override, overdue so it
    lands in March) = 100,000; average won deal 5 x 25,000 / 5 = 25,000.
    Q1: team target 500,000 + 90,000 (January) = 590,000 (Alice's February row is not a
    team row and blank-owner rows exist); won 125,000 (P5 closed in January too); the
    same 100,000 weighted pipeline (P8 closes in May).
    """
    rows = [
        # id, name, company, owner, stage, amount, expected, prob, category, status, created, closed
        (
            "P1",
            "Ann Lee",
            "Alpha AG",
            "Alice Smith",
            "Won",
            25000.0,
            "2026-03-05",
            None,
            None,
            "Won",
            "2026-01-10",
            "2026-03-05",
        ),
        (
            "P2",
            "Ben Ode",
            "Beta SA",
            "Bob Jones",
            "Won",
            25000.0,
            "2026-03-06",
            None,
            None,
            "Won",
            "2026-01-11",
            "2026-03-06",
        ),
        (
            "P3",
            "Cy Park",
            "Gamma Ltd",
            "Alice Smith",
            "Won",
            25000.0,
            "2026-03-07",
            None,
            None,
            "Won",
            "2026-01-12",
            "2026-03-07",
        ),
        (
            "P4",
            "Di Moss",
            "Delta Oy",
            "Bob Jones",
            "Won",
            25000.0,
            "2026-03-10",
            None,
            None,
            "Won",
            "2026-01-13",
            "2026-03-10",
        ),
        (
            "P5",
            "Ed Ray",
            "Eps GmbH",
            "Alice Smith",
            "Won",
            25000.0,
            "2026-01-20",
            None,
            None,
            "Won",
            "2025-11-02",
            "2026-01-20",
        ),
        (
            "P6",
            "Flo Kim",
            "Zeta BV",
            "Alice Smith",
            "Proposal",
            180000.0,
            "2026-03-28",
            None,
            "Commit",
            "Open",
            "2026-02-01",
            None,
        ),
        (
            "P7",
            "Gus Hale",
            "Eta Inc.",
            "Bob Jones",
            "Lost",
            50000.0,
            "2026-02-10",
            None,
            None,
            "Lost",
            "2025-12-01",
            "2026-02-10",
        ),
        (
            "P8",
            "Hal Ng",
            "Theta SpA",
            "Bob Jones",
            "Lead",
            80000.0,
            "2026-05-10",
            None,
            None,
            "Open",
            "2026-03-01",
            None,
        ),
        (
            "P9",
            HYPERLINK,
            "Iota AB",
            "Bob Jones",
            "Negotiation",
            10000.0,
            "2026-04-20",
            None,
            "Omitted",
            "Open",
            "2026-02-15",
            None,
        ),
        (
            "P10",
            "+33 1 23 45",
            "-Minus Corp",
            "Alice Smith",
            "Qualified",
            40000.0,
            "2026-02-20",
            0.25,
            None,
            "Open",
            "2026-01-05",
            None,
        ),
        (
            "P11",
            "@Kay",
            "Kappa Sarl",
            "Bob Jones",
            "Lead",
            "12 000 €",
            "2026-03-20",
            None,
            None,
            "Open",
            "2026-03-02",
            None,
        ),
    ]
    prospects = pd.DataFrame(
        {
            "ID": [r[0] for r in rows],
            "Name": [r[1] for r in rows],
            "Company": [r[2] for r in rows],
            "Owner": [r[3] for r in rows],
            "Source": ["Website"] * len(rows),
            "Stage": [r[4] for r in rows],
            "Amount": pd.Series([r[5] for r in rows], dtype=object),
            "Expected close": [_ts(r[6]) for r in rows],
            "Probability": [r[7] for r in rows],
            "Category": [r[8] for r in rows],
            "Status": [r[9] for r in rows],
            "Created": [_ts(r[10]) for r in rows],
            "Closed": [_ts(r[11]) for r in rows],
            "Last activity": [_ts("2026-03-01")] * len(rows),
            "Stage reached": [None] * 6 + ["Qualified"] + [None] * 4,
        }
    )
    targets = pd.DataFrame(
        {
            "Period": ["2026-01", "2026-02", "2026-03", "2026-Q2"],
            "Owner": [None, "Alice Smith", None, None],
            "Revenue target": [90000.0, 70000.0, 500000.0, 700000.0],
            "Deals target": [4.0, 3.0, 20.0, None],
        }
    )
    activities = pd.DataFrame(
        {
            "Date": [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-03")],
            "Owner": ["Bob Jones", "Carla Diaz"],
            "Activity": ["Call", "Call"],
            "Prospect ID": ["P11", None],
            "Count": [1.0, 25.0],
        }
    )
    snapshots = pd.DataFrame(
        {
            "Snapshot date": [pd.Timestamp("2026-02-28")] * 2,
            "ID": ["P6", "P10"],
            "Owner": ["Alice Smith"] * 2,
            "Stage": ["Qualified", "Qualified"],
            "Status": ["Open", "Open"],
            "Amount": [180000.0, 40000.0],
            "Expected close": [pd.Timestamp("2026-03-28"), pd.Timestamp("2026-02-20")],
            "Probability": [None, 0.25],
        }
    )
    return {
        "Prospects": prospects,
        "Targets": targets,
        "Activities": activities,
        "Snapshots": snapshots,
    }
