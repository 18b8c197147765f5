"""The report's figure of a study of score against fit time: each optimizer's Pareto front.

:func:`pareto_front` finds the trials no other beats on both objectives;
:func:`pareto_figure` draws them, one panel per optimizer, beside the front of
all optimizers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .plotting import (
    _SCORE,
    _colors,
    _figure,
    _figure_legend,
    _log_axis,
    _message,
    _panels,
    _present,
    _style,
    _too_large,
)

__all__ = ["pareto_figure", "pareto_front"]


def pareto_front(score: np.ndarray, cost: np.ndarray, maximize: bool = True) -> np.ndarray:
    """Mask of the points on the Pareto front of a better ``score`` at a lower ``cost``.

    A point is on the front when no other point is at least as good on both
    and better on one (Deb et al., 2002, "A fast and elitist multiobjective
    genetic algorithm: NSGA-II", the nondominated set); points with a NaN are
    never on it.
    """
    score = np.asarray(score, dtype=float) * (1.0 if maximize else -1.0)
    cost = np.asarray(cost, dtype=float)
    ok = ~(np.isnan(score) | np.isnan(cost))
    s, c = score[:, None], cost[:, None]  # point i (rows) dominated by point j (columns)
    dominated = ((score >= s) & (cost <= c) & ((score > s) | (cost < c)) & ok).any(axis=1)
    return ok & ~dominated


def pareto_figure(trials: pd.DataFrame, maximize: bool = True) -> Figure:
    """Score against fit time (log), one panel per optimizer: its completed trials, its
    Pareto front (a step line through the trials no other of its trials beats on both),
    and the front of all optimizers (dashed, grey) to compare panels with."""
    title = "Score against fit time"
    with _style():
        figure = _figure("pareto")
        done = trials[(trials["outcome"] == "complete") & trials["fit_time"].notna()]
        names = _present(done["optimizer"]) if len(done) else []
        if not names:
            return _message(figure, title, "no completed trial yet")
        if reason := _too_large(done["value"]):
            return _message(figure, title, reason)
        axes = _panels(figure, len(names), sharex=True, sharey=True)
        colors = _colors(trials["optimizer"].cat.categories)
        overall = _front_line(done, maximize)
        for ax, name in zip(axes, names):
            rows = done[done["optimizer"] == name]
            ax.plot(*overall, "--", drawstyle="steps-post", color="0.6", lw=1,
                    label="front of all optimizers")  # fmt: skip
            ax.plot(rows["fit_time"], rows["value"], "o", color=colors[name], ms=4, alpha=0.35,
                    label="trials")  # fmt: skip
            front = rows[pareto_front(rows["value"], rows["fit_time"], maximize)]
            ax.plot(*_front_line(front, maximize), "-", drawstyle="steps-post", color=colors[name])
            ax.plot(front["fit_time"], front["value"], "o", color=colors[name], ms=6,
                    label="its Pareto front")  # fmt: skip
            ax.set_title(f"{name}\n{len(front)} of {len(rows)} on its front")
        _log_axis(axes[0], "x", done["fit_time"])
        axes[0].set_ylabel(_SCORE)
        _figure_legend(figure, axes[:1], "")
        figure.supxlabel("fit time (seconds, all folds, log)")
        better = "higher" if maximize else "lower"
        figure.suptitle(f"{title} (better: {better} and to the left)")
        return figure


def _front_line(rows: pd.DataFrame, maximize: bool) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto front of ``rows`` as a step line: each score holds until a slower
    trial improves on it."""
    front = rows[pareto_front(rows["value"], rows["fit_time"], maximize)]
    front = front.sort_values("fit_time")
    return front["fit_time"].to_numpy(), front["value"].to_numpy()
