"""The tables as a person reads them: rounded numbers, joined intervals, Markdown."""

from __future__ import annotations

import math
from collections.abc import Collection

import pandas as pd

__all__ = [
    "SUMMARY_NUMERIC",
    "format_number",
    "markdown_table",
    "summary_display",
    "trials_display",
]

_COUNTS = ("trials", "completed", "pruned", "diverged", "failed")
#: Columns of :func:`summary_display` that hold numbers (aligned right).
SUMMARY_NUMERIC = frozenset(
    [*_COUNTS, "best", "median", "k", "best of k (95% interval)", "best trial", "compute"]
)
# The columns a reader looks at first lead the trials table on the page.
_TRIALS_FIRST = ["number", "outcome", "value", "end", "epochs", "optimizer", "schedule"]
_TRIALS_LAST = ["last_score", "fold_score_mean", "fold_score_std", "start", "duration_s",
                "worker", "state"]  # fmt: skip


def format_number(value: object, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits; empty for a missing value."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _seconds(value: float) -> str:
    if math.isnan(value):
        return ""
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


def _estimate(estimate: float, low: float, high: float) -> str:
    """``0.95 (0.93, 0.97)``; a row without an interval has too few trials for one."""
    if pd.isna(estimate):
        return ""
    if pd.isna(low):
        return f"{format_number(estimate)} (too few trials)"
    return f"{format_number(estimate)} ({format_number(low)}, {format_number(high)})"


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with readable headers and values, every cell a string.

    The best of k shows its interval in brackets, or ``(too few trials)`` for
    a row with too few draws for an interval.
    """
    best_of_k = [
        _estimate(e, lo, hi)
        for e, lo, hi in summary[["best_of_k", "best_of_k_low", "best_of_k_high"]].itertuples(
            index=False
        )
    ]
    return pd.DataFrame(
        {
            "optimizer": summary["optimizer"].astype(str),
            "schedule": summary["schedule"].astype(str),
            **{c: summary[c].astype(str) for c in _COUNTS},
            "best": summary["best"].map(format_number),
            "median": summary["median"].map(format_number),
            "k": summary["k"].astype(str),
            "best of k (95% interval)": best_of_k,
            "best trial": [format_number(n) for n in summary["best_trial"]],
            "best parameters": summary["best_params"],
            "compute": summary["compute_s"].map(_seconds),
        },
        index=summary.index,
    ).astype(str)


def trials_display(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials table with rounded numbers and times to the second, every cell a string.

    The columns that say how a trial did come first, its timing and bookkeeping last.
    """
    first = [c for c in _TRIALS_FIRST if c in trials.columns]
    last = [c for c in _TRIALS_LAST if c in trials.columns]
    trials = trials[first + [c for c in trials.columns if c not in first + last] + last]
    shown = {}
    for name, column in trials.items():
        if name == "start":
            shown[name] = column.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
        elif name == "duration_s":
            shown[name] = column.map(_seconds)
        else:
            shown[name] = [format_number(v) for v in column.astype(object)]
    return pd.DataFrame(shown, index=trials.index).astype(str)


def markdown_table(frame: pd.DataFrame, numeric: Collection[str] = ()) -> str:
    """A GitHub-flavoured Markdown table of string cells; ``numeric`` columns right-aligned."""

    def cells(values) -> str:
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    rule = ["---:" if c in numeric else "---" for c in frame.columns]
    lines = [cells(frame.columns), "|" + "|".join(rule) + "|"]
    lines += [cells(row) for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"
