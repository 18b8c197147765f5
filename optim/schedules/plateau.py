"""Reduce the rate when a monitored value stops improving: the one stateful schedule."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from .._hyper import Hyperparameter, check_int, check_number
from ._base import Schedule

__all__ = ["PlateauState", "ReduceOnPlateau"]

MODES = ("min", "max")
THRESHOLD_MODES = ("rel", "abs")


@dataclass
class PlateauState:
    """What :class:`ReduceOnPlateau` remembers between epochs.

    Attributes
    ----------
    multiplier : float
        The current multiplier ``f``.
    best : float or None
        The best value seen so far (None before the first finite value).
    num_bad_epochs : int
        Consecutive epochs without improvement (reset by a reduction or cooldown).
    cooldown_counter : int
        Epochs left during which bad epochs are not counted.
    """

    multiplier: float = 1.0
    best: float | None = None
    num_bad_epochs: int = 0
    cooldown_counter: int = 0

    def state_dict(self) -> dict[str, Any]:
        """The state as a dict of plain numbers."""
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` in place."""
        self.multiplier = float(state["multiplier"])
        self.best = None if state["best"] is None else float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])


class ReduceOnPlateau(Schedule):
    r"""Multiply the rate by ``gamma`` when the monitored value stops improving.

    PyTorch's ``ReduceLROnPlateau``, with the same defaults. After each epoch
    :meth:`observe` receives the monitored value :math:`v` (say, the validation
    loss). In mode ``"min"`` it improves on the best value :math:`b` when

    .. math:: v < b - \tau |b| \quad (\text{``rel''}) \qquad\text{or}\qquad
              v < b - \tau \quad (\text{``abs''})

    (``"max"``: :math:`v > b + \tau |b|` or :math:`v > b + \tau`). For positive
    values the relative rule is PyTorch's :math:`v < b (1 - \tau)`; for negative
    ones PyTorch's moves the wrong way (a slightly worse value improves), the
    absolute value here keeps the threshold meaningful. An improvement makes
    :math:`v` the best and resets the count of bad epochs; otherwise the count
    grows. During a cooldown the count is held at 0. When it exceeds
    ``patience``, the multiplier becomes :math:`\max(f \cdot \gamma, f_{min})`
    unless that changes it by ``eps`` or less, the count is reset and a cooldown
    of ``cooldown`` epochs starts. The new multiplier applies from ``t + 1`` on.
    A non-finite value (a diverged epoch) is never an improvement.

    Starts at :math:`f = 1`. The multiplier depends on the values observed, not
    on ``t`` alone: use ``state = sched.init_state()``, ``sched.factor(t, state)``
    and ``sched.observe(t, value, state)``; calling ``sched(t)`` raises TypeError.

    Rates are relative here, absolute in PyTorch: ``ReduceLROnPlateau(opt,
    factor=g, min_lr=m, eps=e)`` on an initial rate ``lr_0`` is
    ``ReduceOnPlateau(gamma=g, min_factor=m / lr_0, eps=e / lr_0)``.

    Parameters
    ----------
    gamma : float, default=0.1
        :math:`\gamma` in (0, 1), the factor of each reduction (PyTorch's and
        Keras' ``factor``, renamed because :meth:`factor` reads the multiplier).
    patience : int, default=10
        Bad epochs tolerated (>= 0); the next one triggers a reduction.
    mode : {"min", "max"}, default="min"
        Whether lower or higher values are better.
    threshold : float, default=1e-4
        :math:`\tau`, the change that counts as an improvement: a fraction of
        :math:`|b|` in [0, 1) with ``threshold_mode="rel"``, a value in the
        monitored value's units (>= 0) with ``"abs"``.
    threshold_mode : {"rel", "abs"}, default="rel"
        Whether ``threshold`` is relative to the best value or absolute.
    cooldown : int, default=0
        Epochs after a reduction during which bad epochs are not counted (>= 0).
    min_factor : float, default=0.0
        :math:`f_{min}` in [0, 1], the floor of the multiplier.
    eps : float, default=1e-8
        Reductions that would change the multiplier by ``eps`` or less (>= 0) are
        skipped, so that a multiplier near its floor stops moving.
    """

    search_space: ClassVar = (
        Hyperparameter("gamma", "float", 0.1, 0.9),
        Hyperparameter("patience", "int", 2, 20),
        Hyperparameter("threshold", "float", 1e-5, 1e-2, log=True),
        Hyperparameter("cooldown", "int", 0, 10),
    )

    def __init__(
        self,
        gamma: float = 0.1,
        patience: int = 10,
        mode: str = "min",
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_factor: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        self.gamma = gamma
        self.patience = patience
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_factor = min_factor
        self.eps = eps
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_number(name, "gamma", self.gamma, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int(name, "patience", self.patience, low=0)
        if not isinstance(self.mode, str) or self.mode not in MODES:
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {self.mode!r}")
        if not isinstance(self.threshold_mode, str) or self.threshold_mode not in THRESHOLD_MODES:
            raise ValueError(
                f"{name}: threshold_mode must be 'rel' or 'abs', got {self.threshold_mode!r}"
            )
        relative = self.threshold_mode == "rel"
        high = 1.0 if relative else None
        check_number(name, "threshold", self.threshold, low=0.0, high=high, high_open=relative)
        check_int(name, "cooldown", self.cooldown, low=0)
        check_number(name, "min_factor", self.min_factor, low=0.0, high=1.0)
        check_number(name, "eps", self.eps, low=0.0)

    def init_state(self) -> PlateauState:
        """A fresh state: multiplier 1, nothing observed yet."""
        return PlateauState()

    def _require(self, state: PlateauState | None) -> PlateauState:
        if state is None:
            raise TypeError(
                f"{type(self).__name__} depends on the monitored values, not on t alone: "
                "create state = schedule.init_state(), read the multiplier with "
                "schedule.factor(t, state) and report each epoch with "
                "schedule.observe(t, value, state)"
            )
        return state

    def _factor(self, t: int, state: PlateauState | None) -> float:
        return self._require(state).multiplier

    def _improves(self, value: float, best: float | None) -> bool:
        if not math.isfinite(value):
            return False
        if best is None:
            return True
        margin = self.threshold * abs(best) if self.threshold_mode == "rel" else self.threshold
        return value < best - margin if self.mode == "min" else value > best + margin

    def _observe(self, t: int, value: float, state: PlateauState | None) -> None:
        state = self._require(state)
        if self._improves(value, state.best):
            state.best = value
            state.num_bad_epochs = 0
        else:
            state.num_bad_epochs += 1
        if state.cooldown_counter > 0:
            state.cooldown_counter -= 1
            state.num_bad_epochs = 0
        if state.num_bad_epochs > self.patience:
            reduced = max(state.multiplier * self.gamma, self.min_factor)
            if state.multiplier - reduced > self.eps:
                state.multiplier = reduced
            state.cooldown_counter = self.cooldown
            state.num_bad_epochs = 0
