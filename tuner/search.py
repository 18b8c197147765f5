"""``OptimizerSearchCV``: the scikit-learn face of the tuning studies."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import optuna
import scipy.sparse as sp
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .objective import Objective, final_estimator, for_final, make_folds, with_params
from .space import SearchSpace, schedule_horizon
from .study import run_study
from .study.allocation import ALLOCATIONS, EqualAllocation
from .study.outcomes import counts_towards_budget, error_of, is_baseline
from .study.pool import worker_count
from .study.pruning import fair_pruner_spec
from .study.samplers import DEFAULT_PRUNER
from .study.storage import StudyNotFoundError, load_existing_study, mask_url, open_storage

__all__ = ["OptimizerSearchCV"]


def _best_has(name: str):
    def check(self) -> bool:
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, name)
        if not self.refit:  # as scikit-learn's searches say it
            raise AttributeError(
                f"{name} is available only with refit=True: this search was not refitted "
                "on the whole data; build the estimator from best_params_ instead"
            )
        return hasattr(self.estimator, name)

    return check


class OptimizerSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Search optimizer, learning rate and schedule of an estimator with an Optuna study.

    Each trial trains the estimator with cross-validation, folds in lock step,
    reporting the mean validation score per epoch to the pruner. Trials run in
    ``n_jobs`` worker **processes** (not threads, unlike Optuna's ``n_jobs``).

    Parameters
    ----------
    estimator : estimator
        A ``tuner`` estimator (``LinearRegressor``, ``LogisticClassifier``,
        ``MLPClassifier``, ``MLPRegressor``), or a scikit-learn ``Pipeline``
        that ends with one: its first steps (scaling, encoding) are fitted once
        per fold on the fold's training part, the last trains epoch by epoch,
        and ``best_estimator_`` is the whole Pipeline. A bare estimator's input
        should be scaled beforehand (a Pipeline with a scaler does it per fold).
    space : SearchSpace, optional
        What to search; default: sgd, momentum, nesterov and adam with constant,
        step and cosine schedules. Schedule lengths are capped at the length of a
        fit (``max_epochs``) unless the space sets its own ``horizon``.
    n_trials : int, default=50
        Trials that end on their own (complete, pruned or failed).
    cv : int, "holdout" or splitter, default=5
        Folds, fixed once for the whole search (stratified for classifiers).
    scoring : str or callable, optional
        A scikit-learn scorer; default: the estimator's ``score``.
    n_jobs : int, default=1
        Worker processes (-1: one per core).
    storage : str, optional
        Optuna storage URL or journal file to keep the study in (a study there
        with the same name resumes if it ran on the same data and folds).
        Default: memory with one worker; with several, a temporary journal
        file that they share, copied into memory at the end (``study_``
        outlives the file).
    study_name : str, optional
        Default: a fresh unique name.
    sampler, pruner : str or mapping, optional
        By name with options, as in :func:`tuner.study.run_study`
        (default ``"tpe"`` and ``"successive_halving"``). The pruner compares a trial only
        with trials of its own optimizer (and schedule, when the space has
        several), never before a warm-up of ``max_epochs // 4`` epochs unless
        the mapping sets ``n_warmup_steps`` (:mod:`tuner.pruning`).
    allocation : {"adaptive", "equal"}, default="adaptive"
        ``"adaptive"``: the sampler picks each trial's optimizer, spending more
        trials where it finds good ones (best when only the best model
        matters). ``"equal"``: every optimizer of the space gets
        ``n_trials // n_optimizers`` trials, each searched by its own sampler,
        so that the optimizers are compared on equal budgets
        (:mod:`tuner.allocation`).
    baselines : list of dict, optional
        Configurations to run first, such as the default you would otherwise
        use (``[{"optimizer": "adam", "lr": 1e-3}]``): parameters by name, the
        rest of their optimizer's and schedule's at the class defaults
        (:meth:`tuner.space.SearchSpace.complete`). They count in the budget;
        ``cv_results_["baseline"]`` marks them.
    timeout : float, optional
        Seconds after which no new trial starts.
    refit : bool, default=True
        Refit the best configuration on the whole data as ``best_estimator_``.
    random_state : int, optional
        Seed of the folds and of the samplers.

    Attributes
    ----------
    study_ : optuna.Study
    best_params_ : dict
        The best trial's parameters as sampled (``optimizer``, ``lr``, ...).
    best_score_ : float
        Its mean cross-validated score.
    best_estimator_ : estimator
        Refitted on all the data with the best configuration (``refit=True``).
    n_trials_ : int
        Trials that counted.
    cv_results_ : dict of arrays
        One entry per trial in scikit-learn's layout: ``params``, ``param_<name>``
        (masked where a parameter did not apply), ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time`` and
        ``std_score_time`` (seconds per fold: training, and scoring the
        validation part after every epoch and at the end), plus ``state``,
        ``epochs``, ``end`` and ``baseline`` (a configuration given in
        ``baselines``).
    """

    def __init__(
        self, estimator, space=None, n_trials=50, cv=5, scoring=None, n_jobs=1, storage=None,
        study_name=None, sampler=None, pruner=None, timeout=None, refit=True, random_state=None,
        allocation="adaptive", baselines=None,
    ):  # fmt: skip
        self.estimator = estimator
        self.space = space
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.storage = storage
        self.study_name = study_name
        self.sampler = sampler
        self.pruner = pruner
        self.timeout = timeout
        self.refit = refit
        self.random_state = random_state
        self.allocation = allocation
        self.baselines = baselines

    def fit(self, X, y, sample_weight=None) -> OptimizerSearchCV:
        """Run the study on ``X, y`` and refit the best configuration.

        ``sample_weight`` weights the rows in every fold's training and score,
        and in the refit. With ``storage`` and ``study_name`` given, a study of
        that name resumes,
        provided it was run on the same data and folds: a study of other data
        raises ``ValueError`` (a search cloned per outer fold, as in
        ``cross_val_score``, needs a study name per fold, or none).
        """
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {self.allocation!r}")
        if isinstance(self.scoring, list | tuple | set | dict):
            raise ValueError(
                "scoring must be one scorer (a name or a callable): the search maximizes a "
                f"single score, got {self.scoring!r}"
            )
        seed = self.random_state
        folds = make_folds(self.estimator, X, y, self.cv, random_state=0 if seed is None else seed)
        horizon = schedule_horizon(
            final_estimator(self.estimator), min(len(train) for train, _ in folds)
        )
        space = self.space or SearchSpace()
        if space.horizon is None:  # schedules longer than the training would barely move
            space = space.with_horizon(horizon)
        objective = Objective(
            self.estimator, X, y, space, cv=folds, scoring=self.scoring, scale=False,
            sample_weight=sample_weight,
        )  # fmt: skip
        name = self.study_name or f"search-{uuid.uuid4().hex[:12]}"
        data = _fingerprint(objective)
        if self.storage and self.study_name:
            _check_same_data(self.storage, name, data)
        with _search_storage(self.storage, self.n_jobs) as storage:
            study = run_study(
                objective, study_name=name, n_trials=self.n_trials, storage=storage,
                n_jobs=self.n_jobs, sampler=self.sampler or "tpe", pruner=self._pruner(space),
                seed=seed, timeout=self.timeout, progress=False,
                study_attrs={"data": data, "allocation": self.allocation},
                baselines=[space.complete(b) for b in self.baselines or ()],
                allocation=(
                    EqualAllocation(tuple(space.optimizers)) if self.allocation == "equal" else None
                ),
            )  # fmt: skip
            if isinstance(storage, str) and not self.storage:  # outlive the temporary file
                study = _in_memory(name, storage)
        self.study_ = study
        self.cv_results_ = _cv_results(study, len(objective.folds))
        self.n_trials_ = len(self.cv_results_["params"])
        try:
            best = study.best_trial
        except ValueError:
            raise ValueError(
                f"no trial of the search completed ({self.n_trials_} ran); "
                "see cv_results_['end'] for why"
            ) from None
        self.best_params_ = dict(best.params)
        self.best_score_ = float(best.value)
        self.best_index_ = [t.number for t in _counted(study)].index(best.number)
        self.n_features_in_ = objective.X.shape[1]
        if self.refit:
            self.best_estimator_ = with_params(self.estimator, space.build(best.params))
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            self.best_estimator_.fit(X, y, **for_final(self.estimator, weights))
            if hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
        return self

    def _pruner(self, space: SearchSpace) -> dict[str, Any]:
        """The pruner spec, made fair across the space's optimizers and schedules."""
        pruner = self.pruner or DEFAULT_PRUNER
        spec = {"name": pruner} if isinstance(pruner, str) else dict(pruner)
        spec.setdefault("name", DEFAULT_PRUNER)
        epochs = getattr(final_estimator(self.estimator), "max_epochs", None)
        return fair_pruner_spec(spec, len(space.schedules), epochs)

    @available_if(_best_has("predict"))
    def predict(self, X):
        """Predict with ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_best_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_best_has("decision_function"))
    def decision_function(self, X):
        """Decision function of ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    def score(self, X, y=None):
        """Score of ``best_estimator_`` (its own ``score``, or ``scoring`` if given)."""
        check_is_fitted(self, "best_estimator_")
        if self.scoring is None:
            return self.best_estimator_.score(X, y)
        from sklearn.metrics import check_scoring

        return check_scoring(self.best_estimator_, self.scoring)(self.best_estimator_, X, y)

    def __sklearn_tags__(self):
        # A classifier's search is a classifier: cross_val_score then stratifies its folds.
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags


@contextlib.contextmanager
def _search_storage(storage: str | None, n_jobs: int) -> Iterator[str | InMemoryStorage]:
    """Where a search keeps its study: the given storage; else, for one worker, memory
    (the study lives in this process); for several, a temporary journal they share."""
    if storage:
        yield storage
    elif worker_count(n_jobs) == 1:
        yield InMemoryStorage()
    else:
        with tempfile.TemporaryDirectory(prefix="tuner-search-") as folder:
            yield str(Path(folder) / "journal.log")


def _in_memory(name: str, journal: str) -> optuna.Study:
    """Study ``name`` of file ``journal`` copied into memory: it outlives the file and
    pickles with the search."""
    memory = InMemoryStorage()
    optuna.copy_study(from_study_name=name, from_storage=open_storage(journal), to_storage=memory)
    return optuna.load_study(study_name=name, storage=memory)


def _fingerprint(objective: Objective) -> str:
    """A hash of the values of the data, weights and folds (not of their memory layout:
    a DataFrame's array is column-ordered, the same values from NumPy row-ordered)."""
    X = objective.X
    if sp.issparse(X):
        X = X.tocsr().sorted_indices()
        X = (X.shape, X.data, X.indices, X.indptr)
    else:
        X = np.ascontiguousarray(X)
    arrays = (objective.y, objective.sample_weight, *(i for f in objective.folds for i in f))
    return joblib.hash((X, *(None if a is None else np.ascontiguousarray(a) for a in arrays)))


def _check_same_data(storage: str, name: str, data: str) -> None:
    """Refuse to resume study ``name`` if it was run on other data or folds."""
    try:
        study = load_existing_study(storage, name)
    except StudyNotFoundError:
        return
    if study.user_attrs.get("data", data) != data:
        raise ValueError(
            f"study {name!r} in {mask_url(storage)} was run on other data or folds; "
            "give another study_name (or none) to search this data"
        )


def _counted(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that ended on their own, in number order."""
    return [t for t in study.get_trials(deepcopy=False) if counts_towards_budget(t)]


def _cv_results(study: optuna.Study, n_splits: int) -> dict[str, Any]:
    trials = _counted(study)
    names = list(dict.fromkeys(k for t in trials for k in t.params))
    results: dict[str, Any] = {"params": [dict(t.params) for t in trials]}
    for name in names:
        values = np.ma.masked_all(len(trials), dtype=object)
        for i, t in enumerate(trials):
            if name in t.params:
                values[i] = t.params[name]
        results[f"param_{name}"] = values
    splits = np.full((len(trials), n_splits), np.nan)
    for i, t in enumerate(trials):
        if t.state == TrialState.COMPLETE:
            splits[i] = t.user_attrs.get("fold_scores", [np.nan] * n_splits)
    for k in range(n_splits):
        results[f"split{k}_test_score"] = splits[:, k]
    mean = splits.mean(axis=1)
    results["mean_test_score"] = mean
    results["std_test_score"] = splits.std(axis=1)
    # Like scikit-learn: best is rank 1, trials without a score rank last.
    filled = np.where(np.isnan(mean), -np.inf, mean)
    results["rank_test_score"] = rankdata(-filled, method="min").astype(np.int32)
    # Per-fold seconds as the objective records them (NaN for a trial that failed first).
    for kind in ("fit", "score"):
        seconds = np.array(
            [t.user_attrs.get(f"fold_{kind}_times", [np.nan] * n_splits) for t in trials],
            dtype=float,
        ).reshape(len(trials), n_splits)
        results[f"mean_{kind}_time"] = seconds.mean(axis=1)
        results[f"std_{kind}_time"] = seconds.std(axis=1)
    results["state"] = np.array([t.state.name.lower() for t in trials], dtype=object)
    results["epochs"] = np.array([t.user_attrs.get("epochs", 0) for t in trials])
    results["end"] = np.array(
        [t.user_attrs.get("end") or error_of(t) or "" for t in trials], dtype=object
    )
    results["baseline"] = np.array([is_baseline(t) for t in trials])
    return results
