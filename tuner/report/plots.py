"""The report's plots, drawn from its tables with matplotlib (no pyplot, no display needed).

Each function takes report tables and returns a :class:`matplotlib.figure.Figure`
of a fixed size (:data:`SIZES` inches at :data:`DPI`), so the PNG files have
known pixel sizes. Optuna's own matplotlib plots are not used: they colour
nothing by optimizer and would compute the importances a second time.
Every optimizer keeps one colour across the plots.

The figures stay readable from one optimizer to seven, for scores between 0
and 1 as for negative squared errors in the tens of thousands: panels of one
quantity share their axis (and only the outer ones label it), legends stand
beside or above the data, never on it, log axes label whole decades (or
1-2-5 steps when they span less than two), and numbers are written as in the
tables, without offsets.

The single-objective figures are here; what they share (sizes, style, PNG
bytes, drawing helpers) is in :mod:`tuner.report.plotting`, and the figure of a
study of score against fit time in :mod:`tuner.report.pareto`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from .bestofk import MIN_DRAWS, N_BOOT, best_of_k_curve, expected_best_of_k
from .display import number_format
from .plotting import (
    _SCORE,
    _SCORE_NOTE,
    _colors,
    _count,
    _figure,
    _figure_legend,
    _legend_beside,
    _log_axis,
    _message,
    _panels,
    _present,
    _ranked,
    _scores,
    _style,
    _too_large,
)
from .summary import draw_scores, finished
from .tables import ALL

__all__ = [
    "best_of_k_figure",
    "curves_figure",
    "history_figure",
    "importances_figure",
    "lr_score_figure",
    "schedules_figure",
    "seed_scores_figure",
]


# -- the plots -----------------------------------------------------------------------
def history_figure(trials: pd.DataFrame, maximize: bool = True) -> Figure:
    """Score of each trial in trial order, coloured by optimizer, with the best so far."""
    title = "Optimization history"
    with _style():
        figure = _figure("history")
        done = finished(trials)
        if done[["value", "last_score"]].isna().all(axis=None):
            return _message(figure, title, "no trial reported a score")
        if reason := _too_large(done["value"], done["last_score"]):
            return _message(figure, title, reason)
        ax = figure.subplots()
        colors = _colors(trials["optimizer"].cat.categories)
        for name in _present(done["optimizer"]):
            _scores(ax, done[done["optimizer"] == name], "number", colors[name], label=name)
        values = done.set_index("number")["value"].dropna()
        if len(values):
            best = values.cummax() if maximize else values.cummin()
            ax.step(best.index, best.to_numpy(), where="post", color="0.2", lw=1.2,
                    label="best so far")  # fmt: skip
        ax.set(title=f"{title} ({_SCORE_NOTE})", xlabel="trial number", ylabel=_SCORE)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _legend_beside(ax, "optimizer")
        return figure


def curves_figure(
    trials: pd.DataFrame, curves: pd.DataFrame, maximize: bool = True, top: int = 3
) -> Figure:
    """Validation score and learning rate per epoch of the ``top`` trials of each optimizer.

    One column per optimizer; all share the epoch axis (log scale, so that a
    trial stopped after a few epochs is not squashed against the longest
    ones), and each row its quantity. Each column's legend, above it, gives
    its trials' numbers, schedules and scores.
    """
    title = "Learning curves"
    with _style():
        figure = _figure("curves")
        ranked = _ranked(trials, maximize)
        ranked = ranked[ranked["number"].isin(curves["number"])]
        names = _present(ranked["optimizer"]) if len(ranked) else []
        if not names:
            return _message(figure, title, "no learning curves recorded")
        shown = curves[curves["number"].isin(ranked["number"])]
        if reason := _too_large(shown["score"]):
            return _message(figure, title, reason)
        axes = figure.subplots(2, len(names), squeeze=False, sharex=True, sharey="row",
                               height_ratios=[3, 2])  # fmt: skip
        colors = _colors(trials["optimizer"].cat.categories)
        styles = ["-", "--", ":"]
        best = ranked.groupby("optimizer", observed=True, sort=False).head(top)
        best = best.assign(shown_score=best["value"].fillna(best["last_score"]))
        score = number_format(best["shown_score"].tolist())
        # Narrow columns put each trial's score on a line of its own.
        sep = "\n" if len(names) > 3 else ", "
        for col, name in enumerate(names):
            score_ax, lr_ax = axes[0, col], axes[1, col]
            rows = best[best["optimizer"] == name]
            for rank, row in enumerate(rows.itertuples()):
                curve = shown[shown["number"] == row.number]
                end = "" if row.outcome == "complete" else f" {row.outcome}"
                style = {"color": colors[name], "ls": styles[rank % len(styles)], "lw": 1.5,
                         "marker": "o" if len(curve) == 1 else None}  # fmt: skip
                label = f"#{row.number} {row.schedule}{sep}{score(row.shown_score)}{end}"
                score_ax.plot(curve["epoch"], curve["score"], label=label, **style)
                lr_ax.plot(curve["epoch"], curve["lr"], **style)
            score_ax.legend(title=f"{name}: best {len(rows)}", loc="lower center",
                            bbox_to_anchor=(0.5, 1.0), borderaxespad=0.3)  # fmt: skip
            lr_ax.set_xlabel("epoch (log)")
        _log_axis(axes[0, 0], "x", shown["epoch"])
        _log_axis(axes[1, 0], "y", shown["lr"])
        axes[0, 0].set_ylabel(_SCORE)
        axes[1, 0].set_ylabel("learning rate")
        figure.suptitle(f"{title}: the best trials of each optimizer, learning rate beneath")
        return figure


def best_of_k_figure(
    trials: pd.DataFrame, summary: pd.DataFrame, maximize: bool = True, n_boot: int = N_BOOT,
    seed: int = 0,
) -> Figure:  # fmt: skip
    """Expected best score against the number of trials spent on each optimizer.

    Each optimizer is a line with its 95% bootstrap band; one with fewer than
    :data:`~tuner.report.bestofk.MIN_DRAWS` trials is drawn as points, without a band.
    """
    title = "Best of k: expected best score when tuning with k trials"
    with _style():
        figure = _figure("best_of_k")
        done = finished(trials).assign(_score=draw_scores(trials, maximize))
        done = done[done["_score"].notna()]
        names = _present(done["optimizer"]) if len(done) else []
        if not names:
            return _message(figure, title, "no trial reported a score")
        if reason := _too_large(done["_score"]):
            return _message(figure, title, reason)
        ax = figure.subplots()
        colors = _colors(trials["optimizer"].cat.categories)
        sign = 1.0 if maximize else -1.0
        for name in names:
            scores = done.loc[done["optimizer"] == name, "_score"].to_numpy()
            if len(scores) < MIN_DRAWS:  # named on the page, so shown, but without a band
                k = np.arange(1, len(scores) + 1)
                estimate = [expected_best_of_k(scores, b) for b in k]
                trials = f"{len(scores)} trial" + ("s" if len(scores) > 1 else "")
                ax.plot(k, sign * np.array(estimate), "o:", color=colors[name], ms=6,
                        label=f"{name} ({trials}: no band)")  # fmt: skip
                continue
            k, estimate, low, high = best_of_k_curve(scores, n_boot, seed).T
            ax.plot(k, sign * estimate, color=colors[name], lw=1.8, label=name)
            ax.fill_between(k, sign * low, sign * high, color=colors[name], alpha=0.12, lw=0)
        budget = summary.loc[summary["schedule"] == ALL, "k"]
        if len(budget):
            k = budget.iloc[0]
            ax.axvline(k, color="0.5", ls=":", lw=1, label=f"k of the summary ({k})")
        ax.set(
            title=f"{title} (band: 95% bootstrap interval)",
            xlabel="trials per optimizer (tuning budget k, log scale)",
            ylabel=f"expected best {_SCORE}",
        )
        # Budgets matter by their order of magnitude, and small ones differ most.
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        _legend_beside(ax, "optimizer")
        return figure


def lr_score_figure(trials: pd.DataFrame) -> Figure:
    """Score against learning rate (log axis), one panel per optimizer, coloured by schedule."""
    title = "Learning rate vs score"
    with _style():
        figure = _figure("lr_score")
        done = finished(trials)
        if "lr" in done.columns:
            done = done[done["lr"].notna()]
        names = _present(done["optimizer"]) if "lr" in done.columns and len(done) else []
        if not names:
            return _message(figure, title, "no trial with a learning rate")
        if reason := _too_large(done["value"], done["last_score"]):
            return _message(figure, title, reason)
        axes = _panels(figure, len(names), sharex=True, sharey=True)
        colors = _colors(trials["schedule"].cat.categories, "Dark2")
        for ax, name in zip(axes, names):
            rows = done[done["optimizer"] == name]
            for schedule in _present(rows["schedule"]):
                _scores(ax, rows[rows["schedule"] == schedule], "lr", colors[schedule], schedule)
            ax.set_title(name)
        _log_axis(axes[0], "x", done["lr"])
        axes[0].set_ylabel(_SCORE)
        _figure_legend(figure, axes, "schedule")
        figure.supxlabel("initial learning rate (log)")
        figure.suptitle(f"{title} ({_SCORE_NOTE})")
        return figure


def schedules_figure(trials: pd.DataFrame, curves: pd.DataFrame, maximize: bool = True) -> Figure:
    """The schedule shapes used: learning rate over its initial value, per epoch."""
    title = "Schedules used"
    with _style():
        figure = _figure("schedules")
        # Merged onto the ranking, so that each schedule's trials come best first.
        shapes = _ranked(trials, maximize)[["number", "schedule"]].merge(
            curves.dropna(subset=["lr"]), on="number"
        )
        names = _present(shapes["schedule"]) if len(shapes) else []
        if not names:
            return _message(figure, title, "no learning rates recorded")
        first = shapes.groupby("number")["lr"].transform("first")
        shapes = shapes.assign(factor=shapes["lr"] / first)
        axes = _panels(figure, len(names), sharex=True, sharey=True)
        colors = _colors(trials["schedule"].cat.categories, "Dark2")
        for ax, name in zip(axes, names):
            rows = shapes[shapes["schedule"] == name]
            numbers = rows["number"].unique()  # best first, as ranked
            for number in numbers[1:]:
                trial = rows[rows["number"] == number]
                ax.plot(trial["epoch"], trial["factor"], color="0.6", lw=0.8, alpha=0.5)
            best = rows[rows["number"] == numbers[0]]
            ax.plot(best["epoch"], best["factor"], color=colors[name], lw=2)
            ax.set_title(f"{name}\n{_count(len(numbers))}")
        axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0].set_ylabel("learning rate / initial")
        figure.supxlabel("epoch")
        figure.suptitle(f"{title} (coloured: the best trial with each schedule)")
        return figure


def importances_figure(
    importances: pd.DataFrame, method: str = "fANOVA", notes: Sequence[str] = ()
) -> Figure:
    """Horizontal bars of parameter importance, over all trials and per optimizer.

    Without any importance, the figure says why: the ``notes`` on what was left
    out (:class:`tuner.report.importance.Importances`), else too few trials.
    """
    title = "Parameter importances"
    with _style():
        figure = _figure("importances")
        scopes = _present(importances["optimizer"]) if len(importances) else []
        if not scopes:
            why = "\n".join(notes) or "not enough completed trials to rank parameters"
            return _message(figure, title, why)
        axes = _panels(figure, len(scopes), sharex=True)
        colors = _colors(importances["optimizer"].cat.categories)
        for ax, scope in zip(axes, scopes):
            rows = importances[importances["optimizer"] == scope].sort_values("importance")
            color = "0.35" if scope == ALL else colors[scope]
            ax.barh(rows["param"], rows["importance"], color=color)
            ax.set_title(f"{'all' if scope == ALL else scope}\n{_count(rows['n_trials'].iloc[0])}")
            ax.grid(axis="y", visible=False)
        axes[0].set(xlim=(0, 1), xticks=[0, 0.5, 1])
        axes[0].xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        figure.supxlabel("importance (share)")
        figure.suptitle(f"{title} ({method}, completed trials)")
        return figure


def seed_scores_figure(
    final: pd.DataFrame, maximize: bool = True, scoring: str | None = None
) -> Figure:
    """Each optimizer's test scores, one point per training seed, with mean and standard deviation.

    One row per optimizer, the best mean on top; the row's label gives the
    mean, the standard deviation and the number of seeds (and failed fits).
    """
    title = "Test scores (held-out split): each optimizer's best configuration, one point per seed"
    with _style():
        figure = _figure("test_scores")
        names = _present(final["optimizer"]) if len(final) else []
        scored = final[np.isfinite(final["test_score"])]
        if not len(scored):
            return _message(figure, title, "no final fit scored on a held-out test split")
        if reason := _too_large(scored["test_score"]):
            return _message(figure, title, reason)
        sign = 1.0 if maximize else -1.0
        by_optimizer = scored.groupby("optimizer", observed=True)["test_score"]
        means, stds = by_optimizer.mean(), by_optimizer.std(ddof=1)  # NaN for one seed
        # The best ends on top; an optimizer whose fits all failed, at the bottom.
        names = sorted(names, key=lambda o: sign * means[o] if o in means else -np.inf)
        ax = figure.subplots()
        colors = _colors(final["optimizer"].cat.categories)
        mean, spread = number_format(means.tolist()), number_format(stds.tolist(), 2)
        labels = []
        for row, name in enumerate(names):
            scores = scored.loc[scored["optimizer"] == name, "test_score"].to_numpy()
            failed = int((final["optimizer"] == name).sum()) - len(scores)
            if not len(scores):
                labels.append(f"{name}\nall {failed} fits failed")
                continue
            # Spread the seeds a little across the row, so that equal scores stay visible.
            offsets = np.linspace(-0.15, 0.15, len(scores)) if len(scores) > 1 else [0.0]
            std = stds[name] if len(scores) > 1 else 0.0
            ax.errorbar(means[name], row, xerr=std, fmt="|", color="0.15", ms=22, mew=2,
                        capsize=5, lw=1.2, zorder=2)  # fmt: skip
            ax.plot(scores, row + np.asarray(offsets), "o", color=colors[name], ms=6, alpha=0.85,
                    zorder=3)  # fmt: skip
            noise = f" ± {spread(std)}" if len(scores) > 1 else ""
            note = f", {failed} failed" if failed else ""
            seeds = f"{len(scores)} seed{'s' if len(scores) > 1 else ''}"
            labels.append(f"{name}\n{mean(means[name])}{noise} ({seeds}{note})")
        ax.set_yticks(range(len(names)), labels)
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.grid(axis="y", visible=False)
        better = "greater" if maximize else "smaller"
        what = (
            f"test score ({scoring}, {better} is better)"
            if scoring
            else f"test score ({better} is better)"
        )
        ax.set(title=f"{title} (bar: mean ± standard deviation)", xlabel=what)
        return figure
