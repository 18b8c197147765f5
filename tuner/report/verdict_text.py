"""The verdict in words: the sentence of :attr:`tuner.report.verdict.Verdict.reason`.

It names the leader and how sure it is, or why no optimizer is ahead: too few
trials, probabilities too close, or a permutation test that does not tell the
leader apart from another optimizer. Numbers are written so that the sentence
stays true: a probability is never rounded to 0 or 1, and the bound of
"p <= ..." is rounded up.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .display import format_number

if TYPE_CHECKING:
    from .verdict import Verdict

__all__: list[str] = []

_NO_TRIAL = "No trial finished yet"
_NO_OPTIMIZER = "No optimizer to compare"


def _reason(verdict: Verdict, needed: int, completed: set[str]) -> str:
    """The verdict as one sentence (no final full stop, no line break)."""
    if verdict.too_few:
        few = [f"{o} has {_trials(verdict.trials[o])}" if i == 0 else f"{o} {verdict.trials[o]}"
               for i, o in enumerate(verdict.too_few)]  # fmt: skip
        return f"Too few trials to compare: {', '.join(few)} ({needed} needed)"
    budget = f"an equal budget of {verdict.k} trials"
    if verdict.leader is None:
        return f"{_NO_OPTIMIZER}: none completed a trial"
    leader, prob = verdict.leader, verdict.prob_best
    others = sorted((o for o in prob if o != leader), key=lambda o: -prob[o])
    listed = sorted([leader, *others], key=lambda o: -prob[o])  # the leader first among ties
    if verdict.decided:
        worst = _at_most(max(verdict.p_values.values()))
        return (
            f"{leader} is the best optimizer at {budget} (probability {_share(prob[leader])} "
            f"of being best; ahead of {_join(others)}, permutation p <= {worst})"
        )
    shares = ", ".join(f"{o} {_share(prob[o])}" for o in listed)
    text = (
        f"No optimizer is ahead at {format_number(100 * verdict.confidence)}% confidence "
        f"at {budget}: {shares} (probability of being best)"
    )
    alpha = 1 - verdict.confidence
    close = [o for o in others if verdict.p_values[o] > alpha]
    if prob[leader] >= verdict.confidence and close:
        tied = _join([f"{o} (permutation p = {format_number(verdict.p_values[o], 3)})"
                      for o in close])  # fmt: skip
        text += f"; {leader} is not clearly ahead of {tied}"
    unfit = [o for o in prob if o not in completed]
    if unfit:
        text += f"; {_join(unfit)} completed no trial and cannot lead"
    return text


def _trials(n: int) -> str:
    return f"{n} finished trial" + ("" if n == 1 else "s")


def _share(p: float) -> str:
    """A probability to three digits, never rounded up to 1 or down to 0."""
    if p > 0.999:
        return "> 0.999"
    if p < 0.001:  # never best in the resamples: rare, not impossible
        return "< 0.001"
    return format_number(float(p), 3)


def _at_most(p: float) -> str:
    """``p`` rounded up to two significant digits, so that "p <= ..." stays true."""
    scale = 10.0 ** (1 - math.floor(math.log10(p)))
    return format_number(math.ceil(round(p * scale, 9)) / scale, 2)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
