"""Optimizers with per-element adaptive rates: Adam, AdamW, RMSProp, AdaGrad."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from ._base import Optimizer
from ._hyper import Hyperparameter, check_number
from .sgd import LR

__all__ = ["AdaGrad", "Adam", "AdamW", "RMSProp"]

BETA1 = Hyperparameter("beta1", "float", 0.5, 0.999)
BETA2 = Hyperparameter("beta2", "float", 0.9, 0.99999)


def _check_unit(owner: str, name: str, value: float) -> None:
    check_number(owner, name, value, low=0.0, high=1.0, high_open=True)


def _check_bool(owner: str, name: str, value: object) -> None:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")


class Adam(Optimizer):
    r"""Adam with bias correction (Kingma & Ba, 2015).

    .. math::
        m &\leftarrow \beta_1 m + (1-\beta_1) g ;\quad
        v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        \hat m &= m / (1-\beta_1^t) ;\quad \hat v = v / (1-\beta_2^t) ;\quad
        \theta \leftarrow \theta - \eta_t \hat m / (\sqrt{\hat v} + \epsilon)

    with :math:`t` counting applied steps from 1. With ``amsgrad=True`` the
    denominator uses the running maximum :math:`v_{max} \leftarrow \max(v_{max}, v)`
    in place of :math:`v` (as PyTorch does, before bias correction).

    The state keeps the second moment ``v`` (and ``v_max``) as in the formula,
    and the first as the exponentially weighted sum ``m_sum`` :math:`= m / (1-\beta_1)`,
    which updates as :math:`\beta_1 s + g` without a scaling pass; the update is
    the formula above, rewritten in those terms. Limits: ``v`` is a float of the
    parameters' dtype, so it overflows where the textbook :math:`v` does, once
    the squared gradients it averages pass the dtype's largest value (gradients
    beyond about 1.8e19 in float32); its element then stops moving. ``m_sum``
    overflows only for gradients beyond :math:`(1-\beta_1)` times that value,
    far past the point where :math:`v` does.

    Parameters
    ----------
    lr : float, default=1e-3
        Learning rate :math:`\eta_0` (> 0).
    beta1, beta2 : float, default=0.9, 0.999
        Decay rates of the first and second moment, in [0, 1).
    eps : float, default=1e-8
        :math:`\epsilon` (> 0), added to :math:`\sqrt{\hat v}`.
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient (use :class:`AdamW` for the
        decoupled form).
    amsgrad : bool, default=False
        Use the AMSGrad maximum of the second moment.
    clip_norm : float or None, default=None
        Clip the gradient to this global L2 norm before the update.
    """

    search_space: ClassVar = (LR, BETA1, BETA2)

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        clip_norm: float | None = None,
    ):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        self.clip_norm = clip_norm
        self._validate()

    def _validate(self) -> None:
        super()._validate()
        name = type(self).__name__
        _check_unit(name, "beta1", self.beta1)
        _check_unit(name, "beta2", self.beta2)
        check_number(name, "eps", self.eps, low=0.0, low_open=True)
        _check_bool(name, "amsgrad", self.amsgrad)

    def _buffer_names(self) -> tuple[str, ...]:
        return ("m_sum", "v", "v_max") if self.amsgrad else ("m_sum", "v")

    def _coefficients(self, lr: float, t: int) -> tuple[float, ...]:
        # With M = m/(1-b1) and r = sqrt(1-b2^t):
        # eta*m_hat/(sqrt(v_hat)+eps) == (eta*(1-b1)*r/(1-b1^t)) * M/(sqrt(v)+eps*r),
        # so neither the first moment nor the bias correction needs a scaling pass.
        # The second moment takes (sqrt(1-b2)*g)**2, which overflows only where v would.
        b1, b2 = self.beta1, self.beta2
        r = math.sqrt(1.0 - b2**t)
        step_size = lr * (1.0 - b1) * r / (1.0 - b1**t)
        return (b1, b2, math.sqrt(1.0 - b2), step_size, self.eps * r, None)

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        b1, b2, root_1mb2, step_size, eps, shrink = coef
        m, v = bufs[0], bufs[1]
        if shrink is not None:
            p *= shrink
        m *= b1
        m += g
        v *= b2
        np.multiply(g, root_1mb2, out=tmp)
        np.multiply(tmp, tmp, out=tmp)
        v += tmp
        if len(bufs) == 3:
            v = np.maximum(bufs[2], v, out=bufs[2])
        np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p -= tmp


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before the Adam update of :class:`Adam`, the parameters shrink:
    :math:`\theta \leftarrow \theta (1 - \eta_t \lambda)`, the form PyTorch
    uses (the decay follows the scheduled rate). The decay never enters the
    moments.

    Parameters
    ----------
    lr, beta1, beta2, eps, amsgrad, clip_norm
        As for :class:`Adam`.
    weight_decay : float, default=0.01
        Decoupled decay :math:`\lambda` (>= 0).
    """

    search_space: ClassVar = (
        LR,
        BETA1,
        BETA2,
        Hyperparameter("weight_decay", "float", 1e-6, 1e-1, log=True),
    )

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
        clip_norm: float | None = None,
    ):
        super().__init__(lr, beta1, beta2, eps, weight_decay, amsgrad, clip_norm)

    def _coupled_decay(self) -> float:
        return 0.0

    def _coefficients(self, lr: float, t: int) -> tuple[float, ...]:
        shrink = 1.0 - lr * self.weight_decay if self.weight_decay else None
        return (*super()._coefficients(lr, t)[:5], shrink)


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton, 2012).

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2 ;\quad
        \theta \leftarrow \theta - \eta_t g / (\sqrt{v} + \epsilon)

    ``v`` overflows, and its element stops moving, where the textbook :math:`v`
    does: once the squared gradients it averages pass the dtype's largest value
    (gradients beyond about 1.8e19 in float32).

    Parameters
    ----------
    lr : float, default=1e-3
        Learning rate (> 0).
    rho : float, default=0.9
        Decay rate of the squared-gradient average, in [0, 1)
        (PyTorch calls it ``alpha`` and defaults to 0.99).
    eps : float, default=1e-8
        Added to :math:`\sqrt{v}` (> 0).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    clip_norm : float or None, default=None
        Clip the gradient to this global L2 norm before the update.
    """

    search_space: ClassVar = (LR, Hyperparameter("rho", "float", 0.5, 0.999))

    def __init__(
        self,
        lr: float = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        self.lr = lr
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self._validate()

    def _validate(self) -> None:
        super()._validate()
        _check_unit(type(self).__name__, "rho", self.rho)
        check_number(type(self).__name__, "eps", self.eps, low=0.0, low_open=True)

    def _buffer_names(self) -> tuple[str, ...]:
        return ("v",)

    def _coefficients(self, lr: float, t: int) -> tuple[float, ...]:
        # (sqrt(1-rho)*g)**2 rather than (1-rho)*g**2: g**2 alone overflows sooner than v.
        return (lr, self.rho, math.sqrt(1.0 - self.rho), self.eps)

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        lr, rho, root_1mrho, eps = coef
        (v,) = bufs
        v *= rho
        np.multiply(g, root_1mrho, out=tmp)
        np.multiply(tmp, tmp, out=tmp)
        v += tmp
        _scaled_step(p, g, v, tmp, lr, eps)


class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi et al., 2011).

    .. math::
        G \leftarrow G + g^2 ;\quad \theta \leftarrow \theta - \eta_t g / (\sqrt{G} + \epsilon)

    Parameters
    ----------
    lr : float, default=0.01
        Learning rate (> 0).
    eps : float, default=1e-10
        Added to :math:`\sqrt{G}` (> 0).
    weight_decay : float, default=0.0
        Coupled L2 penalty added to the gradient.
    clip_norm : float or None, default=None
        Clip the gradient to this global L2 norm before the update.
    """

    search_space: ClassVar = (LR,)

    def __init__(
        self,
        lr: float = 0.01,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        clip_norm: float | None = None,
    ):
        self.lr = lr
        self.eps = eps
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self._validate()

    def _validate(self) -> None:
        super()._validate()
        check_number(type(self).__name__, "eps", self.eps, low=0.0, low_open=True)

    def _buffer_names(self) -> tuple[str, ...]:
        return ("sum_sq",)

    def _coefficients(self, lr: float, t: int) -> tuple[float, ...]:
        return (lr, self.eps)

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        lr, eps = coef
        (acc,) = bufs
        np.multiply(g, g, out=tmp)
        acc += tmp
        _scaled_step(p, g, acc, tmp, lr, eps)


def _scaled_step(p, g, sq, tmp, lr, eps) -> None:
    """``p -= lr * g / (sqrt(sq) + eps)`` using ``tmp`` as scratch."""
    np.sqrt(sq, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    p -= tmp
