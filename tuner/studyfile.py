"""Study files: a TOML description of a tuning study, parsed into a validated :class:`StudySpec`.

Every table and key is optional except ``[data]`` and ``estimator.class``::

    [study]
    name = "digits-mlp"        # default: the file name without ".toml"; letters, digits, . _ -
    description = "..."        # free text
    n_trials = 60              # trials to run, >= 1 (default 100)
    timeout = 600              # seconds after which no new trial starts (default: none)
    seed = 0                   # sampler seed (default: none, i.e. random)
    n_jobs = 2                 # worker processes, >= 1 or -1 for one per core (default 1)
    storage = "sqlite:///s.db" # Optuna storage URL or journal file path
                               # (default: reports/<name>/journal.log)
    sampler = "tpe"            # tpe | random | qmc | cmaes | gp, or a table (below)
    allocation = "equal"       # equal: every optimizer gets n_trials / n_optimizers trials,
                               # searched on its own; adaptive: the sampler picks the
                               # optimizer (for the best model only) (default "equal")
    confidence = 0.95          # the verdict names a leader only at this confidence
    pruner = "successive_halving"  # successive_halving | median | none, or a table (below)
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

Estimator values, fixed or searched, are checked against the estimator's own
parameter constraints when the file is read.

Errors raise :class:`StudyFileError`, whose one-line message names the file,
the dotted key and the reason.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import numbers
import re
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import optim

from .allocation import ALLOCATIONS
from .pruning import fair_pruner_spec
from .samplers import DEFAULT_PRUNER, PRUNERS, SAMPLERS, make_pruner, make_sampler
from .space import DEFAULT_OPTIMIZERS, DEFAULT_SCHEDULES, SearchSpace
from .storage import check_storage_url, check_study_name, mask_url

__all__ = [
    "ComponentSpec",
    "DataSpec",
    "StudyFileError",
    "StudySpec",
    "estimator_names",
    "load_study_file",
    "requested_workers",
]


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


#: Estimator parameters that the search space sets, so a study file must not.
_SPACE_OWNED = ("optimizer", "schedule")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MISSING = object()


class StudyFileError(ValueError):
    """A study file that cannot be read or is invalid.

    Parameters
    ----------
    path : str or Path
        The study file.
    key : str
        Dotted key of the offending value (``"space.params.lr.low"``); empty
        when the file as a whole is at fault (missing, not TOML).
    reason : str
        What is wrong and what was expected.
    """

    def __init__(self, path: str | Path, key: str, reason: str):
        self.path, self.key, self.reason = str(path), key, reason
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {reason}")

    def __reduce__(self):  # keep the three fields when sent to or from a worker process
        return type(self), (self.path, self.key, self.reason)


@dataclass(frozen=True)
class DataSpec:
    """Where a study's data comes from (read by :func:`tuner.data.load_data`).

    Attributes
    ----------
    kind : {"dataset", "generator", "csv"}
        A bundled scikit-learn dataset, a ``make_*`` generator or a CSV file.
    name : str
        The dataset name, the generator function name or the CSV path as written.
    args : dict
        Keyword arguments of the generator.
    target : str or None
        Target column of the CSV file.
    origin : Path or None
        The study file: named in errors; relative CSV paths start from its folder.
    """

    kind: Literal["dataset", "generator", "csv"]
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    origin: Path | None = None


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
    """A validated study file; see the module docstring for the TOML keys.

    Attributes
    ----------
    name, description : str
        Study name (safe as a folder name) and free text.
    path : Path
        The study file.
    data : DataSpec
        The data source.
    scale : bool
        Standard-scale the features before the estimator.
    estimator : str
        Class name in ``tuner.estimators``.
    estimator_params : dict
        Fixed estimator parameters.
    optimizers, schedules : tuple of str
        Registered names (canonical spelling) the search chooses from.
    params : dict
        Overrides of optimizer and schedule parameters, keyed ``"lr"`` or
        ``"adam.lr"``: a fixed value, ``{"low", "high", "log"}`` or a list of choices.
    estimator_space : dict
        Estimator parameters to search, same forms.
    n_trials : int
        Number of trials.
    timeout : float or None
        Seconds after which no new trial starts.
    cv : int or "holdout"
        Cross-validation folds, or a single holdout split.
    holdout_fraction : float
        Share of the data held out when ``cv == "holdout"``.
    scoring : str or None
        scikit-learn scorer name; None for the estimator's ``score``.
    sampler, pruner : ComponentSpec
        Optuna sampler and pruner; the pruner's options include its fair
        grouping (``group_by``) and warm-up (``n_warmup_steps``), resolved
        from the estimator and the space (:func:`tuner.pruning.fair_pruner_spec`).
    allocation : {"equal", "adaptive"}
        How trials are shared among optimizers (:mod:`tuner.allocation`).
    confidence : float
        Confidence at which the verdict names a leader.
    test_fraction : float
        Share of the data held out as the test split (0: none).
    final_seeds : int
        Training seeds of each optimizer's final fits on the test split.
    seed : int or None
        Sampler seed.
    storage : str or None
        Optuna storage URL or journal path; None for the default under ``reports/``.
    n_jobs : int
        Worker processes (-1: one per core).
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
                **values,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a recorded study spec: {exc}") from None


# -- reading tables --------------------------------------------------------------------
_KINDS: dict[str, Callable[[Any], bool]] = {
    "an integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "a number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "a string": lambda v: isinstance(v, str),
    "a boolean": lambda v: isinstance(v, bool),
    "a table": lambda v: isinstance(v, dict),
    "an array": lambda v: isinstance(v, list),
}
_TOML_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table"}


def _toml_type(value: Any) -> str:
    return _TOML_TYPES.get(type(value), "array" if isinstance(value, list) else "date/time")


def _join(prefix: str, *keys: str) -> str:
    """Dotted key as TOML spells it: keys that are not bare are quoted."""
    parts = [prefix] if prefix else []
    parts += [k if _BARE_KEY.match(k) else json.dumps(k) for k in keys]
    return ".".join(parts)


def _suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` when a choice is close, for the end of a message."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Table:
    """One TOML table and its dotted name: typed reads whose errors name the key."""

    def __init__(self, path: Path, values: Any, name: str):
        if not isinstance(values, dict):
            raise StudyFileError(path, name, f"expected a table, got {_toml_type(values)}")
        self.path, self.values, self.name = path, values, name

    def error(self, *keys: str, reason: str) -> StudyFileError:
        return StudyFileError(self.path, _join(self.name, *keys), reason)

    def only(self, allowed: Iterable[str]) -> _Table:
        """Reject keys outside ``allowed``; call before reading, so that a misspelt
        key is reported as unknown rather than as missing."""
        allowed = sorted(allowed)
        for key in self.values:
            if key not in allowed:
                known = f" (known keys: {', '.join(allowed)})" if allowed else ""
                raise self.error(key, reason=f"unknown key{_suggest(key, allowed)}{known}")
        return self

    def get(self, key: str, *kinds: str, default: Any = _MISSING) -> Any:
        """The value of ``key`` if it is one of ``kinds``; ``default`` when absent."""
        if key not in self.values:
            if default is _MISSING:
                raise self.error(key, reason="required key is missing")
            return default
        value = self.values[key]
        if not any(_KINDS[kind](value) for kind in kinds):
            got = f"{_toml_type(value)} {value!r}"
            raise self.error(key, reason=f"expected {' or '.join(kinds)}, got {got}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, reason=f"must be finite, got {value!r}")
        return value

    def table(self, key: str, allowed: Iterable[str] | None = None) -> _Table:
        """The sub-table ``key`` (empty when absent), restricted to ``allowed`` keys."""
        sub = _Table(self.path, self.values.get(key, {}), _join(self.name, key))
        return sub if allowed is None else sub.only(allowed)

    def at_least(self, key: str, value: Any, low: float, *, strict: bool = False) -> Any:
        """``value`` (read from ``key``) if it is None or >= ``low`` (> when ``strict``)."""
        if value is not None and (value <= low if strict else value < low):
            op = ">" if strict else ">="
            raise self.error(key, reason=f"must be {op} {low:g}, got {value!r}")
        return value

    def choose(self, key: str, value: str, choices: Iterable[str], what: str) -> str:
        """``value`` (read from ``key``) if it is one of ``choices``."""
        choices = list(choices)
        if value not in choices:
            hint = _suggest(value, choices)
            raise self.error(
                key, reason=f"unknown {what} {value!r}{hint}; available: {', '.join(choices)}"
            )
        return value


# -- [study] -------------------------------------------------------------------------
_STUDY_KEYS = (
    "name",
    "description",
    "n_trials",
    "timeout",
    "seed",
    "n_jobs",
    "storage",
    "sampler",
    "pruner",
    "allocation",
    "confidence",
    "cv",
    "holdout_fraction",
    "scoring",
)


def _read_study(study: _Table, default_name: str) -> dict[str, Any]:
    seed = study.at_least("seed", study.get("seed", "an integer", default=None), 0)
    if seed is not None and seed >= 2**32:  # numpy's limit, which the samplers use
        raise study.error("seed", reason=f"must be < 2**32, got {seed}")
    n_jobs = study.get("n_jobs", "an integer", default=1)
    if n_jobs != -1:
        study.at_least("n_jobs", n_jobs, 1)
    return {
        "name": _read_name(study, default_name),
        "description": study.get("description", "a string", default=""),
        "n_trials": study.at_least("n_trials", study.get("n_trials", "an integer", default=100), 1),
        "timeout": study.at_least(
            "timeout", study.get("timeout", "a number", default=None), 0, strict=True
        ),
        "seed": seed,
        "n_jobs": n_jobs,
        "storage": _read_storage(study),
        "sampler": _read_component(study, "sampler", SAMPLERS, make_sampler, seed),
        "pruner": _read_component(study, "pruner", PRUNERS, make_pruner),
        "allocation": study.choose(
            "allocation", study.get("allocation", "a string", default="equal"), ALLOCATIONS,
            "allocation",
        ),
        "confidence": _read_confidence(study),
        **_read_validation(study),
        "scoring": _read_scoring(study),
    }


def _read_name(study: _Table, default_name: str) -> str:
    name = study.get("name", "a string", default=default_name)
    try:
        return check_study_name(name)
    except ValueError as exc:
        source = "" if "name" in study.values else " (taken from the file name; set study.name)"
        raise study.error("name", reason=f"{exc}{source}") from None


def _read_storage(study: _Table) -> str | None:
    storage = study.get("storage", "a string", default=None)
    try:
        return None if storage is None else check_storage_url(storage)
    except ValueError as exc:
        raise study.error("storage", reason=str(exc)) from None


def _read_validation(study: _Table) -> dict[str, Any]:
    cv = study.get("cv", "an integer", "a string", default=3)
    if isinstance(cv, str) and cv != "holdout":
        raise study.error("cv", reason=f'expected a number of folds or "holdout", got {cv!r}')
    study.at_least("cv", cv if isinstance(cv, int) else None, 2)
    fraction = study.get("holdout_fraction", "a number", default=None)
    if fraction is not None and cv != "holdout":
        raise study.error("holdout_fraction", reason='only used with cv = "holdout"')
    if fraction is not None and not 0 < fraction < 1:
        raise study.error("holdout_fraction", reason=f"must be in (0, 1), got {fraction!r}")
    return {"cv": cv, "holdout_fraction": 0.2 if fraction is None else fraction}


def _read_evaluate(evaluate: _Table) -> dict[str, Any]:
    fraction = evaluate.get("test_fraction", "a number", default=0.2)
    if not 0 <= fraction < 1:
        raise evaluate.error("test_fraction", reason=f"must be in [0, 1), got {fraction!r}")
    seeds = evaluate.at_least("seeds", evaluate.get("seeds", "an integer", default=5), 1)
    return {"test_fraction": float(fraction), "final_seeds": seeds}


def _read_confidence(study: _Table) -> float:
    confidence = study.get("confidence", "a number", default=0.95)
    if not 0 < confidence < 1:
        raise study.error("confidence", reason=f"must be in (0, 1), got {confidence!r}")
    return float(confidence)


def _read_scoring(study: _Table) -> str | None:
    scoring = study.get("scoring", "a string", default=None)
    if scoring is not None:
        from sklearn.metrics import get_scorer_names

        study.choose("scoring", scoring, sorted(get_scorer_names()), "scorer")
    return scoring


def _read_component(
    study: _Table, key: str, names: Mapping[str, Any], make: Callable[..., Any], *args: Any
) -> ComponentSpec:
    """A sampler or pruner: a name, or a table of ``name`` plus constructor options.

    It is built here once so that bad options fail now rather than in every worker.
    """
    raw = study.get(key, "a string", "a table", default=next(iter(names)))
    if isinstance(raw, str):
        name, options = study.choose(key, raw, names, key), {}
    else:
        table = study.table(key)
        name = table.choose("name", table.get("name", "a string"), names, key)
        options = {k: v for k, v in raw.items() if k != "name"}
        # The seed comes from study.seed; any other constructor argument is an option.
        accepted = set(inspect.signature(type(_build(study, key, make, name, args))).parameters)
        if key == "pruner":  # the fair pruner's warm-up, whatever the pruner
            accepted.add("n_warmup_steps")
        table.only({"name", *accepted} - {"seed"})
    _build(study, key, make, name, args, options)
    return ComponentSpec(name, options)


def _build(
    study: _Table,
    key: str,
    make: Callable[..., Any],
    name: str,
    args: tuple[Any, ...],
    options: Mapping[str, Any] | None = None,
) -> Any:
    """``make(name, *args, **options)``, its errors reported at ``study.<key>``."""
    with warnings.catch_warnings():  # "experimental feature" warnings mean nothing here
        warnings.simplefilter("ignore")
        try:
            return make(name, *args, **(options or {}))
        except (ValueError, TypeError, ImportError) as exc:
            raise study.error(key, reason=str(exc)) from None


def _fair_pruner(
    study: _Table, pruner: ComponentSpec, n_schedules: int, estimator
) -> ComponentSpec:
    """The pruner with its fair grouping and warm-up (see :mod:`tuner.pruning`)."""
    spec = fair_pruner_spec(pruner.as_dict(), n_schedules, getattr(estimator, "max_epochs", None))
    options = {k: v for k, v in spec.items() if k != "name"}
    _build(study, "pruner", make_pruner, pruner.name, (), options)
    return ComponentSpec(pruner.name, options)


# -- [data] and [estimator] ------------------------------------------------------------
_SOURCES = ("dataset", "generator", "csv")


def _read_data(data: _Table) -> tuple[DataSpec, bool]:
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
    return spec, data.get("scale", "a boolean", default=True)


def _estimator_params(parent: _Table, key: str, cls: type) -> _Table:
    """The estimator parameters at ``key``: arguments of ``cls`` except the optimizer
    and the schedule, which the search space sets."""
    table = parent.table(key)
    for name in _SPACE_OWNED:
        if name in table.values:
            raise table.error(name, reason=f"set by the search space: use space.{name}s")
    return table.only(set(inspect.signature(cls).parameters) - set(_SPACE_OWNED))


def _read_estimator(est: _Table) -> tuple[type, dict[str, Any]]:
    from . import estimators

    name = est.choose("class", est.get("class", "a string"), estimator_names(), "estimator")
    cls = getattr(estimators, name)
    params = _estimator_params(est, "params", cls)
    for key, value in params.values.items():  # a fixed value, even a list
        _try_candidates(params, key, [((), value)], _estimator_check(cls, key))
    return cls, params.values


# -- [space] ---------------------------------------------------------------------------
def _registry_names(space: _Table, key: str, kind: str, default: Iterable[str]):
    """Canonical registry names of the optimizers or schedules listed at ``key``."""
    lookup = optim.optimizer_class if kind == "optimizer" else optim.schedule_class
    names = space.get(key, "an array", default=list(default))
    if not names:
        raise space.error(key, reason=f"name at least one {kind}")
    out = []
    for name in names:
        if not isinstance(name, str):
            raise space.error(key, reason=f"expected {kind} names, got {_toml_type(name)} {name!r}")
        try:
            out.append(optim.name_of(lookup(name)))
        except ValueError as exc:
            raise space.error(key, reason=str(exc)) from None
    if len(set(out)) != len(out):
        raise space.error(key, reason=f"names must not repeat, got {names}")
    return tuple(out)


def _check_form(table: _Table, key: str) -> None:
    """Check that the value at ``key`` is a fixed value, a list of choices or a range."""
    value = table.values[key]
    if isinstance(value, dict):
        rng = table.table(key, ("low", "high", "log"))
        for end in ("low", "high"):
            rng.get(end, "a number", default=None)
        rng.get("log", "a boolean", default=False)
    elif isinstance(value, list) and not value:
        raise table.error(key, reason="a list of choices must not be empty")
    elif any(_toml_type(v) in ("table", "date/time") for v in _as_list(value)):
        raise table.error(key, reason=f"expected values, arrays or a range, got {value!r}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_range(table: _Table, key: str, declared: optim.Hyperparameter | None) -> list:
    """``[low, high]`` of the range at ``key``, completed from the class's declaration."""
    value = table.values[key]
    low, high = (value.get(end, getattr(declared, end, None)) for end in ("low", "high"))
    for end, bound in (("low", low), ("high", high)):
        if bound is None:
            raise table.error(key, end, reason="required: there is no declared default range")
    if low > high:
        raise table.error(key, "low", reason=f"must not exceed high ({high!r}), got {low!r}")
    if value.get("log", getattr(declared, "log", False)) and low <= 0:
        raise table.error(key, "low", reason=f"a log scale needs low > 0, got {low!r}")
    return [low, high]


def _candidates(table: _Table, key: str, declared: optim.Hyperparameter | None):
    """``(end keys, value)`` to try for the value at ``key``: each end of a range, or
    each choice of a list."""
    value = table.values[key]
    if isinstance(value, dict):
        return zip((("low",), ("high",)), _check_range(table, key, declared))
    return (((), v) for v in _as_list(value))


def _try_candidates(table: _Table, key: str, candidates, make: Callable[[Any], Any]) -> None:
    """Call ``make`` on each candidate, so that the class's own validation speaks now:
    a value it rejects would fail every trial."""
    value = table.values[key]
    for end, candidate in candidates:
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


def _check_with_class(table: _Table, key: str, cls: type, pname: str, required: dict) -> None:
    """Build ``cls`` with each end of the range or each choice (plus the ``required``
    arguments it cannot do without). Other arguments keep their defaults, so that
    an error is about this key alone."""
    declared = next((h for h in cls.search_space if h.name == pname), None)
    if isinstance(table.values[key], dict) and declared is not None:
        if declared.kind == "categorical":
            raise table.error(key, reason=f"{pname} is categorical: give a list of choices")
    _try_candidates(
        table, key, _candidates(table, key, declared), lambda v: cls(**{**required, pname: v})
    )


def _estimator_check(cls: type, name: str) -> Callable[[Any], Any]:
    """Validate one value of the estimator parameter ``name`` as a fit of ``cls`` would
    (its ``check_params``), other parameters at their defaults."""
    return lambda value: cls(**{name: value}).check_params()


def _takes_reals(cls: type, name: str) -> bool:
    """Whether ``cls``'s constraints of ``name`` admit numbers other than integers."""
    from sklearn.utils._param_validation import Interval

    constraints = cls._parameter_constraints.get(name, ())
    return any(isinstance(c, Interval) and c.type is not numbers.Integral for c in constraints)


def _owners(params: _Table, key: str, selected: Mapping[str, type]) -> list[str]:
    """The selected optimizers and schedules that the override ``key`` applies to."""
    scope, _, pname = key.rpartition(".")
    if scope and scope not in selected:
        listed = ", ".join(selected)
        reason = f"{scope!r} is not a selected optimizer or schedule ({listed})"
        raise params.error(key, reason=reason)
    owners = [scope] if scope else list(selected)
    names = sorted({p for s in owners for p in selected[s]._param_names()})
    if pname not in names:
        owner = f"{scope} has no" if scope else "no selected optimizer or schedule has a"
        raise params.error(
            key,
            reason=f"{owner} parameter {pname!r}{_suggest(pname, names)}; "
            f"known: {', '.join(names) or 'none'}",
        )
    return [s for s in owners if pname in selected[s]._param_names()]


def _fixed_values(params: Mapping[str, Any], owner: str, cls: type) -> dict[str, Any]:
    """The fixed overrides (neither range nor choices) that apply to ``owner``."""
    out = {}
    for key, value in params.items():
        scope, _, pname = key.rpartition(".")
        applies = scope in ("", owner) and pname in cls._param_names()
        if applies and not isinstance(value, list | dict):
            out[pname] = value
    return out


def _required(cls: type) -> set[str]:
    """Constructor arguments of ``cls`` without a default."""
    return {p for p, v in inspect.signature(cls).parameters.items() if v.default is v.empty}


def _check_buildable(space: _Table, kind: str, selected: Mapping[str, type], params) -> None:
    """Every required constructor argument must be searched or fixed."""
    for name, cls in selected.items():
        given = {h.name for h in cls.search_space} | set(_fixed_values(params, name, cls))
        missing = _required(cls) - given
        if missing:
            raise space.error(
                kind,
                reason=f"{name!r} needs {', '.join(sorted(missing))}, which have no default; "
                f'fix them in [space.params] as "{name}.<parameter>"',
            )


def _read_params(space: _Table, classes: Mapping[str, Mapping[str, type]]) -> dict[str, Any]:
    """``[space.params]``, each key checked against the classes it applies to."""
    params = space.table("params")
    selected = {name: cls for group in classes.values() for name, cls in group.items()}
    owners = {}
    for key in params.values:
        _check_form(params, key)
        owners[key] = _owners(params, key, selected)
    for kind, group in classes.items():
        _check_buildable(space, kind, group, params.values)
    for key, names in owners.items():
        pname = key.rpartition(".")[2]
        for owner in names:
            cls = selected[owner]
            fixed = _fixed_values(params.values, owner, cls)
            required = {p: fixed[p] for p in _required(cls) & set(fixed) - {pname}}
            _check_with_class(params, key, cls, pname, required)
    return params.values


def _read_estimator_space(space: _Table, cls: type, fixed: Mapping[str, Any]) -> dict[str, Any]:
    est = _estimator_params(space, "estimator", cls)
    for key, value in est.values.items():
        _check_form(est, key)
        if key in fixed:
            raise est.error(key, reason="also fixed in estimator.params; keep one")
        _try_candidates(est, key, _candidates(est, key, None), _estimator_check(cls, key))
        if isinstance(value, dict) and _takes_reals(cls, key):
            # The search draws integers from integer ends (alpha = {low = 0, high = 1}).
            value["low"], value["high"] = float(value["low"]), float(value["high"])
    return est.values


def _read_space(space: _Table, estimator: type, fixed: Mapping[str, Any]) -> dict[str, Any]:
    optimizers = _registry_names(space, "optimizers", "optimizer", DEFAULT_OPTIMIZERS)
    schedules = _registry_names(space, "schedules", "schedule", DEFAULT_SCHEDULES)
    classes = {
        "optimizers": {n: optim.optimizer_class(n) for n in optimizers},
        "schedules": {n: optim.schedule_class(n) for n in schedules},
    }
    read = {
        "optimizers": optimizers,
        "schedules": schedules,
        "params": _read_params(space, classes),
        "estimator_space": _read_estimator_space(space, estimator, fixed),
    }
    try:  # what the keys allow one by one may still clash across classes
        SearchSpace(optimizers, schedules, read["params"], read["estimator_space"])
    except ValueError as exc:
        raise space.error("params", reason=str(exc)) from None
    return read


# -- the file ----------------------------------------------------------------------------
#: Largest study file read: a study file is a page of TOML, not data.
MAX_FILE_BYTES = 1 << 20


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        if path.exists() and not path.is_file() and not path.is_dir():
            raise StudyFileError(path, "", "not a regular file (a device or a pipe?)")
        with path.open("rb") as f:
            text = f.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES:
            raise StudyFileError(path, "", f"larger than {MAX_FILE_BYTES} bytes: not a study file")
        return tomllib.loads(text.decode("utf-8"))
    except FileNotFoundError:
        raise StudyFileError(path, "", "file not found") from None
    except IsADirectoryError:
        raise StudyFileError(path, "", "is a directory, not a study file") from None
    except OSError as exc:
        raise StudyFileError(path, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StudyFileError(path, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise StudyFileError(path, "", f"invalid TOML: {exc}") from None


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
        study = _read_toml(Path(path)).get("study", {})
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
    # Imported here because tuner.data imports this module (for StudyFileError).
    from .data import check_data

    path = Path(path)
    top = _Table(path, _read_toml(path), "").only(
        ("study", "data", "estimator", "space", "evaluate")
    )
    study = _read_study(top.table("study", _STUDY_KEYS), path.stem)
    if "data" not in top.values:
        raise top.error("data", reason="required table is missing")
    data, scale = _read_data(top.table("data", (*_SOURCES, "args", "target", "scale")))
    check_data(data)
    estimator, estimator_params = _read_estimator(top.table("estimator", ("class", "params")))
    space_keys = ("optimizers", "schedules", "params", "estimator")
    space = _read_space(top.table("space", space_keys), estimator, estimator_params)
    study.update(_read_evaluate(top.table("evaluate", ("test_fraction", "seeds"))))
    study["pruner"] = _fair_pruner(
        top.table("study"), study["pruner"], len(space["schedules"]),
        estimator(**estimator_params),
    )  # fmt: skip
    return StudySpec(
        path=path,
        data=data,
        scale=scale,
        estimator=estimator.__name__,
        estimator_params=estimator_params,
        **study,
        **space,
    )
