"""The objective and OptimizerSearchCV on real estimators and data."""

from __future__ import annotations

import logging
import pickle
import tempfile

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine, make_regression
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import optim
from tuner.estimators import LinearRegressor, LogisticClassifier, MLPClassifier, MLPRegressor
from tuner.objective import Objective, _fold_scorer
from tuner.search import OptimizerSearchCV
from tuner.space import SearchSpace
from tuner.study import run_study


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


def small_objective(X, y, **space_kwargs):
    est = LogisticClassifier(max_epochs=8, batch_size=32, random_state=0)
    space = SearchSpace(
        **{"optimizers": ["sgd", "adam"], "schedules": ["constant"], **space_kwargs}
    )
    return Objective(est, X, y, space, cv=3, random_state=0)


def test_two_workers_exact_count_and_best_params_refit_to_the_recorded_score(tmp_path, wine):
    X, y = wine
    objective = small_objective(X, y)
    study = run_study(
        objective,
        study_name="refit",
        n_trials=8,
        n_jobs=2,
        seed=0,
        directory=tmp_path,
        pruner="none",
    )
    assert len(study.trials) == 8
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert sorted(t.number for t in study.trials) == list(range(8))
    best = study.best_trial
    kwargs = objective.space.build(best.params)
    scores = []
    for X_tr, y_tr, X_te, y_te, _, _ in objective.fold_data():
        est = clone(objective.estimator).set_params(**kwargs).fit(X_tr, y_tr)
        scores.append(est.score(X_te, y_te))
    assert np.mean(scores) == best.value
    assert best.user_attrs["fold_scores"] == scores
    curves = best.user_attrs["curves"]
    assert len(curves["score"]) == len(curves["loss"]) == best.user_attrs["epochs"]


def test_pruning_stops_folds_early(tmp_path, wine):
    X, y = wine
    study = run_study(
        small_objective(X, y),
        study_name="prune",
        n_trials=25,
        seed=1,
        directory=tmp_path,
        pruner={"name": "median", "n_startup_trials": 3, "n_warmup_steps": 1},
    )
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned
    for t in pruned:
        assert t.user_attrs["epochs"] < 8 and t.user_attrs["end"].startswith("pruned at epoch")


def test_a_study_where_most_trials_diverge_still_completes(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    # On a target of this scale the squared loss of an unstable rate (lr >~ 0.5)
    # explodes within an epoch, while small rates train.
    y = y * 1e100
    space = SearchSpace(["sgd"], ["constant"], params={"lr": {"low": 1e-4, "high": 1e4}})
    objective = Objective(LinearRegressor(max_epochs=50, tol=0), X, y, space, cv=3)
    study = run_study(
        objective,
        study_name="diverge",
        n_trials=10,
        seed=0,
        directory=tmp_path,
        pruner="none",
        sampler="random",
    )
    assert len(study.trials) == 10
    diverged = [t for t in study.trials if "diverged at epoch" in t.user_attrs.get("end", "")]
    assert diverged and all(t.state == TrialState.PRUNED for t in diverged)
    assert any(t.state == TrialState.COMPLETE for t in study.trials)


class SignSGD(optim.Optimizer):
    """theta <- theta - lr * sign(g), a user's optimizer."""

    search_space = (optim.Hyperparameter("lr", "float", 1e-4, 1e-1, log=True),)

    def __init__(self, lr=0.01, clip_norm=None):
        self.lr, self.clip_norm = lr, clip_norm
        self._validate()

    def _kernel(self, p, g, bufs, tmp, coef):
        np.sign(g, out=tmp)
        tmp *= coef[0]
        p -= tmp


def test_user_registered_optimizer_end_to_end(tmp_path, wine, monkeypatch):
    from optim import registry

    monkeypatch.setattr(registry._OPTIMIZERS, "classes", dict(registry._OPTIMIZERS.classes))
    optim.register_optimizer("signsgd", SignSGD)
    X, y = wine
    study = run_study(
        small_objective(X, y, optimizers=["signsgd", "adam"]),
        study_name="user",
        n_trials=6,
        n_jobs=2,
        seed=0,
        directory=tmp_path,
        pruner="none",
    )
    used = {t.params["optimizer"] for t in study.trials}
    assert "signsgd" in used and all(t.state == TrialState.COMPLETE for t in study.trials)


def test_optimizer_search_cv_behaves_like_a_scikit_learn_search():
    X, y = load_breast_cancer(return_X_y=True)
    search = OptimizerSearchCV(
        LogisticClassifier(max_epochs=5, random_state=0), n_trials=6, cv=3, random_state=0
    )
    assert clone(search).get_params()["estimator__max_epochs"] == 5
    search.fit(StandardScaler().fit_transform(X), y)
    results = pd.DataFrame(search.cv_results_)
    for column in (
        "params",
        "param_optimizer",
        "param_lr",
        "mean_test_score",
        "std_test_score",
        "split0_test_score",
        "split2_test_score",
        "rank_test_score",
        "mean_fit_time",
    ):
        assert column in results
    assert len(results) == search.n_trials_ == 6
    best = results.loc[results["rank_test_score"] == 1].iloc[0]
    assert best["mean_test_score"] == pytest.approx(search.best_score_)
    assert best["params"] == search.best_params_
    assert search.predict(X[:5]).shape == (5,)
    assert isinstance(search.study_, optuna.Study) and len(search.study_.trials) == 6
    assert list(search.classes_) == [0, 1]


def test_cv_results_time_every_fold_as_scikit_learn_searches_do():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    search = OptimizerSearchCV(
        LogisticClassifier(max_epochs=3, random_state=0),
        n_trials=3,
        cv=3,
        random_state=0,
        pruner="none",
    ).fit(X, y)
    grid = GridSearchCV(LogisticClassifier(max_epochs=3), {"alpha": [1e-4]}, cv=3).fit(X, y)
    timings = {key for key in grid.cv_results_ if key.endswith("_time")}
    assert timings == {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
    assert timings <= set(search.cv_results_)
    for i, trial in enumerate(search.study_.trials):
        for kind in ("fit", "score"):
            folds = trial.user_attrs[f"fold_{kind}_times"]
            assert len(folds) == 3 and all(seconds > 0 for seconds in folds)
            assert search.cv_results_[f"mean_{kind}_time"][i] == pytest.approx(np.mean(folds))
            assert search.cv_results_[f"std_{kind}_time"][i] == pytest.approx(np.std(folds))


def test_a_diverged_trial_records_its_fold_times():
    X, y = load_diabetes(return_X_y=True)
    space = SearchSpace(["sgd"], ["constant"], params={"lr": 1e3})
    objective = Objective(LinearRegressor(max_epochs=5), X, y, space, cv=2)
    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.user_attrs["end"].startswith("diverged at epoch 1")
    assert all(seconds > 0 for seconds in trial.user_attrs["fold_fit_times"])
    assert trial.user_attrs["fold_score_times"] == [0.0, 0.0]  # never scored


def test_optimizer_search_cv_inside_cross_val_score():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(
        StandardScaler(),
        OptimizerSearchCV(LogisticClassifier(max_epochs=4), n_trials=3, cv=2, random_state=0),
    )
    scores = cross_val_score(model, X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.8)


def test_optimizer_search_cv_is_a_classifier_or_a_regressor_as_its_estimator():
    # cross_val_score stratifies the outer folds of a classifier's search.
    classifier = OptimizerSearchCV(LogisticClassifier())
    assert is_classifier(classifier) and not is_regressor(classifier)
    assert isinstance(check_cv(3, np.arange(6) % 2, classifier=is_classifier(classifier)),
                      StratifiedKFold)  # fmt: skip
    assert is_regressor(OptimizerSearchCV(LinearRegressor()))


def test_optimizer_search_cv_without_refit_says_why_it_cannot_predict():
    X, y = load_breast_cancer(return_X_y=True)
    search = OptimizerSearchCV(LogisticClassifier(max_epochs=2), n_trials=2, cv=2, refit=False)
    search.fit(StandardScaler().fit_transform(X[:100]), y[:100])
    assert search.best_params_ and not hasattr(search, "predict")
    with pytest.raises(AttributeError) as error:  # scikit-learn gives the reason as the cause
        search.predict(X[:2])
    assert "only with refit=True" in str(error.value.__cause__)


def test_a_given_space_gets_schedule_lengths_capped_at_the_fit():
    # Without a cap, cosine t_max ranged to 200 in a 4-epoch fit: an all but constant rate.
    X, y = load_wine(return_X_y=True)
    space = SearchSpace(["sgd"], ["cosine"])
    search = OptimizerSearchCV(LogisticClassifier(max_epochs=4), space=space, n_trials=4,
                               cv=2, random_state=0, pruner="none")  # fmt: skip
    search.fit(StandardScaler().fit_transform(X), y)
    assert all(t.params["t_max"] <= 4 for t in search.study_.trials)
    assert space.horizon is None  # the caller's space is left as it was


def test_sample_weight_reaches_every_fold_and_the_refit():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weights = np.where(y == 2, 0.0, 1.0)  # class 2 neither trains nor scores
    kwargs = dict(n_trials=3, cv=3, random_state=0, pruner="none")
    est = LogisticClassifier(max_epochs=3, random_state=0)
    plain = OptimizerSearchCV(est, **kwargs).fit(X, y)
    weighted = OptimizerSearchCV(est, **kwargs).fit(X, y, sample_weight=weights)
    draws = [[t.params for t in s.study_.trials] for s in (plain, weighted)]
    assert draws[0] == draws[1]  # the same draws (same seed) ...
    assert not np.allclose(
        plain.cv_results_["mean_test_score"], weighted.cv_results_["mean_test_score"]
    )  # ... scored otherwise
    best = weighted.study_.best_trial
    refit = clone(est).set_params(**SearchSpace(horizon=3).build(best.params))
    refit.fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weighted.best_estimator_.coef_, refit.coef_)


def test_a_stored_search_resumes_only_on_the_same_data(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    storage = str(tmp_path / "journal.log")
    kwargs = dict(n_trials=2, cv=2, storage=storage, study_name="kept", random_state=0)
    OptimizerSearchCV(LogisticClassifier(max_epochs=2), **kwargs).fit(X[:100], y[:100])
    more = OptimizerSearchCV(LogisticClassifier(max_epochs=2), **{**kwargs, "n_trials": 3})
    # Resumed, one more trial: the same values laid out column by column (as a DataFrame's)
    assert more.fit(np.asfortranarray(X[:100]), list(y[:100])).n_trials_ == 3
    for other in [dict(X=X[100:200], y=y[100:200]), dict(X=X[:100], y=y[:100], cv=3)]:
        search = OptimizerSearchCV(LogisticClassifier(max_epochs=2),
                                   **{**kwargs, "cv": other.pop("cv", 2)})  # fmt: skip
        with pytest.raises(ValueError, match=r"'kept' .* was run on other data or folds"):
            search.fit(other["X"], other["y"])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_search_without_storage_keeps_its_study_in_memory_and_pickles(
    tmp_path, monkeypatch, n_jobs
):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X[:120])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    search = OptimizerSearchCV(LogisticClassifier(max_epochs=2), n_trials=3, cv=2,
                               n_jobs=n_jobs, random_state=0).fit(X, y[:120])  # fmt: skip
    # One worker runs in memory; several share a temporary journal, gone once copied.
    assert search.study_.user_attrs["storage"] == "in memory" or n_jobs > 1
    assert not list(tmp_path.glob("tuner-search-*"))
    again = pickle.loads(pickle.dumps(search))
    assert [t.params for t in again.study_.trials] == [t.params for t in search.study_.trials]
    np.testing.assert_array_equal(again.predict(X), search.predict(X))


def test_an_objective_of_score_and_fit_time_returns_both_and_never_reports(wine):
    objective = small_objective(*wine, params={"lr": 0.05})
    both = Objective(objective.estimator, *wine, objective.space, cv=3, random_state=0,
                     objectives=("score", "fit_time"))  # fmt: skip
    assert (objective.direction, both.direction) == ("maximize", ("maximize", "minimize"))
    trial = optuna.trial.FixedTrial({"optimizer": "sgd", "schedule": "constant"})
    score, seconds = both(trial)  # (a real study refuses report: tests/test_cli.py runs one)
    assert score == objective(optuna.trial.FixedTrial(trial.params))
    assert seconds == pytest.approx(sum(trial.user_attrs["fold_fit_times"])) and seconds > 0
    with pytest.raises(ValueError, match="objectives must be one of"):
        Objective(objective.estimator, *wine, objective.space, objectives=("fit_time",))


@pytest.mark.parametrize("weighted", [False, True])
def test_a_classifiers_fold_accuracy_is_its_score(wine, weighted):
    X, y = wine
    labels = np.array(["class " + str(v) for v in y])  # not 0..k-1: compared as given
    est = LogisticClassifier(max_epochs=2, random_state=0).fit(X, labels)
    w = np.random.default_rng(0).uniform(0, 2, len(y)) if weighted else None
    accuracy = check_scoring(est, "accuracy")
    for scoring in (None, "accuracy"):  # the same score, named
        scorer = _fold_scorer(est, scoring)
        for _ in range(2):  # checked at the first call, taken as checked after
            ours = scorer(est, X, labels, sample_weight=w)
            assert ours == pytest.approx(est.score(X, labels, sample_weight=w), rel=1e-12)
            assert ours == pytest.approx(accuracy(est, X, labels, sample_weight=w), rel=1e-12)
    assert 0.3 < scorer(est, X, labels, w) < 1  # a score that can tell them apart
    assert not isinstance(_fold_scorer(est, "f1_macro"), type(scorer))  # scikit-learn's


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("outputs", [1, 2])
def test_a_regressors_fold_score_is_its_r2(weighted, outputs):
    X, y = make_regression(120, 4, n_targets=outputs, noise=5.0, random_state=0)
    est = MLPRegressor(hidden_layer_sizes=(4,), max_epochs=3, random_state=0).fit(X, y)
    w = np.random.default_rng(0).uniform(0, 2, len(y)) if weighted else None
    r2 = check_scoring(est, "r2")
    for scoring in (None, "r2"):
        scorer = _fold_scorer(est, scoring)
        for _ in range(2):  # checked at the first call, taken as checked after
            ours = scorer(est, X, y, sample_weight=w)
            assert ours == pytest.approx(est.score(X, y, sample_weight=w), rel=1e-12)
            assert ours == pytest.approx(r2(est, X, y, sample_weight=w), rel=1e-12)
    assert -10 < ours < 1  # a score that can tell fits apart
    assert _fold_scorer(est, "neg_mean_squared_error") is not scorer  # scikit-learn's


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier(hidden_layer_sizes=(4,), max_epochs=2, random_state=0),
    lambda: MLPRegressor(hidden_layer_sizes=(4,), max_epochs=2, random_state=0),
])  # fmt: skip
def test_a_folds_input_is_checked_at_its_first_score_and_not_at_every_epoch(
    wine, monkeypatch, make
):
    X, y = wine
    est = make().fit(X, y)
    scorer = _fold_scorer(est, None)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scorer(est, bad, y)
    checks = []
    real = type(est)._raw_output
    monkeypatch.setattr(type(est), "_raw_output",
                        lambda self, X, check_input=True: checks.append(check_input)
                        or real(self, X, check_input))  # fmt: skip
    Xf, frame = X.astype(np.float32), pd.DataFrame(X)
    for _ in range(3):
        scorer(est, Xf, y), scorer(est, frame, y)
    assert checks == [True, True, False, True, False, True]  # a frame is checked every time


def test_run_study_keeps_an_in_memory_storage_to_one_worker_of_this_process():
    objective = small_objective(*load_wine(return_X_y=True))
    with pytest.raises(ValueError, match="in-memory storage lives in this process"):
        run_study(objective, study_name="m", n_trials=1, n_jobs=2,
                  storage=optuna.storages.InMemoryStorage())  # fmt: skip
    with pytest.raises(TypeError, match="storage must be a database URL, a journal file"):
        run_study(objective, study_name="m", n_trials=1, storage=object())


def test_optimizer_search_cv_is_quiet_by_default(caplog):
    X, y = load_breast_cancer(return_X_y=True)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)  # Optuna's default; other tests lower it
    optuna.logging.enable_propagation()  # so that caplog sees Optuna's records
    try:
        with caplog.at_level(logging.INFO, logger="optuna"):
            search = OptimizerSearchCV(LogisticClassifier(max_epochs=2), n_trials=2, cv=2,
                                       random_state=0)  # fmt: skip
            search.fit(StandardScaler().fit_transform(X[:100]), y[:100])
    finally:
        optuna.logging.disable_propagation()
        optuna.logging.set_verbosity(verbosity)
    assert not [r for r in caplog.records if "new study created" in r.getMessage()]


def test_optimizer_search_cv_with_equal_allocation_gives_each_optimizer_its_share():
    X, y = load_breast_cancer(return_X_y=True)
    space = SearchSpace(["sgd", "momentum", "adam"], ["constant"])
    search = OptimizerSearchCV(
        LogisticClassifier(max_epochs=4, random_state=0), space, n_trials=7, cv=2,
        random_state=0, allocation="equal",
    )  # fmt: skip
    search.fit(StandardScaler().fit_transform(X), y)
    counts = pd.Series(search.cv_results_["param_optimizer"]).value_counts().to_dict()
    assert counts == {"sgd": 3, "momentum": 2, "adam": 2}
    assert search.study_.user_attrs["allocation"] == "equal"
    with pytest.raises(ValueError, match="allocation must be one of"):
        OptimizerSearchCV(LogisticClassifier(), allocation="fair").fit(X, y)


def test_optimizer_search_cv_runs_its_baselines_first_and_marks_them():
    X, y = load_wine(return_X_y=True)
    search = OptimizerSearchCV(
        LogisticClassifier(max_epochs=3), n_trials=4, cv=2, random_state=0,
        baselines=[{"optimizer": "adam", "lr": 1e-3}],
    ).fit(X, y)  # fmt: skip
    assert search.cv_results_["baseline"].tolist() == [True, False, False, False]
    assert search.cv_results_["params"][0]["lr"] == 1e-3
    assert search.cv_results_["params"][0]["optimizer"] == "adam"


def test_optimizer_search_cv_takes_a_pipeline_fitting_its_first_steps_per_fold():
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = load_wine(return_X_y=True, as_frame=True)
    X = X.assign(colour=pd.Series(["red", "white"] * 89, index=X.index))  # a text column
    prepare = make_column_transformer(
        (OneHotEncoder(), ["colour"]), remainder=StandardScaler()
    )  # fmt: skip
    pipe = make_pipeline(prepare, LogisticClassifier(max_epochs=3))
    search = OptimizerSearchCV(pipe, n_trials=3, cv=2, random_state=0).fit(X, y)
    best = search.best_estimator_
    assert type(best).__name__ == "Pipeline" and best is not pipe
    assert best[-1].optimizer.lr == search.best_params_["lr"]
    assert search.predict(X.iloc[:5]).shape == (5,) and 0 <= search.score(X, y) <= 1
    # Each fold's scaler saw that fold's training rows only: as cross_validate would.
    objective_folds = search.study_.trials[0].user_attrs["fold_scores"]
    assert len(objective_folds) == 2
    # Sample weights reach the step that trains, in the folds and in the refit.
    weighted = OptimizerSearchCV(pipe, n_trials=2, cv=2, random_state=0)
    weighted.fit(X, y, sample_weight=np.r_[np.ones(100), np.zeros(len(y) - 100)])
    assert weighted.best_estimator_[-1].n_iter_ == 3
