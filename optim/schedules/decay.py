"""Schedules that only decay: constant, step, multi-step and exponential."""

from __future__ import annotations

from bisect import bisect_right
from typing import ClassVar

from .._hyper import Hyperparameter, check_int, check_number
from ._base import Schedule, check_increasing

__all__ = ["Constant", "Exponential", "MultiStep", "StepDecay"]

GAMMA = Hyperparameter("gamma", "float", 0.1, 0.9)


class Constant(Schedule):
    """The learning rate never changes.

    .. math:: f(t) = 1
    """

    def _value(self, t: int) -> float:
        return 1.0


class StepDecay(Schedule):
    r"""Multiply the rate by ``gamma`` every ``step_size`` counts (PyTorch's ``StepLR``).

    .. math:: f(t) = \gamma^{\lfloor t / s \rfloor}

    Parameters
    ----------
    step_size : int, default=10
        :math:`s`, counts between two decays (>= 1).
    gamma : float, default=0.5
        :math:`\gamma` in (0, 1], the factor of each decay.
    """

    search_space: ClassVar = (Hyperparameter("step_size", "int", 1, 50), GAMMA)

    def __init__(self, step_size: int = 10, gamma: float = 0.5) -> None:
        self.step_size = step_size
        self.gamma = gamma
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_int(name, "step_size", self.step_size, low=1)
        check_number(name, "gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def _value(self, t: int) -> float:
        return self.gamma ** (t // self.step_size)


class MultiStep(Schedule):
    r"""Multiply the rate by ``gamma`` at each milestone (PyTorch's ``MultiStepLR``).

    .. math:: f(t) = \gamma^{\#\{m_i \le t\}}

    Parameters
    ----------
    milestones : tuple or list of int, default=(30, 60)
        Strictly increasing positive counters :math:`m_i`; stored as given.
    gamma : float, default=0.1
        :math:`\gamma` in (0, 1], the factor of each decay.
    """

    search_space: ClassVar = (GAMMA,)

    def __init__(self, milestones: tuple[int, ...] | list[int] = (30, 60), gamma: float = 0.1):
        self.milestones = milestones
        self.gamma = gamma
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_increasing(name, "milestones", self.milestones)
        check_number(name, "gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def _value(self, t: int) -> float:
        return self.gamma ** bisect_right(self.milestones, t)


class Exponential(Schedule):
    r"""Multiply the rate by ``gamma`` at every count (PyTorch's ``ExponentialLR``).

    .. math:: f(t) = \gamma^t

    Parameters
    ----------
    gamma : float, default=0.95
        :math:`\gamma` in (0, 1].
    """

    search_space: ClassVar = (Hyperparameter("gamma", "float", 0.8, 0.999),)

    def __init__(self, gamma: float = 0.95) -> None:
        self.gamma = gamma
        self._validate()

    def _validate(self) -> None:
        check_number(type(self).__name__, "gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def _value(self, t: int) -> float:
        return self.gamma**t
