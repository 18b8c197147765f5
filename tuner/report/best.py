"""The best trial, and the Python code that rebuilds its estimator."""

from __future__ import annotations

import inspect
import json
import keyword
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

import optim

from .. import estimators
from ..space import SearchSpace

__all__ = ["BestTrial", "best_trial", "estimator_code"]

#: Longest line of the generated code before a call is wrapped.
WIDTH = 88


@dataclass(frozen=True)
class BestTrial:
    """The best completed trial of a study.

    Attributes
    ----------
    number : int
        Trial number.
    value : float
        Its score.
    params : dict
        Its sampled parameters, as Optuna recorded them.
    code : str or None
        Python code that builds the estimator with these settings (see
        :func:`estimator_code`); None when it cannot be written, for example
        when the optimizer is a plug-in not installed here.
    """

    number: int
    value: float
    params: dict[str, Any]
    code: str | None


def best_trial(
    trials: Sequence[FrozenTrial],
    maximize: bool = True,
    estimator: str | None = None,
    estimator_params: Mapping[str, Any] | None = None,
    space: SearchSpace | None = None,
) -> BestTrial | None:
    """The best completed trial (the first one on ties), or None if none completed.

    ``estimator``, ``estimator_params`` and ``space`` are passed to
    :func:`estimator_code`.
    """
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not complete:
        return None
    sign = 1.0 if maximize else -1.0
    best = max(sorted(complete, key=lambda t: t.number), key=lambda t: sign * t.value)
    code = estimator_code(best.params, estimator, estimator_params, space)
    return BestTrial(best.number, float(best.value), dict(best.params), code)


def estimator_code(
    params: Mapping[str, Any],
    estimator: str | None = None,
    estimator_params: Mapping[str, Any] | None = None,
    space: SearchSpace | None = None,
) -> str | None:
    """Python code that builds the estimator a trial trained.

    Parameters
    ----------
    params : mapping
        The trial's parameters (``trial.params``).
    estimator : str, optional
        Name of a :mod:`tuner.estimators` class (the study attribute
        ``estimator``). Without it the code calls ``estimator.set_params``.
    estimator_params : mapping, optional
        The estimator's fixed arguments (for example a study file's
        ``[estimator]`` table: ``max_epochs``, ``hidden_layer_sizes``), written first.
    space : SearchSpace, optional
        The study's space. Values a space fixes are not stored in trials, so
        without it the code holds only what was searched, and says so.

    Returns
    -------
    str or None
        The code; None when a class is not registered here or a name or value
        cannot be written as Python.
    """
    if estimator is not None and not isinstance(getattr(estimators, estimator, None), type):
        return None
    try:
        kwargs = {**(estimator_params or {}), **_build(params, space)}
        imports: set[str] = set()
        args = [_argument(k, v, imports, indent=4) for k, v in kwargs.items()]
    except (ValueError, TypeError):  # an unknown class, a bad value, a missing argument
        return None
    lines = [f"import {module}" for module in sorted(imports)]
    if estimator is not None:
        lines += [f"from tuner.estimators import {estimator}", "", f"estimator = {estimator}("]
    else:
        lines += ["", "estimator.set_params(  # the tuner estimator the study tuned"]
    lines += [*args, ")"]
    if space is None:
        lines.append("# A study records searched values only: add any the search space fixed.")
    return "\n".join(lines) + "\n"


def _build(params: Mapping[str, Any], space: SearchSpace | None) -> dict[str, Any]:
    """Estimator kwargs from flat trial parameters, objects for optimizer and schedule."""
    if space is not None:
        return space.build(params)
    rest = dict(params)
    kwargs: dict[str, Any] = {}
    for kind, lookup in (("optimizer", optim.optimizer_class), ("schedule", optim.schedule_class)):
        if kind in rest:
            cls = lookup(rest.pop(kind))  # ValueError when not registered here
            names = cls._param_names()
            kwargs[kind] = cls(**{p: rest.pop(p) for p in names if p in rest})
    # The space encodes list choices (layer sizes) as JSON text; it decodes them to tuples.
    return kwargs | {name: _decode(value) for name, value in rest.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("["):
        try:
            return tuple(json.loads(value))
        except (ValueError, TypeError):
            return value
    return value


def _keyword(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a Python argument name")
    return name


def _argument(name: str, value: Any, imports: set[str], indent: int) -> str:
    """``name=value,`` at ``indent``; a call too long for a line gets one argument a line."""
    pad = " " * indent
    line = f"{pad}{_keyword(name)}={_source(value, imports)},"
    if len(line) <= WIDTH or not isinstance(value, optim.Hyperparameterized):
        return line
    head, args = _call(value, imports)
    inner = "\n".join(_argument(k, v, imports, indent + 4) for k, v in args.items())
    return f"{pad}{name}={head}(\n{inner}\n{pad}),"


def _call(value: optim.Hyperparameterized, imports: set[str]) -> tuple[str, dict[str, Any]]:
    """The qualified class name of ``value`` and its arguments that differ from the defaults."""
    cls = type(value)
    module = "optim" if getattr(optim, cls.__name__, None) is cls else cls.__module__
    imports.add(module)
    defaults = {p.name: p.default for p in inspect.signature(cls).parameters.values()}
    args = {
        k: v for k, v in value.get_params(deep=False).items()
        if k not in defaults or type(v) is not type(defaults[k]) or v != defaults[k]
    }  # fmt: skip
    return f"{module}.{cls.__name__}", args


def _source(value: Any, imports: set[str]) -> str:
    """Python source for ``value``; raises ValueError for what repr cannot round-trip."""
    if isinstance(value, optim.Hyperparameterized):
        head, args = _call(value, imports)
        inner = ", ".join(f"{_keyword(k)}={_source(v, imports)}" for k, v in args.items())
        return f"{head}({inner})"
    if isinstance(value, list | tuple):
        items = [_source(v, imports) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} has no Python literal")
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    raise ValueError(f"cannot write {type(value).__name__} {value!r} as Python")
