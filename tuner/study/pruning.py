"""Fair pruning: a trial is compared only with trials of its own optimizer, after a warm-up.

Optuna's pruners compare a trial's intermediate score with every other
trial's at the same step. Across optimizers that is unfair to those that
start slowly: plain SGD scores lower than Adam after one epoch and catches up
later, so a median pruner over all trials cuts SGD down before it can show
what it reaches. :class:`FairPruner` hands each stock pruner only the trials
of the same group (the same optimizer, and the same schedule when a study
compares schedules) and never prunes before ``n_warmup_steps`` steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial

from .optuna_compat import StudyView

__all__ = ["FairPruner", "fair_pruner_spec"]


def fair_pruner_spec(
    spec: Mapping[str, Any], n_schedules: int, max_epochs: int | None
) -> dict[str, Any]:
    """A pruner spec (``{"name": ..., **options}``) made fair for an optimizer comparison.

    Trials are grouped by optimizer, and by schedule when ``n_schedules > 1``;
    the warm-up defaults to a quarter of ``max_epochs`` (an explicit
    ``n_warmup_steps`` wins). ``none`` stays as it is.
    """
    out = dict(spec)
    if out.get("name") == "none":
        return out
    out.setdefault("n_warmup_steps", (max_epochs or 0) // 4)
    out["group_by"] = ["optimizer", "schedule"] if n_schedules > 1 else ["optimizer"]
    return out


class FairPruner(BasePruner):
    """Run a stock pruner per group of trials, never before a warm-up.

    Parameters
    ----------
    make : callable
        ``make() -> BasePruner``: one pruner per group, each seeing only its
        group's trials (pruners such as successive halving keep state per study).
    group_by : sequence of str
        Parameters whose values form a group (``("optimizer", "schedule")``);
        empty: one group.
    n_warmup_steps : int, default=0
        A trial is not pruned at steps below this.
    """

    def __init__(
        self, make: Callable[[], BasePruner], group_by: Sequence[str] = (), n_warmup_steps: int = 0
    ):
        if isinstance(n_warmup_steps, bool) or not isinstance(n_warmup_steps, int):
            raise TypeError(f"n_warmup_steps must be an integer, got {n_warmup_steps!r}")
        if n_warmup_steps < 0:
            raise ValueError(f"n_warmup_steps must be >= 0, got {n_warmup_steps}")
        self._make = make
        self.group_by = tuple(group_by)
        self.n_warmup_steps = n_warmup_steps
        self._pruners: dict[tuple, BasePruner] = {}

    def _group(self, trial: FrozenTrial) -> tuple:
        return tuple(trial.params.get(p) for p in self.group_by)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        key = self._group(trial)
        pruner = self._pruners.get(key)
        if pruner is None:
            pruner = self._pruners[key] = self._make()
        if not self.group_by:
            return pruner.prune(study, trial)
        return pruner.prune(StudyView(study, lambda t: self._group(t) == key), trial)
