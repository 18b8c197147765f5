"""Linear models trained by mini-batches: least-squares (or Huber) and logistic regression."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np

from ..sklearn_compat import Interval, StrOptions
from ._base import BaseNetworkEstimator
from ._docs import fill_doc
from ._losses import HuberLoss, Loss, SquaredLoss
from ._tasks import ClassifierHead, RegressorHead

__all__ = ["LinearRegressor", "LogisticClassifier"]


class _LinearModel:
    """Architecture mixin: no hidden layer; ``coef_`` and ``intercept_`` view the weights."""

    def _layer_sizes(self) -> tuple[int, ...]:
        return ()

    def _activation_name(self) -> str:
        return "identity"

    def _publish(self, arrays) -> None:
        weights, intercept = arrays
        self.coef_ = weights.T
        self.intercept_ = intercept

    def _fitted_arrays(self) -> list[np.ndarray]:
        coef = np.reshape(self.coef_, (-1, self.n_features_in_))
        return [coef.T, np.atleast_1d(self.intercept_).astype(coef.dtype, copy=False)]


@fill_doc
class LinearRegressor(RegressorHead, _LinearModel, BaseNetworkEstimator):
    """Linear regression trained by mini-batches with a pluggable optimizer and schedule.

    Minimizes the weighted mean of the squared error :math:`\\frac12\\lVert Xw + b - y\\rVert^2`
    (or of Huber's loss) plus :math:`\\frac{\\alpha}{2}\\lVert w\\rVert^2`, starting from zero.
    Accepts sparse (CSR) ``X``.

    Parameters
    ----------
    loss : {"squared_error", "huber"}, default="squared_error"
        Per-output loss of the residual :math:`r`: :math:`\\frac12 r^2`, or Huber's,
        quadratic for :math:`|r| \\le \\epsilon` and linear beyond (robust to outliers).
    epsilon : float, default=1.35
        The Huber threshold :math:`\\epsilon` > 0, in the units of ``y``
        (only used by ``loss="huber"``).
    %(training_parameters)s

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        Weights (1-D for a single output).
    intercept_ : float or ndarray of shape (n_outputs,)
        Intercepts.
    n_outputs_ : int
        Number of outputs.
    %(training_attributes)s

    See Also
    --------
    LogisticClassifier : the classification counterpart.

    %(training_notes)s

    Examples
    --------
    >>> import numpy as np, optim
    >>> from tuner.estimators import LinearRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 3.0
    >>> reg = LinearRegressor(optimizer=optim.SGD(lr=0.1), alpha=0.0, tol=1e-8, random_state=0)
    >>> reg.fit(X, y).coef_.round(2)
    array([ 1. , -2. ,  0.5])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseNetworkEstimator._parameter_constraints,
        "loss": [StrOptions({"squared_error", "huber"})],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        loss="squared_error",
        epsilon=1.35,
        alpha=1e-4,
        optimizer="adam",
        schedule="constant",
        schedule_interval="epoch",
        batch_size=32,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=False,
    ):
        self.loss = loss
        self.epsilon = epsilon
        super().__init__(
            alpha=alpha,
            optimizer=optimizer,
            schedule=schedule,
            schedule_interval=schedule_interval,
            batch_size=batch_size,
            max_epochs=max_epochs,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
        )

    def _make_loss(self, n_outputs: int) -> Loss:
        return HuberLoss(self.epsilon) if self.loss == "huber" else SquaredLoss()

    def _publish(self, arrays) -> None:
        weights, intercept = arrays
        if weights.shape[1] == 1:
            self.coef_ = weights[:, 0]
            self.intercept_ = float(intercept[0])
        else:
            super()._publish(arrays)


@fill_doc
class LogisticClassifier(ClassifierHead, _LinearModel, BaseNetworkEstimator):
    """Logistic regression (binary or multinomial) trained by mini-batches.

    Minimizes the weighted mean cross-entropy of the logistic (two classes,
    one output) or softmax (K classes, K outputs) model plus
    :math:`\\frac{\\alpha}{2}\\lVert W\\rVert^2`, starting from zero. With
    ``alpha = 1 / (C * n_samples)`` it minimizes the objective of
    scikit-learn's ``LogisticRegression(C=C)``. Accepts sparse (CSR) ``X``.

    Parameters
    ----------
    %(training_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights (one row for two classes, as scikit-learn's linear classifiers).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    %(training_attributes)s

    See Also
    --------
    LinearRegressor : the regression counterpart.
    MLPClassifier : with hidden layers.

    %(training_notes)s
    """

    def __init__(
        self,
        *,
        alpha=1e-4,
        optimizer="adam",
        schedule="constant",
        schedule_interval="epoch",
        batch_size=32,
        max_epochs=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=False,
    ):
        super().__init__(
            alpha=alpha,
            optimizer=optimizer,
            schedule=schedule,
            schedule_interval=schedule_interval,
            batch_size=batch_size,
            max_epochs=max_epochs,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
        )

    def decision_function(self, X) -> np.ndarray:
        """Logits: shape (n_samples,) for two classes (> 0 means ``classes_[1]``), else (n, K)."""
        raw = self._raw_output(X)
        return raw[:, 0] if raw.shape[1] == 1 else raw
