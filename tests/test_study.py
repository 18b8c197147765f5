"""Running studies: exact budgets, parallel workers, resume after a kill, failures."""

from __future__ import annotations

import datetime
import json
import os
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

import tuner.study
from tuner.budget import count_trials, tally, was_interrupted
from tuner.storage import default_storage, open_storage, repair_journal
from tuner.study import StudyAborted, create_study, reconcile, run_study, start_workers
from tuner.worker import new_trial, worker_id


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
        assert len({t.user_attrs["worker"] for t in study.trials}) == 2


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
    ("attrs", "interrupted"),
    [({"worker": "h:1", "interrupted": True}, True),  # Ctrl-C, or found dead on resume
     ({"withdrawn": True}, True),  # a ticket beyond a lowered budget
     ({"worker": "h:1"}, True),  # a lost heartbeat, or a mark a busy storage did not take
     ({"worker": "h:1", "error": "ValueError: x"}, False),  # failed by itself
     ({}, False)],  # failed in another program (plain Optuna): by itself too
)  # fmt: skip
def test_which_failed_trials_were_interrupted(attrs, interrupted):
    trial = optuna.trial.create_trial(state=TrialState.FAIL, user_attrs=attrs)
    assert was_interrupted(trial) is interrupted
    assert tally([trial])["interrupted" if interrupted else "failed"] == 1


class InterruptedObjective:
    def __call__(self, trial: optuna.Trial) -> float:
        trial.suggest_float("x", -1.0, 1.0)
        raise KeyboardInterrupt


def test_a_busy_storage_does_not_turn_ctrl_c_into_a_storage_error(tmp_path, monkeypatch):
    # A locked SQLite file made the interrupted trial's record fail after ~6 s of retries,
    # and the StorageInternalError replaced the KeyboardInterrupt (exit 1, not 130).
    real = optuna.storages.JournalStorage.set_trial_user_attr

    def busy(self, trial_id, key, value):
        if key == "interrupted":
            raise optuna.exceptions.StorageInternalError("database is locked")
        return real(self, trial_id, key, value)

    monkeypatch.setattr(optuna.storages.JournalStorage, "set_trial_user_attr", busy)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_study(InterruptedObjective(), study_name="busy", n_trials=3, directory=tmp_path)
    assert time.monotonic() - start < 5
    study = load("busy", default_storage("busy", tmp_path))
    assert [t.state for t in study.trials] == [TrialState.FAIL]  # told, though not marked


def test_an_error_in_the_runs_own_worker_stops_the_other_workers(tmp_path, monkeypatch):
    ledger = tmp_path / "ledger.jsonl"
    run_worker = tuner.study.run_worker

    def worker_0_fails_once_another_runs(cfg, index=0, storage=None):
        if index > 0:
            return run_worker(cfg, index)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = ledger.read_text().splitlines() if ledger.exists() else []
            if any(json.loads(line)["pid"] != os.getpid() for line in lines):
                raise RuntimeError("the storage is gone")
            time.sleep(0.05)
        raise AssertionError("the other worker never ran a trial")

    monkeypatch.setattr(tuner.study, "run_worker", worker_0_fails_once_another_runs)
    with pytest.raises(RuntimeError, match="the storage is gone"):
        run_study(LedgerObjective(str(ledger), epochs=2, sleep=0.1), study_name="err",
                  n_trials=40, n_jobs=2, directory=tmp_path, pruner="none")  # fmt: skip
    attempts = len(ledger.read_text().splitlines())
    time.sleep(1.5)
    assert len(ledger.read_text().splitlines()) == attempts, "the other worker went on"
    counts = count_trials(load("err", default_storage("err", tmp_path)))
    assert counts["running"] == 0 and counts["counted"] < 40


def test_timeout_stops_starting_trials_and_the_rest_resumes(tmp_path):
    objective = LedgerObjective(str(tmp_path / "l"), epochs=2, sleep=0.05)
    start = time.monotonic()
    study = run_study(objective, study_name="t", n_trials=500, directory=tmp_path, timeout=0.5)
    assert time.monotonic() - start < 5
    done = len([t for t in study.trials if t.state == TrialState.COMPLETE])
    assert 0 < done < 500
    assert not study.get_trials(states=(TrialState.RUNNING,))
    # The next run picks up from there: a budget of three more runs exactly three more.
    counted = count_trials(study)["counted"]
    study = run_study(objective, study_name="t", n_trials=counted + 3, directory=tmp_path)
    assert count_trials(study)["counted"] == len(study.trials) == counted + 3


def test_a_trial_whose_worker_died_before_recording_itself_runs_again(tmp_path, monkeypatch):
    # A claimed trial with no worker record: its worker was killed between the two writes.
    monkeypatch.setattr(tuner.study, "ORPHAN_AGE", 1.0)
    storage = default_storage("u", tmp_path)
    optuna.create_study(study_name="u", storage=open_storage(storage), direction="maximize")
    unrecorded = optuna.load_study(study_name="u", storage=open_storage(storage)).ask()
    ledger = str(tmp_path / "l")
    study = run_study(LedgerObjective(ledger), study_name="u", n_trials=3, storage=storage,
                      pruner="none")  # fmt: skip
    assert study.trials[unrecorded.number].state == TrialState.FAIL
    assert_nothing_lost(study, 3, ledger)


def test_orphaned_running_trials_are_failed_and_reissued(tmp_path):
    storage = default_storage("o", tmp_path)
    study = optuna.create_study(study_name="o", storage=open_storage(storage))
    ghost = study.ask()
    ghost.set_user_attr("worker", f"{os.uname().nodename}:{2**22 + 12345}")  # no such pid
    alive = study.ask()
    alive.set_user_attr("worker", f"{os.uname().nodename}:{os.getpid()}")
    result = reconcile(study, n_trials=3)
    assert result == {"orphaned": 1, "issued": 2, "withdrawn": 0}
    states = {t.number: t.state for t in study.get_trials()}
    assert states[ghost.number] == TrialState.FAIL and states[alive.number] == TrialState.RUNNING
    assert study.trials[ghost.number].user_attrs["interrupted"] is True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_an_abort_counts_the_earlier_runs_tickets_this_run_took(tmp_path):
    # Tickets left by an interrupted database run carry lower numbers than the run's own.
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    reconcile(create_study("left", storage), 8)
    with pytest.raises(StudyAborted, match="the data file is missing"):
        run_study(LedgerObjective(str(tmp_path / "l"), always_fail=True), study_name="left",
                  n_trials=8, storage=storage, pruner="none")  # fmt: skip


def test_withdrawing_skips_tickets_that_workers_took_meanwhile(tmp_path, monkeypatch):
    from tuner.study import _withdraw_tickets

    study = create_study("race", f"sqlite:///{tmp_path / 'db.sqlite'}")
    reconcile(study, 6)
    seen = study.get_trials(states=(TrialState.WAITING,))  # what the withdrawal reads ...
    taken, finished = seen[-1], seen[-2]  # ... before a worker takes the two newest
    for ticket, end in ((taken, TrialState.RUNNING), (finished, TrialState.COMPLETE)):
        study._storage.set_trial_state_values(ticket._trial_id, state=TrialState.RUNNING)
        if end == TrialState.COMPLETE:
            study._storage.set_trial_state_values(ticket._trial_id, end, [0.0])
    monkeypatch.setattr(study, "get_trials", lambda **kw: seen)
    assert _withdraw_tickets(study, 2) == 2
    monkeypatch.undo()
    withdrawn = {t.number for t in study.trials if t.user_attrs.get("withdrawn")}
    assert withdrawn == {seen[-3].number, seen[-4].number}


def test_a_trial_whose_pid_another_process_took_is_orphaned(tmp_path):
    # A restarted container keeps its host name and gives out the same low pids again:
    # a live process with the dead worker's pid, started after its trial, is not its worker.
    study = optuna.create_study(study_name="reuse", storage=open_storage(str(tmp_path / "j")))
    host = socket.gethostname()
    newcomer = subprocess.Popen(["sleep", "60"])
    try:
        for pid, started in [(newcomer.pid, 3600), (os.getpid(), 0)]:
            trial = new_trial(TrialState.RUNNING, {"worker": f"{host}:{pid}"})
            trial.datetime_start -= datetime.timedelta(seconds=started)
            study._storage.create_new_trial(study._study_id, template_trial=trial)
        assert reconcile(study, None)["orphaned"] == 1
    finally:
        newcomer.kill()
        newcomer.wait()
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.RUNNING]


def test_a_lowered_budget_withdraws_the_tickets_beyond_it(tmp_path):
    # A database run that timed out leaves tickets; a run with a smaller budget must not run
    # them all. A ticket a worker claimed first is not withdrawn.
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = create_study("lower", storage)
    assert reconcile(study, 10)["issued"] == 10
    claimed = study.get_trials(states=(TrialState.WAITING,))[-1]
    study._storage.set_trial_state_values(claimed._trial_id, state=TrialState.RUNNING)
    study._storage.set_trial_user_attr(claimed._trial_id, "worker", worker_id())
    assert reconcile(study, 4) == {"orphaned": 0, "issued": 0, "withdrawn": 6}
    assert count_trials(study)["taken"] == 4
    withdrawn = [t for t in study.trials if t.user_attrs.get("withdrawn")]
    assert len(withdrawn) == 6 and claimed.number not in {t.number for t in withdrawn}
    study._storage.set_trial_state_values(claimed._trial_id, state=TrialState.FAIL)
    ledger = str(tmp_path / "ledger.jsonl")
    study = run_study(LedgerObjective(ledger), study_name="lower", n_trials=4, storage=storage,
                      pruner="none")  # fmt: skip
    assert_nothing_lost(study, 4, ledger)


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


KILL_SCRIPT = textwrap.dedent("""
    import sys
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
    interrupted = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert interrupted, "the killed trials should be recorded as interrupted"


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
    counts = count_trials(load("kill", storage))
    assert counts["running"] == 0, "Ctrl-C must not leave trials RUNNING"
    assert counts["counted"] <= 20, "the workers should have stopped starting trials"
    subprocess.run(args, check=True, timeout=120)
    assert_nothing_lost(load("kill", storage), 30)


def test_telling_a_trial_again_after_a_lost_reply_is_harmless(tmp_path):
    from tuner.worker import _tell

    study = optuna.create_study(storage=open_storage(str(tmp_path / "j.log")))
    trial = study.ask()
    _tell(study, trial, 1.0)
    _tell(study, trial, 1.0)  # the retry of a tell whose reply was lost: no error
    assert study.trials[0].state == TrialState.COMPLETE and study.trials[0].value == 1.0
    running = study.ask()
    with pytest.raises(ValueError):  # a real error still surfaces
        _tell(study, running, state=TrialState.WAITING)


def test_tpe_spreads_parallel_workers_unless_told_otherwise():
    from tuner.samplers import make_sampler

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
    tuner.study._loky_executor(1).shutdown(wait=True)  # no process of an earlier test
    start_workers(2, ["tuner.objective"])
    executor = tuner.study._loky_executor(1)  # what run_study(n_jobs=2) takes
    assert executor.submit(imported, "tuner.objective").result(timeout=120)


def test_one_job_starts_no_worker_process(monkeypatch):
    def no_process(n):
        raise AssertionError(f"started {n} process(es)")

    monkeypatch.setattr(tuner.study, "_loky_executor", no_process)
    start_workers(1, ["tuner.objective"])
