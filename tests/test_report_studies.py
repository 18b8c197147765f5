"""Studies the report tests read: one real tuning run, and hand-built edge cases.

No tests here; the other ``test_report*`` modules import these builders.
"""

from __future__ import annotations

import functools
import tempfile
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState, create_trial
from sklearn.datasets import load_wine

from tuner.estimators import LogisticClassifier
from tuner.objective import Objective
from tuner.space import SearchSpace
from tuner.study import run_study
from tuner.study.storage import default_storage, open_storage

DISTRIBUTIONS = {
    "optimizer": CategoricalDistribution(("sgd", "momentum", "adam")),
    "lr": FloatDistribution(1e-4, 1.0, log=True),
    "momentum": FloatDistribution(0.0, 0.99),
    "schedule": CategoricalDistribution(("constant", "cosine")),
    "t_max": IntDistribution(1, 10),
    "hidden_layer_sizes": CategoricalDistribution(("[32]", "[64, 32]")),
}


@functools.cache
def wine_study() -> optuna.Study:
    """A real 25-trial study (3 optimizers, 2 schedules), run once per session, kept in memory."""
    X, y = load_wine(return_X_y=True)
    space = SearchSpace(["sgd", "momentum", "adam"], ["constant", "cosine"], horizon=6)
    objective = Objective(LogisticClassifier(max_epochs=6, random_state=0), X, y, space, cv=3)
    with tempfile.TemporaryDirectory() as directory:
        run_study(
            objective, study_name="wine", n_trials=25, directory=directory, seed=0,
            progress=False, study_attrs={"estimator": "LogisticClassifier"},
        )  # fmt: skip
        memory = optuna.storages.InMemoryStorage()
        journal = open_storage(default_storage("wine", directory))
        optuna.copy_study(from_study_name="wine", from_storage=journal, to_storage=memory)
    return optuna.load_study(study_name="wine", storage=memory)


def make_trial(
    state: str = "complete",
    value: float | None = None,
    *,
    epochs: int = 3,
    scores: list[float] | None = None,
    end: str | None = None,
    attrs: dict[str, Any] | None = None,
    distributions: dict[str, BaseDistribution] | None = None,
    **params: Any,
) -> FrozenTrial:
    """A trial as the objective records it; ``params`` default to sgd + constant, lr 0.1.

    Each parameter's distribution is its entry in ``distributions``, else in
    :data:`DISTRIBUTIONS`.
    """
    params = {"optimizer": "sgd", "lr": 0.1, "schedule": "constant", **params}
    state_ = TrialState[state.upper()]
    started = state_ != TrialState.WAITING
    if scores is None and state_ in (TrialState.COMPLETE, TrialState.PRUNED):
        final = value if value is not None else 0.5
        scores = [final - 0.1 * (epochs - e) for e in range(1, epochs + 1)]
    user_attrs = dict(attrs or {})
    if scores is not None:
        lr = [params["lr"] * 0.5**e for e in range(len(scores))]
        loss = [1.0 / (e + 1) for e in range(len(scores))]
        user_attrs.setdefault("curves", {"loss": loss, "score": scores, "lr": lr})
        user_attrs.setdefault("epochs", len(scores))
        user_attrs.setdefault("fold_scores", [scores[-1] - 0.01, scores[-1] + 0.01])
    if end is not None:
        user_attrs["end"] = end
    # A failed trial failed by itself (its error recorded), unless marked interrupted.
    if state_ == TrialState.FAIL and not user_attrs.pop("interrupted", False):
        user_attrs.setdefault("error", "RuntimeError: the trial failed")
    return create_trial(
        state=state_,
        value=value if state_ == TrialState.COMPLETE else None,
        params=params if started else None,
        distributions={k: {**DISTRIBUTIONS, **(distributions or {})}[k] for k in params}
        if started
        else None,
        user_attrs=user_attrs,
        intermediate_values=dict(enumerate(scores or [], start=1)),
    )


def make_study(
    trials: list[FrozenTrial], direction: str = "maximize", **attrs: Any
) -> optuna.Study:
    """An in-memory study holding ``trials``, with study attributes ``attrs``."""
    study = optuna.create_study(study_name="hand-built", direction=direction)
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    study.add_trials(trials)
    return study
