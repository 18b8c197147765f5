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
    lr = 1e-3                  # out take their class's default (repeat the table for more)

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
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import optim

from .data import DataSpec, check_data
from .errors import StudyFileError
from .space import DEFAULT_OPTIMIZERS, DEFAULT_SCHEDULES, Dimension, SearchSpace
from .study.allocation import ALLOCATIONS
from .study.pruning import fair_pruner_spec
from .study.samplers import (
    DEFAULT_PRUNER,
    PRUNERS,
    SAMPLERS,
    SINGLE_OBJECTIVE_SAMPLERS,
    make_pruner,
    make_sampler,
)
from .study.storage import check_storage_url, check_study_name, mask_url
from .tomlfile import TomlTable, read_toml, toml_type

__all__ = [
    "ComponentSpec",
    "DataSpec",
    "StudyFileError",
    "StudySpec",
    "estimator_names",
    "load_study_file",
    "requested_workers",
]

#: Estimator parameters that the search space sets, so a study file must not.
_SPACE_OWNED = ("optimizer", "schedule")


def estimator_names() -> tuple[str, ...]:
    """Estimator classes a study file may name: the estimators of ``tuner.estimators``.

    Imported when a file is read, not with this module: scikit-learn takes two
    seconds to import, which the command line's help should not wait for.
    """
    from sklearn.base import BaseEstimator

    from . import estimators

    return tuple(
        name
        for name in estimators.__all__
        if isinstance(getattr(estimators, name), type)
        and issubclass(getattr(estimators, name), BaseEstimator)
    )


@dataclass(frozen=True)
class ComponentSpec:
    """An Optuna sampler or pruner chosen by name, with options for its constructor."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """``{"name": ..., **options}``, the form ``tuner.study.run_study`` takes."""
        return {"name": self.name, **self.options}


@dataclass(frozen=True)
class StudySpec:
    """A validated study file; the module docstring describes each key.

    Attributes
    ----------
    name, description, path : str, str, Path
        Study name (safe as a folder name), free text, the study file.
    data, scale : DataSpec, bool
        The data source; standard-scale the features before the estimator.
    estimator, estimator_params : str, dict
        Class name in ``tuner.estimators``; its fixed parameters.
    optimizers, schedules : tuple of str
        Registered names (canonical spelling) the search chooses from.
    params, estimator_space : dict
        Optimizer and schedule overrides (keyed ``"lr"`` or ``"adam.lr"``) and
        estimator parameters to search: fixed values, ``{"low", "high", "log"}``
        ranges or lists of choices, as :class:`tuner.space.SearchSpace` takes them.
    n_trials, timeout, seed, storage, n_jobs
        ``study.*``; a None storage is the default journal under ``reports/``.
    cv, holdout_fraction, scoring, allocation, confidence
        ``study.*``; a None scoring is the estimator's own ``score``.
    objectives : tuple of str
        ``("score",)``, or ``("score", "fit_time")`` for a two-objective study.
    sampler, pruner : ComponentSpec
        Optuna sampler and pruner; the pruner's options include its fair grouping
        (``group_by``) and warm-up (``n_warmup_steps``), resolved from the estimator
        and the space (:func:`tuner.pruning.fair_pruner_spec`).
    test_fraction, final_seeds : float, int
        ``evaluate.test_fraction`` and ``evaluate.seeds``.
    baselines : tuple of dict
        ``[[study.baseline]]``: configurations run first (parameters by name; the
        rest of their optimizer's and schedule's at the class defaults).
    """

    name: str
    path: Path
    data: DataSpec
    estimator: str
    description: str = ""
    scale: bool = True
    estimator_params: dict[str, Any] = field(default_factory=dict)
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS
    schedules: tuple[str, ...] = DEFAULT_SCHEDULES
    params: dict[str, Any] = field(default_factory=dict)
    estimator_space: dict[str, Any] = field(default_factory=dict)
    n_trials: int = 100
    timeout: float | None = None
    cv: int | Literal["holdout"] = 3
    holdout_fraction: float = 0.2
    scoring: str | None = None
    sampler: ComponentSpec = field(default_factory=lambda: ComponentSpec("tpe"))
    pruner: ComponentSpec = field(default_factory=lambda: ComponentSpec(DEFAULT_PRUNER))
    allocation: str = "equal"
    confidence: float = 0.95
    seed: int | None = None
    storage: str | None = None
    n_jobs: int = 1
    test_fraction: float = 0.2
    final_seeds: int = 5
    baselines: tuple[dict[str, Any], ...] = ()
    objectives: tuple[str, ...] = ("score",)

    def to_attrs(self) -> dict[str, Any]:
        """The spec as JSON-compatible values, for a study's user attributes."""
        out = dataclasses.asdict(self)
        out["path"] = str(self.path.resolve())
        origin = self.data.origin
        out["data"]["origin"] = None if origin is None else str(origin.resolve())
        out["storage"] = None if self.storage is None else mask_url(self.storage)
        return json.loads(json.dumps(out))  # tuples become lists, as a storage returns them

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> StudySpec:
        """The spec :meth:`to_attrs` recorded (raises ``ValueError`` on another layout)."""
        try:
            values = dict(attrs)
            data = dict(values.pop("data"))
            origin = data.pop("origin")
            return cls(
                path=Path(values.pop("path")),
                data=DataSpec(**data, origin=None if origin is None else Path(origin)),
                optimizers=tuple(values.pop("optimizers")),
                schedules=tuple(values.pop("schedules")),
                sampler=ComponentSpec(**values.pop("sampler")),
                pruner=ComponentSpec(**values.pop("pruner")),
                baselines=tuple(values.pop("baselines", ())),
                objectives=tuple(values.pop("objectives", ("score",))),
                **values,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a recorded study spec: {exc}") from None


# -- [study] and [evaluate] ----------------------------------------------------------------
_STUDY_KEYS = (
    "name", "description", "n_trials", "timeout", "seed", "n_jobs", "storage", "sampler",
    "pruner", "allocation", "confidence", "cv", "holdout_fraction", "scoring", "baseline",
    "objectives",
)  # fmt: skip
#: The objectives a study file may name, as their lists: the score, or the score and the
#: seconds a trial's folds train.
OBJECTIVES = (("score",), ("score", "fit_time"))


def _read_study(study: TomlTable, default_name: str) -> dict[str, Any]:
    from sklearn.metrics import get_scorer_names

    seed = study.get("seed", "an integer", default=None, bounds=">= 0")
    if seed is not None:
        study.bound("seed", seed, "< 2**32")
    cv = study.get("cv", "an integer", "a string", default=3)
    if isinstance(cv, str) and cv != "holdout":
        raise study.error("cv", reason=f'expected a number of folds or "holdout", got {cv!r}')
    fraction = study.get("holdout_fraction", "a number", default=None, bounds="in (0, 1)")
    if fraction is not None and cv != "holdout":
        raise study.error("holdout_fraction", reason='only used with cv = "holdout"')
    name = study.get("name", "a string", default=default_name)
    named = "" if "name" in study.values else " (taken from the file name; set study.name)"
    with study.blame("name", hint=named):
        name = check_study_name(name)
    storage = study.get("storage", "a string", default=None)
    with study.blame("storage"):
        storage = None if storage is None else check_storage_url(storage)
    objectives = _read_objectives(study)
    return {
        "objectives": objectives,
        "name": name,
        "description": study.get("description", "a string", default=""),
        "n_trials": study.get("n_trials", "an integer", default=100, bounds=">= 1"),
        "timeout": study.get("timeout", "a number", default=None, bounds="> 0"),
        "seed": seed,
        "n_jobs": study.get("n_jobs", "an integer", default=1, bounds=">= 1, or -1 (all cores)"),
        "storage": storage,
        "sampler": _read_component(study, "sampler", SAMPLERS, make_sampler, seed),
        "pruner": _read_component(
            study, "pruner", PRUNERS, make_pruner, default="none" if len(objectives) > 1 else None
        ),
        "allocation": study.choose("allocation", ALLOCATIONS, "allocation", default="equal"),
        "confidence": float(study.get("confidence", "a number", default=0.95, bounds="in (0, 1)")),
        "cv": cv if isinstance(cv, str) else study.bound("cv", cv, ">= 2"),
        "holdout_fraction": 0.2 if fraction is None else fraction,
        "scoring": study.choose("scoring", sorted(get_scorer_names()), "scorer", default=None),
    }


def _read_objectives(study: TomlTable) -> tuple[str, ...]:
    """``study.objectives``, and what two objectives rule out: pruning, CMA-ES."""
    objectives = tuple(study.get("objectives", "an array", default=["score"]))
    if objectives not in OBJECTIVES:
        allowed = " or ".join(json.dumps(list(o)) for o in OBJECTIVES)
        raise study.error("objectives", reason=f"expected {allowed}, got {list(objectives)!r}")
    if len(objectives) > 1:
        pruner = study.values.get("pruner", "none")
        pruner = pruner.get("name") if isinstance(pruner, dict) else pruner
        if pruner != "none":
            raise study.error(
                "pruner", reason=f"a study of {len(objectives)} objectives cannot prune its "
                f"trials (Optuna prunes single-objective studies only): leave it out or set "
                f'"none", got {pruner!r}'
            )  # fmt: skip
        sampler = study.values.get("sampler")
        sampler = sampler.get("name") if isinstance(sampler, dict) else sampler
        if sampler in SINGLE_OBJECTIVE_SAMPLERS:
            raise study.error(
                "sampler", reason=f"{sampler!r} searches one objective; with "
                f"{len(objectives)} choose tpe, random, qmc, gp or nsga2"
            )  # fmt: skip
    return objectives


def _read_evaluate(evaluate: TomlTable) -> dict[str, Any]:
    fraction = evaluate.get("test_fraction", "a number", default=0.2, bounds="in [0, 1)")
    seeds = evaluate.get("seeds", "an integer", default=5, bounds=">= 1")
    return {"test_fraction": float(fraction), "final_seeds": seeds}


def _read_component(
    study: TomlTable,
    key: str,
    names: Mapping[str, Any],
    make: Callable[..., Any],
    *args: Any,
    default: str | None = None,
) -> ComponentSpec:
    """A sampler or pruner: a name, or a table of ``name`` plus constructor options
    (``default``, or else the first of ``names``, when absent).

    It is built here once so that bad options fail now rather than in every worker.
    """
    raw = study.get(key, "a string", "a table", default=default or next(iter(names)))
    if isinstance(raw, str):
        name, options = study.choose(key, names, key, default=raw), {}
    else:
        table = study.table(key)
        name = table.choose("name", names, key)
        options = {k: v for k, v in raw.items() if k != "name"}
        # The seed comes from study.seed; any other constructor argument is an option.
        accepted = set(inspect.signature(type(_build(study, key, make, name, *args))).parameters)
        if key == "pruner":  # the fair pruner's warm-up, whatever the pruner
            accepted.add("n_warmup_steps")
        table.only({"name", *accepted} - {"seed"})
    _build(study, key, make, name, *args, **options)
    return ComponentSpec(name, options)


def _build(study: TomlTable, key: str, make: Callable[..., Any], /, *args: Any, **options: Any):
    """``make(*args, **options)``, its errors reported at ``study.<key>``."""
    with warnings.catch_warnings(), study.blame(key):
        warnings.simplefilter("ignore")  # "experimental feature" warnings mean nothing here
        return make(*args, **options)


def _read_baselines(
    study: TomlTable, space: Mapping[str, Any], estimator: type, estimator_params: dict[str, Any]
) -> tuple[dict[str, Any], ...]:
    """``[[study.baseline]]``: tables of parameters, each a configuration of the space
    whose values its optimizer, schedule and estimator accept."""
    searched = SearchSpace(space["optimizers"], space["schedules"], params=space["params"],
                           estimator_params=space["estimator_space"])  # fmt: skip
    out = []
    for i, entry in enumerate(study.get("baseline", "an array", default=[])):
        where = f"{study.name}.baseline[{i}]"
        if not isinstance(entry, dict):
            raise StudyFileError(study.path, where, f"expected a table, got {toml_type(entry)}")
        try:
            built = searched.build(searched.complete(entry))  # the classes check the values
            estimator(**{**estimator_params, **built}).check_params()
        except (ValueError, TypeError) as exc:
            raise StudyFileError(study.path, where, str(exc)) from None
        out.append(entry)
    return tuple(out)


# -- [data] and [estimator] ------------------------------------------------------------
_SOURCES = ("dataset", "generator", "csv")


def _read_data(data: TomlTable) -> tuple[DataSpec, bool]:
    given = [k for k in _SOURCES if k in data.values]
    if len(given) != 1:
        found = f"; found {', '.join(given)}" if given else ""
        raise StudyFileError(
            data.path, data.name, f"give exactly one of {', '.join(_SOURCES)}{found}"
        )
    kind = given[0]
    for key, owner in (("args", "generator"), ("target", "csv")):
        if key in data.values and kind != owner:
            raise data.error(key, reason=f"only used with {owner}")
    spec = DataSpec(
        kind=kind,
        name=data.get(kind, "a string"),
        args=data.get("args", "a table", default={}),
        target=data.get("target", "a string") if kind == "csv" else None,
        origin=data.path,
    )
    check_data(spec)  # tuner.data knows what it can load
    return spec, data.get("scale", "a boolean", default=True)


def _estimator_params(parent: TomlTable, key: str, cls: type) -> TomlTable:
    """The estimator parameters at ``key``: arguments of ``cls`` except the optimizer
    and the schedule, which the search space sets."""
    table = parent.table(key)
    for name in _SPACE_OWNED:
        if name in table.values:
            raise table.error(name, reason=f"set by the search space: use space.{name}s")
    return table.only(set(inspect.signature(cls).parameters) - set(_SPACE_OWNED))


def _estimator_check(cls: type, name: str) -> Callable[[Any], Any]:
    """Check one value of the estimator parameter ``name`` as a fit of ``cls`` would
    (its ``check_params``), the other parameters at their defaults."""
    return lambda value: cls(**{name: value}).check_params()


def _read_estimator(est: TomlTable) -> tuple[type, dict[str, Any]]:
    from . import estimators

    cls = getattr(estimators, est.choose("class", estimator_names(), "estimator"))
    params = _estimator_params(est, "params", cls)
    for key, value in params.values.items():  # a fixed value, even a list
        fixed = Dimension("estimator", key, value=value)
        _try_values(params, key, fixed, _estimator_check(cls, key))
    return cls, params.values


# -- [space] ---------------------------------------------------------------------------
def _check_form(table: TomlTable, key: str) -> None:
    """A fixed value, a list of choices, or a range whose ends are numbers: what TOML
    allows beyond that (tables, dates) is no value of a parameter."""
    value = table.values[key]
    if isinstance(value, dict):
        rng = table.table(key, ("low", "high", "log"))
        for end in ("low", "high"):
            rng.get(end, "a number", default=None)
        rng.get("log", "a boolean", default=False)
    elif any(toml_type(v) in ("table", "date/time") for v in _as_list(value)):
        raise table.error(key, reason=f"expected values, arrays or a range, got {value!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _values(dim: Dimension) -> list[tuple[tuple[str, ...], Any]]:
    """``(end key, value)`` of each value the search may give ``dim``, as far as a check
    can tell: a fixed value, each choice, or each end of a range."""
    spec = dim.spec
    if spec is None:
        return [((), dim.value)]
    if spec.kind == "categorical":
        return [((), choice) for choice in spec.choices]
    return [(("low",), spec.low), (("high",), spec.high)]


def _try_values(table: TomlTable, key: str, dim: Dimension, make: Callable[[Any], Any]) -> None:
    """Call ``make`` (a class or an estimator's check) on each value of ``dim``, so
    that the owner's own check speaks now: a value it refuses would fail every trial."""
    value = table.values[key]
    for end, candidate in _values(dim):
        try:
            make(candidate)
        except (TypeError, ValueError) as exc:
            hint = ""
            if isinstance(value, list) and _accepts(make, value):
                hint = "; a list gives choices: write [[...]] to fix a list value"
            raise table.error(key, *end, reason=f"{exc}{hint}") from None


def _accepts(make: Callable[[Any], Any], value: Any) -> bool:
    try:
        make(value)
    except (TypeError, ValueError):
        return False
    return True


def _registry_names(
    space: TomlTable, key: str, lookup: Callable[[str], type], default: Iterable[str]
) -> tuple[str, ...]:
    """Canonical registry names of the optimizers or schedules listed at ``key``."""
    names = space.get(key, "an array", default=list(default))
    if not names:
        raise space.error(key, reason=f"name at least one {key.removesuffix('s')}")
    with space.blame(key):
        names = tuple(optim.name_of(lookup(name)) for name in names)
        SearchSpace(**{key: names})  # a name given twice
    return names


def _class_of(scope: str) -> type:
    """The class of a dimension's scope (``"optimizer:adam"``)."""
    kind, _, name = scope.partition(":")
    return (optim.optimizer_class if kind == "optimizer" else optim.schedule_class)(name)


def _class_check(cls: type, name: str, needed: Mapping[str, Any]) -> Callable[[Any], Any]:
    """Build ``cls`` with one value of ``name`` and the ``needed`` arguments it has no
    default for, the others at their defaults: its error is about this value alone."""
    return lambda value: cls(**{**needed, name: value})


def _required(cls: type) -> set[str]:
    """Constructor arguments of ``cls`` without a default."""
    return {p for p, v in inspect.signature(cls).parameters.items() if v.default is v.empty}


def _read_params(space: TomlTable, names: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """``[space.params]``, checked by :class:`SearchSpace` key by key (so that an error
    names its key), then all together, then each value by the classes it applies to."""
    params = space.table("params")
    for key in params.values:
        _check_form(params, key)
        with params.blame(key):  # the name alone: None is a fixed value, of no kind
            SearchSpace(**names, params={key: None})
    unset = dict.fromkeys(params.values)  # the others fixed: a kind clash is not this value's
    alone = {}
    for key, value in params.values.items():
        with params.blame(key):
            alone[key] = SearchSpace(**names, params={**unset, key: value})
    with space.blame("params"):  # values fine alone may clash together (one kind per name)
        dims: dict[str, dict[str, Dimension]] = {}
        for dim in SearchSpace(**names, params=params.values).dimensions():
            dims.setdefault(dim.scope, {})[dim.name] = dim
    for kind in ("optimizer", "schedule"):
        for name in names[f"{kind}s"]:
            missing = _required(_class_of(f"{kind}:{name}")) - set(dims.get(f"{kind}:{name}", ()))
            if missing:
                raise space.error(
                    f"{kind}s", reason=f"{name!r} needs {', '.join(sorted(missing))}, which have "
                    f'no default; fix them in [space.params] as "{name}.<parameter>"'
                )  # fmt: skip
    for key, key_space in alone.items():
        pname = key.rpartition(".")[2]
        for dim in key_space.dimensions():
            if dim.value is None:  # declared, or set by another key
                continue
            cls = _class_of(dim.scope)
            needed = {
                p: _values(d)[0][1] for p, d in dims[dim.scope].items() if p in _required(cls)
            }
            _try_values(params, key, dim, _class_check(cls, pname, needed))
    return params.values


def _read_estimator_space(
    space: TomlTable, cls: type, fixed: Mapping[str, Any], names: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    est = _estimator_params(space, "estimator", cls)
    for key, value in est.values.items():
        _check_form(est, key)
        if key in fixed:
            raise est.error(key, reason="also fixed in estimator.params; keep one")
        with est.blame(key):  # the estimator's dimension comes last
            dim = SearchSpace(**names, estimator_params={key: value}).dimensions()[-1]
        check = _estimator_check(cls, key)
        _try_values(est, key, dim, check)
        if getattr(dim.spec, "kind", None) == "int" and _accepts(check, float(dim.spec.low)):
            # Integer ends search integers: not for a real (alpha = { low = 0, high = 1 }).
            value["low"], value["high"] = float(value["low"]), float(value["high"])
    return est.values


def _read_space(space: TomlTable, estimator: type, fixed: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        key: _registry_names(space, key, lookup, default)
        for key, lookup, default in (
            ("optimizers", optim.optimizer_class, DEFAULT_OPTIMIZERS),
            ("schedules", optim.schedule_class, DEFAULT_SCHEDULES),
        )
    }
    return {
        **names,
        "params": _read_params(space, names),
        "estimator_space": _read_estimator_space(space, estimator, fixed, names),
    }


# -- the file ----------------------------------------------------------------------------
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
