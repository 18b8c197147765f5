"""What the network's output means: class scores for classifiers, values for regressors.

Each mixin encodes the targets for training, picks the loss, scores a
validation set and turns raw outputs into predictions.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.multiclass import check_classification_targets

from ..sklearn_compat import check_partial_fit_first_call, fit_context
from ._losses import BinaryLogLoss, Loss, MultinomialLogLoss, SquaredLoss

__all__ = ["ClassifierHead", "RegressorHead"]


class ClassifierHead(ClassifierMixin):
    """Binary (one logistic output) and multinomial (softmax over K outputs) classification."""

    _target_checks: ClassVar[dict] = {}

    def _class_indices(self, y: np.ndarray) -> np.ndarray:
        """Positions of the labels ``y`` in ``classes_``; unknown labels raise ValueError."""
        indices = np.searchsorted(self.classes_, y)
        unknown = (indices >= len(self.classes_)) | (
            self.classes_[np.minimum(indices, len(self.classes_) - 1)] != y
        )
        if unknown.any():
            raise ValueError(
                f"y contains labels {np.unique(y[unknown]).tolist()} that are not in "
                f"classes_ {self.classes_.tolist()}"
            )
        return indices

    def _encode_targets(self, y, sample_weight, *, continuing, incremental, classes):
        check_classification_targets(y)
        if incremental:
            check_partial_fit_first_call(self, classes)
        elif not continuing:
            self.classes_ = np.unique(y)
        indices = self._class_indices(y)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but the "
                f"data contains only one class: {self.classes_[0]!r}"
            )
        if sample_weight is not None and not incremental:
            weighted = np.bincount(indices, weights=sample_weight, minlength=n_classes) > 0
            if weighted.sum() < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes with "
                    "non-zero sample_weight, got only classes "
                    f"{self.classes_[weighted].tolist()}"
                )
        if n_classes == 2:
            return indices[:, np.newaxis].astype(np.float64), indices
        return np.eye(n_classes)[indices], indices

    def _encode_validation(self, y):
        return self._class_indices(y)

    def _make_loss(self, n_outputs: int) -> Loss:
        return BinaryLogLoss() if n_outputs == 1 else MultinomialLogLoss()

    @staticmethod
    def _labels(raw: np.ndarray) -> np.ndarray:
        """Class positions from raw outputs (a logit > 0, or the largest score)."""
        return (raw[:, 0] > 0).astype(np.intp) if raw.shape[1] == 1 else raw.argmax(axis=1)

    def _score_raw(self, raw: np.ndarray, indices: np.ndarray) -> float:
        return float(np.mean(self._labels(raw) == indices))

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call, when it
            may be absent from this chunk.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight, classes=classes)

    def predict(self, X, check_input: bool = True) -> np.ndarray:
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples.
        check_input : bool, default=True
            Check that the estimator is fitted and ``X`` fits it. ``False`` skips
            the checks, as scikit-learn's trees allow: only for a float array or
            CSR matrix that ``predict`` accepted before (a validation fold scored
            after every epoch), which it then takes as it is.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        raw = self._raw_output(X, check_input)
        return self.classes_[self._labels(raw)]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        raw = self._raw_output(X)
        if raw.shape[1] == 1:
            p = expit(raw)
            return np.hstack([1.0 - p, p])
        return softmax(raw, axis=1)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))


class RegressorHead(RegressorMixin):
    """Regression of one or several outputs with the squared error."""

    _target_checks: ClassVar[dict] = {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, sample_weight, *, continuing, incremental, classes):
        Y = np.reshape(y, (len(y), -1))
        if continuing and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but {type(self).__name__} was fitted "
                f"with {self.n_outputs_}"
            )
        self.n_outputs_ = Y.shape[1]
        return Y, Y

    def _encode_validation(self, y):
        return np.reshape(y, (len(y), -1))

    def _make_loss(self, n_outputs: int) -> Loss:
        return SquaredLoss()

    def _score_raw(self, raw: np.ndarray, Y: np.ndarray) -> float:
        return float(r2_score(Y, raw))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
        """
        return self._partial_fit(X, y, sample_weight)

    def predict(self, X, check_input: bool = True) -> np.ndarray:
        """Predicted values: shape (n_samples,) for one output, else (n_samples, n_outputs).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples.
        check_input : bool, default=True
            As for the classifiers' :meth:`predict`: ``False`` takes a float array
            or CSR matrix that ``predict`` accepted before as it is, unchecked.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        raw = self._raw_output(X, check_input)
        return raw[:, 0] if raw.shape[1] == 1 else raw
