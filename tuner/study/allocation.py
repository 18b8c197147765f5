"""Equal budgets: each optimizer gets its share of a study's trials and is searched on its own.

With ``allocation = "adaptive"`` the sampler chooses the optimizer of every
trial, so optimizers end up compared on budgets the sampler chose (TPE gives
more trials to whichever looked good early). With ``"equal"`` (the default of
study files) a study of ``n_trials`` trials over ``m`` optimizers gives each
``n_trials // m`` trials, the first ``n_trials % m`` optimizers one more:

- A trial's optimizer is fixed when the trial is created, under the study's
  lock: the one furthest below its share among the trials that use the budget
  (finished on their own, running or waiting). A trial cut short by a killed
  run leaves its optimizer's count, so its share is run again; the split is
  exact whatever the number of workers, runs and resumes.
- The optimizer is recorded on the trial (:func:`assign`) and the sampler
  returns it for the ``optimizer`` parameter (:class:`AllocatedSampler`).
- The rest of the space is searched per optimizer: one sampler of the study's
  kind for each optimizer, seeing only that optimizer's trials, so that a
  learning rate that suits Adam does not steer SGD's search.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from .optuna_compat import StudyView
from .outcomes import counts_towards_budget

__all__ = ["ALLOCATIONS", "AllocatedSampler", "EqualAllocation", "assign", "assigned",
           "check_baselines"]  # fmt: skip

#: How a study shares its trials among optimizers.
ALLOCATIONS = ("equal", "adaptive")
#: The trial user attribute that holds the optimizer a trial was given.
_ATTR = "allocated"


def assign(user_attrs: Mapping[str, Any], choice: str | None) -> dict[str, Any]:
    """``user_attrs`` of a new trial, with the optimizer it is given (if any)."""
    return {**user_attrs, _ATTR: choice} if choice is not None else dict(user_attrs)


def assigned(trial: FrozenTrial, param: str = "optimizer") -> str | None:
    """The optimizer a trial was given, or that it sampled; None for neither."""
    return trial.params.get(param, trial.user_attrs.get(_ATTR))


def _uses_budget(trial: FrozenTrial) -> bool:
    return trial.state in (TrialState.RUNNING, TrialState.WAITING) or counts_towards_budget(trial)


@dataclass(frozen=True)
class EqualAllocation:
    """Equal shares of a study's trials for ``choices`` (optimizer names).

    Parameters
    ----------
    choices : tuple of str
        The optimizers, in the order that gets the remainder first.
    param : str, default="optimizer"
        The trial parameter that holds the choice.
    """

    choices: tuple[str, ...]
    param: str = "optimizer"

    def __post_init__(self) -> None:
        if not self.choices or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"equal allocation needs distinct choices, got {self.choices!r}")

    def quotas(self, n_trials: int) -> dict[str, int]:
        """Trials per choice for a budget of ``n_trials``."""
        share, extra = divmod(n_trials, len(self.choices))
        return {c: share + (i < extra) for i, c in enumerate(self.choices)}

    def taken(self, trials: Iterable[FrozenTrial]) -> dict[str, int]:
        """Trials per choice that use the budget: finished on their own, running or waiting."""
        counts = dict.fromkeys(self.choices, 0)
        for t in trials:
            choice = assigned(t, self.param)
            if choice in counts and _uses_budget(t):
                counts[choice] += 1
        return counts

    def next_choices(self, trials: Iterable[FrozenTrial], n_trials: int, n: int = 1) -> list[str]:
        """The choices of the next ``n`` new trials (fewer when the budget runs out).

        Each goes to the choice furthest below its share; ties go to the
        earlier choice. Call it under the study's lock, with a fresh listing.
        """
        quotas, taken = self.quotas(n_trials), self.taken(trials)
        out = []
        for _ in range(n):
            left = {c: quotas[c] - taken[c] for c in self.choices if quotas[c] > taken[c]}
            if not left:
                break
            choice = max(left, key=lambda c: (left[c], -self.choices.index(c)))
            taken[choice] += 1
            out.append(choice)
        return out


def check_baselines(
    baselines: Sequence[Mapping[str, Any]], n_trials: int, allocation: EqualAllocation | None
) -> None:
    """Raise ``ValueError`` unless ``baselines`` fit a budget of ``n_trials``: no more than
    it, and under equal ``allocation`` no more of one choice than its share (they would
    take trials of the other choices)."""
    if len(baselines) > n_trials:
        raise ValueError(
            f"{len(baselines)} baselines do not fit a budget of {n_trials} trials: a budget of "
            f"{len(baselines)} or more fits them, or drop baselines"
        )
    if allocation is None:
        return
    quotas = allocation.quotas(n_trials)
    for choice, count in Counter(b.get(allocation.param) for b in baselines).items():
        if choice in quotas and count > quotas[choice]:
            fits = (n for n in itertools.count(n_trials) if allocation.quotas(n)[choice] >= count)
            raise ValueError(
                f"{count} baselines use {allocation.param} {choice!r}, more than its equal share "
                f"of {quotas[choice]} of the {n_trials} trials over {len(allocation.choices)} "
                f"optimizers: a budget of {next(fits)} or more fits them, or drop baselines"
            )


def _spawn_seed(seed: int | None, index: int) -> int | None:
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


class AllocatedSampler(BaseSampler):
    """Sample the optimizer a trial was given, and the rest with that optimizer's own sampler.

    Parameters
    ----------
    make : callable
        ``make(seed) -> BaseSampler``: builds one sampler per choice (and one
        for trials given no choice, such as a trial a user enqueued).
    allocation : EqualAllocation
    seed : int, optional
        Each choice's sampler gets its own seed derived from it.
    """

    def __init__(
        self,
        make: Callable[[int | None], BaseSampler],
        allocation: EqualAllocation,
        seed: int | None = None,
    ):
        self._allocation = allocation
        self._samplers = {
            c: make(_spawn_seed(seed, i)) for i, c in enumerate((*allocation.choices, None))
        }

    def _part(self, study: optuna.Study, trial: FrozenTrial) -> tuple[Any, BaseSampler]:
        """The study as the trial's optimizer sees it, and that optimizer's sampler."""
        param = self._allocation.param
        choice = assigned(trial, param)
        if choice is None or choice not in self._samplers:
            return study, self._samplers[None]
        return StudyView(study, lambda t: assigned(t, param) == choice), self._samplers[choice]

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        view, sampler = self._part(study, trial)
        space = sampler.infer_relative_search_space(view, trial)
        space.pop(self._allocation.param, None)  # given, never sampled
        return space

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        view, sampler = self._part(study, trial)
        return sampler.sample_relative(view, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        choice = trial.user_attrs.get(_ATTR)
        if param_name == self._allocation.param and choice is not None:
            if choice not in getattr(param_distribution, "choices", ()):
                raise ValueError(
                    f"trial {trial.number} was given {param_name} {choice!r}, which the "
                    f"search space does not offer"
                )
            return choice
        view, sampler = self._part(study, trial)
        return sampler.sample_independent(view, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._part(study, trial)[1].before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: list[float] | None,
    ) -> None:
        self._part(study, trial)[1].after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        for sampler in self._samplers.values():
            sampler.reseed_rng()
