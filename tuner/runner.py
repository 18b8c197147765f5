"""From a study file to a running study: data, estimator, space, objective and final fits."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import check_distribution_compatibility
from sklearn.base import is_classifier
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import check_scoring

from . import estimators
from .data import load_data
from .final import Refit
from .objective import Objective, hold_out_test, make_folds
from .space import SearchSpace, schedule_horizon
from .study.allocation import EqualAllocation, check_baselines
from .studyfile import StudyFileError, StudySpec

__all__ = [
    "StudyParts",
    "build_study",
    "check_resumable",
    "check_same_study",
    "study_allocation",
]

#: What defines a study, by spec field and the study-file key that sets it: a worker
#: joining a study must bring a file that agrees on every one.
_DEFINING = {
    "name": "study.name", "seed": "study.seed", "cv": "study.cv", "objectives": "study.objectives",
    "holdout_fraction": "study.holdout_fraction", "scoring": "study.scoring",
    "allocation": "study.allocation", "data": "data", "scale": "data.scale",
    "estimator": "estimator.class", "estimator_params": "estimator.params",
    "optimizers": "space.optimizers", "schedules": "space.schedules", "params": "space.params",
    "estimator_space": "space.estimator", "test_fraction": "evaluate.test_fraction",
}  # fmt: skip


def check_resumable(spec: StudySpec, space: SearchSpace, study: optuna.Study) -> None:
    """Raise :class:`StudyFileError` if ``space`` cannot continue ``study``'s trials.

    Optuna keeps one kind of distribution per parameter name in a study: a file
    whose space changed the choices of a categorical parameter (an optimizer
    added to the list) or a range from linear to log would fail every new trial.
    Ranges that only widen or narrow are fine.
    """
    wanted = space.distributions()
    seen: set[str] = set()
    for trial in study.get_trials(deepcopy=False):
        for name, old in trial.distributions.items():
            if name in seen or name not in wanted:
                continue
            seen.add(name)
            for new in wanted[name]:
                try:
                    check_distribution_compatibility(old, new)
                except ValueError as exc:
                    raise StudyFileError(
                        spec.path, "space", f"{name!r} cannot change from the study's {old} to "
                        f"{new} ({exc}); keep the space as the study began, or start a new "
                        "study (another name)"
                    ) from None  # fmt: skip


def check_same_study(spec: StudySpec, recorded: Mapping[str, Any] | None) -> None:
    """Raise :class:`StudyFileError` where ``spec`` differs from the spec a study recorded.

    Compares what defines the study (:data:`_DEFINING`: its data, estimator, space,
    folds and split), not where the file or the data lie on this machine. A study
    that recorded no spec (run from Python) is not checked.
    """
    if not recorded:
        return
    mine = spec.to_attrs()
    for field, key in _DEFINING.items():
        ours, theirs = mine.get(field), recorded.get(field)
        if field == "data":  # the file's location may differ from machine to machine
            ours, theirs = (
                {k: v for k, v in (d or {}).items() if k != "origin"} for d in (ours, theirs)
            )
        if ours != theirs:
            raise StudyFileError(
                spec.path, key, f"differs from what study {recorded.get('name')!r} recorded "
                f"({theirs!r}, here {ours!r}): its trials would not be the study's"
            )  # fmt: skip


def study_allocation(spec: StudySpec) -> EqualAllocation | None:
    """The equal allocation a study file asks for, or None for an adaptive one."""
    return EqualAllocation(spec.optimizers) if spec.allocation == "equal" else None


@dataclass(frozen=True)
class StudyParts:
    """What a study file describes, built: the search's objective and the final fits."""

    objective: Objective
    refit: Refit
    baselines: tuple[dict[str, Any], ...] = ()  # complete trial parameters, run first


def _check_target(spec: StudySpec, estimator, y: np.ndarray) -> None:
    """Refuse a target the estimator or the scorer cannot work with, before any trial
    fails on it: one class for a classifier, text for a regressor, a scorer that does
    not fit the task (ROC AUC of three classes). The scorer is tried on a dummy model."""
    classifier = is_classifier(estimator)
    if classifier and len(np.unique(y)) < 2:
        raise StudyFileError(spec.path, "data", f"the target has a single class ({y.flat[0]!r}): "
                             "a classifier needs two or more")  # fmt: skip
    if not classifier and not np.issubdtype(y.dtype, np.number):
        raise StudyFileError(
            spec.path, "data", f"the target is not numeric ({y.dtype}) but {spec.estimator} is "
            "a regressor: choose a classifier, or encode the target as numbers"
        )  # fmt: skip
    dummy = DummyClassifier() if classifier else DummyRegressor()
    X = np.zeros((len(y), 1))
    try:
        scorer = check_scoring(dummy.fit(X, y), spec.scoring)
        with warnings.catch_warnings():  # a dummy's constant predictions warn, and mean nothing
            warnings.simplefilter("ignore")
            scorer(dummy, X, y)
    except ValueError as exc:
        reason = str(exc).splitlines()[0]
        raise StudyFileError(spec.path, "study.scoring", f"{spec.scoring!r} cannot score this "
                             f"study's target: {reason}") from None  # fmt: skip


def build_study(spec: StudySpec, n_trials: int | None = None) -> StudyParts:
    """Load a study file's data, hold out its test split, and build the objective
    (on the training part) and the final fits (see :mod:`tuner.final`); the
    baselines must fit a budget of ``n_trials`` (default: the file's)."""
    X, y = load_data(spec.data, spec.path.parent)
    estimator = getattr(estimators, spec.estimator)(**spec.estimator_params)
    _check_target(spec, estimator, y)
    seed = 0 if spec.seed is None else spec.seed
    try:  # the split and the folds depend on the data, which the file's reader did not see
        X_train, X_test, y_train, y_test = hold_out_test(
            estimator, X, y, spec.test_fraction, seed
        )
    except ValueError as exc:
        raise StudyFileError(spec.path, "evaluate.test_fraction", str(exc)) from None
    try:
        folds = make_folds(estimator, X_train, y_train, spec.cv, spec.holdout_fraction, seed)
    except ValueError as exc:
        raise StudyFileError(spec.path, "study.cv", str(exc)) from None
    space = SearchSpace(
        spec.optimizers,
        spec.schedules,
        params=spec.params,
        estimator_params=spec.estimator_space,
        horizon=schedule_horizon(estimator, min(len(train) for train, _ in folds)),
    )
    objective = Objective(
        estimator, X_train, y_train, space, cv=folds, scoring=spec.scoring, scale=spec.scale,
        objectives=spec.objectives,
    )  # fmt: skip
    refit = Refit(
        estimator, space, X_train, y_train, X_test, y_test, scale=spec.scale, scoring=spec.scoring
    )
    baselines = tuple(space.complete(b) for b in spec.baselines)
    try:
        check_baselines(baselines, n_trials or spec.n_trials, study_allocation(spec))
    except ValueError as exc:
        raise StudyFileError(spec.path, "study.baseline", str(exc)) from None
    return StudyParts(objective, refit, baselines)
