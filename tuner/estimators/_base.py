"""The base of the estimators: parameters, input checks and the one epoch loop they share.

Training is a generator of epochs (:meth:`BaseNetworkEstimator.fit_epochs`):
``fit`` drains it and calls the callbacks, ``partial_fit`` takes one epoch of
it, and a tuning objective can advance several of them in lock step (one per
cross-validation fold) to report the mean validation score of every epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

import optim
from optim import Optimizer, Schedule

from ..sklearn_compat import (
    Interval,
    StrOptions,
    check_sample_weight,
    fit_context,
    validate_params,
)
from ._network import Network
from ._outcomes import EpochResult
from ._params import NestedParamsMixin, resolve_optimizer
from ._session import Session, one, train
from ._training import Replica, Trainer

__all__ = ["BaseNetworkEstimator"]

_FLOATS = [np.float64, np.float32]
# Mini-batch size of batch_size="auto", as in scikit-learn's MLP.
AUTO_BATCH_SIZE = 200

Callback = Callable[[EpochResult], Any]


def _as_callbacks(callbacks: Callback | Iterable[Callback] | None) -> list[Callback]:
    if callbacks is None:
        return []
    callbacks = [callbacks] if callable(callbacks) else list(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks must be callables taking an EpochResult, got {cb!r}")
    return callbacks


class BaseNetworkEstimator(NestedParamsMixin, BaseEstimator):
    """Mini-batch training of a :class:`~._network.Network` with an ``optim`` optimizer.

    Subclasses combine a task mixin (what the output means: ``_make_loss``,
    ``_encode_targets``, ``_encode_validation``, ``_score_raw``) with an
    architecture mixin (``_layer_sizes``, ``_activation_name``, ``_publish``,
    ``_fitted_arrays``).
    """

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "optimizer": [str, Optimizer],
        "schedule": [str, Schedule],
        "schedule_interval": [StrOptions({"epoch", "batch"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        alpha,
        optimizer,
        schedule,
        schedule_interval,
        batch_size,
        max_epochs,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        shuffle,
        random_state,
        warm_start,
        verbose,
    ):
        self.alpha = alpha
        self.optimizer = optimizer
        self.schedule = schedule
        self.schedule_interval = schedule_interval
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "optimizer_state_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- training ----------------------------------------------------------------
    def check_params(self) -> None:
        """Check the parameters as ``fit`` does, without data.

        Raises ``ValueError`` or ``TypeError`` naming the parameter: a value
        outside the constraints, or an architecture that cannot be built (a
        hidden layer of 0 units). A study file checks its estimator values so.
        """
        validate_params(self)
        self._layer_sizes()

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, callbacks=None):
        """Train on ``(X, y)`` for up to ``max_epochs`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data trains in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; each mini-batch minimizes its weighted mean loss.
        X_val, y_val : array-like, default=None
            Validation data scored after every epoch (``validation_scores_``),
            and used for early stopping when ``early_stopping=True``.
        callbacks : callable or list of callables, default=None
            Each is called after every epoch with an :class:`EpochResult`;
            training stops when any returns True. An exception raised by a
            callback (say, Optuna's ``TrialPruned``) propagates, leaving the
            estimator as it was after that epoch.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        DivergenceError
            When the loss or the weights become NaN or infinite, or the training
            loss of an epoch grows past 10,000 times the loss of the initial weights.
        """
        callbacks = _as_callbacks(callbacks)
        epochs = one(train([self._prepare(X, y, sample_weight, X_val, y_val)]))
        for result in epochs:
            if any([bool(cb(result)) for cb in callbacks]):  # every callback sees every epoch
                epochs.close()
                self.stop_reason_ = "callback"
                break
        return self

    @fit_context(prefer_skip_nested_validation=True)
    def fit_epochs(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train as :meth:`fit` does, one epoch per step of the returned iterator.

        The input is checked and the model initialized when this is called; each
        ``next()`` then trains one epoch and yields its :class:`EpochResult`,
        with the estimator usable in between. Stopping early is simply not
        asking for the next epoch. The iterator ends when :meth:`fit` would
        stop (``tol``, early stopping, ``max_epochs``), and raises
        :class:`DivergenceError` if training diverges. Several iterators can be
        advanced in lock step, for instance one per cross-validation fold::

            folds = [clone(est).fit_epochs(X[tr], y[tr], X_val=X[va], y_val=y[va])
                     for tr, va in KFold(5).split(X)]
            for results in zip(*folds):   # stops with the first fold that stops
                score = np.mean([r.validation_score for r in results])

        Parameters are those of :meth:`fit` (without callbacks).

        Returns
        -------
        epochs : iterator of EpochResult
        """
        return one(train([self._prepare(X, y, sample_weight, X_val, y_val)]))

    def _partial_fit(self, X, y, sample_weight, classes=None):
        session = self._prepare(X, y, sample_weight, incremental=True, classes=classes)
        for _ in one(train([session], stopping=False, n_epochs=1)):
            pass
        return self

    def _prepare(
        self, X, y, sample_weight=None, X_val=None, y_val=None, *, incremental=False, classes=None
    ) -> Session:
        """Check the input, prepare the weights, the optimizer and the schedule of a training."""
        continuing = self.__sklearn_is_fitted__() and (incremental or self.warm_start)
        X, Y, target, sample_weight = self._training_data(
            X, y, sample_weight, continuing=continuing, incremental=incremental, classes=classes
        )
        rng = self._rng if continuing else check_random_state(self.random_state)
        network = Network((X.shape[1], *self._layer_sizes(), Y.shape[1]), self._activation_name())
        params = self._initial_params(network, X.dtype, rng, continuing)

        early = self.early_stopping and not incremental
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together")
        if X_val is not None:
            X_val, y_val = validate_data(
                self,
                X_val,
                y_val,
                reset=False,
                accept_sparse="csr",
                dtype=X.dtype,
                **self._target_checks,
            )
            validation = (X_val, self._encode_validation(y_val))
        elif early:
            X, Y, sample_weight, validation = self._hold_out(X, Y, target, sample_weight, rng)
        else:
            validation = None

        optimizer = resolve_optimizer(self.optimizer)
        schedule = optim.get_schedule(self.schedule)
        opt_state = optimizer.init(params)  # also checks the optimizer's hyperparameters
        if continuing:
            opt_state = self.optimizer_state_
        else:
            self.n_iter_ = self.n_batches_ = 0
            self.loss_curve_, self.lr_curve_ = [], []
            self.validation_scores_ = self.best_validation_score_ = None
            self.schedule_state_ = schedule.init_state()
            self._rng = rng
        self._network = network
        self.optimizer_state_ = opt_state
        self._publish(network.arrays(params))

        batch_size = AUTO_BATCH_SIZE if self.batch_size == "auto" else self.batch_size
        replica = Replica(
            X, Y, sample_weight, params, rng, self._reference_loss if continuing else None
        )
        return Session(
            estimator=self,
            replica=replica,
            validation=validation,
            early=early,
            optimizer=optimizer,
            schedule=schedule,
            opt_state=opt_state,
            continuing=continuing,
            batch_size=min(batch_size, Y.shape[0]),
        )

    def _training_data(self, X, y, sample_weight, *, continuing, incremental, classes):
        """Validated ``X``, encoded targets ``Y`` (in X's dtype), raw targets, weights."""
        # Continuing training keeps the fitted dtype; a new fit follows the input's.
        dtype = self.optimizer_state_.dtype if continuing else _FLOATS
        X, y = validate_data(
            self,
            X,
            y,
            reset=not continuing,
            accept_sparse="csr",
            dtype=dtype,
            order="C",
            **self._target_checks,
        )
        if sample_weight is not None:
            sample_weight = check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        Y, target = self._encode_targets(
            y, sample_weight, continuing=continuing, incremental=incremental, classes=classes
        )
        return X, Y.astype(X.dtype, copy=False), target, sample_weight

    def _initial_params(self, network: Network, dtype, rng, continuing: bool) -> np.ndarray:
        """A new flat vector holding the fitted weights, or freshly initialized ones."""
        params = np.zeros(network.n_params, dtype)
        if not continuing:
            network.initialize(params, rng)
            return params
        arrays = self._fitted_arrays()
        if [a.shape for a in arrays] != network.shapes:
            raise ValueError(
                f"{type(self).__name__}: cannot continue training (warm_start or "
                f"partial_fit) with layer sizes {network.layer_sizes}; the fitted "
                f"model has {self._network.layer_sizes}. Refit without warm_start."
            )
        for view, a in zip(network.arrays(params), arrays):
            view[...] = a
        return params

    def _hold_out(self, X, Y, target, sample_weight, rng):
        """Split off ``validation_fraction`` for early stopping (stratified for classifiers)."""
        arrays = [a for a in (X, Y, target, sample_weight) if a is not None]
        parts = train_test_split(
            *arrays,
            test_size=self.validation_fraction,
            random_state=rng,
            stratify=target if is_classifier(self) else None,
        )
        train, held_out = parts[::2], parts[1::2]
        sample_weight = train[3] if sample_weight is not None else None
        return train[0], train[1], sample_weight, (held_out[0], held_out[2])

    def _sync(self, trainer: Trainer, row: int, n_batches: int | None = None) -> None:
        """Expose replica ``row`` of the trainer (its weights, state and counters) as the
        fitted attributes; ``n_batches`` overrides the trainer's count (after divergence)."""
        self._publish(trainer.arrays(row))
        self.optimizer_state_ = trainer.replica_state(row)
        self.n_batches_ = trainer.n_batches if n_batches is None else n_batches
        self._reference_loss = float(trainer.reference_loss[row])

    # -- prediction ----------------------------------------------------------------
    def _raw_output(self, X, check_input: bool = True) -> np.ndarray:
        if check_input:
            check_is_fitted(self)
            X = validate_data(self, X, reset=False, accept_sparse="csr", dtype=_FLOATS)
        return self._network.predict_raw(X, self._fitted_arrays())
