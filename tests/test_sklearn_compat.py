"""What tuner.sklearn_compat relies on in scikit-learn: these fail loudly when it changes."""

from __future__ import annotations

import inspect
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from tuner.estimators import LogisticClassifier
from tuner.sklearn_compat import (
    Interval,
    StrOptions,
    check_partial_fit_first_call,
    check_sample_weight,
    fit_context,
    validate_params,
)


class Constrained(ClassifierMixin, BaseEstimator):
    """A minimal estimator declaring its constraints as ours do."""

    _parameter_constraints: ClassVar[dict] = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(self, alpha=1.0, size="auto"):
        self.alpha = alpha
        self.size = size

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        self.fitted_ = True
        return self


@pytest.mark.parametrize(
    ("params", "named"),
    [({"alpha": -1.0}, "'alpha'"), ({"size": 0}, "'size'"), ({"size": "big"}, "'size'"),
     ({"alpha": "x"}, "'alpha'")],
)  # fmt: skip
def test_fit_context_and_validate_params_check_the_declared_constraints(params, named):
    X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    bad = Constrained(**params)
    for check in (lambda: bad.fit(X, y), lambda: validate_params(bad)):
        with pytest.raises(ValueError, match=named) as info:
            check()
        assert isinstance(info.value, TypeError)  # InvalidParameterError is both
    assert Constrained(alpha=0.0, size=3).fit(X, y).fitted_
    validate_params(Constrained(size="auto"))  # no error


def test_our_estimators_reject_a_bad_parameter_with_its_name():
    with pytest.raises(ValueError, match="'alpha' parameter of LogisticClassifier"):
        LogisticClassifier(alpha=-1.0).check_params()


def test_check_sample_weight_checks_length_sign_and_fills_ones():
    X = np.zeros((3, 2), dtype=np.float32)
    assert "ensure_non_negative" in inspect.signature(check_sample_weight).parameters
    ones = check_sample_weight(None, X, dtype=X.dtype)
    assert ones.dtype == np.float32 and ones.tolist() == [1.0, 1.0, 1.0]
    assert check_sample_weight([1, 2, 3], X).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match=r"sample_weight\.shape"):
        check_sample_weight([1.0, 2.0], X)
    with pytest.raises(ValueError, match=r"[Nn]egative"):
        check_sample_weight([1.0, -1.0, 1.0], X, ensure_non_negative=True)


def test_check_partial_fit_first_call_takes_classes_once():
    clf = Constrained()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        check_partial_fit_first_call(clf, None)
    assert check_partial_fit_first_call(clf, np.array([2, 0, 1])) is True
    assert clf.classes_.tolist() == [0, 1, 2]  # sorted, as unique_labels gives them
    assert check_partial_fit_first_call(clf, None) is False
    assert check_partial_fit_first_call(clf, np.array([0, 1, 2])) is False
    with pytest.raises(ValueError, match="is not the same as on last call"):
        check_partial_fit_first_call(clf, np.array([0, 1]))
