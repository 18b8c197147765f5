"""Run a tuning study in parallel worker processes that share one Optuna storage.

The run creates (or loads) the study, records its settings, and runs workers
(:mod:`tuner.study.worker`): its own process is worker 0, the others are
joblib's loky processes or Dask tasks. Every worker starts trials by the same
rule under the study's lock, so the budget is exact however many workers and
runs share the study. A trial cut short (Ctrl-C, a killed process) fails as
``interrupted``, does not count, and its parameters run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import joblib
import optuna
from optuna.trial import TrialState

from .allocation import EqualAllocation, assign, check_baselines
from .locks import study_lock
from .orphans import fail_orphans
from .outcomes import baseline_attrs, directions_of, tally
from .pool import Pool, check_backend, open_pool, worker_count
from .progress import ProgressBar
from .samplers import DEFAULT_PRUNER, make_pruner, make_sampler
from .storage import (
    check_study_name,
    default_storage,
    mask_url,
    open_storage,
    retry,
    transient_errors,
)
from .worker import WorkerConfig, WorkerSummary, run_worker

__all__ = ["StudyAborted", "create_study", "run_study"]

#: Runs of crashed worker pools tolerated before giving up.
MAX_CRASHED_ROUNDS = 3


class StudyAborted(RuntimeError):
    """Every trial of a run failed with the same error (a bad data file, a bad parameter).

    It takes ``tuner.study.worker.SAME_ERROR_LIMIT`` such trials; the run stops there
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


def create_study(
    study_name: str,
    storage: str | optuna.storages.BaseStorage,
    direction: str | Sequence[str] = "maximize",
    user_attrs: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Create the study in ``storage``, or load it; record ``user_attrs`` on creation.

    ``direction`` is one direction, or one per objective of a multi-objective
    study; an existing study must have been created with the same.
    """
    directions = _check_directions(direction)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=open_storage(storage),
            directions=directions,
            load_if_exists=True,
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    if directions_of(study) != directions:
        raise ValueError(
            f"study {study_name!r} exists with direction {_said(directions_of(study))}, "
            f"not {_said(directions)}: run it as it began, or start over under another name "
            f"or after `tuner delete {study_name}` (with the same --storage)"
        )
    for key, value in (user_attrs or {}).items():
        if key not in study.user_attrs:
            study.set_user_attr(key, value)
    return study


def _check_directions(direction: Any) -> tuple[str, ...]:
    """``direction`` as a tuple of one direction per objective; ``ValueError`` if it is
    not ``"maximize"``, ``"minimize"`` or a non-empty sequence of them."""
    directions = (direction,) if isinstance(direction, str) else direction
    if (
        not isinstance(directions, Sequence)
        or not directions
        or any(d not in ("maximize", "minimize") for d in directions)
    ):
        raise ValueError(
            "direction must be 'maximize' or 'minimize' (whether a higher objective value is "
            "better), or one of them per objective, got "
            f"{direction!r}; an objective may say it in a `direction` attribute"
        )
    return tuple(directions)


def _said(directions: tuple[str, ...]) -> str:
    return directions[0] if len(directions) == 1 else "(" + ", ".join(directions) + ")"


def run_study(
    objective: Callable[[optuna.Trial], float],
    *,
    study_name: str,
    n_trials: int,
    storage: str | optuna.storages.InMemoryStorage | None = None,
    n_jobs: int = 1,
    direction: str | Sequence[str] | None = None,
    sampler: str | Mapping[str, Any] | None = "tpe",
    pruner: str | Mapping[str, Any] | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    directory: str | os.PathLike = "reports",
    progress: bool | None = None,
    study_attrs: Mapping[str, Any] | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    allocation: EqualAllocation | None = None,
    callbacks: Sequence[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]] = (),
    baselines: Sequence[Mapping[str, Any]] = (),
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
    storage : str or optuna.storages.InMemoryStorage, optional
        Optuna storage URL, or a journal file path. Default: the journal file
        ``<directory>/<study_name>/journal.log``. An ``InMemoryStorage`` lives
        in this process only: it takes ``n_jobs=1`` with loky, and the study
        ends with the process.
    n_jobs : int, default=1
        Workers; -1 for one per core. With loky, worker 0 runs in this process
        (it starts at once, while the others start) and the rest in joblib's
        loky processes; with Dask, all run as Dask tasks.
    direction : {"maximize", "minimize"} or sequence of them, optional
        Whether a higher or a lower objective value is better; one per objective
        for a multi-objective study (the objective then returns a tuple, and
        trials are not pruned: Optuna prunes single-objective studies only).
        Required unless the objective says so itself in a ``direction``
        attribute, as :class:`tuner.objective.Objective` does (it maximizes a
        score): unlike Optuna, which minimizes by default, a study here states
        its direction.
    sampler, pruner : str or mapping
        A name (``"tpe"``, ``"successive_halving"``) or ``{"name": ..., **options}``;
        see :func:`tuner.study.samplers.make_pruner` for the fair pruner's ``group_by``
        and ``n_warmup_steps``. Default pruner: ``successive_halving``, or ``"none"``
        with several objectives (the only one they take).
    seed : int, optional
        Seed of worker ``i``'s sampler is ``seed + i`` in the study's first run;
        each later run (a resume, a joining worker) shifts it by 1000, so that it
        does not draw the same parameters again. Recorded in the study, and on
        each trial as ``sampler_seed``. With one worker, a first run with the
        same seed, objective and library versions draws the same parameters;
        with several, which worker draws which trial depends on timing, so only
        each worker's own sequence of draws given its trials' order is fixed.
    timeout : float, optional
        Seconds after which no new trial starts; running trials finish.
    progress : bool, optional
        Show progress on stderr: a bar redrawn on a terminal, else a plain line
        every 10 seconds (default); False for none.
    study_attrs : mapping, optional
        Extra study user attributes, recorded when the study is created.
    backend : {"loky", "dask"}, default="loky"
        Where workers run: local processes, or Dask tasks (joblib's dask backend). With
        ``"dask"`` and no ``scheduler``, a ``LocalCluster`` of ``n_jobs``
        single-threaded worker processes is started.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); its workers must all
        reach ``storage``, so a journal file (local to this machine) is refused
        unless the scheduler listens on loopback (``tcp://127.0.0.1:...``, a
        cluster of this machine only).
    allocation : EqualAllocation, optional
        Give every optimizer an equal share of the trials, each searched by
        its own sampler (see :mod:`tuner.study.allocation`); recorded in the study
        as ``allocation = "equal"``. Default: the sampler picks the optimizer.
    callbacks : sequence of callable
        Optuna callbacks ``callback(study, frozen_trial)``, called by every
        worker after each of its trials (as ``Study.optimize`` does): to log
        trials to an experiment tracker, for example. They must be picklable
        to reach worker processes; an error raised in one ends the run, as in
        Optuna (the trial itself is already told).
    baselines : sequence of mapping
        Known configurations (trial parameters, complete: see
        :meth:`tuner.space.SearchSpace.complete`) that the study runs first,
        once in its life: queued when the study's first run starts, marked
        as baselines, counted in the budget (and under equal allocation in
        their optimizer's share).

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
    directions = _check_directions(direction or getattr(objective, "direction", None))
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
    storage = storage or default_storage(study_name, directory)
    n_workers = worker_count(n_jobs)
    cores = joblib.cpu_count()
    if n_workers > cores:
        warnings.warn(
            f"n_jobs={n_jobs}: {n_workers} workers on {cores} cores share them; a trial "
            f"takes up to {n_workers / cores:.1f}x as long and the run is no faster",
            UserWarning,
            stacklevel=2,
        )
    check_backend(storage, backend, scheduler)
    in_memory = isinstance(storage, optuna.storages.InMemoryStorage)
    if not (in_memory or isinstance(storage, str)):
        raise TypeError(
            "storage must be a database URL, a journal file path or an "
            f"optuna.storages.InMemoryStorage, got {type(storage).__name__}"
        )
    if in_memory and (n_workers > 1 or backend != "loky"):
        raise ValueError(
            "an in-memory storage lives in this process: it takes n_jobs=1 and backend='loky'; "
            "give a journal file or a database URL for several workers"
        )
    several = len(directions) > 1
    sampler_spec = _spec(sampler, "tpe")
    pruner_spec = _spec(pruner, "none" if several else DEFAULT_PRUNER)
    if several and pruner_spec["name"] != "none":
        raise ValueError(
            f"a study with {len(directions)} objectives cannot prune its trials (Optuna prunes "
            f"single-objective studies only): pruner must be 'none', got {pruner_spec['name']!r}"
        )
    make_sampler(
        sampler_spec["name"], seed, **{k: v for k, v in sampler_spec.items() if k != "name"}
    )  # fail fast on bad options
    make_pruner(**pruner_spec)
    attrs = {
        "sampler": sampler_spec,
        "pruner": pruner_spec,
        "seed": seed,
        "storage": "in memory" if in_memory else mask_url(storage),
        **(study_attrs or {}),
    }
    check_baselines(baselines, n_trials, allocation)
    if allocation is not None:
        attrs.update(allocation="equal", optimizers=list(allocation.choices))
    opened = retry(open_storage, storage)
    study = retry(create_study, study_name, opened, directions, attrs)
    retry(_check_allocation, study, attrs.get("allocation"))
    retry(study.set_user_attr, "n_trials", n_trials)
    with study_lock(storage, study_name):
        # Trials of a run that died: failed and queued again now, so that the budget
        # left (counted before the workers start) does not count them as running.
        retry(lambda: fail_orphans(study, study.get_trials(deepcopy=False)))
        run_index = retry(_next_run_index, study)
        if baselines and run_index == 0:
            retry(_queue_baselines, study, baselines, allocation)
    cfg = WorkerConfig(
        storage=storage,
        study_name=study_name,
        objective=objective,
        n_trials=n_trials,
        sampler=sampler_spec,
        pruner=pruner_spec,
        seed=seed,
        run_index=run_index,
        first_trial=retry(_first_trial_of_run, study),
        deadline=None if timeout is None else time.time() + timeout,
        allocation=allocation,
        callbacks=tuple(callbacks),
        one_blas_thread=n_workers > 1,
    )
    bar = ProgressBar(study, n_trials, enabled=progress)
    bar.start()
    try:
        with open_pool(backend, scheduler, n_workers) as pool:
            cfg = dataclasses.replace(cfg, **pool.signals)
            aborted = _run_rounds(study, opened, cfg, n_workers, pool)
    finally:
        bar.close()
        # Trials of workers that died or were stopped: failed now rather than by the
        # next run. Tidying only: it must not replace the run's outcome.
        with contextlib.suppress(*transient_errors()):
            retry(_fail_orphans, study, storage)
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


def _first_trial_of_run(study: optuna.Study) -> int:
    """The lowest number a trial of this run can have: its new trials are numbered from
    here on, and trials queued again by earlier runs (which it takes first) wait now."""
    trials = study.get_trials(deepcopy=False)
    return min([t.number for t in trials if t.state == TrialState.WAITING] + [len(trials)])


def _next_run_index(study: optuna.Study) -> int:
    """Count this run among the study's runs (under the study's lock); return its index.

    A new run also clears an earlier run's ``aborted`` mark: it reports an error
    that the user may have fixed since, and this run decides anew.
    """
    attrs = study.user_attrs
    runs = attrs.get("runs", 0)
    study.set_user_attr("runs", runs + 1)
    if attrs.get("aborted"):
        study.set_user_attr("aborted", None)
    return runs


def _queue_baselines(
    study: optuna.Study, baselines: Sequence[Mapping[str, Any]], allocation: EqualAllocation | None
) -> None:
    """Queue the baseline configurations (at the study's first run, under its lock)."""
    for params in baselines:
        choice = params.get(allocation.param) if allocation is not None else None
        study.enqueue_trial(dict(params), user_attrs=assign(baseline_attrs(), choice))


def _fail_orphans(study: optuna.Study, storage: str) -> int:
    with study_lock(storage, study.study_name):
        return fail_orphans(study, study.get_trials(deepcopy=False))


def _run_rounds(
    study: optuna.Study, storage: optuna.storages.BaseStorage, cfg: WorkerConfig,
    n_workers: int, pool: Pool,
) -> str | None:  # fmt: skip
    """Run workers until the budget is used up; return the error that stopped the run, if any.

    A round ends when its workers do. Another follows when trials are left
    after a worker process died (its trial runs again), at most
    ``MAX_CRASHED_ROUNDS`` times.
    """
    crashed = 0
    while cfg.deadline is None or time.time() < cfg.deadline:
        left = cfg.n_trials - retry(lambda: tally(study.get_trials(deepcopy=False)).used)
        if left <= 0:
            return None
        try:
            summaries = _run_round(storage, cfg, min(n_workers, left), pool)
        except pool.crashes:
            crashed += 1
            if crashed >= MAX_CRASHED_ROUNDS:
                raise
            continue
        aborted = next((s.aborted for s in summaries if s.aborted), None)
        if aborted:
            retry(study.set_user_attr, "aborted", aborted)  # for the report
            return aborted
        if any(s.interrupted for s in summaries):
            raise KeyboardInterrupt
        if all(s.ran == 0 for s in summaries):
            return None  # trials are left but others run them (another run's workers)
    return None


def _run_round(
    storage: optuna.storages.BaseStorage, cfg: WorkerConfig, n: int, pool: Pool
) -> list[WorkerSummary]:
    """Run ``n`` workers and return their summaries.

    With loky, worker 0 runs in this process and thread: it starts trials at
    once while the other workers' processes still import their modules, and
    Ctrl-C reaches its trial directly.
    """
    first = 1 if pool.own_worker else 0
    futures = pool.submit(cfg, range(first, n))
    try:
        own = [run_worker(cfg, 0, storage)] if first else []
        if own and own[0].interrupted:  # Ctrl-C (or SIGTERM) reached the trial of worker 0
            raise KeyboardInterrupt
        if own and own[0].aborted:  # the others would go on with trials that may pass
            pool.stop(cfg, futures)
            return own
        while not pool.wait(futures):
            pass
        return own + pool.results(futures)
    except BaseException:  # Ctrl-C, or an error of worker 0 (a storage gone for good)
        with contextlib.suppress(Exception):
            pool.stop(cfg, futures)
        raise
