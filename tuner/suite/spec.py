"""Suite files: a TOML list of problems, each run as a study, and the comparison they share.

A suite compares the same optimizers with the same search space and the same
budget on several problems. Each problem becomes a study file (written under
``reports/<suite>/studies/``, so ``tuner run`` and ``tuner worker`` take it as
it is) and runs as the study ``<suite>.<problem>.s<seed>``::

    [suite]
    name = "default"              # default: the file name; letters, digits, . _ -
    description = "..."
    trials_per_optimizer = 16     # each optimizer's trials per problem and seed (>= 3)
    budgets = [1, 4, 16]          # tuning budgets k of the profiles and the pairwise
                                  # verdicts (default: 1 and trials_per_optimizer)
    seeds = [0]                   # one study per problem and seed (its sampler seed);
                                  # an optimizer's draws are pooled over the seeds
    n_jobs = 2                    # workers of each study (default 1)
    storage = "sqlite:///s.db"    # one storage for every study (default:
                                  # reports/<suite>/journal.log)
    confidence = 0.95             # of every verdict
    inclusion = ["sgd", "momentum", "adam"]   # optional: optimizers from the special
                                  # to the general; the page checks that the general
                                  # never loses (Choi et al., 2019)

    [study]                       # a study file's [study] keys for every problem:
    sampler = "random"            # sampler, pruner, cv, holdout_fraction, scoring
    pruner = "none"               # (not those the suite sets: name, n_trials, seed,
                                  # allocation, n_jobs, storage, timeout, confidence,
                                  # baseline)
    [space]                       # the comparison: optimizers (required), schedules,
    optimizers = ["sgd", "momentum", "adam"]  # params
    [space.params]
    "adam.eps" = { low = 1e-10, high = 1.0, log = true }

    [evaluate]                    # a study file's [evaluate], for every problem
    seeds = 3

    [[problem]]                   # a study file's data and estimator ...
    file = "digits-mlp.toml"      # relative to this file
    name = "digits"               # default: the study file's name

    [[problem]]                   # ... or inline tables
    name = "wine-mlp"
    data = { dataset = "wine" }
    estimator = { class = "MLPClassifier", params = { max_epochs = 30 } }
    study = { cv = 3 }            # optional: this problem's [study] keys
    evaluate = { seeds = 3 }      # optional
    space = { estimator = { alpha = { low = 1e-6, high = 1e-2, log = true } } }

A problem's study is, from last to first: its own tables, the suite's
``[study]``, ``[space]`` and ``[evaluate]``, then its study file's (of whose
``[space]`` only ``estimator`` stays: the suite sets the comparison). Errors
raise :class:`~tuner.errors.StudyFileError` naming the file and the key, as
for study files: the suite file's, or the problem's study file's.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

import optim

from ..errors import StudyFileError
from ..report.bestofk import MIN_DRAWS
from ..study.storage import check_storage_url, check_study_name
from ..studyfile import StudySpec, load_study_file
from ..tomlfile import TomlTable, read_toml
from .profiles import perfect_score

__all__ = ["Problem", "SuiteSpec", "load_suite_file", "write_study_files"]

_SUITE_KEYS = ("name", "description", "trials_per_optimizer", "budgets", "seeds", "n_jobs",
               "storage", "confidence", "inclusion")  # fmt: skip
#: ``[study]`` keys that the suite sets for every problem, and where to set them instead.
_SUITE_OWNED = {
    "name": "problem.name", "n_trials": "suite.trials_per_optimizer", "seed": "suite.seeds",
    "allocation": "the suite (always equal)", "n_jobs": "suite.n_jobs",
    "storage": "suite.storage", "timeout": "the suite (none)",
    "confidence": "suite.confidence", "baseline": "the suite (none)",
}  # fmt: skip
#: What a suite-set ``[study]`` key is named after in the suite file, for errors.
_SET_BY = {"study.n_trials": "suite.trials_per_optimizer", "study.seed": "suite.seeds"}
_PROBLEM_KEYS = ("name", "file", "data", "estimator", "study", "space", "evaluate")
_FROM_STUDY_FILE = ("study", "data", "estimator", "space", "evaluate")
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Problem:
    """One problem of a suite: a study file's content, run once per seed.

    Attributes
    ----------
    name : str
        Problem name (letters, digits, ``.``, ``_``, ``-``).
    tables : dict
        The problem's study file, table by table, without ``study.name`` and
        ``study.seed`` (set per seed by :meth:`study_tables`).
    spec : StudySpec
        The spec of the problem's first seed, as :func:`tuner.studyfile.load_study_file`
        read it (estimator, scoring, optimizers).
    source : Path or None
        The study file the problem came from; None for inline tables.
    """

    name: str
    tables: dict[str, dict[str, Any]]
    spec: StudySpec
    source: Path | None = None

    def study_tables(self, suite: str, seed: int) -> dict[str, dict[str, Any]]:
        """The study file of this problem for ``seed``, table by table."""
        study = {"name": study_name(suite, self.name, seed), "seed": seed,
                 **self.tables["study"]}  # fmt: skip
        return {**self.tables, "study": study}


@dataclass(frozen=True)
class SuiteSpec:
    """A validated suite file; the module docstring describes each key."""

    name: str
    path: Path
    problems: tuple[Problem, ...]
    optimizers: tuple[str, ...]
    trials_per_optimizer: int
    budgets: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    description: str = ""
    n_jobs: int = 1
    storage: str | None = None
    confidence: float = 0.95
    inclusion: tuple[str, ...] = ()

    def study_names(self, problem: Problem) -> tuple[str, ...]:
        """The studies of ``problem``, one per seed."""
        return tuple(study_name(self.name, problem.name, seed) for seed in self.seeds)


def study_name(suite: str, problem: str, seed: int) -> str:
    """The study of one problem and seed of a suite: ``<suite>.<problem>.s<seed>``."""
    return f"{suite}.{problem}.s{seed}"


def load_suite_file(path: str | Path) -> SuiteSpec:
    """Read and validate a suite file, and each problem's study as ``tuner run`` would.

    Parameters
    ----------
    path : str or Path
        A TOML file laid out as in the module docstring.

    Returns
    -------
    SuiteSpec

    Raises
    ------
    StudyFileError
        With the file, the dotted key and the reason.
    """
    path = Path(path)
    top = TomlTable(path, read_toml(path), "")
    top.only(("suite", "study", "space", "evaluate", "problem"))
    suite = top.table("suite", _SUITE_KEYS)
    name = suite.get("name", "a string", default=path.stem)
    with suite.blame("name"):
        check_study_name(name)
    shared = {
        "study": _without_owned(top.table("study")).values,
        "space": top.table("space", ("optimizers", "schedules", "params")).values,
        "evaluate": top.table("evaluate").values,
    }
    if "optimizers" not in shared["space"]:
        raise top.error("space", "optimizers", reason="required key is missing (the comparison)")
    trials = suite.get("trials_per_optimizer", "an integer", default=16, bounds=">= 1")
    if trials < MIN_DRAWS:  # fewer finished trials, and the verdict cannot compare
        raise suite.error("trials_per_optimizer", reason=f"must be >= {MIN_DRAWS}, got {trials}")
    seeds = _integers(suite, "seeds", [0], ">= 0")
    if len(set(seeds)) < len(seeds):
        raise suite.error("seeds", reason=f"a seed is given twice: {seeds}")
    confidence = float(suite.get("confidence", "a number", default=0.95, bounds="in (0, 1)"))
    storage = suite.get("storage", "a string", default=None)
    with suite.blame("storage"):
        storage = None if storage is None else check_storage_url(storage)
    entries = top.get("problem", "an array")
    if not entries:
        raise top.error("problem", reason="list at least one [[problem]]")
    problems: list[Problem] = []
    for i, entry in enumerate(entries):
        problem = _read_problem(TomlTable(path, entry, f"problem[{i}]"), shared, trials, confidence)
        if any(p.name == problem.name for p in problems):
            raise StudyFileError(path, f"problem[{i}].name",
                                 f"another problem is named {problem.name!r}")  # fmt: skip
        problems.append(problem)
    optimizers = problems[0].spec.optimizers
    budgets = _integers(suite, "budgets", sorted({1, trials}), ">= 1")
    most = trials * len(seeds)
    if max(budgets) > most:
        raise suite.error("budgets", reason=f"at most {most} (trials_per_optimizer x seeds: "
                          f"an optimizer's draws), got {max(budgets)}")  # fmt: skip
    return SuiteSpec(
        name=name,
        path=path,
        problems=tuple(problems),
        optimizers=optimizers,
        trials_per_optimizer=trials,
        budgets=tuple(sorted(set(budgets))),
        seeds=tuple(seeds),
        description=suite.get("description", "a string", default=""),
        n_jobs=suite.get("n_jobs", "an integer", default=1, bounds=">= 1, or -1 (all cores)"),
        storage=storage,
        confidence=confidence,
        inclusion=_inclusion(suite, optimizers),
    )


def write_study_files(suite: SuiteSpec, folder: str | Path) -> dict[str, Path]:
    """Write the study file of every problem and seed into ``folder``; study name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for problem in suite.problems:
        for seed in suite.seeds:
            tables = problem.study_tables(suite.name, seed)
            name = tables["study"]["name"]
            header = (f"Written by `tuner bench {suite.path}` (problem {problem.name!r}, "
                      f"seed {seed}): edit the suite file, not this one.")  # fmt: skip
            files[name] = folder / f"{name}.toml"
            files[name].write_text(f"# {header}\n\n{tomli_w.dumps(tables)}", encoding="utf-8")
    return files


# -- reading -----------------------------------------------------------------------------
def _integers(table: TomlTable, key: str, default: list[int], bounds: str) -> list[int]:
    values = table.get(key, "an array", default=default)
    if not values:
        raise table.error(key, reason="give at least one")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise table.error(key, reason=f"expected integers, got {value!r}")
        table.bound(key, value, bounds)
    return list(values)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _without_owned(study: TomlTable) -> TomlTable:
    for key in study.values:
        if key in _SUITE_OWNED:
            raise study.error(key, reason=f"set by the suite: use {_SUITE_OWNED[key]}")
    return study


def _inclusion(suite: TomlTable, optimizers: tuple[str, ...]) -> tuple[str, ...]:
    names = suite.get("inclusion", "an array", default=[])
    out = []
    for name in names:
        with suite.blame("inclusion"):
            canonical = optim.name_of(optim.optimizer_class(name))
        if canonical not in optimizers:
            raise suite.error("inclusion", reason=f"{name!r} is not one of the suite's "
                              f"optimizers {list(optimizers)}")  # fmt: skip
        out.append(canonical)
    if len(out) == 1 or len(set(out)) < len(out):
        raise suite.error("inclusion", reason=f"name two or more optimizers once each, got {names}")
    return tuple(out)


Origins = dict[str, tuple[Path, str]]


def _read_problem(
    entry: TomlTable, shared: Mapping[str, dict[str, Any]], trials: int, confidence: float
) -> Problem:
    """One ``[[problem]]``: its study file's tables merged with the suite's, then checked
    by :func:`load_study_file` (its errors are mapped back to the key that set the value)."""
    entry.only(_PROBLEM_KEYS)
    tables: dict[str, dict[str, Any]] = {name: {} for name in _FROM_STUDY_FILE}
    origins: Origins = {}
    source = None
    if "file" in entry.values:
        if "data" in entry.values or "estimator" in entry.values:
            raise entry.error("file", reason="give a study file or data and estimator, not both")
        source = (entry.path.parent / entry.get("file", "a string")).resolve()
        if not source.is_file():
            raise entry.error("file", reason=f"study file not found: {source}")
        content = TomlTable(source, read_toml(source), "")
        _overlay(tables, origins, content.values, source, "", _FROM_STUDY_FILE)
        tables["space"] = {k: v for k, v in tables["space"].items() if k == "estimator"}
        tables["study"] = {k: v for k, v in tables["study"].items() if k not in _SUITE_OWNED}
        data = tables.get("data", {})
        if isinstance(data.get("csv"), str):  # the study file moves: its data does not
            data["csv"] = str((source.parent / data["csv"]).resolve())
    elif "data" not in entry.values or "estimator" not in entry.values:
        raise entry.error("file", reason="give a study file (file = ...) or both data and "
                          "estimator tables")  # fmt: skip
    default_name = source.stem if source is not None else None
    name = entry.get("name", "a string", default=default_name)
    if name is None:
        raise entry.error("name", reason="required key is missing (a problem of inline tables)")
    with entry.blame("name"):
        check_study_name(name)
    suite_file = entry.path
    _overlay(tables, origins, shared, suite_file, "", ("study", "space", "evaluate"))
    own = {
        key: _without_owned(entry.table(key)).values if key == "study" else entry.values[key]
        for key in ("study", "data", "estimator", "space", "evaluate")
        if key in entry.values
    }
    if "space" in own:
        entry.table("space", ("estimator",))
    _overlay(tables, origins, own, suite_file, entry.name, _FROM_STUDY_FILE)
    n_optimizers = len(_as_list(shared["space"]["optimizers"]))
    tables["study"] = {
        **tables["study"], "allocation": "equal", "confidence": confidence,
        "n_trials": trials * n_optimizers,  # equal allocation: exactly `trials` each
    }  # fmt: skip
    spec = _check(tables, origins, suite_file, entry.name, name)
    try:
        perfect_score(spec)  # the profiles need a score whose best value is known
    except ValueError as exc:
        where = _origin("study.scoring", origins, suite_file, entry.name)
        raise StudyFileError(*where, str(exc)) from None
    return Problem(name, tables, spec, source)


def _overlay(
    tables: dict[str, dict[str, Any]], origins: Origins, values: Mapping[str, Any],
    path: Path, prefix: str, names: tuple[str, ...],
) -> None:  # fmt: skip
    """Set ``values``' tables ``names`` over ``tables``, key by key, and note where each
    key came from (``path`` and its dotted key there)."""
    for table in names:
        given = values.get(table)
        if given is None:
            continue
        where = f"{prefix}.{table}" if prefix else table
        if not isinstance(given, dict):
            raise StudyFileError(path, where, f"expected a table, got {given!r}")
        origins[table] = (path, where)
        for key, value in given.items():
            if table == "space" and key in ("params", "estimator") and isinstance(value, dict):
                for sub in value:  # one parameter's range overrides, the others stay
                    origins[_dotted(table, key, sub)] = (path, _dotted(where, key, sub))
                value = {**tables[table].get(key, {}), **value}
            tables[table][key] = value
            origins[_dotted(table, key)] = (path, _dotted(where, key))


def _dotted(prefix: str, *keys: str) -> str:
    """A dotted key as TOML (and a study file's errors) spell it: odd keys quoted."""
    return ".".join([prefix, *(k if _BARE.match(k) else json.dumps(k) for k in keys)])


def _check(
    tables: dict[str, dict[str, Any]], origins: Origins, suite_file: Path, where: str, name: str
) -> StudySpec:
    """The study of ``tables`` read by :func:`load_study_file`, its errors named where set."""
    study = {"name": name, "seed": 0, **tables["study"]}
    try:
        text = tomli_w.dumps({**tables, "study": study})
    except TypeError as exc:  # a TOML date: no study value is one
        raise StudyFileError(suite_file, where, str(exc)) from None
    with tempfile.TemporaryDirectory() as folder:
        generated = Path(folder) / f"{name}.toml"
        generated.write_text(text, encoding="utf-8")
        try:
            return load_study_file(generated)
        except StudyFileError as exc:
            path, key = _origin(exc.key, origins, suite_file, where)
            raise StudyFileError(path, key, exc.reason) from None


def _origin(key: str, origins: Origins, suite_file: Path, where: str) -> tuple[Path, str]:
    """Where the generated study file's ``key`` was set: the longest known prefix."""
    if key in _SET_BY:
        return suite_file, _SET_BY[key]
    known = [k for k in origins if key == k or key.startswith(f"{k}.")]
    if known:
        longest = max(known, key=len)
        path, prefix = origins[longest]
        return path, prefix + key[len(longest) :]
    return suite_file, f"{where}.{key}" if key else where
