"""Divergence: a loss that becomes non-finite, or grows far past the loss of the start.

And the other side of the rule: training that is merely noisy, warmed up, or
continued on data of another scale is never called diverged.
"""

from __future__ import annotations

import pickle
from functools import partial

import numpy as np
import optuna
import pytest
from estimator_data import classification, regression, weights
from sklearn.datasets import make_regression
from sklearn.metrics import log_loss

import optim
from tuner.estimators import (
    DivergenceError,
    LinearRegressor,
    LogisticClassifier,
    MLPClassifier,
    MLPRegressor,
)
from tuner.estimators._outcomes import DIVERGENCE_FACTOR
from tuner.objective import Objective
from tuner.space import SearchSpace

# Short fits that stop at max_epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SEEDS = [0, 1, 2]


def data_loss(est, X, y):
    """The mean loss of ``est``'s weights on ``(X, y)``, without the L2 term."""
    if hasattr(est, "predict_proba"):
        return log_loss(y, est.predict_proba(X), labels=est.classes_)
    residuals = np.reshape(est.predict(X), (len(y), -1)) - np.reshape(y, (len(y), -1))
    return 0.5 * float(np.mean(np.sum(residuals**2, axis=1)))


def initial_loss(est, X, y):
    """The mean training loss of ``est``'s initial weights (one epoch at a vanishing rate)."""
    probe = est.__class__(**{**est.get_params(deep=False), "max_epochs": 1})
    return probe.set_params(optimizer=optim.SGD(lr=1e-300)).fit(X, y).loss_curve_[0]


# -- non-finite losses ---------------------------------------------------------------
# Squared losses blow up geometrically with a too-large rate. The gradient of the
# cross-entropy with respect to the logits is bounded, so a classifier's weights grow
# only linearly with the rate, and only an absurd rate overflows them.
DIVERGING = [
    (LinearRegressor, regression, 1e6),
    (LogisticClassifier, classification, 1e300),
    (lambda **kw: MLPClassifier((8,), **kw), classification, 1e300),
    (lambda **kw: MLPRegressor((8,), **kw), regression, 1e6),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("make, data, lr", DIVERGING)
def test_a_huge_learning_rate_raises_divergence_error(make, data, lr, seed):
    X, y = data(seed)
    est = make(optimizer=optim.SGD(lr=lr), batch_size=10, random_state=seed, max_epochs=50)
    with pytest.raises(
        DivergenceError, match=r"diverged in epoch \d+.*smaller learning rate"
    ) as info:
        est.fit(X, y)
    error = info.value
    assert isinstance(error, ValueError)
    assert 1 <= error.epoch <= 50
    assert est.stop_reason_ == "diverged"
    assert est.n_iter_ == error.epoch - 1 == len(est.loss_curve_)
    assert np.isfinite(weights(est)).all()


def test_divergence_error_survives_pickling():
    error = DivergenceError("diverged in epoch 3", epoch=3, loss=np.inf)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.epoch, copy.loss) == (str(error), 3, np.inf)


# -- finite losses that explode ---------------------------------------------------------
def _exploding_regression():
    return make_regression(200, 5, random_state=0)


EXPLODING = {
    # The cases: each ended "fitted" with a finite, absurd loss.
    "linear-sgd": (
        partial(LinearRegressor, optimizer=optim.SGD(lr=10.0), max_epochs=50, random_state=0),
        _exploding_regression,
    ),
    # A rate just past the stable one: the loss grows for epochs before it crosses.
    "linear-sgd-slowly": (
        partial(LinearRegressor, optimizer=optim.SGD(lr=2.5), batch_size=200, random_state=0),
        regression,
    ),
    # One batch per epoch: the epoch's loss is that of its start, its last step explodes.
    "mlp-regressor-sgd": (
        partial(
            MLPRegressor,
            optimizer=optim.SGD(lr=50.0),
            max_epochs=50,
            batch_size=200,
            random_state=0,
        ),
        _exploding_regression,
    ),
    # Adam's steps are bounded by its rate, so the loss stays finite however large it is.
    "mlp-classifier-adam": (
        partial(MLPClassifier, (16,), optimizer=optim.Adam(lr=500.0), max_epochs=5, random_state=0),
        partial(classification, n=300),
    ),
    "logistic-momentum": (
        partial(LogisticClassifier, optimizer=optim.Momentum(lr=1e6), max_epochs=5, random_state=0),
        partial(classification, n=300),
    ),
}


@pytest.mark.parametrize("case", sorted(EXPLODING))
def test_a_finite_loss_far_above_the_initial_one_is_divergence(case):
    make, data = EXPLODING[case]
    X, y = data()
    est = make()
    start = initial_loss(est, X, y)
    with pytest.raises(DivergenceError, match="times the loss of the initial weights") as info:
        est.fit(X, y)
    error = info.value
    assert error.loss > DIVERGENCE_FACTOR * start and np.isfinite(error.loss)
    assert f"in epoch {error.epoch}:" in str(error)
    assert est.stop_reason_ == "diverged" and est.n_iter_ == error.epoch - 1
    # The weights kept are those of the end of the last sane epoch (or the initial ones),
    # and their own loss is within the limit.
    assert data_loss(est, X, y) <= DIVERGENCE_FACTOR * start
    sane = make()
    epochs = sane.fit_epochs(X, y)
    for _ in range(error.epoch - 1):
        next(epochs)
    np.testing.assert_array_equal(weights(est), weights(sane))


def test_the_limit_survives_warm_start():
    # The reference stays the loss of the first fit's initial weights, not the smaller
    # one the continuation starts from: a continuation at a rate that explodes is caught.
    X, y = _exploding_regression()
    est = LinearRegressor(optimizer=optim.SGD(lr=0.01), max_epochs=5, warm_start=True)
    est.fit(X, y)
    est.set_params(optimizer__lr=10.0, max_epochs=50)
    with pytest.raises(DivergenceError, match="times the loss of the initial weights"):
        est.fit(X, y)
    assert est.n_iter_ >= 5


def test_a_study_of_exploding_rates_prunes_every_trial_as_diverged():
    X, y = classification(n=300)
    space = SearchSpace(["sgd", "momentum"], ["constant"], params={"lr": {"low": 5, "high": 500}})
    estimator = MLPClassifier((16,), max_epochs=3, batch_size=32, random_state=0)
    objective = Objective(estimator, X, y, space, cv=2)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(objective, n_trials=6)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 6
    for t in study.trials:
        assert t.user_attrs["end"].startswith(f"diverged at epoch {t.user_attrs['epochs']}: ")


# -- legitimate training is never flagged -------------------------------------------------
LEGITIMATE = {
    # Losses that rise in early epochs before they settle.
    "noisy-adam": (
        partial(MLPClassifier, (16,), optimizer=optim.Adam(lr=0.3), max_epochs=30, batch_size=16),
        partial(classification, n=300),
    ),
    "warmup-to-a-high-rate": (
        partial(
            MLPRegressor,
            (16,),
            optimizer=optim.SGD(lr=0.05),
            schedule=optim.LinearWarmup(10, start_factor=0.01),
            max_epochs=40,
            batch_size=16,
        ),
        regression,
    ),
    "one-cycle": (
        partial(
            MLPClassifier,
            (16,),
            optimizer=optim.Momentum(lr=0.01),
            schedule=optim.OneCycle(total_steps=30, max_factor=25),
            max_epochs=30,
            batch_size=16,
        ),
        partial(classification, n=300),
    ),
    # Tens of times the initial loss, a poor fit but a bounded one: not a divergence.
    "too-large-but-stable-rate": (
        partial(MLPClassifier, (16,), optimizer=optim.Adam(lr=3.0), max_epochs=20, batch_size=16),
        partial(classification, n=300),
    ),
    "per-batch-restarts": (
        partial(
            LinearRegressor,
            optimizer=optim.SGD(lr=0.3),
            schedule=optim.CosineWarmRestarts(t_0=5),
            schedule_interval="batch",
            max_epochs=30,
            batch_size=8,
        ),
        regression,
    ),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(LEGITIMATE))
def test_noisy_or_warmed_up_training_is_not_divergence(case, seed):
    make, data = LEGITIMATE[case]
    X, y = data(seed)
    est = make(random_state=seed).fit(X, y)
    assert est.stop_reason_ != "diverged"


def test_partial_fit_on_chunks_of_a_growing_scale_is_not_divergence():
    # The first chunk's targets are tiny, so its initial loss is; each later chunk
    # starts at a larger loss, which raises the limit instead of tripping it.
    X, y = regression(n=400)
    est = MLPRegressor((8,), optimizer=optim.Adam(lr=0.01), batch_size=25, random_state=0)
    for k, scale in enumerate([1e-4, 1e-2, 1.0, 100.0]):
        rows = slice(100 * k, 100 * (k + 1))
        est.partial_fit(X[rows], scale * y[rows])
    assert est.n_iter_ == 4


def test_warm_start_from_a_zero_loss_is_not_divergence():
    # All-zero targets: a linear model starts (and stays) at a loss of exactly 0.
    X, y = regression()
    est = LinearRegressor(optimizer=optim.SGD(lr=0.05), max_epochs=5, warm_start=True)
    est.fit(X, np.zeros_like(y))
    assert est.loss_curve_ == [0.0] * 5
    est.fit(X, y)
    assert est.n_iter_ == 10 and est.stop_reason_ == "max_epochs"
