"""Multi-layer perceptrons for classification and regression."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np

from ..sklearn_compat import Interval, StrOptions
from ._base import BaseNetworkEstimator
from ._docs import fill_doc
from ._network import ACTIVATIONS
from ._tasks import ClassifierHead, RegressorHead

__all__ = ["MLPClassifier", "MLPRegressor"]

_MLP_CONSTRAINTS: dict = {
    **BaseNetworkEstimator._parameter_constraints,
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
}

_MLP_PARAMETERS = """\
hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers.
    """


class _MLP:
    """Architecture mixin: hidden layers, exposed as ``coefs_`` and ``intercepts_``."""

    def _layer_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}"
            )
        return tuple(int(s) for s in sizes)

    def _activation_name(self) -> str:
        return self.activation

    def _publish(self, arrays) -> None:
        n_layers = len(arrays) // 2
        self.coefs_ = list(arrays[:n_layers])
        self.intercepts_ = list(arrays[n_layers:])

    def _fitted_arrays(self) -> list[np.ndarray]:
        return [*self.coefs_, *self.intercepts_]


def _mlp_doc(cls: type) -> type:
    cls.__doc__ = cls.__doc__.replace("%(mlp_parameters)s", _MLP_PARAMETERS)
    return fill_doc(cls)


@_mlp_doc
class MLPClassifier(ClassifierHead, _MLP, BaseNetworkEstimator):
    """Multi-layer perceptron classifier trained with a pluggable optimizer and schedule.

    Hidden layers of ``hidden_layer_sizes`` units with the chosen activation, then
    one logistic output (two classes) or a softmax over the classes, trained on
    the weighted mean cross-entropy plus :math:`\\frac{\\alpha}{2}\\lVert W\\rVert^2`
    from a Glorot-uniform start. Accepts sparse (CSR) ``X``.

    Parameters
    ----------
    %(mlp_parameters)s%(training_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        Weight matrix of each layer, ``coefs_[i]`` of shape (n_in, n_out).
    intercepts_ : list of ndarray
        Bias vector of each layer.
    %(training_attributes)s

    %(training_notes)s

    Examples
    --------
    >>> import optim
    >>> from sklearn.datasets import load_iris
    >>> from tuner.estimators import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), optimizer=optim.Adam(lr=1e-2),
    ...                     schedule=optim.CosineAnnealing(t_max=100), max_epochs=100,
    ...                     tol=1e-3, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: ClassVar[dict] = _MLP_CONSTRAINTS

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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


@_mlp_doc
class MLPRegressor(RegressorHead, _MLP, BaseNetworkEstimator):
    """Multi-layer perceptron regressor trained with a pluggable optimizer and schedule.

    Hidden layers of ``hidden_layer_sizes`` units with the chosen activation and
    a linear output layer, trained on the weighted mean of
    :math:`\\frac12\\lVert f(x) - y\\rVert^2` plus :math:`\\frac{\\alpha}{2}\\lVert W\\rVert^2`
    from a Glorot-uniform start. Accepts sparse (CSR) ``X``.

    Parameters
    ----------
    %(mlp_parameters)s%(training_parameters)s

    Attributes
    ----------
    coefs_ : list of ndarray
        Weight matrix of each layer, ``coefs_[i]`` of shape (n_in, n_out).
    intercepts_ : list of ndarray
        Bias vector of each layer.
    n_outputs_ : int
        Number of outputs.
    %(training_attributes)s

    %(training_notes)s
    """

    _parameter_constraints: ClassVar[dict] = _MLP_CONSTRAINTS

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
