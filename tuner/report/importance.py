"""Which hyperparameters mattered: Optuna's importance evaluators, per study and per optimizer.

A scope (all trials, or one optimizer's) is ranked over its completed trials
with a finite score. What a scope cannot rank is left out with a note that
says why, rather than failing: scores that are all the same (nothing to
explain), a parameter whose search range differs between the scope's trials
(a range scoped to one optimizer, the ``gamma`` of two schedules; Optuna
ranks one range per parameter). The scores are divided by their largest
magnitude before ranking: importances are shares of the score's variation,
unchanged by its scale, and scores near the largest float would overflow the
evaluator's variances. Any other failure of a scope is a
:class:`~tuner.report.problems.ReportProblem` of that scope alone.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import numpy as np
import optuna
import pandas as pd
from optuna.importance import BaseImportanceEvaluator, FanovaImportanceEvaluator
from optuna.trial import FrozenTrial, create_trial

from ..study.outcomes import score_of
from .display import format_number
from .problems import ReportProblem, guarded
from .tables import ALL, categories

__all__ = ["MAX_TRIALS", "MIN_TRIALS", "Importances", "param_importances"]

#: Completed trials a scope needs before its importances mean anything.
MIN_TRIALS = 5
#: Trials a scope uses at most: fANOVA takes about 10 ms per trial and parameter.
MAX_TRIALS = 500


@dataclass(frozen=True, eq=False)  # a table does not compare with ==
class Importances:
    """Parameter importances, and what could not be ranked.

    Attributes
    ----------
    table : DataFrame
        Columns ``optimizer`` (category; ``"all"`` for the whole study),
        ``param`` (str), ``importance`` (float64, summing to 1 in each scope,
        largest first) and ``n_trials`` (int64, completed trials it used).
    notes : tuple of str
        What was left out and why, one sentence each (``"all trials: lr is
        left out: ..."``).
    problems : tuple of ReportProblem
        Scopes whose ranking failed (``"importances of adam"``).
    """

    table: pd.DataFrame
    notes: tuple[str, ...] = ()
    problems: tuple[ReportProblem, ...] = ()


def param_importances(
    trials: Sequence[FrozenTrial],
    direction: str = "maximize",
    evaluator: BaseImportanceEvaluator | None = None,
    min_trials: int = MIN_TRIALS,
    max_trials: int = MAX_TRIALS,
    seed: int = 0,
) -> Importances:
    """Parameter importances over all trials, then within each optimizer's trials.

    Only completed trials with a finite score are used. Within a scope, the
    parameters are those every trial of the scope sampled from one same
    distribution, with at least two different values (a parameter only some
    schedules have is left out, as Optuna does; one sampled from several
    ranges is left out with a note).

    Parameters
    ----------
    trials : sequence of FrozenTrial
        The study's trials.
    direction : {"maximize", "minimize"}
        The study's direction.
    evaluator : BaseImportanceEvaluator, optional
        Default: fANOVA with a fixed seed (the same study gives the same table).
    min_trials : int, default=MIN_TRIALS
        Completed trials a scope needs; scopes with fewer are left out.
    max_trials : int, default=MAX_TRIALS
        A scope with more completed trials uses a random sample of this many
        (drawn with ``seed``), so that large studies stay quick to report.
    seed : int, default=0
        Seed of that sample.

    Returns
    -------
    Importances
        The table, the notes on what was left out, and the scopes that failed.
    """
    evaluator = evaluator or FanovaImportanceEvaluator(seed=0)
    complete = [t for t in trials if _finite(score_of(t))]
    names = list(dict.fromkeys(t.params["optimizer"] for t in complete if "optimizer" in t.params))
    scopes = {ALL: complete} | {
        name: [t for t in complete if t.params.get("optimizer") == name] for name in names
    }
    rows = []
    notes: dict[str, list[str]] = {}  # a note -> the scopes it is about
    problems: list[ReportProblem] = []
    rng = np.random.default_rng(seed)
    for scope, members in scopes.items():
        if len(members) < min_trials:
            continue
        if len(members) > max_trials:
            members = [members[i] for i in sorted(rng.choice(len(members), max_trials, False))]
        label = "all trials" if scope == ALL else str(scope)
        rank = partial(_importances, members, direction, evaluator)
        found, left_out = guarded(problems, f"importances of {label}", rank, ({}, []))
        for note in left_out:
            notes.setdefault(note, []).append(label)
        rows += [(scope, param, float(value), len(members)) for param, value in found.items()]
    table = pd.DataFrame(rows, columns=["optimizer", "param", "importance", "n_trials"])
    table = table.astype({"param": "str", "importance": "float64", "n_trials": "int64"})
    table["optimizer"] = pd.Categorical(
        table["optimizer"], categories=[ALL, *categories(trials, "optimizer")]
    )
    return Importances(
        table,
        notes=tuple(f"{', '.join(labels)}: {note}" for note, labels in notes.items()),
        problems=tuple(problems),
    )


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _importances(
    trials: list[FrozenTrial], direction: str, evaluator: BaseImportanceEvaluator
) -> tuple[dict[str, float], list[str]]:
    """One scope's importances, and notes on what it leaves out."""
    values = [score_of(t) for t in trials]
    if min(values) == max(values):
        score = format_number(float(values[0]))
        return {}, [
            f"every completed trial has the same score ({score}), "
            "so no parameter explains a difference"
        ]
    shared = set.intersection(*(set(t.params) for t in trials))
    order = [p for p in trials[0].params if p in shared]
    ranges = {p: len({t.distributions[p] for t in trials}) for p in order}
    notes = [
        f"{p} is left out: its search range differs between these trials ({ranges[p]} ranges), "
        "and importances need one"
        for p in order if ranges[p] > 1
    ]  # fmt: skip
    varied = [p for p in order if ranges[p] == 1 and len({t.params[p] for t in trials}) > 1]
    if not varied:
        return {}, notes
    scale = max(abs(v) for v in values)  # > 0: the values differ
    scaled = [
        create_trial(value=v / scale, params=t.params, distributions=t.distributions)
        for t, v in zip(trials, values)
    ]
    with _quiet():
        # A throw-away study holds just this scope's trials: Optuna takes a study only.
        study = optuna.create_study(direction=direction)
        study.add_trials(scaled)
        found = optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied)
    return found, notes


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Optuna's "new study created" log line and its experimental warnings."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)
