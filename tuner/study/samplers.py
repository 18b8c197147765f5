"""Optuna samplers and pruners chosen by name, with their options."""

from __future__ import annotations

import functools
import importlib.util
import inspect
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
    return optuna.samplers.CmaEsSampler(seed=seed, **options)


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


def _check_types(kind: str, name: str, options: Mapping[str, Any]) -> None:
    """Refuse options whose value the class's signature rules out (Optuna checks few
    of them, so a bad one would fail every trial): a string for an ``int``, any value
    given as text for a function such as ``constraints_func``."""
    parameters = inspect.signature(_CLASSES[name]).parameters
    for key, value in options.items():
        annotation = getattr(parameters.get(key), "annotation", inspect.Parameter.empty)
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if "Callable" in text and not callable(value):
            raise ValueError(f"{kind} {name!r}: option {key!r} must be a function, got {value!r}")
        types = [t.strip() for t in text.split("|") if t.strip() != "None"]
        if types and all(t in _PLAIN_TYPES for t in types):
            if not any(_PLAIN_TYPES[t](value) for t in types):
                raise ValueError(
                    f"{kind} {name!r}: option {key!r} must be {' or '.join(types)}, got {value!r}"
                )
        elif isinstance(value, str) and types and not {"str", "Any"} & set(types):
            # A study file gives text where the class takes an object (a sampler, say).
            raise ValueError(f"{kind} {name!r}: option {key!r} takes {text}, not {value!r}")


#: Least values of numeric options that Optuna checks only once it samples with them (after
#: its startup trials), so that a value below fails every later trial. Optuna's TPE docs:
#: ``prior_weight`` non-negative, ``n_ei_candidates`` the number of candidates drawn (at
#: least one); a count of startup trials is not negative.
_LEAST = {
    "tpe": {"prior_weight": 0, "n_ei_candidates": 1, "n_startup_trials": 0},
    "gp": {"n_startup_trials": 0},
    "cmaes": {"n_startup_trials": 0, "popsize": 1, "inc_popsize": 1},
}


def _check_bounds(kind: str, name: str, options: Mapping[str, Any]) -> None:
    """Refuse numeric options below their least value (:data:`_LEAST`)."""
    for key, least in _LEAST.get(name, {}).items():
        value = options.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and not value >= least:
            raise ValueError(f"{kind} {name!r}: option {key!r} must be >= {least}, got {value!r}")


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
    if group_by and name in _UNGROUPABLE:
        raise ValueError(
            f"pruner {name!r} cannot compare a trial with its own optimizer's trials only "
            f"({_UNGROUPABLE[name]}); choose successive_halving, median or none"
        )
    pruner = _build("pruner", PRUNERS, name, **options)  # bad options fail here
    if name == "none" or not (group_by or n_warmup_steps):
        return pruner
    return FairPruner(functools.partial(PRUNERS[name], **options), group_by, n_warmup_steps)
