"""Scikit-learn estimators trained by mini-batches with the ``optim`` optimizers and schedules.

>>> import optim
>>> from tuner.estimators import MLPClassifier
>>> clf = MLPClassifier(optimizer=optim.Adam(lr=3e-3),
...                     schedule=optim.CosineAnnealing(t_max=30), max_epochs=30)

The optimizer and the schedule are parameters like any other
(``set_params(optimizer__lr=1e-2)``, grids over ``schedule__t_max``).
``fit(..., callbacks=...)`` calls back after every epoch, and ``fit_epochs``
trains one epoch per step of an iterator, so that a tuning objective can train
cross-validation folds in lock step and report each epoch to a pruner;
``fit_epochs_together`` trains such folds as one stacked model.
"""

from ._outcomes import DivergenceError, EpochResult
from ._session import fit_epochs_together
from .linear import LinearRegressor, LogisticClassifier
from .mlp import MLPClassifier, MLPRegressor

__all__ = [
    "DivergenceError",
    "EpochResult",
    "LinearRegressor",
    "LogisticClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "fit_epochs_together",
]
