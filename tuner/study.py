"""Run a tuning study in parallel worker processes that share one Optuna storage.

The trial budget is exact whatever the number of workers. On a database,
the run puts one WAITING "ticket" trial per missing trial into the storage
before workers start, and a worker only claims a ticket (the storage's atomic
WAITING -> RUNNING change). On a journal file, whose workers all run on this
machine, a worker counts and starts a trial itself under the study's lock
(see :mod:`tuner.worker`). A run that is killed leaves RUNNING trials whose
process is gone; the next run marks them failed (``interrupted``) and runs
their share again, so the count of trials that ended on their own reaches
``n_trials`` with nothing lost and nothing twice.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import importlib.util
import ipaddress
import os
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import joblib
import optuna
from joblib.executor import get_memmapping_executor
from joblib.externals.loky.process_executor import ProcessPoolExecutor, TerminatedWorkerError
from optuna.trial import TrialState

from .allocation import EqualAllocation, assign, assigned
from .budget import count_trials, tally
from .progress import ProgressBar
from .samplers import DEFAULT_PRUNER, make_pruner, make_sampler
from .storage import (
    check_study_name,
    default_storage,
    exclusive,
    is_local_file,
    mask_url,
    open_storage,
)
from .worker import (
    WorkerConfig,
    new_trial,
    preload,
    retry,
    run_worker,
    starts_own_trials,
    transient_errors,
)

__all__ = [
    "BACKENDS",
    "StudyAborted",
    "check_backend",
    "create_study",
    "reconcile",
    "run_study",
    "start_workers",
    "worker_count",
]

#: Where worker processes run: joblib's loky processes, or Dask workers.
BACKENDS = ("loky", "dask")
#: A worker records itself on a trial right after claiming it; a RUNNING trial still
#: without a record after this many seconds lost its worker in between.
ORPHAN_AGE = 10.0
#: Runs of crashed worker pools tolerated before giving up.
MAX_CRASHED_ROUNDS = 3


class StudyAborted(RuntimeError):
    """Every trial of a run failed with the same error (a bad data file, a bad parameter).

    It takes ``tuner.worker.SAME_ERROR_LIMIT`` such trials; the run stops there
    instead of spending its whole budget on them.
    """


def _spec(value: str | Mapping[str, Any] | None, default: str) -> dict[str, Any]:
    if value is None:
        return {"name": default}
    if isinstance(value, str):
        return {"name": value}
    spec = dict(value)
    spec.setdefault("name", default)
    return spec


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (Linux); None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count after its ')'.
    ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])  # field 22: start after boot
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


@functools.cache
def _boot_time() -> float:
    with open("/proc/stat", "rb") as f:
        return float(next(line.split()[1] for line in f if line.startswith(b"btime ")))


#: Seconds of tolerance when comparing a process's start with its trial's (the boot
#: time is given in whole seconds).
START_SLACK = 2.0


def _worker_gone(pid: int, trial_start: datetime.datetime | None) -> bool:
    """Whether the process that ran a trial started at ``trial_start`` has ended.

    A process of that pid that started after the trial is another one that
    reuses the number (common in containers, whose pids restart low): the
    trial's own worker is gone.
    """
    if not _pid_alive(pid):
        return True
    started = _process_start(pid)
    if started is None or trial_start is None:
        return False
    return started > trial_start.timestamp() + START_SLACK


def _is_loopback(address: str) -> bool:
    """Whether a scheduler address (``tcp://host:port``) listens on this machine only.

    Only workers of this machine can join such a scheduler, so they all reach
    a local journal file.
    """
    host = urllib.parse.urlsplit(address if "://" in address else f"tcp://{address}").hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


# -- the run ---------------------------------------------------------------------------
def reconcile(
    study: optuna.Study, n_trials: int | None, allocation: EqualAllocation | None = None
) -> dict[str, int]:
    """Fail orphaned RUNNING trials, then bring the tickets in line with ``n_trials``.

    A RUNNING trial is orphaned when its worker ran on this host and its
    process is gone (its pid unused, or used by a process that started after
    the trial), or when no worker was ever recorded for it and it is
    older than ``ORPHAN_AGE``. Tickets are issued up to ``n_trials``; tickets
    beyond it (left by an earlier run with a larger budget) are withdrawn, so
    that lowering the budget holds. ``None`` leaves the tickets alone. Under an
    equal ``allocation`` each ticket is given its optimizer, and withdrawn
    tickets come from the optimizers beyond their share first. Returns
    counts: ``orphaned``, ``issued``, ``withdrawn``.
    """
    storage = study._storage
    host = socket.gethostname()
    orphaned = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker")
        if worker is None:
            age = time.time() - t.datetime_start.timestamp() if t.datetime_start else 0.0
            stale = age > ORPHAN_AGE
        else:
            w_host, _, pid = worker.rpartition(":")
            stale = w_host == host and _worker_gone(int(pid), t.datetime_start)
        if stale:
            storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            try:
                storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
                orphaned += 1
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # its worker finished it after all
    counts = {"orphaned": orphaned, "issued": 0, "withdrawn": 0}
    if n_trials is None:
        return counts
    trials = study.get_trials(deepcopy=False)
    missing = n_trials - tally(trials)["taken"]
    if allocation is None:
        choices = [None] * max(0, missing)
    else:
        choices = allocation.next_choices(trials, n_trials, max(0, missing))
    for choice in choices:
        ticket = new_trial(TrialState.WAITING, assign({}, choice))
        storage.create_new_trial(study._study_id, template_trial=ticket)
    counts["issued"] = len(choices)
    if missing < 0:
        surplus = allocation.surplus(trials, n_trials) if allocation else None
        counts["withdrawn"] = _withdraw_tickets(study, -missing, surplus)
    return counts


def _withdraw_tickets(
    study: optuna.Study, n: int, surplus: Mapping[str, int] | None = None
) -> int:
    """Withdraw up to ``n`` WAITING tickets, newest first; return how many.

    Tickets of optimizers beyond their share (``surplus``, by optimizer) go
    first. A ticket is claimed first (the atomic WAITING -> RUNNING change that
    workers use), so one that a worker took meanwhile runs as it should. A
    withdrawn ticket fails with ``withdrawn`` set: it never ran and does not count.
    """
    storage = study._storage
    withdrawn = 0
    waiting = sorted(
        study.get_trials(deepcopy=False, states=(TrialState.WAITING,)), key=lambda t: -t.number
    )
    left, first = dict(surplus or {}), []
    for t in waiting:
        if left.get(assigned(t), 0) > 0:
            left[assigned(t)] -= 1
            first.append(t)
    for t in first + [t for t in waiting if t not in first]:
        if withdrawn == n:
            break
        try:
            claimed = storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # a worker took it and already finished it
        if claimed:
            storage.set_trial_user_attr(t._trial_id, "withdrawn", True)
            storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            withdrawn += 1
    return withdrawn


def create_study(
    study_name: str,
    storage: str,
    direction: str = "maximize",
    user_attrs: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Create the study in ``storage``, or load it; record ``user_attrs`` on creation."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=open_storage(storage),
            direction=direction,
            load_if_exists=True,
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    if study.direction.name.lower() != direction:
        raise ValueError(
            f"study {study_name!r} exists with direction {study.direction.name.lower()}, "
            f"not {direction}"
        )
    for key, value in (user_attrs or {}).items():
        if key not in study.user_attrs:
            study.set_user_attr(key, value)
    return study


def run_study(
    objective: Callable[[optuna.Trial], float],
    *,
    study_name: str,
    n_trials: int,
    storage: str | None = None,
    n_jobs: int = 1,
    direction: str = "maximize",
    sampler: str | Mapping[str, Any] | None = "tpe",
    pruner: str | Mapping[str, Any] | None = DEFAULT_PRUNER,
    seed: int | None = None,
    timeout: float | None = None,
    directory: str | os.PathLike = "reports",
    progress: bool | None = None,
    study_attrs: Mapping[str, Any] | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    allocation: EqualAllocation | None = None,
) -> optuna.Study:
    """Create or resume a study and run it in ``n_jobs`` worker processes.

    Parameters
    ----------
    objective : callable
        Picklable ``objective(trial) -> float`` (for example a
        :class:`tuner.objective.Objective`); raise ``optuna.TrialPruned`` to prune.
    study_name : str
        Name of the study (letters, digits, ``.``, ``_``, ``-``).
    n_trials : int
        Trials that should end on their own (complete, pruned or failed by an
        error of their own); trials cut short by a killed or interrupted run
        are run again and do not count.
    storage : str, optional
        Optuna storage URL, or a journal file path. Default: the journal file
        ``<directory>/<study_name>/journal.log``.
    n_jobs : int, default=1
        Workers; -1 for one per core. With loky, worker 0 runs in this process
        (it starts at once, while the others start) and the rest in joblib's
        loky processes; with Dask, all run as Dask tasks.
    direction : {"maximize", "minimize"}, default="maximize"
    sampler, pruner : str or mapping
        A name (``"tpe"``, ``"successive_halving"``) or ``{"name": ..., **options}``;
        see :func:`tuner.samplers.make_pruner` for the fair pruner's ``group_by``
        and ``n_warmup_steps``.
    seed : int, optional
        Seed of worker ``i``'s sampler is ``seed + i`` in the study's first run;
        each later run (a resume, a joining worker) shifts it by 1000, so that it
        does not draw the same parameters again. Recorded in the study.
    timeout : float, optional
        Seconds after which no new trial starts; running trials finish.
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    study_attrs : mapping, optional
        Extra study user attributes, recorded when the study is created.
    backend : {"loky", "dask"}, default="loky"
        Where workers run: local processes, or Dask workers through joblib's
        dask backend. With ``"dask"`` and no ``scheduler``, a ``LocalCluster``
        of ``n_jobs`` single-threaded worker processes is started.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); its workers must all
        reach ``storage``, so a journal file (local to this machine) is refused
        unless the scheduler listens on loopback (``tcp://127.0.0.1:...``, a
        cluster of this machine only).
    allocation : EqualAllocation, optional
        Give every optimizer an equal share of the trials, each searched by
        its own sampler (see :mod:`tuner.allocation`); recorded in the study
        as ``allocation = "equal"``. Default: the sampler picks the optimizer.

    Returns
    -------
    optuna.Study

    Raises
    ------
    StudyAborted
        When every trial of this run failed with the same error.
    KeyboardInterrupt
        On Ctrl-C, after running trials were finished or failed cleanly; the
        study resumes when run again.
    """
    check_study_name(study_name)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
    storage = storage or default_storage(study_name, directory)
    n_workers = worker_count(n_jobs)
    check_backend(storage, backend, scheduler)
    sampler_spec, pruner_spec = _spec(sampler, "tpe"), _spec(pruner, DEFAULT_PRUNER)
    make_sampler(
        sampler_spec["name"], seed, **{k: v for k, v in sampler_spec.items() if k != "name"}
    )  # fail fast on bad options
    make_pruner(**pruner_spec)
    attrs = {
        "sampler": sampler_spec,
        "pruner": pruner_spec,
        "seed": seed,
        "storage": mask_url(storage),
        **(study_attrs or {}),
    }
    if allocation is not None:
        attrs.update(allocation="equal", optimizers=list(allocation.choices))
    study = retry(create_study, study_name, storage, direction, attrs)
    _check_allocation(study, attrs.get("allocation"))
    retry(study.set_user_attr, "n_trials", n_trials)
    with exclusive(storage, study_name):
        run_index = retry(_next_run_index, study)
    first_trial = retry(_first_trial_of_run, study)

    run_id = uuid.uuid4().hex
    cfg = WorkerConfig(
        storage=storage,
        study_name=study_name,
        objective=objective,
        sampler=sampler_spec,
        pruner=pruner_spec,
        seed=seed,
        run_index=run_index,
        run_id=run_id,
        deadline=None if timeout is None else time.time() + timeout,
        blas_threads=max(1, (joblib.cpu_count() or 1) // n_workers),
        n_trials=n_trials,
        first_trial=first_trial,
        allocation=allocation,
        run_pid=os.getpid(),
    )
    bar = ProgressBar(study, n_trials, enabled=progress)
    bar.start()
    try:
        with _backend(backend, scheduler, n_workers):
            aborted = _run_rounds(study, cfg, n_trials, n_workers, backend)
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):  # a storage error must not replace the Ctrl-C
            _stop_workers(study, run_id)
        raise
    finally:
        bar.close()
        # Tidying only (the next run does it too): it must not replace the run's outcome.
        with contextlib.suppress(*transient_errors()):
            retry(reconcile_quietly, study)
    if aborted:
        raise StudyAborted(
            f"study {study_name!r} stopped: every trial of this run failed with {aborted}"
        )
    return study


def _check_allocation(study: optuna.Study, wanted: str | None) -> None:
    """Refuse to go on with another allocation than the one the study was run with."""
    recorded = study.user_attrs.get("allocation")
    if wanted is not None and recorded is not None and recorded != wanted:
        raise ValueError(
            f"study {study.study_name!r} shares its trials among optimizers by "
            f"allocation {recorded!r}, not {wanted!r}; run it as it began, or start a new "
            "study (another name)"
        )


def check_backend(storage: str, backend: str, scheduler: str | None) -> None:
    """Raise ``ValueError`` unless workers on ``backend`` (and ``scheduler``) can reach ``storage``.

    A journal file lives on this machine: a Dask scheduler whose workers may run
    elsewhere needs a database storage instead. Nothing is contacted.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "dask" and importlib.util.find_spec("distributed") is None:
        raise ValueError("backend 'dask' needs Dask: pip install 'optim-tuner[distributed]'")
    if scheduler is not None and backend != "dask":
        raise ValueError(f"a Dask scheduler needs backend='dask', got backend={backend!r}")
    if scheduler is not None and is_local_file(storage) and not _is_loopback(scheduler):
        raise ValueError(
            f"the Dask scheduler {mask_url(scheduler)!r} may have workers on other machines: it "
            "needs a storage every worker can reach (for example postgresql://...); "
            f"{mask_url(storage)!r} is a file on this machine"
        )


def worker_count(n_jobs: int) -> int:
    """Workers for ``n_jobs``: -1 means one per core; raises ``ValueError`` otherwise."""
    n_workers = joblib.cpu_count() if n_jobs == -1 else n_jobs
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    return n_workers


def _loky_executor(n: int) -> ProcessPoolExecutor:
    """joblib's reusable loky executor of ``n`` processes (the one a later call reuses)."""
    return get_memmapping_executor(n)


def start_workers(n_jobs: int, modules: Sequence[str] = ()) -> ProcessPoolExecutor | None:
    """Start the worker processes of a coming loky ``run_study(n_jobs=n_jobs)`` now.

    A new worker process imports scikit-learn and the objective's modules, about
    two seconds, before its first trial. Started while the caller still reads
    its study file and data, the processes import ``modules`` meanwhile, and
    ``run_study`` finds them ready (joblib keeps them for 5 idle minutes). Worker 0
    runs in the caller's process, so ``n_jobs - 1`` processes start; none for 1.

    Returns the loky executor (None for one job): when no run follows, its
    ``shutdown(kill_workers=True)`` ends the processes without waiting for
    their imports, which Python's exit would otherwise do.
    """
    n = worker_count(n_jobs) - 1
    if n < 1:
        return None
    executor = _loky_executor(n)
    for _ in range(n):  # each import takes seconds, so the n tasks spread over the n processes
        executor.submit(preload, tuple(modules))
    return executor


def _first_trial_of_run(study: optuna.Study) -> int:
    """The lowest number a trial of this run can have: its own trials are created from
    here on, and tickets an earlier run left (which it takes first) are waiting now."""
    trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
    return min([t.number for t in trials if t.state == TrialState.WAITING] + [len(trials)])


def _next_run_index(study: optuna.Study) -> int:
    """Count this run among the study's runs (under the study's lock); return its index.

    A new run also clears an earlier run's ``aborted`` mark: it reports an error
    that the user may have fixed since, and this run decides anew.
    """
    attrs = study._storage.get_study_user_attrs(study._study_id)
    runs = attrs.get("runs", 0)
    study.set_user_attr("runs", runs + 1)
    if attrs.get("aborted"):
        study.set_user_attr("aborted", None)
    return runs


def reconcile_quietly(study: optuna.Study) -> None:
    """Mark trials orphaned by this run as interrupted, without issuing tickets."""
    reconcile(study, None)


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None, n_workers: int) -> Iterator[None]:
    """Make joblib run on ``backend``: loky as it is, or a Dask client for the dask one."""
    if backend == "loky":
        yield
        return
    from distributed import Client, LocalCluster  # present: check_backend looked
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                             dashboard_address=None)
            )  # fmt: skip
            scheduler = cluster.scheduler_address
        stack.enter_context(Client(scheduler))
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield


def _run_rounds(
    study, cfg: WorkerConfig, n_trials: int, n_workers: int, backend: str
) -> str | None:
    """Run pools of workers until the budget is met; return the error that stopped it, if any."""
    crashed = 0
    issue = not starts_own_trials(cfg.storage)
    while True:
        with exclusive(cfg.storage, cfg.study_name):
            retry(reconcile, study, n_trials if issue else None, cfg.allocation)
        counts = retry(count_trials, study)
        todo = counts["waiting"] + max(0, n_trials - counts["taken"])
        if cfg.deadline is not None and time.time() >= cfg.deadline:
            return None
        if todo == 0:
            if not retry(_unrecorded_running, study):
                return None
            time.sleep(1.0)  # a worker killed right after a claim: wait for reconcile to tell
            continue
        try:
            summaries = _run_pool(study, cfg, min(n_workers, todo), backend)
        except TerminatedWorkerError:
            crashed += 1
            if crashed >= MAX_CRASHED_ROUNDS:
                raise
            continue  # a worker died: reconcile re-issues its trial, then go on
        aborted = next((s["aborted"] for s in summaries if s["aborted"]), None)
        if aborted:
            retry(study.set_user_attr, "aborted", aborted)  # for the report
            return aborted
        if any(s["interrupted"] for s in summaries):
            raise KeyboardInterrupt
        if all(s["ran"] == 0 for s in summaries):
            return None  # trials are left but nobody could take one (taken by other runs)


def _unrecorded_running(study: optuna.Study) -> bool:
    """Whether a RUNNING trial has no worker recorded (claimed a moment ago, or orphaned)."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return any("worker" not in t.user_attrs for t in running)


def _stop_workers(study: optuna.Study, run_id: str) -> None:
    """Tell this run's workers, also those the Ctrl-C did not reach, to start no new trial."""
    retry(study.set_user_attr, "stop_run", run_id)


def _run_pool(study, cfg: WorkerConfig, n: int, backend: str) -> list[dict[str, Any]]:
    """Run ``n`` workers and return their summaries.

    With loky, worker 0 runs in this process and thread: it starts trials at
    once while the other workers' processes still import their modules, and
    Ctrl-C reaches its trial directly. With dask, joblib's dask backend runs
    them all.
    """
    first = 1 if backend == "loky" else 0
    result: dict[str, Any] = {"value": []}

    def others() -> None:
        indices = range(first, n)
        try:
            if backend == "loky":
                # joblib's loky executor itself: Parallel would run one job in this thread.
                executor = _loky_executor(len(indices))
                futures = [executor.submit(run_worker, cfg, i) for i in indices]
                result["value"] = [f.result() for f in futures]
            else:
                result["value"] = joblib.Parallel(n_jobs=len(indices))(
                    joblib.delayed(run_worker)(cfg, i) for i in indices
                )
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=others, name="tuner-workers", daemon=True)
    if n > first:
        thread.start()
    try:
        own = [run_worker(cfg, 0, study._storage)] if first else []
        if own and own[0]["interrupted"]:
            raise KeyboardInterrupt  # the Ctrl-C reached worker 0's trial
        while thread.is_alive():
            thread.join(timeout=0.5)  # short joins: Ctrl-C gets through on every platform
    except BaseException:  # Ctrl-C, or an error of worker 0 (a storage gone for good)
        # Workers the Ctrl-C reached fail their trials; the others end theirs and stop.
        with contextlib.suppress(Exception):  # the storage may be what failed
            _stop_workers(study, cfg.run_id)
        if thread.is_alive():
            thread.join(timeout=30)
        raise
    if "error" in result:
        raise result["error"]
    return own + result["value"]
