"""The estimators reach known answers, reproducibly.

Seeds fix each run for determinism; every test holds for each of several seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
from joblib import Parallel, delayed
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_classification, make_friedman1
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import optim
from tuner.estimators import LinearRegressor, LogisticClassifier, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SEEDS = [0, 1, 2]
# Train to the end: no early stop from the tol rule.
NO_TOL = {"tol": 0.0, "n_iter_no_change": 10**6}


def well_conditioned(seed, n=400, d=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 + 0.3 * rng.normal(size=n)
    return X, y


def lstsq(X, y):
    """Least-squares weights and intercept."""
    solution = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    return solution[:-1], solution[-1]


# -- linear regression ---------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_full_batch_descent_reaches_the_least_squares_solution(seed):
    X, y = well_conditioned(seed)
    reg = LinearRegressor(
        optimizer=optim.SGD(lr=0.5),
        alpha=0.0,
        batch_size=len(y),
        max_epochs=300,
        random_state=seed,
        **NO_TOL,
    ).fit(X, y)
    coef, intercept = lstsq(X, y)
    assert_allclose(reg.coef_, coef, rtol=1e-9, atol=1e-12)
    assert reg.intercept_ == pytest.approx(intercept, rel=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_mini_batches_with_a_decaying_rate_approach_the_least_squares_solution(seed):
    X, y = well_conditioned(seed)
    reg = LinearRegressor(
        optimizer=optim.Adam(lr=0.05),
        schedule=optim.CosineAnnealing(t_max=200),
        alpha=0.0,
        batch_size=32,
        max_epochs=200,
        random_state=seed,
        **NO_TOL,
    ).fit(X, y)
    coef, intercept = lstsq(X, y)
    assert_allclose(reg.coef_, coef, atol=2e-3)
    assert reg.intercept_ == pytest.approx(intercept, abs=2e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_huber_loss_resists_outliers(seed):
    X, y = well_conditioned(seed)
    clean, _ = lstsq(X, y)
    y = y.copy()
    y[:20] += 50.0  # 5% gross outliers
    params = {"optimizer": optim.Adam(lr=0.05), "alpha": 0.0, "max_epochs": 300}
    huber = LinearRegressor(loss="huber", epsilon=1.0, random_state=seed, **params).fit(X, y)
    squared = LinearRegressor(random_state=seed, **params).fit(X, y)
    assert np.abs(huber.coef_ - clean).max() < 0.2 * np.abs(squared.coef_ - clean).max()


# -- logistic regression -----------------------------------------------------------------
def objective(clf, X, y, alpha):
    """Mean cross-entropy plus the L2 term: what LogisticClassifier minimizes."""
    return log_loss(y, clf.predict_proba(X)) + 0.5 * alpha * np.sum(clf.coef_**2)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "training, tolerance",
    [
        ({"optimizer": optim.Momentum(lr=0.5), "batch_size": 300, "max_epochs": 500}, 1e-9),
        (
            {
                "optimizer": optim.Adam(lr=0.05),
                "schedule": optim.CosineAnnealing(t_max=300),
                "batch_size": 32,
                "max_epochs": 300,
            },
            3e-4,
        ),
    ],
    ids=["full-batch-momentum", "minibatch-adam-cosine"],
)
def test_logistic_loss_matches_sklearn_logistic_regression(seed, n_classes, training, tolerance):
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=n_classes, random_state=seed
    )
    X = StandardScaler().fit_transform(X)
    C = 1.0
    alpha = 1.0 / (C * len(y))  # C * sum(loss) + |W|^2 / 2  ==  n C (mean loss + alpha |W|^2 / 2)
    reference = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    clf = LogisticClassifier(alpha=alpha, random_state=seed, **NO_TOL, **training).fit(X, y)
    best = objective(reference, X, y, alpha)
    assert objective(clf, X, y, alpha) == pytest.approx(best, abs=tolerance)


# -- multi-layer perceptrons ------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_mlp_classifier_on_digits(seed):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            (128,),
            optimizer=optim.Adam(lr=2e-3),
            schedule=optim.CosineAnnealing(t_max=40),
            batch_size=32,
            max_epochs=40,
            random_state=seed,
        ),
    )
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95  # 0.96 to 0.985 over seeds 0-11


@pytest.mark.parametrize("seed", SEEDS)
def test_mlp_regressor_on_a_nonlinear_problem(seed):
    X, y = make_friedman1(n_samples=1200, noise=0.3, random_state=seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    reg = make_pipeline(
        StandardScaler(),
        MLPRegressor(
            (64,),
            activation="tanh",
            optimizer=optim.Adam(lr=1e-2),
            schedule=optim.CosineAnnealing(t_max=150),
            batch_size=32,
            max_epochs=150,
            random_state=seed,
        ),
    )
    reg.fit(X_train, y_train)
    assert reg.score(X_test, y_test) >= 0.9  # 0.95 to 0.99 over seeds 0-9


# -- reproducibility ----------------------------------------------------------------------------
def fitted_weights(make, seed):
    """Fit a fresh estimator and return all its weights (runs in worker processes too)."""
    X, y = make_classification(
        n_samples=200, n_features=10, n_classes=3, n_informative=5, random_state=1
    )
    est = make(seed)
    est.fit(X, y if hasattr(est, "predict_proba") else X @ np.arange(10.0))
    arrays = [est.coef_, est.intercept_] if hasattr(est, "coef_") else est.coefs_ + est.intercepts_
    return [np.array(a) for a in arrays]


def _mlp_classifier(seed):
    return MLPClassifier((16,), batch_size=16, max_epochs=10, random_state=seed)


def _mlp_regressor(seed):
    return MLPRegressor(
        (16, 8),
        optimizer=optim.Momentum(lr=1e-3),
        schedule=optim.StepDecay(step_size=3),
        batch_size=16,
        max_epochs=10,
        random_state=seed,
    )


def _logistic(seed):
    return LogisticClassifier(early_stopping=True, batch_size=16, max_epochs=10, random_state=seed)


def _linear(seed):
    return LinearRegressor(optimizer="sgd", batch_size=16, max_epochs=10, random_state=seed)


MAKERS = [_mlp_classifier, _mlp_regressor, _logistic, _linear]


@pytest.mark.parametrize("make", MAKERS)
def test_same_seed_gives_bit_identical_weights(make):
    first, second = fitted_weights(make, 7), fitted_weights(make, 7)
    for a, b in zip(first, second):
        assert_array_equal(a, b)
    other = fitted_weights(make, 8)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_same_seed_gives_bit_identical_weights_across_processes():
    here = [fitted_weights(make, 3) for make in MAKERS]
    there = Parallel(n_jobs=2, backend="loky")(delayed(fitted_weights)(make, 3) for make in MAKERS)
    for local, remote in zip(here, there):
        for a, b in zip(local, remote):
            assert_array_equal(a, b)
