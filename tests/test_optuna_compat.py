"""What tuner.optuna_compat relies on in Optuna: these fail loudly when Optuna changes it."""

from __future__ import annotations

import inspect

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from tuner.study.optuna_compat import RUNNING_TRIAL_OPS, StudyView, trial_id_of


def test_study_lists_trials_through_the_private_get_trials_the_view_answers():
    params = list(inspect.signature(optuna.Study._get_trials).parameters)
    assert params == ["self", "deepcopy", "states", "use_cache"]


def two_part_study() -> optuna.Study:
    """Part "a" scores best near x = 0.9; part "b", with higher scores, near x = 0.1."""
    study = optuna.create_study(direction="maximize")
    dist = {"x": FloatDistribution(0.0, 1.0)}
    rng = np.random.default_rng(0)
    for part, best, offset in (("a", 0.9, 0.0), ("b", 0.1, 10.0)):
        for x in rng.uniform(0, 1, 30):
            value = offset - (x - best) ** 2
            study.add_trial(create_trial(params={"x": x}, distributions=dist, value=value,
                                         user_attrs={"part": part}))  # fmt: skip
    return study


@pytest.mark.parametrize("multivariate", [False, True], ids=["independent", "relative"])
def test_tpe_searches_only_the_trials_a_view_keeps(multivariate):
    study = two_part_study()
    view = StudyView(study, lambda t: t.user_attrs.get("part") == "a")
    assert len(view.get_trials()) == len(view.trials) == 30
    assert view.best_trial.user_attrs["part"] == "a"
    s = optuna.samplers.TPESampler(seed=0, n_startup_trials=5, multivariate=multivariate)
    dist = FloatDistribution(0.0, 1.0)
    draws = []
    for _ in range(20):
        trial = study.ask()  # the new trial is in the study, not in the view: fine for samplers
        frozen = study._storage.get_trial(trial._trial_id)
        space = s.infer_relative_search_space(view, frozen)
        relative = s.sample_relative(view, frozen, space) if space else {}
        draws.append(relative.get("x", s.sample_independent(view, frozen, "x", dist)))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    # Seeing part "b" as well, TPE would go to x = 0.1, where its far higher scores are.
    assert np.median(draws) > 0.6


def test_a_view_of_nothing_has_no_best_trial():
    study = two_part_study()
    with pytest.raises(ValueError, match="no trial"):
        StudyView(study, lambda t: False).best_trial  # noqa: B018
    assert StudyView(study, lambda t: True).study_name == study.study_name


def test_trial_id_of_is_the_id_the_storage_knows_the_trial_by(tmp_path):
    # Heartbeats are recorded by this id (RDBStorage.record_heartbeat).
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    study = optuna.create_study(storage=storage)
    study.ask()
    trial = study.ask()
    assert storage.get_trial(trial_id_of(trial)).number == trial.number == 1


def test_running_trial_ops_are_the_journal_records_of_a_trials_progress():
    # The numbers of Optuna's journal file format (its private JournalOperation).
    from optuna.storages.journal._storage import JournalOperation as Op

    assert RUNNING_TRIAL_OPS == {Op.SET_TRIAL_PARAM, Op.SET_TRIAL_INTERMEDIATE_VALUE,
                                 Op.SET_TRIAL_USER_ATTR, Op.SET_TRIAL_SYSTEM_ATTR}  # fmt: skip
