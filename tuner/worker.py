"""A worker: claim trials of a study and run them until the budget is used up.

On a database, workers take tickets that the run issued (the storage's atomic
WAITING -> RUNNING change, as ``Study.ask`` does), so the budget is exact
however many workers join, from whatever machine. On a journal file, whose
workers all run on this machine, a worker starts a new trial itself while it
holds the study's lock, which makes the count exact with one write per trial
instead of three; tickets there (re-queued trials) are still taken first.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import reprlib
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import joblib
import optuna
from optuna.study._tell import _check_values_are_feasible, _tell_with_warning
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from .allocation import AllocatedSampler, EqualAllocation, assign, assigned
from .budget import counts_towards_budget, tally
from .samplers import DEFAULT_PRUNER, make_pruner, make_sampler
from .storage import exclusive, is_local_file, open_storage

__all__ = [
    "SAME_ERROR_LIMIT",
    "WorkerConfig",
    "new_trial",
    "preload",
    "quiet_libraries",
    "retry",
    "run_worker",
    "starts_own_trials",
    "transient_errors",
    "worker_id",
    "worker_seed",
]

#: Trials in a row failing with one message that make a study stop.
SAME_ERROR_LIMIT = 5
#: Seconds between a worker's looks for a stopped run (one query on a database).
STOP_CHECK_INTERVAL = 1.0
T = TypeVar("T")


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs: picklable, the storage given by URL or path."""

    storage: str
    study_name: str
    objective: Callable[[optuna.Trial], float]
    sampler: Mapping[str, Any] = field(default_factory=lambda: {"name": "tpe"})
    pruner: Mapping[str, Any] = field(default_factory=lambda: {"name": DEFAULT_PRUNER})
    seed: int | None = None
    run_index: int = 0  # this run's number among the study's runs (0 for the first)
    deadline: float | None = None  # time.time() after which no new trial starts
    run_id: str = ""
    blas_threads: int = 1
    n_trials: int = 0  # the run's budget; on a journal file, workers start trials up to it
    allocation: EqualAllocation | None = None  # equal shares per optimizer, or the sampler's
    run_pid: int = 0  # the run's process; a worker process whose parent dies stops
    first_trial: int = 0  # this run's trials are numbered from here (see _same_error_everywhere)


def starts_own_trials(storage: str) -> bool:
    """Whether workers start trials themselves (a journal file) rather than take tickets.

    Every worker of a journal file runs on this machine and shares its lock, so a
    worker can count the budget and create a trial under that lock in one write;
    a database's workers may be anywhere, so the run issues tickets for them.
    """
    return is_local_file(storage)


#: Seeds per run: worker ``i`` of run ``r`` draws with ``seed + r * SEEDS_PER_RUN + i``.
SEEDS_PER_RUN = 1000


def worker_seed(seed: int | None, run_index: int, index: int) -> int | None:
    """The sampler seed of worker ``index`` of the study's run number ``run_index``.

    Each worker draws differently, and so does each run: a resumed run or a
    joining ``tuner worker`` that reused ``seed + index`` would draw again the
    parameters of the first run's trials. The first run keeps ``seed + index``.
    """
    if seed is None:
        return None
    return (seed + run_index * SEEDS_PER_RUN + index) % 2**32  # NumPy seeds are 32-bit


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` in a worker process ahead of its first trial."""
    for name in modules:
        importlib.import_module(name)


def worker_id() -> str:
    """``host:pid`` of this process, recorded on each trial it runs."""
    return f"{_hostname()}:{os.getpid()}"


@functools.cache
def _hostname() -> str:
    return socket.gethostname()  # a system call, asked once per process


def transient_errors() -> tuple[type[BaseException], ...]:
    """Storage errors worth another try: a dropped connection, a restarted server.

    SQLAlchemy's errors can only be raised once a database storage has imported
    it; a worker on a journal file does without its import (a third of a second).
    """
    sa = sys.modules.get("sqlalchemy.exc")
    if sa is None:
        return (optuna.exceptions.StorageInternalError,)
    return (optuna.exceptions.StorageInternalError, sa.OperationalError, sa.InterfaceError)


def retry(fn: Callable[..., T], *args: Any, attempts: int = 6, **kwargs: Any) -> T:
    """Call ``fn``, retrying transient storage errors with exponential backoff (~6 s)."""
    delay = 0.1
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except transient_errors():
            if attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def run_worker(
    cfg: WorkerConfig, index: int = 0, storage: optuna.storages.BaseStorage | None = None
) -> dict[str, Any]:
    """Claim and run trials until none is left, the deadline passes or the run stops.

    BLAS threads are limited to ``cfg.blas_threads`` (whatever the backend) so
    that workers never oversubscribe the cores. ``storage``, an open storage of
    ``cfg.storage``, saves a worker in the run's own process from opening it
    again (for a journal file, replaying it twice). Returns
    ``{"ran": n, "interrupted": bool, "aborted": message or None}``.
    """
    if cfg.blas_threads >= (joblib.cpu_count() or 1):
        return _work(cfg, index, storage)  # a limit of every core changes nothing
    with threadpool_limits(limits=cfg.blas_threads):
        return _work(cfg, index, storage)


def quiet_libraries() -> None:
    """Keep the libraries' notes on their own internals off the user's terminal.

    Optuna's experimental and future-change notes, SQLAlchemy's (pages long on
    a dropped connection), and the numeric RuntimeWarnings of training (an
    overflow is a diverged trial, recorded as such) say nothing a user can act
    on. The project's own warnings (a repaired journal) still show.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"optuna")
    warnings.filterwarnings("ignore", module=r"sqlalchemy")
    warnings.filterwarnings(
        "ignore", category=RuntimeWarning, module=r"(numpy|scipy|sklearn|optim|tuner\.estimators)"
    )


def _work(
    cfg: WorkerConfig, index: int, storage: optuna.storages.BaseStorage | None
) -> dict[str, Any]:
    quiet_libraries()
    study = retry(
        optuna.load_study,
        study_name=cfg.study_name,
        storage=storage or open_storage(cfg.storage),
        sampler=_sampler(cfg, worker_seed(cfg.seed, cfg.run_index, index)),
        pruner=make_pruner(**cfg.pruner),
    )
    summary: dict[str, Any] = {"ran": 0, "interrupted": False, "aborted": None}
    # A stale trial is one whose heartbeat stopped a grace period ago: looking once
    # per heartbeat interval finds it as soon as looking before every trial would.
    # Without heartbeats (a journal file) there is nothing to look for.
    scan_interval = _heartbeat_interval(study._storage)
    next_scan = next_stop_check = 0.0
    own_trials = starts_own_trials(cfg.storage)
    parent = os.getppid()
    while cfg.deadline is None or time.time() < cfg.deadline:
        if os.getpid() != cfg.run_pid and os.getppid() != parent:
            break  # the run's process died (killed outright): start no new trial
        if time.monotonic() >= next_stop_check:
            # The storage's own dict: Study.user_attrs deep-copies every attribute each time.
            attrs = retry(study._storage.get_study_user_attrs, study._study_id)
            if attrs.get("stop_run") == cfg.run_id:
                break
            next_stop_check = time.monotonic() + STOP_CHECK_INTERVAL
        if scan_interval and time.monotonic() >= next_scan:
            retry(_fail_stale_trials, study)
            next_scan = time.monotonic() + scan_interval
        if own_trials:
            trial_id, recorded = retry(_take_or_start_trial, study, cfg)
        else:
            trial_id, recorded = retry(_claim_ticket, study), False
        if trial_id is None:
            break
        outcome = _run_trial(study, trial_id, cfg.objective, record_worker=not recorded)
        summary["ran"] += 1
        if outcome == "interrupted":
            summary["interrupted"] = True
            break
        if outcome == "failed":
            summary["aborted"] = retry(_same_error_everywhere, study, cfg.first_trial)
            if summary["aborted"]:
                break
    return summary


def _sampler(cfg: WorkerConfig, seed: int | None) -> optuna.samplers.BaseSampler:
    """The worker's sampler: the study's, or one per optimizer under equal allocation."""
    options = {k: v for k, v in cfg.sampler.items() if k != "name"}
    make = functools.partial(make_sampler, cfg.sampler["name"], **options)
    if cfg.allocation is None:
        return make(seed)
    return AllocatedSampler(make, cfg.allocation, seed)


def _run_trial(study: optuna.Study, trial_id: int, objective, record_worker: bool = True) -> str:
    """Run one claimed trial and record how it ended; return that outcome."""
    trial = retry(optuna.Trial, study, trial_id)
    if record_worker:
        try:
            retry(trial.set_user_attr, "worker", worker_id())
        except optuna.exceptions.UpdateFinishedTrialError:
            return "lost"  # failed as orphaned before the record landed; it runs again
    with _heartbeat(study._storage, trial_id):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            _tell(study, trial, state=TrialState.PRUNED)
            return "pruned"
        except KeyboardInterrupt:
            # One try each, no retries: a busy storage (a locked SQLite file) must neither
            # hold up the exit nor turn the interrupt into a storage error. A trial left
            # RUNNING is failed as orphaned by the next run.
            with contextlib.suppress(*transient_errors()):
                trial.set_user_attr("interrupted", True)
            with contextlib.suppress(*transient_errors()):
                _tell_with_warning(study, trial, None, TrialState.FAIL, skip_if_finished=True)
            return "interrupted"
        except transient_errors():
            # The storage, not the trial, failed: give the ticket back.
            retry(trial.set_user_attr, "interrupted", True)
            _tell(study, trial, state=TrialState.FAIL)
            again = assign({"retry_of": trial.number}, assigned(trial))
            retry(study.enqueue_trial, trial.params, user_attrs=again)
            return "requeued"
        except Exception as exc:  # one trial's error must not stop the study
            return _fail(study, trial, f"{type(exc).__name__}: {exc}")
    if _check_values_are_feasible(study, [value]) is not None:
        # Optuna would fail it without an error of its own, and it would not count.
        return _fail(
            study, trial, f"ValueError: the objective returned {reprlib.repr(value)}, not a score"
        )
    _tell(study, trial, value)
    return "complete"


def _fail(study: optuna.Study, trial: optuna.Trial, error: str) -> str:
    """Fail a trial by its own ``error`` (it counts towards the budget); return ``"failed"``."""
    retry(trial.set_user_attr, "error", error)
    _tell(study, trial, state=TrialState.FAIL)
    return "failed"


def _tell(study: optuna.Study, trial: optuna.Trial, value=None, state=None) -> None:
    """Tell a trial's end as ``Study.optimize`` does, surviving a retry after a lost reply.

    ``Study.tell`` would read the trial back and deep-copy it for a return value
    nobody uses, a cost on every trial. A trial already finished (by an earlier
    attempt whose reply was lost, or failed as stale) is left as it is.
    """
    retry(_tell_with_warning, study, trial, value, state, skip_if_finished=True)


@contextlib.contextmanager
def _heartbeat(storage: optuna.storages.BaseStorage, trial_id: int) -> Iterator[None]:
    """Record heartbeats of a running trial in a thread (database storages only)."""
    interval = _heartbeat_interval(storage)
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # a missed beat is retried at the next interval
                pass
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _heartbeat_interval(storage: optuna.storages.BaseStorage) -> int | None:
    """Seconds between heartbeats, or None when the storage keeps none (a journal)."""
    return getattr(storage, "get_heartbeat_interval", lambda: None)()


def _fail_stale_trials(study: optuna.Study) -> None:
    """Fail trials whose heartbeat stopped (their callback re-queues them)."""
    with warnings.catch_warnings():  # experimental in Optuna, and relied upon here
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def _take_or_start_trial(study: optuna.Study, cfg: WorkerConfig) -> tuple[int | None, bool]:
    """Claim a WAITING trial, else start a new one if the budget allows.

    Returns the trial id (None when the budget is taken) and whether this
    worker is already recorded on it (a new trial is created with its record).
    The study's lock (the one that serializes runs issuing tickets) is held
    from the count to the write, so concurrent workers and runs never overshoot.
    """
    storage = study._storage
    with exclusive(cfg.storage, cfg.study_name):
        trials = storage.get_all_trials(study._study_id, deepcopy=False)
        counts = tally(trials)
        for t in trials if counts["waiting"] else ():  # re-queued trials first
            if t.state == TrialState.WAITING:
                if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                    return t._trial_id, False
        if counts["taken"] >= cfg.n_trials:
            return None, False
        choice = None
        if cfg.allocation is not None:
            choices = cfg.allocation.next_choices(trials, cfg.n_trials)
            if not choices:  # every optimizer has its share (a lowered budget)
                return None, False
            choice = choices[0]
        template = new_trial(TrialState.RUNNING, assign({"worker": worker_id()}, choice))
        return storage.create_new_trial(study._study_id, template_trial=template), True


def new_trial(state: TrialState, user_attrs: Mapping[str, Any]) -> optuna.trial.FrozenTrial:
    """A template for ``storage.create_new_trial``: a RUNNING trial or a WAITING ticket.

    Creating from a template is one write; ``Study.enqueue_trial`` also validates
    the trial and stores an empty ``fixed_params`` attribute, which made a
    ticket on PostgreSQL cost about twice as much.
    """
    return optuna.trial.FrozenTrial(
        number=-1,
        state=state,
        value=None,
        datetime_start=datetime.now() if state == TrialState.RUNNING else None,
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs=dict(user_attrs),
        system_attrs={},
        intermediate_values={},
        trial_id=-1,
    )


def _claim_ticket(study: optuna.Study) -> int | None:
    """Atomically take one WAITING trial, or None if none is left."""
    storage = study._storage
    while True:
        waiting = _waiting_trial_ids(storage, study._study_id)
        for trial_id in waiting:
            try:
                if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    return trial_id
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
        if len(waiting) < CLAIM_BATCH:
            return None  # every ticket seen was taken by others, and there are no more


#: Ticket ids read from a database per query; other workers may take some first.
CLAIM_BATCH = 8


def _waiting_trial_ids(storage: optuna.storages.BaseStorage, study_id: int) -> list[int]:
    """Ids of the study's WAITING trials, oldest first (at most ``CLAIM_BATCH`` from a database).

    A database is asked for ids alone: Optuna's ``get_all_trials`` reads every
    open ticket whole, which made each claim cost as much as all the tickets left.
    """
    backend = getattr(storage, "_backend", storage)  # the RDBStorage inside Optuna's cache
    if not isinstance(backend, optuna.storages.RDBStorage):
        waiting = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,))
        return [t._trial_id for t in waiting]
    import sqlalchemy
    from optuna.storages._rdb.models import TrialModel

    query = (
        sqlalchemy.select(TrialModel.trial_id)
        .where(TrialModel.study_id == study_id, TrialModel.state == TrialState.WAITING)
        .order_by(TrialModel.trial_id)
        .limit(CLAIM_BATCH)
    )
    with backend.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _same_error_everywhere(study: optuna.Study, first_trial: int = 0) -> str | None:
    """The error message if every trial of this run so far failed with it, else None.

    This run's trials are those numbered from ``first_trial`` (see
    ``tuner.study``; a few of an earlier run may be among them, which can only
    keep the run going); it takes
    ``SAME_ERROR_LIMIT`` of them (fewer if the budget is smaller) to decide. A run
    whose trials began to fail after some completed goes on: the error belongs to a
    region of the space, not to the study. Earlier runs are left out, so a run
    after the cause was fixed is not stopped by the failures before the fix.
    """
    ended = [
        t for t in study.get_trials(deepcopy=False)
        if t.number >= first_trial and counts_towards_budget(t)
    ]  # fmt: skip
    if len(ended) < min(SAME_ERROR_LIMIT, study.user_attrs.get("n_trials", SAME_ERROR_LIMIT)):
        return None
    errors = {t.user_attrs.get("error") for t in ended}
    if len(errors) == 1 and None not in errors:
        return errors.pop()
    return None
