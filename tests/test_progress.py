"""The progress line: counts from the storage across all workers, redrawn while trials run."""

from __future__ import annotations

import io
import time

import optuna
from optuna.trial import TrialState
from study_objectives import LedgerObjective

from tuner.study import run_study
from tuner.study.progress import ProgressBar
from tuner.study.storage import open_storage


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_the_line_is_redrawn_while_the_caller_is_busy(tmp_path):
    study = optuna.create_study(storage=open_storage(str(tmp_path / "j.log")))
    screen = Terminal()
    bar = ProgressBar(study, 4, enabled=True, stream=screen, interval=0.01)
    bar.start()
    try:
        for value in (1.0, 2.0):  # another worker's trials, while this thread draws nothing
            study.tell(study.ask(), value)
        pruned = study.ask()
        study.tell(pruned, state=TrialState.PRUNED)
        study.ask()  # left running
        expected = "3/4 (2 done, 1 pruned, 0 failed, 1 running) | best 1"
        assert wait_for(lambda: expected in screen.getvalue())
    finally:
        bar.close()
    assert screen.getvalue().endswith("\n")
    assert "\r" in screen.getvalue()  # a terminal line is redrawn in place


def test_the_final_line_counts_every_workers_trials(tmp_path, capsys):
    ledger = tmp_path / "ledger.jsonl"
    study = run_study(
        LedgerObjective(str(ledger), fail_when=0.5, peers=2),
        study_name="progress",
        n_trials=8,
        n_jobs=2,
        seed=0,
        directory=tmp_path,
        pruner="none",
        progress=True,
    )
    states = [t.state for t in study.trials]
    done, failed = states.count(TrialState.COMPLETE), states.count(TrialState.FAIL)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"8/8 ({done} done, 0 pruned, {failed} failed, 0 running)" in last, last
    assert f"best {study.best_value:.4g}" in last


def test_a_log_gets_a_plain_line_every_few_seconds(tmp_path):
    study = run_study(LedgerObjective(str(tmp_path / "l")), study_name="log", n_trials=2,
                      directory=tmp_path, pruner="none", progress=False)  # fmt: skip
    log = io.StringIO()  # not a terminal: no redraws, but lines while the run goes on
    bar = ProgressBar(study, 2, stream=log, log_every=0.05)
    assert bar.enabled and not bar.tty
    bar.start()
    time.sleep(0.3)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines and "\r" not in log.getvalue()
    assert all(line.startswith("[") and "2/2 (2 done" in line for line in lines)


def test_a_storage_that_drops_out_costs_the_line_a_redraw_not_the_run(monkeypatch):
    # The first count is retried; the last redraw, at the run's end, is skipped.
    study = optuna.create_study()
    real, calls = study.get_trials, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) in (1, 3):
            raise optuna.exceptions.StorageInternalError("connection dropped")
        return real(*args, **kwargs)

    monkeypatch.setattr(study, "get_trials", flaky)
    screen = Terminal()
    bar = ProgressBar(study, 2, enabled=True, stream=screen)
    assert len(calls) == 2  # tried again
    bar.close()  # its redraw met the third, failing call
    assert len(calls) == 3 and screen.getvalue() == "\n"
