"""Schedules built from other schedules: linear warm-up and joins at boundaries.

Composition never compounds (as optax's ``join_schedules``): each part sees
its own counter, starting at 0 where it takes over, and its multiplier is
used as it is, not scaled by where the previous part ended. Stateful parts
(:class:`~optim.schedules.ReduceOnPlateau`) keep their own state inside the
composite's state and only observe values while they are active.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any, ClassVar

from .._hyper import Hyperparameter, check_int, check_number
from ._base import Schedule, check_increasing
from .decay import Constant

__all__ = ["LinearWarmup", "Sequence", "SequenceState"]


# The default of LinearWarmup.then, shared by all instances: safe because a
# Constant has no parameters that set_params could change.
_CONSTANT = Constant()


def _check_schedule(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, Schedule):
        raise TypeError(f"{owner}: {name} must be a Schedule, got {value!r}")


class LinearWarmup(Schedule):
    r"""Rise linearly from ``start_factor`` to 1 over ``warmup_steps``, then follow ``then``.

    .. math::
        f(t) = \begin{cases}
            s + (1 - s)\, t / W & t < W \\
            g(t - W) & t \ge W
        \end{cases}

    where :math:`g` is ``then``. A warm-up shape: :math:`f(0) = s`, not 1, and
    :math:`f(W) = g(0) = 1`. Warm-up then cosine annealing over 100 epochs:

    >>> from optim.schedules import CosineAnnealing
    >>> sched = LinearWarmup(5, then=CosineAnnealing(t_max=95))
    >>> [round(sched(t), 3) for t in (0, 4, 5, 100)]
    [0.1, 0.82, 1.0, 0.0]

    Parameters
    ----------
    warmup_steps : int, default=5
        :math:`W` >= 0, the length of the warm-up (0: none).
    then : Schedule, default=Constant()
        :math:`g`, followed from ``t = W`` on with its counter shifted by :math:`W`.
        It may be stateful: it then observes values from ``t = W`` on.
    start_factor : float, default=0.1
        :math:`s` in (0, 1], the multiplier at ``t = 0``.
    """

    search_space: ClassVar = (
        Hyperparameter("warmup_steps", "int", 0, 20),
        Hyperparameter("start_factor", "float", 0.01, 0.5, log=True),
    )

    def __init__(
        self,
        warmup_steps: int = 5,
        then: Schedule = _CONSTANT,
        start_factor: float = 0.1,
    ) -> None:
        self.warmup_steps = warmup_steps
        self.then = then
        self.start_factor = start_factor
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        check_int(name, "warmup_steps", self.warmup_steps, low=0)
        _check_schedule(name, "then", self.then)
        check_number(name, "start_factor", self.start_factor, low=0.0, high=1.0, low_open=True)

    def init_state(self) -> Any:
        """The state of ``then`` (None when it is pure)."""
        return self.then.init_state()

    def _factor(self, t: int, state: Any) -> float:
        if t < self.warmup_steps:
            return self.start_factor + (1.0 - self.start_factor) * t / self.warmup_steps
        return self.then.factor(t - self.warmup_steps, state)

    def _observe(self, t: int, value: float, state: Any) -> None:
        if t >= self.warmup_steps:
            self.then.observe(t - self.warmup_steps, value, state)


@dataclass
class SequenceState:
    """The state of a :class:`Sequence`: one entry per part, None for pure parts."""

    children: list[Any]

    def state_dict(self) -> dict[str, Any]:
        """The parts' ``state_dict`` (None for pure parts), as plain data."""
        return {"children": [None if s is None else s.state_dict() for s in self.children]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` in place."""
        saved = state["children"]
        if len(saved) != len(self.children):
            raise ValueError(
                f"state_dict has {len(saved)} parts, this Sequence has {len(self.children)}"
            )
        for child, child_saved in zip(self.children, saved):
            if child is not None:
                child.load_state_dict(child_saved)


class Sequence(Schedule):
    r"""Run ``schedules[i]`` from ``boundaries[i - 1]`` on, each with its own counter.

    With boundaries :math:`b_1 < \dots < b_{n-1}` (and :math:`b_0 = 0`), the part
    :math:`i` active at ``t`` is the one with :math:`b_i \le t < b_{i+1}`, and

    .. math:: f(t) = g_i(t - b_i)

    The multipliers are not compounded: at :math:`t = b_i` the value is
    :math:`g_i(0)` whatever :math:`g_{i-1}` reached. For warm-up then cosine,
    ``LinearWarmup(5, then=CosineAnnealing(95))`` says the same more simply.

    >>> from optim.schedules import StepDecay
    >>> sched = Sequence([Constant(), StepDecay(step_size=1, gamma=0.5)], boundaries=[3])
    >>> sched.values(6).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]

    Parameters
    ----------
    schedules : list or tuple of Schedule
        The parts :math:`g_0, \dots, g_{n-1}` (at least one). Stateful parts
        observe values only while active.
    boundaries : list or tuple of int
        :math:`n - 1` strictly increasing positive counters where the next part
        takes over.
    """

    def __init__(self, schedules: SequenceABC[Schedule], boundaries: SequenceABC[int]) -> None:
        self.schedules = schedules
        self.boundaries = boundaries
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        if not isinstance(self.schedules, list | tuple) or not self.schedules:
            raise TypeError(
                f"{name}: schedules must be a non-empty list or tuple of Schedule, "
                f"got {self.schedules!r}"
            )
        for i, schedule in enumerate(self.schedules):
            _check_schedule(name, f"schedules[{i}]", schedule)
        check_increasing(name, "boundaries", self.boundaries)
        if len(self.boundaries) != len(self.schedules) - 1:
            raise ValueError(
                f"{name}: boundaries must have len(schedules) - 1 = {len(self.schedules) - 1} "
                f"entries, got {self.boundaries!r}"
            )

    def init_state(self) -> SequenceState | None:
        """One state per part, or None when every part is pure."""
        children = [s.init_state() for s in self.schedules]
        if all(c is None for c in children):
            return None
        return SequenceState(children)

    def _active(self, t: int, state: SequenceState | None) -> tuple[Schedule, int, Any]:
        """The part active at ``t``, its own counter, and its state."""
        i = bisect_right(self.boundaries, t)
        start = self.boundaries[i - 1] if i else 0
        return self.schedules[i], t - start, None if state is None else state.children[i]

    def _factor(self, t: int, state: SequenceState | None) -> float:
        schedule, local_t, local_state = self._active(t, state)
        return schedule.factor(local_t, local_state)

    def _observe(self, t: int, value: float, state: SequenceState | None) -> None:
        schedule, local_t, local_state = self._active(t, state)
        schedule.observe(local_t, value, local_state)
