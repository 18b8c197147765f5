"""From a study file to a running study: data, estimator, space and objective."""

from __future__ import annotations

from . import estimators
from .allocation import EqualAllocation
from .data import load_data
from .objective import Objective, make_folds
from .space import SearchSpace, schedule_horizon
from .studyfile import StudyFileError, StudySpec

__all__ = ["build_objective", "study_allocation"]


def study_allocation(spec: StudySpec) -> EqualAllocation | None:
    """The equal allocation a study file asks for, or None for an adaptive one."""
    return EqualAllocation(spec.optimizers) if spec.allocation == "equal" else None


def build_objective(spec: StudySpec) -> Objective:
    """The objective a study file describes (loads its data)."""
    X, y = load_data(spec.data, spec.path.parent)
    estimator = getattr(estimators, spec.estimator)(**spec.estimator_params)
    seed = 0 if spec.seed is None else spec.seed
    try:  # the folds depend on the data, which the file's reader did not see
        folds = make_folds(estimator, X, y, spec.cv, spec.holdout_fraction, seed)
    except ValueError as exc:
        raise StudyFileError(spec.path, "study.cv", str(exc)) from None
    space = SearchSpace(
        spec.optimizers,
        spec.schedules,
        params=spec.params,
        estimator_params=spec.estimator_space,
        horizon=schedule_horizon(estimator, min(len(train) for train, _ in folds)),
    )
    return Objective(estimator, X, y, space, cv=folds, scoring=spec.scoring, scale=spec.scale)
