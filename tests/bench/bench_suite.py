"""Benchmark of the default suite's run time; not a test.

Run: ``python tests/bench/bench_suite.py [--workers 1 2] [--suite studies/suite.toml]``

Runs ``tuner bench`` on the suite from nothing, into a temporary folder, once
per number of workers, and prints the wall time of the whole command (its
studies, their final fits and reports, and the suite's page), per study and
in total, and the speed-up of each worker count over the first.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from tuner.cli import main as tuner
from tuner.suite import load_suite_file

ROOT = Path(__file__).resolve().parents[2]


def bench_seconds(suite_file: Path, n_jobs: int) -> float:
    """Wall time of ``tuner bench suite_file --n-jobs n_jobs`` from an empty reports folder."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        quiet = io.StringIO()  # each study's lines would bury the numbers
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            code = tuner(["bench", str(suite_file), "--n-jobs", str(n_jobs), "--out", out,
                          "--no-progress"])  # fmt: skip
        seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"tuner bench exited {code}:\n{quiet.getvalue()[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=ROOT / "studies" / "suite.toml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    suite = load_suite_file(args.suite)
    studies = len(suite.problems) * len(suite.seeds)
    trials = suite.trials_per_optimizer * len(suite.optimizers)
    print(f"suite {suite.name!r}: {studies} studies of {trials} trials each "
          f"({', '.join(suite.optimizers)}), final fits and reports included")  # fmt: skip
    first = None
    for n_jobs in args.workers:
        seconds = bench_seconds(args.suite, n_jobs)
        first = first or seconds
        print(f"  n_jobs={n_jobs}: {seconds:.0f} s ({seconds / 60:.1f} min; "
              f"{seconds / studies:.1f} s per study; speed-up {first / seconds:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
