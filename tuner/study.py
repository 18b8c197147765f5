"""Run a tuning study in parallel worker processes that share one Optuna storage.

The trial budget is exact whatever the number of workers: before workers
start, the run puts one WAITING "ticket" trial per missing trial into the
storage, and a worker only ever claims a ticket (the storage's atomic
WAITING -> RUNNING change), never creates a trial. A run that is killed
leaves RUNNING trials whose process is gone; the next run marks them failed
(``interrupted``) and issues tickets for them, so the count of trials that
ended on their own reaches ``n_trials`` with nothing lost and nothing twice.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import joblib
import optuna
from joblib.externals.loky.process_executor import TerminatedWorkerError
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from .progress import ProgressBar, count_trials
from .samplers import make_pruner, make_sampler
from .storage import check_study_name, default_storage, mask_url, open_storage

__all__ = ["StudyAborted", "run_study", "run_worker"]

#: Trials in a row failing with one message that make a study stop.
SAME_ERROR_LIMIT = 5
#: A RUNNING trial with no recorded worker this old is taken as orphaned (seconds).
ORPHAN_AGE = 120.0
#: Runs of crashed worker pools tolerated before giving up.
MAX_CRASHED_ROUNDS = 3


class StudyAborted(RuntimeError):
    """Every trial of a study failed with the same error; the study stopped."""


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs: picklable, storage given by URL or path."""

    storage: str
    study_name: str
    objective: Callable[[optuna.Trial], float]
    sampler: Mapping[str, Any] = field(default_factory=lambda: {"name": "tpe"})
    pruner: Mapping[str, Any] = field(default_factory=lambda: {"name": "median"})
    seed: int | None = None
    deadline: float | None = None  # time.time() after which no new trial starts
    run_id: str = ""
    blas_threads: int = 1


def _spec(value: str | Mapping[str, Any] | None, default: str) -> dict[str, Any]:
    if value is None:
        return {"name": default}
    if isinstance(value, str):
        return {"name": value}
    spec = dict(value)
    spec.setdefault("name", default)
    return spec


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


# -- the worker ----------------------------------------------------------------------
def run_worker(
    cfg: WorkerConfig, index: int = 0, after_trial: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Claim and run tickets of a study until none is left, the deadline passes or a stop.

    ``after_trial`` is called after each trial (the in-process run refreshes
    its progress bar with it). Returns a summary:
    ``{"ran": n, "interrupted": bool, "aborted": message or None}``.
    """
    with threadpool_limits(limits=cfg.blas_threads):
        return _work(cfg, index, after_trial or (lambda: None))


def _work(cfg: WorkerConfig, index: int, after_trial: Callable[[], None]) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler_opts = {k: v for k, v in cfg.sampler.items() if k != "name"}
    pruner_opts = {k: v for k, v in cfg.pruner.items() if k != "name"}
    seed = None if cfg.seed is None else cfg.seed + index  # each worker draws differently
    study = optuna.load_study(
        study_name=cfg.study_name,
        storage=open_storage(cfg.storage),
        sampler=make_sampler(cfg.sampler["name"], seed, **sampler_opts),
        pruner=make_pruner(cfg.pruner["name"], **pruner_opts),
    )
    summary: dict[str, Any] = {"ran": 0, "interrupted": False, "aborted": None}
    while cfg.deadline is None or time.time() < cfg.deadline:
        if study.user_attrs.get("stop_run") == cfg.run_id:
            break
        trial_id = _claim_ticket(study)
        if trial_id is None:
            break
        trial = optuna.Trial(study, trial_id)
        trial.set_user_attr("worker", _worker_id())
        try:
            value = cfg.objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            study.tell(trial, state=TrialState.FAIL)
            summary["interrupted"] = True
            break
        except Exception as exc:  # one trial's error must not stop the study
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            study.tell(trial, state=TrialState.FAIL)
            summary["aborted"] = _same_error_everywhere(study)
            if summary["aborted"]:
                break
        else:
            study.tell(trial, value)
        summary["ran"] += 1
        after_trial()
    return summary


def _claim_ticket(study: optuna.Study) -> int | None:
    """Atomically take one WAITING trial (as ``Study.ask`` does), or None if none is left."""
    storage = study._storage
    for frozen in storage.get_all_trials(
        study._study_id, deepcopy=False, states=(TrialState.WAITING,)
    ):
        try:
            if storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                return frozen._trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def _same_error_everywhere(study: optuna.Study) -> str | None:
    """The error message if the last trials all failed with it, else None."""
    ended = [t for t in study.get_trials(deepcopy=False) if _counts(t)]
    ended.sort(key=lambda t: t.datetime_complete)
    last = ended[-SAME_ERROR_LIMIT:]
    if len(last) < min(SAME_ERROR_LIMIT, study.user_attrs.get("n_trials", SAME_ERROR_LIMIT)):
        return None
    errors = {t.user_attrs.get("error") for t in last}
    if len(errors) == 1 and None not in errors and all(t.state == TrialState.FAIL for t in last):
        return errors.pop()
    return None


def _counts(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial counts towards the budget: it ended on its own, not interrupted."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and not trial.user_attrs.get("interrupted", False)


# -- the run ---------------------------------------------------------------------------
def reconcile(study: optuna.Study, n_trials: int) -> dict[str, int]:
    """Fail orphaned RUNNING trials and issue tickets up to ``n_trials``.

    A RUNNING trial is orphaned when its worker ran on this host and its
    process is gone, or when no worker was ever recorded for it and it is
    older than ``ORPHAN_AGE``. Returns counts: ``orphaned``, ``issued``.
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
            stale = w_host == host and not _pid_alive(int(pid))
        if stale:
            storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            try:
                storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
                orphaned += 1
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # its worker finished it after all
    trials = study.get_trials(deepcopy=False)
    pending = sum(t.state in (TrialState.WAITING, TrialState.RUNNING) for t in trials)
    missing = n_trials - sum(_counts(t) for t in trials) - pending
    for _ in range(max(0, missing)):
        study.enqueue_trial({}, skip_if_exists=False)
    return {"orphaned": orphaned, "issued": max(0, missing)}


def create_study(
    study_name: str,
    storage: str,
    direction: str = "maximize",
    user_attrs: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Create the study in ``storage``, or load it; record ``user_attrs`` on creation."""
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(storage),
        direction=direction,
        load_if_exists=True,
    )
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
    pruner: str | Mapping[str, Any] | None = "median",
    seed: int | None = None,
    timeout: float | None = None,
    directory: str | os.PathLike = "reports",
    progress: bool | None = None,
    study_attrs: Mapping[str, Any] | None = None,
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
        Worker processes (joblib's loky backend); -1 for one per core.
    direction : {"maximize", "minimize"}, default="maximize"
    sampler, pruner : str or mapping
        A name (``"tpe"``, ``"median"``) or ``{"name": ..., **options}``.
    seed : int, optional
        Seed of worker ``i``'s sampler is ``seed + i``; recorded in the study.
    timeout : float, optional
        Seconds after which no new trial starts; running trials finish.
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    study_attrs : mapping, optional
        Extra study user attributes, recorded when the study is created.

    Returns
    -------
    optuna.Study

    Raises
    ------
    StudyAborted
        When the last trials all failed with the same error.
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
    n_workers = joblib.cpu_count() if n_jobs == -1 else n_jobs
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    sampler_spec, pruner_spec = _spec(sampler, "tpe"), _spec(pruner, "median")
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
    study = create_study(study_name, storage, direction, attrs)
    study.set_user_attr("n_trials", n_trials)

    run_id = uuid.uuid4().hex
    cfg = WorkerConfig(
        storage=storage,
        study_name=study_name,
        objective=objective,
        sampler=sampler_spec,
        pruner=pruner_spec,
        seed=seed,
        run_id=run_id,
        deadline=None if timeout is None else time.time() + timeout,
        blas_threads=max(1, (joblib.cpu_count() or 1) // n_workers),
    )
    bar = ProgressBar(study, n_trials, enabled=progress)
    try:
        _run_rounds(study, cfg, n_trials, n_workers, bar)
    except KeyboardInterrupt:
        study.set_user_attr("stop_run", run_id)  # workers that missed the signal stop too
        raise
    finally:
        bar.close()
        reconcile_quietly(study)
    aborted = study.user_attrs.get("aborted")
    if aborted:
        raise StudyAborted(
            f"study {study_name!r} stopped: its last {SAME_ERROR_LIMIT} trials all failed "
            f"with {aborted}"
        )
    return study


def reconcile_quietly(study: optuna.Study) -> None:
    """Mark trials orphaned by this run as interrupted, without issuing tickets."""
    reconcile(study, 0)


def _run_rounds(study, cfg: WorkerConfig, n_trials: int, n_workers: int, bar) -> None:
    crashed = 0
    while True:
        reconcile(study, n_trials)
        counts = count_trials(study)
        if counts["waiting"] == 0 or (cfg.deadline is not None and time.time() >= cfg.deadline):
            return
        try:
            summaries = _run_pool(cfg, min(n_workers, counts["waiting"]), bar)
        except TerminatedWorkerError:
            crashed += 1
            if crashed >= MAX_CRASHED_ROUNDS:
                raise
            continue  # a worker died: reconcile re-issues its trial, then go on
        aborted = next((s["aborted"] for s in summaries if s["aborted"]), None)
        if aborted:
            study.set_user_attr("aborted", aborted)
            return
        if any(s["interrupted"] for s in summaries):
            raise KeyboardInterrupt
        if all(s["ran"] == 0 for s in summaries):
            return  # tickets exist but nobody could take one (taken by other runs)


def _run_pool(cfg: WorkerConfig, n: int, bar) -> list[dict[str, Any]]:
    """Run ``n`` workers through joblib, refreshing the progress bar meanwhile.

    One worker runs in this process and thread, so that Ctrl-C reaches its trial.
    """
    if n == 1:
        return [run_worker(cfg, 0, after_trial=bar.refresh)]
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = joblib.Parallel(n_jobs=n, backend="loky")(
                joblib.delayed(run_worker)(cfg, i) for i in range(n)
            )
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=target, name="tuner-workers", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            bar.refresh()
            thread.join(timeout=bar.interval)
    except KeyboardInterrupt:
        # Workers got the same Ctrl-C; give them time to fail their trials cleanly.
        thread.join(timeout=30)
        raise
    bar.refresh()
    if "error" in result:
        raise result["error"]
    return result["value"]
