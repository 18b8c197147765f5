"""The tables as a person reads them: one number format per column, joined intervals, HTML and
Markdown, and a note on what each column means."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from html import escape

import pandas as pd

__all__ = [
    "FINAL_NOTES",
    "SUMMARY_NOTES",
    "SUMMARY_NUMERIC",
    "TRIALS_NOTES",
    "column_notes",
    "format_number",
    "html_table",
    "markdown_table",
    "number_format",
    "summary_display",
    "trials_display",
]

_STOPPED = ("pruned", "diverged", "failed")
#: Columns of :func:`summary_display` that hold numbers (aligned right).
SUMMARY_NUMERIC = frozenset(
    ["trials", "best", "median", "k", "best of k (95% interval)", "best trial", "compute"]
)
#: What each column of :func:`summary_display` means, in its order.
SUMMARY_NOTES = {
    "optimizer, schedule": 'the optimizer with all its schedules pooled (schedule "all"), '
    "then with each schedule it ran with",
    "trials": "its finished trials: each is one draw of the tuning budget",
    "not completed": "its trials stopped before their last epoch: pruned by the pruner "
    "for a poor score, diverged (the loss blew up), failed (an error)",
    "best, median": "the best and the median validation score of its completed trials",
    "k": "the equal tuning budget: as many trials as the smallest optimizer (or optimizer "
    "and schedule pair) has",
    "best of k (95% interval)": "the expected best score of k trials drawn from its "
    "trials, the score it reaches when tuned with k trials (pruned and diverged trials "
    "count with their last score, trials without a score as the study's worst); in brackets "
    "its 95% bootstrap interval, or too few trials for one",
    "best trial, best parameters": "the number and the parameters of its best completed trial",
    "compute": "the training time of its trials added up (with several workers, more than the "
    "time the study took)",
}
#: What the columns of the test scores' table on the page mean.
FINAL_NOTES = {
    "trial": "the trial whose configuration was refit",
    "seeds": "the fits that were scored (failed ones are not)",
    "mean, std": "mean and standard deviation of its test scores over the seeds",
    "seed n": "its test score when trained with seed n",
}
#: What the columns of :func:`trials_display` mean, but for the parameters.
TRIALS_NOTES = {
    "value": "the trial's score: the mean validation score over the folds",
    "end": "how it ended",
    "epochs": "the epochs it ran",
    "last_score": "the last validation score it reported (a pruned trial's, when stopped)",
    "fold_score_mean, fold_score_std": "mean and standard deviation of the folds' last scores",
    "duration, worker": "its training time, and the process (host:pid) that ran it",
    "baseline": "a configuration given to run first ([[study.baseline]]), not drawn",
}
# The columns a reader looks at first lead the trials table on the page.
_TRIALS_FIRST = ["number", "outcome", "value", "end", "epochs", "optimizer", "schedule"]
_TRIALS_LAST = ["last_score", "fold_score_mean", "fold_score_std", "start", "duration_s",
                "worker", "state", "baseline"]  # fmt: skip
# Magnitudes written without an exponent; others as 1.23e-05.
_FIXED = (1e-4, 1e6)


def number_format(values: Iterable[object], digits: int = 4) -> Callable[[object], str]:
    """One format for all ``values`` (a table column), chosen from their magnitude.

    Every value is rounded at the same decimal place, the one that leaves the
    smallest magnitude ``digits`` significant digits, so that ``-2976`` and
    ``-28760`` share a column; trailing zeros are dropped. When that would
    write the largest with more than ``digits + 2`` digits (a learning rate
    from ``1e-4`` to ``0.5``), or a magnitude is beyond ``1e-4 .. 1e6``, every
    value is written as ``1.234e-05``. Values that are not floats are written
    as they are; missing ones as ``""``.

    Returns
    -------
    callable
        Maps one value to its text.
    """
    magnitudes = [abs(v) for v in values if _finite(v) and v != 0]
    top, low = max(magnitudes, default=1.0), min(magnitudes, default=1.0)
    place = digits - 1 - math.floor(math.log10(low))  # decimals; negative: round to tens, ...
    width = math.floor(math.log10(top)) + 1 + max(place, 0)
    fixed = _FIXED[0] <= low and top < _FIXED[1] and width <= digits + 2

    def show(value: object) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return ""
        if not _finite(value):
            return str(value)
        if not fixed:
            mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
            return f"{_trimmed(mantissa)}e{exponent}"
        return _trimmed(f"{round(value, place) + 0.0:.{max(place, 0)}f}")  # + 0.0: no "-0"

    return show


def format_number(value: object, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits (:func:`number_format`); empty if missing."""
    return number_format([value], digits)(value)


def _finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _trimmed(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def _seconds(value: float) -> str:
    if math.isnan(value):
        return ""
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


def _stopped(row: pd.Series) -> str:
    """``1 pruned, 2 failed``: the trials of a summary row that did not complete."""
    return ", ".join(f"{row[c]} {c}" for c in _STOPPED if row[c])


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with readable headers and values, every cell a string.

    The scores (best, median, best of k and its interval) share one number
    format. The best of k shows its interval in brackets, or
    ``(too few trials)`` for a row with too few draws for an interval.
    Columns are explained by :data:`SUMMARY_NOTES`.
    """
    scores = ["best", "median", "best_of_k", "best_of_k_low", "best_of_k_high"]
    score = number_format(summary[scores].to_numpy().ravel().tolist())

    def best_of_k(estimate: float, low: float, high: float) -> str:
        if pd.isna(estimate):
            return ""
        interval = "too few trials" if pd.isna(low) else f"{score(low)}, {score(high)}"
        return f"{score(estimate)} ({interval})"

    return pd.DataFrame(
        {
            "optimizer": summary["optimizer"].astype(str),
            "schedule": summary["schedule"].astype(str),
            "trials": summary["trials"].astype(str),
            "not completed": summary.apply(_stopped, axis=1) if len(summary) else [],
            "best": summary["best"].map(score),
            "median": summary["median"].map(score),
            "k": summary["k"].astype(str),
            "best of k (95% interval)": [
                best_of_k(*row) for row in summary[scores[2:]].itertuples(index=False)
            ],
            "best trial": [format_number(n) for n in summary["best_trial"]],
            "best parameters": summary["best_params"],
            "compute": summary["compute_s"].map(_seconds),
        },
        index=summary.index,
    ).astype(str)


def trials_display(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials table with rounded numbers (one format per column) and times to the second,
    every cell a string.

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
            values = column.astype(object).tolist()
            shown[name] = list(map(number_format(values), values))
    return pd.DataFrame(shown, index=trials.index).astype(str)


def html_table(
    frame: pd.DataFrame,
    numeric: Collection[str] = (),
    text: Collection[str] = (),
    row_classes: list[str] | None = None,
    table_class: str = "",
) -> str:
    """An HTML table of string cells; ``numeric`` columns right-aligned, ``text`` ones wrapped."""

    def cls(column: str) -> str:
        name = "num" if column in numeric else "text" if column in text else ""
        return f' class="{name}"' if name else ""

    head = "".join(f"<th{cls(c)}>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for i, values in enumerate(frame.itertuples(index=False)):
        row_class = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(f"<td{cls(c)}>{escape(v)}</td>" for c, v in zip(frame.columns, values))
        rows.append(f"<tr{row_class}>{cells}</tr>")
    opening = f'<table class="{table_class}">' if table_class else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def column_notes(notes: Mapping[str, str]) -> str:
    """What each column means, as an HTML list to put under its table."""
    items = "".join(
        f"<li><b>{escape(name)}</b>: {escape(text)}</li>" for name, text in notes.items()
    )
    return f'<ul class="columns">{items}</ul>'


def markdown_table(frame: pd.DataFrame, numeric: Collection[str] = ()) -> str:
    """A GitHub-flavoured Markdown table of string cells; ``numeric`` columns right-aligned."""

    def cells(values) -> str:
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    rule = ["---:" if c in numeric else "---" for c in frame.columns]
    lines = [cells(frame.columns), "|" + "|".join(rule) + "|"]
    lines += [cells(row) for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"
