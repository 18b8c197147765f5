"""Benchmark of storages and backends; not a test.

Run: ``python tests/bench/bench_distributed.py [--trials N] [--postgres URL]``

Trials per minute of one CPU-bound study (trials of about 0.2 s, two
workers) on the journal file, PostgreSQL and SQLite storages with loky
workers, and on the journal and PostgreSQL with a Dask ``LocalCluster``
(started inside the timing, as a run starts it); ratios are against loky
with the journal, measured in the same run after one warm-up run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import optuna

from tuner.storage import open_storage
from tuner.study import run_study


class Busy:
    """A CPU-bound objective: about ``seconds`` of NumPy work, a score from ``x``."""

    def __init__(self, seconds: float = 0.2):
        a = np.random.default_rng(0).normal(size=(120, 120))
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:  # calibrate on this machine
            a = np.tanh(a @ a.T / 120)
            n += 1
        self.steps = n

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        a = np.random.default_rng(trial.number).normal(size=(120, 120))
        for _ in range(self.steps):
            a = np.tanh(a @ a.T / 120)
        return -((x - 0.3) ** 2) + 0.0 * float(a[0, 0])


def measure(objective, storage: str, backend: str, n_trials: int) -> float:
    """Trials per minute of one fresh study."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    run_study(
        objective,
        study_name=name,
        n_trials=n_trials,
        n_jobs=2,
        storage=storage,
        backend=backend,
        seed=0,
        pruner="none",
        sampler="random",
        progress=False,
    )
    rate = n_trials / (time.perf_counter() - start) * 60
    if "://" in storage:
        optuna.delete_study(study_name=name, storage=open_storage(storage))
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = Busy()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("loky", "journal", str(Path(tmp) / "j" / "journal.log")),
            ("loky", "postgresql", args.postgres),
            ("loky", "sqlite", f"sqlite:///{tmp}/s.db"),
            ("dask", "journal", str(Path(tmp) / "d" / "journal.log")),
            ("dask", "postgresql", args.postgres),
        ]
        print(f"{args.trials} trials of ~0.2 s, 2 workers; ratio = rate / (loky, journal)")
        print(f"{'backend':<8} {'storage':<11} {'trials/min':>10} {'ratio':>6}")
        measure(objective, str(Path(tmp) / "w" / "journal.log"), "loky", 4)  # start loky once
        reference = None
        for backend, kind, storage in cases:
            rate = measure(objective, storage, backend, args.trials)
            reference = reference or rate
            print(f"{backend:<8} {kind:<11} {rate:>10.1f} {rate / reference:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
