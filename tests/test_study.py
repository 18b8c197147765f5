"""Running studies: exact budgets, parallel workers, resume after a kill, failures."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from study_objectives import (
    FailsFrom,
    LedgerObjective,
    NaNObjective,
    assert_nothing_lost,
    imported,
    wait_until_running,
)

import tuner.study.locks
import tuner.study.pool
import tuner.study.run
import tuner.study.storage
import tuner.study.worker
from tuner.study import StudyAborted, create_study, run_study, start_workers
from tuner.study.journal import repair_journal
from tuner.study.locks import FlockLock, worker_gone, worker_id
from tuner.study.orphans import fail_orphans, queue_again
from tuner.study.outcomes import (
    Outcome,
    error_of,
    outcome_of,
    record_worker,
    sampler_seed_of,
    tally,
    worker_of,
)
from tuner.study.storage import (
    StorageUnreachableError,
    check_storage_url,
    default_storage,
    load_existing_study,
    open_storage,
)


def load(study_name: str, storage: str) -> optuna.Study:
    return optuna.load_study(study_name=study_name, storage=open_storage(storage))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_exact_number_of_trials_whatever_n_jobs(tmp_path, n_jobs):
    ledger = tmp_path / "ledger.jsonl"
    study = run_study(
        LedgerObjective(str(ledger), sleep=0.01, peers=n_jobs),
        study_name="exact",
        n_trials=9,
        n_jobs=n_jobs,
        seed=0,
        directory=tmp_path,
        pruner="none",
    )
    assert_nothing_lost(study, 9)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    attempts = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert sorted(a["number"] for a in attempts) == list(range(9))
    assert study.user_attrs["seed"] == 0 and study.user_attrs["sampler"] == {"name": "tpe"}
    if n_jobs == 2:
        assert len({a["pid"] for a in attempts}) == 2, "both workers should have run trials"
        assert len({worker_of(t) for t in study.trials}) == 2


def test_running_again_resumes_and_extends(tmp_path):
    objective = LedgerObjective(str(tmp_path / "ledger.jsonl"))
    run_study(objective, study_name="resume", n_trials=4, directory=tmp_path, seed=1)
    study = run_study(objective, study_name="resume", n_trials=7, directory=tmp_path, seed=1)
    assert_nothing_lost(study, 7)
    study = run_study(objective, study_name="resume", n_trials=7, directory=tmp_path, seed=1)
    assert len(study.trials) == 7  # nothing left to do


def test_pruner_prunes_and_none_does_not(tmp_path):
    ledger = str(tmp_path / "ledger.jsonl")
    pruned = run_study(
        LedgerObjective(ledger, epochs=6),
        study_name="p",
        n_trials=30,
        directory=tmp_path,
        seed=0,
        pruner={"name": "median", "n_startup_trials": 3, "n_warmup_steps": 1},
    )
    plain = run_study(
        LedgerObjective(ledger, epochs=6),
        study_name="n",
        n_trials=30,
        directory=tmp_path,
        seed=0,
        pruner="none",
    )
    assert any(t.state == TrialState.PRUNED for t in pruned.trials)
    assert all(t.state == TrialState.COMPLETE for t in plain.trials)


def test_failing_trials_are_recorded_and_the_study_goes_on(tmp_path):
    study = run_study(
        LedgerObjective(str(tmp_path / "l"), fail_when=0.5),
        study_name="f",
        n_trials=12,
        directory=tmp_path,
        sampler="random",
        seed=3,
    )
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed and all("too large" in t.user_attrs["error"] for t in failed)
    assert_nothing_lost(study, 12)


def test_same_error_in_every_trial_stops_the_study(tmp_path):
    with pytest.raises(StudyAborted, match="the data file is missing"):
        run_study(
            LedgerObjective(str(tmp_path / "l"), always_fail=True),
            study_name="a",
            n_trials=50,
            directory=tmp_path,
        )
    study = load("a", default_storage("a", tmp_path))
    assert len([t for t in study.trials if t.state == TrialState.FAIL]) < 50


def test_an_abort_is_this_runs_alone(tmp_path):
    # Once the cause is fixed, the next run completes: the earlier abort does not stop it.
    kwargs = dict(study_name="fixed", n_trials=8, directory=tmp_path, pruner="none")
    with pytest.raises(StudyAborted, match="every trial of this run failed"):
        run_study(LedgerObjective(str(tmp_path / "l"), always_fail=True), **kwargs)
    study = run_study(LedgerObjective(str(tmp_path / "l")), **kwargs)
    assert_nothing_lost(study, 8)
    assert not study.user_attrs["aborted"]
    assert [t.state for t in study.trials[-3:]] == [TrialState.COMPLETE] * 3


def test_errors_after_completed_trials_do_not_stop_the_run(tmp_path):
    study = run_study(FailsFrom(3), study_name="later", n_trials=10, directory=tmp_path,
                      pruner="none")  # fmt: skip
    assert Counter(t.state for t in study.trials) == {TrialState.COMPLETE: 3, TrialState.FAIL: 7}
    assert not study.user_attrs.get("aborted")


def test_a_nan_score_fails_its_trial_with_the_reason_and_counts(tmp_path):
    study = run_study(NaNObjective(above=0.0), study_name="nan", n_trials=12,
                      directory=tmp_path, sampler="random", seed=1, pruner="none")  # fmt: skip
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert failed and all(t.params["x"] > 0 for t in failed)
    assert {t.user_attrs["error"] for t in failed} == {
        "ValueError: the objective returned nan, not a score"
    }
    assert_nothing_lost(study, 12)
    with pytest.raises(StudyAborted, match="returned nan"):
        run_study(NaNObjective(), study_name="all-nan", n_trials=50, directory=tmp_path)


@pytest.mark.parametrize(
    ("state", "attrs", "expected"),
    [(TrialState.FAIL, {"worker": "h:1:t"}, Outcome.INTERRUPTED),  # Ctrl-C, a killed worker
     (TrialState.FAIL, {}, Outcome.INTERRUPTED),  # a lost heartbeat, or another program's
     (TrialState.FAIL, {"outcome": "failed", "error": "ValueError: x"}, Outcome.FAILED),
     (TrialState.FAIL, {"error": "ValueError: x"}, Outcome.FAILED),  # recorded before outcomes
     (TrialState.PRUNED, {"outcome": "diverged"}, Outcome.DIVERGED),
     (TrialState.PRUNED, {"end": "diverged at epoch 3: loss inf"}, Outcome.DIVERGED),  # older
     (TrialState.PRUNED, {"end": "pruned at epoch 3"}, Outcome.PRUNED),
     (TrialState.COMPLETE, {"outcome": "failed"}, Outcome.COMPLETE)],  # the state wins
)  # fmt: skip
def test_how_a_trial_ended(state, attrs, expected):
    value = 1.0 if state == TrialState.COMPLETE else None
    trial = optuna.trial.create_trial(state=state, value=value, user_attrs=attrs)
    assert outcome_of(trial) is expected
    counts = tally([trial])
    assert getattr(counts, expected.value) == 1
    assert counts.counted == (expected is not Outcome.INTERRUPTED)


class InterruptedObjective:
    direction = "maximize"

    def __call__(self, trial: optuna.Trial) -> float:
        trial.suggest_float("x", -1.0, 1.0)
        raise KeyboardInterrupt


def test_a_busy_storage_does_not_turn_ctrl_c_into_a_storage_error(tmp_path, monkeypatch):
    # A locked SQLite file made telling the interrupted trial fail after ~6 s of retries,
    # and the StorageInternalError replaced the KeyboardInterrupt (exit 1, not 130).
    real = optuna.storages.JournalStorage.set_trial_state_values

    def busy(self, trial_id, state, values=None):
        if state == TrialState.FAIL:
            raise optuna.exceptions.StorageInternalError("database is locked")
        return real(self, trial_id, state, values)

    monkeypatch.setattr(optuna.storages.JournalStorage, "set_trial_state_values", busy)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_study(InterruptedObjective(), study_name="busy", n_trials=3, directory=tmp_path)
    assert time.monotonic() - start < 5
    monkeypatch.undo()
    study = load("busy", default_storage("busy", tmp_path))
    assert [t.state for t in study.trials] == [TrialState.RUNNING]  # failed by the next run


def test_an_error_in_the_runs_own_worker_stops_the_other_workers(tmp_path, monkeypatch):
    ledger = tmp_path / "ledger.jsonl"
    run_worker = tuner.study.run.run_worker

    def worker_0_fails_once_another_runs(cfg, index=0, study=None):
        if index > 0:
            return run_worker(cfg, index)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = ledger.read_text().splitlines() if ledger.exists() else []
            if any(json.loads(line)["pid"] != os.getpid() for line in lines):
                raise RuntimeError("the storage is gone")
            time.sleep(0.05)
        raise AssertionError("the other worker never ran a trial")

    monkeypatch.setattr(tuner.study.run, "run_worker", worker_0_fails_once_another_runs)
    with pytest.raises(RuntimeError, match="the storage is gone"):
        run_study(LedgerObjective(str(ledger), epochs=2, sleep=0.1), study_name="err",
                  n_trials=40, n_jobs=2, directory=tmp_path, pruner="none")  # fmt: skip
    attempts = len(ledger.read_text().splitlines())
    time.sleep(1.5)
    assert len(ledger.read_text().splitlines()) == attempts, "the other worker went on"
    counts = tally(load("err", default_storage("err", tmp_path)).trials)
    assert counts.running == 0 and counts.counted < 40


def test_timeout_stops_starting_trials_and_the_rest_resumes(tmp_path):
    objective = LedgerObjective(str(tmp_path / "l"), epochs=2, sleep=0.05)
    start = time.monotonic()
    study = run_study(objective, study_name="t", n_trials=500, directory=tmp_path, timeout=0.5)
    assert time.monotonic() - start < 5
    done = len([t for t in study.trials if t.state == TrialState.COMPLETE])
    assert 0 < done < 500
    assert not study.get_trials(states=(TrialState.RUNNING,))
    # The next run picks up from there: a budget of three more runs exactly three more.
    counted = tally(study.trials).counted
    study = run_study(objective, study_name="t", n_trials=counted + 3, directory=tmp_path)
    assert tally(study.trials).counted == len(study.trials) == counted + 3


def test_a_trial_whose_worker_died_before_recording_itself_runs_again(tmp_path):
    # A RUNNING trial without a worker, seen under the study's lock: its worker died there.
    storage = default_storage("u", tmp_path)
    study = optuna.create_study(study_name="u", storage=open_storage(storage), direction="maximize")
    unrecorded = study.ask({"x": optuna.distributions.FloatDistribution(-1, 1)})
    ledger = str(tmp_path / "l")
    study = run_study(LedgerObjective(ledger), study_name="u", n_trials=3, storage=storage,
                      pruner="none")  # fmt: skip
    assert study.trials[unrecorded.number].state == TrialState.FAIL
    assert_nothing_lost(study, 3, ledger)
    again = [t for t in study.trials if t.system_attrs.get("failed_trial") == unrecorded.number]
    assert [t.params for t in again] == [unrecorded.params], "its parameters run again"


def _dead_worker_id() -> str:
    """The worker id of a process of this host that has ended."""
    code = "from tuner.study.locks import worker_id; print(worker_id())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_orphaned_running_trials_are_failed_and_queued_again(tmp_path):
    study = optuna.create_study(study_name="o", storage=open_storage(str(tmp_path / "j")))
    x = {"x": optuna.distributions.FloatDistribution(-1, 1)}
    ghost, alive, elsewhere = study.ask(x), study.ask(x), study.ask(x)
    record_worker(ghost, _dead_worker_id(), None)
    record_worker(alive, worker_id(), None)
    record_worker(elsewhere, "another-host:12:abc", None)  # its heartbeat's to judge
    assert fail_orphans(study, study.trials) == 1
    states = {t.number: t.state for t in study.trials}
    assert states == {0: TrialState.FAIL, 1: TrialState.RUNNING, 2: TrialState.RUNNING,
                      3: TrialState.WAITING}  # fmt: skip
    assert outcome_of(study.trials[ghost.number]) is Outcome.INTERRUPTED
    assert study.trials[3].params == ghost.params


def test_a_worker_is_alive_while_its_process_runs_whatever_its_pid():
    code = "from tuner.study.locks import worker_id; print(worker_id(), flush=True); input()"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        live = proc.stdout.readline().strip()
        assert not worker_gone(live)
        host, pid, _ = live.split(":")
        # No lock file of that token here (another user's, or another TMPDIR's): the pid
        # tells while it lives.
        assert not worker_gone(f"{host}:{pid}:0123456789ab")
    finally:
        proc.kill()
        proc.wait()
    assert worker_gone(live) and worker_gone(f"{host}:{pid}:0123456789ab")
    assert not worker_gone(f"{socket.gethostname()}:{os.getpid()}")  # no token: not judged


def test_the_study_lock_is_reentrant_in_its_thread_and_exclusive_across_processes(tmp_path):
    lock = FlockLock(tmp_path / "j")
    code = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError: sys.exit(3)"
    )

    def free() -> bool:
        return subprocess.run([sys.executable, "-c", code, lock.path]).returncode == 0

    with lock:
        with FlockLock(tmp_path / "j"):  # a journal append inside a claim
            assert not free()
        assert not free()
    assert free()


def test_an_abort_counts_the_trials_earlier_runs_queued(tmp_path):
    # Trials queued again by an earlier run carry lower numbers than the run's own.
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = create_study("left", storage)
    for x in (0.1, 0.2, 0.3):
        study.enqueue_trial({"x": x})
    with pytest.raises(StudyAborted, match="the data file is missing"):
        run_study(LedgerObjective(str(tmp_path / "l"), always_fail=True), study_name="left",
                  n_trials=8, storage=storage, pruner="none")  # fmt: skip


def test_a_lowered_budget_starts_nothing_beyond_it(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    kwargs = dict(study_name="lower", directory=tmp_path, pruner="none")
    run_study(LedgerObjective(str(ledger)), n_trials=5, **kwargs)
    study = run_study(LedgerObjective(str(ledger)), n_trials=3, **kwargs)
    assert len(study.trials) == 5 and len(ledger.read_text().splitlines()) == 5
    # Queued trials beyond the budget wait; within it they run first.
    for x in (0.1, 0.2, 0.3):
        study.enqueue_trial({"x": x})
    study = run_study(LedgerObjective(str(ledger)), n_trials=6, **kwargs)
    assert [t.state for t in study.trials[5:]] == [TrialState.COMPLETE] + [TrialState.WAITING] * 2
    assert study.trials[5].params == {"x": 0.1}


def test_every_trial_records_its_worker_and_sampler_seed(tmp_path):
    study = run_study(LedgerObjective(str(tmp_path / "l")), study_name="seeds", n_trials=4,
                      directory=tmp_path, seed=11, pruner="none")  # fmt: skip
    assert {sampler_seed_of(t) for t in study.trials} == {11}
    assert {worker_of(t) for t in study.trials} == {worker_id()}


class BlasThreads:
    """Score a trial with the number of threads BLAS may use in its worker."""

    direction = "maximize"

    def __call__(self, trial: optuna.Trial) -> float:
        from threadpoolctl import threadpool_info

        trial.suggest_float("x", 0, 1)
        return float(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))


def test_workers_of_a_parallel_run_use_one_blas_thread_and_a_lone_worker_leaves_blas_be(
    tmp_path,
):
    study = run_study(BlasThreads(), study_name="blas", n_trials=4, n_jobs=2,
                      directory=tmp_path, pruner="none")  # fmt: skip
    assert {t.value for t in study.trials} == {1.0}
    alone = run_study(BlasThreads(), study_name="alone", n_trials=1, directory=tmp_path)
    assert alone.trials[0].value == BlasThreads()(optuna.trial.FixedTrial({"x": 0.5}))


def test_more_workers_than_cores_warns_and_no_more_workers_than_trials_start(
    tmp_path, monkeypatch
):
    def no_process(n):
        raise AssertionError(f"started {n} process(es) for a single trial")

    monkeypatch.setattr(tuner.study.pool, "_loky_executor", no_process)
    with pytest.warns(UserWarning, match="workers on .* cores share them"):
        study = run_study(LedgerObjective(str(tmp_path / "l")), study_name="one", n_trials=1,
                          n_jobs=64, directory=tmp_path)  # fmt: skip
    assert len(study.trials) == 1


class RecordTrial:
    """An Optuna callback that appends each finished trial's number to a file."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        with open(self.path, "a") as f:
            f.write(f"{trial.number} {trial.state.name}\n")


def test_callbacks_see_every_trial_of_every_worker(tmp_path):
    seen = tmp_path / "seen.txt"
    study = run_study(LedgerObjective(str(tmp_path / "l"), peers=2), study_name="cb",
                      n_trials=6, n_jobs=2, directory=tmp_path, pruner="none",
                      callbacks=[RecordTrial(str(seen))])  # fmt: skip
    lines = sorted(seen.read_text().splitlines(), key=lambda line: int(line.split()[0]))
    assert lines == [f"{t.number} COMPLETE" for t in study.trials]


def test_torn_last_journal_record_is_moved_aside(tmp_path):
    objective = LedgerObjective(str(tmp_path / "l"))
    run_study(objective, study_name="torn", n_trials=3, directory=tmp_path)
    path = Path(default_storage("torn", tmp_path))
    path.write_bytes(path.read_bytes() + b'{"op_code": 5, "trial_id": 1, "us')
    with pytest.warns(RuntimeWarning, match="last record was incomplete"):
        study = run_study(objective, study_name="torn", n_trials=5, directory=tmp_path)
    assert_nothing_lost(study, 5)
    assert path.with_name("journal.log.torn").read_bytes().startswith(b'{"op_code": 5')
    assert repair_journal(path) == 0


def test_a_journal_writes_to_disk_each_trial_as_it_ends_not_each_step_of_it(
    tmp_path, monkeypatch
):
    # Dozens of records a trial (its parameters, epochs, attributes) waited for the disk
    # one by one; the record that ends the trial takes them all there (fsync is per file).
    objective = LedgerObjective(str(tmp_path / "l"), epochs=5)
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_size) or real(fd))
    run_study(objective, study_name="sync", n_trials=4, directory=tmp_path, pruner="none")
    path = Path(default_storage("sync", tmp_path))
    ends, offset = [], 0  # byte offsets after each record
    ops = []
    for line in path.read_bytes().splitlines(keepends=True):
        offset += len(line)
        ends.append(offset)
        ops.append(json.loads(line)["op_code"])
    progress = {5, 7, 8, 9}  # parameters, intermediate values, user and system attributes
    assert sum(op == 7 for op in ops) == 4 * 5
    assert set(synced) == {end for end, op in zip(ends, ops) if op not in progress}
    assert synced[-1] == path.stat().st_size  # nothing left unsynced at the end


KILL_SCRIPT = textwrap.dedent("""
    import signal, sys
    # Ctrl-C raises KeyboardInterrupt even in a background job of a shell (which starts
    # with SIGINT ignored, and Python then leaves it so).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from study_objectives import LedgerObjective
    from tuner.study import run_study
    run_study(LedgerObjective(sys.argv[2], epochs=4, sleep=0.15, peers=2), study_name="kill",
              n_trials=int(sys.argv[3]), n_jobs=2, directory=sys.argv[1], seed=0,
              pruner="none")
""")


@pytest.mark.slow
def test_killed_run_resumes_with_nothing_lost_or_duplicated(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    args = [sys.executable, str(script), str(tmp_path), str(ledger), "10"]
    proc = subprocess.Popen(args, start_new_session=True)
    storage = default_storage("kill", tmp_path)
    wait_until_running(storage, "kill", proc, completed=2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert Counter(t.state for t in load("kill", storage).get_trials())[TrialState.RUNNING] > 0

    subprocess.run(args, check=True, timeout=120)
    study = load("kill", storage)
    assert_nothing_lost(study, 10)
    interrupted = [t for t in study.trials if outcome_of(t) is Outcome.INTERRUPTED]
    assert interrupted, "the killed trials should be recorded as interrupted"
    for t in interrupted:  # ... and their parameters run again
        again = [r for r in study.trials if r.system_attrs.get("failed_trial") == t.number]
        assert [r.params for r in again] == [t.params]


@pytest.mark.slow
@pytest.mark.parametrize("to_group", [True, False], ids=["terminal", "run-alone"])
def test_ctrl_c_fails_running_trials_cleanly_and_resumes(tmp_path, to_group):
    # A terminal's Ctrl-C reaches every process of the group; `kill -INT <pid>` only
    # the run, whose worker processes must then stop on their own after their trial.
    ledger = tmp_path / "ledger.jsonl"
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    args = [sys.executable, str(script), str(tmp_path), str(ledger), "30"]
    proc = subprocess.Popen(args, start_new_session=True, stderr=subprocess.PIPE)
    storage = default_storage("kill", tmp_path)
    wait_until_running(storage, "kill", proc)
    if to_group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"KeyboardInterrupt" in err
    counts = tally(load("kill", storage).trials)
    assert counts.running == 0, "Ctrl-C must not leave trials RUNNING"
    assert counts.counted <= 20, "the workers should have stopped starting trials"
    subprocess.run(args, check=True, timeout=120)
    assert_nothing_lost(load("kill", storage), 30)


def test_tpe_spreads_parallel_workers_unless_told_otherwise():
    from tuner.study.samplers import make_sampler

    assert make_sampler("tpe", 0)._constant_liar is True
    assert make_sampler("tpe", 0, constant_liar=False)._constant_liar is False


def test_a_resumed_run_draws_new_parameters_and_a_first_run_is_reproducible(tmp_path):
    def params(directory, name: str, n_trials: int) -> list[float]:
        study = run_study(LedgerObjective(str(tmp_path / "ledger.jsonl")), study_name=name,
                          n_trials=n_trials, directory=directory, seed=7, sampler="random",
                          pruner="none")  # fmt: skip
        return [t.params["x"] for t in study.trials]

    first = params(tmp_path / "a", "resume", 4)
    assert params(tmp_path / "b", "resume", 4) == first, "same seed, same first run"
    resumed = params(tmp_path / "a", "resume", 8)
    assert resumed[:4] == first
    assert not set(resumed[4:]) & set(first), "the resumed run repeated the first run's draws"


def test_started_workers_import_the_objective_modules_before_the_run_comes():
    # A run's other worker process reuses the started one, whose imports are done.
    tuner.study.pool._loky_executor(1).shutdown(wait=True)  # no process of an earlier test
    start_workers(2, ["tuner.objective"])
    executor = tuner.study.pool._loky_executor(1)  # what run_study(n_jobs=2) takes
    assert executor.submit(imported, "tuner.objective").result(timeout=120)


def test_worker_processes_end_soon_after_their_run_is_killed(tmp_path):
    # Without a watch they wait joblib's 5 idle minutes for work that never comes (the
    # processes of a run's workers and of its final fits: one executor serves both).
    script = textwrap.dedent("""
        import os, signal, sys, time
        from tuner.study.pool import map_unordered
        pids = set(map_unordered(lambda: time.sleep(0.5) or os.getpid(), [()] * 4, 2))
        open(sys.argv[1], "w").write(" ".join(map(str, pids)))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out, err = tmp_path / "pid", tmp_path / "err"
    # Output to no pipe: the worker process would hold it open, and the wait with it.
    with open(err, "w") as stderr:
        done = subprocess.run([sys.executable, "-c", script, str(out)], timeout=180,
                              stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip
    assert done.returncode == -signal.SIGKILL
    pids = [int(p) for p in out.read_text().split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(map(_alive, pids)):
        time.sleep(0.2)
    assert not any(map(_alive, pids)), "the run's worker processes outlived it"
    time.sleep(1)  # loky's resource tracker cleans up after them, quietly
    assert err.read_text() == ""


def _alive(pid: int) -> bool:
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return state.stdout.strip()[:1] not in ("", "Z")  # a zombie has ended


def test_storage_recovery_notes_and_numpy_float_notes_stay_off_the_terminal():
    script = textwrap.dedent("""
        import logging, warnings
        import numpy as np
        from tuner.study.worker import quiet_libraries
        quiet_libraries()
        logging.getLogger("optuna.storages._rdb.storage").warning("Caught an error from x")
        np.float64(1e308) * 10, np.log(np.zeros(1)), np.zeros(1) / np.zeros(1)
        warnings.warn("a warning of our own", UserWarning)
    """)
    err = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True).stderr
    assert "a warning of our own" in err
    for note in ("Caught an error", "overflow", "divide by zero", "invalid value"):
        assert note not in err


def test_one_job_starts_no_worker_process(monkeypatch):
    def no_process(n):
        raise AssertionError(f"started {n} process(es)")

    monkeypatch.setattr(tuner.study.pool, "_loky_executor", no_process)
    start_workers(1, ["tuner.objective"])


def test_a_study_folder_shows_no_lock_files(tmp_path):
    run_study(LedgerObjective(str(tmp_path / "l")), study_name="tidy", n_trials=2,
              directory=tmp_path, pruner="none")  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "tidy").iterdir() if p.name[0] != ".") == [
        "journal.log"
    ]


def test_a_study_states_its_direction_and_a_resume_may_not_change_it(tmp_path):
    def plain(trial: optuna.Trial) -> float:  # no direction of its own, unlike ours
        return (trial.suggest_float("x", -10, 10) - 2) ** 2

    with pytest.raises(ValueError, match="direction must be 'maximize' or 'minimize'"):
        run_study(plain, study_name="d", n_trials=1, directory=tmp_path)
    study = run_study(plain, study_name="d", n_trials=20, directory=tmp_path, seed=0,
                      direction="minimize", sampler="random", pruner="none")  # fmt: skip
    assert abs(study.best_params["x"] - 2) < 3
    with pytest.raises(ValueError, match="after `tuner delete d`"):
        run_study(plain, study_name="d", n_trials=21, directory=tmp_path, direction="maximize")


def test_a_study_of_two_objectives_runs_unpruned_trials_told_both_values(tmp_path):
    def two(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        return (x, 1 - x) if x < 0.8 else x  # one value where two are due: a failure

    both = ("maximize", "minimize")
    with pytest.raises(ValueError, match=r"cannot prune its trials .* got 'median'"):
        run_study(two, study_name="two", n_trials=1, directory=tmp_path, direction=both,
                  pruner="median")  # fmt: skip
    study = run_study(two, study_name="two", n_trials=12, directory=tmp_path, seed=0,
                      direction=both, sampler="random")  # fmt: skip
    assert study.user_attrs["pruner"] == {"name": "none"}
    for t in study.trials:
        if t.params["x"] < 0.8:
            assert outcome_of(t) is Outcome.COMPLETE
            assert t.values == [t.params["x"], 1 - t.params["x"]]
        else:
            assert error_of(t).endswith("not 2 scores (one per objective)")
    assert tally(study.trials).counted == 12
    with pytest.raises(ValueError, match=r"exists with direction \(maximize, minimize\), not "):
        run_study(two, study_name="two", n_trials=13, directory=tmp_path, direction="maximize")


def test_a_dead_runs_running_trial_runs_again_in_the_next_run_at_once(tmp_path):
    def plain(trial: optuna.Trial) -> float:
        return trial.suggest_float("x", 0, 1)

    kwargs = dict(study_name="dead", directory=tmp_path, direction="maximize", seed=0)
    study = run_study(plain, n_trials=3, **kwargs)
    cut = study.ask()  # what a run killed mid-trial leaves: RUNNING, its process gone
    cut.suggest_float("x", 0, 1)
    record_worker(cut, f"{socket.gethostname()}:{2**22 + 7}:gone", None)
    study = run_study(plain, n_trials=4, **kwargs)
    assert tally(study.trials).counted == 4
    (again,) = [t for t in study.trials if t.number > cut.number]
    assert again.params == {"x": cut.params["x"]} and outcome_of(again) is Outcome.COMPLETE


def test_parameters_cut_short_are_queued_again_once_whoever_finds_them(tmp_path):
    storage = str(tmp_path / "journal.log")
    study = create_study("once", storage)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    record_worker(trial, f"{socket.gethostname()}:{2**22 + 7}:gone", None)
    frozen = study.tell(trial, state=TrialState.FAIL)
    for _ in range(2):  # its worker, then an orphan check (or a stale-heartbeat check)
        queue_again(study, frozen)
    assert fail_orphans(study, study.get_trials()) == 0
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].params == frozen.params


def test_reading_a_study_retries_a_storage_that_drops_out(tmp_path, monkeypatch):
    storage = str(tmp_path / "journal.log")
    create_study("flaky", storage)
    real, calls = tuner.study.storage._load_existing_study, []

    def flaky(*args):
        calls.append(1)
        if len(calls) < 3:
            raise optuna.exceptions.StorageInternalError("connection dropped")
        return real(*args)

    monkeypatch.setattr(tuner.study.storage, "_load_existing_study", flaky)
    assert load_existing_study(storage, "flaky").study_name == "flaky" and len(calls) == 3
    monkeypatch.setattr(tuner.study.storage, "retry", lambda fn, *a, **k: fn(*a, **k))
    calls.clear()
    expected = rf"database {re.escape(storage)} is unreachable .*StorageInternalError"
    with pytest.raises(StorageUnreachableError, match=expected):
        load_existing_study(storage, "flaky")


@pytest.mark.parametrize(
    ("url", "reason"),
    [("sqlite:///:memory:", "lives in one process"), ("sqlite://", "sqlite:///<file>"),
     ("mysql://u@localhost/db", "for others use a journal file")],
)  # fmt: skip
def test_a_storage_workers_cannot_share_is_refused_before_anything_runs(url, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        check_storage_url(url)


def test_ctrl_c_fails_the_trial_and_queues_its_parameters_again(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_study(InterruptedObjective(), study_name="again", n_trials=3, directory=tmp_path)
    study = load("again", default_storage("again", tmp_path))
    cut, queued = study.trials
    assert outcome_of(cut) is Outcome.INTERRUPTED and queued.state == TrialState.WAITING
    assert queued.system_attrs["failed_trial"] == cut.number
    assert queued.params == cut.params


class Returns:
    """An objective that returns (or raises) what it was given."""

    direction = "maximize"

    def __init__(self, result):
        self.result = result

    def __call__(self, trial: optuna.Trial):
        trial.suggest_float("x", 0, 1)
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


@pytest.mark.parametrize("result", ["0.5", 10**400, [0.5], True])
def test_what_is_not_a_score_fails_its_trial_and_the_run_goes_on(tmp_path, result):
    with pytest.raises(StudyAborted, match="not a score"):
        run_study(Returns(result), study_name="odd", n_trials=6, directory=tmp_path)
    counts = tally(load("odd", default_storage("odd", tmp_path)).trials)
    assert counts.running == 0 and counts.failed == 5


def test_an_objective_that_exits_fails_its_trial_first(tmp_path):
    with pytest.raises(SystemExit):
        run_study(Returns(SystemExit(3)), study_name="exit", n_trials=3, directory=tmp_path)
    (trial,) = load("exit", default_storage("exit", tmp_path)).trials
    assert trial.state == TrialState.FAIL and outcome_of(trial) is Outcome.FAILED
    assert error_of(trial) == "SystemExit: 3"


def test_a_stored_error_has_its_credentials_masked(tmp_path):
    error = RuntimeError("cannot reach postgresql://user:hunter2@db/x")
    with pytest.raises(StudyAborted) as info:
        run_study(Returns(error), study_name="secret", n_trials=5, directory=tmp_path)
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in Path(default_storage("secret", tmp_path)).read_text()


def test_a_temp_dir_that_cannot_hold_worker_locks_fails_before_any_trial(tmp_path, monkeypatch):
    import tempfile

    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / f"tuner-workers-{os.getuid()}").write_text("not a folder")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(tuner.study.locks, "_identity", {})
    with pytest.raises(OSError, match="worker lock files"):
        run_study(Returns(1.0), study_name="nolock", n_trials=2, directory=tmp_path)
    assert load("nolock", default_storage("nolock", tmp_path)).trials == []


def test_a_database_whose_tables_another_process_just_created_opens(monkeypatch):
    from sqlalchemy.exc import IntegrityError

    import tuner.study.storage as storage_module

    calls = []

    def created_meanwhile(url, **kwargs):  # Optuna creating its tables lost the race once
        calls.append(url)
        if len(calls) == 1:
            raise IntegrityError("INSERT INTO alembic_version", {}, Exception("UNIQUE"))
        return "opened"

    monkeypatch.setattr(storage_module, "RDBStorage", created_meanwhile)
    monkeypatch.setattr(storage_module.time, "sleep", lambda s: None)
    assert storage_module.open_database("sqlite:///x.db") == "opened" and len(calls) == 2


# A function whose code says it is the storage's, as Optuna's cache is when it fails.
_STORAGE_SAYS = {}
exec(compile("def stale(trial_id):\n    raise KeyError(trial_id)\n",
             "/site-packages/optuna/storages/_cached_storage.py", "exec"), _STORAGE_SAYS)


class ReportsToAStaleCache:
    direction = "maximize"

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 0:
            _STORAGE_SAYS["stale"](trial.number)  # what a stale cache raised in trial.report
        if trial.number == 1:
            raise KeyError("the objective's own")
        return x


def test_an_error_raised_by_the_storage_is_not_the_trials_own(tmp_path):
    study = run_study(ReportsToAStaleCache(), study_name="stale", n_trials=3,
                      directory=tmp_path, pruner="none")  # fmt: skip
    first, second = study.trials[:2]
    assert outcome_of(first) is Outcome.INTERRUPTED  # run again, not counted
    assert outcome_of(second) is Outcome.FAILED and "objective's own" in error_of(second)
    again = [t for t in study.trials if t.system_attrs.get("failed_trial") == 0]
    assert [t.params for t in again] == [first.params]
    assert tally(study.trials).counted == 3


def test_a_workers_stop_file_stops_it_before_its_next_trial(tmp_path):
    from tuner.study.worker import WorkerConfig, run_worker

    storage = default_storage("stopped", tmp_path)
    create_study("stopped", storage)
    stop = tmp_path / "stop"
    cfg = WorkerConfig(storage=storage, study_name="stopped", n_trials=5, stop_file=str(stop),
                       objective=LedgerObjective(str(tmp_path / "l")))  # fmt: skip
    assert run_worker(cfg, 1).ran == 5  # no stop file: the whole budget
    stop.touch()
    assert run_worker(dataclasses.replace(cfg, n_trials=10), 1).ran == 0


def test_a_new_worker_removes_the_lock_files_of_killed_ones():
    dead = _dead_worker_id()  # a process that ended normally removes its own file ...
    _, pid, token = dead.split(":")
    folder = tuner.study.locks._lock_dir()
    leftover = folder / f"{pid}-{token}"
    leftover.touch()  # ... a killed one leaves it
    code = "from tuner.study.locks import worker_id; worker_id()"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert not leftover.exists()
    assert (folder / f"{os.getpid()}-{worker_id().split(':')[2]}").exists()  # ours stays
