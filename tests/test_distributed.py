"""PostgreSQL storage, Dask workers and fault tolerance (real components).

PostgreSQL is expected at 127.0.0.1:5432 with trust authentication and a
``test`` database (CI starts it when it is missing); these tests skip, with
the reason, only when it cannot be reached or its driver is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from study_objectives import LedgerObjective, assert_nothing_lost

from tuner.study import run_study
from tuner.study.outcomes import Outcome, outcome_of, worker_of
from tuner.study.storage import open_storage

PG_URL = os.environ.get("TUNER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'optim-tuner[distributed]')"
    try:
        with psycopg.connect(
            PG_URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {exc}"


_PG_REASON = _postgres_reason()
needs_postgres = pytest.mark.skipif(_PG_REASON is not None, reason=_PG_REASON or "")
needs_dask = pytest.mark.skipif(
    __import__("importlib").util.find_spec("distributed") is None,
    reason="dask.distributed is not installed (pip install 'optim-tuner[distributed]')",
)


@pytest.fixture
def pg_study():
    """A unique study name in PostgreSQL, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        optuna.delete_study(study_name=name, storage=open_storage(PG_URL))
    except KeyError:
        pass


def load(name: str, storage: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(storage))


@needs_postgres
def test_postgres_storage_with_two_workers(tmp_path, pg_study):
    ledger = str(tmp_path / "ledger.jsonl")
    study = run_study(
        LedgerObjective(ledger),
        study_name=pg_study,
        n_trials=10,
        n_jobs=2,
        storage=PG_URL,
        seed=0,
        pruner="none",
    )
    assert_nothing_lost(study, 10, ledger)
    assert study.user_attrs["storage"] == PG_URL  # no password in it to mask


@needs_dask
@pytest.mark.parametrize("own_cluster", [False, True], ids=["run's cluster", "loopback scheduler"])
def test_dask_backend_on_a_local_journal(tmp_path, own_cluster):
    # Without a scheduler the run starts a LocalCluster; one of our own is passed by
    # its loopback address, which may share the local journal file.
    from distributed import LocalCluster

    ledger = str(tmp_path / "ledger.jsonl")
    with contextlib.ExitStack() as stack:
        scheduler = None
        if own_cluster:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
            scheduler = stack.enter_context(cluster).scheduler_address
            assert scheduler.startswith("tcp://127.0.0.1:")
        study = run_study(
            LedgerObjective(ledger),
            study_name="dask",
            n_trials=8,
            n_jobs=2,
            directory=tmp_path,
            seed=0,
            pruner="none",
            backend="dask",
            scheduler=scheduler,
        )
    assert_nothing_lost(study, 8, ledger)


@pytest.mark.parametrize("scheduler", ["tcp://10.1.2.3:8786", "tcp://scheduler.example:8786"])
def test_local_file_storage_with_a_remote_scheduler_is_refused(tmp_path, scheduler):
    # Refused before any connection is tried: these addresses are never contacted.
    with pytest.raises(ValueError, match="storage every worker can reach"):
        run_study(
            LedgerObjective(str(tmp_path / "l")),
            study_name="r",
            n_trials=2,
            directory=tmp_path,
            backend="dask",
            scheduler=scheduler,
        )


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("tcp://127.0.0.1:8786", True), ("tcp://localhost:8786", True), ("127.0.0.2:8786", True),
     ("tcp://[::1]:8786", True), ("tcp://10.1.2.3:8786", False), ("tcp://node7:8786", False)],
)  # fmt: skip
def test_loopback_scheduler_addresses(address, loopback):
    from tuner.study.pool import _is_loopback

    assert _is_loopback(address) is loopback


def test_a_scheduler_needs_the_dask_backend(tmp_path):
    with pytest.raises(ValueError, match="needs backend='dask'"):
        run_study(LedgerObjective(str(tmp_path / "l")), study_name="r", n_trials=2,
                  directory=tmp_path, scheduler="tcp://127.0.0.1:8786")  # fmt: skip


RUN_SCRIPT = textwrap.dedent("""
    import faulthandler, signal, sys
    # SIGUSR1 writes every thread's stack to stderr: what a run that hangs is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from study_objectives import LedgerObjective
    from tuner.study import run_study
    storage, name, ledger, n_trials, n_jobs = sys.argv[1:6]
    run_study(LedgerObjective(ledger, epochs=4, sleep=0.1, peers=int(n_jobs)), study_name=name,
              n_trials=int(n_trials), n_jobs=int(n_jobs), storage=storage, seed=0,
              pruner="none")
""")


def _start(tmp_path: Path, storage: str, name: str, n_trials: int, n_jobs: int):
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT)
    ledger = str(tmp_path / "ledger.jsonl")
    args = [sys.executable, str(script), storage, name, ledger, str(n_trials), str(n_jobs)]
    with open(tmp_path / "run.err", "w") as stderr:  # the child keeps its own copy
        return subprocess.Popen(args, start_new_session=True, stderr=stderr), ledger


def _finish(proc: subprocess.Popen, timeout: float = 180) -> int:
    """The run's exit code; if it hangs, fail with its threads' stacks, then kill it."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        err = Path(proc.args[1]).with_name("run.err").read_text()
        pytest.fail(f"the run did not end within {timeout} s; its stderr:\n{err}")


def _wait_for(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail("timed out waiting for the study")


@pytest.mark.slow
@needs_postgres
def test_killed_worker_process_on_postgres_is_recovered(tmp_path, pg_study):
    proc, ledger = _start(tmp_path, PG_URL, pg_study, n_trials=10, n_jobs=2)
    victim = {}

    def running_in_a_worker() -> bool:
        # A worker process (not the run's own) that has begun its trial's attempt.
        lines = Path(ledger).read_text().splitlines() if Path(ledger).exists() else []
        started = {json.loads(line)["pid"] for line in lines}
        try:
            trials = load(pg_study, PG_URL).get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # not created yet
            return False
        for t in trials:
            pid = int((worker_of(t) or ":0:").split(":")[1])
            # Early in its trial (at most one of four epochs reported): the kill, a moment
            # later, must land before the trial ends.
            if pid in started and pid != proc.pid and len(t.intermediate_values) <= 1:
                victim["worker"] = worker_of(t)
                return True
        return False

    _wait_for(running_in_a_worker)
    os.kill(int(victim["worker"].split(":")[1]), signal.SIGKILL)
    assert _finish(proc) == 0, "the run should finish on its own"
    study = load(pg_study, PG_URL)
    assert_nothing_lost(study, 10, ledger)
    # The trial the kill cut short failed as interrupted; the victim's others completed.
    killed = [t for t in study.trials if worker_of(t) == victim["worker"]]
    assert sorted(t.state.name for t in killed) == ["COMPLETE"] * (len(killed) - 1) + ["FAIL"]
    cut = next(t for t in killed if t.state == TrialState.FAIL)
    assert outcome_of(cut) is Outcome.INTERRUPTED
    # Its parameters ran again (the worker ran on this host: found dead by its lock, at
    # once, not a heartbeat's grace period later).
    again = [t for t in study.trials if t.system_attrs.get("failed_trial") == cut.number]
    assert [(t.params, t.state) for t in again] == [(cut.params, TrialState.COMPLETE)]


@pytest.mark.slow
@needs_postgres
def test_terminated_database_connections_do_not_stop_the_study(tmp_path, pg_study):
    import psycopg

    proc, ledger = _start(tmp_path, PG_URL, pg_study, n_trials=12, n_jobs=2)
    _wait_for(lambda: Path(ledger).exists() and len(Path(ledger).read_text().splitlines()) >= 2)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for _ in range(3):  # cut every connection of the study's workers, a few times
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'tuner' AND pid <> pg_backend_pid()"
            )
            time.sleep(0.7)
    assert _finish(proc) == 0
    assert_nothing_lost(load(pg_study, PG_URL), 12, ledger)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["journal", pytest.param("postgres", marks=needs_postgres)])
def test_eight_workers_on_a_fresh_study(tmp_path, kind, request):
    if kind == "postgres":
        storage, name = PG_URL, request.getfixturevalue("pg_study")
    else:
        storage, name = str(tmp_path / "s" / "journal.log"), "eight"
    ledger = str(tmp_path / "ledger.jsonl")
    study = run_study(
        LedgerObjective(ledger, epochs=2, sleep=0.2, peers=2),
        study_name=name,
        n_trials=24,
        n_jobs=8,
        storage=storage,
        seed=0,
        pruner="none",
    )
    assert_nothing_lost(study, 24, ledger)
    assert len({worker_of(t) for t in study.trials}) > 1


def test_wrong_credentials_fail_clearly_without_the_secret(tmp_path):
    study_file = tmp_path / "s.toml"
    study_file.write_text(
        '[study]\nname = "creds"\nn_trials = 2\n[data]\ndataset = "iris"\n'
        '[estimator]\nclass = "LogisticClassifier"\n'
    )
    url = "postgresql://nobody:hunter2-secret@127.0.0.1:5432/no_such_db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tuner.cli",
            "run",
            str(study_file),
            "--storage",
            url,
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "nobody:***@" in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"hunter2-secret" not in path.read_bytes() or path == study_file


def test_storage_url_from_the_environment(tmp_path, monkeypatch, capsys):
    from tuner.cli import main

    study_file = tmp_path / "s.toml"
    study_file.write_text(
        '[study]\nname = "envs"\nn_trials = 2\ncv = 2\n[data]\n'
        'dataset = "iris"\n[estimator]\nclass = "LogisticClassifier"\n'
        "params = { max_epochs = 2 }\n"
    )
    journal = tmp_path / "elsewhere" / "journal.log"
    monkeypatch.setenv("TUNER_STORAGE", str(journal))
    assert main(["run", str(study_file), "--out", str(tmp_path), "--no-progress"]) == 0
    assert len(load("envs", str(journal)).trials) == 2


def test_concurrent_runs_never_exceed_the_budget(tmp_path):
    storage = str(tmp_path / "c" / "journal.log")
    ledger = str(tmp_path / "ledger.jsonl")
    errors = []

    def one_run() -> None:
        try:
            run_study(
                LedgerObjective(ledger, epochs=1),
                study_name="both",
                n_trials=10,
                storage=storage,
                seed=0,
                pruner="none",
            )
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert_nothing_lost(load("both", storage), 10, ledger)


@needs_postgres
def test_a_study_lock_whose_connection_was_cut_takes_a_new_one(monkeypatch, pg_study):
    # A connection cut after the pool's check and before the lock's query (as in a storm of
    # pg_terminate_backend) failed the worker and so the run: the lock now retries.
    import psycopg
    import sqlalchemy

    import tuner.study.locks as locks
    from tuner.study.storage import driver_url

    # One pooled connection, not checked on checkout: the lock's, whatever takes it.
    engine = sqlalchemy.create_engine(driver_url(PG_URL), pool_size=1, max_overflow=0)
    monkeypatch.setattr(locks, "_lock_engine", lambda url: engine)

    def backend() -> int:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT pg_backend_pid()")).scalar()

    with locks.study_lock(PG_URL, pg_study):
        pass
    cut = backend()
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (cut,))
    with locks.study_lock(PG_URL, pg_study):
        pass
    assert backend() != cut
    engine.dispose()
