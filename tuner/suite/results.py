"""What a suite found: each problem's draws, verdict and best of k, read from its studies.

Every number comes from the study machinery: the draws of an optimizer are
its finished trials scored as in the summary
(:func:`tuner.report.summary.draw_scores`), pooled over the suite's seeds; a
problem's verdict is :func:`tuner.report.verdict.compute_verdict` of those
trials (with the final fits' test scores); the pairwise verdicts are
:func:`tuner.report.verdict.compare_draws` of two optimizers at each budget;
the expected best of ``k`` is :func:`tuner.report.bestofk.expected_best_of_k`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..report.bestofk import expected_best_of_k
from ..report.heldout import current_fits, final_table
from ..report.summary import draw_scores, finished
from ..report.tables import trials_table
from ..report.verdict import Verdict, compare_draws, compute_verdict
from ..study.storage import StudyNotFoundError, load_existing_study
from .profiles import perfect_score, profile_table
from .spec import Problem, SuiteSpec

__all__ = ["PAIRWISE_COLUMNS", "SuiteResults", "collect_results", "pairwise_table"]

#: Columns of the pairwise verdicts: ``outcome`` is ``a``'s (win, tie or loss against ``b``).
PAIRWISE_COLUMNS = ("problem", "k", "a", "b", "outcome", "p_value", "prob_best_a")


@dataclass(frozen=True, eq=False)  # tables do not compare with ==
class SuiteResults:
    """A suite's results, table by table.

    Attributes
    ----------
    suite : SuiteSpec
    draws : dict
        Problem -> optimizer -> its draws (greater is better), pooled over seeds.
    trials : DataFrame
        Every trial of every problem (:func:`tuner.report.tables.trials_table`
        with ``problem`` and ``seed`` columns in front).
    verdicts : dict
        Problem -> its verdict at the default equal budget.
    best_of_k : DataFrame
        ``problem``, ``optimizer``, ``k``, ``draws``, ``best_of_k`` (the
        expected best score of ``k`` trials; NaN with fewer draws than ``k``)
        and ``cost`` (its error, :mod:`tuner.suite.profiles`).
    pairwise : DataFrame
        Columns :data:`PAIRWISE_COLUMNS`, each pair of optimizers once.
    profiles : DataFrame
        :func:`tuner.suite.profiles.profile_table` of ``best_of_k``.
    missing : dict
        Problem -> why it has no results (its studies were not run, or ran no trial).
    """

    suite: SuiteSpec
    draws: dict[str, dict[str, np.ndarray]]
    trials: pd.DataFrame
    verdicts: dict[str, Verdict]
    best_of_k: pd.DataFrame
    pairwise: pd.DataFrame
    profiles: pd.DataFrame
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """The problems with results, in the suite's order."""
        return [p.name for p in self.suite.problems if p.name in self.draws]


def collect_results(suite: SuiteSpec, storage: str) -> SuiteResults:
    """Read every study of ``suite`` from ``storage`` and compare the optimizers."""
    draws, verdicts, tables, missing, rows = {}, {}, [], {}, []
    for problem in suite.problems:
        try:
            trials, final = _problem_tables(suite, problem, storage)
        except StudyNotFoundError as exc:
            missing[problem.name] = str(exc)
            continue
        done = finished(trials)
        if not len(done):
            missing[problem.name] = "no trial finished"
            continue
        scores = done.assign(_score=draw_scores(trials))["_score"]
        draws[problem.name] = {
            o: scores[done["optimizer"] == o].to_numpy(dtype=float) for o in suite.optimizers
        }
        verdicts[problem.name] = compute_verdict(
            trials, maximize=True, confidence=suite.confidence, final=final
        )
        tables.append(trials.assign(problem=problem.name))
        perfect = perfect_score(problem.spec)
        for optimizer, values in draws[problem.name].items():
            for k in suite.budgets:
                best = expected_best_of_k(values, k) if len(values) >= k else math.nan
                rows.append((problem.name, optimizer, k, len(values), best,
                             max(perfect - best, 0.0)))  # fmt: skip
    best_of_k = pd.DataFrame(
        rows, columns=["problem", "optimizer", "k", "draws", "best_of_k", "cost"]
    )
    front = ["problem", "seed"]
    trials = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=front)
    trials = trials[front + [c for c in trials.columns if c not in front]]
    return SuiteResults(
        suite=suite,
        draws=draws,
        trials=trials,
        verdicts=verdicts,
        best_of_k=best_of_k,
        pairwise=pairwise_table(draws, suite.budgets, suite.confidence),
        profiles=profile_table(best_of_k),
        missing=missing,
    )


def _problem_tables(
    suite: SuiteSpec, problem: Problem, storage: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trials and final fits of ``problem``'s studies, pooled over its seeds."""
    trials, finals = [], []
    for seed, name in zip(suite.seeds, suite.study_names(problem)):
        study = load_existing_study(storage, name)
        trials.append(trials_table(study.get_trials(deepcopy=False)).assign(seed=seed))
        fits, _ = current_fits(study, problem.spec.final_seeds)
        finals.append(final_table(fits, suite.optimizers))
    pooled = pd.concat(trials, ignore_index=True)
    # One order of optimizers whatever the seeds ran: the suite's.
    pooled["optimizer"] = pd.Categorical(pooled["optimizer"], categories=suite.optimizers)
    final = pd.concat(finals, ignore_index=True)
    final["optimizer"] = pd.Categorical(final["optimizer"], categories=suite.optimizers)
    return pooled, final


def pairwise_table(
    draws: dict[str, dict[str, np.ndarray]], budgets: tuple[int, ...], confidence: float
) -> pd.DataFrame:
    """The calibrated verdict of each pair of optimizers on each problem at each budget.

    For optimizers ``a`` before ``b`` (in the suite's order), ``outcome`` is
    ``"win"`` when :func:`~tuner.report.verdict.compare_draws` of the two
    decides for ``a``, ``"loss"`` when it decides for ``b``, and ``"tie"``
    when it does not decide (equal, or not told apart at ``confidence``).
    """
    rows = []
    for problem, by_optimizer in draws.items():
        for a, b in itertools.combinations(by_optimizer, 2):
            for k in budgets:
                pair = {a: by_optimizer[a], b: by_optimizer[b]}
                if min(len(d) for d in pair.values()) < k:
                    continue
                verdict = compare_draws(pair, k=k, confidence=confidence)
                outcome = "tie"
                if verdict.decided:
                    outcome = "win" if verdict.leader == a else "loss"
                p_value = next(iter(verdict.p_values.values()), math.nan)
                rows.append((problem, k, a, b, outcome, p_value, verdict.prob_best.get(a)))
    return pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS))
