"""Cosine-shaped schedules: annealing, warm restarts and the one-cycle policy."""

from __future__ import annotations

import math
from typing import ClassVar

from .._hyper import Hyperparameter, check_int, check_number
from ._base import Schedule

__all__ = ["CosineAnnealing", "CosineWarmRestarts", "OneCycle"]

MIN_FACTOR = Hyperparameter("min_factor", "float", 0.0, 0.1)


def cosine_ramp(start: float, end: float, fraction: float) -> float:
    """Half a cosine from ``start`` (``fraction = 0``) to ``end`` (``fraction = 1``).

    Written as ``start + (end - start) * (1 - cos(pi * fraction)) / 2``, which equals
    ``end + (start - end) * (1 + cos(pi * fraction)) / 2`` but returns ``start``
    exactly at ``fraction = 0``, so that ``f(0) = 1`` holds to the last bit.
    """
    return start + (end - start) * (1.0 - math.cos(math.pi * fraction)) / 2.0


class CosineAnnealing(Schedule):
    r"""Anneal along half a cosine to ``min_factor`` at ``t_max``, then hold it.

    .. math::
        f(t) = m + (1 - m) \frac{1 + \cos(\pi \min(t, T) / T)}{2}

    PyTorch's ``CosineAnnealingLR`` with ``eta_min = m * lr_0``, except that it
    stays at the minimum after :math:`T` instead of rising again.

    Parameters
    ----------
    t_max : int, default=100
        :math:`T`, the counter at which the minimum is reached (>= 1).
    min_factor : float, default=0.0
        :math:`m` in [0, 1], the final multiplier.
    """

    search_space: ClassVar = (Hyperparameter("t_max", "int", 10, 200), MIN_FACTOR)

    def __init__(self, t_max: int = 100, min_factor: float = 0.0) -> None:
        self.t_max = t_max
        self.min_factor = min_factor
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_int(name, "t_max", self.t_max, low=1)
        check_number(name, "min_factor", self.min_factor, low=0.0, high=1.0)

    def _value(self, t: int) -> float:
        if t >= self.t_max:
            return float(self.min_factor)
        return cosine_ramp(1.0, self.min_factor, t / self.t_max)


class CosineWarmRestarts(Schedule):
    r"""Cosine annealing restarted at the start of each period (SGDR, Loshchilov & Hutter).

    Period :math:`i = 0, 1, \dots` lasts :math:`T_i = T_0 \cdot r^i` counts. With
    :math:`t_{cur}` the position of ``t`` inside its period,

    .. math::
        f(t) = m + (1 - m) \frac{1 + \cos(\pi t_{cur} / T_i)}{2}

    so ``f`` jumps back to 1 at every restart :math:`t = T_0 (r^k - 1) / (r - 1)`
    (:math:`t = k T_0` when :math:`r = 1`). PyTorch's ``CosineAnnealingWarmRestarts``.

    Parameters
    ----------
    t_0 : int, default=10
        :math:`T_0`, the length of the first period (>= 1).
    t_mult : int, default=1
        :math:`r`, the growth factor of the period length (>= 1).
    min_factor : float, default=0.0
        :math:`m` in [0, 1], the multiplier approached at the end of each period.
    """

    search_space: ClassVar = (
        Hyperparameter("t_0", "int", 5, 50),
        Hyperparameter("t_mult", "int", 1, 3),
        MIN_FACTOR,
    )

    def __init__(self, t_0: int = 10, t_mult: int = 1, min_factor: float = 0.0) -> None:
        self.t_0 = t_0
        self.t_mult = t_mult
        self.min_factor = min_factor
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_int(name, "t_0", self.t_0, low=1)
        check_int(name, "t_mult", self.t_mult, low=1)
        check_number(name, "min_factor", self.min_factor, low=0.0, high=1.0)

    def _value(self, t: int) -> float:
        period = self.t_0
        if self.t_mult == 1:
            t %= period
        else:
            # Integer walk over the periods (logarithmically many): exact at the
            # restart points, where a closed form through log() may round wrongly.
            while t >= period:
                t -= period
                period *= self.t_mult
        return cosine_ramp(1.0, self.min_factor, t / period)


class OneCycle(Schedule):
    r"""The one-cycle policy (Smith & Topin): up to ``max_factor``, then far below the start.

    PyTorch's ``OneCycleLR`` (cosine annealing, two phases): with the peak at step
    :math:`p = \rho N - 1` and the end of the cycle at step :math:`N - 1`,

    .. math::
        f(t) = \begin{cases}
            M + (1 - M) \frac{1 + \cos(\pi t / p)}{2} & t \le p \\
            F + (M - F) \frac{1 + \cos(\pi (t - p) / (N - 1 - p))}{2} & p < t < N - 1 \\
            F & t \ge N - 1
        \end{cases}

    so :math:`f(0) = 1` and a run of :math:`N` steps (:math:`t = 0, \dots, N - 1`)
    ends at the final rate. ``lr_0`` is the starting rate, the rates are relative to it:
    ``OneCycleLR(opt, max_lr, total_steps=N, pct_start=rho, div_factor=d,
    final_div_factor=e)`` is this schedule with ``lr_0 = max_lr / d``,
    ``OneCycle(total_steps=N, max_factor=d, pct_start=rho, final_factor=1 / e)``.
    Past the cycle it holds :math:`F`, where PyTorch raises an error; PyTorch also
    cycles the momentum by default (``cycle_momentum=True``), which a schedule of the
    rate leaves alone.

    Parameters
    ----------
    total_steps : int, default=100
        :math:`N` >= 2, the length of the cycle.
    max_factor : float, default=10.0
        :math:`M` >= 1, the multiplier at the peak.
    pct_start : float, default=0.3
        :math:`\rho` in (0, 1), the fraction of the cycle spent rising; the rise
        must last more than one step, :math:`\rho N > 1`.
    final_factor : float, default=1e-3
        :math:`F` in [0, M], the multiplier at the end of the cycle and after it.
    """

    search_space: ClassVar = (
        Hyperparameter("max_factor", "float", 2.0, 25.0, log=True),
        Hyperparameter("pct_start", "float", 0.1, 0.5),
        Hyperparameter("final_factor", "float", 1e-4, 1e-1, log=True),
    )

    def __init__(
        self,
        total_steps: int = 100,
        max_factor: float = 10.0,
        pct_start: float = 0.3,
        final_factor: float = 1e-3,
    ) -> None:
        self.total_steps = total_steps
        self.max_factor = max_factor
        self.pct_start = pct_start
        self.final_factor = final_factor
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_int(name, "total_steps", self.total_steps, low=2)
        check_number(name, "max_factor", self.max_factor, low=1.0)
        check_number(
            name, "pct_start", self.pct_start, low=0.0, high=1.0, low_open=True, high_open=True
        )
        check_number(name, "final_factor", self.final_factor, low=0.0, high=self.max_factor)
        if not self.pct_start * self.total_steps > 1:
            raise ValueError(
                f"{name}: pct_start * total_steps must exceed 1 (the rise needs more than "
                f"one step), got {self.pct_start!r} * {self.total_steps!r}"
            )

    def _value(self, t: int) -> float:
        peak, end = self.pct_start * self.total_steps - 1, self.total_steps - 1
        if t <= peak:
            return cosine_ramp(1.0, self.max_factor, t / peak)
        if t < end:
            return cosine_ramp(self.max_factor, self.final_factor, (t - peak) / (end - peak))
        return float(self.final_factor)
