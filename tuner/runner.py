"""From a study file to a running study: data, estimator, space and objective."""

from __future__ import annotations

from . import estimators
from .data import load_data
from .objective import Objective
from .space import SearchSpace
from .studyfile import StudySpec

__all__ = ["build_objective"]


def build_objective(spec: StudySpec) -> Objective:
    """The objective a study file describes (loads its data)."""
    X, y = load_data(spec.data, spec.path.parent)
    estimator = getattr(estimators, spec.estimator)(**spec.estimator_params)
    space = SearchSpace(
        spec.optimizers,
        spec.schedules,
        params=spec.params,
        estimator_params=spec.estimator_space,
        horizon=estimator.max_epochs,
    )
    return Objective(
        estimator, X, y, space, cv=spec.cv, scoring=spec.scoring, scale=spec.scale,
        holdout_fraction=spec.holdout_fraction,
        random_state=0 if spec.seed is None else spec.seed,
    )  # fmt: skip
