"""Final fits on the held-out test split, and the saved best model."""

from __future__ import annotations

import dataclasses

import joblib
import numpy as np
import optuna
import pytest
from sklearn.datasets import load_wine, make_regression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from test_cli import study_file

from tuner import LogisticClassifier, MLPRegressor, SearchSpace
from tuner.cli import main
from tuner.final import FinalFit, Refit, best_per_optimizer, final_fits, missing_fits
from tuner.final import run_final_fits as run_fits
from tuner.objective import hold_out_test
from tuner.study.storage import default_storage, open_storage


def refit_of_wine(**kwargs) -> Refit:
    X, y = load_wine(return_X_y=True)
    estimator = LogisticClassifier(max_epochs=5, batch_size=16, random_state=0)
    X_train, X_test, y_train, y_test = hold_out_test(estimator, X, y, 0.25, 0)
    space = SearchSpace(["sgd", "adam"], ["constant"], params={"lr": {"low": 1e-3, "high": 0.3}})
    return Refit(estimator, space, X_train, y_train, X_test, y_test, **kwargs)


def searched_study(refit: Refit, n: int = 6) -> optuna.Study:
    """A study whose trials score configurations by their (fake) parameter ``lr``."""
    study = optuna.create_study(direction="maximize")
    for i in range(n):
        trial = study.ask()
        refit.space.suggest(trial)
        study.tell(trial, trial.params["lr"] + (0.5 if i == 0 else 0.0))
    return study


def test_the_test_split_is_stratified_and_repeatable():
    X, y = load_wine(return_X_y=True)
    est = LogisticClassifier()
    parts = hold_out_test(est, X, y, 0.25, 3)
    again = hold_out_test(est, X, y, 0.25, 3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    y_test = parts[3]
    assert len(y_test) == 45 and set(np.unique(y_test)) == set(np.unique(y))
    assert hold_out_test(est, X, y, 0.0, 3)[1] is None


def test_each_optimizer_is_refit_with_every_seed_once_and_recorded():
    refit = refit_of_wine()
    study = searched_study(refit)
    best = best_per_optimizer(study)
    assert set(best) <= {"sgd", "adam"} and best
    ran = run_fits(study, refit, seeds=3)
    assert len(ran) == 3 * len(best)
    recorded = final_fits(study.user_attrs)
    assert sorted(recorded, key=lambda f: (f.optimizer, f.seed)) == recorded
    assert {(f.optimizer, f.seed, f.trial) for f in recorded} == {
        (name, seed, t.number) for name, t in best.items() for seed in range(3)
    }
    assert all(0 <= f.score <= 1 and f.error is None for f in recorded)
    # The seed is the estimator's random_state, the rest the trial's configuration.
    model = refit.model(best[recorded[0].optimizer].params, seed=2)
    assert model[-1].random_state == 2 and model[-1].max_epochs == 5
    assert run_fits(study, refit, seeds=3) == []  # nothing left to do
    assert len(run_fits(study, refit, seeds=4)) == len(best)  # one more seed each


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_seeds_of_a_configuration_train_together_as_each_would_alone():
    refit = refit_of_wine()
    study = searched_study(refit)
    params = study.best_trial.params
    together = refit.fit_seeds(params, [0, 1, 2])
    for seed, model in zip([0, 1, 2], together):
        alone = refit.model(params, seed).fit(refit.X_train, refit.y_train)
        assert model[-1].random_state == seed
        np.testing.assert_allclose(model[-1].coef_, alone[-1].coef_, rtol=1e-12, atol=1e-12)
        assert refit.score(model) == pytest.approx(refit.score(alone), abs=1e-12)


class Interrupting(Refit):
    """Stops (as Ctrl-C would) after ``after`` configurations; counts the fits it ran."""

    def __init__(self, *args, after: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.after, self.calls = after, []

    def __call__(self, optimizer, trial, seeds) -> list[FinalFit]:
        if len({name for name, _ in self.calls}) == self.after:
            raise KeyboardInterrupt
        self.calls.extend((optimizer, seed) for seed in seeds)
        return super().__call__(optimizer, trial, seeds)


def test_a_run_stopped_among_its_final_fits_redoes_only_the_missing_ones():
    base = refit_of_wine()
    args = (base.estimator, base.space, base.X_train, base.y_train, base.X_test, base.y_test)
    study = searched_study(base)
    assert len(best_per_optimizer(study)) > 1
    first = Interrupting(*args, after=1)
    with pytest.raises(KeyboardInterrupt):
        run_fits(study, first, seeds=3)
    assert len(final_fits(study.user_attrs)) == 3  # one configuration's three seeds
    second = Interrupting(*args, after=100)
    run_fits(study, second, seeds=3)
    assert not set(first.calls) & set(second.calls)
    assert len(final_fits(study.user_attrs)) == 3 * len(best_per_optimizer(study))
    assert missing_fits(study, 3) == []


def test_a_fit_of_a_configuration_no_longer_best_is_done_again():
    refit = refit_of_wine()
    study = searched_study(refit)
    run_fits(study, refit, seeds=2)
    name, old = next(iter(best_per_optimizer(study).items()))
    study.enqueue_trial({"optimizer": name})
    trial = study.ask()
    refit.space.suggest(trial)
    study.tell(trial, 10.0)  # a new best for that optimizer
    todo = missing_fits(study, 2)
    assert [(n, t.number, s) for n, t, s in todo] == [(name, trial.number, s) for s in (0, 1)]
    assert old.number != trial.number


def test_a_diverging_final_fit_is_recorded_with_its_reason():
    X, y = make_regression(200, 5, random_state=0)
    space = SearchSpace(["sgd"], ["constant"], params={"lr": 1e3})  # the loss overflows
    refit = Refit(MLPRegressor(max_epochs=20), space, X, y, X, y)
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    space.suggest(trial)
    study.tell(trial, 1.0)
    (fit,) = refit("sgd", study.best_trial, [0])
    assert np.isnan(fit.score) and fit.error.startswith("DivergenceError: ")
    assert final_fits({fit.key: dataclasses.asdict(fit), "other": 1}) == [fit]


def test_run_saves_the_best_model_which_predicts_raw_rows(tmp_path, capsys):
    out = tmp_path / "reports"
    path = study_file(tmp_path, name="best", n_trials=4)
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    model = joblib.load(out / "best" / "best_model.joblib")
    assert isinstance(model, Pipeline)  # the study scales its data: the scaler is inside
    X, y = load_wine(return_X_y=True)
    _, X_test, _, y_test = hold_out_test(model[-1], X, y, 0.2, 0)
    score = accuracy_score(y_test, model.predict(X_test))
    assert f"test score {score:.4f}" in printed
    study = optuna.load_study(
        study_name="best", storage=open_storage(default_storage("best", out))
    )
    fits = final_fits(study.user_attrs)
    assert len(fits) == 5 * len(best_per_optimizer(study))  # [evaluate] seeds = 5 by default
