"""Tuning layer: scikit-learn estimators, Optuna studies, reports and the CLI.

>>> from tuner import MLPClassifier, OptimizerSearchCV
>>> search = OptimizerSearchCV(MLPClassifier(max_epochs=30), n_trials=40, n_jobs=2)
>>> search.fit(X, y).best_params_          # {"optimizer": "adam", "lr": ..., ...}
"""

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
from .storage import mask_url, open_storage
from .study import StudyAborted, run_study
from .studyfile import StudyFileError, StudySpec, load_study_file

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
