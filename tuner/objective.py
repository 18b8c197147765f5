"""The tuning objective: build an estimator from a trial, train its folds in lock step.

Every fold trains one epoch, then the mean validation score over the folds
is reported to Optuna, so that a pruner can stop all folds of a bad trial at
once. A trial that diverges (a ``DivergenceError``: its loss or weights become
NaN or infinite, or its training loss grows past 10,000 times the loss of its
initial weights) is pruned with the reason and epoch recorded; the sampler
then ranks it below every trial that trained.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import optuna
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, check_cv, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, column_or_1d

from .estimators import (
    DivergenceError,
    LinearRegressor,
    LogisticClassifier,
    MLPClassifier,
    MLPRegressor,
    fit_epochs_together,
)
from .sklearn_compat import check_sample_weight
from .space import SearchSpace
from .study.outcomes import Diverged

__all__ = [
    "Objective", "final_estimator", "for_final", "hold_out_test", "make_folds", "with_params"
]


def hold_out_test(estimator, X, y, fraction: float, random_state: int | None = 0) -> tuple:
    """``X_train, X_test, y_train, y_test``: the test split a study holds out before its search.

    ``sklearn.model_selection.train_test_split`` with ``test_size=fraction``,
    stratified for classifiers, rows in its order: the same call in a user's
    code gives the same parts. ``fraction == 0`` holds out nothing (the test
    parts are None).
    """
    if fraction == 0:
        return X, None, y, None
    return train_test_split(
        X, y, test_size=fraction, random_state=random_state,
        stratify=y if is_classifier(estimator) else None,
    )  # fmt: skip


def make_folds(
    estimator, X, y, cv: Any = 3, holdout_fraction: float = 0.2, random_state: int | None = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/validation indices, fixed once for a whole study.

    ``cv`` is a number of folds (stratified and shuffled for classifiers),
    ``"holdout"`` (one split of ``holdout_fraction``), or any scikit-learn
    splitter.
    """
    classifier = is_classifier(estimator)
    if isinstance(cv, str):
        if cv != "holdout":
            raise ValueError(f"cv must be a number of folds, 'holdout' or a splitter, got {cv!r}")
        indices = np.arange(len(y))
        train, test = train_test_split(
            indices,
            test_size=holdout_fraction,
            random_state=random_state,
            stratify=y if classifier else None,
        )
        return [(np.sort(train), np.sort(test))]
    if isinstance(cv, int) and not isinstance(cv, bool):
        splitter = StratifiedKFold if classifier else KFold
        cv = splitter(n_splits=cv, shuffle=True, random_state=random_state)
    splitter = check_cv(cv, y, classifier=classifier)
    return [(train, test) for train, test in splitter.split(X, y)]


def final_estimator(estimator: Any) -> Any:
    """The estimator that trains: the last step of a ``Pipeline``, else ``estimator``."""
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def for_final(estimator: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` addressed to the estimator that trains: ``step__name`` for the last step
    of a ``Pipeline`` (for ``set_params`` and ``fit``), as they are otherwise."""
    if not isinstance(estimator, Pipeline):
        return params
    name = estimator.steps[-1][0]
    return {f"{name}__{key}": value for key, value in params.items()}


def with_params(estimator: Any, params: dict[str, Any]) -> Any:
    """A clone of ``estimator`` with ``params`` set on the estimator that trains (the last
    step of a ``Pipeline``, whose other steps keep theirs)."""
    return clone(estimator).set_params(**for_final(estimator, params))


def _rows(X: Any, index: np.ndarray) -> Any:
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


#: The objectives a trial may return, with their directions.
_DIRECTIONS = {("score",): ("maximize",), ("score", "fit_time"): ("maximize", "minimize")}


class Objective:
    """Picklable Optuna objective that tunes ``estimator`` over ``space`` by cross-validation.

    Parameters
    ----------
    estimator : estimator
        A ``tuner`` estimator (it must have ``fit_epochs``), used as a template,
        or a scikit-learn ``Pipeline`` that ends with one: its first steps are
        fitted once per fold, on the fold's training part.
    X, y : array-like
        Training data.
    space : SearchSpace
        What to search.
    cv : int, "holdout" or splitter, default=3
        Folds, fixed once here (see :func:`make_folds`).
    scoring : str or callable, optional
        A scikit-learn scorer; default: the estimator's ``score`` (accuracy, R^2).
    scale : bool, default=True
        Standard-scale the features of each fold (fitted on its training part).
    holdout_fraction : float, default=0.2
        Validation share with ``cv="holdout"``.
    random_state : int, optional
        Seed of the fold split.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the rows: each fold trains and is scored with its share.
    objectives : ("score",) or ("score", "fit_time"), default=("score",)
        What a trial returns: its mean cross-validated score; or that and the
        seconds its folds spent training, for a two-objective study of score
        against time (``direction`` is then ``("maximize", "minimize")``, and
        trials are not pruned: Optuna prunes single-objective studies only).

    Notes
    -----
    Each trial records user attributes: ``curves`` (mean training loss,
    validation score and learning rate per epoch), ``fold_scores``,
    ``fold_fit_times`` and ``fold_score_times`` (seconds each fold spent
    training, and scoring its validation part after every epoch and at the
    end), ``epochs`` and ``end`` (``"complete"``, ``"pruned at epoch k"`` or
    ``"diverged at epoch k: ..."``).
    """

    def __init__(
        self, estimator, X, y, space: SearchSpace, *, cv: Any = 3, scoring: Any = None,
        scale: bool = True, holdout_fraction: float = 0.2, random_state: int | None = 0,
        sample_weight: Any = None, objectives: tuple[str, ...] = ("score",),
    ):  # fmt: skip
        if tuple(objectives) not in _DIRECTIONS:
            raise ValueError(
                f"objectives must be one of {list(_DIRECTIONS)}, got {objectives!r}"
            )
        self.objectives = tuple(objectives)
        self.steps = estimator[:-1] if isinstance(estimator, Pipeline) else None
        self.estimator, self.space = final_estimator(estimator), space
        if not hasattr(self.estimator, "fit_epochs"):
            raise TypeError(
                f"{type(self.estimator).__name__} has no fit_epochs; use a tuner estimator "
                "(or a Pipeline that ends with one)"
            )
        # Rows are indexed per fold: plain arrays (or CSR), checked once here; a Pipeline's
        # first steps take the data as given (a DataFrame of named, mixed columns).
        self.X = (
            check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
            if self.steps is None
            else X if hasattr(X, "iloc") else check_array(X, accept_sparse="csr", dtype=None)
        )
        self.y = column_or_1d(y, warn=True) if np.ndim(y) == 1 else np.asarray(y)
        self.scoring, self.scale = scoring, scale
        self.folds = make_folds(estimator, X, self.y, cv, holdout_fraction, random_state)
        self.sample_weight = (
            None if sample_weight is None else check_sample_weight(sample_weight, self.X)
        )
        check_scoring(estimator, scoring)  # fail early on a bad name
        self._data: list[tuple[Any, ...]] | None = None

    @property
    def direction(self) -> str | tuple[str, ...]:
        """The study's direction: scores (scikit-learn's scorers, ``score``) are better
        when higher, seconds when fewer."""
        directions = _DIRECTIONS[self.objectives]
        return directions[0] if len(directions) == 1 else directions

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_data"] = None  # rebuilt where it is used, not shipped to workers
        return state

    def fold_data(self) -> list[tuple[Any, ...]]:
        """``(X_train, y_train, X_val, y_val, w_train, w_val)`` per fold, through a
        Pipeline's first steps (fitted on the fold's training part) and scaled if
        asked (weights None without ``sample_weight``); built once."""
        if self._data is None:
            self._data = []
            w = self.sample_weight
            for train, test in self.folds:
                X_tr, X_te = _rows(self.X, train), _rows(self.X, test)
                if self.steps is not None:
                    steps = clone(self.steps).fit(X_tr, self.y[train])
                    X_tr, X_te = steps.transform(X_tr), steps.transform(X_te)
                if self.scale:
                    scaler = StandardScaler(with_mean=not sp.issparse(X_tr)).fit(X_tr)
                    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
                weights = (None, None) if w is None else (w[train], w[test])
                self._data.append((X_tr, self.y[train], X_te, self.y[test], *weights))
        return self._data

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        # Short trials rarely converge; the warning would repeat for most of them.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self._run(trial)

    def _run(self, trial: optuna.Trial) -> float | tuple[float, float]:
        params = self.space.suggest(trial)
        scorer = _fold_scorer(self.estimator, self.scoring)
        folds = self.fold_data()
        # Seconds each fold spends training and scoring: cv_results_' fit and score times.
        times = {"fold_fit_times": [0.0] * len(folds), "fold_score_times": [0.0] * len(folds)}
        fitting, scoring = times["fold_fit_times"], times["fold_score_times"]
        estimators = [clone(self.estimator).set_params(**params) for _ in folds]
        # The folds train as one stacked model where they can (fit_epochs_together).
        epochs = fit_epochs_together(
            estimators, [(X_tr, y_tr, w_tr) for X_tr, y_tr, _, _, w_tr, _ in folds], fitting
        )

        def score(k: int) -> float:
            _, _, X_te, y_te, _, w_te = folds[k]
            weighted = {} if w_te is None else {"sample_weight": w_te}
            with _timed(scoring, k):
                return scorer(estimators[k], X_te, y_te, **weighted)

        prunable = len(self.objectives) == 1
        curves: dict[str, list[float]] = {"loss": [], "score": [], "lr": []}
        scores = [math.nan] * len(folds)
        epoch = 0
        try:
            for results in epochs:
                epoch += 1
                for result in results.values():
                    if isinstance(result, DivergenceError):
                        raise result
                for k in results:
                    scores[k] = score(k)
                mean = float(np.mean(scores))
                curves["loss"].append(float(np.mean([r.loss for r in results.values()])))
                curves["score"].append(mean)
                curves["lr"].append(float(np.mean([r.learning_rate for r in results.values()])))
                if prunable:
                    trial.report(mean, epoch)
                if prunable and trial.should_prune():
                    _record(trial, curves, scores, times, epoch, f"pruned at epoch {epoch}")
                    raise optuna.TrialPruned(f"pruned at epoch {epoch}")
        except DivergenceError as exc:
            reason = f"diverged at epoch {exc.epoch}: {exc}"
            _record(trial, curves, scores, times, exc.epoch, reason)
            raise Diverged(reason) from None
        # Final scores: early stopping may have restored the best epoch's weights.
        final = [score(k) for k in range(len(folds))]
        _record(trial, curves, final, times, epoch, "complete")
        score = float(np.mean(final))
        return score if prunable else (score, float(sum(fitting)))


def _fold_scorer(estimator: Any, scoring: Any) -> Any:
    """The scorer of a trial's folds after each epoch: ``scoring``'s, or for a classifier's
    accuracy or a regressor's R^2 (its own score, or named) from its predictions directly
    (:class:`_PredictionScore`)."""
    if scoring in (None, "accuracy") and is_classifier(estimator):
        ours = isinstance(estimator, LogisticClassifier | MLPClassifier)
        return _PredictionScore(_accuracy, checks_once=ours)
    if scoring in (None, "r2") and isinstance(estimator, LinearRegressor | MLPRegressor):
        return _PredictionScore(r2_score, checks_once=True)  # what RegressorMixin.score does
    return check_scoring(estimator, scoring)


def _accuracy(y: np.ndarray, predicted: np.ndarray, sample_weight: Any = None) -> float:
    """``accuracy_score`` for labels the objective checked once: scikit-learn checks the
    labels on every call, which took five times as long as the prediction itself
    (digits, 32 hidden units), and the objective scores every fold after every epoch."""
    return float(np.average(predicted == y, weights=sample_weight))


class _PredictionScore:
    """``metric(y, estimator.predict(X), sample_weight=...)``: an estimator's own score.

    With ``checks_once`` (our networks), the input of a fold is checked at its
    first prediction only: the folds are the objective's own arrays, the same at
    every epoch, and checking them again cost more than predicting.
    """

    def __init__(self, metric: Any, checks_once: bool = False):
        self._metric = metric
        self._checked: set[int] | None = set() if checks_once else None

    def __call__(self, estimator: Any, X: Any, y: np.ndarray, sample_weight: Any = None) -> float:
        if self._checked is None:
            predicted = estimator.predict(X)
        else:
            plain = isinstance(X, np.ndarray) or (sp.issparse(X) and X.format == "csr")
            plain = plain and X.dtype in (np.float32, np.float64)  # as a check leaves them
            predicted = estimator.predict(X, check_input=not (plain and id(X) in self._checked))
            self._checked.add(id(X))
        return float(self._metric(y, predicted, sample_weight=sample_weight))


@contextmanager
def _timed(totals: list[float], k: int) -> Iterator[None]:
    """Add the seconds the ``with`` block takes to ``totals[k]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        totals[k] += time.perf_counter() - start


def _record(
    trial: optuna.Trial, curves, scores, times: dict[str, list[float]], epochs: int, end: str
) -> None:
    trial.set_user_attr("curves", curves)
    trial.set_user_attr("fold_scores", [float(s) for s in scores])
    for name, seconds in times.items():
        trial.set_user_attr(name, seconds)
    trial.set_user_attr("epochs", int(epochs))
    trial.set_user_attr("end", end)
