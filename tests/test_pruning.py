"""Fair pruning: a trial is compared only with its own optimizer's trials, after a warm-up."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import create_trial

from tuner.study.pruning import FairPruner, fair_pruner_spec
from tuner.study.samplers import make_pruner

DIST = {"optimizer": CategoricalDistribution(["sgd", "adam"])}


def study_with(pruner) -> optuna.Study:
    """Adam trials score 0.9 from step 1 on; SGD trials start at 0.2 and end at 0.95."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for name, curve in (("adam", [0.9] * 10), ("sgd", [0.2 + 0.075 * s for s in range(10)])):
        for _ in range(5):
            study.add_trial(create_trial(
                params={"optimizer": name}, distributions=DIST, value=curve[-1],
                intermediate_values=dict(enumerate(curve, start=1)),
            ))  # fmt: skip
    return study


def _prune_at(study, trial, step):
    """Whether an SGD trial just above SGD's median (far below Adam's) is pruned at ``step``."""
    sgd_median = 0.2 + 0.075 * (step - 1)
    trial.report(sgd_median + 0.01, step)
    return trial.should_prune()


@pytest.fixture
def sgd_trial():
    def make(pruner):
        study = study_with(pruner)
        study.enqueue_trial({"optimizer": "sgd"})
        trial = study.ask()
        trial.suggest_categorical("optimizer", ["sgd", "adam"])
        return study, trial

    return make


def test_a_slow_starter_is_judged_against_its_own_optimizer(sgd_trial):
    # Against every trial, the median pruner cuts an SGD trial that leads SGD's trials.
    study, trial = sgd_trial(optuna.pruners.MedianPruner())
    assert _prune_at(study, trial, 3)
    study, trial = sgd_trial(make_pruner("median", group_by=["optimizer"]))
    assert not _prune_at(study, trial, 3)
    # Below its own optimizer's median, it is pruned as before.
    study, trial = sgd_trial(make_pruner("median", group_by=["optimizer"]))
    trial.report(0.1, 3)
    assert trial.should_prune()


def test_nothing_is_pruned_before_the_warm_up(sgd_trial):
    pruner = make_pruner("median", group_by=["optimizer"], n_warmup_steps=4)
    _, trial = sgd_trial(pruner)
    trial.report(0.0, 3)
    assert not trial.should_prune()
    trial.report(0.0, 4)
    assert trial.should_prune()


def test_make_pruner_wraps_only_when_asked_and_refuses_hyperband_groups():
    assert isinstance(make_pruner("median"), optuna.pruners.MedianPruner)
    assert isinstance(make_pruner("none", group_by=["optimizer"]), optuna.pruners.NopPruner)
    assert isinstance(make_pruner("median", n_warmup_steps=3), FairPruner)
    with pytest.raises(ValueError, match=r"hyperband.*own optimizer"):
        make_pruner("hyperband", group_by=["optimizer"])
    with pytest.raises(ValueError, match="n_warmup_steps must be >= 0"):
        make_pruner("median", group_by=["optimizer"], n_warmup_steps=-1)


def test_fair_spec_groups_by_schedule_only_when_several_are_compared():
    spec = fair_pruner_spec({"name": "median"}, n_schedules=2, max_epochs=30)
    assert spec == {"name": "median", "n_warmup_steps": 7, "group_by": ["optimizer", "schedule"]}
    spec = fair_pruner_spec({"name": "median", "n_warmup_steps": 0}, 1, 30)
    assert spec == {"name": "median", "n_warmup_steps": 0, "group_by": ["optimizer"]}
    assert fair_pruner_spec({"name": "none"}, 3, 30) == {"name": "none"}
    assert fair_pruner_spec({"name": "median"}, 1, None)["n_warmup_steps"] == 0

