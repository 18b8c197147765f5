"""What training produces: each epoch's result, and the error of a training that diverged."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DIVERGENCE_FACTOR", "DivergenceError", "EpochResult", "StackedEpoch"]

#: Training has diverged once an epoch's mean loss exceeds this many times the
#: reference loss (see ``Trainer``). Sane training, even noisy or at a
#: too-large but stable rate, stays orders of magnitude below the loss of its
#: initial weights times this; an unstable rate grows the loss geometrically.
DIVERGENCE_FACTOR = 1e4


class DivergenceError(ValueError):
    """Training diverged: the loss or the weights became NaN or infinite, or the
    training loss of an epoch (or of the weights it ended with) grew past
    ``DIVERGENCE_FACTOR`` (10,000) times the loss of the initial weights.

    The estimator keeps the weights and optimizer state of the end of the
    last sane epoch (the initial ones if the first epoch diverged).

    Attributes
    ----------
    epoch : int
        The epoch (counted from 1, as ``n_iter_``) in which training diverged.
    loss : float
        The epoch's loss: non-finite, or past the limit (NaN when the weights or
        the gradients diverged first).
    """

    def __init__(self, message: str, epoch: int, loss: float = math.nan):
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss

    def __reduce__(self):
        # Rebuilt with all its arguments, so that it survives joblib's worker processes.
        return type(self), (self.args[0], self.epoch, self.loss)


@dataclass(frozen=True)
class EpochResult:
    """What one epoch of training produced, as given to callbacks and yielded by ``fit_epochs``.

    Attributes
    ----------
    epoch : int
        Epochs completed so far, counting from 1 (equal to ``estimator.n_iter_``).
    loss : float
        Mean training loss of the epoch, including the L2 term.
    validation_score : float or None
        Accuracy (classifiers) or R^2 (regressors) on the validation data after
        the epoch; None when there is no validation data.
    learning_rate : float
        The rate used in the epoch (the mean over its steps when the schedule
        advances per batch).
    estimator : estimator
        The estimator being trained, usable (``predict``, ``score``) right now.
    """

    epoch: int
    loss: float
    validation_score: float | None
    learning_rate: float
    estimator: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class StackedEpoch:
    """What one epoch did to each replica of a :class:`Trainer` (arrays of shape (r,)).

    Attributes
    ----------
    loss : ndarray
        Mean objective of each replica over the epoch.
    learning_rate : ndarray
        Rate of the epoch (the mean over its steps when it changes per batch).
    diverged : list of DivergenceError or None
        The divergence of each replica, if it diverged; its weights and optimizer
        state are then those of the end of the previous epoch again.
    """

    loss: np.ndarray
    learning_rate: np.ndarray
    diverged: list[DivergenceError | None]
