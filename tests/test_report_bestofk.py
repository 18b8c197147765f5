"""Best-of-k: the closed form against hand computation and enumeration; the bootstrap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuner.report.bestofk import (
    best_of_k_curve,
    best_of_k_interval,
    best_of_k_weights,
    expected_best_of_k,
)

SCORES = [0.5, 0.9, 0.7, 0.6]  # sorted: 0.5, 0.6, 0.7, 0.9


def test_expected_best_of_two_matches_hand_computation():
    # C(4, 2) = 6 pairs; the best of a pair is v_(i) in C(i-1, 1) = i-1 of them:
    # 0.6 once, 0.7 twice, 0.9 three times.
    assert expected_best_of_k(SCORES, 2) == pytest.approx((0.6 + 2 * 0.7 + 3 * 0.9) / 6)


def test_expected_best_of_three_matches_hand_computation():
    # C(4, 3) = 4 triples; best 0.7 in C(2, 2) = 1, best 0.9 in C(3, 2) = 3.
    assert expected_best_of_k(SCORES, 3) == pytest.approx((0.7 + 3 * 0.9) / 4)


def test_best_of_one_is_the_mean_and_best_of_all_is_the_max():
    assert expected_best_of_k(SCORES, 1) == pytest.approx(np.mean(SCORES))
    assert expected_best_of_k(SCORES, len(SCORES)) == pytest.approx(max(SCORES))


@given(
    st.lists(st.floats(-10, 10), min_size=1, max_size=8),
    st.integers(1, 8),
)
def test_closed_form_equals_enumerating_every_draw(scores, k):
    k = min(k, len(scores))
    draws = list(itertools.combinations(scores, k))
    exact = sum(max(d) for d in draws) / len(draws)
    assert expected_best_of_k(scores, k) == pytest.approx(exact, abs=1e-9)


def test_weights_are_a_distribution_without_overflow_for_large_n():
    weights = best_of_k_weights(5000, 2500)  # C(5000, 2500) overflows a float
    assert np.all(np.isfinite(weights)) and weights.sum() == pytest.approx(1.0)
    assert np.all(weights[:2499] == 0)


def test_weights_match_binomial_coefficients():
    n, k = 7, 3
    expected = [math.comb(i - 1, k - 1) / math.comb(n, k) for i in range(1, n + 1)]
    assert best_of_k_weights(n, k) == pytest.approx(expected)


@pytest.mark.parametrize("k", [0, 5])
def test_budget_outside_the_trials_is_refused(k):
    with pytest.raises(ValueError, match="k must be in"):
        best_of_k_weights(4, k)


def test_interval_is_reproducible_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    scores = rng.normal(0.8, 0.05, size=30)
    low, high = best_of_k_interval(scores, 5)
    assert (low, high) == best_of_k_interval(scores, 5)
    assert low < expected_best_of_k(scores, 5) < high


def test_curve_rises_with_the_budget_and_ends_at_the_max():
    scores = np.array([0.2, 0.9, 0.4, 0.7, 0.5])
    curve = best_of_k_curve(scores, n_boot=200)
    assert curve[:, 0].tolist() == [1, 2, 3, 4, 5]
    assert np.all(np.diff(curve[:, 1]) > 0)
    assert curve[-1, 1] == pytest.approx(0.9)
    assert np.all(curve[:, 2] <= curve[:, 1] + 1e-12) and np.all(curve[:, 1] <= curve[:, 3] + 1e-12)


def test_curve_of_many_trials_uses_log_spaced_budgets():
    scores = np.random.default_rng(0).uniform(size=3000)
    curve = best_of_k_curve(scores, n_boot=50, points=30)
    assert curve[0, 0] == 1 and curve[-1, 0] == 3000 and len(curve) <= 30
    assert curve[-1, 1] == pytest.approx(scores.max())
