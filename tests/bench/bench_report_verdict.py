"""Benchmark of the report's verdict: how often it decides, and how fast; not a test.

Run: ``python tests/bench/bench_report_verdict.py [--replicates 1000] [--quick]``

(a) Calibration: simulated studies of three optimizers with ``n`` trials each
    (scores normal, skewed ``1 - gamma(0.7, 0.05)``, or discrete accuracies),
    all equal; two equal and best with one worse. Prints the share decided by
    the verdict's rule, and by the bootstrap alone ("prob_best >= 0.95"),
    which the permutation tests correct.
(b) Power: the share decided for an optimizer shifted up by about two
    standard deviations (normal: 0.1), 0.02 (skewed, half a standard
    deviation) or two answers in 60 (discrete).
(c) Time of one verdict for 4 optimizers with 50 trials each, and 4 with 200.
(d) Calibration on real studies (``tests/calibration.py``, also a slow test):
    three copies of one algorithm, and Adam against an SGD whose learning rate is
    far too small, each over 20 seeds: the share of seeds whose verdict is right.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from tuner.report.verdict import compare_draws

SHAPES = ("normal", "skewed", "discrete")


def draws(shape: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if shape == "normal":
        return rng.normal(0.8, 0.05, n)
    if shape == "skewed":
        return 1 - rng.gamma(0.7, 0.05, n)
    return rng.binomial(60, 0.9, n) / 60


def study(case: str, shape: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One simulated study: three equal optimizers, two equal best, or ``"a"`` ahead."""
    a, b, c = (draws(shape, rng, n) for _ in range(3))
    if case == "two best":
        c = c - 0.1
    if case == "a ahead":
        a = a + {"normal": 0.1, "skewed": 0.02, "discrete": 2 / 60}[shape]
    return {"a": a, "b": b, "c": c}


def rates(case: str, shape: str, n: int, replicates: int) -> tuple[float, float, float]:
    """Shares decided by the rule, decided for ``"a"``, and decided by the bootstrap alone."""
    rng = np.random.default_rng(1)
    decided = for_a = bootstrap = 0
    for i in range(replicates):
        verdict = compare_draws(study(case, shape, n, rng), seed=i)
        decided += verdict.decided
        for_a += verdict.decided and verdict.leader == "a"
        bootstrap += max(verdict.prob_best.values()) >= verdict.confidence
    return decided / replicates, for_a / replicates, bootstrap / replicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 replicates, n = 10 only")
    args = parser.parse_args()
    replicates = 200 if args.quick else args.replicates
    sizes = (10,) if args.quick else (5, 10, 20)
    print(f"(a, b) {replicates} simulated studies per cell; three optimizers of n trials")
    print(f"{'shape':>9} {'n':>3} {'equal':>7} {'boot only':>9} {'two best':>9} {'power':>7}")
    for shape in SHAPES:
        for n in sizes:
            null, _, boot = rates("equal", shape, n, replicates)
            two, _, _ = rates("two best", shape, n, replicates)
            _, power, _ = rates("a ahead", shape, n, replicates)
            print(f"{shape:>9} {n:>3} {null:>7.3f} {boot:>9.3f} {two:>9.3f} {power:>7.3f}")
    print("(c) time of one verdict")
    rng = np.random.default_rng(0)
    for n in (50, 200):
        study = {f"o{j}": draws("normal", rng, n) for j in range(4)}
        compare_draws(study)
        rounds = 20
        start = time.perf_counter()
        for _ in range(rounds):
            compare_draws(study)
        elapsed = (time.perf_counter() - start) / rounds
        print(f"  4 optimizers x {n} trials: {1000 * elapsed:.1f} ms")
    sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/, for calibration.py
    from calibration import TRUTH, calibration_verdict

    seeds = range(5 if args.quick else 20)
    print(f"(d) real studies, {len(seeds)} seeds each")
    for case, truth in TRUTH.items():
        start = time.perf_counter()
        verdicts = [calibration_verdict(case, seed) for seed in seeds]
        right = sum(v.decided and v.leader == truth if truth else not v.decided for v in verdicts)
        expected = f"decided for {truth}" if truth else "undecided"
        print(f"  {case:<6} {expected:<18} in {right} of {len(verdicts)} seeds "
              f"({(time.perf_counter() - start) / len(verdicts):.1f} s per study)")  # fmt: skip


if __name__ == "__main__":
    main()
