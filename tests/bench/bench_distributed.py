"""Benchmark of storages and backends; not a test.

Run: ``python tests/bench/bench_distributed.py [--trials N] [--repeat R] [--postgres URL]``

Trials per minute of one CPU-bound study (trials of about 0.2 s, two
workers) on the journal file, PostgreSQL and SQLite storages with loky
workers, and on the journal and PostgreSQL with Dask workers. Rates are of
warm pools, as a long study sees them: loky's reusable executor is started
by a warm-up run, and the Dask ``LocalCluster`` is started before the timing
and passed by its (loopback) scheduler address. What starting a pool costs a
run is measured on its own and printed after the table. Ratios are against
loky with the journal, measured in the same run.

For reference, the same objective runs in a bare Optuna loop (``study.optimize``
in two processes, no heartbeat, no exact budget) on the journal and on
PostgreSQL, timed from when both processes are ready: the ratio of those two
rates is what the storage itself costs, before anything of this project.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import optuna
from distributed import LocalCluster
from threadpoolctl import threadpool_limits

from tuner.study import run_study
from tuner.study.storage import open_storage


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


def measure(objective, storage: str, backend: str, n_trials: int, scheduler=None) -> float:
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
        scheduler=scheduler,
        direction="maximize",
        seed=0,
        pruner="none",
        sampler="random",
        progress=False,
    )
    rate = n_trials / (time.perf_counter() - start) * 60
    if "://" in storage:
        optuna.delete_study(study_name=name, storage=open_storage(storage))
    return rate


def _bare_worker(storage: str, name: str, n_trials: int, objective, ready, go) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with threadpool_limits(1):  # as the project's workers: one BLAS thread each
        study = optuna.load_study(study_name=name, storage=_bare_storage(storage),
                                  sampler=optuna.samplers.RandomSampler())  # fmt: skip
        ready.release()
        go.wait()
        study.optimize(objective, n_trials=n_trials)


def _bare_storage(storage: str):
    if "://" in storage:
        return storage  # Optuna's RDBStorage as it comes: no heartbeat
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(storage))


def bare(objective, storage: str, n_trials: int) -> float:
    """Trials per minute of a bare Optuna loop in two processes sharing ``storage``."""
    name = f"bare-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=_bare_storage(storage), direction="maximize")
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Semaphore(0), ctx.Event()
    args = (storage, name, n_trials // 2, objective, ready, go)
    procs = [ctx.Process(target=_bare_worker, args=args) for _ in range(2)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    rate = n_trials / (time.perf_counter() - start) * 60
    if "://" in storage:
        optuna.delete_study(study_name=name, storage=storage)
    return rate


def start_up(objective, tmp: str) -> dict[str, float]:
    """Seconds that starting the worker pool adds to a 2-trial run, per backend."""
    from joblib.externals.loky import get_reusable_executor

    def two_trials(**kwargs) -> float:
        start = time.perf_counter()
        measure(objective, str(Path(tmp) / uuid.uuid4().hex / "journal.log"), n_trials=2,
                **kwargs)  # fmt: skip
        return time.perf_counter() - start

    two_trials(backend="loky")  # bring the pool up (runs before may have ended it)
    warm = two_trials(backend="loky")
    get_reusable_executor().shutdown(wait=True)
    return {"loky": two_trials(backend="loky") - warm, "dask": two_trials(backend="dask") - warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="rounds over all cases")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = Busy()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
    ):
        dask = cluster.scheduler_address
        cases = [
            ("loky", "journal", "journal", None),
            ("loky", "postgresql", args.postgres, None),
            ("loky", "sqlite", f"sqlite:///{tmp}/s.db", None),
            ("dask", "journal", "journal", dask),
            ("dask", "postgresql", args.postgres, dask),
        ]
        measure(objective, str(Path(tmp) / "w" / "journal.log"), "loky", 4)  # start loky once
        measure(objective, str(Path(tmp) / "v" / "journal.log"), "dask", 4, dask)
        # Rounds interleave the cases, so that a slow spell of the machine hits them all.
        rates: dict[tuple[str, str], list[float]] = {}
        for r in range(args.repeat):
            for backend, kind, storage, scheduler in cases:
                if "://" not in storage:
                    storage = str(Path(tmp) / f"{backend}{r}" / "journal.log")
                rate = measure(objective, storage, backend, args.trials, scheduler)
                rates.setdefault((backend, kind), []).append(rate)
            for kind, storage in (("journal", f"{tmp}/bare{r}.log"), ("postgresql", args.postgres)):
                rates.setdefault(("bare", kind), []).append(bare(objective, storage, args.trials))
        print(f"{args.trials} trials of ~0.2 s, 2 workers, median of {args.repeat} rounds; "
              "ratio = rate / (loky, journal)")  # fmt: skip
        print(f"{'backend':<8} {'storage':<11} {'trials/min':>10} {'ratio':>6}")
        for (backend, kind), values in rates.items():
            reference = statistics.median(rates["bare" if backend == "bare" else "loky", "journal"])
            rate = statistics.median(values)
            print(f"{backend:<8} {kind:<11} {rate:>10.1f} {rate / reference:>6.2f}")
        print("(bare: Optuna's study.optimize in two processes; its ratio is to bare, journal)")
        costs = start_up(objective, tmp)
    print("pool start-up inside a run (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in costs.items()))  # fmt: skip


if __name__ == "__main__":
    main()
