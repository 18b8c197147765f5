"""The schedule contract: a multiplier of the initial learning rate, ``lr_t = lr_0 * f(t)``."""

from __future__ import annotations

import itertools
import numbers
from typing import Any

import numpy as np

from .._hyper import Hyperparameterized, check_int

__all__ = ["Schedule", "check_increasing"]


def check_increasing(owner: str, name: str, values: Any) -> None:
    """Raise unless ``values`` is a list or tuple of strictly increasing positive ints.

    Used for milestones and boundaries, which are given as counters ``t``.
    """
    if not isinstance(values, list | tuple):
        raise TypeError(f"{owner}: {name} must be a list or tuple of integers, got {values!r}")
    for i, value in enumerate(values):
        check_int(owner, f"{name}[{i}]", value, low=1)
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{owner}: {name} must be strictly increasing, got {values!r}")


class Schedule(Hyperparameterized):
    """Base class of the learning-rate schedules: ``lr_t = lr_0 * f(t)``.

    ``t`` is an epoch or step counter (an int >= 0) and ``f(0) = 1``, except for
    warm-up shapes whose docstrings give ``f(0)``. Most schedules are pure
    functions of ``t`` and are simply called: ``schedule(t)``. A training loop
    that must also serve stateful schedules (:class:`ReduceOnPlateau`, or a
    composite containing one) uses the uniform protocol instead::

        state = schedule.init_state()          # None for pure schedules
        for epoch in range(n_epochs):
            lr = lr0 * schedule.factor(epoch, state)
            ...                                # train one epoch at rate lr
            schedule.observe(epoch, val_loss, state)

    Subclasses store their hyperparameters, check them in ``_validate`` and give
    the formula in ``_value(t)``; stateful and composite schedules override
    ``init_state``, ``_factor`` and ``_observe`` instead.
    """

    # -- the protocol ----------------------------------------------------------------
    def __call__(self, t: int) -> float:
        """The multiplier ``f(t)`` of a pure schedule.

        Raises
        ------
        ValueError
            If ``t < 0``.
        TypeError
            If ``t`` is not an integer, or the schedule needs a state.
        """
        return self.factor(t, None)

    def init_state(self) -> Any:
        """A fresh state for :meth:`factor` and :meth:`observe`; None for pure schedules."""
        return None

    def factor(self, t: int, state: Any) -> float:
        """The multiplier at counter ``t``, read from ``state`` where there is one.

        Parameters
        ----------
        t : int
            Epoch or step counter, >= 0.
        state : object or None
            From :meth:`init_state`; ignored by pure schedules.
        """
        check_int(type(self).__name__, "t", t, low=0)
        return float(self._factor(int(t), state))

    def observe(self, t: int, value: float, state: Any) -> None:
        """Report the monitored value (for example the validation loss) of epoch ``t``.

        A no-op for pure schedules; stateful ones update ``state`` in place, and
        the new multiplier applies from ``factor(t + 1, state)`` on.
        """
        owner = type(self).__name__
        check_int(owner, "t", t, low=0)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{owner}: value must be a real number, got {value!r}")
        self._observe(int(t), float(value), state)

    def values(self, n: int) -> np.ndarray:
        """The multipliers ``[f(0), ..., f(n - 1)]`` as a float64 array (pure schedules)."""
        check_int(type(self).__name__, "n", n, low=0)
        return np.fromiter((self(t) for t in range(n)), dtype=np.float64, count=n)

    # -- what subclasses provide -----------------------------------------------------
    def _value(self, t: int) -> float:
        """The formula of a pure schedule at a validated ``t``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _value or _factor")

    def _factor(self, t: int, state: Any) -> float:
        return self._value(t)

    def _observe(self, t: int, value: float, state: Any) -> None:
        """Pure schedules ignore the monitored value."""
