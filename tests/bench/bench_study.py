"""Benchmark of the study runner; not a test.

Run: ``python tests/bench/bench_study.py [--quick]``

(a) Framework overhead per trial: ``run_study`` against a bare
    ``study.optimize`` loop with the same sampler (TPE) and storage (journal
    file) on a trivial objective: wall and CPU time over interleaved rounds, and
    the instructions executed, counted by valgrind's callgrind when it is
    installed (a count that repeats, where times on a shared machine do not).
(b) Wall time of a CPU-bound 40-trial study with ``n_jobs=1`` and ``n_jobs=2``:
    ``studies/digits-mlp.toml``, and the shorter trials of ``studies/quickstart.toml``;
    with ``run_study`` in this process, and with ``tuner run`` as a command.
(c) Epochs trained and best score per optimizer with Optuna's median and
    successive-halving pruners made fair (a trial compared only with its own
    optimizer and schedule, after a warm-up of a quarter of the epochs), and
    without a pruner, on ``studies/digits-mlp.toml`` with equal allocation, at an
    equal number of trials, over three seeds: the measurement behind the default.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from joblib.externals.loky import get_reusable_executor

from tuner.runner import build_study, study_allocation
from tuner.study import run_study
from tuner.study.pruning import fair_pruner_spec
from tuner.study.samplers import make_sampler
from tuner.study.storage import default_storage, open_storage
from tuner.studyfile import load_study_file

ROOT = Path(__file__).resolve().parents[2]


def trivial(trial: optuna.Trial) -> float:
    return -((trial.suggest_float("x", -1.0, 1.0) - 0.3) ** 2)


def bare_loop(directory: str, n_trials: int, seed: int) -> None:
    """The reference: ``study.optimize`` with TPE as ``run_study`` sets it up, on a journal."""
    study = optuna.create_study(
        study_name="bare", storage=open_storage(str(Path(directory) / "bare.log")),
        direction="maximize", sampler=make_sampler("tpe", seed),
    )  # fmt: skip
    study.optimize(trivial, n_trials=n_trials)


def our_run(directory: str, n_trials: int, seed: int) -> None:
    run_study(trivial, study_name="ours", n_trials=n_trials, directory=directory, seed=seed,
              direction="maximize", pruner="none", progress=False)  # fmt: skip


SIDES = {"bare": bare_loop, "ours": our_run}


def overhead(n_trials: int, repeat: int) -> dict[str, dict[str, float]]:
    """Median seconds per trial, wall and CPU: bare Optuna loop, run_study.

    Each side goes first in half of the rounds, so that neither always runs on a
    warmer (or more fragmented) process. CPU time (this process, which runs
    ``run_study``'s only worker) leaves out the waits for the disk and the
    machine's other load, which make the wall times of identical rounds differ
    by a fifth here.
    """
    times = {side: {"wall": [], "cpu": []} for side in SIDES}
    for i in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            for side in ("bare", "ours") if i % 2 == 0 else ("ours", "bare"):
                wall, cpu = time.perf_counter(), time.process_time()
                SIDES[side](tmp, n_trials, i)
                times[side]["wall"].append((time.perf_counter() - wall) / n_trials)
                times[side]["cpu"].append((time.process_time() - cpu) / n_trials)
    return {
        side: {kind: statistics.median(values) for kind, values in kinds.items()}
        for side, kinds in times.items()
    }


def instructions(n_trials: int) -> dict[str, int] | None:
    """Instructions each side executes, counted by valgrind's callgrind (None without it).

    Unlike time, the count repeats to 0.1% whatever else the machine does. Only
    the side's run is counted, not Python's start and imports. What the kernel
    does (the journal's fsync, file locks) is not counted.
    """
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        return None
    counts = {}
    for side in SIDES:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
             sys.executable, __file__, "--count", side, str(n_trials)],
            env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        counts[side] = int(re.search(r"Collected : (\d+)", proc.stderr).group(1))
    return counts


def count_one(side: str, n_trials: int) -> None:
    """Run one side with callgrind's instrumentation on (run under valgrind by ``instructions``)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        toggle = ["callgrind_control", "--instr"]
        subprocess.run([*toggle, "on", str(os.getpid())], check=True, capture_output=True)
        SIDES[side](tmp, n_trials, 0)
        subprocess.run([*toggle, "off", str(os.getpid())], check=True, capture_output=True)


def command(spec_path: Path, n_trials: int, n_jobs: int, directory: str) -> dict[str, float]:
    """Wall seconds of ``tuner run`` on the study file (random sampler, no pruner).

    ``total`` is the whole command: Python's start, imports, data, the trials and
    the report. ``trials`` runs from the first trial's start to the last one's
    end, read from the storage: with two workers, it includes any wait for the
    second worker process, which the command starts before it reads the study
    file, so that the process imports while this one does.
    """
    text = re.sub(r"(?m)^sampler = .*$", 'sampler = "random"', spec_path.read_text())
    text = re.sub(r"(?m)^pruner = .*$", 'pruner = "none"', text)
    path = Path(directory) / spec_path.name
    path.write_text(text)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tuner.cli", "run", str(path), "--n-trials", str(n_trials),
         "--n-jobs", str(n_jobs), "--out", directory, "--no-progress"],
        check=True, capture_output=True,
    )  # fmt: skip
    total = time.perf_counter() - start
    name = load_study_file(path).name
    study = optuna.load_study(
        study_name=name, storage=open_storage(default_storage(name, directory))
    )
    first = min(t.datetime_start for t in study.trials)
    last = max(t.datetime_complete for t in study.trials)
    return {"total": total, "trials": (last - first).total_seconds()}


def scaling(spec_path: Path, n_trials: int, repeat: int) -> dict[str, float]:
    """Median wall seconds of one CPU-bound study with one and two workers.

    ``run_study`` in this process: with two workers, worker 0 runs in this
    process and the other in a loky process, which imports NumPy, scikit-learn
    and Optuna when it starts unless an earlier run in the same process left it
    running: the cold run pays that start, the warm one shows how the trials
    themselves scale. ``tuner run`` as a command (see :func:`command`). The
    cases are interleaved over ``repeat`` rounds so that a slow spell of the
    machine touches them all alike.
    """
    spec = load_study_file(spec_path)
    objective = build_study(spec).objective
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        get_reusable_executor().shutdown(wait=True)
        for case, n_jobs in (("1", 1), ("2 cold", 2), ("2 warm", 2)):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                run_study(objective, study_name="scale", n_trials=n_trials, n_jobs=n_jobs,
                          directory=tmp, seed=0, pruner="none", sampler="random",
                          progress=False)  # fmt: skip
                times.setdefault(case, []).append(time.perf_counter() - start)
        for n_jobs in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                for part, seconds in command(spec_path, n_trials, n_jobs, tmp).items():
                    times.setdefault(f"command {n_jobs} {part}", []).append(seconds)
    return {case: statistics.median(values) for case, values in times.items()}


def pruning(
    spec_path: Path, n_trials: int, n_jobs: int, seeds: list[int]
) -> dict[str, list[tuple[int, dict[str, float]]]]:
    """Epochs and best score per optimizer, for each pruner made fair and each seed.

    The study runs as its file says (equal allocation), with each of Optuna's
    pruners grouped by optimizer and schedule after the warm-up, as a study
    file sets them; ``successive_halving / optimizer`` groups by optimizer only,
    to show what comparing schedules separately costs. Which trials a pruner
    stops depends on the sampler's draws and, with two workers, on the order
    trials finish in, so each pruner runs once per seed.
    """
    spec = load_study_file(spec_path)
    objective = build_study(spec).objective
    epochs = objective.estimator.max_epochs
    fair = {name: fair_pruner_spec({"name": name}, len(spec.schedules), epochs)
            for name in ("none", "median", "successive_halving")}  # fmt: skip
    fair["successive_halving / optimizer"] = fair_pruner_spec(
        {"name": "successive_halving"}, 1, epochs
    )
    out: dict[str, list[tuple[int, dict[str, float]]]] = {}
    for label, options in fair.items():
        for seed in seeds:
            with tempfile.TemporaryDirectory() as tmp:
                study = run_study(objective, study_name="prune", n_trials=n_trials,
                                  n_jobs=n_jobs, directory=tmp, seed=seed, pruner=options,
                                  allocation=study_allocation(spec), progress=False)  # fmt: skip
                trained = sum(t.user_attrs.get("epochs", 0) for t in study.trials)
                best: dict[str, float] = {}
                for t in study.trials:
                    if t.value is not None:
                        name = t.params["optimizer"]
                        best[name] = max(best.get(name, -np.inf), t.value)
                out.setdefault(label, []).append((trained, best))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets")
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run")
    parser.add_argument("--count", nargs=2, metavar=("SIDE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:  # a child of instructions(), under valgrind
        count_one(args.count[0], int(args.count[1]))
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if "a" in args.parts:
        n = 30 if args.quick else 100
        per_trial = overhead(n, 4 if args.quick else 12)
        print(f"(a) overhead, {n} trivial trials, TPE + journal file:")
        for kind in ("wall", "cpu"):
            bare, ours = per_trial["bare"][kind], per_trial["ours"][kind]
            print(
                f"    {kind:<12}: bare optuna {bare * 1e3:.2f} ms/trial, run_study "
                f"{ours * 1e3:.2f} ms/trial, ratio {ours / bare:.2f}"
            )
        counts = instructions(n)
        if counts:
            bare, ours = counts["bare"], counts["ours"]
            print(
                f"    instructions: bare optuna {bare / n / 1e6:.2f} M/trial, run_study "
                f"{ours / n / 1e6:.2f} M/trial, ratio {ours / bare:.3f} (callgrind)"
            )

    studies = ROOT / "studies"
    if "b" in args.parts:
        n = 12 if args.quick else 40
        repeat = 1 if args.quick else 3
        for name in ("digits-mlp", "quickstart"):
            times = scaling(studies / f"{name}.toml", n, repeat)
            print(
                f"(b) CPU-bound study, {n} trials ({name}, {times['1'] / n:.2f} s per trial "
                f"with one worker, no pruner), median of {repeat}:"
            )
            print(
                f"    run_study: n_jobs=1 {times['1']:.1f} s; n_jobs=2 {times['2 cold']:.1f} s "
                f"with the pool's start (speedup {times['1'] / times['2 cold']:.2f}), "
                f"{times['2 warm']:.1f} s with a running pool (speedup "
                f"{times['1'] / times['2 warm']:.2f})"
            )
            one, two = (times[f"command {n} trials"] for n in (1, 2))
            whole = [times[f"command {n} total"] for n in (1, 2)]
            print(
                f"    tuner run: trials n_jobs=1 {one:.1f} s, n_jobs=2 {two:.1f} s (speedup "
                f"{one / two:.2f}); whole command {whole[0]:.1f} s vs {whole[1]:.1f} s"
            )

    if "c" in args.parts:
        n = 20 if args.quick else 60
        seeds = [0] if args.quick else [0, 1, 2]
        result = pruning(studies / "digits-mlp.toml", n, n_jobs=2, seeds=seeds)
        none = result.pop("none")
        e_none = sum(e for e, _ in none)
        print(f"(c) digits-mlp, {n} trials (equal allocation), seeds {seeds}; epochs summed over "
              f"the seeds; no pruner: {e_none} epochs")  # fmt: skip
        for pruner, runs in result.items():
            trained = sum(e for e, _ in runs)
            gaps = [100 * (b[o] - b0[o]) for (_, b), (_, b0) in zip(runs, none) for o in b0]
            print(
                f"    {pruner:<32} epochs {trained:5d} ({e_none / max(trained, 1):.2f}x fewer; per "
                "seed " + " ".join(f"{e0 / max(e, 1):.2f}x" for (e, _), (e0, _) in zip(runs, none))
                + f"); best score per optimizer and seed minus the unpruned one: "
                f"worst {min(gaps):+.2f} points, mean {np.mean(gaps):+.2f}"
            )

if __name__ == "__main__":
    main()
