"""The trial protocol: who ran a trial, how it ended, and which trials use the budget.

Every trial a worker runs ends in one :class:`Outcome`. The worker records it
with :func:`record_outcome` before it tells Optuna the trial's state, and
everything that asks how a trial ended (budget, progress, reports) reads it
with :func:`outcome_of`. Only what the state does not say is recorded:

- ``complete`` and ``pruned`` are Optuna's COMPLETE and PRUNED states;
- ``diverged`` is a PRUNED trial whose training blew up (the objective raised
  :class:`Diverged`);
- ``failed`` is a FAIL trial whose objective raised: its ``error`` is recorded,
  and it counts towards the budget like the others;
- ``interrupted`` is any other FAIL trial: Ctrl-C, a killed worker, a lost
  heartbeat, a storage error. Nothing is recorded for it (a dead worker cannot
  record), it does not count, and its parameters run again.

The worker that runs a trial records itself as it starts it
(:func:`record_worker`): what tells a dead worker's trials from live ones.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["Diverged", "Outcome", "Tally", "baseline_attrs", "best_scored", "counts_towards_budget",
           "directions_of", "error_of", "is_baseline", "outcome_of", "record_outcome",
           "record_worker", "sampler_seed_of", "score_of", "tally", "worker_of"]  # fmt: skip

#: Trial user attributes of the protocol (nowhere else spelled out).
_OUTCOME, _ERROR, _END, _WORKER, _BASELINE = "outcome", "error", "end", "worker", "baseline"


class Outcome(enum.Enum):
    """How a trial ended."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def counts(self) -> bool:
        """Whether a trial that ended so uses the budget (every outcome but interrupted)."""
        return self is not Outcome.INTERRUPTED


class Diverged(optuna.TrialPruned):
    """Training blew up: the trial ends pruned, with the outcome ``diverged``."""


def record_outcome(trial: optuna.Trial, outcome: Outcome, error: str | None = None) -> None:
    """Record how ``trial`` is about to end (before it is told), where its state will not say.

    ``error`` is the message of a ``failed`` trial.
    """
    if outcome in (Outcome.DIVERGED, Outcome.FAILED):
        trial.set_user_attr(_OUTCOME, outcome.value)
    if error is not None:
        trial.set_user_attr(_ERROR, error)


def record_worker(trial: optuna.Trial, worker: str, seed: int | None) -> None:
    """Record the worker that runs ``trial`` and its sampler's seed (one write)."""
    trial.set_user_attr(_WORKER, {"id": worker, "sampler_seed": seed})


def worker_of(trial: FrozenTrial) -> str | None:
    """The id of the worker that ran ``trial`` (``host:pid:token``); None if none did."""
    worker = trial.user_attrs.get(_WORKER)
    return worker.get("id") if isinstance(worker, dict) else worker  # a string: older studies


def sampler_seed_of(trial: FrozenTrial) -> int | None:
    """The seed of the sampler that drew ``trial``'s parameters; None if unseeded or unknown."""
    worker = trial.user_attrs.get(_WORKER)
    return worker.get("sampler_seed") if isinstance(worker, dict) else None


def baseline_attrs() -> dict[str, bool]:
    """User attributes of a queued baseline trial (a known configuration run first)."""
    return {_BASELINE: True}


def is_baseline(trial: FrozenTrial) -> bool:
    """Whether ``trial`` ran a baseline configuration rather than a sampled one."""
    return bool(trial.user_attrs.get(_BASELINE))


def outcome_of(trial: FrozenTrial) -> Outcome | None:
    """How ``trial`` ended; None while it runs or waits."""
    state, attrs = trial.state, trial.user_attrs
    if state == TrialState.COMPLETE:
        return Outcome.COMPLETE
    recorded = attrs.get(_OUTCOME)
    if state == TrialState.PRUNED:
        # Studies run before outcomes were recorded said "diverged" in their end reason.
        legacy = str(attrs.get(_END, "")).startswith("diverged")
        diverged = recorded == Outcome.DIVERGED.value or legacy
        return Outcome.DIVERGED if diverged else Outcome.PRUNED
    if state == TrialState.FAIL:
        failed = recorded == Outcome.FAILED.value or (recorded is None and _ERROR in attrs)
        return Outcome.FAILED if failed else Outcome.INTERRUPTED
    return None


def error_of(trial: FrozenTrial) -> str | None:
    """The error a ``failed`` trial's objective raised (``"Type: message"``); else None."""
    return trial.user_attrs.get(_ERROR) if outcome_of(trial) is Outcome.FAILED else None


def directions_of(study: optuna.Study) -> tuple[str, ...]:
    """``("maximize",)``, ``("maximize", "minimize")``...: one direction per objective."""
    return tuple(d.name.lower() for d in study.directions)


def score_of(trial: FrozenTrial) -> float | None:
    """A complete trial's score: its value, or its first objective's in a study of
    several (the first objective is the score; the others, such as fit time, are
    costs). None for any other trial."""
    if trial.state != TrialState.COMPLETE or not trial.values:
        return None
    return trial.values[0]


def best_scored(trials: Iterable[FrozenTrial], direction: str) -> FrozenTrial | None:
    """The complete trial with the best score (the earliest of equals); None if none.

    ``direction`` is the score's: ``"maximize"`` or ``"minimize"``. With one
    objective this is ``Study.best_trial``; with several it ranks by the score
    alone, where Optuna's ``best_trials`` is the whole Pareto front.
    """
    sign = 1.0 if direction == "maximize" else -1.0
    best, best_value = None, -math.inf
    for trial in trials:
        value = score_of(trial)
        if value is not None and not math.isnan(value) and sign * value > best_value:
            best, best_value = trial, sign * value
    return best


def counts_towards_budget(trial: FrozenTrial) -> bool:
    """Whether a trial ended on its own: complete, pruned, diverged or failed."""
    outcome = outcome_of(trial)
    return outcome is not None and outcome.counts


@dataclass(frozen=True)
class Tally:
    """Trials of a study by outcome, and those still running or waiting."""

    complete: int = 0
    pruned: int = 0
    diverged: int = 0
    failed: int = 0
    interrupted: int = 0
    running: int = 0
    waiting: int = 0

    @property
    def counted(self) -> int:
        """Trials that ended on their own."""
        return self.complete + self.pruned + self.diverged + self.failed

    @property
    def used(self) -> int:
        """Trials that use the budget: those that ended on their own and the running ones.

        A worker starts a trial only while ``used`` is below the budget.
        """
        return self.counted + self.running


def tally(trials: Iterable[FrozenTrial]) -> Tally:
    """Count ``trials`` by outcome (one pass, no copies)."""
    counts = dict.fromkeys(Tally.__dataclass_fields__, 0)
    complete = running = waiting = 0
    # Run before every trial starts: the common states by identity, which hashes no enum.
    for t in trials:
        state = t.state
        if state is _COMPLETE:
            complete += 1
        elif state is _RUNNING:
            running += 1
        elif state is _WAITING:
            waiting += 1
        else:
            counts[outcome_of(t).value] += 1
    counts.update(complete=complete, running=running, waiting=waiting)
    return Tally(**counts)


_COMPLETE, _RUNNING, _WAITING = TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING
