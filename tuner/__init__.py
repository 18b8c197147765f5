"""Tuning layer: scikit-learn estimators, Optuna studies, reports and the CLI.

>>> from tuner import MLPClassifier, OptimizerSearchCV
>>> search = OptimizerSearchCV(MLPClassifier(max_epochs=30), n_trials=40, n_jobs=2)
>>> search.fit(X, y).best_params_          # {"optimizer": "adam", "lr": ..., ...}

The names below load their module on first use (PEP 562): scikit-learn takes
about two seconds to import, which ``tuner --help`` and a worker process that
only needs the study runner should not pay for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "DivergenceError": "estimators",
    "EpochResult": "estimators",
    "LinearRegressor": "estimators",
    "LogisticClassifier": "estimators",
    "MLPClassifier": "estimators",
    "MLPRegressor": "estimators",
    "Objective": "objective",
    "make_folds": "objective",
    "OptimizerSearchCV": "search",
    "SearchSpace": "space",
    "mask_url": "study",
    "open_storage": "study",
    "StudyAborted": "study",
    "run_study": "study",
    "StudyFileError": "studyfile",
    "StudySpec": "studyfile",
    "load_study_file": "studyfile",
}

__all__ = [
    "DivergenceError",
    "EpochResult",
    "LinearRegressor",
    "LogisticClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "Objective",
    "OptimizerSearchCV",
    "SearchSpace",
    "StudyAborted",
    "StudyFileError",
    "StudySpec",
    "load_study_file",
    "make_folds",
    "mask_url",
    "open_storage",
    "run_study",
]

if TYPE_CHECKING:  # what static tools see; at run time __getattr__ imports on demand
    from .estimators import (
        DivergenceError,
        EpochResult,
        LinearRegressor,
        LogisticClassifier,
        MLPClassifier,
        MLPRegressor,
    )
    from .objective import Objective, make_folds
    from .search import OptimizerSearchCV
    from .space import SearchSpace
    from .study import StudyAborted, mask_url, open_storage, run_study
    from .studyfile import StudyFileError, StudySpec, load_study_file


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
