"""The suite's plots: performance profiles at each budget, and each problem's best of k.

Drawn with matplotlib's object interface (no pyplot), at the size and
resolution of the study reports' plots (:data:`tuner.report.plotting.DPI`); each
optimizer keeps one colour in both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from ..report.bestofk import MIN_DRAWS, best_of_k_curve
from ..report.plotting import DPI
from .results import SuiteResults

__all__ = ["best_of_k_grid", "colors", "profiles_figure"]

#: Bootstrap resamples of the small best-of-k bands (a page of many problems).
_N_BOOT = 200
_PANEL_COLUMNS = 4


def colors(optimizers: Sequence[str]) -> dict[str, tuple]:
    """One colour per optimizer, in the suite's order."""
    palette = mpl.colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(optimizers)}


def profiles_figure(results: SuiteResults) -> Figure:
    """One panel per budget ``k``: each optimizer's performance profile ``rho(tau)``."""
    budgets = list(results.suite.budgets)
    figure = Figure(figsize=(4.0 * len(budgets) + 1.5, 3.6), dpi=DPI, layout="constrained")
    axes = figure.subplots(1, len(budgets), sharey=True, squeeze=False)[0]
    profiles = results.profiles
    finite = profiles.loc[np.isfinite(profiles["tau"]), "tau"]
    right = max(2.0, 1.25 * float(finite.max())) if len(finite) else 2.0
    palette = colors(results.suite.optimizers)
    for ax, k in zip(axes, budgets):
        at_k = profiles[profiles["k"] == k]
        for name in results.suite.optimizers:
            curve = at_k[at_k["optimizer"] == name].sort_values("tau")
            if curve.empty:
                continue
            tau = np.append(curve["tau"].to_numpy(), right)
            rho = np.append(curve["rho"].to_numpy(), curve["rho"].iloc[-1])
            ax.step(tau, rho, where="post", color=palette[name], lw=1.8, label=name)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.set(xlim=(1, right), ylim=(-0.02, 1.02), title=f"k = {k} trials per optimizer",
               xlabel="tau (error within tau x the best's)")  # fmt: skip
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of problems")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside right upper", title="optimizer", frameon=False)
    n = len(results.problems)
    figure.suptitle(f"Performance profiles over {n} problem{'s' * (n != 1)} "
                    "(Dolan & Moré 2002) at each tuning budget k")  # fmt: skip
    return figure


def best_of_k_grid(results: SuiteResults) -> Figure:
    """One small panel per problem: each optimizer's expected best score against the budget."""
    problems = results.problems
    columns = min(_PANEL_COLUMNS, max(1, len(problems)))
    rows = max(1, math.ceil(len(problems) / columns))
    figure = Figure(figsize=(3.4 * columns + 1.5, 2.6 * rows), dpi=DPI, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    palette = colors(results.suite.optimizers)
    for ax, problem in zip(axes, problems):
        tuned = []  # the expected best of 2 or more trials: what the axis must show
        for name, scores in results.draws[problem].items():
            scores = scores[np.isfinite(scores)]
            if len(scores) < MIN_DRAWS:
                continue
            k, estimate, low, high = best_of_k_curve(scores, n_boot=_N_BOOT).T
            ax.plot(k, estimate, color=palette[name], lw=1.5, label=name)
            ax.fill_between(k, low, high, color=palette[name], alpha=0.12, lw=0)
            tuned += list(estimate[k >= 2])
        _clip_outliers(ax, tuned)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.set_title(problem, fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[len(problems) :]:
        ax.set_axis_off()
    for ax in axes[::columns]:
        ax.set_ylabel("expected best score", fontsize=9)
    for ax in axes[-columns:]:
        ax.set_xlabel("trials per optimizer (k)", fontsize=9)
    handles, labels = _legend(axes)
    figure.legend(handles, labels, loc="outside right upper", title="optimizer", frameon=False)
    return figure


def _clip_outliers(ax, tuned: list[float]) -> None:
    """Keep the differences between tuned optimizers visible: a single trial of a diverging
    configuration (a score of -400 where the others reach 0.5) would flatten every curve."""
    if not tuned:
        return
    low, high = min(tuned), max(tuned)
    span = max(high - low, 1e-12)
    if ax.get_ylim()[0] < low - 2 * span:
        ax.set_ylim(low - 0.5 * span, high + 0.1 * span)
        ax.text(0.02, 0.02, "axis cut: lower values below", transform=ax.transAxes, fontsize=7,
                color="0.4")  # fmt: skip


def _legend(axes: np.ndarray) -> tuple[list, list[str]]:
    """The legend entries of the first panel that has them all."""
    best: tuple[list, list[str]] = ([], [])
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if len(labels) > len(best[1]):
            best = (handles, labels)
    return best
