"""The one place that leans on Optuna beyond its documented API, each use tested.

Two private names, and why:

- ``Study._get_trials``: samplers and pruners read a study's trials through
  ``Study.get_trials``, and Optuna's own samplers through this private method
  (with a per-thread cache). :class:`StudyView` answers both with a subset of
  the trials, so that a stock sampler or pruner searches or prunes as if the
  study held only those: one optimizer's trials, for a fair comparison.
  Everything else (direction, storage, study name) is the study's own.
- ``Trial._trial_id``: a database storage's public ``record_heartbeat`` takes
  the storage's id of a trial, which only this attribute gives (``Study.optimize``
  uses it so); :func:`trial_id_of` reads it.

And one fact of a file format: the ``op_code`` of a journal record (Optuna's
private ``JournalOperation``; journal files of every version keep the numbers).
:data:`RUNNING_TRIAL_OPS` are the records of a running trial's progress.

``tests/test_optuna_compat.py`` fails when Optuna changes what this relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["RUNNING_TRIAL_OPS", "StudyView", "trial_id_of"]

#: Journal ``op_code`` of the records a running trial writes as it goes: a parameter (5),
#: an intermediate value (7), a user (8) or system (9) attribute.
RUNNING_TRIAL_OPS = frozenset({5, 7, 8, 9})


def trial_id_of(trial: optuna.Trial) -> int:
    """The storage's id of ``trial`` (its number is the study's)."""
    return trial._trial_id


class StudyView:
    """A study whose trial listings hold only the trials ``keep`` accepts.

    Parameters
    ----------
    study : optuna.Study
        The study seen.
    keep : callable
        ``keep(trial) -> bool`` for a ``FrozenTrial``.
    """

    def __init__(self, study: optuna.Study, keep: Callable[[FrozenTrial], bool]):
        self._study = study
        self._keep = keep

    def __getattr__(self, name: str) -> Any:  # direction, study_name, storage, ...
        return getattr(self._study, name)

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """The kept trials (Optuna's public listing)."""
        return [t for t in self._study.get_trials(deepcopy, states) if self._keep(t)]

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        # Optuna's samplers (TPE, CMA-ES, GP, QMC, NSGA) list trials through this
        # private method, with a cache of the study's trials for the current trial.
        trials = self._study._get_trials(deepcopy, states, use_cache)
        return [t for t in trials if self._keep(t)]

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

    @property
    def best_trial(self) -> FrozenTrial:
        """The best completed kept trial (single objective), as ``Study.best_trial``."""
        done = [t for t in self.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        if not done:
            raise ValueError("no trial of this part of the study is completed yet")
        pick = max if self._study.direction == optuna.study.StudyDirection.MAXIMIZE else min
        return pick(done, key=lambda t: t.value)

    @property
    def best_value(self) -> float:
        return self.best_trial.value
