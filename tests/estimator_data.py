"""Small data sets and weight access shared by the estimator tests."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler


def regression(seed=0, n=120):
    X, y = make_regression(n_samples=n, n_features=6, noise=1.0, random_state=seed)
    return StandardScaler().fit_transform(X), y / np.std(y)


def classification(seed=0, n=150, n_classes=3):
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, n_classes=n_classes, random_state=seed
    )
    return StandardScaler().fit_transform(X), y


def weights(est):
    """Every fitted weight array of an estimator, flattened into one vector."""
    arrays = [est.coef_, est.intercept_] if hasattr(est, "coef_") else est.coefs_ + est.intercepts_
    return np.concatenate([np.ravel(a) for a in arrays])
