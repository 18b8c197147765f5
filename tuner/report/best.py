"""The best trial, and the Python code that rebuilds it.

A study run from a study file records its spec, and its best trial's code is
a whole script (:func:`tuner.report.rebuild.study_code`); any other study's is
the estimator alone (:func:`estimator_code`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

import optim

from .. import estimators
from ..space import SearchSpace
from ..study.outcomes import best_scored, score_of
from ..studyfile import StudySpec
from .pysource import argument_lines
from .rebuild import study_code

__all__ = ["BestTrial", "best_trial", "estimator_code"]


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
        Python code that rebuilds it: with the study's spec, a script that
        loads the data, holds out the test split, cross-validates the model on
        the study's folds and scores it on the test split
        (:func:`tuner.report.rebuild.study_code`); else the code of the
        estimator alone (:func:`estimator_code`). None when it cannot be
        written, for example when the optimizer is a plug-in not installed here.
    """

    number: int
    value: float
    params: dict[str, Any]
    code: str | None


def best_trial(
    trials: Sequence[FrozenTrial],
    maximize: bool = True,
    estimator: str | None = None,
    space: SearchSpace | None = None,
    spec: StudySpec | None = None,
) -> BestTrial | None:
    """The best completed trial (the first one on ties), or None if none completed.

    With ``spec`` (and the ``space`` built from it) its code is the script of
    :func:`tuner.report.rebuild.study_code`; without, ``estimator`` and
    ``space`` are passed to :func:`estimator_code`.
    """
    direction = "maximize" if maximize else "minimize"
    best = best_scored(sorted(trials, key=lambda t: t.number), direction)
    if best is None:
        return None
    value = float(score_of(best))
    if spec is not None and space is not None:
        try:
            code = study_code(best.params, spec, space, best.number, value)
        except (ValueError, TypeError):  # an unknown class, a bad value, a missing argument
            code = None
    else:
        code = estimator_code(best.params, estimator, space)
    return BestTrial(best.number, value, dict(best.params), code)


def estimator_code(
    params: Mapping[str, Any],
    estimator: str | None = None,
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
        imports: set[str] = set()
        args = argument_lines(_build(params, space), imports, indent=4)
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
