"""Losses of a network's raw output: the weighted mean and its gradient, in one pass.

Every loss answers ``value_and_gradient(raw, y, scale, grad)``: it returns
:math:`\\sum_i s_i \\, l(z_i, y_i)` over the rows of a mini-batch and writes
:math:`s_i \\, \\partial l / \\partial z_i` into the preallocated ``grad`` (same
shape as ``raw``). The row scale :math:`s_i` is the float ``1 / n`` for an
unweighted batch and the column ``w_i / sum(w)`` of shape (n, 1) for a
weighted one, so both give the gradient of the (weighted) mean loss.
Targets are 2-D: one column per output for regression, the 0/1 label for a
binary classifier, one-hot rows for a multinomial one.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["BinaryLogLoss", "HuberLoss", "Loss", "MultinomialLogLoss", "SquaredLoss"]

Scale = float | np.ndarray


def _weighted_sum(terms: np.ndarray, scale: Scale) -> float:
    """:math:`\\sum_{ij} s_i t_{ij}` for a float or a column ``scale``."""
    if isinstance(scale, float):
        return scale * float(np.add.reduce(terms, axis=None))
    return float(np.vdot(np.add.reduce(terms, axis=1), scale))


class Loss:
    """Base class of the losses; see the module docstring for the protocol."""

    def value_and_gradient(
        self, raw: np.ndarray, y: np.ndarray, scale: Scale, grad: np.ndarray
    ) -> float:
        """The scaled loss sum; ``grad`` receives the scaled gradient.

        Parameters
        ----------
        raw : ndarray of shape (n, k)
            Raw network output (not modified).
        y : ndarray of shape (n, k)
            Encoded targets.
        scale : float or ndarray of shape (n, 1)
            Row scale :math:`s_i`.
        grad : ndarray of shape (n, k)
            Output buffer.
        """
        raise NotImplementedError


class SquaredLoss(Loss):
    r"""Half the squared error summed over the outputs: :math:`l = \frac12 \lVert z - y\rVert^2`."""

    def value_and_gradient(self, raw, y, scale, grad):
        np.subtract(raw, y, out=grad)
        value = 0.5 * float(np.vdot(grad * scale, grad))
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

    def value_and_gradient(self, raw, y, scale, grad):
        # Shifting by the row maximum keeps exp from overflowing.
        # The ufuncs' reduce directly: ndarray.max and .sum wrap it in Python, per batch.
        np.subtract(raw, np.maximum.reduce(raw, axis=1, keepdims=True), out=grad)
        if isinstance(scale, float):
            z_true = scale * float(np.vdot(grad, y))
        else:
            z_true = float(np.vdot(grad * scale, y))
        np.exp(grad, out=grad)
        norm = np.add.reduce(grad, axis=1, keepdims=True)
        grad /= norm
        grad -= y
        grad *= scale
        return _weighted_sum(np.log(norm), scale) - z_true
