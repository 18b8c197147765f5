"""A pure-NumPy optimizer core: optimizers, learning-rate schedules and a registry.

>>> import numpy as np, optim
>>> params = optim.FlatBuffer.from_arrays([np.zeros((3, 2)), np.zeros(2)])
>>> grads = params.zeros_like()
>>> opt = optim.Adam(lr=1e-3)
>>> state = opt.init(params)
>>> opt.step(params, grads, state)   # updates params in place
True
"""

from ._base import Optimizer, OptimizerState
from ._hyper import Hyperparameter, Hyperparameterized
from .adaptive import AdaGrad, Adam, AdamW, RMSProp
from .flat import FlatBuffer
from .registry import (
    available_optimizers,
    available_schedules,
    get,
    get_schedule,
    name_of,
    optimizer_class,
    register_optimizer,
    register_schedule,
    schedule_class,
)
from .schedules import (
    Constant,
    CosineAnnealing,
    CosineWarmRestarts,
    Exponential,
    LinearWarmup,
    MultiStep,
    OneCycle,
    ReduceOnPlateau,
    Schedule,
    Sequence,
    StepDecay,
)
from .sgd import SGD, Momentum, Nesterov

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "Constant",
    "CosineAnnealing",
    "CosineWarmRestarts",
    "Exponential",
    "FlatBuffer",
    "Hyperparameter",
    "Hyperparameterized",
    "LinearWarmup",
    "Momentum",
    "MultiStep",
    "Nesterov",
    "OneCycle",
    "Optimizer",
    "OptimizerState",
    "RMSProp",
    "ReduceOnPlateau",
    "Schedule",
    "Sequence",
    "StepDecay",
    "available_optimizers",
    "available_schedules",
    "get",
    "get_schedule",
    "name_of",
    "optimizer_class",
    "register_optimizer",
    "register_schedule",
    "schedule_class",
]
