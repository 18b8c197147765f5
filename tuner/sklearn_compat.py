"""The one place that leans on scikit-learn beyond its public API, each use tested.

scikit-learn's own estimators declare the constraints of their parameters and
check them, and their input, with utilities it does not make public. Ours use
the same ones, so that they reject bad values with scikit-learn's messages
and pass its estimator checks (``sklearn.utils.estimator_checks``); these are
the names, and why:

- ``Interval``, ``StrOptions`` (``sklearn.utils._param_validation``): the
  constraint types of an estimator's ``_parameter_constraints``.
- ``fit_context`` (``sklearn.base._fit_context``): the decorator of ``fit``
  and ``partial_fit`` that checks those constraints first, as scikit-learn's
  estimators do; :func:`validate_params` runs the same check without data
  (``BaseEstimator._validate_params``), for a study file's values.
- ``check_sample_weight`` (``sklearn.utils.validation._check_sample_weight``):
  weights of the right length, dtype and sign, ones when none are given.
- ``check_partial_fit_first_call``
  (``sklearn.utils.multiclass._check_partial_fit_first_call``): a classifier's
  first ``partial_fit`` takes its ``classes``, later ones must agree.

``tests/test_sklearn_compat.py`` fails when scikit-learn changes what this relies on.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call as check_partial_fit_first_call,
)
from sklearn.utils.validation import _check_sample_weight as check_sample_weight

__all__ = [
    "Interval",
    "StrOptions",
    "check_partial_fit_first_call",
    "check_sample_weight",
    "fit_context",
    "validate_params",
]


def validate_params(estimator: BaseEstimator) -> None:
    """Check ``estimator``'s parameters against its ``_parameter_constraints``, as ``fit``
    does first; raises ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``)
    naming the parameter."""
    estimator._validate_params()
