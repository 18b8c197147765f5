"""From a study file to a running study: data, estimator, space, objective and final fits."""

from __future__ import annotations

from dataclasses import dataclass

from . import estimators
from .allocation import EqualAllocation
from .data import load_data
from .final import Refit
from .objective import Objective, hold_out_test, make_folds
from .space import SearchSpace, schedule_horizon
from .studyfile import StudyFileError, StudySpec

__all__ = ["StudyParts", "build_study", "study_allocation"]


def study_allocation(spec: StudySpec) -> EqualAllocation | None:
    """The equal allocation a study file asks for, or None for an adaptive one."""
    return EqualAllocation(spec.optimizers) if spec.allocation == "equal" else None


@dataclass(frozen=True)
class StudyParts:
    """What a study file describes, built: the search's objective and the final fits."""

    objective: Objective
    refit: Refit


def build_study(spec: StudySpec) -> StudyParts:
    """Load a study file's data, hold out its test split, and build the objective
    (on the training part) and the final fits (see :mod:`tuner.final`)."""
    X, y = load_data(spec.data, spec.path.parent)
    estimator = getattr(estimators, spec.estimator)(**spec.estimator_params)
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
        estimator, X_train, y_train, space, cv=folds, scoring=spec.scoring, scale=spec.scale
    )
    refit = Refit(
        estimator, space, X_train, y_train, X_test, y_test, scale=spec.scale, scoring=spec.scoring
    )
    return StudyParts(objective, refit)
