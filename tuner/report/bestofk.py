"""Best-of-k: how good a method is when it is tuned with a budget of k trials.

Tuning with k trials keeps the best of k configurations. Treating the ``n``
trials a study ran with a method as the population to draw from, the expected
best of ``k`` draws without replacement has a closed form. With the scores
sorted ascending, ``v_(1) <= ... <= v_(n)``, the best of a draw is ``v_(i)``
exactly when ``v_(i)`` is drawn and the other ``k - 1`` draws come from the
``i - 1`` scores below it, so::

    E[max of k] = sum_i v_(i) * C(i - 1, k - 1) / C(n, k)

(Sivaprasad et al., "Optimizer benchmarking needs to account for
hyperparameter tuning", ICML 2020). A bootstrap over the ``n`` scores gives its
uncertainty. Two ways compare methods at one ``k`` (the verdict's,
:mod:`tuner.report.verdict`, which cites their sources): the bootstrap
probability that each is best (:func:`probability_best`), and a permutation
test of two methods' difference (:func:`permutation_p_value`). Scores are
"greater is better" here; negate them for a study that minimizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import gammaln

__all__ = [
    "MIN_DRAWS",
    "N_BOOT",
    "N_PERM",
    "best_of_k_curve",
    "best_of_k_interval",
    "best_of_k_weights",
    "expected_best_of_k",
    "permutation_p_value",
    "probability_best",
]

#: Bootstrap resamples; enough for stable 95% percentile intervals.
N_BOOT = 1000
#: Two-sided level of the bootstrap intervals.
LEVEL = 0.95
#: Monte Carlo relabellings of a permutation test.
N_PERM = 1999
#: Fewest draws for a bootstrap interval or a comparison: resamples of one or
#: two scores take so few distinct values that their interval says nothing.
MIN_DRAWS = 3


def best_of_k_weights(n: int, k: int) -> np.ndarray:
    """Probability that the ``i``-th smallest of ``n`` scores is the best of ``k`` draws.

    Parameters
    ----------
    n : int
        Number of scores drawn from (``n >= 1``).
    k : int
        Number of draws without replacement (``1 <= k <= n``).

    Returns
    -------
    ndarray of shape (n,)
        ``C(i - 1, k - 1) / C(n, k)`` for ``i = 1..n``; zero below ``i = k``; sums to 1.
    """
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n={n}], got k={k}")
    i = np.arange(k, n + 1)
    # In log space: C(n, k) overflows a float from n ~ 1030 on.
    log_c = _log_comb(i - 1, k - 1) - _log_comb(np.array(n), k)
    weights = np.zeros(n)
    weights[k - 1 :] = np.exp(log_c)
    return weights / weights.sum()  # removes the rounding of the logs


def _log_comb(n: np.ndarray, k: int) -> np.ndarray:
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def expected_best_of_k(scores: np.ndarray, k: int) -> float:
    """Expected best of ``k`` scores drawn without replacement from ``scores`` (exact).

    Parameters
    ----------
    scores : array-like of float
        Finite scores, greater is better.
    k : int
        Tuning budget, ``1 <= k <= len(scores)``.
    """
    values = np.sort(np.asarray(scores, dtype=float))
    return float(values @ best_of_k_weights(len(values), k))


def best_of_k_interval(
    scores: np.ndarray, k: int, n_boot: int = N_BOOT, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval (95%) of :func:`expected_best_of_k`.

    The ``n`` scores are resampled with replacement ``n_boot`` times with a
    fixed seed, so the same scores always give the same interval.
    """
    low, high = _bootstrap(np.asarray(scores, dtype=float), [k], n_boot, seed)
    return float(low[0]), float(high[0])


def best_of_k_curve(
    scores: np.ndarray, n_boot: int = N_BOOT, seed: int = 0, points: int = 50
) -> np.ndarray:
    """Expected best of k and its 95% bootstrap interval for budgets ``k`` from 1 to ``n``.

    Every ``k`` when ``n <= points``; else ``points`` budgets spaced evenly on a
    log scale (the cost grows with ``n`` times the number of budgets).

    Returns
    -------
    ndarray of shape (number of budgets, 4)
        Columns ``k``, expected best, interval low, interval high.
    """
    values = np.sort(np.asarray(scores, dtype=float))
    n = len(values)
    grid = np.arange(1, n + 1) if n <= points else np.geomspace(1, n, points)
    ks = np.unique(np.rint(grid).astype(int)).tolist()
    estimate = [values @ best_of_k_weights(n, k) for k in ks]
    low, high = _bootstrap(values, ks, n_boot, seed)
    return np.column_stack([ks, estimate, low, high])


def _bootstrap(
    scores: np.ndarray, ks: list[int], n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Interval ends of the expected best of each ``k`` over bootstrap resamples."""
    n = len(scores)
    rng = np.random.default_rng(seed)
    samples = np.sort(rng.choice(scores, size=(n_boot, n), replace=True), axis=1)
    # Every resample has n scores, so one weight matrix serves them all.
    weights = np.stack([best_of_k_weights(n, k) for k in ks], axis=1)
    estimates = samples @ weights  # (n_boot, len(ks))
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail], axis=0)
    return low, high


def probability_best(
    draws: Mapping[str, np.ndarray], k: int, n_boot: int = N_BOOT, seed: int = 0
) -> dict[str, float]:
    """Bootstrap probability that each optimizer has the largest expected best of ``k``.

    Each optimizer's draws are resampled with replacement ``n_boot`` times
    (one random stream seeded with ``seed``, taken in the order of ``draws``);
    ties for the best share the resample evenly, so the values sum to 1.

    Parameters
    ----------
    draws : mapping
        Optimizer -> its draws (greater is better), each at least ``k`` long.
    k : int
        The budget of the expected best.
    n_boot, seed : int
        Resamples and their seed.

    Returns
    -------
    dict
        Optimizer -> probability of being best.
    """
    rng = np.random.default_rng(seed)
    columns = []
    for scores in draws.values():
        samples = np.sort(rng.choice(scores, size=(n_boot, len(scores))), axis=1)
        columns.append(samples @ best_of_k_weights(len(scores), k))
    estimates = np.column_stack(columns)  # (n_boot, optimizers)
    top = estimates.max(axis=1, keepdims=True)
    best = estimates >= top - _tolerance(estimates)
    shares = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    return {name: float(s) for name, s in zip(draws, shares)}


def permutation_p_value(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    k: int,
    n_perm: int = N_PERM,
    seed: int | Sequence[int] = 0,
) -> float:
    """Two-sided Monte Carlo permutation p-value of ``|E_k(a) - E_k(b)|``.

    Tests that ``a`` and ``b`` come from one distribution: the pooled draws
    are split at random into groups of ``len(a)`` and ``len(b)``, ``n_perm``
    times with a fixed seed, and the p-value is ``(1 + number of splits whose
    statistic reaches the observed one) / (1 + n_perm)``.

    Parameters
    ----------
    a, b : array-like of float
        The two optimizers' draws, each at least ``k`` long.
    k : int
        The budget of the expected best.
    n_perm : int
        Random splits.
    seed : int or sequence of int
        Seed of the splits (anything :func:`numpy.random.default_rng` takes).

    Returns
    -------
    float
        The p-value, in ``[1 / (1 + n_perm), 1]``.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    w_a, w_b = best_of_k_weights(len(a), k), best_of_k_weights(len(b), k)
    observed = abs(np.sort(a) @ w_a - np.sort(b) @ w_b)
    pooled = np.sort(np.concatenate([a, b]))
    rng = np.random.default_rng(seed)
    # A random split per row; as ``pooled`` is sorted, sorted positions give sorted groups.
    positions = np.argsort(rng.random((n_perm, len(pooled))), axis=1)
    group_a = pooled[np.sort(positions[:, : len(a)], axis=1)]
    group_b = pooled[np.sort(positions[:, len(a) :], axis=1)]
    statistics = np.abs(group_a @ w_a - group_b @ w_b)
    # The tolerance keeps a split equal to the observed one (rounded differently) counted.
    reached = np.count_nonzero(statistics >= observed - _tolerance(pooled))
    return float((1 + reached) / (1 + n_perm))


def _tolerance(values: np.ndarray) -> float:
    return 1e-9 * float(np.abs(values).max(initial=0.0))
