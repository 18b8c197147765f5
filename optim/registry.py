"""Names for optimizers and schedules, including ones users register.

A class registered here (in code with :func:`register_optimizer` /
:func:`register_schedule`, or by a package through the entry-point groups
``optim.optimizers`` and ``optim.schedules``) works wherever a built-in name
does: estimators, search spaces, study files and reports.
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from importlib.metadata import entry_points
from typing import Any, TypeVar

from ._base import Optimizer
from .adaptive import AdaGrad, Adam, AdamW, RMSProp
from .schedules import BUILTIN_SCHEDULES, Schedule
from .sgd import SGD, Momentum, Nesterov

__all__ = [
    "BUILTIN_OPTIMIZERS",
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

T = TypeVar("T", bound=type)


class _Registry:
    """Name -> class for one base class, filled lazily from an entry-point group."""

    def __init__(self, kind: str, base: type, group: str, builtins: dict[str, type]):
        self.kind, self.base, self.group = kind, base, group
        self.classes: dict[str, type] = dict(builtins)
        self._entry_points_loaded = False

    @staticmethod
    def normalize(name: str) -> str:
        return name.strip().lower().replace("-", "_")

    def register(self, name: str, cls: type, overwrite: bool = False) -> type:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise TypeError(
                f"cannot register {cls!r} as {self.kind} {name!r}: "
                f"it must be a subclass of optim.{self.base.__name__}"
            )
        key = self.normalize(name)
        if not overwrite and self.classes.get(key, cls) is not cls:
            raise ValueError(
                f"{self.kind} name {key!r} is taken by {self.classes[key].__name__}; "
                "pass overwrite=True to replace it"
            )
        self.classes[key] = cls
        return cls

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            try:
                self.register(ep.name, ep.load())
            except Exception as exc:  # a broken plug-in must not break the built-ins
                warnings.warn(
                    f"skipping {self.kind} entry point {ep.name!r} ({ep.value}): {exc}",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self.classes)

    def lookup(self, name: str) -> type:
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a string, got {name!r}")
        self._load_entry_points()
        key = self.normalize(name)
        if key in self.classes:
            return self.classes[key]
        close = difflib.get_close_matches(key, self.classes, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown {self.kind} {name!r}; available: {', '.join(sorted(self.classes))}{hint}"
        )

    def build(self, name: str, hyperparameters: dict[str, Any]) -> Any:
        """An instance of the class registered as ``name``, built with ``hyperparameters``."""
        cls = self.lookup(name)
        missing = [
            p.name
            for p in inspect.signature(cls).parameters.values()
            if p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in hyperparameters
        ]
        if missing:
            raise TypeError(
                f"{self.kind} {name!r} ({cls.__name__}) needs {', '.join(missing)}, which "
                f"have no default: give them, or pass a {cls.__name__} object instead"
            )
        return cls(**hyperparameters)

    def name_of(self, obj: Any) -> str | None:
        cls = obj if isinstance(obj, type) else type(obj)
        self._load_entry_points()
        return next((n for n, c in sorted(self.classes.items()) if c is cls), None)


#: The built-in optimizers by registry name (the registry starts from these).
BUILTIN_OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSProp,
    "adagrad": AdaGrad,
}

_OPTIMIZERS = _Registry("optimizer", Optimizer, "optim.optimizers", BUILTIN_OPTIMIZERS)
_SCHEDULES = _Registry("schedule", Schedule, "optim.schedules", BUILTIN_SCHEDULES)


def register_optimizer(name: str, cls: T | None = None, *, overwrite: bool = False):
    """Register an :class:`Optimizer` subclass under ``name``.

    Usable as ``register_optimizer("lion", Lion)`` or as a class decorator
    ``@register_optimizer("lion")``. Packages can instead declare an entry
    point in the group ``optim.optimizers``.
    """
    if cls is None:
        return lambda c: _OPTIMIZERS.register(name, c, overwrite)
    return _OPTIMIZERS.register(name, cls, overwrite)


def register_schedule(name: str, cls: T | None = None, *, overwrite: bool = False):
    """Register a :class:`Schedule` subclass under ``name`` (see :func:`register_optimizer`)."""
    if cls is None:
        return lambda c: _SCHEDULES.register(name, c, overwrite)
    return _SCHEDULES.register(name, cls, overwrite)


def optimizer_class(name: str) -> type[Optimizer]:
    """The optimizer class registered as ``name`` (case-insensitive)."""
    return _OPTIMIZERS.lookup(name)


def schedule_class(name: str) -> type[Schedule]:
    """The schedule class registered as ``name`` (case-insensitive)."""
    return _SCHEDULES.lookup(name)


def get(name: str | Optimizer, **hyperparameters: Any) -> Optimizer:
    """An optimizer from its name and hyperparameters: ``get("adam", lr=3e-4)``.

    An :class:`Optimizer` instance is returned as it is (hyperparameters must
    then be empty). An unknown name raises ``ValueError`` listing the names.
    """
    if isinstance(name, Optimizer):
        if hyperparameters:
            raise TypeError("hyperparameters cannot be given with an optimizer instance")
        return name
    return _OPTIMIZERS.build(name, hyperparameters)


def get_schedule(name: str | Schedule, **hyperparameters: Any) -> Schedule:
    """A schedule from its name and hyperparameters: ``get_schedule("cosine", t_max=50)``."""
    if isinstance(name, Schedule):
        if hyperparameters:
            raise TypeError("hyperparameters cannot be given with a schedule instance")
        return name
    return _SCHEDULES.build(name, hyperparameters)


def available_optimizers() -> list[str]:
    """Registered optimizer names, sorted."""
    return _OPTIMIZERS.names()


def available_schedules() -> list[str]:
    """Registered schedule names, sorted."""
    return _SCHEDULES.names()


def name_of(obj: Any) -> str | None:
    """The registered name of an optimizer or schedule (instance or class), or None."""
    return _OPTIMIZERS.name_of(obj) or _SCHEDULES.name_of(obj)
