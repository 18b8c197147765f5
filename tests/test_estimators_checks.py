"""scikit-learn's estimator checks for every estimator with its defaults, with each built-in
optimizer given by name (and the default schedule) and each built-in schedule given by
name (and the default optimizer): all but ``"sequence"``, which needs its parts.

No check is expected to fail, and no parameter other than ``optimizer`` and ``schedule``
is set: the defaults are what is checked. Some checks (``check_regressor_multioutput``)
fit without a ``random_state``, so every configuration must train from any start.

The default configuration of each estimator runs every check. The others run, in the
normal test run, the checks that train on a data set of their own and judge the result
(:data:`TRAINING_CHECKS`); the remaining ones fit the same data in other input formats,
or test parameters and input validation, which no optimizer or schedule reaches, and run
with ``-m slow``.
"""

from __future__ import annotations

import functools

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

import optim
from optim.registry import BUILTIN_OPTIMIZERS
from optim.schedules import BUILTIN_SCHEDULES
from tuner.estimators import LinearRegressor, LogisticClassifier, MLPClassifier, MLPRegressor

# Some checks fit for a few epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [LinearRegressor, LogisticClassifier, MLPClassifier, MLPRegressor]
OPTIMIZER, SCHEDULE = LinearRegressor().optimizer, LinearRegressor().schedule


def _by_name(name: str) -> bool:
    """Whether a schedule can be given by its name alone (a Sequence needs its parts)."""
    try:
        optim.get_schedule(name)
    except TypeError:
        return False
    return True


#: The default pair first, then each other optimizer and each other schedule.
CONFIGURATIONS = [
    (OPTIMIZER, SCHEDULE),
    *((name, SCHEDULE) for name in BUILTIN_OPTIMIZERS if name != OPTIMIZER),
    *((OPTIMIZER, name) for name in BUILTIN_SCHEDULES if name != SCHEDULE and _by_name(name)),
]

#: Checks whose outcome depends on how training goes: the quality reached
#: (``*_train``), targets in the hundreds (``multioutput``), features near 100
#: (``fit_idempotent``), float32 and integer input, weights against repeated rows,
#: one sample or one feature, 2-D and integer targets, string classes, partial_fit.
#: Their runs on read-only memory maps fit the same data again.
TRAINING_CHECKS = {
    "check_classifiers_train",
    "check_regressors_train",
    "check_regressor_multioutput",
    "check_fit_idempotent",
    "check_estimators_dtypes",
    "check_sample_weight_equivalence_on_dense_data",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_supervised_y_2d",
    "check_regressors_int",
    "check_classifiers_classes",
    "check_estimators_partial_fit_n_features",
}


def _unwrap(check) -> tuple[str, dict]:
    """The name of a check and the keyword arguments it is given."""
    keywords = {}
    while isinstance(check, functools.partial):
        keywords.update(check.keywords)
        check = check.func
    return check.__name__, keywords


def _trains(check) -> bool:
    name, keywords = _unwrap(check)
    return name in TRAINING_CHECKS and not keywords.get("readonly_memmap")


def _cases(slow: bool) -> list:
    """Every (estimator, check) of the normal test run, or of ``-m slow``: the rest."""
    cases = []
    for make in ESTIMATORS:
        for optimizer, schedule in CONFIGURATIONS:
            default = (optimizer, schedule) == (OPTIMIZER, SCHEDULE)
            estimator = make(optimizer=optimizer, schedule=schedule)
            for est, check in estimator_checks_generator(estimator):
                if slow == (default or _trains(check)):
                    continue
                key = f"{make.__name__}-{optimizer}-{schedule}-{_unwrap(check)[0]}"
                cases.append(pytest.param(est, check, id=key))
    return cases


@pytest.mark.parametrize(("estimator", "check"), _cases(slow=False))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.slow
@pytest.mark.parametrize(("estimator", "check"), _cases(slow=True))
def test_sklearn_estimator_checks_of_every_configuration(estimator, check):
    check(estimator)
