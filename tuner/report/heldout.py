"""Scores on the held-out test split: the final fits of a study, and how far apart they are.

After its search a study refits each optimizer's best configuration with
several training seeds and scores it on the test split that no trial saw
(:mod:`tuner.final`). This module turns those fits into the report's
``final`` table, counts those still to do, and compares the leader's test
scores with every other optimizer's by Welch's t-test (the rule is stated in
:mod:`tuner.report.verdict`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import optuna
import pandas as pd
from scipy import stats

from ..final import FinalFit, best_per_optimizer, final_fits
from .display import format_number

__all__ = [
    "FINAL_COLUMNS",
    "FinalProgress",
    "HeldOutComparison",
    "compare_test_scores",
    "current_fits",
    "final_table",
    "score_statistics",
]

#: Columns of the ``final`` table and their dtypes.
FINAL_COLUMNS = {"optimizer": "category", "seed": "int64", "trial": "int64",
                 "test_score": "float64", "seconds": "float64", "error": "str"}  # fmt: skip


@dataclass(frozen=True)
class FinalProgress:
    """How far a study's final fits are.

    Attributes
    ----------
    done : int
        Fits recorded for the current best configurations.
    expected : int or None
        Fits the study will make: optimizers with a completed trial times
        training seeds; None when the seeds are not known (no recorded spec).
    test_split : bool or None
        Whether the study holds out a test split; None when not known.
    """

    done: int = 0
    expected: int | None = None
    test_split: bool | None = None

    @property
    def missing(self) -> int:
        """Fits still to do (0 when not known)."""
        return max(0, self.expected - self.done) if self.expected is not None else 0


def current_fits(
    study: optuna.Study, seeds: int | None = None
) -> tuple[list[FinalFit], FinalProgress]:
    """The final fits of each optimizer's current best trial, and the progress of them all.

    A fit recorded for a trial that is no longer its optimizer's best (the
    study was extended since) is left out: the next run does it again, as it
    does any fit beyond ``seeds`` seeds no more. ``seeds`` is the study's
    number of training seeds, when known.
    """
    fits = final_fits(study.user_attrs)
    if not fits and seeds is None:  # not a study of final fits: spare a read of the trials
        return [], FinalProgress()
    bests = {name: t.number for name, t in best_per_optimizer(study).items()}
    kept = [f for f in fits
            if bests.get(f.optimizer) == f.trial and (seeds is None or f.seed < seeds)]  # fmt: skip
    expected = None if seeds is None else len(bests) * seeds
    return kept, FinalProgress(len(kept), expected)


def final_table(fits: Sequence[FinalFit], optimizers: Sequence[str] = ()) -> pd.DataFrame:
    """One row per final fit, by optimizer and seed.

    Parameters
    ----------
    fits : sequence of FinalFit
    optimizers : sequence of str
        The study's optimizers, in its order: the categories of ``optimizer``
        (any other fitted optimizer is added after them).

    Returns
    -------
    DataFrame
        Columns of :data:`FINAL_COLUMNS`: ``optimizer``, the training ``seed``,
        the ``trial`` whose configuration was refit, ``test_score`` (NaN when
        the fit failed), ``seconds`` to fit and score, and ``error`` (empty
        unless the fit failed).
    """
    rows = [(f.optimizer, f.seed, f.trial, f.score, f.seconds, f.error or "") for f in fits]
    table = pd.DataFrame(rows, columns=list(FINAL_COLUMNS))
    table = table.astype({c: d for c, d in FINAL_COLUMNS.items() if d != "category"})
    names = list(dict.fromkeys([*optimizers, *table["optimizer"]]))
    table["optimizer"] = pd.Categorical(table["optimizer"], categories=names)
    return table.sort_values(["optimizer", "seed"], kind="stable").reset_index(drop=True)


def score_statistics(final: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Per optimizer with a test score: ``mean``, ``std`` (ddof 1; NaN for one seed),
    ``n`` (fits that scored) and ``failed`` (fits that did not)."""
    out = {}
    for name, rows in final.groupby("optimizer", observed=True, sort=True):
        scores = rows["test_score"].to_numpy(dtype=float)
        scored = scores[np.isfinite(scores)]
        out[str(name)] = {
            "mean": float(scored.mean()) if len(scored) else math.nan,
            "std": float(scored.std(ddof=1)) if len(scored) > 1 else math.nan,
            "n": len(scored),
            "failed": len(scores) - len(scored),
        }
    return out


@dataclass(frozen=True)
class HeldOutComparison:
    """The leader's test scores against each other optimizer's.

    Attributes
    ----------
    statistics : dict
        :func:`score_statistics` of the final fits.
    leader : str or None
        The optimizer compared with the others.
    p_values : dict
        Optimizer -> two-sided p-value of Welch's t-test of the leader against
        it (NaN when either has fewer than two scores).
    beyond_noise : bool or None
        Whether the leader's lead is larger than the seed noise (see
        :mod:`tuner.report.verdict`); None when there is nothing to compare
        or too few seeds to tell.
    sentence : str
        The comparison in words (no final full stop).
    """

    statistics: dict[str, dict[str, float | int]]
    leader: str | None = None
    p_values: dict[str, float] = field(default_factory=dict)
    beyond_noise: bool | None = None
    sentence: str = ""


def compare_test_scores(
    final: pd.DataFrame, leader: str | None, *, maximize: bool = True, confidence: float = 0.95
) -> HeldOutComparison | None:
    """Compare ``leader``'s test scores with every other optimizer's; None without a score.

    The leader is the verdict's, or, when it has no test score, the optimizer
    with the best mean test score.
    """
    statistics = score_statistics(final)
    scored = {o: s for o, s in statistics.items() if s["n"]}
    if not scored:
        return None
    sign = 1.0 if maximize else -1.0
    if leader not in scored:
        leader = max(scored, key=lambda o: sign * scored[o]["mean"])
    samples = {o: _scores(final, o) for o in scored}
    p_values = {o: _welch(samples[leader], samples[o]) for o in scored if o != leader}
    best_other = max(p_values, key=lambda o: sign * scored[o]["mean"], default=None)
    ahead = best_other is None or sign * scored[leader]["mean"] > sign * scored[best_other]["mean"]
    alpha = 1 - confidence
    beyond: bool | None = None
    if p_values and not ahead:
        beyond = False
    elif p_values and not any(math.isnan(p) for p in p_values.values()):
        beyond = all(p <= alpha for p in p_values.values())
    comparison = HeldOutComparison(statistics, leader, p_values, beyond)
    return replace(comparison, sentence=_sentence(comparison, sign, alpha))


def _scores(final: pd.DataFrame, optimizer: str) -> np.ndarray:
    scores = final.loc[final["optimizer"] == optimizer, "test_score"].to_numpy(dtype=float)
    return scores[np.isfinite(scores)]


def _welch(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test; NaN with fewer than two scores on a side."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no seed noise at all: only a difference counts
        return 1.0 if a[0] == b[0] else 0.0
    with warnings.catch_warnings():  # scipy's "nearly identical data" on a constant side
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


# -- the sentence --------------------------------------------------------------------
def _sentence(c: HeldOutComparison, sign: float, alpha: float) -> str:
    scored = {o: s for o, s in c.statistics.items() if s["n"]}
    leader = c.leader
    text = f"On the test split ({_seeds(scored)}) {leader} scores {_score(scored[leader])}"
    if c.p_values:
        best_other = max(c.p_values, key=lambda o: sign * scored[o]["mean"])
        lead = sign * (scored[leader]["mean"] - scored[best_other]["mean"])
        if lead <= 0:
            where = "behind" if lead < 0 else "level with"
            text += f", {where} {best_other} {_score(scored[best_other])}"
            p = c.p_values[best_other]
            if lead < 0 and not math.isnan(p):
                text += ": a gap larger than the seed noise" if p <= alpha else (
                    ": within the seed noise")
            text += _p(p)
        else:
            # The rival is the optimizer the leader is least clearly ahead of.
            unknown = [o for o, p in c.p_values.items() if math.isnan(p)]
            rival = unknown[0] if unknown else max(c.p_values, key=lambda o: c.p_values[o])
            closest = f", the closest of {len(c.p_values)} others" if len(c.p_values) > 1 else ""
            text += f" against {rival} {_score(scored[rival])}{closest}: "
            if c.beyond_noise is None:
                text += "too few seeds to compare the lead with the seed noise"
            elif c.beyond_noise:
                text += "a lead larger than the seed noise" + _p(c.p_values[rival])
            else:
                text += "within the seed noise" + _p(c.p_values[rival])
    failed = [f"{s['failed']} of {o}'s {s['n'] + s['failed']} final fits failed"
              for o, s in c.statistics.items() if s["failed"]]  # fmt: skip
    return "; ".join([text, *failed])


def _seeds(scored: Mapping[str, Mapping[str, float | int]]) -> str:
    counts = {o: int(s["n"]) for o, s in scored.items()}
    if len(set(counts.values())) == 1:
        n = next(iter(counts.values()))
        return f"{n} seed{'s' if n != 1 else ''}" + (" each" if len(counts) > 1 else "")
    return "seeds: " + ", ".join(f"{o} {n}" for o, n in counts.items())


def _score(s: Mapping[str, float | int]) -> str:
    if s["n"] < 2:
        return format_number(s["mean"])
    return f"{format_number(s['mean'])} ± {format_number(s['std'], 2)}"


def _p(p: float) -> str:
    return "" if math.isnan(p) else f" (Welch p = {format_number(p, 2)})"
