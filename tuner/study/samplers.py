"""Optuna samplers and pruners chosen by name, with their options."""

from __future__ import annotations

import functools
import importlib.util
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna

from .pruning import FairPruner

__all__ = ["DEFAULT_PRUNER", "PRUNERS", "SAMPLERS", "SINGLE_OBJECTIVE_SAMPLERS", "make_pruner",
           "make_sampler"]  # fmt: skip


def _gp(seed: int | None, **options: Any) -> optuna.samplers.BaseSampler:
    if importlib.util.find_spec("torch") is None:
        raise ValueError("sampler 'gp' needs PyTorch; install torch or choose another sampler")
    return optuna.samplers.GPSampler(seed=seed, **options)


def _cmaes(seed: int | None, **options: Any) -> optuna.samplers.BaseSampler:
    if importlib.util.find_spec("cmaes") is None:
        raise ValueError(
            "sampler 'cmaes' needs the cmaes package: pip install 'optim-tuner[cmaes]', "
            "or choose another sampler"
        )
    # The optimizer and schedule are categorical, which CMA-ES leaves to its independent
    # sampler: Optuna would warn of it at every trial.
    return optuna.samplers.CmaEsSampler(seed=seed, **{"warn_independent_sampling": False,
                                                      **options})  # fmt: skip


def _tpe(seed: int | None, **options: Any) -> optuna.samplers.BaseSampler:
    # Workers sample while others' trials run: Optuna recommends the constant liar
    # for parallel runs, so that they do not all try the same region. With one
    # worker it changes nothing. An explicit ``constant_liar`` option wins.
    return optuna.samplers.TPESampler(seed=seed, **{"constant_liar": True, **options})


SAMPLERS: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
    "tpe": _tpe,
    "random": lambda seed, **o: optuna.samplers.RandomSampler(seed=seed, **o),
    "qmc": lambda seed, **o: optuna.samplers.QMCSampler(seed=seed, **o),
    "cmaes": _cmaes,
    "gp": _gp,
    "nsga2": lambda seed, **o: optuna.samplers.NSGAIISampler(seed=seed, **o),
}
#: Samplers of one objective only (the others also search studies of several).
SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)

PRUNERS: dict[str, Callable[..., optuna.pruners.BasePruner]] = {
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "none": optuna.pruners.NopPruner,
}
#: The pruner of studies that name none: chosen by measurement (``tests/bench/bench_study.py``
#: (c)): of Optuna's pruners made fair, it trains the fewest epochs for the same best scores.
DEFAULT_PRUNER = "successive_halving"


#: The Optuna class behind each name, whose signature types the options.
_CLASSES: dict[str, type] = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "qmc": optuna.samplers.QMCSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
    "gp": optuna.samplers.GPSampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    **PRUNERS,
}
_PLAIN_TYPES = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}


#: What a study file (TOML) can give: text, numbers, booleans, arrays and tables.
_TOML_VALUES = (str, int, float, bool, list, dict)


def _fits(value: Any, base: str) -> bool:
    """Whether ``value`` is of the annotated type ``base`` (``int``, ``dict``, ...)."""
    if base in _PLAIN_TYPES:
        return _PLAIN_TYPES[base](value)
    return isinstance(value, {"dict": dict, "list": list}.get(base, ()))


def _check_types(kind: str, name: str, options: Mapping[str, Any]) -> None:
    """Refuse options whose value the class's signature rules out (Optuna checks few
    of them, so a bad one would fail every trial): a string for an ``int``, a
    number or a table where a sampler object is due, any value given as text for a
    function such as ``constraints_func``."""
    parameters = inspect.signature(_CLASSES[name]).parameters
    for key, value in options.items():
        annotation = getattr(parameters.get(key), "annotation", inspect.Parameter.empty)
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if "Callable" in text and not callable(value):
            raise ValueError(f"{kind} {name!r}: option {key!r} must be a function, got {value!r}")
        types = [t.strip() for t in text.split("|") if t.strip() != "None"]
        bases = {t.partition("[")[0] for t in types}
        if not types or "Any" in bases or any(_fits(value, b) for b in bases):
            continue
        if all(t in _PLAIN_TYPES for t in types):
            raise ValueError(
                f"{kind} {name!r}: option {key!r} must be {' or '.join(types)}, got {value!r}"
            )
        if isinstance(value, _TOML_VALUES):  # a study file's value where an object is due
            raise ValueError(f"{kind} {name!r}: option {key!r} takes {text}, not {value!r}")


#: Ranges (least, most; None for no bound) of numeric options that Optuna checks late or
#: not at all, where a value outside fails trials once the sampler uses it or stalls the
#: run. TPE: ``prior_weight`` non-negative (Optuna's docs), ``n_ei_candidates`` the
#: candidates drawn per parameter and trial (default 24). CMA-ES: ``popsize`` points drawn
#: at once. Successive halving: a trial's first rung comes after
#: ``reduction_factor ** min_early_stopping_rate`` epochs. Every one must be finite.
_RANGES: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "tpe": {"prior_weight": (0, None), "n_ei_candidates": (1, 10**6),
            "n_startup_trials": (0, None)},
    "gp": {"n_startup_trials": (0, None)},
    "cmaes": {"n_startup_trials": (0, None), "popsize": (1, 10**4), "inc_popsize": (1, 100),
              "sigma0": (None, None)},
    "successive_halving": {"min_early_stopping_rate": (0, 30), "reduction_factor": (2, 100)},
}  # fmt: skip


def _check_bounds(kind: str, name: str, options: Mapping[str, Any]) -> None:
    """Refuse numeric options outside their range (:data:`_RANGES`), or not finite."""
    for key, (least, most) in _RANGES.get(name, {}).items():
        value = options.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        low, high = (-math.inf if least is None else least), (math.inf if most is None else most)
        if not (math.isfinite(value) and low <= value <= high):
            wanted = (f" between {least} and {most}" if most is not None
                      else f" >= {least}" if least is not None else "")  # fmt: skip
            raise ValueError(
                f"{kind} {name!r}: option {key!r} must be a finite number{wanted}, got {value!r}"
            )


def _build(kind: str, table: Mapping[str, Callable], name: str, *args: Any, **options: Any):
    if name not in table:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(table)}")
    _check_types(kind, name, options)
    _check_bounds(kind, name, options)
    try:
        return table[name](*args, **options)
    except TypeError as exc:  # an option the class does not take
        raise ValueError(f"invalid options for {kind} {name!r} {dict(options)}: {exc}") from None


def make_sampler(name: str = "tpe", seed: int | None = None, **options: Any):
    """An Optuna sampler by name (``tpe``, ``random``, ``qmc``, ``cmaes``, ``gp``).

    ``tpe`` is Optuna's TPESampler with ``constant_liar=True`` unless the options
    say otherwise: running trials count as bad guesses, so parallel workers spread out.
    """
    return _build("sampler", SAMPLERS, name, seed, **options)


#: Pruners whose state spans the whole study, so they cannot see one group's trials alone.
_UNGROUPABLE = {"hyperband": "it spreads trials over brackets of the whole study"}


def make_pruner(
    name: str = DEFAULT_PRUNER,
    *,
    group_by: Sequence[str] = (),
    n_warmup_steps: int = 0,
    **options: Any,
) -> optuna.pruners.BasePruner:
    """An Optuna pruner by name (``successive_halving``, ``median``, ``hyperband``, ``none``).

    With ``group_by`` (for example ``("optimizer",)``) or ``n_warmup_steps``, it is
    wrapped in a :class:`tuner.pruning.FairPruner`: a trial is compared only with
    trials of its own group, and never pruned before ``n_warmup_steps`` steps.
    """
    if name == "none" and n_warmup_steps:
        raise ValueError(f"pruner 'none' prunes no trial: n_warmup_steps = {n_warmup_steps!r} "
                         "has no use; drop it, or choose a pruner")  # fmt: skip
    if group_by and name in _UNGROUPABLE:
        raise ValueError(
            f"pruner {name!r} cannot compare a trial with its own optimizer's trials only "
            f"({_UNGROUPABLE[name]}); choose successive_halving, median or none"
        )
    pruner = _build("pruner", PRUNERS, name, **options)  # bad options fail here
    if name == "none" or not (group_by or n_warmup_steps):
        return pruner
    return FairPruner(functools.partial(PRUNERS[name], **options), group_by, n_warmup_steps)
