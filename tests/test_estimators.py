"""Behaviour of the estimators: parameters, training loop, hooks, warm start, errors."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from estimator_data import classification, regression, weights
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import optim
from optim.registry import BUILTIN_OPTIMIZERS
from tuner.estimators import (
    EpochResult,
    LinearRegressor,
    LogisticClassifier,
    MLPClassifier,
    MLPRegressor,
)
from tuner.estimators._params import NAMED_OPTIMIZER_DEFAULTS

# Short fits that stop at max_epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SEEDS = [0, 1, 2]
FAST = {"max_epochs": 5, "tol": 0.0, "n_iter_no_change": 100}


ALL = [
    (LinearRegressor, regression),
    (LogisticClassifier, classification),
    (lambda **kw: MLPClassifier((8,), **kw), classification),
    (lambda **kw: MLPRegressor((8,), **kw), regression),
]


# -- parameters --------------------------------------------------------------------
def test_nested_parameters_of_an_optimizer_object():
    est = MLPClassifier(optimizer=optim.Momentum(lr=0.1), schedule=optim.CosineAnnealing(t_max=7))
    params = est.get_params(deep=True)
    assert params["optimizer__lr"] == 0.1
    assert params["optimizer__momentum"] == 0.9
    assert params["schedule__t_max"] == 7
    est.set_params(optimizer__lr=0.2, schedule__t_max=9)
    assert est.optimizer == optim.Momentum(lr=0.2)
    assert est.schedule.t_max == 9


def test_registry_names_expose_their_defaults_and_become_objects_when_set():
    est = LogisticClassifier(optimizer="sgd", schedule="cosine")
    params = est.get_params(deep=True)
    assert params["optimizer__lr"] == optim.SGD().lr
    assert params["optimizer__clip_norm"] == 1.0  # the estimators' default for a name
    assert params["schedule__t_max"] == optim.CosineAnnealing().t_max
    est.set_params(optimizer__lr=0.5)
    assert est.optimizer == optim.SGD(lr=0.5, clip_norm=1.0)
    assert est.schedule == "cosine"
    est.set_params(optimizer="adam", optimizer__beta1=0.8)
    assert est.optimizer == optim.Adam(lr=0.01, beta1=0.8)


@pytest.mark.parametrize("name", sorted(BUILTIN_OPTIMIZERS))
def test_an_optimizer_given_by_name_trains_with_the_estimators_defaults_for_it(name):
    X, y = regression()
    expected = BUILTIN_OPTIMIZERS[name](
        **NAMED_OPTIMIZER_DEFAULTS.get(BUILTIN_OPTIMIZERS[name], {})
    )
    by_name = LinearRegressor(optimizer=name, random_state=0, **FAST)
    assert by_name.get_params()["optimizer__lr"] == expected.lr
    by_object = LinearRegressor(optimizer=expected, random_state=0, **FAST)
    assert_array_equal(weights(by_name.fit(X, y)), weights(by_object.fit(X, y)))
    assert by_name.optimizer == name  # fit reads the parameter, never replaces it


def test_clone_copies_the_optimizer_and_leaves_the_original_alone():
    opt = optim.Adam(lr=0.01)
    est = MLPRegressor((4,), optimizer=opt, max_epochs=2, random_state=0)
    copy = clone(est)
    assert copy.optimizer == opt and copy.optimizer is not opt
    est.fit(*regression())
    assert opt == optim.Adam(lr=0.01)


def test_grid_search_over_the_learning_rate_in_a_pipeline():
    X, y = classification()
    pipe = make_pipeline(StandardScaler(), LogisticClassifier(random_state=0, **FAST))
    grid = GridSearchCV(pipe, {"logisticclassifier__optimizer__lr": [1e-4, 1e-1]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_ == {"logisticclassifier__optimizer__lr": 0.1}
    assert len(cross_val_score(grid.best_estimator_, X, y, cv=3)) == 3


def test_set_params_of_the_learning_rate_changes_training():
    X, y = regression()
    est = LinearRegressor(optimizer=optim.SGD(lr=0.01), random_state=0, **FAST)
    slow = weights(clone(est).fit(X, y))
    fast = weights(est.set_params(optimizer__lr=0.1).fit(X, y))
    same = weights(LinearRegressor(optimizer=optim.SGD(lr=0.1), random_state=0, **FAST).fit(X, y))
    assert not np.allclose(slow, fast)
    assert_array_equal(fast, same)


@pytest.mark.parametrize(
    "params, error",
    [
        ({"optimizer": "adamm"}, "did you mean 'adam'"),
        ({"schedule": "cosin"}, "unknown schedule"),
        ({"batch_size": 0}, "batch_size"),
        ({"optimizer": 3}, "optimizer"),
        ({"max_epochs": -1}, "max_epochs"),
        ({"schedule_interval": "step"}, "schedule_interval"),
    ],
)
def test_invalid_parameters_are_reported_at_fit(params, error):
    est = LinearRegressor(**params)  # __init__ only stores them
    with pytest.raises(ValueError, match=error):
        est.fit(*regression())


def test_invalid_hidden_layer_sizes():
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier((8, 0)).fit(*classification())


# -- bad input ----------------------------------------------------------------------
def test_bad_input_is_rejected():
    X, y = classification()
    clf = LogisticClassifier(**FAST)
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(X_nan, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, len(y)))
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="X_val and y_val"):
        clf.fit(X, y, X_val=X)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_partial_fit_needs_the_classes_first():
    X, y = classification()
    clf = MLPClassifier((4,))
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:10], y[:10], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:10], np.full(10, 7))


# -- fitted attributes ----------------------------------------------------------------
@pytest.mark.parametrize("make, data", ALL)
def test_fitted_attributes(make, data):
    X, y = data()
    est = make(schedule=optim.StepDecay(step_size=2, gamma=0.5), random_state=0, **FAST)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est.fit(frame, y)
    assert est.n_features_in_ == X.shape[1]
    assert_array_equal(est.feature_names_in_, frame.columns)
    assert est.n_iter_ == 5 == len(est.loss_curve_) == len(est.lr_curve_)
    lr = est.get_params()["optimizer__lr"]
    assert_allclose(est.lr_curve_, lr * np.array([1, 1, 0.5, 0.5, 0.25]))
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert est.optimizer_state_.t == est.n_batches_ == 5 * -(-len(y) // 32)  # batches of 32
    assert est.stop_reason_ == "max_epochs"
    assert np.isfinite(weights(est)).all()


def test_linear_shapes():
    X, y = regression()
    reg = LinearRegressor(**FAST).fit(X, y)
    assert reg.coef_.shape == (6,) and isinstance(reg.intercept_, float)
    reg.fit(X, np.c_[y, -y])
    assert reg.coef_.shape == (2, 6) and reg.intercept_.shape == (2,)
    assert reg.predict(X).shape == (len(y), 2)
    X, y = classification(n_classes=2)
    clf = LogisticClassifier(**FAST).fit(X, y)
    assert clf.coef_.shape == (1, 6) and clf.intercept_.shape == (1,)
    assert clf.decision_function(X).shape == (len(y),)
    assert_array_equal(clf.predict(X), (clf.decision_function(X) > 0).astype(int))
    X, y = classification(n_classes=3)
    clf.fit(X, y)
    assert clf.coef_.shape == (3, 6)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_float32_input_trains_in_float32():
    X, y = classification()
    clf = MLPClassifier((8,), random_state=0, **FAST).fit(X.astype(np.float32), y)
    assert all(w.dtype == np.float32 for w in clf.coefs_ + clf.intercepts_)
    assert clf.optimizer_state_.dtype == np.float32
    clf64 = MLPClassifier((8,), random_state=0, **FAST).fit(X, y)
    assert clf64.coefs_[0].dtype == np.float64
    assert_allclose(clf.coefs_[0], clf64.coefs_[0], rtol=1e-3, atol=1e-4)
    # Continuing keeps the fitted dtype whatever the input's.
    clf.partial_fit(X, y)
    assert clf.coefs_[0].dtype == np.float32


@pytest.mark.parametrize("make", [LinearRegressor, LogisticClassifier])
def test_sparse_input_trains_like_dense(make):
    X, y = (regression if make is LinearRegressor else classification)()
    X[np.abs(X) < 0.5] = 0.0
    dense = make(random_state=0, **FAST).fit(X, y)
    sparse = make(random_state=0, **FAST).fit(sp.csr_matrix(X), y)
    assert_allclose(weights(sparse), weights(dense), rtol=1e-10, atol=1e-12)
    assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X))


def test_per_batch_schedule():
    X, y = regression(n=100)
    est = LinearRegressor(
        optimizer=optim.SGD(lr=0.1),
        schedule=optim.StepDecay(step_size=1, gamma=0.5),
        schedule_interval="batch",
        batch_size=50,
        random_state=0,
        **FAST,
    )
    est.fit(X, y)
    assert est.n_batches_ == 10
    # Epoch e runs batches 2e and 2e + 1: mean rate 0.1 * 0.5**(2e) * 0.75.
    assert_allclose(est.lr_curve_, [0.1 * 0.25**e * 0.75 for e in range(5)])


def test_stateful_schedule_keeps_its_state():
    X, y = regression()
    est = LinearRegressor(
        optimizer=optim.SGD(lr=0.05),
        schedule=optim.ReduceOnPlateau(patience=0, gamma=0.5, threshold=0.1),
        max_epochs=40,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
    )
    multipliers = []  # each epoch's observation sets the next epoch's rate
    est.fit(X, y, callbacks=lambda _: multipliers.append(est.schedule_state_.multiplier))
    assert multipliers[-1] < 1.0
    assert_allclose(est.lr_curve_[1:], 0.05 * np.array(multipliers[:-1]))
    assert est.schedule.init_state().multiplier == 1.0  # the schedule object is untouched


# -- stopping rules -------------------------------------------------------------------
def test_max_epochs_without_convergence_warns():
    with pytest.warns(ConvergenceWarning, match="max_epochs=5"):
        LinearRegressor(max_epochs=5, random_state=0).fit(*regression())


def test_tol_stops_training():
    X, y = regression()
    est = LinearRegressor(optimizer=optim.SGD(lr=0.1), tol=1e-3, n_iter_no_change=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.stop_reason_ == "no_improvement" and est.n_iter_ < est.max_epochs


@pytest.mark.parametrize("seed", SEEDS)
def test_early_stopping_on_a_held_out_split(seed):
    X, y = classification(seed, n=300)
    clf = MLPClassifier(
        (16,),
        optimizer=optim.Adam(lr=0.05),
        early_stopping=True,
        n_iter_no_change=5,
        max_epochs=300,
        random_state=seed,
    )
    clf.fit(X, y)
    assert clf.stop_reason_ == "early_stopping"
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)


@pytest.mark.parametrize("seed", SEEDS)
def test_early_stopping_restores_the_best_weights(seed):
    X, y = classification(seed, n=300)
    X_val, y_val = X[200:], y[200:]
    clf = MLPClassifier(
        (16,),
        optimizer=optim.Adam(lr=0.05),
        early_stopping=True,
        n_iter_no_change=5,
        max_epochs=300,
        random_state=seed,
    )
    clf.fit(X[:200], y[:200], X_val=X_val, y_val=y_val)
    assert clf.stop_reason_ == "early_stopping"
    assert clf.score(X_val, y_val) == clf.best_validation_score_ == max(clf.validation_scores_)


def test_validation_data_is_scored_every_epoch():
    X, y = classification(n=300)
    clf = LogisticClassifier(random_state=0, **FAST)
    clf.fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    assert len(clf.validation_scores_) == 5
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(X[200:], y[200:]))


# -- callbacks and epoch iteration -------------------------------------------------------
def test_callbacks_see_every_epoch_and_can_stop():
    X, y = classification()
    seen = []

    def record(result):
        seen.append(result)

    def stop_at_three(result):
        return result.epoch == 3

    clf = MLPClassifier((8,), random_state=0, max_epochs=50)
    clf.fit(X, y, X_val=X, y_val=y, callbacks=[record, stop_at_three])
    assert [r.epoch for r in seen] == [1, 2, 3]
    assert all(isinstance(r, EpochResult) and r.estimator is clf for r in seen)
    assert [r.loss for r in seen] == clf.loss_curve_
    assert [r.validation_score for r in seen] == clf.validation_scores_
    assert clf.n_iter_ == 3 and clf.stop_reason_ == "callback"


def test_a_callback_exception_propagates_and_leaves_a_usable_estimator():
    class Pruned(Exception):
        pass

    def prune(result):
        if result.epoch == 2:
            raise Pruned

    X, y = regression()
    est = MLPRegressor((8,), random_state=0, max_epochs=50)
    with pytest.raises(Pruned):
        est.fit(X, y, callbacks=prune)
    assert est.n_iter_ == 2
    assert est.predict(X).shape == y.shape


def test_fit_epochs_trains_one_epoch_per_step():
    X, y = regression()
    est = LinearRegressor(random_state=0, **FAST)
    epochs = est.fit_epochs(X, y)
    assert est.n_iter_ == 0  # checked and initialized, not trained
    first = next(epochs)
    assert first.epoch == est.n_iter_ == 1
    before = est.predict(X)
    next(epochs)
    assert not np.allclose(before, est.predict(X))
    rest = list(epochs)
    assert [r.epoch for r in rest] == [3, 4, 5]
    full = LinearRegressor(random_state=0, **FAST).fit(X, y)
    assert_array_equal(weights(est), weights(full))


def test_verbose_prints_every_epoch(capsys):
    LinearRegressor(verbose=True, **FAST).fit(*regression())
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[0].startswith("Epoch 1: loss ")


def test_fit_epochs_checks_the_input_when_called():
    with pytest.raises(ValueError, match="inconsistent"):
        LinearRegressor().fit_epochs(np.ones((5, 2)), np.ones(4))


def test_cross_validation_folds_in_lock_step():
    X, y = classification(n=200)
    base = MLPClassifier((8,), optimizer=optim.Adam(lr=0.01), batch_size=20, random_state=0, **FAST)
    folds = [
        clone(base).fit_epochs(X[tr], y[tr], X_val=X[va], y_val=y[va])
        for tr, va in KFold(3).split(X)
    ]
    means = []
    for results in zip(*folds):
        assert len({r.epoch for r in results}) == 1
        means.append(np.mean([r.validation_score for r in results]))
    assert len(means) == 5
    assert means[-1] > 0.5


# -- partial_fit and warm_start ---------------------------------------------------------
@pytest.mark.parametrize("make, data", ALL)
def test_partial_fit_over_the_batches_equals_one_fit_epoch(make, data):
    X, y = data(n=100)
    # A per-batch schedule follows the batch counter across partial_fit calls.
    params = {
        "optimizer": optim.Adam(lr=0.01),
        "schedule": optim.StepDecay(step_size=2),
        "schedule_interval": "batch",
        "batch_size": 30,
        "shuffle": False,
        "random_state": 0,
    }
    fitted = make(max_epochs=1, **params).fit(X, y)
    incremental = make(**params)
    for start in range(0, 100, 30):
        extra = {"classes": np.unique(y)} if hasattr(incremental, "predict_proba") else {}
        incremental.partial_fit(X[start : start + 30], y[start : start + 30], **extra)
    assert_array_equal(weights(incremental), weights(fitted))
    assert incremental.optimizer_state_.t == fitted.optimizer_state_.t == 4


@pytest.mark.parametrize("make, data", ALL)
def test_warm_start_continues_the_optimizer_trajectory(make, data):
    X, y = data()
    params = {"optimizer": optim.Momentum(lr=0.01), "random_state": 0, **FAST}
    six = make(**{**params, "max_epochs": 6})
    warm = make(**{**params, "max_epochs": 3}, warm_start=True)
    six.fit(X, y)
    warm.fit(X, y)
    t = warm.optimizer_state_.t
    warm.fit(X, y)
    assert warm.optimizer_state_.t == 2 * t == six.optimizer_state_.t
    assert warm.n_iter_ == 6 and len(warm.loss_curve_) == 6
    assert_array_equal(weights(warm), weights(six))


def test_refit_without_warm_start_starts_again():
    X, y = regression()
    est = MLPRegressor((8,), random_state=0, **FAST)
    first = weights(est.fit(X, y))
    second = weights(est.fit(X, y))
    assert_array_equal(first, second)
    assert est.n_iter_ == 5


def test_warm_start_cannot_change_the_architecture():
    X, y = regression()
    est = MLPRegressor((8,), warm_start=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="layer sizes"):
        est.set_params(hidden_layer_sizes=(4,)).fit(X, y)


def test_a_fitted_estimator_pickles_and_continues():
    X, y = classification()
    clf = MLPClassifier((8,), random_state=0, **FAST).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    assert_array_equal(weights(copy), weights(clf))


def test_a_schedule_name_that_needs_arguments_is_reported_at_fit():
    est = LinearRegressor(schedule="sequence")
    assert est.get_params()["schedule"] == "sequence"  # no nested parameters to report
    with pytest.raises(TypeError, match=r"'sequence' \(Sequence\) needs schedules, boundaries"):
        est.fit(*regression())
