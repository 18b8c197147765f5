"""Hyperparameter declarations, validation and the parameter protocol.

Optimizers and schedules hold hyperparameters only. They store their
constructor arguments verbatim (as scikit-learn estimators do) and answer
``get_params``/``set_params``, so ``clone`` and nested ``optimizer__lr``
routing work without any scikit-learn import here.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = ["Hyperparameter", "Hyperparameterized", "check_int", "check_number"]

Kind = Literal["float", "int", "categorical"]


@dataclass(frozen=True)
class Hyperparameter:
    """A tunable hyperparameter and its default search range, as plain data.

    Parameters
    ----------
    name : str
        Constructor argument it sets (``"lr"``, ``"momentum"``, ...).
    kind : {"float", "int", "categorical"}
        Value type.
    low, high : float or int, optional
        Inclusive bounds for numeric kinds.
    log : bool, default=False
        Sample on a log scale (numeric kinds, requires ``low > 0``).
    choices : tuple, optional
        Allowed values for the categorical kind.
    """

    name: str
    kind: Kind = "float"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "categorical"):
            raise ValueError(
                f"Hyperparameter {self.name!r}: kind must be 'float', 'int' or "
                f"'categorical', got {self.kind!r}"
            )
        if self.kind == "categorical":
            if not self.choices:
                raise ValueError(f"Hyperparameter {self.name!r}: choices must not be empty")
            return
        if self.low is None or self.high is None:
            raise ValueError(f"Hyperparameter {self.name!r}: low and high are required")
        if not self.low <= self.high:
            raise ValueError(
                f"Hyperparameter {self.name!r}: low={self.low} must not exceed high={self.high}"
            )
        if self.log and self.low <= 0:
            raise ValueError(
                f"Hyperparameter {self.name!r}: a log scale needs low > 0, got low={self.low}"
            )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in this declared range."""
        if self.kind == "categorical":
            return value in self.choices
        return self.low <= value <= self.high


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> None:
    """Raise ``ValueError``/``TypeError`` unless ``value`` is a real number in range.

    The message names the owner, the parameter, the value and the allowed range,
    for example ``Adam: beta1 must be in [0, 1), got 1.5``.
    """
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{owner}: {name} must be in {left}{lo}, {hi}{right}, got {value!r}")


def check_int(owner: str, name: str, value: Any, *, low: int | None = None) -> None:
    """Raise unless ``value`` is an integer (not a bool) of at least ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, got {value!r}")


class Hyperparameterized:
    """Base for objects defined by their constructor arguments.

    Subclasses list every hyperparameter in ``__init__``, store each one as an
    attribute of the same name, and check them in ``_validate``. Equality,
    ``repr``, ``get_params`` and ``set_params`` follow from that.
    """

    #: Default search ranges of the tunable hyperparameters.
    search_space: ClassVar[tuple[Hyperparameter, ...]] = ()

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def _validate(self) -> None:
        """Check the hyperparameters; raise ``ValueError``/``TypeError``."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters by name; nested objects' as ``name__sub`` when ``deep``."""
        out: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Hyperparameterized:
        """Set hyperparameters (``name`` or ``name__sub``) and validate them."""
        names = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in names:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {sorted(names)}"
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        self._validate()
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._param_names())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_params(deep=False) == other.get_params(deep=False)

    # Mutable through set_params, so unhashable like other mutable values.
    __hash__ = None  # type: ignore[assignment]
