"""Learning-rate schedules: multipliers ``f(t)`` of the initial rate, ``lr_t = lr_0 * f(t)``.

>>> from optim.schedules import CosineAnnealing, LinearWarmup
>>> sched = LinearWarmup(5, then=CosineAnnealing(t_max=95))
>>> sched(0), sched(5), sched(100)
(0.1, 1.0, 0.0)

See :class:`Schedule` for the protocol a training loop follows, which also
serves the stateful :class:`ReduceOnPlateau`.
"""

from ._base import Schedule
from .composite import LinearWarmup, Sequence, SequenceState
from .cosine import CosineAnnealing, CosineWarmRestarts, OneCycle
from .decay import Constant, Exponential, MultiStep, StepDecay
from .plateau import PlateauState, ReduceOnPlateau

__all__ = [
    "BUILTIN_SCHEDULES",
    "Constant",
    "CosineAnnealing",
    "CosineWarmRestarts",
    "Exponential",
    "LinearWarmup",
    "MultiStep",
    "OneCycle",
    "PlateauState",
    "ReduceOnPlateau",
    "Schedule",
    "Sequence",
    "SequenceState",
    "StepDecay",
]

#: The built-in schedules by registry name (``optim.registry`` starts from these).
BUILTIN_SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "multistep": MultiStep,
    "exponential": Exponential,
    "cosine": CosineAnnealing,
    "cosine_restarts": CosineWarmRestarts,
    "warmup": LinearWarmup,
    "onecycle": OneCycle,
    "sequence": Sequence,
    "plateau": ReduceOnPlateau,
}
