"""Which hyperparameters mattered: Optuna's importance evaluators, per study and per optimizer."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import optuna
import pandas as pd
from optuna.importance import BaseImportanceEvaluator, FanovaImportanceEvaluator
from optuna.trial import FrozenTrial, TrialState

from .tables import ALL, categories

__all__ = ["MAX_TRIALS", "MIN_TRIALS", "importances_table"]

#: Completed trials a scope needs before its importances mean anything.
MIN_TRIALS = 5
#: Trials a scope uses at most: fANOVA takes about 10 ms per trial and parameter.
MAX_TRIALS = 500


def importances_table(
    trials: Sequence[FrozenTrial],
    direction: str = "maximize",
    evaluator: BaseImportanceEvaluator | None = None,
    min_trials: int = MIN_TRIALS,
    max_trials: int = MAX_TRIALS,
    seed: int = 0,
) -> pd.DataFrame:
    """Parameter importances over all trials, then within each optimizer's trials.

    Only completed trials are used. Within a scope, the parameters are those
    every trial of the scope sampled, with at least two different values (a
    parameter only some schedules have is left out, as Optuna does).

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
    DataFrame
        Columns ``optimizer`` (category; ``"all"`` for the whole study),
        ``param`` (str), ``importance`` (float64, summing to 1 in each scope,
        largest first) and ``n_trials`` (int64, completed trials it used).
    """
    evaluator = evaluator or FanovaImportanceEvaluator(seed=0)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    names = list(dict.fromkeys(t.params["optimizer"] for t in complete if "optimizer" in t.params))
    scopes = {ALL: complete} | {
        name: [t for t in complete if t.params.get("optimizer") == name] for name in names
    }
    rows = []
    rng = np.random.default_rng(seed)
    for scope, members in scopes.items():
        if len(members) < min_trials:
            continue
        if len(members) > max_trials:
            members = [members[i] for i in sorted(rng.choice(len(members), max_trials, False))]
        for param, value in _importances(members, direction, evaluator).items():
            rows.append((scope, param, float(value), len(members)))
    table = pd.DataFrame(rows, columns=["optimizer", "param", "importance", "n_trials"])
    table = table.astype({"param": "str", "importance": "float64", "n_trials": "int64"})
    table["optimizer"] = pd.Categorical(
        table["optimizer"], categories=[ALL, *categories(trials, "optimizer")]
    )
    return table


def _importances(
    trials: list[FrozenTrial], direction: str, evaluator: BaseImportanceEvaluator
) -> dict[str, float]:
    shared = set.intersection(*(set(t.params) for t in trials))
    varied = [p for p in trials[0].params if p in shared and len({t.params[p] for t in trials}) > 1]
    if not varied:
        return {}
    with _quiet():
        # A throw-away study holds just this scope's trials: Optuna takes a study only.
        study = optuna.create_study(direction=direction)
        study.add_trials(trials)
        return optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied)


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
