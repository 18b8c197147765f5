"""The per-trial tables of a report: one row per trial, and learning curves per epoch.

Which trials appear: every trial that started (complete, pruned, failed,
running), in trial-number order. WAITING trials are queued (baselines, trials to run
again), not yet started, and never appear. Trials cut short by an interrupted or killed run
(:data:`tuner.study.Outcome.INTERRUPTED`) were run again under a new number and
do not count towards the budget; they are left out unless asked for, and then
carry the outcome ``"interrupted"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from ..study.outcomes import Outcome, error_of, is_baseline, outcome_of, score_of, worker_of
from ..study.storage import mask_url

__all__ = [
    "ALL",
    "OUTCOMES",
    "baseline_table",
    "categories",
    "curves_table",
    "outcome",
    "param_columns",
    "reported_trials",
    "trials_table",
]

#: The label of rows that pool a whole group ("all schedules", "all optimizers").
ALL = "all"
#: Why a trial ended, as the ``outcome`` column's categories.
OUTCOMES = ("complete", "pruned", "diverged", "failed", "running", "interrupted")
_STATES = ("complete", "pruned", "fail", "running")
# Columns every trials table has; a parameter of the same name gets a "param_" prefix.
_HEAD = ("number", "state", "value", "start", "duration_s", "worker")
_TAIL = ("epochs", "outcome", "end", "last_score", "fold_score_mean", "fold_score_std",
         "baseline")  # fmt: skip


def reported_trials(
    trials: Sequence[FrozenTrial], include_interrupted: bool = False
) -> list[FrozenTrial]:
    """The trials a report shows, in number order (see the module docstring)."""
    shown = [
        t for t in trials
        if t.state != TrialState.WAITING
        and (include_interrupted or outcome_of(t) is not Outcome.INTERRUPTED)
    ]  # fmt: skip
    return sorted(shown, key=lambda t: t.number)


def outcome(trial: FrozenTrial) -> str:
    """One of :data:`OUTCOMES`: how the trial ended (:func:`tuner.study.outcome_of`), or
    ``"running"``."""
    ended = outcome_of(trial)
    return trial.state.name.lower() if ended is None else ended.value


def _end(trial: FrozenTrial, kind: str, last_step: int | None) -> str:
    """Why the trial ended, in words: the objective's ``end`` or ``error`` when recorded."""
    recorded = trial.user_attrs.get("end")
    if kind == "failed":
        error = error_of(trial)
        text = f"failed: {error}" if error else "failed"
    elif kind in ("pruned", "diverged") and recorded:
        text = str(recorded)
    elif kind == "pruned" and last_step is not None:
        text = f"pruned at epoch {last_step}"
    elif kind == "running" and last_step is not None:
        text = f"running (epoch {last_step})"
    else:
        text = kind
    return mask_url(text)  # an error message may quote a storage URL


def _row(trial: FrozenTrial) -> dict[str, Any]:
    steps = trial.intermediate_values
    last_step = max(steps) if steps else None
    kind = outcome(trial)
    folds = pd.Series(trial.user_attrs.get("fold_scores", []), dtype=float)
    ended = trial.datetime_complete is not None and trial.datetime_start is not None
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "value": score_of(trial),
        "start": trial.datetime_start,
        "duration_s": (
            (trial.datetime_complete - trial.datetime_start).total_seconds() if ended else None
        ),
        "worker": ":".join((worker_of(trial) or "").split(":")[:2]) or None,  # host:pid
        "epochs": trial.user_attrs.get("epochs", last_step),
        "outcome": kind,
        "end": _end(trial, kind, last_step),
        "last_score": steps[last_step] if steps else None,
        "fold_score_mean": folds.mean(),
        "fold_score_std": folds.std(ddof=0),  # population std, as scikit-learn's std_test_score
        "baseline": is_baseline(trial),
    }


def trials_table(
    trials: Sequence[FrozenTrial],
    include_interrupted: bool = False,
    objectives: Sequence[str] = ("score",),
) -> pd.DataFrame:
    """One row per trial: state, value, timing, every sampled parameter, how it ended.

    Parameters
    ----------
    trials : sequence of FrozenTrial
        A study's trials (``study.get_trials()``).
    include_interrupted : bool, default=False
        Also show trials cut short by an interrupted run (see the module docstring).
    objectives : sequence of str, default=("score",)
        The names of the study's objectives; the first is the score (``value``),
        each other one gets a column of its own after ``value``.

    Returns
    -------
    DataFrame
        Columns, in order:

        - ``number`` (int64), ``state`` (category: complete, pruned, fail, running),
          ``value`` (float64: the score, the first objective; NaN unless
          complete), one float64 column per further objective (named as it is,
          ``fit_time`` for example), ``start`` (datetime64),
          ``duration_s`` (float64 seconds; NaN while running), ``worker``
          (category, ``"host:pid"``);
        - ``optimizer``, ``schedule`` (category), then every other sampled
          parameter in the order first sampled: float64, Int64 or category as
          its distribution says, missing where it did not apply (a parameter
          whose name clashes with another column is called ``param_<name>``);
        - ``epochs`` (Int64) run, ``outcome`` (category of :data:`OUTCOMES`),
          ``end`` (str: "complete", "pruned at epoch k", "diverged at epoch k:
          ...", "failed: ..."), ``last_score`` (float64: the last reported
          validation score, the one a pruned trial was stopped at),
          ``fold_score_mean`` and ``fold_score_std`` (float64) of the folds'
          last scores, ``baseline`` (bool: a configuration given to run first).
    """
    shown = reported_trials(trials, include_interrupted)
    rows = [_row(t) for t in shown]
    head = pd.DataFrame({c: [r[c] for r in rows] for c in _HEAD})
    tail = pd.DataFrame({c: [r[c] for r in rows] for c in _TAIL})
    head = head.astype({"number": "int64", "value": "float64", "duration_s": "float64"})
    for i, name in enumerate(objectives[1:], start=1):
        values = [t.values[i] if score_of(t) is not None else np.nan for t in shown]
        head.insert(head.columns.get_loc("value") + i, name, np.asarray(values, dtype=float))
    head["state"] = pd.Categorical(head["state"], categories=_STATES)
    head["start"] = pd.to_datetime(head["start"]).astype("datetime64[us]")  # Python datetimes
    head["worker"] = head["worker"].astype("category")
    tail = tail.astype(
        {"epochs": "Int64", "end": "str", "last_score": "float64", "baseline": "bool"}
    )
    tail["outcome"] = pd.Categorical(tail["outcome"], categories=OUTCOMES)
    params = _params_table(shown).rename(
        columns=lambda c: f"param_{c}" if c in _HEAD or c in _TAIL else c
    )
    return pd.concat([head, params, tail], axis=1)


def param_columns(trials: pd.DataFrame) -> list[str]:
    """The parameter columns of a trials table, in table order."""
    return [c for c in trials.columns if c not in _HEAD and c not in _TAIL]


def _params_table(trials: Sequence[FrozenTrial]) -> pd.DataFrame:
    """Sampled parameters, one column each, typed by their distributions."""
    distributions: dict[str, list[optuna.distributions.BaseDistribution]] = {}
    for name in ("optimizer", "schedule"):
        distributions[name] = []  # first, even in a study that never sampled them
    for t in trials:
        for name, dist in t.distributions.items():
            distributions.setdefault(name, []).append(dist)
    columns = {
        name: _typed([t.params.get(name) for t in trials], dists)
        for name, dists in distributions.items()
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(len(trials)))


def categories(trials: Sequence[FrozenTrial], name: str) -> list[Any]:
    """Every choice of a categorical parameter, in the space's order, sampled or not.

    Reports use these as the categories of ``optimizer`` and ``schedule``, so
    each name keeps its place (and its colour in plots) from table to table.
    """
    return _choices([t.distributions[name] for t in trials if name in t.distributions])


def _choices(dists: Sequence[optuna.distributions.BaseDistribution]) -> list[Any]:
    return list(dict.fromkeys(c for d in dists for c in getattr(d, "choices", ()) if c is not None))


def _typed(values: list[Any], dists: list[optuna.distributions.BaseDistribution]) -> pd.Series:
    kinds = {type(d) for d in dists}
    if kinds == {IntDistribution}:
        return pd.Series(values, dtype="Int64")
    if kinds and kinds <= {IntDistribution, FloatDistribution}:
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if kinds <= {CategoricalDistribution}:  # also a column no trial sampled
        return pd.Series(pd.Categorical(values, categories=_choices(dists)))
    return pd.Series(values, dtype=object)  # a name searched as different kinds over time


def curves_table(trials: Sequence[FrozenTrial], include_interrupted: bool = False) -> pd.DataFrame:
    """Learning curves in long format: one row per trial and epoch.

    Columns: ``number``, ``epoch`` (int64, from 1), ``loss`` (mean training
    loss over the folds), ``score`` (mean validation score), ``lr`` (learning
    rate), all float64. Trials without recorded ``curves`` (still running, or
    not run by :class:`tuner.objective.Objective`) contribute their reported
    validation scores, with ``loss`` and ``lr`` missing.
    """
    parts = [_curve(t) for t in reported_trials(trials, include_interrupted)]
    columns = {"number": "int64", "epoch": "int64", "loss": "float64", "score": "float64",
               "lr": "float64"}  # fmt: skip
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})
    return pd.concat(parts, ignore_index=True).astype(columns)


def _curve(trial: FrozenTrial) -> pd.DataFrame:
    curves = trial.user_attrs.get("curves")
    if curves:
        score = list(curves.get("score", []))
        n = len(score)

        def column(name: str) -> list[float]:
            # Pad or cut to the score's length: the three lists are recorded together.
            values = list(curves.get(name, []))[:n]
            return values + [np.nan] * (n - len(values))

        loss, lr = column("loss"), column("lr")
        epochs = list(range(1, n + 1))
    else:
        steps = sorted(trial.intermediate_values)
        epochs, score = steps, [trial.intermediate_values[s] for s in steps]
        loss = lr = [np.nan] * len(steps)
    return pd.DataFrame(
        {"number": trial.number, "epoch": epochs, "loss": loss, "score": score, "lr": lr}
    )


def baseline_table(trials: pd.DataFrame, maximize: bool) -> pd.DataFrame:
    """Each baseline trial against the best tuned trial of its optimizer.

    Columns: ``number``, ``optimizer``, ``configuration`` (its parameters),
    ``outcome``, ``value`` (its score, NaN unless complete), ``best_tuned``
    (the best completed non-baseline trial of the same optimizer) and ``gain``
    (how much better that is, in the study's direction; NaN without both).
    Empty without baselines.
    """
    columns = ["number", "optimizer", "configuration", "outcome", "value", "best_tuned", "gain"]
    if "baseline" not in trials or not trials["baseline"].any():
        return pd.DataFrame(columns=columns)
    params = [c for c in param_columns(trials) if c != "optimizer"]
    done = trials[(trials["outcome"] == "complete") & ~trials["baseline"]]
    best = done.groupby("optimizer", observed=True)["value"].agg("max" if maximize else "min")
    rows = []
    for _, row in trials[trials["baseline"]].iterrows():
        tuned = best.get(row["optimizer"], float("nan"))
        configuration = ", ".join(
            f"{c}={row[c]:.4g}" if isinstance(row[c], float) else f"{c}={row[c]}"
            for c in params if not pd.isna(row[c])
        )  # fmt: skip
        gain = (tuned - row["value"]) * (1 if maximize else -1)
        rows.append([row["number"], row["optimizer"], configuration, row["outcome"],
                     row["value"], tuned, gain])  # fmt: skip
    return pd.DataFrame(rows, columns=columns).astype(
        {"number": "int64", "value": "float64", "best_tuned": "float64", "gain": "float64"}
    )
