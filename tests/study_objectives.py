"""Objectives for the study tests, importable by worker processes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tuner.study.outcomes import counts_towards_budget
from tuner.study.storage import open_storage


def imported(name: str) -> bool:
    """Whether this process has imported the module ``name`` (run in a worker)."""
    return name in sys.modules


def value_of(x: float) -> float:
    """The deterministic score of a trial with parameter ``x``."""
    return -((x - 0.3) ** 2)


class LedgerObjective:
    """Append one line per attempt to a ledger, then return ``value_of(x)``.

    ``sleep`` seconds per epoch keep trials running long enough to be killed;
    ``fail_when`` makes trials with ``x`` above it raise; ``always_fail``
    makes every trial raise the same error. ``peers`` makes the first trial of
    each process wait (up to a minute) until attempts of that many processes are
    in the ledger, so that a test of several workers does not depend on how fast
    their processes start: the run's own worker could otherwise finish every trial
    first. Only the first waits: a peer killed before its first attempt never
    writes one, and the survivors must not wait for it again on every trial.
    """

    direction = "maximize"

    def __init__(
        self,
        ledger: str,
        epochs: int = 3,
        sleep: float = 0.0,
        fail_when: float | None = None,
        always_fail: bool = False,
        peers: int = 1,
    ):
        self.ledger, self.epochs, self.sleep = ledger, epochs, sleep
        self.fail_when, self.always_fail, self.peers = fail_when, always_fail, peers
        self._peers_awaited = peers <= 1

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        with open(self.ledger, "a") as f:
            f.write(json.dumps({"number": trial.number, "x": x, "pid": os.getpid()}) + "\n")
        self._wait_for_peers()
        if self.always_fail:
            raise RuntimeError("the data file is missing")
        if self.fail_when is not None and x > self.fail_when:
            raise ValueError(f"x={x} is too large")
        for epoch in range(self.epochs):
            time.sleep(self.sleep)
            trial.report(value_of(x) - 0.01 * (self.epochs - epoch), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value_of(x)

    def _wait_for_peers(self, timeout: float = 60.0) -> None:
        if self._peers_awaited:
            return
        self._peers_awaited = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = Path(self.ledger).read_text().splitlines()
            if len({json.loads(line)["pid"] for line in lines}) >= self.peers:
                return
            time.sleep(0.05)


class NaNObjective:
    """NaN for trials with ``x`` above ``above`` (every trial by default), else ``value_of(x)``."""

    direction = "maximize"

    def __init__(self, above: float = -2.0):
        self.above = above

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        return math.nan if x > self.above else value_of(x)


class FailsFrom:
    """Complete trials numbered below ``first``, then raise the same error in every one."""

    direction = "maximize"

    def __init__(self, first: int):
        self.first = first

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        if trial.number >= self.first:
            raise RuntimeError("the data file is missing")
        return value_of(x)


def assert_nothing_lost(study: optuna.Study, n_trials: int, ledger: str | None = None) -> None:
    """Every trial final, numbers unique, values recomputed, exactly n_trials counted.

    With a ``ledger`` (one line per attempt), every attempt's trial exists in
    the storage with the parameter it ran with.
    """
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state for t in trials)
    assert states[TrialState.RUNNING] == 0 and states[TrialState.WAITING] == 0, states
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    counted = [t for t in trials if counts_towards_budget(t)]
    assert len(counted) == n_trials, states
    for t in trials:
        if t.state == TrialState.COMPLETE:
            assert t.value == value_of(t.params["x"])
    if ledger is not None:
        by_number = {t.number: t for t in trials}
        for line in Path(ledger).read_text().splitlines():
            attempt = json.loads(line)
            assert attempt["number"] in by_number, f"attempt {attempt} is not in the storage"
            assert by_number[attempt["number"]].params["x"] == attempt["x"]


def wait_until_running(
    storage: str, name: str, proc: subprocess.Popen, completed: int = 1, timeout: float = 120
) -> None:
    """Wait until study ``name`` has ``completed`` trials done and one running.

    Kills ``proc`` and raises ``AssertionError`` if that does not happen in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if Path(storage).exists():
            try:
                study = optuna.load_study(study_name=name, storage=open_storage(storage))
            except KeyError:  # the run has not created the study yet
                continue
            states = Counter(t.state for t in study.get_trials(deepcopy=False))
            if states[TrialState.COMPLETE] >= completed and states[TrialState.RUNNING] >= 1:
                return
    proc.kill()
    raise AssertionError(f"study {name!r} never got going")


#: The best log10 learning rate of each optimizer of :class:`OptimizerObjective`.
BEST_LOG_LR = {"sgd": -1.0, "momentum": -2.0, "adam": -3.0}


class OptimizerObjective:
    """Pick an optimizer and a learning rate; score how close ``lr`` is to that
    optimizer's best (:data:`BEST_LOG_LR`), with ``epochs`` reports for pruners."""

    direction = "maximize"

    def __init__(self, epochs: int = 2, sleep: float = 0.0):
        self.epochs, self.sleep = epochs, sleep

    def __call__(self, trial: optuna.Trial) -> float:
        name = trial.suggest_categorical("optimizer", list(BEST_LOG_LR))
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        value = -((math.log10(lr) - BEST_LOG_LR[name]) ** 2)
        for epoch in range(1, self.epochs + 1):
            time.sleep(self.sleep)
            trial.report(value, epoch)
        return value
