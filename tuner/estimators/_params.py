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

__all__ = ["NestedParamsMixin"]

#: Parameters that take a registry name or an object with nested hyperparameters.
RESOLVERS = {"optimizer": optim.get, "schedule": optim.get_schedule}


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
                    except ValueError:  # an unknown name: fit reports it
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
