"""The ``[study]`` table (its sampler, pruner, objectives and baselines) and ``[evaluate]``."""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import StudyFileError
from ..space import SearchSpace
from ..study.allocation import ALLOCATIONS
from ..study.samplers import PRUNERS, SAMPLERS, SINGLE_OBJECTIVE_SAMPLERS, make_pruner, make_sampler
from ..study.storage import check_storage_url, check_study_name
from ..tomlfile import TomlTable, toml_type
from .spec import ComponentSpec

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
