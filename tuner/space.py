"""Search spaces over optimizers, their hyperparameters and learning-rate schedules.

The space is define-by-run: a trial first picks the ``optimizer`` (categorical),
then that optimizer's hyperparameters (``lr``, ``momentum``, ``beta1``, ...),
then the ``schedule`` and that schedule's own parameters (``step_size``,
``gamma``, ``t_max``, ...), then any estimator parameters. Default ranges come
from the ``search_space`` declarations of the ``optim`` classes, so a
user-registered optimizer gets its declared space automatically.

Overrides, by parameter name (``"lr"``, for every class that has it) or scoped
to one class (``"adam.lr"``, ``"cosine.t_max"``), take one of these forms:

- a scalar: the value is fixed (not searched);
- a mapping ``{"low": ..., "high": ..., "log": ...}``: a numeric range;
- a list: categorical choices.
"""

from __future__ import annotations

import inspect
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import optim
from optim import Hyperparameter

from .errors import did_you_mean

__all__ = [
    "DEFAULT_OPTIMIZERS",
    "DEFAULT_SCHEDULES",
    "Dimension",
    "SearchSpace",
    "schedule_horizon",
]

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
DEFAULT_SCHEDULES = ("constant", "step", "cosine")
_PRIMITIVE = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Dimension:
    """One searched or fixed parameter of a space, as shown in reports.

    Attributes
    ----------
    scope : str
        ``"optimizer:<name>"``, ``"schedule:<name>"`` or ``"estimator"``.
    name : str
        Parameter name (also the Optuna parameter name).
    spec : Hyperparameter or None
        The searched range; None when the value is fixed.
    value : object
        The fixed value (when ``spec`` is None).
    """

    scope: str
    name: str
    spec: Hyperparameter | None = None
    value: Any = None

    @property
    def fixed(self) -> bool:
        return self.spec is None


def _encode(choice: Any) -> Any:
    """Optuna's categorical choices must be primitives: encode lists as JSON text."""
    return choice if isinstance(choice, _PRIMITIVE) else json.dumps(choice)


def _decode(choice: Any, choices: Sequence[Any]) -> Any:
    for c in choices:
        if _encode(c) == choice:
            return tuple(c) if isinstance(c, list) else c
    return choice


def _as_spec(name: str, value: Any, declared: Hyperparameter | None) -> Hyperparameter | None:
    """Turn an override into a Hyperparameter (None when it fixes the value)."""
    if isinstance(value, Hyperparameter):
        return replace(value, name=name)
    if isinstance(value, Mapping):
        unknown = set(value) - {"low", "high", "log"}
        if unknown:
            raise ValueError(
                f"range for {name!r} has unknown keys {sorted(unknown)}; use low, high, log"
            )
        low = value.get("low", declared.low if declared else None)
        high = value.get("high", declared.high if declared else None)
        if low is None or high is None:
            raise ValueError(f"range for {name!r} needs both low and high")
        if declared and declared.kind == "categorical":
            raise ValueError(f"{name!r} is categorical: give a list of choices, not a range")
        integral = all(isinstance(v, numbers.Integral) for v in (low, high))
        if declared:
            kind = declared.kind
        else:  # an estimator parameter: integer ends search integers
            kind = "int" if integral else "float"
        if kind == "int" and not integral:
            raise ValueError(f"{name!r} is an integer parameter; got low={low}, high={high}")
        log = value.get("log", declared.log if declared else False)
        return Hyperparameter(name, kind, low, high, log=bool(log))
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError(f"choices for {name!r} must not be empty")
        return Hyperparameter(name, "categorical", choices=tuple(value))
    return None


class SearchSpace:
    """A define-by-run space over optimizer, schedule and estimator parameters.

    Parameters
    ----------
    optimizers : sequence of str, optional
        Registered optimizer names to choose from (default: sgd, momentum,
        nesterov, adam).
    schedules : sequence of str, optional
        Registered schedule names to choose from (default: constant, step, cosine).
    params : mapping, optional
        Overrides of optimizer and schedule parameters (see the module docstring).
    estimator_params : mapping, optional
        Estimator parameters to search or fix, same forms (for example
        ``{"alpha": {"low": 1e-6, "high": 1e-2, "log": True},
        "hidden_layer_sizes": [[64], [128], [64, 64]]}``); a range with
        integer ends, such as ``{"low": 8, "high": 64}``, draws integers.
    horizon : int, optional
        Length of the schedule counter over a fit (``max_epochs``, or the batches
        of a fit with per-batch scheduling: see :func:`schedule_horizon`): integer
        schedule parameters such as ``t_max`` and ``step_size`` are capped at it.

    Examples
    --------
    >>> space = SearchSpace(["sgd", "adam"], ["constant", "cosine"],
    ...                     params={"lr": {"low": 1e-4, "high": 1e-1}, "cosine.t_max": 30})
    >>> kwargs = space.suggest(trial)   # {"optimizer": Adam(...), "schedule": ..., ...}
    """

    def __init__(
        self,
        optimizers: Sequence[str] | None = None,
        schedules: Sequence[str] | None = None,
        params: Mapping[str, Any] | None = None,
        estimator_params: Mapping[str, Any] | None = None,
        horizon: int | None = None,
    ):
        self.optimizers = list(optimizers or DEFAULT_OPTIMIZERS)
        self.schedules = list(schedules or DEFAULT_SCHEDULES)
        self.params = dict(params or {})
        self.estimator_params = dict(estimator_params or {})
        self.horizon = horizon
        for kind, names in (("optimizers", self.optimizers), ("schedules", self.schedules)):
            if len(set(names)) != len(names):
                raise ValueError(f"{kind} must not repeat a name, got {names}")
        self._classes = {
            "optimizer": {n: optim.optimizer_class(n) for n in self.optimizers},
            "schedule": {n: optim.schedule_class(n) for n in self.schedules},
        }
        self._dims = {
            (kind, n): self._class_dimensions(kind, n, cls)
            for kind, classes in self._classes.items()
            for n, cls in classes.items()
        }
        self._estimator_dims = [
            Dimension("estimator", k, _as_spec(k, v, None), v)
            for k, v in self.estimator_params.items()
        ]
        self._check_override_names()
        self._check_shared_names()

    def with_horizon(self, horizon: int | None) -> SearchSpace:
        """The same space with schedule lengths capped at ``horizon`` (a new space)."""
        return SearchSpace(
            self.optimizers, self.schedules, self.params, self.estimator_params, horizon
        )

    def _class_dimensions(self, kind: str, name: str, cls: type) -> list[Dimension]:
        accepted = cls._param_names()
        dims: dict[str, Dimension] = {}
        for h in cls.search_space:
            if kind == "schedule" and self.horizon and h.kind == "int" and h.high > self.horizon:
                h = replace(h, low=min(h.low, self.horizon), high=self.horizon)
            dims[h.name] = Dimension(f"{kind}:{name}", h.name, h)
        for key in (p for p in accepted if p in self.params):
            dims[key] = self._override(kind, name, key, self.params[key], dims.get(key))
        for key, value in self.params.items():
            scope, _, pname = key.rpartition(".")
            if scope == name:
                if pname not in accepted:
                    raise ValueError(
                        f"{key!r}: {cls.__name__} has no parameter {pname!r}"
                        f"{did_you_mean(pname, accepted)}; it has {sorted(accepted)}"
                    )
                dims[pname] = self._override(kind, name, pname, value, dims.get(pname))
        return list(dims.values())

    @staticmethod
    def _override(kind: str, name: str, pname: str, value: Any, old: Dimension | None):
        declared = old.spec if old is not None else None
        return Dimension(f"{kind}:{name}", pname, _as_spec(pname, value, declared), value)

    def _check_override_names(self) -> None:
        selected = {**self._classes["optimizer"], **self._classes["schedule"]}
        names = {p for cls in selected.values() for p in cls._param_names()}
        for key in self.params:
            scope = key.rpartition(".")[0]
            if scope and scope not in selected:
                raise ValueError(
                    f"{key!r}: {scope!r} is not among the selected optimizers "
                    f"{self.optimizers} or schedules {self.schedules}"
                )
            if not scope and key not in names:
                raise ValueError(
                    f"{key!r} is not a parameter of the selected optimizers or schedules"
                    f"{did_you_mean(key, names)}; known: {sorted(names)}"
                )

    def _check_shared_names(self) -> None:
        """Each searched name must keep one kind across classes (Optuna's rule for a study).

        Classes share parameter names (``lr``, ``gamma``): a scoped override that
        makes one class search ``step.gamma`` as choices while another draws
        ``gamma`` from a range would fail every trial of the other class.
        """
        seen: dict[str, tuple[str, str]] = {}
        dims = [d for group in self._dims.values() for d in group] + self._estimator_dims
        for dim in dims:
            if dim.spec is None:
                continue
            how = _distribution_kind(dim.spec)
            scope, first = seen.setdefault(dim.name, (dim.scope, how))
            if first != how:
                raise ValueError(
                    f"{dim.name!r} is searched as {first} for {scope} but as {how} for "
                    f"{dim.scope}; one name needs one kind in a study: override "
                    f"{dim.name!r} for every class (unscoped), or fix it"
                )

    # -- sampling --------------------------------------------------------------------
    def suggest(self, trial) -> dict[str, Any]:
        """Sample one configuration with an Optuna ``trial``; return estimator kwargs.

        The result maps ``"optimizer"`` and ``"schedule"`` to built objects and
        each estimator parameter to its value, ready for ``estimator.set_params``.
        """
        values: dict[str, Any] = {}
        for kind, choices in (("optimizer", self.optimizers), ("schedule", self.schedules)):
            name = trial.suggest_categorical(kind, choices)
            values[kind] = name
            for dim in self._dims[(kind, name)]:
                values[dim.name] = _suggest(trial, dim)
        for dim in self._estimator_dims:
            values[dim.name] = _suggest(trial, dim)
        return self.build(values)

    def complete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Trial parameters for a configuration given in part (a baseline to run first).

        What ``params`` leaves out of its optimizer's and schedule's searched
        parameters takes that class's default (Adam's ``beta1 = 0.9``); the
        optimizer defaults to the space's first, the schedule to ``"constant"``
        (else the first). Searched estimator parameters left out are drawn as in
        any trial. Raises ``ValueError`` for a name that is not in the space, a
        class not selected, or a parameter without a default.
        """
        out = dict(params)
        known = {"optimizer", "schedule", *(d.name for d in self._estimator_dims)}
        for kind in ("optimizer", "schedule"):
            name = out.setdefault(kind, self._default(kind))
            names = list(self._classes[kind])
            if name not in names:
                hint = did_you_mean(str(name), names)
                raise ValueError(f"{kind} {name!r} is not in this space {names}{hint}")
            signature = inspect.signature(self._classes[kind][name]).parameters
            for dim in self._dims[(kind, name)]:
                known.add(dim.name)
                if dim.spec is None or dim.name in out:
                    continue
                default = getattr(signature.get(dim.name), "default", inspect.Parameter.empty)
                if default is inspect.Parameter.empty:
                    raise ValueError(f"{dim.name!r} of {kind} {name!r} has no default: give it")
                out[dim.name] = _encode(default) if dim.spec.kind == "categorical" else default
        unknown = sorted(set(out) - known)
        if unknown:
            hint = did_you_mean(unknown[0], known)
            raise ValueError(
                f"{unknown[0]!r} is not a parameter of {out['optimizer']!r}, "
                f"{out['schedule']!r} or the estimator's searched ones{hint}"
            )
        return out

    def _default(self, kind: str) -> str:
        """The optimizer or schedule of parameters that name none: the space's first
        optimizer; ``"constant"`` if the space has it, else its first schedule."""
        if kind == "optimizer":
            return self.optimizers[0]
        return "constant" if "constant" in self.schedules else self.schedules[0]

    def build(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Estimator kwargs from flat parameters (for example ``trial.params``).

        Fixed values of the space fill what ``params`` lacks, so
        ``space.build(study.best_params)`` rebuilds the best configuration; an
        optimizer or schedule left out is the default of :meth:`complete`.
        """
        out: dict[str, Any] = {}
        for kind in ("optimizer", "schedule"):
            name = params.get(kind, self._default(kind))
            if name not in self._classes[kind]:
                raise ValueError(f"{kind} {name!r} is not in this space")
            kwargs = {
                d.name: _value(d, params) for d in self._dims[(kind, name)] if _has(d, params)
            }
            out[kind] = self._classes[kind][name](**kwargs)
        for dim in self._estimator_dims:
            if _has(dim, params):
                out[dim.name] = _value(dim, params)
        return out

    def distributions(self) -> dict[str, list[Any]]:
        """Optuna's distributions of the searched parameters, by name.

        A name that several classes share (``lr``, ``gamma``) may come with
        several; an Optuna study needs each to be compatible with the one its
        trials already drew from
        (:func:`optuna.distributions.check_distribution_compatibility`).
        """
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        out: dict[str, list[Any]] = {}
        for dim in self.dimensions():
            spec = dim.spec
            if spec is None:
                continue
            if spec.kind == "categorical":
                dist = CategoricalDistribution([_encode(c) for c in spec.choices])
            elif spec.kind == "int":
                dist = IntDistribution(int(spec.low), int(spec.high), log=spec.log)
            else:
                dist = FloatDistribution(float(spec.low), float(spec.high), log=spec.log)
            if dist not in out.setdefault(dim.name, []):
                out[dim.name].append(dist)
        return out

    def dimensions(self) -> list[Dimension]:
        """Every searched or fixed parameter, in sampling order."""
        dims = [Dimension("study", "optimizer", _categorical("optimizer", self.optimizers))]
        dims += [d for n in self.optimizers for d in self._dims[("optimizer", n)]]
        dims.append(Dimension("study", "schedule", _categorical("schedule", self.schedules)))
        dims += [d for n in self.schedules for d in self._dims[("schedule", n)]]
        return dims + self._estimator_dims

    def __repr__(self) -> str:
        return (
            f"SearchSpace(optimizers={self.optimizers}, schedules={self.schedules}, "
            f"params={self.params}, estimator_params={self.estimator_params})"
        )


def schedule_horizon(estimator: Any, n_samples: int) -> int | None:
    """Schedule steps of a whole fit of ``estimator`` on ``n_samples`` rows (a space's
    ``horizon``), or None for an estimator without ``max_epochs``.

    The schedule counts epochs, or batches with ``schedule_interval="batch"``:
    then an epoch is ``ceil(rows / batch_size)`` steps, over the rows left after
    early stopping's validation share.
    """
    epochs = getattr(estimator, "max_epochs", None)
    if epochs is None or getattr(estimator, "schedule_interval", "epoch") != "batch":
        return epochs
    from .estimators._base import AUTO_BATCH_SIZE

    if getattr(estimator, "early_stopping", False):
        n_samples -= math.ceil(estimator.validation_fraction * n_samples)
    batch = estimator.batch_size if isinstance(estimator.batch_size, int) else AUTO_BATCH_SIZE
    return epochs * math.ceil(max(1, n_samples) / max(1, min(batch, n_samples)))


def _distribution_kind(spec: Hyperparameter) -> str:
    """What Optuna requires to be equal for one parameter name across trials."""
    if spec.kind == "categorical":
        return f"choices {list(spec.choices)}"
    return f"{'a log-scaled ' if spec.log else 'a linear '}{spec.kind} range"


def _categorical(name: str, choices: Sequence[Any]) -> Hyperparameter:
    return Hyperparameter(name, "categorical", choices=tuple(choices))


def _suggest(trial, dim: Dimension) -> Any:
    spec = dim.spec
    if spec is None:
        return dim.value
    if spec.kind == "categorical":
        raw = trial.suggest_categorical(dim.name, [_encode(c) for c in spec.choices])
        return _decode(raw, spec.choices)
    if spec.kind == "int":
        return trial.suggest_int(dim.name, int(spec.low), int(spec.high), log=spec.log)
    return trial.suggest_float(dim.name, float(spec.low), float(spec.high), log=spec.log)


def _has(dim: Dimension, params: Mapping[str, Any]) -> bool:
    return dim.spec is None or dim.name in params


def _value(dim: Dimension, params: Mapping[str, Any]) -> Any:
    if dim.spec is None:
        return dim.value
    value = params[dim.name]
    if dim.spec.kind == "categorical":
        return _decode(value, dim.spec.choices)
    return value
