"""The ``[estimator]`` table: the estimator class and its fixed parameters."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..space import Dimension
from ..tomlfile import TomlTable
from .checks import _try_values

#: Estimator parameters that the search space sets, so a study file must not.
_SPACE_OWNED = ("optimizer", "schedule")


def estimator_names() -> tuple[str, ...]:
    """Estimator classes a study file may name: the estimators of ``tuner.estimators``.

    Imported when a file is read, not with this module: scikit-learn takes two
    seconds to import, which the command line's help should not wait for.
    """
    from sklearn.base import BaseEstimator

    from .. import estimators

    return tuple(
        name
        for name in estimators.__all__
        if isinstance(getattr(estimators, name), type)
        and issubclass(getattr(estimators, name), BaseEstimator)
    )


def _estimator_params(parent: TomlTable, key: str, cls: type) -> TomlTable:
    """The estimator parameters at ``key``: arguments of ``cls`` except the optimizer
    and the schedule, which the search space sets."""
    table = parent.table(key)
    for name in _SPACE_OWNED:
        if name in table.values:
            raise table.error(name, reason=f"set by the search space: use space.{name}s")
    return table.only(set(inspect.signature(cls).parameters) - set(_SPACE_OWNED))


def _estimator_check(cls: type, name: str) -> Callable[[Any], Any]:
    """Check one value of the estimator parameter ``name`` as a fit of ``cls`` would
    (its ``check_params``), the other parameters at their defaults."""
    return lambda value: cls(**{name: value}).check_params()


def _read_estimator(est: TomlTable) -> tuple[type, dict[str, Any]]:
    from .. import estimators

    cls = getattr(estimators, est.choose("class", estimator_names(), "estimator"))
    params = _estimator_params(est, "params", cls)
    for key, value in params.values.items():  # a fixed value, even a list
        fixed = Dimension("estimator", key, value=value)
        _try_values(params, key, fixed, _estimator_check(cls, key))
    return cls, params.values
