"""Equal allocation: exact shares per optimizer, and each optimizer searched on its own."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import TrialState
from study_objectives import BEST_LOG_LR, OptimizerObjective

from tuner.study import create_study, run_study
from tuner.study.allocation import (
    AllocatedSampler,
    EqualAllocation,
    assign,
    assigned,
    check_baselines,
)
from tuner.study.outcomes import (
    Outcome,
    counts_towards_budget,
    is_baseline,
    outcome_of,
    record_worker,
)

CHOICES = tuple(BEST_LOG_LR)


def shares(study: optuna.Study) -> Counter:
    return Counter(t.params["optimizer"] for t in study.trials if counts_towards_budget(t))


@pytest.mark.parametrize(("n_trials", "expected"), [(10, [4, 3, 3]), (2, [1, 1, 0]), (9, [3] * 3)])
def test_quotas_give_the_remainder_to_the_first_choices(n_trials, expected):
    assert list(EqualAllocation(CHOICES).quotas(n_trials).values()) == expected


def test_bad_choices_are_refused():
    for choices in ((), ("adam", "adam")):
        with pytest.raises(ValueError, match="distinct choices"):
            EqualAllocation(choices)


def test_next_choices_fill_the_shares_and_skip_interrupted_trials():
    allocation = EqualAllocation(CHOICES)
    trials = [
        optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs=assign({}, "sgd")),
        optuna.trial.create_trial(state=TrialState.WAITING, user_attrs=assign({}, "sgd")),
        optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs=assign({}, "momentum")),
        # Interrupted (failed without an error of its own): its share is run again.
        optuna.trial.create_trial(state=TrialState.FAIL, user_attrs=assign({}, "adam")),
    ]
    assert allocation.next_choices(trials, 7, n=10) == ["adam", "sgd", "momentum", "adam"]


@pytest.mark.parametrize("storage", ["journal", "sqlite"])
def test_a_run_gives_each_optimizer_its_exact_share(tmp_path, storage):
    url = str(tmp_path / "j.log") if storage == "journal" else f"sqlite:///{tmp_path}/s.db"
    study = run_study(
        OptimizerObjective(), study_name="equal", n_trials=11, storage=url, n_jobs=2, seed=0,
        allocation=EqualAllocation(CHOICES), progress=False,
    )  # fmt: skip
    assert shares(study) == {"sgd": 4, "momentum": 4, "adam": 3}
    assert study.user_attrs["allocation"] == "equal"
    # Each trial kept the optimizer it was given.
    assert all(assigned(t) == t.user_attrs["allocated"] for t in study.trials)
    # Extending the budget keeps the split exact.
    study = run_study(
        OptimizerObjective(), study_name="equal", n_trials=15, storage=url, seed=0,
        allocation=EqualAllocation(CHOICES), progress=False,
    )  # fmt: skip
    assert shares(study) == {"sgd": 5, "momentum": 5, "adam": 5}


def test_a_trial_orphaned_by_a_killed_worker_is_given_to_its_optimizer_again(tmp_path):
    url = str(tmp_path / "j.log")
    study = create_study("orphan", url)
    code = "from tuner.study.locks import worker_id; print(worker_id())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    study.enqueue_trial({}, user_attrs=assign({}, "adam"))
    record_worker(study.ask(), dead, None)  # its worker died before it suggested anything
    study = run_study(
        OptimizerObjective(), study_name="orphan", n_trials=6, storage=url,
        allocation=EqualAllocation(CHOICES), progress=False,
    )  # fmt: skip
    assert shares(study) == {"sgd": 2, "momentum": 2, "adam": 2}
    assert outcome_of(study.trials[0]) is Outcome.INTERRUPTED


def test_a_lowered_budget_starts_no_trial_beyond_the_shares(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    kwargs = dict(study_name="lower", storage=url, allocation=EqualAllocation(CHOICES),
                  progress=False)  # fmt: skip
    run_study(OptimizerObjective(), n_trials=6, **kwargs)
    study = run_study(OptimizerObjective(), n_trials=4, **kwargs)
    assert shares(study) == {"sgd": 2, "momentum": 2, "adam": 2}


def test_an_adaptive_study_is_not_resumed_as_an_equal_one(tmp_path):
    url = str(tmp_path / "j.log")
    run_study(OptimizerObjective(), study_name="mixed", n_trials=2, storage=url,
              study_attrs={"allocation": "adaptive"}, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="allocation 'adaptive', not 'equal'"):
        run_study(OptimizerObjective(), study_name="mixed", n_trials=4, storage=url,
                  allocation=EqualAllocation(CHOICES), progress=False)  # fmt: skip


class Spy(BaseSampler):
    """Records which trials each call could see; samples at random."""

    def __init__(self, seen: list, name: str):
        self.seen, self.name, self.random = seen, name, RandomSampler(seed=0)

    def infer_relative_search_space(self, study, trial):
        self.seen.append((self.name, {t.params.get("optimizer") for t in study.get_trials()}))
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        seen = {t.params.get("optimizer") for t in study._get_trials(False, None, True)}
        self.seen.append((self.name, seen))
        return self.random.sample_independent(study, trial, param_name, param_distribution)


def test_each_optimizer_is_searched_by_its_own_sampler_seeing_its_own_trials():
    seen: list = []
    names = iter([*CHOICES, "unassigned"])
    sampler = AllocatedSampler(lambda seed: Spy(seen, next(names)), EqualAllocation(CHOICES))
    study = optuna.create_study(sampler=sampler, direction="maximize")
    for choice in [*CHOICES, *CHOICES]:
        study.enqueue_trial({}, user_attrs=assign({}, choice))  # as a run creates its trials
        trial = study.ask()
        assert trial.suggest_categorical("optimizer", list(CHOICES)) == choice
        trial.suggest_float("lr", 1e-5, 1.0, log=True)
        study.tell(trial, 0.0)
    # The optimizer parameter itself is never sampled; lr always by the trial's own sampler,
    # which sees no trial of another optimizer (the running trial shows no optimizer yet).
    assert seen and all(name in CHOICES for name, _ in seen)
    assert all(visible <= {name, None} for name, visible in seen)
    # A trial given no optimizer (enqueued by hand) is sampled over the whole study.
    trial = study.ask()
    trial.suggest_categorical("optimizer", list(CHOICES))
    assert seen[-1][0] == "unassigned" and set(CHOICES) <= seen[-1][1]


def test_a_choice_outside_the_space_is_an_error():
    sampler = AllocatedSampler(lambda seed: RandomSampler(seed), EqualAllocation(("rmsprop",)))
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({}, user_attrs=assign({}, "rmsprop"))
    trial = study.ask()
    with pytest.raises(ValueError, match="given optimizer 'rmsprop'"):
        trial.suggest_categorical("optimizer", list(CHOICES))


def test_baselines_beyond_their_optimizers_share_are_refused_before_any_trial(tmp_path):
    url = str(tmp_path / "j.log")
    baselines = [{"optimizer": "adam", "lr": lr} for lr in (1e-3, 1e-2, 1e-1)]
    allocation = EqualAllocation(CHOICES)  # adam is last: 6 trials give it 2
    with pytest.raises(ValueError, match=r"3 baselines use optimizer 'adam', more than its equal "
                       r"share of 2 of the 6 trials .* a budget of 9 or more"):  # fmt: skip
        run_study(OptimizerObjective(), study_name="b", n_trials=6, storage=url,
                  allocation=allocation, baselines=baselines, progress=False)  # fmt: skip
    assert not Path(url).exists()
    check_baselines(baselines, 9, allocation)  # 3 each: the baselines fit
    check_baselines(baselines, 3, None)  # the sampler chooses: any three trials
    with pytest.raises(ValueError, match="3 baselines do not fit a budget of 2 trials"):
        run_study(OptimizerObjective(), study_name="b", n_trials=2, storage=url,
                  baselines=baselines, progress=False)  # fmt: skip


def test_baselines_run_first_once_and_count_in_their_optimizers_share(tmp_path):
    url = str(tmp_path / "j.log")
    baselines = [{"optimizer": "adam", "lr": 1e-3}, {"optimizer": "sgd", "lr": 0.5}]
    kwargs = dict(study_name="base", storage=url, allocation=EqualAllocation(CHOICES),
                  baselines=baselines, progress=False)  # fmt: skip
    study = run_study(OptimizerObjective(), n_trials=6, **kwargs)
    assert [t.params for t in study.trials[:2]] == baselines
    assert [is_baseline(t) for t in study.trials] == [True, True] + [False] * 4
    assert shares(study) == {"sgd": 2, "momentum": 2, "adam": 2}
    study = run_study(OptimizerObjective(), n_trials=9, **kwargs)  # resumed: not queued again
    assert sum(is_baseline(t) for t in study.trials) == 2 and len(study.trials) == 9
