"""Trials that lost their worker: failed as interrupted, and their parameters queued again once.

A worker records itself on each trial it starts, under the study's lock. A
RUNNING trial seen there without a worker, or whose worker ran on this host and
has ended (:func:`tuner.study.locks.worker_gone`), is an orphan. Database
storages also find trials whose heartbeat stopped (Optuna's stale-trial check,
with the same re-queueing callback, :data:`tuner.study.storage.RERUN`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import optuna
from optuna.trial import TrialState

from .locks import worker_gone
from .outcomes import Outcome, outcome_of, worker_of
from .storage import RERUN

__all__ = ["fail_orphans", "queue_again"]


def fail_orphans(study: optuna.Study, trials: Sequence[optuna.trial.FrozenTrial]) -> int:
    """Fail the RUNNING trials that lost their worker, and queue their parameters again.

    Call it under the study's lock, where every trial a worker starts records
    that worker (see :func:`tuner.study.worker.run_worker`): a RUNNING trial without one lost it
    there, and one whose worker ran on this host lost it when that process
    ended (:func:`tuner.study.locks.worker_gone`). Returns how many were failed.
    """
    failed = 0
    for t in trials:
        if t.state != TrialState.RUNNING:
            continue
        worker = worker_of(t)
        if worker is None or worker_gone(worker):
            frozen = study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            if outcome_of(frozen) is Outcome.INTERRUPTED:
                queue_again(study, frozen)
            failed += 1
    return failed


def queue_again(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Queue the parameters of ``trial``, cut short, to run again: once, although its
    worker, a stale-heartbeat check and an orphan check may each find it cut short
    (a trial queued from it lists it in its retry history)."""
    with warnings.catch_warnings():  # retry_history is marked experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        trials = study.get_trials(deepcopy=False)
        queued = any(trial.number in RERUN.retry_history(t) for t in trials)
    if not queued:
        RERUN(study, trial)
