"""The best trial of a study-file study as a script that runs it again, step by step.

The script does with scikit-learn's public tools what the study did: it loads
the data as :func:`tuner.data.load_data` does, holds out the same test split
(:func:`tuner.objective.hold_out_test`), builds the trial's model (a
``StandardScaler`` pipeline when the study scales), cross-validates it on the
study's folds (:func:`tuner.objective.make_folds`) with ``cross_val_score``,
and fits it on the training part to score it on the test split. Its
cross-validation mean is the trial's recorded score: the objective's lock-step
training (``fit_epochs`` per fold) is the estimator's ``fit``, and each fold's
scaler is fitted on that fold's training rows, as in the pipeline.

Everything written here comes from the study's recorded spec and the trial,
so the page of ``tuner run`` and that of ``tuner report`` carry the same script.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sklearn.datasets
from sklearn.base import is_classifier

from .. import estimators
from ..space import SearchSpace
from ..studyfile import StudySpec
from .pysource import WIDTH, argument_lines, python_source

__all__ = ["study_code"]

_WARNINGS = [
    "warnings.filterwarnings(",
    '    "ignore", category=ConvergenceWarning',
    ")  # the study trains a fixed number of epochs and silences this warning too",
]


def study_code(
    params: Mapping[str, Any], spec: StudySpec, space: SearchSpace, number: int, value: float
) -> str:
    """A runnable script that rebuilds trial ``number`` of a study run from ``spec``.

    Parameters
    ----------
    params : mapping
        The trial's parameters (``trial.params``).
    spec : StudySpec
        The study file's spec, as the study recorded it.
    space : SearchSpace
        The study's space (it adds the values it fixed to the searched ones).
    number, value : int, float
        The trial's number and recorded score, quoted beside the script's score.

    Returns
    -------
    str

    Raises
    ------
    ValueError, TypeError
        When the estimator class, the optimizer or the schedule is not
        registered here, or a value cannot be written as Python.
    """
    cls = getattr(estimators, spec.estimator, None)
    if not isinstance(cls, type):
        raise ValueError(f"no estimator class {spec.estimator!r} in tuner.estimators")
    classifier = is_classifier(cls())
    imports = {"import warnings", "from sklearn.exceptions import ConvergenceWarning",
               f"from tuner.estimators import {spec.estimator}"}  # fmt: skip
    modules: set[str] = set()  # optim and plug-in modules of optimizers and schedules
    seed = 0 if spec.seed is None else spec.seed
    kwargs = {**spec.estimator_params, **space.build(params)}
    body = [*_WARNINGS, "", *_load(spec, imports), ""]
    body += _test_split(spec, seed, classifier, imports)
    body += _model(spec, kwargs, modules, imports)
    if "random_state" not in kwargs:
        body += ["# The study fixed no random_state: initial weights and batch order are",
                 "# random, so the scores below vary from run to run."]  # fmt: skip
    body += ["", *_folds(spec, seed, classifier, imports)]
    body += _scores(spec, number, value, imports)
    imports |= {f"import {m}" for m in modules}
    head = f'"""Trial #{number} of study {spec.name!r}, as the study ran it."""'
    return "\n".join([head, "", *_sorted_imports(imports), "", *body]) + "\n"


def _sorted_imports(imports: set[str]) -> list[str]:
    """Standard library, then third-party, then this project: each group sorted."""
    names: dict[str, list[str]] = {}  # "from m import a" and "from m import b": one line
    for line in imports:
        if line.startswith("from "):
            module, _, name = line.removeprefix("from ").partition(" import ")
            names.setdefault(module, []).append(name)
    joined = {line for line in imports if not line.startswith("from ")}
    joined |= {f"from {m} import {', '.join(sorted(n))}" for m, n in names.items()}
    groups: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for line in joined:
        top = line.split()[1].split(".")[0]
        group = 0 if top == "warnings" else 2 if top in ("optim", "tuner") else 1
        groups[group].append(line)
    lines: list[str] = []
    for group in groups.values():
        if group:
            lines += [*sorted(group, key=lambda s: (s.startswith("from"), s)), ""]
    return lines[:-1]


def _load(spec: StudySpec, imports: set[str]) -> list[str]:
    """Loading the data as :func:`tuner.data.load_data` does, X in float64."""
    data = spec.data
    imports.add("import numpy as np")
    if data.kind == "dataset":
        imports.add(f"from sklearn.datasets import load_{data.name}")
        lines = [f"X, y = load_{data.name}(return_X_y=True)"]
    elif data.kind == "generator":
        args = dict(data.args)
        function = getattr(sklearn.datasets, data.name, None)
        if function is not None and "random_state" in inspect.signature(function).parameters:
            args.setdefault("random_state", 0)  # as the study generates it, in every worker
        imports.add(f"from sklearn.datasets import {data.name}")
        call = ", ".join(f"{k}={python_source(v, set())}" for k, v in args.items())
        lines = [f"X, y = {data.name}({call})"]
    else:
        imports.add("import pandas as pd")
        path = Path(data.name).expanduser()
        if not path.is_absolute() and data.origin is not None:
            path = Path(data.origin).parent / path  # relative to the study file
        target = python_source(data.target, set())
        lines = [
            f"frame = pd.read_csv({python_source(str(path), set())})",
            f"X = frame.drop(columns=[{target}]).to_numpy(dtype=np.float64)",
            f"y = frame[{target}].to_numpy()",
        ]
        return lines
    return [*lines, "X = np.asarray(X, dtype=np.float64)  # as the study loads it"]


def _test_split(spec: StudySpec, seed: int, classifier: bool, imports: set[str]) -> list[str]:
    if spec.test_fraction == 0:
        return ["X_train, y_train = X, y  # the study held out no test split", ""]
    imports.add("from sklearn.model_selection import train_test_split")
    stratify = ", stratify=y" if classifier else ""
    return [
        "# The test split the study held out before its search: no trial saw it.",
        *_call(
            "X_train, X_test, y_train, y_test = train_test_split",
            f"X, y, test_size={spec.test_fraction!r}, random_state={seed}{stratify}",
        ),
        "",
    ]


def _model(
    spec: StudySpec, kwargs: dict[str, Any], modules: set[str], imports: set[str]
) -> list[str]:
    """The estimator with its fixed and searched arguments, in the study's pipeline."""
    if not spec.scale:
        return [f"model = {spec.estimator}(", *argument_lines(kwargs, modules, 4), ")"]
    imports |= {"from sklearn.pipeline import make_pipeline",
                "from sklearn.preprocessing import StandardScaler"}  # fmt: skip
    return [
        "model = make_pipeline(",
        "    StandardScaler(),",
        f"    {spec.estimator}(",
        *argument_lines(kwargs, modules, 8),
        "    ),",
        ")",
    ]


def _folds(spec: StudySpec, seed: int, classifier: bool, imports: set[str]) -> list[str]:
    """The study's cross-validation folds of the training part."""
    if spec.cv == "holdout":
        imports.add("from sklearn.model_selection import train_test_split")
        stratify = ", stratify=y_train" if classifier else ""
        args = (f"np.arange(len(y_train)), test_size={spec.holdout_fraction!r}, "
                f"random_state={seed}{stratify}")  # fmt: skip
        return [
            "# The study's validation split of the training part, rows in order.",
            *_call("train, val = train_test_split", args),
            "cv = [(np.sort(train), np.sort(val))]",
        ]
    splitter = "StratifiedKFold" if classifier else "KFold"
    imports.add(f"from sklearn.model_selection import {splitter}")
    return [
        "# The study's folds of the training part; each fold's scaler fits its training rows.",
        f"cv = {splitter}(n_splits={spec.cv}, shuffle=True, random_state={seed})",
    ]


def _call(head: str, args: str) -> list[str]:
    """``head(args)`` on one line, or its arguments on a line of their own when too long."""
    line = f"{head}({args})"
    return [line] if len(line) <= WIDTH else [f"{head}(", f"    {args}", ")"]


def _scores(spec: StudySpec, number: int, value: float, imports: set[str]) -> list[str]:
    imports.add("from sklearn.model_selection import cross_val_score")
    scoring = "" if spec.scoring is None else f", scoring={python_source(spec.scoring, set())}"
    recorded = f"  # the study recorded {value!r}"
    lines = [
        *_call("scores = cross_val_score", f"model, X_train, y_train, cv=cv{scoring}"),
        'print(f"cross-validation score: {scores.mean():.6g}")' + recorded,
        "",
        "model.fit(X_train, y_train)",
    ]
    if spec.test_fraction == 0:
        return lines
    if spec.scoring is None:
        score = "model.score(X_test, y_test)"
    else:
        imports.add("from sklearn.metrics import get_scorer")
        score = f"get_scorer({python_source(spec.scoring, set())})(model, X_test, y_test)"
    return [*lines, f"test_score = {score}", 'print(f"test score: {test_score:.6g}")']
