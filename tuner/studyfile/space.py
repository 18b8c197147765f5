"""The ``[space]`` table: the optimizers and schedules searched, their parameters and the
estimator's, each value checked by the class or estimator it belongs to."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import optim

from ..space import DEFAULT_OPTIMIZERS, DEFAULT_SCHEDULES, Dimension, SearchSpace
from ..tomlfile import TomlTable
from .checks import _accepts, _check_form, _try_values, _values
from .estimator import _estimator_check, _estimator_params


def _registry_names(
    space: TomlTable, key: str, lookup: Callable[[str], type], default: Iterable[str]
) -> tuple[str, ...]:
    """Canonical registry names of the optimizers or schedules listed at ``key``."""
    names = space.get(key, "an array", default=list(default))
    if not names:
        raise space.error(key, reason=f"name at least one {key.removesuffix('s')}")
    with space.blame(key):
        names = tuple(optim.name_of(lookup(name)) for name in names)
        SearchSpace(**{key: names})  # a name given twice
    return names


def _class_of(scope: str) -> type:
    """The class of a dimension's scope (``"optimizer:adam"``)."""
    kind, _, name = scope.partition(":")
    return (optim.optimizer_class if kind == "optimizer" else optim.schedule_class)(name)


def _class_check(cls: type, name: str, needed: Mapping[str, Any]) -> Callable[[Any], Any]:
    """Build ``cls`` with one value of ``name`` and the ``needed`` arguments it has no
    default for, the others at their defaults: its error is about this value alone."""
    return lambda value: cls(**{**needed, name: value})


def _required(cls: type) -> set[str]:
    """Constructor arguments of ``cls`` without a default."""
    return {p for p, v in inspect.signature(cls).parameters.items() if v.default is v.empty}


def _read_params(space: TomlTable, names: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """``[space.params]``, checked by :class:`SearchSpace` key by key (so that an error
    names its key), then all together, then each value by the classes it applies to."""
    params = space.table("params")
    for key in params.values:
        _check_form(params, key)
        with params.blame(key):  # the name alone: None is a fixed value, of no kind
            SearchSpace(**names, params={key: None})
    unset = dict.fromkeys(params.values)  # the others fixed: a kind clash is not this value's
    alone = {}
    for key, value in params.values.items():
        with params.blame(key):
            alone[key] = SearchSpace(**names, params={**unset, key: value})
    with space.blame("params"):  # values fine alone may clash together (one kind per name)
        dims: dict[str, dict[str, Dimension]] = {}
        for dim in SearchSpace(**names, params=params.values).dimensions():
            dims.setdefault(dim.scope, {})[dim.name] = dim
    for kind in ("optimizer", "schedule"):
        for name in names[f"{kind}s"]:
            missing = _required(_class_of(f"{kind}:{name}")) - set(dims.get(f"{kind}:{name}", ()))
            if missing:
                raise space.error(
                    f"{kind}s", reason=f"{name!r} needs {', '.join(sorted(missing))}, which have "
                    f'no default; fix them in [space.params] as "{name}.<parameter>"'
                )  # fmt: skip
    for key, key_space in alone.items():
        pname = key.rpartition(".")[2]
        for dim in key_space.dimensions():
            if dim.value is None:  # declared, or set by another key
                continue
            cls = _class_of(dim.scope)
            needed = {
                p: _values(d)[0][1] for p, d in dims[dim.scope].items() if p in _required(cls)
            }
            _try_values(params, key, dim, _class_check(cls, pname, needed))
    return params.values


def _read_estimator_space(
    space: TomlTable, cls: type, fixed: Mapping[str, Any], names: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    est = _estimator_params(space, "estimator", cls)
    for key, value in est.values.items():
        _check_form(est, key)
        if key in fixed:
            raise est.error(key, reason="also fixed in estimator.params; keep one")
        with est.blame(key):  # the estimator's dimension comes last
            dim = SearchSpace(**names, estimator_params={key: value}).dimensions()[-1]
        check = _estimator_check(cls, key)
        _try_values(est, key, dim, check)
        if getattr(dim.spec, "kind", None) == "int" and _accepts(check, float(dim.spec.low)):
            # Integer ends search integers: not for a real (alpha = { low = 0, high = 1 }).
            value["low"], value["high"] = float(value["low"]), float(value["high"])
    return est.values


def _read_space(space: TomlTable, estimator: type, fixed: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        key: _registry_names(space, key, lookup, default)
        for key, lookup, default in (
            ("optimizers", optim.optimizer_class, DEFAULT_OPTIMIZERS),
            ("schedules", optim.schedule_class, DEFAULT_SCHEDULES),
        )
    }
    return {
        **names,
        "params": _read_params(space, names),
        "estimator_space": _read_estimator_space(space, estimator, fixed, names),
    }
