"""After the search: each optimizer's best configuration, refit and scored on the test split.

The search ranks configurations by cross-validation scores, and the best of
many such scores is optimistic: it was selected on them. Before the search a
study holds out a test split that no trial sees (``[evaluate] test_fraction``);
after it, the best configuration of each optimizer is refit on the whole
training part with ``seeds`` training seeds (the estimator's
``random_state`` set to 0, 1, ..., ``seeds - 1``: weight initialisation and
batch order) and scored on the
test split. The spread over seeds is the training-seed noise that a lead
between optimizers must exceed.

The seeds of a configuration train together, as the replicas of one stacked
model (:func:`tuner.estimators.fit_epochs_together`: each the same as its own
fit, to round-off). Each configuration's fits are recorded in the study as
they end (:class:`FinalFit`, one study attribute per optimizer and seed), so a
run killed among its final fits redoes only the missing ones; a fit recorded
for a configuration that is no longer its optimizer's best (the study was
extended) is done again.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .estimators import DivergenceError, fit_epochs_together
from .space import SearchSpace
from .study.allocation import assigned
from .study.outcomes import best_scored, directions_of, tally
from .study.pool import map_unordered
from .study.storage import retry

__all__ = [
    "FinalFit",
    "Refit",
    "best_per_optimizer",
    "final_fits",
    "missing_fits",
    "run_final_fits",
    "seed_summary",
]

_PREFIX = "final:"


@dataclass(frozen=True)
class FinalFit:
    """One refit of an optimizer's best configuration with one training seed.

    Attributes
    ----------
    optimizer : str
    seed : int
        The estimator's ``random_state`` of this fit.
    trial : int
        Number of the trial whose configuration was refit.
    score : float
        Score on the test split (NaN when the fit failed).
    seconds : float
        Time to fit and score.
    error : str or None
        Why the fit failed (a diverged training), else None.
    """

    optimizer: str
    seed: int
    trial: int
    score: float
    seconds: float
    error: str | None = None

    @property
    def key(self) -> str:
        """The study attribute that holds this fit."""
        return f"{_PREFIX}{self.optimizer}:{self.seed}"


def final_fits(attrs: Mapping[str, Any]) -> list[FinalFit]:
    """The final fits recorded in a study's user attributes, by optimizer and seed."""
    fits = [FinalFit(**value) for key, value in attrs.items() if key.startswith(_PREFIX)]
    return sorted(fits, key=lambda f: (f.optimizer, f.seed))


def best_per_optimizer(study: optuna.Study) -> dict[str, FrozenTrial]:
    """Each optimizer's best completed trial (the first on ties), by cross-validation score
    (the first objective of a study of several)."""
    trials: dict[str, list[FrozenTrial]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        name = assigned(t)
        if name is not None:
            trials.setdefault(name, []).append(t)
    direction = directions_of(study)[0]
    return {name: best_scored(group, direction) for name, group in trials.items()}


def missing_fits(study: optuna.Study, seeds: int) -> list[tuple[str, FrozenTrial, int]]:
    """``(optimizer, best trial, seed)`` of the final fits still to do."""
    done = {(f.optimizer, f.seed): f.trial for f in final_fits(study.user_attrs)}
    return [
        (name, trial, seed)
        for name, trial in sorted(best_per_optimizer(study).items())
        for seed in range(seeds)
        if done.get((name, seed)) != trial.number
    ]


def study_complete(study: optuna.Study, n_trials: int, seeds: int, has_test: bool) -> bool:
    """Whether ``study`` has nothing left to do: ``n_trials`` trials ended on their own and,
    with a test split, every final fit of ``seeds`` seeds is done."""
    if tally(study.get_trials(deepcopy=False)).counted < n_trials:
        return False
    return not (has_test and missing_fits(study, seeds))


class Refit:
    """Fit configurations on a study's training part and score them on its test split.

    Picklable: worker processes run it. Parameters are those of the study's
    objective (:class:`tuner.objective.Objective`) plus the two parts.

    Parameters
    ----------
    estimator : estimator
        The study's estimator, as a template.
    space : SearchSpace
        Turns a trial's parameters into estimator arguments.
    X_train, y_train : array-like
        The training part (everything the search saw).
    X_test, y_test : array-like or None
        The test split; None when the study holds none out.
    scale : bool, default=True
        Standard-scale the features (a ``Pipeline`` with a ``StandardScaler``).
    scoring : str or callable, optional
        The study's scorer; default: the estimator's ``score``.
    """

    def __init__(
        self, estimator, space: SearchSpace, X_train, y_train, X_test=None, y_test=None,
        *, scale: bool = True, scoring: Any = None,
    ):  # fmt: skip
        self.estimator, self.space, self.scale, self.scoring = estimator, space, scale, scoring
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test

    @property
    def has_test(self) -> bool:
        return self.X_test is not None

    def model(self, params: Mapping[str, Any], seed: int | None = None):
        """An unfitted model of the configuration ``params`` (a trial's parameters),
        with the scaling as a ``Pipeline``; ``seed`` sets the estimator's ``random_state``."""
        estimator = clone(self.estimator).set_params(**self.space.build(params))
        if seed is not None:
            estimator.set_params(random_state=seed)
        return make_pipeline(StandardScaler(), estimator) if self.scale else estimator

    def fit(self, params: Mapping[str, Any], seed: int | None = None):
        """The model of ``params`` fitted on the training part (a DivergenceError if it
        diverges)."""
        (model,) = self.fit_seeds(params, [seed])
        if isinstance(model, DivergenceError):
            raise model
        return model

    def fit_seeds(self, params: Mapping[str, Any], seeds: Sequence[int | None]) -> list[Any]:
        """The models of ``params`` with each training seed, fitted on the training part
        together (:func:`~tuner.estimators.fit_epochs_together`), each as :meth:`fit`
        would; the DivergenceError of a model whose training diverged stands in its place."""
        models = [self.model(params, seed) for seed in seeds]
        X = self.X_train
        if self.scale:  # one scaler serves every seed: it is fitted the same for each
            scaler = models[0][0].fit(X)
            X = scaler.transform(X)
            for model in models:
                model.steps[0] = (model.steps[0][0], scaler)
        estimators = [model[-1] if self.scale else model for model in models]
        with warnings.catch_warnings():  # as in the trials: the budget of epochs is the study's
            warnings.simplefilter("ignore", ConvergenceWarning)
            for results in fit_epochs_together(estimators, [(X, self.y_train)] * len(models)):
                for k, result in results.items():
                    if isinstance(result, DivergenceError):
                        models[k] = result
        return models

    def score(self, model) -> float:
        """``model``'s score on the test split."""
        return float(check_scoring(model, self.scoring)(model, self.X_test, self.y_test))

    def __call__(
        self, optimizer: str, trial: FrozenTrial, seeds: Sequence[int]
    ) -> list[FinalFit]:
        """Refit ``trial``'s configuration with each training seed of ``seeds``, and score it.

        A fit that diverged, or whose data the estimator refused, is recorded
        with its error and a NaN score. Each fit's ``seconds`` is its share of
        the time of training the seeds together, plus its scoring.
        """
        start = time.perf_counter()
        try:
            models: list[Any] = self.fit_seeds(trial.params, seeds)
        except (ValueError, FloatingPointError) as exc:  # the data or the configuration
            models = [exc] * len(seeds)
        share = (time.perf_counter() - start) / len(seeds)
        fits = []
        for seed, model in zip(seeds, models):
            start = time.perf_counter()
            if isinstance(model, Exception):
                score, error = math.nan, f"{type(model).__name__}: {model}"
            else:
                score, error = self.score(model), None
            seconds = share + time.perf_counter() - start
            fits.append(FinalFit(optimizer, seed, trial.number, score, seconds, error))
        return fits


def run_final_fits(
    study: optuna.Study, refit: Refit, seeds: int, n_jobs: int = 1
) -> list[FinalFit]:
    """Run the missing final fits in ``n_jobs`` processes, the seeds of a configuration
    together; record each configuration's fits in the study as they end.

    Returns the fits run now (none when every fit is recorded, or the study
    holds out no test split).
    """
    todo = missing_fits(study, seeds) if refit.has_test else []
    groups: dict[tuple[str, int], tuple[str, FrozenTrial, list[int]]] = {}
    for optimizer, trial, seed in todo:
        groups.setdefault((optimizer, trial.number), (optimizer, trial, []))[2].append(seed)
    ran = []
    for fits in map_unordered(refit, list(groups.values()), n_jobs):
        for fit in fits:
            retry(study.set_user_attr, fit.key, asdict(fit))
        ran.extend(fits)
    return ran


def seed_summary(fits: Sequence[FinalFit]) -> dict[str, tuple[float, float, int]]:
    """Per optimizer: mean and standard deviation (ddof 1) of its test scores, and their count."""
    out = {}
    for name in sorted({f.optimizer for f in fits}):
        scores = np.array([f.score for f in fits if f.optimizer == name and f.error is None])
        std = float(scores.std(ddof=1)) if len(scores) > 1 else math.nan
        out[name] = (float(scores.mean()) if len(scores) else math.nan, std, len(scores))
    return out
