"""Studies whose verdict is known, for the calibration test and benchmark.

``"equal"``: SGD, Momentum and Nesterov with ``momentum = 0`` fixed are one
algorithm (plain SGD), searched over the same learning rates: no optimizer
should be called the leader. ``"worse"``: SGD with its learning rate fixed
far too small against Adam with its learning rate searched: Adam should be
the decided leader. Both score by log-loss: a logistic model's accuracy
depends only on the direction of its weights, which even tiny steps find.
"""

from __future__ import annotations

import tempfile

from sklearn.datasets import make_classification

from tuner import LogisticClassifier, SearchSpace
from tuner.objective import Objective
from tuner.report import Report, Verdict
from tuner.study import run_study
from tuner.study.allocation import EqualAllocation
from tuner.study.pruning import fair_pruner_spec
from tuner.study.samplers import DEFAULT_PRUNER

SPACES = {
    "equal": SearchSpace(
        ["sgd", "momentum", "nesterov"], ["constant"],
        params={"momentum": 0.0, "lr": {"low": 1e-3, "high": 1.0, "log": True}},
    ),
    "worse": SearchSpace(
        ["sgd", "adam"], ["constant"],
        params={"sgd.lr": 1e-6, "adam.lr": {"low": 1e-4, "high": 1e-1, "log": True}},
    ),
}  # fmt: skip
#: The leader each case should end with (None: undecided).
TRUTH = {"equal": None, "worse": "adam"}


def calibration_verdict(case: str, seed: int, per_optimizer: int = 6) -> Verdict:
    """Run the small study of ``case`` with ``seed`` (data and sampler) and return its verdict."""
    space = SPACES[case]
    X, y = make_classification(
        n_samples=300, n_features=10, n_informative=5, random_state=seed
    )
    estimator = LogisticClassifier(max_epochs=12, batch_size=32, random_state=0)
    objective = Objective(
        estimator, X, y, space, cv=3, scoring="neg_log_loss", random_state=seed
    )
    with tempfile.TemporaryDirectory() as tmp:
        study = run_study(
            objective, study_name=f"calibration-{case}", storage=f"{tmp}/journal.log",
            n_trials=per_optimizer * len(space.optimizers), seed=seed, progress=False,
            pruner=fair_pruner_spec({"name": DEFAULT_PRUNER}, 1, estimator.max_epochs),
            allocation=EqualAllocation(tuple(space.optimizers)),
        )  # fmt: skip
        return Report.from_study(study).verdict
