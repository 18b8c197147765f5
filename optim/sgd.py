"""Stochastic gradient descent and its momentum forms."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ._base import Optimizer
from ._hyper import Hyperparameter, check_number

__all__ = ["SGD", "Momentum", "Nesterov"]

LR = Hyperparameter("lr", "float", 1e-5, 1.0, log=True)
MOMENTUM = Hyperparameter("momentum", "float", 0.0, 0.99)


class SGD(Optimizer):
    r"""Plain stochastic gradient descent.

    .. math:: \theta \leftarrow \theta - \eta_t g

    Parameters
    ----------
    lr : float, default=0.01
        Learning rate :math:`\eta_0` (> 0); ``step(..., lr=...)`` overrides it per step.
    weight_decay : float, default=0.0
        Coupled L2 penalty: the gradient becomes :math:`g + \lambda\theta`.
    clip_norm : float or None, default=None
        Clip the gradient to this global L2 norm before the update.
    """

    search_space: ClassVar = (LR,)

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0, clip_norm: float | None = None):
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self._validate()

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        np.multiply(g, coef[0], out=tmp)
        p -= tmp


class Momentum(Optimizer):
    r"""Heavy-ball momentum with the learning rate inside the velocity.

    .. math::
        v \leftarrow \gamma v + \eta_t g ;\quad \theta \leftarrow \theta - v

    With a constant rate this equals PyTorch's ``SGD(momentum=...)``
    (:math:`b \leftarrow \gamma b + g;\ \theta \leftarrow \theta - \eta b`).
    Once the rate changes they differ: here past gradients keep the rate they
    were taken with, while PyTorch rescales the whole velocity by the new rate.
    A decayed rate therefore takes effect gradually here, at once there.

    Parameters
    ----------
    lr : float, default=0.01
        Learning rate :math:`\eta_0` (> 0).
    momentum : float, default=0.9
        :math:`\gamma` in [0, 1).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    clip_norm : float or None, default=None
        Clip the gradient to this global L2 norm before the update.
    """

    search_space: ClassVar = (LR, MOMENTUM)

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self._validate()

    def _validate(self) -> None:
        super()._validate()
        check_number(
            type(self).__name__, "momentum", self.momentum, low=0.0, high=1.0, high_open=True
        )

    def _buffer_names(self) -> tuple[str, ...]:
        return ("velocity",)

    def _coefficients(self, lr: float, t: int) -> tuple[float, ...]:
        return (lr, self.momentum)

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        lr, gamma = coef
        (v,) = bufs
        v *= gamma
        np.multiply(g, lr, out=tmp)
        v += tmp
        p -= v


class Nesterov(Momentum):
    r"""Nesterov momentum with the learning rate inside the velocity.

    .. math::
        v \leftarrow \gamma v + \eta_t g ;\quad
        \theta \leftarrow \theta - (\gamma v + \eta_t g)

    the look-ahead form of Sutskever et al. (2013); with a constant rate it
    equals PyTorch's ``SGD(momentum=..., nesterov=True)``. Parameters as for
    :class:`Momentum`.
    """

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        lr, gamma = coef
        (v,) = bufs
        v *= gamma
        np.multiply(g, lr, out=tmp)
        v += tmp
        p -= tmp
        np.multiply(v, gamma, out=tmp)
        p -= tmp
