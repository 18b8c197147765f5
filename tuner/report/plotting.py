"""What the report's figures share: their sizes and style, their PNG bytes, and the
helpers that draw them (messages, colours, panels, legends, log axes, trial scores).

The figures themselves are in :mod:`tuner.report.plots` and, for a study of
score against fit time, :mod:`tuner.report.pareto`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import (
    LogFormatterSciNotation,
    LogLocator,
    NullFormatter,
    StrMethodFormatter,
)

from .summary import draw_scores, finished
from .tables import ALL

__all__ = ["DPI", "PLOT_TABLES", "SIZES", "png_bytes"]

#: Resolution of the PNG files (dots per inch).
DPI = 100
#: Size of each figure in inches (width, height); PNGs are ``DPI`` times that.
SIZES = {
    "pareto": (12.0, 4.5),
    "history": (12.0, 4.5),
    "curves": (12.0, 6.0),
    "best_of_k": (12.0, 4.5),
    "lr_score": (12.0, 4.0),
    "schedules": (12.0, 3.5),
    "importances": (12.0, 4.0),
    "test_scores": (12.0, 4.0),
}
#: The report's tables each plot is drawn from: a plot is left out when one is missing.
PLOT_TABLES = {
    "pareto": ("trials",),
    "history": ("trials",),
    "curves": ("trials", "curves"),
    "best_of_k": ("trials", "summary"),
    "lr_score": ("trials",),
    "schedules": ("trials", "curves"),
    "importances": ("importances",),
    "test_scores": ("final",),
}
_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "legend.title_fontsize": 9,
    # Ticks as the tables write numbers: -2887, not an offset of -2.88e3 beside 7.
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-4, 6),
}
_SCORE = "validation score"
_SCORE_NOTE = "dots: completed trials; crosses: pruned or diverged, at their last score"
# Scores beyond this magnitude are not drawn: matplotlib's axis limits and ticks
# overflow well before the largest float (about 1.8e308).
_LARGEST = 1e300


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_STYLE):
        yield


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes, identical for identical figures (no software tag, no date)."""
    buffer = io.BytesIO()
    with _style():
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(name: str) -> Figure:
    return Figure(figsize=SIZES[name], dpi=DPI, layout="constrained")


def _message(figure: Figure, title: str, text: str) -> Figure:
    """A figure that says why there is nothing to plot."""
    ax = figure.subplots()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    return figure


def _too_large(*scores: pd.Series | np.ndarray) -> str | None:
    """Why ``scores`` cannot be drawn (a magnitude beyond ``_LARGEST``); None when they can."""
    values = np.abs(np.concatenate([np.asarray(s, dtype=float) for s in scores]))
    largest = values[np.isfinite(values)].max(initial=0.0)
    if largest <= _LARGEST:
        return None
    return f"scores as large as {largest:.3g} in magnitude are too large to draw"


def _colors(categories: pd.Index, palette_name: str = "tab10") -> dict:
    """One colour per category, in category order, the same in every plot.

    Optimizers take ``tab10``; schedules take ``Dark2``, so that the two never look alike.
    """
    palette = mpl.colormaps[palette_name].colors
    names = [c for c in categories if c != ALL]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def _panels(figure: Figure, n: int, **kwargs) -> list[Axes]:
    return list(figure.subplots(1, n, squeeze=False, **kwargs)[0])


def _legend_beside(ax: Axes, title: str) -> None:
    """The legend right of the axes, where it never hides a point."""
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _figure_legend(figure: Figure, axes: Sequence[Axes], title: str) -> None:
    """One legend for all the panels, right of them, each label once."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    figure.legend(list(entries.values()), list(entries), title=title, loc="outside right upper")


def _log_axis(ax: Axes, which: str, values: pd.Series | np.ndarray) -> None:
    """A log scale on ``ax``'s axis ``which`` (``"x"`` or ``"y"``) for ``values``, with labels
    that never crowd: whole decades, or 1-2-5 steps (0.002, 0.005, 0.01) on a span of less
    than two decades. Decades below 1 read ``10^-3``; from 1 (epochs), ``1, 10, 100``.

    Shared axes share these settings; set them once, on any of them.
    """
    positive = np.asarray(values, dtype=float)
    positive = positive[np.isfinite(positive) & (positive > 0)]
    getattr(ax, f"set_{which}scale")("log")
    axis = getattr(ax, f"{which}axis")
    decades = np.log10(positive.max() / positive.min()) if len(positive) else 0.0
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades < 2 else (1.0,)))
    plain = decades < 2 or positive.min(initial=np.inf) >= 1
    axis.set_major_formatter(StrMethodFormatter("{x:g}") if plain else LogFormatterSciNotation())
    axis.set_minor_formatter(NullFormatter())


def _present(column: pd.Series) -> list:
    """Categories that occur in ``column``, in category order."""
    return [c for c in column.cat.categories if (column == c).any()]


def _ranked(trials: pd.DataFrame, maximize: bool) -> pd.DataFrame:
    """Finished trials best first: completed ones by value, then the others by last score."""
    done = finished(trials).assign(_score=draw_scores(trials, maximize))
    done = done.assign(_complete=done["outcome"] == "complete")
    return done.sort_values(["_complete", "_score", "number"], ascending=[False, False, True])


def _count(n: int) -> str:
    return f"{n} trial" + ("" if n == 1 else "s")


def _scores(ax: Axes, rows: pd.DataFrame, x: str, color, label: str | None = None) -> None:
    """Completed trials as dots at their value; pruned or diverged ones as crosses (last score)."""
    complete = rows[rows["outcome"] == "complete"]
    stopped = rows[rows["outcome"].isin(["pruned", "diverged"])]
    ax.plot(complete[x], complete["value"], "o", color=color, ms=5, alpha=0.85, label=label)
    ax.plot(stopped[x], stopped["last_score"], "x", color=color, ms=5, alpha=0.85)
