"""Reports of a tuning study: pandas tables, plots, and one HTML page.

>>> from tuner.report import Report
>>> report = Report.from_storage("reports/digits/journal.log", "digits")
>>> report.summary                       # which optimizer and schedule to use
>>> print(report.verdict.reason)         # the optimizer ahead, if any, and how sure
>>> print(report.best.code)              # a script that rebuilds the best trial
>>> report.final                         # each optimizer's best on the test split, by seed
>>> report.save("reports")               # reports/digits/index.html, CSVs, PNGs
>>> report.figures()["curves"]           # the plots as matplotlib figures
>>> report                               # in a notebook: verdict, summary and main plots

A report reads a snapshot of the study: on a study still running it shows
what has finished (and running trials as such), and never writes to the study.
A part that cannot be built (a table, a plot, a file) is left out with its
reason (:mod:`tuner.report.problems`); the rest of the report is still made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from matplotlib.figure import Figure
from optuna.importance import BaseImportanceEvaluator, FanovaImportanceEvaluator
from optuna.trial import TrialState

from ..space import SearchSpace
from ..study.outcomes import directions_of
from ..study.storage import load_existing_study, mask_url
from ..studyfile import StudySpec
from . import plots
from .best import BestTrial, best_trial
from .bestofk import N_BOOT
from .files import FORMATS, check_formats, report_folder, write_report
from .heldout import FinalProgress, current_fits, final_table
from .importance import MIN_TRIALS, param_importances
from .page import notebook_html
from .pareto import pareto_figure
from .plotting import SIZES
from .problems import ReportProblem, find_problem, guarded
from .summary import summary_table
from .tables import OUTCOMES, curves_table, outcome, reported_trials, trials_table
from .verdict import CONFIDENCE, Verdict, check_budget, check_confidence, compute_verdict

__all__ = [
    "FORMATS",
    "BestTrial",
    "FinalProgress",
    "Report",
    "ReportProblem",
    "Verdict",
    "check_formats",
    "compute_verdict",
    "report_folder",
    "write_report",
]


@dataclass(frozen=True, eq=False)  # tables do not compare with ==
class Report:
    """What a study found, as pandas tables; build it with :meth:`from_study`.

    :meth:`save` writes it as files and a page; :meth:`figures` gives its
    plots as matplotlib figures; in a notebook, a report shows its verdict,
    summary and main plots (:meth:`_repr_html_`).

    Attributes
    ----------
    study_name : str
    direction : {"maximize", "minimize"}
        The score's: the study's direction, or its first objective's.
    attrs : dict
        The study's user attributes (sampler, pruner, seed, storage, ...),
        with any storage password masked.
    trials : DataFrame
        One row per trial (:func:`tuner.report.tables.trials_table`).
    curves : DataFrame
        Per trial and epoch: loss, score, learning rate (:func:`~tuner.report.tables.curves_table`).
    summary : DataFrame
        Per optimizer, and per optimizer and schedule, at an equal tuning
        budget (:func:`tuner.report.summary.summary_table`).
    importances : DataFrame
        Parameter importances (:func:`tuner.report.importance.param_importances`).
    best : BestTrial or None
        The best trial and the code that rebuilds it; None if none completed.
    verdict : Verdict
        The optimizer ahead at an equal budget, if any, and how sure that is,
        and whether the leader's lead on the test split is larger than the
        seed noise (:func:`tuner.report.verdict.compute_verdict`).
    counts : dict
        Trials by outcome (:data:`tuner.report.tables.OUTCOMES`) and the
        ``waiting`` (queued) trials, including the trials the tables leave out.
    final : DataFrame
        The final fits: each optimizer's best configuration refit with each
        training seed and scored on the held-out test split
        (:func:`tuner.report.heldout.final_table`); empty when there are none.
    final_progress : FinalProgress
        How many final fits are done, of how many.
    spec : StudySpec or None
        The study file's spec, as the study recorded it; None for a study run
        otherwise (``OptimizerSearchCV``, another program).
    importance_notes : tuple of str
        What the importances leave out and why (scores all the same, a
        parameter searched over several ranges).
    problems : tuple of ReportProblem
        Parts that could not be built, each replaced by an empty stand-in
        (see :mod:`tuner.report.problems`); empty for a report without any.
    objectives : tuple of str
        The study's objectives: ``("score",)``, or ``("score", "fit_time")``
        for a study of score against fit time (``[study] objectives``), whose
        trials table has a ``fit_time`` column and whose report adds the
        ``"pareto"`` figure. Every other part ranks trials by the score alone.
    """

    study_name: str
    direction: str
    attrs: dict[str, Any]
    trials: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    importances: pd.DataFrame
    best: BestTrial | None
    verdict: Verdict
    counts: dict[str, int] = field(default_factory=dict)
    final: pd.DataFrame = field(default_factory=lambda: final_table([]))
    final_progress: FinalProgress = field(default_factory=FinalProgress)
    spec: StudySpec | None = None
    importance_notes: tuple[str, ...] = ()
    problems: tuple[ReportProblem, ...] = ()
    importance_method: str = "fANOVA"
    n_boot: int = N_BOOT
    seed: int = 0
    objectives: tuple[str, ...] = ("score",)

    @classmethod
    def from_study(
        cls,
        study: optuna.Study,
        *,
        spec: StudySpec | None = None,
        space: SearchSpace | None = None,
        k: int | None = None,
        confidence: float | None = None,
        evaluator: BaseImportanceEvaluator | None = None,
        min_importance_trials: int = MIN_TRIALS,
        include_interrupted: bool = False,
        n_boot: int = N_BOOT,
        seed: int = 0,
    ) -> Report:
        """Read a study (in memory or in storage) into a report.

        Parameters
        ----------
        study : optuna.Study
            A study, finished or still running. With several objectives, the
            first is the score that the tables, the verdict and the best trial
            go by; the others are named by the study's ``objectives`` user
            attribute (``objective_2``... when it has none).
        spec : StudySpec, optional
            The study file's spec. Default: the one the study recorded (its
            user attribute ``"spec"``), so that a report of a stored study is
            the one its run wrote. With it, the best trial's code is a script
            that rebuilds the trial (data, test split, model, folds), and the
            report knows how many final fits to expect.
        space : SearchSpace, optional
            The study's search space: lets the best trial's code include the
            values the space fixed (a study records only searched values).
            Default: the space of ``spec``, when there is one.
        k : int, optional
            Tuning budget of the summary's best-of-k columns (default: the
            smallest group's trials; see :func:`~tuner.report.summary.summary_table`),
            also the verdict's equal budget.
        confidence : float, optional
            Confidence of the verdict, in (0, 1). Default: the study's user
            attribute ``"confidence"`` when set, else 0.95.
        evaluator : BaseImportanceEvaluator, optional
            Importance evaluator; default fANOVA seeded with ``seed``.
        min_importance_trials : int, default=MIN_TRIALS
            Completed trials an optimizer needs to get its own importances.
        include_interrupted : bool, default=False
            Also list trials cut short by an interrupted run (outcome
            ``"interrupted"``); they never count in the summary.
        n_boot, seed : int
            Bootstrap resamples and seed of the best-of-k intervals and the
            verdict (the seed also fixes the verdict's permutations, the
            importance evaluator and its trial sample).

        Returns
        -------
        Report

        Raises
        ------
        ValueError
            For a confidence outside (0, 1), ``k`` or ``n_boot`` below 1.
            Whatever the study holds, every other failure leaves out only
            the part it happened in (:attr:`problems`).
        """
        confidence = _confidence(confidence, study.user_attrs)
        k = check_budget(k)
        if n_boot < 1:
            raise ValueError(f"n_boot must be a positive number of resamples, got {n_boot}")
        direction = directions_of(study)[0]
        objectives = _objectives(study)
        maximize = direction == "maximize"
        snapshot = study.get_trials(deepcopy=False)  # one read: every table sees the same trials
        problems: list[ReportProblem] = []

        def part(name: str, build: Callable[[], Any], fallback: Any) -> Any:
            return guarded(problems, name, build, fallback)

        spec = part("spec", partial(_spec, spec, study.user_attrs), None)
        if spec is not None and space is None:
            space = part("space", partial(_space, spec), None)
        shown = reported_trials(snapshot, include_interrupted)
        trials = part(
            "trials",
            partial(trials_table, snapshot, include_interrupted, objectives),
            trials_table([], objectives=objectives),
        )
        curves = part(
            "curves", partial(curves_table, snapshot, include_interrupted), curves_table([])
        )
        summary = part(
            "summary",
            partial(summary_table, trials, maximize=maximize, k=k, n_boot=n_boot, seed=seed),
            summary_table(trials_table([])),
        )
        evaluator = evaluator or FanovaImportanceEvaluator(seed=seed)
        importances = part(
            "importances",
            partial(param_importances, shown, direction, evaluator, min_importance_trials,
                    seed=seed),
            param_importances([]),
        )  # fmt: skip
        problems += importances.problems
        estimator = spec.estimator if spec is not None else study.user_attrs.get("estimator")
        best = part(
            "best",
            partial(best_trial, shown, maximize,
                    estimator if isinstance(estimator, str) else None, space, spec),
            None,
        )  # fmt: skip
        seeds = None if spec is None else spec.final_seeds
        fits, progress = part("final", partial(current_fits, study, seeds), ([], FinalProgress()))
        if spec is not None:
            progress = replace(progress, test_split=spec.test_fraction > 0)
        final = part(
            "final", partial(final_table, fits, _optimizers(trials, spec)), final_table([])
        )
        settings = {"confidence": confidence, "n_boot": n_boot, "seed": seed}
        verdict = None
        if find_problem(problems, "trials") is None:  # else no trial would say "no trial yet"
            verdict = part(
                "verdict",
                partial(compute_verdict, trials, maximize=maximize, k=k, final=final, **settings),
                None,
            )
        if verdict is None:
            reason = f"No verdict: {find_problem(problems, 'trials', 'verdict').error}"
            verdict = Verdict(None, False, reason=reason, **settings)
        counts = part("counts", partial(_counts, snapshot), {})
        return cls(
            study_name=study.study_name,
            direction=direction,
            attrs={key: _masked(value) for key, value in study.user_attrs.items()},
            trials=trials,
            curves=curves,
            summary=summary,
            importances=importances.table,
            best=best,
            verdict=verdict,
            counts=counts,
            final=final,
            final_progress=progress,
            spec=spec,
            importance_notes=importances.notes,
            problems=tuple(problems),
            importance_method=_method(evaluator),
            n_boot=n_boot,
            seed=seed,
            objectives=objectives,
        )

    @classmethod
    def from_storage(cls, storage: str, study_name: str, **kwargs: Any) -> Report:
        """Read study ``study_name`` from an Optuna storage URL or journal file path.

        Other arguments are those of :meth:`from_study`. Raises
        :class:`tuner.storage.StudyNotFoundError` when the storage or the study
        does not exist; errors name the storage with its password masked.
        """
        study = load_existing_study(storage, study_name)
        return cls.from_study(study, **kwargs)

    @property
    def maximize(self) -> bool:
        """Whether greater scores are better."""
        return self.direction == "maximize"

    def figure(self, name: str) -> Figure:
        """The plot ``name`` (a key of :data:`tuner.report.plotting.SIZES`), drawn from the
        tables :data:`tuner.report.plotting.PLOT_TABLES` names; see :meth:`figures`."""
        draw: dict[str, Callable[[], Figure]] = {
            "pareto": lambda: pareto_figure(self.trials, self.maximize),
            "history": lambda: plots.history_figure(self.trials, self.maximize),
            "curves": lambda: plots.curves_figure(self.trials, self.curves, self.maximize),
            "best_of_k": lambda: plots.best_of_k_figure(
                self.trials, self.summary, self.maximize, self.n_boot, self.seed
            ),
            "lr_score": lambda: plots.lr_score_figure(self.trials),
            "schedules": lambda: plots.schedules_figure(self.trials, self.curves, self.maximize),
            "importances": lambda: plots.importances_figure(
                self.importances, self.importance_method, self.importance_notes
            ),
            "test_scores": lambda: plots.seed_scores_figure(
                self.final, self.maximize, None if self.spec is None else self.spec.scoring
            ),
        }
        return draw[name]()

    def figures(self) -> dict[str, Figure]:
        """The report's plots as matplotlib figures, by name.

        Returns
        -------
        dict of str to matplotlib.figure.Figure
            ``"history"`` (every trial's score in trial order), ``"curves"``
            (validation score and learning rate per epoch of each optimizer's
            best trials), ``"best_of_k"`` (expected best score against the
            tuning budget), ``"lr_score"`` (score against initial learning
            rate), ``"schedules"`` (the schedule shapes used),
            ``"importances"`` (parameter importances) and ``"test_scores"``
            (each optimizer's best refit with several seeds, on the test
            split); first ``"pareto"`` (score against fit time, each
            optimizer's Pareto front) for a study of both. Each has the
            fixed size :data:`tuner.report.plotting.SIZES`;
            a plot without data says why in its axes. The figures are not
            attached to pyplot: show one in a notebook by making it the
            cell's value, or save it with ``figure.savefig(path)``.

        Examples
        --------
        >>> figures = report.figures()
        >>> figures["curves"].savefig("curves.svg")
        """
        return {name: self.figure(name) for name in self.plot_names}

    @property
    def plot_names(self) -> tuple[str, ...]:
        """The report's plots, in page order: every key of :data:`tuner.report.plotting.SIZES`,
        the ``"pareto"`` plot only for a study of score against fit time."""
        pareto = "fit_time" in self.objectives
        return tuple(name for name in SIZES if pareto or name != "pareto")

    def _repr_html_(self) -> str:
        """The report in a notebook (Jupyter calls this): the best trial, the verdict,
        the summary and the main plots as inline PNGs
        (:func:`tuner.report.page.notebook_html`)."""
        return notebook_html(self)

    def save(self, out_dir: str | Path = "reports", formats: Iterable[str] | None = None) -> Path:
        """Write the report files to ``out_dir/<study>/``; see :func:`write_report`."""
        return write_report(self, out_dir, formats)


def _objectives(study: optuna.Study) -> tuple[str, ...]:
    """The names of the study's objectives: as it recorded them, else ``score`` and
    ``objective_2``, ``objective_3``..."""
    n = len(study.directions)
    recorded = study.user_attrs.get("objectives")
    named = isinstance(recorded, list) and all(isinstance(r, str) for r in recorded)
    if named and len(recorded) == n:
        return ("score", *recorded[1:])
    return ("score", *(f"objective_{i}" for i in range(2, n + 1)))


def _confidence(confidence: float | None, attrs: Mapping[str, Any]) -> float:
    """The confidence given, else the study's ``"confidence"`` attribute, else the default."""
    if confidence is not None:
        return check_confidence(confidence)
    if attrs.get("confidence") is not None:
        return check_confidence(attrs["confidence"], "the study's user attribute 'confidence'")
    return CONFIDENCE


def _spec(spec: StudySpec | None, attrs: Mapping[str, Any]) -> StudySpec | None:
    """The spec given, else the one the study recorded; None when there is neither.

    A given spec goes through the same recording, so that a report of a run
    and one of its stored study show the same spec (resolved paths, lists for
    tuples, masked storage).
    """
    if spec is not None:
        return StudySpec.from_attrs(spec.to_attrs())
    recorded = attrs.get("spec")
    if not isinstance(recorded, Mapping):
        return None
    try:
        return StudySpec.from_attrs(recorded)
    except ValueError:  # recorded by another version of tuner: reported without it
        return None


def _space(spec: StudySpec) -> SearchSpace:
    """The search space of a study file's spec."""
    return SearchSpace(spec.optimizers, spec.schedules, params=spec.params,
                       estimator_params=spec.estimator_space)  # fmt: skip


def _optimizers(trials: pd.DataFrame, spec: StudySpec | None) -> list[str]:
    """The study's optimizers in its order: the trials' categories (so that each keeps its
    colour in every plot), then any other of the spec's."""
    names = [str(c) for c in trials["optimizer"].cat.categories]
    return list(dict.fromkeys([*names, *(spec.optimizers if spec is not None else ())]))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, Mapping):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _counts(snapshot: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    """Trials by outcome over the whole study, including those the tables leave out."""
    found = Counter(outcome(t) for t in reported_trials(snapshot, include_interrupted=True))
    counts = {name: found[name] for name in OUTCOMES}
    counts["waiting"] = sum(t.state == TrialState.WAITING for t in snapshot)
    return counts


def _method(evaluator: BaseImportanceEvaluator) -> str:
    names = {"FanovaImportanceEvaluator": "fANOVA", "PedAnovaImportanceEvaluator": "PED-ANOVA",
             "MeanDecreaseImpurityImportanceEvaluator": "mean decrease impurity"}  # fmt: skip
    return names.get(type(evaluator).__name__, type(evaluator).__name__)
