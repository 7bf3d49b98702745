"""The Bernoulli kernel of one period: exact on worked cases, safe at the edges of p."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_xl.core.sampling import SPARSE_BELOW, bernoulli_totals


def test_certain_and_impossible_deals():
    totals = bernoulli_totals(
        np.random.default_rng(0), np.array([1.0, 0.0]), np.array([300.0, 50.0]), trials=7
    )
    assert totals.tolist() == [300.0] * 7


@pytest.mark.parametrize("p", [5e-324, 1e-300, 1e-18, 1e-10])
def test_vanishing_probabilities_end_and_win_nothing(p):
    # A gap between wins of 2**63 - 1 trials once overflowed the running sum into
    # negative positions: the loop never ended and memory grew without bound.
    totals = bernoulli_totals(np.random.default_rng(3), np.array([p]), np.array([9.0]), 500)
    assert totals.tolist() == [0.0] * 500


@settings(max_examples=40, deadline=None)
@given(
    p=st.floats(0.0, SPARSE_BELOW, exclude_max=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_sparse_wins_are_whole_amounts_within_trials(p, seed):
    totals = bernoulli_totals(np.random.default_rng(seed), np.array([p]), np.array([4.0]), 300)
    assert len(totals) == 300
    assert set(np.unique(totals).tolist()) <= {0.0, 4.0}  # one deal wins once per trial


def test_sparse_rate_matches_its_probability():
    p, trials = 0.01, 200_000
    totals = bernoulli_totals(np.random.default_rng(11), np.array([p]), np.array([1.0]), trials)
    # 6 standard deviations of a binomial count: a failure is not chance.
    assert abs(totals.sum() - p * trials) < 6 * np.sqrt(trials * p * (1 - p))
