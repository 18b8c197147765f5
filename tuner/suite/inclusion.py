"""Win/tie/loss counts of the pairwise verdicts, and the inclusion question.

Choi et al. ("On Empirical Comparisons of Optimizers for Deep Learning",
2019) note that when an optimizer is a special case of another (SGD is
Momentum with ``momentum = 0``; Momentum is, in the limit of a large
``eps``, Adam with a rescaled learning rate), the more general one tuned over
all its hyperparameters should never lose: Adam >= Momentum >= SGD. Schmidt et
al. ("Descending through a Crowded Valley", 2021) find that no optimizer
dominates across problems. A suite asks its data: for each pair of a chain
of optimizers (``inclusion``, from the special to the general), on each
problem and at each budget, the more general one *fails* the order when the
calibrated pairwise verdict decides for the special one. A tie (the verdict
does not decide) is no failure: the data do not show the general one behind.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pandas as pd

from ..report.display import format_number

__all__ = ["inclusion_failures", "inclusion_finding", "win_tie_loss"]


def win_tie_loss(pairwise: pd.DataFrame, optimizers: Sequence[str]) -> pd.DataFrame:
    """Wins, ties and losses of each optimizer against each other one, at each budget.

    Parameters
    ----------
    pairwise : DataFrame
        :func:`tuner.suite.results.pairwise_table`.
    optimizers : sequence of str
        The order of the rows.

    Returns
    -------
    DataFrame
        Columns ``k``, ``optimizer``, ``against``, ``wins``, ``ties``, ``losses``
        (counts of problems), every ordered pair once per budget.
    """
    mirrored = pairwise.rename(columns={"a": "b", "b": "a"}).assign(
        outcome=pairwise["outcome"].map({"win": "loss", "loss": "win", "tie": "tie"})
    )
    both = pd.concat([pairwise, mirrored], ignore_index=True)
    rows = []
    for k in sorted(pairwise["k"].unique()):
        for a, b in itertools.permutations(optimizers, 2):
            found = both.loc[(both["k"] == k) & (both["a"] == a) & (both["b"] == b), "outcome"]
            counts = found.value_counts()
            rows.append((int(k), a, b, *(int(counts.get(o, 0)) for o in ("win", "tie", "loss"))))
    return pd.DataFrame(rows, columns=["k", "optimizer", "against", "wins", "ties", "losses"])


def inclusion_failures(pairwise: pd.DataFrame, chain: Sequence[str]) -> pd.DataFrame:
    """The pairwise verdicts of the chain's pairs, general against special.

    Returns
    -------
    DataFrame
        Columns ``problem``, ``k``, ``general``, ``special``, ``outcome`` (the
        general one's) and ``fails`` (the special one was decided better).
    """
    rows = []
    for i, j in itertools.combinations(range(len(chain)), 2):
        special, general = chain[i], chain[j]
        for row in pairwise.itertuples(index=False):
            if {row.a, row.b} != {special, general}:
                continue
            outcome = (
                row.outcome
                if row.a == general
                else {"win": "loss", "loss": "win"}.get(row.outcome, "tie")
            )
            rows.append((row.problem, int(row.k), general, special, outcome, outcome == "loss"))
    return pd.DataFrame(rows, columns=["problem", "k", "general", "special", "outcome", "fails"])


def inclusion_finding(
    pairwise: pd.DataFrame, chain: Sequence[str], n_problems: int, confidence: float
) -> str:
    """What the data show about ``chain`` (from special to general), in sentences.

    The largest budget first (where Choi et al. expect the order to hold),
    then each smaller one. Generated from the verdicts, whichever way they come out.
    """
    if len(chain) < 2 or pairwise.empty:
        return ""
    table = inclusion_failures(pairwise, chain)
    order = " <= ".join(chain)
    level = f"{format_number(100 * confidence)}%"
    budgets = sorted(table["k"].unique(), reverse=True)
    sentences = []
    for rank, k in enumerate(budgets):
        at_k = table[table["k"] == k]
        failing = at_k[at_k["fails"]]
        problems = at_k["problem"].nunique()
        wins = int((at_k["outcome"] == "win").sum())
        where = "At the largest budget, " if rank == 0 else "At "
        head = f"{where}k = {k} trial{'s' if k > 1 else ''} per optimizer"
        if failing.empty:
            sentences.append(
                f"{head}, the order {order} holds on all {problems} problems compared"
                f"{'' if problems == n_problems else f' (of {n_problems})'}: no more general "
                f"optimizer lost a pairwise verdict at {level} confidence (it won {wins} of "
                f"{len(at_k)} comparisons; the others were not told apart)"
            )
            continue
        cases = "; ".join(
            f"{r.special} beat {r.general} on {r.problem}" for r in failing.itertuples()
        )
        sentences.append(
            f"{head}, the order {order} fails on {failing['problem'].nunique()} of {problems} "
            f"problems ({cases}); the more general optimizer won {wins} of {len(at_k)} "
            "comparisons"
        )
    return ". ".join(sentences) + "."
