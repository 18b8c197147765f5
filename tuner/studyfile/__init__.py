"""Study files: a TOML description of a tuning study, parsed into a validated :class:`StudySpec`.

Every table and key is optional except ``[data]`` and ``estimator.class``::

    [study]
    name = "digits-mlp"        # default: the file name without ".toml"; letters, digits, . _ -
    description = "..."        # free text
    n_trials = 60              # trials to run, >= 1 (default 100)
    timeout = 600              # seconds after which no new trial starts (default: none)
    seed = 0                   # sampler seed (default: none, i.e. random); with n_jobs = 1
                               # a first run draws the same trials every time; with more
                               # workers, which draws which trial depends on timing
    n_jobs = 2                 # worker processes, >= 1 or -1 for one per core (default 1)
    storage = "sqlite:///s.db" # Optuna storage URL or journal file path
                               # (default: reports/<name>/journal.log)
    objectives = ["score"]     # or ["score", "fit_time"]: a two-objective study of the score
                               # against the seconds its folds train, whose page shows each
                               # optimizer's Pareto front; no pruning (default ["score"])
    sampler = "tpe"            # tpe | random | qmc | cmaes | gp | nsga2, or a table (below)
    allocation = "equal"       # equal: every optimizer gets n_trials / n_optimizers trials,
                               # searched on its own; adaptive: the sampler picks the
                               # optimizer (for the best model only) (default "equal")
    confidence = 0.95          # the verdict names a leader only at this confidence
    pruner = "successive_halving"  # successive_halving | median | none, or a table (below);
                               # "none" with two objectives
    cv = 3                     # folds (>= 2), or "holdout" (default 3)
    holdout_fraction = 0.2     # with cv = "holdout" only; in (0, 1) (default 0.2)
    scoring = "accuracy"       # a name from sklearn.metrics.get_scorer_names()
                               # (default: the estimator's own score)

    [study.sampler]            # instead of sampler = "tpe": a name plus the options
    name = "tpe"               # of the Optuna class (the seed comes from study.seed)
    n_startup_trials = 10

    [study.pruner]             # likewise; every pruner also takes n_warmup_steps
    name = "median"
    n_warmup_steps = 5         # never prune before this epoch (default: max_epochs // 4)

    [[study.baseline]]         # a configuration run first, e.g. the default you would use;
    optimizer = "adam"         # the page compares the tuned ones with it. Parameters left
    lr = 1e-3                  # out take their class's default (repeat the table for more;
                               # at most an optimizer's equal share of n_trials each)

A pruner compares a trial only with trials of its own optimizer (and of its
own schedule when the study lists several), so ``hyperband``, whose brackets
span the whole study, is refused; ``successive_halving`` is one bracket of it.

    [data]                     # exactly one of dataset, generator, csv
    dataset = "digits"         # a bundled scikit-learn dataset: sklearn.datasets.load_<name>
    # generator = "make_classification"   # a sklearn.datasets.make_* function, with
    # [data.args] n_samples = 500         # its keyword arguments (random_state defaults to 0)
    # csv = "data/train.csv"              # relative to this file, all columns numeric
    # target = "label"                    # except the target column (required with csv)
    scale = true               # standard scaling before the estimator (default true)

    [estimator]
    class = "MLPClassifier"    # LinearRegressor | LogisticClassifier | MLPClassifier | MLPRegressor
    params = { hidden_layer_sizes = [64], max_epochs = 30 }   # fixed constructor arguments
                                                # (not optimizer/schedule: [space] sets them)

    [space]
    optimizers = ["sgd", "momentum", "adam"]     # registered names (default: sgd, momentum,
    schedules = ["constant", "step", "cosine"]   # nesterov, adam; constant, step, cosine)

    [space.params]             # optimizer and schedule parameters, plain or scoped by class
    lr = { low = 1e-4, high = 1.0, log = true }  # a range (low/high default to the class's)
    momentum = 0.9                               # a fixed value
    "cosine.t_max" = 30                          # scoped: only for the cosine schedule
    "adam.beta1" = [0.8, 0.9]                    # choices

    [space.estimator]          # estimator parameters to search, same three forms
    alpha = { low = 1e-6, high = 1e-2, log = true }
    hidden_layer_sizes = [[32], [64], [64, 64]]  # choices that are lists
    batch_size = { low = 16, high = 128 }        # an integer parameter draws integers

    [evaluate]                 # after the search (see tuner.final)
    test_fraction = 0.2        # held out before the search, never seen by it; stratified
                               # for classifiers; 0 turns the test split off (default 0.2)
    seeds = 5                  # training seeds of each optimizer's best configuration,
                               # refit on the training part and scored on the test split

Each value is checked when the file is read, by what owns it: the data by
:mod:`tuner.data`, ranges and names by :class:`tuner.space.SearchSpace`, each
optimizer or schedule value by its class, each estimator value by the
estimator's ``check_params``, samplers and pruners by building them. Errors
raise :class:`StudyFileError`, whose one-line message names the file, the
dotted key and the reason (the owner's).

The file is read table by table: :mod:`~tuner.studyfile.study` (``[study]`` and
``[evaluate]``), :mod:`~tuner.studyfile.data`, :mod:`~tuner.studyfile.estimator`,
:mod:`~tuner.studyfile.space` (with the value checks of :mod:`~tuner.studyfile.checks`)
build the :class:`StudySpec` of :mod:`~tuner.studyfile.spec`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data import DataSpec
from ..errors import StudyFileError
from ..study.pruning import fair_pruner_spec
from ..study.samplers import make_pruner
from ..tomlfile import TomlTable, read_toml
from .data import _SOURCES, _read_data
from .estimator import _read_estimator, estimator_names
from .space import _read_space
from .spec import ComponentSpec, StudySpec
from .study import _STUDY_KEYS, OBJECTIVES, _build, _read_baselines, _read_evaluate, _read_study

__all__ = [
    "OBJECTIVES",
    "ComponentSpec",
    "DataSpec",
    "StudyFileError",
    "StudySpec",
    "estimator_names",
    "load_study_file",
    "requested_workers",
]


def requested_workers(
    path: str | Path, n_jobs: int | None = None, n_trials: int | None = None
) -> int | None:
    """Worker processes a run of the file will want, without checking the rest of it.

    ``n_jobs`` and ``n_trials`` (the command's options) win over the file's
    ``study.n_jobs`` and ``study.n_trials``; never more workers than trials.
    Lets the command line start worker processes before :func:`load_study_file`,
    which imports scikit-learn, checks the file; None when the file gives no
    worker count (the check then says why).
    """
    try:
        study = read_toml(Path(path)).get("study", {})
        n_jobs = n_jobs or study.get("n_jobs")
        n_trials = n_trials or study.get("n_trials")
    except (StudyFileError, AttributeError):
        return n_jobs

    def count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    if not (count(n_jobs) or n_jobs == -1):
        return None
    return min(n_jobs, n_trials) if count(n_jobs) and count(n_trials) else n_jobs


def load_study_file(path: str | Path) -> StudySpec:
    """Read and validate a study file.

    Parameters
    ----------
    path : str or Path
        A TOML file laid out as in the module docstring.

    Returns
    -------
    StudySpec

    Raises
    ------
    StudyFileError
        With the file, the dotted key and the reason: the file is missing or not
        TOML, a key is unknown, a value has the wrong type or is out of range,
        or a name (optimizer, schedule, dataset, scorer, ...) is unknown.
    """
    path = Path(path)
    top = TomlTable(path, read_toml(path), "")
    top.only(("study", "data", "estimator", "space", "evaluate"))
    study = _read_study(top.table("study", _STUDY_KEYS), path.stem)
    if "data" not in top.values:
        raise top.error("data", reason="required table is missing")
    data, scale = _read_data(top.table("data", (*_SOURCES, "args", "target", "scale")))
    estimator, estimator_params = _read_estimator(top.table("estimator", ("class", "params")))
    space_keys = ("optimizers", "schedules", "params", "estimator")
    space = _read_space(top.table("space", space_keys), estimator, estimator_params)
    study.update(_read_evaluate(top.table("evaluate", ("test_fraction", "seeds"))))
    study["baselines"] = _read_baselines(top.table("study"), space, estimator, estimator_params)
    spec = fair_pruner_spec(study["pruner"].as_dict(), len(space["schedules"]),
                            getattr(estimator(**estimator_params), "max_epochs", None))  # fmt: skip
    study["pruner"] = ComponentSpec(spec.pop("name"), spec)
    _build(top.table("study"), "pruner", make_pruner, study["pruner"].name, **spec)
    return StudySpec(
        path=path,
        data=data,
        scale=scale,
        estimator=estimator.__name__,
        estimator_params=estimator_params,
        **study,
        **space,
    )
