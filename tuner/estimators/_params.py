"""Nested hyperparameters of the optimizer and the schedule, even when given by name.

An ``optim`` optimizer or schedule object answers ``get_params``/``set_params``
itself, so scikit-learn's ``optimizer__lr`` routing works for objects without
help. This mixin extends it to registry names: ``optimizer="adam"`` reports
the hyperparameters of ``Adam()``, and setting one replaces the name with the
object, so that a grid over ``optimizer__lr`` works on a default estimator.
"""

from __future__ import annotations

from typing import Any

import optim

__all__ = ["NAMED_OPTIMIZER_DEFAULTS", "NestedParamsMixin", "resolve_optimizer"]

#: What an optimizer given by name (``optimizer="adam"``) gets in the estimators,
#: where it differs from its class's defaults. With these and ``batch_size=32``,
#: every estimator passes scikit-learn's checks with each built-in optimizer and
#: schedule given by name. Adam, the default, must also fit a small data set within
#: every schedule's default length, which its class rate is too slow for (AdamW
#: follows it). SGD, Momentum and Nesterov clip the gradient to norm 1: the largest
#: stable rate of their steps shrinks with the scale of the data (features near 100,
#: targets in the hundreds), below any rate that still trains on standardized data,
#: while a clipped step cannot grow without bound.
NAMED_OPTIMIZER_DEFAULTS: dict[type[optim.Optimizer], dict[str, Any]] = {
    optim.SGD: {"clip_norm": 1.0},
    optim.Momentum: {"clip_norm": 1.0},
    optim.Nesterov: {"clip_norm": 1.0},
    optim.Adam: {"lr": 1e-2},
    optim.AdamW: {"lr": 1e-2},
}


def resolve_optimizer(optimizer: str | optim.Optimizer) -> optim.Optimizer:
    """The optimizer an estimator trains with: an object as it is, a registered name
    built with :data:`NAMED_OPTIMIZER_DEFAULTS` (its class's defaults otherwise)."""
    if not isinstance(optimizer, str):
        return optim.get(optimizer)
    return optim.get(
        optimizer, **NAMED_OPTIMIZER_DEFAULTS.get(optim.optimizer_class(optimizer), {})
    )


#: Parameters that take a registry name or an object with nested hyperparameters.
RESOLVERS = {"optimizer": resolve_optimizer, "schedule": optim.get_schedule}


class NestedParamsMixin:
    """``get_params``/``set_params`` that reach into ``optimizer`` and ``schedule``."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters; with ``deep``, also ``optimizer__lr``, ``schedule__t_max``, ...

        A registry name (``optimizer="adam"``) reports the hyperparameters of
        the object it stands for.
        """
        params = super().get_params(deep=deep)
        if deep:
            for name, resolve in RESOLVERS.items():
                value = params[name]
                if isinstance(value, str):
                    try:
                        value = resolve(value)
                    except (ValueError, TypeError):  # unknown, or needs arguments: fit says so
                        continue
                    params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
        return params

    def set_params(self, **params: Any):
        """Set parameters, including nested ones such as ``optimizer__lr``.

        A nested parameter of an ``optimizer`` or ``schedule`` given by name
        first replaces the name with a new object of that class, so
        ``set_params(optimizer="sgd", optimizer__lr=0.1)`` gives ``SGD(lr=0.1)``.
        """
        for name, resolve in RESOLVERS.items():
            if name in params:
                setattr(self, name, params.pop(name))
            value = getattr(self, name)
            if isinstance(value, str) and any(k.startswith(f"{name}__") for k in params):
                setattr(self, name, resolve(value))
        return super().set_params(**params)
