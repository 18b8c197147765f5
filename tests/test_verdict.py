"""The verdict: calibrated among equal optimizers, decisive against a clearly worse one.

The rates are measured on many simulated studies with fixed seeds; each bound
leaves a margin over the rate expected for any seed (the simulation behind the
numbers: ``tests/bench/bench_report_verdict.py``).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import optuna
import pandas as pd
import pytest
from test_report_studies import make_study, make_trial

from tuner.report import Report, Verdict, compute_verdict
from tuner.report.bestofk import expected_best_of_k, permutation_p_value
from tuner.report.tables import trials_table
from tuner.report.verdict import compare_draws

REPLICATES = 200
N = 10


def _draws(shape: str, rng: np.random.Generator, n: int = N) -> np.ndarray:
    """Scores of one optimizer's ``n`` trials, from a distribution shaped like real ones."""
    if shape == "normal":
        return rng.normal(0.8, 0.05, n)
    if shape == "skewed":  # most trials near the ceiling, a long tail of bad ones
        return 1 - rng.gamma(0.7, 0.05, n)
    if shape == "discrete":  # accuracies on a small validation set: many ties
        return rng.binomial(60, 0.9, n) / 60
    raise ValueError(shape)


def _rate(make, seed: int) -> tuple[float, float]:
    """Shares of ``REPLICATES`` simulated studies decided, and decided for optimizer ``"a"``."""
    rng = np.random.default_rng(seed)
    verdicts = [compare_draws(make(rng), seed=seed) for _ in range(REPLICATES)]
    decided = np.mean([v.decided for v in verdicts])
    return float(decided), float(np.mean([v.decided and v.leader == "a" for v in verdicts]))


def _trials(rows: list[tuple[str, float, str]]) -> pd.DataFrame:
    """A trials table of (optimizer, score, outcome) rows; pruned ones carry a last score."""
    made = [
        make_trial(value=score, optimizer=name) if state == "complete"
        else make_trial(state, scores=[score], optimizer=name)
        for name, score, state in rows
    ]  # fmt: skip
    return trials_table(made)


# -- calibration: known truths on simulated studies ---------------------------------
@pytest.mark.parametrize("shape", ["normal", "skewed", "discrete"])
def test_equal_optimizers_are_rarely_decided(shape):
    # Three copies of one algorithm: a decided verdict is a false one.
    decided, _ = _rate(lambda rng: {o: _draws(shape, rng) for o in "abc"}, seed=1)
    assert decided <= 0.06, f"{shape}: {decided:.3f} of equal studies decided"


@pytest.mark.parametrize("shape", ["normal", "skewed", "discrete"])
def test_two_equal_best_and_one_worse_are_rarely_decided(shape):
    # The leader is one of two equal ones: deciding needs their two-sided test to reject.
    def make(rng):
        return {"a": _draws(shape, rng), "b": _draws(shape, rng), "c": _draws(shape, rng) - 0.1}

    decided, _ = _rate(make, seed=2)
    assert decided <= 0.08, f"{shape}: {decided:.3f} decided between two equal optimizers"


@pytest.mark.parametrize(
    ("shape", "shift", "power"),
    [("normal", 0.1, 0.55), ("skewed", 0.02, 0.5)],  # two standard deviations; 0.4 of one
)
def test_a_moderately_better_optimizer_is_found_at_ten_trials(shape, shift, power):
    def make(rng):
        return {"a": _draws(shape, rng) + shift, "b": _draws(shape, rng), "c": _draws(shape, rng)}

    _, found = _rate(make, seed=3)
    assert found >= power, f"{shape}: decided for the better optimizer in {found:.3f}"


@pytest.mark.parametrize("seed", [0, 1, 42, 2024])
def test_a_clearly_better_optimizer_is_decided_with_five_trials(seed):
    rng = np.random.default_rng(seed)
    draws = {"sgd": rng.uniform(0.5, 0.7, 5), "adam": rng.uniform(0.8, 0.9, 5),
             "momentum": rng.uniform(0.5, 0.7, 5)}  # fmt: skip
    verdict = compare_draws(draws, seed=seed)
    assert verdict.decided and verdict.leader == "adam" and verdict.k == 5
    assert verdict.prob_best["adam"] == 1.0
    # Only the two splits that keep adam's five draws together reach the observed gap.
    assert max(verdict.p_values.values()) <= 0.02
    assert verdict.reason.startswith("adam is the best optimizer at an equal budget of 5 trials")


def test_the_leader_is_the_eligible_optimizer_most_often_best():
    rng = np.random.default_rng(0)
    draws = {o: _draws("normal", rng) for o in "abc"}
    verdict = compare_draws(draws)
    assert verdict.leader == max(verdict.prob_best, key=verdict.prob_best.get)
    assert set(verdict.p_values) == set(draws) - {verdict.leader}


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_probabilities_of_being_best_sum_to_one(seed):
    rng = np.random.default_rng(seed)
    draws = {"a": _draws("discrete", rng, 6), "b": _draws("discrete", rng, 9),
             "c": np.full(4, 0.9), "d": _draws("normal", rng, 12)}  # fmt: skip
    prob = compare_draws(draws, seed=seed).prob_best
    assert set(prob) == set(draws) and math.isclose(sum(prob.values()), 1.0)
    assert all(0 <= p <= 1 for p in prob.values())


def test_identical_optimizers_share_the_probability_and_are_undecided():
    draws = {"a": [0.7, 0.8, 0.9], "b": [0.7, 0.8, 0.9]}
    verdict = compare_draws(draws)
    assert verdict.prob_best["a"] == pytest.approx(0.5, abs=0.1)  # resampled apart
    assert not verdict.decided and verdict.p_values == {"b": 1.0}


# -- who may lead ---------------------------------------------------------------------
@pytest.mark.parametrize("few", [1, 2])
def test_an_optimizer_with_one_or_two_trials_never_leads(few):
    rows = [("sgd", 0.99, "complete")] * few  # its few scores are the best of all
    rows += [("adam", s, "complete") for s in np.linspace(0.5, 0.6, 8)]
    rows += [("momentum", s, "complete") for s in np.linspace(0.1, 0.2, 8)]
    verdict = compute_verdict(_trials(rows), maximize=True)
    assert verdict.leader == "adam" and not verdict.decided
    assert verdict.too_few == ("sgd",) and verdict.k == few
    trials = "trial" if few == 1 else "trials"
    expected = f"Too few trials to compare: sgd has {few} finished {trials} (3 needed)"
    assert verdict.reason == expected


def test_an_optimizer_without_a_completed_trial_never_leads():
    rows = [("sgd", s, "pruned") for s in (0.97, 0.98, 0.99, 0.96)]  # pruned high, by last score
    rows += [("adam", s, "complete") for s in (0.5, 0.55, 0.6, 0.52)]
    rows += [("momentum", s, "complete") for s in (0.3, 0.35, 0.31, 0.33)]
    verdict = compute_verdict(_trials(rows), maximize=True)
    assert verdict.prob_best["sgd"] > 0.9 and verdict.leader == "adam"
    assert not verdict.decided
    assert "sgd completed no trial and cannot lead" in verdict.reason


def test_no_leader_when_no_optimizer_completed_a_trial():
    rows = [(o, s, "pruned") for o in ("sgd", "adam") for s in (0.2, 0.3, 0.4)]
    verdict = compute_verdict(_trials(rows), maximize=True)
    assert verdict.leader is None and not verdict.decided
    assert verdict.reason == "No optimizer to compare: none completed a trial"


def test_a_study_that_minimizes_leads_with_the_smallest_scores():
    rows = [("sgd", v, "complete") for v in (0.10, 0.12, 0.11, 0.13, 0.09)]
    rows += [("adam", v, "complete") for v in (0.50, 0.52, 0.55, 0.51, 0.53)]
    rows += [("momentum", v, "complete") for v in (0.60, 0.62, 0.65, 0.61, 0.63)]
    trials = _trials(rows)
    verdict = compute_verdict(trials, maximize=False)
    assert verdict.decided and verdict.leader == "sgd"
    assert verdict.best_of_k["sgd"] == pytest.approx(0.09)  # the best of all five, as a loss
    assert compute_verdict(trials, maximize=True).leader == "momentum"


def test_a_budget_larger_than_an_optimizers_trials_is_too_few():
    rows = [(o, s, "complete") for o in ("sgd", "adam") for s in np.linspace(0.1, 0.9, 6)]
    rows += [("momentum", s, "complete") for s in np.linspace(0.1, 0.9, 4)]
    verdict = compute_verdict(_trials(rows), maximize=True, k=5)
    assert verdict.k == 5 and not verdict.decided and verdict.too_few == ("momentum",)
    assert set(verdict.prob_best) == {"sgd", "adam"}
    assert verdict.reason.endswith("momentum has 4 finished trials (5 needed)")


# -- nothing to compare ---------------------------------------------------------------
def test_nothing_to_compare_says_so():
    assert compute_verdict(trials_table([]), maximize=True).reason == "No trial finished yet"
    running = compute_verdict(trials_table([make_trial("running")]), maximize=True)
    assert running.reason == "No trial finished yet"
    one = compute_verdict(_trials([("sgd", 0.5, "complete")] * 3), maximize=True)
    assert one.leader is None and one.k is None
    assert one.reason == "Only sgd ran (3 finished trials): no other optimizer to compare it with"
    failed = [make_trial("fail", optimizer=o) for o in ("sgd", "adam") for _ in range(3)]
    verdict = compute_verdict(trials_table(failed), maximize=True)
    assert verdict.leader is None and verdict.reason == "No trial reported a score yet"


def test_a_study_of_another_program_has_no_optimizer_to_compare():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=4)
    verdict = Report.from_study(study).verdict
    assert verdict.leader is None and verdict.reason == "No optimizer to compare"


# -- the sentence, determinism, JSON --------------------------------------------------
def test_an_undecided_sentence_lists_the_probabilities_best_first():
    rng = np.random.default_rng(4)
    verdict = compare_draws({o: _draws("normal", rng) for o in ("sgd", "momentum", "adam")})
    assert not verdict.decided
    head = "No optimizer is ahead at 95% confidence at an equal budget of 10 trials: "
    assert verdict.reason.startswith(head) and "(probability of being best)" in verdict.reason
    listed = verdict.reason[len(head) :].split(" (probability")[0].split(", ")
    names = [item.split(" ")[0] for item in listed]
    assert names == sorted(verdict.prob_best, key=lambda o: -verdict.prob_best[o])
    assert "\n" not in verdict.reason


def test_the_same_trials_give_the_same_verdict():
    rng = np.random.default_rng(5)
    rows = [(o, float(s), "complete") for o in ("sgd", "adam", "momentum")
            for s in _draws("skewed", rng, 7)]  # fmt: skip
    first = compute_verdict(_trials(rows), maximize=True)
    again = compute_verdict(_trials(rows), maximize=True)
    assert first == again and first.to_dict() == again.to_dict()
    other_seed = compute_verdict(_trials(rows), maximize=True, seed=1)
    assert other_seed.leader == first.leader  # a close call could differ; this one is not
    assert other_seed.prob_best != first.prob_best


def test_the_verdict_is_json_ready():
    verdict = compare_draws({"a": [0.1, 0.2, 0.3], "b": [0.5, 0.6, 0.7, 0.8]})
    data = verdict.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert list(data)[:6] == ["leader", "decided", "confidence", "k", "prob_best", "reason"]
    assert isinstance(verdict, Verdict)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.9", True])
def test_a_confidence_outside_zero_to_one_is_refused(confidence):
    with pytest.raises(ValueError, match="confidence must be"):
        compare_draws({"a": [1, 2, 3], "b": [1, 2, 3]}, confidence=confidence)


def test_the_report_takes_its_confidence_from_the_caller_then_the_study():
    trials = [make_trial(value=v, optimizer=o) for o in ("sgd", "adam") for v in (0.5, 0.6, 0.7)]
    assert Report.from_study(make_study(trials)).verdict.confidence == 0.95
    study = make_study(trials, confidence=0.9)
    assert Report.from_study(study).verdict.confidence == 0.9
    assert Report.from_study(study, confidence=0.99).verdict.confidence == 0.99
    with pytest.raises(ValueError, match=r"user attribute 'confidence'.*got 2"):
        Report.from_study(make_study(trials, confidence=2))
    with pytest.raises(ValueError, match=r"confidence must be between 0 and 1.*got 0"):
        Report.from_study(study, confidence=0)


def test_the_confidence_sets_how_small_the_p_values_must_be():
    rng = np.random.default_rng(6)
    draws = {"a": _draws("normal", rng) + 0.06, "b": _draws("normal", rng)}
    at_95, at_99 = compare_draws(draws), compare_draws(draws, confidence=0.99)
    assert at_95.p_values == at_99.p_values and 0.01 < at_95.p_values["b"] <= 0.05
    assert at_95.decided and not at_99.decided and at_99.leader == "a"
    p = at_95.p_values["b"]
    assert at_95.reason.endswith(f"ahead of b, permutation p <= {math.ceil(p * 1000) / 1000:g})")
    assert at_99.reason.startswith("No optimizer is ahead at 99% confidence")
    assert at_99.reason.endswith(f"a is not clearly ahead of b (permutation p = {p:.3g})")


# -- the permutation test -------------------------------------------------------------
def _exact_p_value(a: list[float], b: list[float], k: int) -> float:
    """The permutation p-value over every split of the pooled draws."""
    pooled = a + b

    def statistic(x, y):
        return abs(expected_best_of_k(x, k) - expected_best_of_k(y, k))

    observed = statistic(a, b)
    splits = list(itertools.combinations(range(len(pooled)), len(a)))
    reached = 0
    for chosen in splits:
        x = [pooled[i] for i in chosen]
        y = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        reached += statistic(x, y) >= observed - 1e-12
    return reached / len(splits)


@pytest.mark.parametrize(
    ("a", "b", "k"),
    [
        ([0.61, 0.74, 0.69, 0.8], [0.52, 0.66, 0.58, 0.71], 2),
        ([0.61, 0.74, 0.69, 0.8], [0.52, 0.66, 0.58, 0.71], 4),
        ([0.9, 0.9, 0.85, 0.95], [0.9, 0.8, 0.85, 0.8], 3),  # ties, as accuracies have
    ],
)
def test_the_permutation_p_value_matches_enumerating_all_70_splits(a, b, k):
    exact = _exact_p_value(a, b, k)
    n_perm = 19_999
    estimate = permutation_p_value(a, b, k, n_perm=n_perm, seed=0)
    error = 4 * math.sqrt(exact * (1 - exact) / n_perm) + 2 / n_perm  # four standard errors
    assert abs(estimate - exact) <= error, (estimate, exact)


def test_the_permutation_p_value_is_never_zero_and_repeats():
    a, b = [0.9, 0.95, 0.97], [0.1, 0.2, 0.15]
    p = permutation_p_value(a, b, 3, n_perm=99, seed=3)
    assert p == permutation_p_value(a, b, 3, n_perm=99, seed=3)
    assert 1 / 100 <= p <= 1
