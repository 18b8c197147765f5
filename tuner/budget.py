"""Which trials count towards a study's budget, and the counts by outcome."""

from __future__ import annotations

from collections.abc import Iterable

import optuna
from optuna.trial import TrialState

__all__ = ["count_trials", "counts_towards_budget", "tally", "was_interrupted"]


def was_interrupted(trial: optuna.trial.FrozenTrial) -> bool:
    """A failed trial that did not fail by itself: its run was killed or stopped.

    Such a trial is marked ``interrupted`` (Ctrl-C, a killed process found dead
    on resume) or ``withdrawn`` (a ticket beyond a lowered budget), or it is a
    trial a worker ran (``worker``) without an ``error`` of its own: a lost
    heartbeat, or a mark that a busy storage did not take. A failed trial that
    another program added to the study (no ``worker``) failed by itself.
    """
    if trial.state != TrialState.FAIL:
        return False
    attrs = trial.user_attrs
    return bool(
        attrs.get("interrupted") or attrs.get("withdrawn")
        or ("worker" in attrs and "error" not in attrs)
    )  # fmt: skip


def counts_towards_budget(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial ended on its own: complete, pruned, or failed by its own error."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and not was_interrupted(trial)


_OUTCOME = {
    TrialState.COMPLETE: "done",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
}


def tally(trials: Iterable[optuna.trial.FrozenTrial]) -> dict[str, int]:
    """Trials by outcome: done, pruned, failed, interrupted, running, waiting, counted, taken.

    ``counted`` trials ended on their own; ``taken`` adds the running and waiting
    ones, which may still count: a run starts or issues trials until ``taken``
    reaches its budget.
    """
    counts = dict.fromkeys(("done", "pruned", "failed", "interrupted", "running", "waiting"), 0)
    for t in trials:
        state = t.state  # a property: read once
        if state == TrialState.FAIL and was_interrupted(t):
            counts["interrupted"] += 1
        else:
            counts[_OUTCOME[state]] += 1
    counts["counted"] = counts["done"] + counts["pruned"] + counts["failed"]
    counts["taken"] = counts["counted"] + counts["running"] + counts["waiting"]
    return counts


def count_trials(study: optuna.Study) -> dict[str, int]:
    """:func:`tally` of a study's trials."""
    return tally(study.get_trials(deepcopy=False))
