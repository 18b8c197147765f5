"""Losses of a network's raw output: the weighted mean and its gradient, in one pass.

Every loss answers ``value_and_gradient(raw, y, scale, grad)`` for the
mini-batches of ``r`` replicas at once (arrays of shape ``(r, n, k)``): it
returns :math:`\\sum_i s_i \\, l(z_i, y_i)` over the rows of each replica's
batch, shape ``(r,)``, and writes :math:`s_i \\, \\partial l / \\partial z_i`
into the preallocated ``grad`` (same shape as ``raw``). The row scale
:math:`s_i` is the float ``1 / n`` for unweighted batches and ``w_i / sum(w)``
of shape ``(r, n, 1)`` for weighted ones, so both give the gradient of the
(weighted) mean loss.
Targets are 2-D: one column per output for regression, the 0/1 label for a
binary classifier, one-hot rows for a multinomial one.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = [
    "BinaryLogLoss", "HuberLoss", "Loss", "MultinomialLogLoss", "SquaredLoss", "replica_dots"
]

Scale = float | np.ndarray


def replica_dots(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """:math:`\\sum a_j b_j` over all but the leading axis, for each replica ``j``:
    a float for one replica (the common ``fit``: a float costs less per batch than
    an array), an array of shape (r,) for several."""
    r = a.shape[0]
    if r == 1:
        return float(np.vdot(a, b))
    return np.matmul(a.reshape(r, 1, -1), b.reshape(r, -1, 1))[:, 0, 0]  # a BLAS dot each


def _weighted_sum(terms: np.ndarray, scale: Scale) -> float | np.ndarray:
    """:math:`\\sum_{ij} s_i t_{ij}` of each replica, for a float or a column ``scale``."""
    if isinstance(scale, float):
        if terms.shape[0] == 1:
            return scale * float(np.add.reduce(terms, axis=None))
        return scale * np.add.reduce(terms, axis=(1, 2))
    return replica_dots(np.add.reduce(terms, axis=2, keepdims=True), scale)


class Loss:
    """Base class of the losses; see the module docstring for the protocol."""

    def value_and_gradient(
        self, raw: np.ndarray, y: np.ndarray, scale: Scale, grad: np.ndarray
    ) -> float | np.ndarray:
        """The scaled loss sum of each replica; ``grad`` receives the scaled gradient.

        Parameters
        ----------
        raw : ndarray of shape (r, n, k)
            Raw network output (not modified).
        y : ndarray of shape (r, n, k)
            Encoded targets.
        scale : float or ndarray of shape (r, n, 1)
            Row scale :math:`s_i`.
        grad : ndarray of shape (r, n, k)
            Output buffer.

        Returns
        -------
        float or ndarray of shape (r,)
            A float for one replica (see :func:`replica_dots`).
        """
        raise NotImplementedError


class SquaredLoss(Loss):
    r"""Half the squared error summed over the outputs: :math:`l = \frac12 \lVert z - y\rVert^2`."""

    def value_and_gradient(self, raw, y, scale, grad):
        np.subtract(raw, y, out=grad)
        value = 0.5 * replica_dots(grad * scale, grad)
        grad *= scale
        return value


class HuberLoss(Loss):
    r"""Huber's loss of each output, quadratic within ``epsilon`` and linear beyond.

    .. math::
        l(r) = \begin{cases} \frac12 r^2 & |r| \le \epsilon \\
        \epsilon |r| - \frac12 \epsilon^2 & |r| > \epsilon \end{cases},
        \quad r = z - y

    Its gradient is the residual clipped to :math:`[-\epsilon, \epsilon]`.
    """

    def __init__(self, epsilon: float):
        self.epsilon = epsilon

    def value_and_gradient(self, raw, y, scale, grad):
        np.subtract(raw, y, out=grad)
        terms = np.abs(grad)
        np.clip(grad, -self.epsilon, self.epsilon, out=grad)
        # With g the clipped residual, |g| (|r| - |g|/2) is both branches at once.
        abs_g = np.abs(grad)
        terms -= 0.5 * abs_g
        terms *= abs_g
        grad *= scale
        return _weighted_sum(terms, scale)


class BinaryLogLoss(Loss):
    r"""Logistic loss of one logit :math:`z` and a 0/1 label :math:`y`.

    .. math:: l = \log(1 + e^{z}) - y z ,\quad \partial l / \partial z = \sigma(z) - y
    """

    def value_and_gradient(self, raw, y, scale, grad):
        terms = np.logaddexp(0.0, raw)
        terms -= raw * y
        expit(raw, out=grad)
        grad -= y
        grad *= scale
        return _weighted_sum(terms, scale)


class MultinomialLogLoss(Loss):
    r"""Cross-entropy of the softmax of :math:`K` logits and a one-hot label.

    .. math:: l = \log \sum_k e^{z_k} - z_y ,\quad
        \partial l / \partial z = \mathrm{softmax}(z) - y
    """

    def __init__(self):
        self._ones = np.ones((0, 1))

    def value_and_gradient(self, raw, y, scale, grad):
        # Shifting by the row maximum keeps exp from overflowing.
        # The ufuncs' reduce directly: ndarray.max and .sum wrap it in Python, per batch.
        np.subtract(raw, np.maximum.reduce(raw, axis=2, keepdims=True), out=grad)
        if isinstance(scale, float):
            z_true = scale * replica_dots(grad, y)
        else:
            z_true = replica_dots(grad * scale, y)
        np.exp(grad, out=grad)
        # The row sums as a product with ones: BLAS sums the short rows in a third of
        # the time of a reduction along them (3 x 32 x 10).
        ones = self._ones
        if ones.shape[0] != grad.shape[2] or ones.dtype is not grad.dtype:
            ones = self._ones = np.ones((grad.shape[2], 1), grad.dtype)
        norm = np.matmul(grad, ones)
        grad /= norm
        grad -= y
        grad *= scale
        return _weighted_sum(np.log(norm), scale) - z_true
