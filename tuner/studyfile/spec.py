"""What a study file holds once read: :class:`StudySpec` and its :class:`ComponentSpec`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..data import DataSpec
from ..space import DEFAULT_OPTIMIZERS, DEFAULT_SCHEDULES
from ..study.samplers import DEFAULT_PRUNER
from ..study.storage import mask_url


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
    """A validated study file; the :mod:`tuner.studyfile` docstring describes each key.

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
