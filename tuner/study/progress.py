"""A live progress line for a study, counted from the storage across all workers."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import TextIO

import optuna

from .outcomes import best_scored, directions_of, score_of, tally
from .storage import retry

__all__ = ["ProgressBar"]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressBar:
    """Progress of a study on a terminal: a bar, counts, best value, elapsed and remaining.

    Counts come from the storage, so they include every worker. :meth:`start`
    redraws it every ``interval`` seconds from a background thread, so it stays
    live during long trials; :meth:`close` stops that and prints the final state.
    On a stream that is not a terminal (a log file, CI) it prints a plain line
    at most every ``log_every`` seconds instead, so that a long run shows it
    is alive. ``enabled=False`` prints nothing.
    """

    def __init__(
        self,
        study: optuna.Study,
        n_trials: int,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        interval: float = 0.5,
        log_every: float = 10.0,
    ):
        self.study, self.n_trials = study, n_trials
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.enabled = True if enabled is None else enabled
        self.interval = interval if self.tty else log_every
        self.started = time.monotonic()
        self._initial = retry(self._tally).counted if self.enabled else 0
        self._last_line = ""
        self._last_print = 0.0
        self._lock = threading.Lock()  # the ticker and close() both draw
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def line(self) -> str:
        """The current progress line."""
        trials = self.study.get_trials(deepcopy=False)  # one read for the counts and the best
        c = tally(trials)
        n = min(c.counted, self.n_trials)
        width = 24
        filled = int(width * n / self.n_trials)
        elapsed = time.monotonic() - self.started
        ran = c.counted - self._initial
        remaining = "?"
        if ran > 0 and n < self.n_trials:
            remaining = _clock(elapsed / ran * (self.n_trials - n))
        best = best_scored(trials, directions_of(self.study)[0])
        best = "-" if best is None else f"{score_of(best):.4g}"
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {n}/{self.n_trials} "
            f"({c.complete} done, {c.pruned + c.diverged} pruned, {c.failed} failed, "
            f"{c.running} running) | best {best} | {_clock(elapsed)} elapsed, "
            f"{remaining if n < self.n_trials else '0:00:00'} left"
        )

    def _tally(self):
        return tally(self.study.get_trials(deepcopy=False))

    def start(self) -> None:
        """Redraw every ``interval`` seconds in a daemon thread until :meth:`close`."""
        if self.enabled and self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="tuner-progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # a storage hiccup skips one redraw; the run goes on
                continue

    def refresh(self) -> None:
        """Redraw (terminal) or print a line if it is due (log)."""
        if not self.enabled:
            return
        with self._lock:
            self._draw()

    def _draw(self) -> None:
        now = time.monotonic()
        if not self.tty and now - self._last_print < self.interval:
            return
        line = self.line()
        if self.tty:
            pad = max(0, len(self._last_line) - len(line))
            self.stream.write("\r" + line + " " * pad)
        elif line != self._last_line:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_line, self._last_print = line, now

    def close(self) -> None:
        """Stop the redrawing thread, print the final state and end the line."""
        if not self.enabled:
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._last_print = 0.0
        with contextlib.suppress(Exception):  # a storage hiccup: the last state is not drawn
            self.refresh()
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
