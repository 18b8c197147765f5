"""The verdict: which optimizer is best at an equal tuning budget, and how sure that is.

Draws
    Every finished trial of an optimizer is one draw of its tuning budget, scored
    as in the summary (:func:`tuner.report.summary.draw_scores`: greater is
    better, the sign flipped for a study that minimizes).

Budget
    Optimizers are compared at one budget ``k``, by default the smallest number
    of finished trials among them (the largest budget every one of them really
    spent, as in :func:`~tuner.report.summary.summary_table`), through
    ``E_k(o)``, the expected best of ``k`` draws without replacement from
    optimizer ``o``'s draws (:func:`~tuner.report.bestofk.expected_best_of_k`;
    Sivaprasad et al., "Optimizer benchmarking needs to account for
    hyperparameter tuning", ICML 2020).

Probability of being best
    A bootstrap (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993):
    each optimizer's draws are resampled with replacement ``n_boot`` times
    with a fixed seed; ``prob_best[o]`` is the share of resamples in which
    ``o`` has the largest ``E_k`` (ties shared evenly). It ranks the
    optimizers but cannot decide alone: at ``k`` close to ``n``, ``E_k`` is
    close to the sample maximum, for which the bootstrap is inconsistent
    (Bickel & Freedman, Ann. Statist. 9, 1981; Andrews, Econometrica 68,
    2000). In simulation (three optimizers with ``n`` equally distributed,
    skewed draws each, ``k = n``), "prob_best >= 0.95" alone named a leader
    in 7-12% of the studies.

Permutation tests
    For the leader and each other optimizer ``o``, a two-sided permutation
    test of "the two sets of draws come from one distribution" (Good,
    "Permutation, Parametric and Bootstrap Tests of Hypotheses", 2005; Ernst,
    "Permutation methods: a basis for exact inference", Statist. Sci. 19,
    2004). Statistic: ``|E_k(leader) - E_k(o)|``. The pooled draws are
    relabelled at random ``n_perm`` times, group sizes kept, and
    ``p = (1 + #{relabelled statistic >= observed}) / (1 + n_perm)``
    (Phipson & Smyth, "Permutation p-values should never be zero", 2010):
    a valid p-value for any number of relabellings.

The rule
    An optimizer with fewer than :data:`MIN_DRAWS` finished trials, or with no
    completed trial, is never the leader. The leader is the eligible optimizer
    with the largest ``prob_best`` (ties: the larger ``E_k``, then the study's
    order of optimizers); ``None`` when none is eligible. The verdict is
    *decided* when every optimizer compared has at least ``MIN_DRAWS``
    finished trials, ``prob_best[leader] >= confidence``, and every
    permutation test of the leader against another optimizer rejects at level
    ``1 - confidence``. Otherwise it is undecided, and still names the leader.

On the test split
    When the study has final fits (:mod:`tuner.final`: each optimizer's best
    configuration refit with training seeds ``0..seeds-1`` on the training
    part and scored on the held-out test split), the verdict also says
    whether the leader's lead there is larger than the training-seed noise.
    For the leader (the optimizer with the best mean test score when the
    leader above has none) and each other optimizer ``o``, Welch's t-test
    (B. L. Welch, "The generalization of 'Student's' problem when several
    different population variances are involved", Biometrika 34, 1947;
    ``scipy.stats.ttest_ind(equal_var=False)``) tests, two-sided, that the
    two sets of seed scores have one mean, without assuming equal variances.
    The lead is *larger than the seed noise* when the leader's mean test
    score is ahead of every other optimizer's and every test rejects at level
    ``1 - confidence``; it is not when another optimizer's mean is as good or
    a test does not reject; it is unknown (``None``) when an optimizer has
    fewer than two scored seeds (two sets of scores without any spread count
    as told apart exactly when they differ). This assumes the seed scores of
    an optimizer are independent and roughly normal; with 5 seeds the test
    has little power, so "within the seed noise" means "not shown", not
    "equal". It says nothing about ``decided``, which the rule above alone
    sets: the test split checks the search's answer on data the search never
    saw, at the chosen configurations only.

What "decided" means, and what it assumes
    Decided: on this study's data (its search space, estimator, data set and
    budget ``k``), the leader's draws are told apart from every other
    optimizer's at the stated confidence, and the leader is ahead. When two
    optimizers are equal and best, the rule decides with probability at most
    ``1 - confidence`` (the two-sided test between them must reject). When
    more are equal it needs several tests to reject at once; in simulation,
    three equal optimizers gave a decided verdict in under 1% of the studies
    (``tests/bench/bench_report_verdict.py`` measures it). The tests assume
    that the draws of an optimizer are exchangeable. An adaptive sampler
    such as TPE makes a trial depend on the earlier ones, so draws are not
    strictly independent: studies give every optimizer an equal budget and
    condition the sampler per optimizer so that the draws of each stay alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .bestofk import (
    MIN_DRAWS,
    N_BOOT,
    N_PERM,
    best_of_k_weights,
    permutation_p_value,
    probability_best,
)
from .heldout import compare_test_scores
from .summary import draw_scores, finished
from .verdict_text import _NO_OPTIMIZER, _NO_TRIAL, _reason, _trials

__all__ = [
    "CONFIDENCE",
    "Verdict",
    "check_budget",
    "check_confidence",
    "compare_draws",
    "compute_verdict",
    "with_test_scores",
]

#: Default confidence of a decided verdict.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Verdict:
    """Which optimizer is best at an equal budget, and whether that is decided.

    Attributes
    ----------
    leader : str or None
        The eligible optimizer most often best over bootstrap resamples; None
        when no optimizer is eligible or there is nothing to compare.
    decided : bool
        True only when the leader is ahead at ``confidence`` (see the module docstring).
    confidence : float
        Confidence of the decision; the tests reject at ``1 - confidence``.
    k : int or None
        The equal budget per optimizer; None when there is nothing to compare.
    prob_best : dict
        Optimizer -> bootstrap probability of being best at budget ``k``.
    reason : str
        The verdict in words: one sentence, then one about the test split
        when the study has final fits (no final full stop).
    p_values : dict
        Optimizer -> p-value of the permutation test of the leader against it.
    too_few : tuple of str
        Optimizers with fewer finished trials than the comparison needs.
    trials : dict
        Optimizer -> number of finished trials (its draws).
    best_of_k : dict
        Optimizer -> expected best score of ``k`` trials, in the study's direction.
    n_boot, n_perm, seed : int
        Bootstrap resamples, permutations and their seed.
    test : dict
        Optimizer -> its final fits' test scores: ``mean``, ``std`` (ddof 1),
        ``n`` (fits that scored) and ``failed``; empty without final fits.
    test_leader : str or None
        The optimizer whose test scores are compared with the others'.
    test_p_values : dict
        Optimizer -> p-value of Welch's t-test of ``test_leader`` against it.
    test_lead_beyond_noise : bool or None
        Whether ``test_leader``'s lead on the test split is larger than the
        training-seed noise (see the module docstring); None when unknown.
    """

    leader: str | None
    decided: bool
    confidence: float = CONFIDENCE
    k: int | None = None
    prob_best: dict[str, float] = field(default_factory=dict)
    reason: str = _NO_TRIAL
    p_values: dict[str, float] = field(default_factory=dict)
    too_few: tuple[str, ...] = ()
    trials: dict[str, int] = field(default_factory=dict)
    best_of_k: dict[str, float] = field(default_factory=dict)
    n_boot: int = N_BOOT
    n_perm: int = N_PERM
    seed: int = 0
    test: dict[str, dict[str, float | int]] = field(default_factory=dict)
    test_leader: str | None = None
    test_p_values: dict[str, float] = field(default_factory=dict)
    test_lead_beyond_noise: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready plain data (the content of ``verdict.json``).

        A number that is not finite (a best of k of infinite scores, a
        p-value that could not be computed) is None, so that the data is strict JSON.
        """
        return _json_ready({
            "leader": self.leader,
            "decided": self.decided,
            "confidence": self.confidence,
            "k": self.k,
            "prob_best": self.prob_best,
            "reason": self.reason,
            "p_values": self.p_values,
            "too_few": list(self.too_few),
            "trials": self.trials,
            "best_of_k": self.best_of_k,
            "n_boot": self.n_boot,
            "n_perm": self.n_perm,
            "seed": self.seed,
            "test": self.test,
            "test_leader": self.test_leader,
            "test_p_values": self.test_p_values,
            "test_lead_beyond_noise": self.test_lead_beyond_noise,
        })  # fmt: skip


def check_budget(k: int | None) -> int | None:
    """``k``, a number of trials per optimizer (None: the default), or a ``ValueError``."""
    if k is not None and k < 1:
        raise ValueError(f"k must be a positive number of trials, got {k}")
    return k


def check_confidence(confidence: Any, source: str = "confidence") -> float:
    """``confidence`` as a float in (0, 1), or a ``ValueError`` naming ``source``."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ValueError(f"{source} must be a number between 0 and 1, got {confidence!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"{source} must be between 0 and 1 (exclusive), got {confidence!r}")
    return float(confidence)


def compute_verdict(
    trials: pd.DataFrame,
    *,
    maximize: bool,
    k: int | None = None,
    confidence: float = CONFIDENCE,
    n_boot: int = N_BOOT,
    n_perm: int = N_PERM,
    seed: int = 0,
    final: pd.DataFrame | None = None,
) -> Verdict:
    """The verdict of a study's trials table: the optimizer ahead at an equal budget, if any.

    Parameters
    ----------
    trials : DataFrame
        A trials table (:func:`tuner.report.tables.trials_table`).
    maximize : bool
        Whether greater scores are better (the study's direction).
    k : int, optional
        The equal budget; default the smallest number of finished trials of an optimizer.
    confidence : float, default=0.95
        Confidence of a decided verdict, in (0, 1).
    n_boot, n_perm, seed : int
        Bootstrap resamples, permutations per test, and their seed (fixed: the
        same trials give the same verdict).
    final : DataFrame, optional
        The study's final fits (:func:`tuner.report.heldout.final_table`):
        the verdict then also compares the leader's test scores with the
        others' (see the module docstring).

    Returns
    -------
    Verdict
    """
    verdict = _search_verdict(trials, maximize, k, confidence, n_boot, n_perm, seed)
    return verdict if final is None else with_test_scores(verdict, final, maximize)


def with_test_scores(verdict: Verdict, final: pd.DataFrame, maximize: bool = True) -> Verdict:
    """``verdict`` with the comparison of the final fits' test scores, and its sentence."""
    comparison = compare_test_scores(
        final, verdict.leader, maximize=maximize, confidence=verdict.confidence
    )
    if comparison is None:
        return verdict
    return replace(
        verdict,
        reason=f"{verdict.reason}. {comparison.sentence}",
        test=comparison.statistics,
        test_leader=comparison.leader,
        test_p_values=comparison.p_values,
        test_lead_beyond_noise=comparison.beyond_noise,
    )


def _search_verdict(
    trials: pd.DataFrame, maximize: bool, k: int | None, confidence: float, n_boot: int,
    n_perm: int, seed: int,
) -> Verdict:  # fmt: skip
    confidence = check_confidence(confidence)
    done = finished(trials)
    settings = {"confidence": confidence, "n_boot": n_boot, "n_perm": n_perm, "seed": seed}
    if not len(done):
        return Verdict(None, False, reason=_NO_TRIAL, **settings)
    done = done.assign(_score=draw_scores(trials, maximize))
    groups = []
    if "optimizer" in done.columns:  # a study of another program may choose none
        by_optimizer = done.groupby("optimizer", observed=True, sort=True)
        groups = [(str(name), g) for name, g in by_optimizer]
    verdict = compare_draws(
        {name: g["_score"].to_numpy(dtype=float) for name, g in groups},
        completed={name for name, g in groups if (g["outcome"] == "complete").any()},
        k=k,
        **settings,
    )
    sign = 1.0 if maximize else -1.0
    return replace(verdict, best_of_k={o: sign * v for o, v in verdict.best_of_k.items()})


def compare_draws(
    draws: Mapping[str, Sequence[float] | np.ndarray],
    *,
    completed: Sequence[str] | set[str] | None = None,
    k: int | None = None,
    confidence: float = CONFIDENCE,
    n_boot: int = N_BOOT,
    n_perm: int = N_PERM,
    seed: int = 0,
) -> Verdict:
    """The verdict of each optimizer's draws (greater is better), by the rule of the module.

    Parameters
    ----------
    draws : mapping
        Optimizer -> its draws, in the order to list them.
    completed : collection of str, optional
        Optimizers with at least one completed trial (the others cannot lead);
        default all of them.
    k, confidence, n_boot, n_perm, seed
        As in :func:`compute_verdict`.

    Returns
    -------
    Verdict
        ``best_of_k`` in the draws' scale (greater is better).
    """
    confidence = check_confidence(confidence)
    check_budget(k)
    settings = {"confidence": confidence, "n_boot": n_boot, "n_perm": n_perm, "seed": seed}
    arrays = {name: np.asarray(d, dtype=float) for name, d in draws.items() if len(d)}
    counts = {name: len(d) for name, d in arrays.items()}
    if len(arrays) < 2:
        reason = _NO_OPTIMIZER
        if arrays:
            ((name, n),) = counts.items()
            reason = f"Only {name} ran ({_trials(n)}): no other optimizer to compare it with"
        return Verdict(None, False, reason=reason, trials=counts, **settings)
    pooled = np.concatenate(list(arrays.values()))
    if np.isnan(pooled).all():  # draw_scores: no trial reported a score
        return Verdict(None, False, reason="No trial reported a score yet", trials=counts,
                       **settings)  # fmt: skip
    finite = pooled[np.isfinite(pooled)]
    if len(finite) < len(pooled):  # an infinite score (another program's study) only ranks
        low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 0.0)
        arrays = {o: np.nan_to_num(d, nan=low, posinf=high, neginf=low) for o, d in arrays.items()}
    completed = set(arrays) if completed is None else set(completed)
    budget = k if k is not None else min(counts.values())
    needed = max(MIN_DRAWS, budget)
    too_few = tuple(name for name, n in counts.items() if n < needed)
    ranked = {name: d for name, d in arrays.items() if len(d) >= budget}
    best_of_k = {name: float(np.sort(d) @ best_of_k_weights(len(d), budget))
                 for name, d in ranked.items()}  # fmt: skip
    prob = probability_best(ranked, budget, n_boot, seed) if ranked else {}
    order = list(arrays)
    eligible = [o for o in ranked if counts[o] >= MIN_DRAWS and o in completed]
    leader = max(eligible, key=lambda o: (prob[o], best_of_k[o], -order.index(o)), default=None)
    p_values = {}
    if leader is not None:
        for i, other in enumerate(ranked):
            if other != leader:
                p_values[other] = permutation_p_value(
                    ranked[leader], ranked[other], budget, n_perm, seed=(seed, 1 + i)
                )
    alpha = 1 - confidence
    decided = bool(
        leader is not None and not too_few and prob[leader] >= confidence
        and all(p <= alpha for p in p_values.values())
    )  # fmt: skip
    verdict = Verdict(
        leader, decided, k=budget, prob_best=prob, p_values=p_values, too_few=too_few,
        trials=counts, best_of_k=best_of_k, **settings,
    )  # fmt: skip
    return replace(verdict, reason=_reason(verdict, needed, completed))


def _json_ready(value: Any) -> Any:
    """``value`` with every float that is not finite replaced by None, and NumPy scalars
    by Python ones, in lists and dicts too."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping):
        return {key: _json_ready(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
