"""From a study file to a running study: data, estimator, space and objective."""

from __future__ import annotations

from pathlib import Path

import optuna

from . import estimators
from .data import load_data
from .objective import Objective
from .space import SearchSpace
from .studyfile import StudySpec

__all__ = ["build_objective", "write_trials_csv"]


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


def write_trials_csv(study: optuna.Study, directory: str | Path) -> Path:
    """Write ``trials.csv`` (one row per trial, parameters and attributes as columns)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    frame = study.trials_dataframe()
    frame = frame.drop(columns=[c for c in frame.columns if c == "user_attrs_curves"])
    path = directory / "trials.csv"
    frame.to_csv(path, index=False)
    return path
