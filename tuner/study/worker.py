"""A worker: start trials of a study and run them until its budget is used up.

Every worker, on every storage, from any machine, starts a trial by one rule:

1. take the study's lock (:func:`tuner.study.locks.study_lock`);
2. fail the RUNNING trials that lost their worker and queue their parameters
   again: on a database those whose heartbeat stopped (Optuna's
   ``fail_stale_trials``), and those whose worker process on this host has
   ended (:func:`fail_orphans`);
3. count the trials that use the budget (:class:`tuner.study.outcomes.Tally`);
   if one is left, ``Study.ask()`` (a queued trial first) and record the worker
   on it;
4. release the lock, run the objective (with heartbeats on a database) and
   ``Study.tell()`` how it ended (:class:`tuner.study.outcomes.Outcome`).

The lock only makes the count and the start one step, so that workers
together, from any number of runs, never exceed the budget.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import math
import numbers
import os
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from .allocation import AllocatedSampler, EqualAllocation, assign
from .locks import study_lock, worker_id
from .optuna_compat import trial_id_of
from .orphans import fail_orphans, queue_again
from .outcomes import (
    Diverged,
    Outcome,
    counts_towards_budget,
    error_of,
    outcome_of,
    record_outcome,
    record_worker,
    tally,
)
from .samplers import DEFAULT_PRUNER, make_pruner, make_sampler
from .storage import mask_url, open_storage, retry, transient_errors

__all__ = [
    "SAME_ERROR_LIMIT",
    "WorkerConfig",
    "WorkerSummary",
    "preload",
    "quiet_libraries",
    "run_worker",
    "worker_seed",
]

#: Trials in a row failing with one message that make a run stop.
SAME_ERROR_LIMIT = 5
#: Seeds per run: worker ``i`` of run ``r`` draws with ``seed + r * SEEDS_PER_RUN + i``.
SEEDS_PER_RUN = 1000


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker needs: picklable, the storage given by URL or path (or an in-memory
    storage, for the one worker of a run in this process)."""

    storage: str | optuna.storages.InMemoryStorage
    study_name: str
    objective: Callable[[optuna.Trial], float]
    n_trials: int  # the budget: trials that end on their own
    sampler: Mapping[str, Any] = field(default_factory=lambda: {"name": "tpe"})
    pruner: Mapping[str, Any] = field(default_factory=lambda: {"name": DEFAULT_PRUNER})
    seed: int | None = None
    run_index: int = 0  # this run's number among the study's runs (0 for the first)
    first_trial: int = 0  # this run's trials are numbered from here (see _same_error)
    deadline: float | None = None  # time.time() after which no new trial starts
    allocation: EqualAllocation | None = None  # equal shares per optimizer, or the sampler's
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = ()
    stop_event: str | None = None  # a Dask event's name: set, it stops the run's workers
    stop_file: str | None = None  # a file that, once there, stops the run's loky workers
    one_blas_thread: bool = True  # False: this is the run's only worker (see run_worker)


@dataclass
class WorkerSummary:
    """What a worker did: trials run, and why it stopped if not for the budget."""

    ran: int = 0
    interrupted: bool = False  # Ctrl-C reached its trial
    aborted: str | None = None  # every trial of the run failed with this error


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


def quiet_libraries() -> None:
    """Keep the libraries' notes on their own internals off the user's terminal.

    Optuna's experimental and future-change notes, SQLAlchemy's (pages long on
    a dropped connection), and the numeric RuntimeWarnings of training (an
    overflow is a diverged trial, recorded as such) say nothing a user can act
    on. The project's own warnings (a
    repaired journal) still show.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The storages log how they recover from a dropped connection ("Caught an error
    # from sqlalchemy ..."); the run retries, and says so itself when it gives up.
    logging.getLogger("optuna.storages").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"optuna")
    warnings.filterwarnings("ignore", module=r"sqlalchemy")
    # NumPy's floating-point notes, wherever the operation was written.
    warnings.filterwarnings(
        "ignore", r"(overflow|invalid value|divide by zero|underflow) encountered", RuntimeWarning
    )
    warnings.filterwarnings(
        "ignore", category=RuntimeWarning, module=r"(numpy|scipy|sklearn|optim|tuner\.estimators)"
    )


def run_worker(
    cfg: WorkerConfig, index: int = 0, storage: optuna.storages.BaseStorage | None = None
) -> WorkerSummary:
    """Start and run trials until the budget is used up, the deadline passes or the run stops.

    ``storage``, opened by the run's own process, saves worker 0 from
    opening it again (for a journal file, replaying it twice). BLAS runs one
    thread per worker when a run has several (``cfg.one_blas_thread``):
    workers on every core, each with BLAS threads on every core, oversubscribe
    them, and BLAS threads that wait for a busy core slow a trial several times
    over.
    """
    if not cfg.one_blas_thread:
        return _work(cfg, index, storage)
    with threadpool_limits(limits=1):
        return _work(cfg, index, storage)


def _work(
    cfg: WorkerConfig, index: int, storage: optuna.storages.BaseStorage | None
) -> WorkerSummary:
    quiet_libraries()
    seed = worker_seed(cfg.seed, cfg.run_index, index)
    storage = storage or retry(open_storage, cfg.storage)
    study = retry(
        optuna.load_study,
        study_name=cfg.study_name,
        storage=storage,
        sampler=_sampler(cfg, seed),
        pruner=make_pruner(**cfg.pruner),
    )
    worker_id()  # its lock file now: a temp dir that cannot hold it fails before any trial
    summary = WorkerSummary()
    stopped = _stop_condition(cfg, own_process=index == 0 and cfg.stop_event is None)
    while not stopped():
        # Only the claim is retried: a trial that started runs once, whatever happens.
        trial = retry(_claim_trial, study, storage, cfg, seed)
        if trial is None:
            break
        summary.ran += 1
        try:
            outcome = _run_trial(study, storage, trial, cfg)
        except KeyboardInterrupt:
            summary.interrupted = True
            break
        if outcome is Outcome.FAILED:
            summary.aborted = retry(_same_error, study, cfg.first_trial, cfg.n_trials)
            if summary.aborted:
                break
    return summary


def _stop_condition(cfg: WorkerConfig, own_process: bool) -> Callable[[], bool]:
    """Whether to start no new trial: the deadline passed, the run's process died (a
    loky worker outlives it when it is killed outright) or the run was stopped (its
    stop file is there, or its Dask event set). The run's own worker (``own_process``)
    is the run: its stop is an exception, not a file."""
    parent = os.getppid()
    event = None
    if cfg.stop_event is not None:
        from distributed import Event

        event = Event(cfg.stop_event)

    def stopped() -> bool:
        if cfg.deadline is not None and time.time() >= cfg.deadline:
            return True
        if own_process:
            return False
        if event is None and os.getppid() != parent:
            return True
        if cfg.stop_file is not None and os.path.exists(cfg.stop_file):
            return True
        return event is not None and event.is_set()

    return stopped


def _sampler(cfg: WorkerConfig, seed: int | None) -> optuna.samplers.BaseSampler:
    """The worker's sampler: the study's, or one per optimizer under equal allocation."""
    options = {k: v for k, v in cfg.sampler.items() if k != "name"}
    make = functools.partial(make_sampler, cfg.sampler["name"], **options)
    if cfg.allocation is None:
        return make(seed)
    return AllocatedSampler(make, cfg.allocation, seed)


def _claim_trial(
    study: optuna.Study, storage: optuna.storages.BaseStorage, cfg: WorkerConfig, seed: int | None
) -> optuna.Trial | None:
    """Start one trial under the study's lock, recorded as this worker's; None when the
    budget is used up."""
    beats = _heartbeat_interval(storage) is not None
    with study_lock(cfg.storage, cfg.study_name), _quiet_heartbeats() if beats else _NO_CONTEXT:
        if beats:  # a database: fail the trials whose heartbeat stopped
            optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        counts = tally(trials)
        if counts.running and fail_orphans(study, trials):  # orphans are RUNNING trials
            trials = study.get_trials(deepcopy=False)
            counts = tally(trials)
        if counts.used >= cfg.n_trials:
            return None
        if counts.waiting == 0 and cfg.allocation is not None:
            choices = cfg.allocation.next_choices(trials, cfg.n_trials)
            if not choices:  # every optimizer has its share (a lowered budget)
                return None
            study.enqueue_trial({}, user_attrs=assign({}, choices[0]))
        trial = study.ask()  # a queued trial first
        # Recorded under the lock: a RUNNING trial seen there without a worker lost it.
        record_worker(trial, worker_id(), seed)
    return trial


def _run_trial(
    study: optuna.Study, storage: optuna.storages.BaseStorage, trial: optuna.Trial,
    cfg: WorkerConfig,
) -> Outcome:  # fmt: skip
    """Run a started trial, record how it ended and tell Optuna; return the outcome.

    Ctrl-C propagates once the trial is told.
    """
    value, state = None, TrialState.FAIL
    with _heartbeat(storage, trial):
        try:
            value = cfg.objective(trial)
        except Diverged:
            outcome, state = Outcome.DIVERGED, TrialState.PRUNED
        except optuna.TrialPruned:
            outcome, state = Outcome.PRUNED, TrialState.PRUNED
        except KeyboardInterrupt:
            # Told and queued again with one try each, no retries: a busy storage (a
            # locked SQLite file) must neither hold up the exit nor turn the interrupt
            # into a storage error. A trial left RUNNING is failed as orphaned (and
            # queued again) by the next run.
            with contextlib.suppress(*transient_errors()):
                queue_again(study, study.tell(trial, state=TrialState.FAIL))
            raise
        except Exception as exc:  # one trial's error must not stop the study
            if isinstance(exc, transient_errors()) or _raised_by_storage(exc):
                outcome = Outcome.INTERRUPTED  # the storage failed, not the trial: again
            else:
                outcome = _fail(trial, _error(exc))
        except BaseException as exc:  # SystemExit and the like: told as failed, then on
            with contextlib.suppress(*transient_errors()):
                _fail(trial, _error(exc))
                study.tell(trial, state=TrialState.FAIL)
            raise
        else:
            n = len(study.directions)
            if _is_score(value) if n == 1 else _are_scores(value, n):
                outcome, state = Outcome.COMPLETE, TrialState.COMPLETE
            else:
                wanted = "a score" if n == 1 else f"{n} scores (one per objective)"
                outcome = _fail(
                    trial, f"ValueError: the objective returned {value!r:.40}, not {wanted}"
                )
                value = None
    if outcome is Outcome.DIVERGED:
        retry(record_outcome, trial, outcome)
    # skip_if_finished: a tell retried after its reply was lost, or a trial failed as stale.
    frozen = retry(study.tell, trial, value, state=state, skip_if_finished=True)
    if outcome is Outcome.INTERRUPTED and outcome_of(frozen) is Outcome.INTERRUPTED:
        with study_lock(cfg.storage, cfg.study_name):  # one check-and-queue at a time
            retry(queue_again, study, frozen)
    for callback in cfg.callbacks:
        callback(study, frozen)
    return outcome


def _heartbeat_interval(storage: optuna.storages.BaseStorage) -> int | None:
    """Seconds between a trial's heartbeats; None for a storage without (a journal file)."""
    return getattr(storage, "get_heartbeat_interval", lambda: None)()


@contextlib.contextmanager
def _quiet_heartbeats() -> Iterator[None]:
    """Optuna marks fail_stale_trials experimental and warns that heartbeats are meant for
    ``Study.optimize``; they are kept here as ``Study.optimize`` keeps them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        yield


_NO_CONTEXT = contextlib.nullcontext()


#: Where a storage's own code lives: an error raised there is the storage's fault.
_STORAGE_CODE = ("/optuna/storages/", "/sqlalchemy/", "/psycopg/", "/psycopg2/")


def _raised_by_storage(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside the storage (an Optuna storage, SQLAlchemy, a
    database driver) while the objective reported to it: a stale cache's ``KeyError``
    or a dropped connection is no fault of the trial's."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and any(part in frames[-1].filename for part in _STORAGE_CODE)


def _error(exc: BaseException) -> str:
    """``Type: message`` of an objective's error, credentials masked (it is stored)."""
    return mask_url(f"{type(exc).__name__}: {exc}")


def _fail(trial: optuna.Trial, error: str) -> Outcome:
    retry(record_outcome, trial, Outcome.FAILED, error)
    return Outcome.FAILED


def _heartbeat(
    storage: optuna.storages.BaseStorage, trial: optuna.Trial
) -> contextlib.AbstractContextManager:
    """Record heartbeats of a running trial in a thread (database storages only), as
    ``Study.optimize`` does: a trial whose beats stop is failed and run again."""
    interval = _heartbeat_interval(storage)
    return _beating(storage, trial, interval) if interval else _NO_CONTEXT


@contextlib.contextmanager
def _beating(storage: optuna.storages.BaseStorage, trial: optuna.Trial, interval: int
             ) -> Iterator[None]:  # fmt: skip
    trial_id, stop = trial_id_of(trial), threading.Event()

    def beat() -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed beat is retried at the next one
                storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _are_scores(value: Any, n: int) -> bool:
    """Whether ``value`` is a list or tuple of ``n`` scores (:func:`_is_score`)."""
    return isinstance(value, list | tuple) and len(value) == n and all(map(_is_score, value))


def _is_score(value: Any) -> bool:
    """Whether ``value`` is a trial's score: a real number (not a bool, a string or an
    array), not NaN, within a float's range."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return not math.isnan(float(value))
    except OverflowError:  # an int beyond 1e308
        return False


def _same_error(study: optuna.Study, first_trial: int, n_trials: int) -> str | None:
    """The error message if every trial of this run so far failed with it, else None.

    This run's trials are those numbered from ``first_trial`` (a few trials of
    an earlier run queued again may be among them, which can only keep the run
    going); it takes ``SAME_ERROR_LIMIT`` of them (fewer if the budget is
    smaller) to decide. A run whose trials began to fail after some completed
    goes on: the error belongs to a region of the space, not to the study.
    Earlier runs are left out, so a run after the cause was fixed is not
    stopped by the failures before the fix.
    """
    ended = [
        t for t in study.get_trials(deepcopy=False)
        if t.number >= first_trial and counts_towards_budget(t)
    ]  # fmt: skip
    if len(ended) < min(SAME_ERROR_LIMIT, n_trials):
        return None
    errors = {error_of(t) for t in ended}
    if len(errors) == 1 and None not in errors:
        return errors.pop()
    return None
