"""The report as one self-contained HTML page: no script, no link, plots inlined as base64.

The page reads top to bottom: what the study is, the verdict (which optimizer
is ahead at an equal budget, and how sure that is), the summary, the scores
of each optimizer's best on the held-out test split, the best trial with the
code to rebuild it, the plots, then every trial. Every text that comes from
the study is escaped.

A part of the report that could not be built (:mod:`tuner.report.problems`)
is listed at the top, and its section, or its plot, is replaced by a line
with its reason; so is a section that cannot be written itself.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .bestofk import MIN_DRAWS
from .display import (
    FINAL_NOTES,
    SUMMARY_NOTES,
    SUMMARY_NUMERIC,
    TRIALS_NOTES,
    column_notes,
    format_number,
    html_table,
    number_format,
    summary_display,
    trials_display,
)
from .heldout import score_statistics
from .page_header import study_header, unfinished, verdict_lines
from .plotting import PLOT_TABLES, png_bytes
from .problems import ReportProblem, find_problem, guarded
from .style import NOTEBOOK_CSS, STUDY_CSS
from .tables import ALL, baseline_table

if TYPE_CHECKING:
    from . import Report

__all__ = ["CAPTIONS", "NOTEBOOK_PLOTS", "notebook_html", "plot_images", "render_page"]

#: What each plot shows, under it on the page.
CAPTIONS = {
    "pareto": "Score against the time the trial's folds took to train, per optimizer: each "
    "optimizer's Pareto front (the trials that no other of its trials beats on both score and "
    "time) as a line through its marked trials, the front of all optimizers dashed.",
    "history": "Score of every trial in the order they ran, coloured by optimizer; "
    "the line is the best score so far.",
    "curves": "Validation score per epoch of the best trials of each optimizer, "
    "with the learning rate they used beneath.",
    "best_of_k": "How good each optimizer gets when tuned with k trials: the expected best "
    "of k of its trials, with a 95% bootstrap band (points without a band: an optimizer with "
    "too few trials for one). Compare optimizers at the same k.",
    "lr_score": "Score against the initial learning rate, per optimizer; colours are schedules.",
    "schedules": "The learning-rate schedules the trials used, as a multiple of the initial rate.",
    "importances": "How much of the variation of the score each parameter explains, "
    "over all completed trials and within each optimizer.",
    "test_scores": "Each optimizer's best configuration refit with several training seeds and "
    "scored on the held-out test split: one point per seed, the bar its mean ± standard "
    "deviation (the seed noise a lead must exceed).",
}
#: The plots a notebook shows (:func:`notebook_html`), when they have something to show.
NOTEBOOK_PLOTS = ("best_of_k", "test_scores", "curves")
_SUMMARY_NOTE = (
    "Each optimizer first (all its schedules pooled), then each schedule it ran with, "
    "compared at an equal tuning budget of <i>k</i> trials by the <b>best of k</b>: the score "
    "an optimizer reaches when tuned with <i>k</i> trials (an interval needs at least "
    f"{MIN_DRAWS} trials). The verdict above compares the optimizers at the summary's "
    "<i>k</i>: how often each is best when its trials are resampled, confirmed by permutation "
    "tests. The columns are explained under the table."
)


def render_page(
    report: Report,
    images: Mapping[str, bytes],
    problems: Sequence[ReportProblem] | None = None,
) -> str:
    """The HTML page of ``report``, with ``images`` (name -> PNG bytes) inlined.

    ``problems`` are the parts left out (default: the report's own); those
    found while writing the page are added to them.
    """
    problems = list(report.problems if problems is None else problems)
    section = partial(_section, problems)
    plot = partial(_plot, report, images, problems)
    body = [
        '<h2 id="summary">Summary: which optimizer to use</h2>',
        section("summary", lambda: _summary(report), "trials", "summary"),
        section("baselines", lambda: _baselines(report), "trials"),
        '<h2 id="test">Test scores (held-out split)</h2>',
        section("test scores", lambda: _test_scores(report, plot("test_scores")), "final"),
        '<h2 id="best">Best trial</h2>',
        section("best trial", lambda: _best(report), "best"),
        '<h2 id="plots">Plots</h2>',
        *(plot(name) for name in report.plot_names if name != "test_scores"),
        f'<h2 id="trials">All trials ({len(report.trials)})</h2>',
        section("trials", lambda: _trials_table(report.trials), "trials"),
    ]
    header = section("header", lambda: study_header(report))  # after the others: it lists problems
    title = f"Study {report.study_name}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}: tuner report</title>",
        f"<style>{STUDY_CSS}</style></head><body><main>",
        header,
        _problems(problems),
        *body,
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def notebook_html(report: Report) -> str:
    """The report as an HTML fragment for a notebook (``Report._repr_html_``).

    The best trial and the verdict, the summary with the notes on its
    columns, then the plots of :data:`NOTEBOOK_PLOTS` as inline PNGs (the test
    scores only when a final fit was scored), after the Pareto fronts of a
    study of score against fit time. A part that cannot be shown is replaced
    by its reason, as on the page.
    """
    problems = list(report.problems)
    scored = np.isfinite(report.final["test_score"]).any()
    names = [name for name in ("pareto", *NOTEBOOK_PLOTS) if name in report.plot_names]
    names = [name for name in names if name != "test_scores" or scored]
    images = plot_images(report, names, problems)
    parts = [
        f'<div class="tuner-report"><style>{NOTEBOOK_CSS}</style>',
        f"<h3>{escape(f'Study {report.study_name}')}</h3>",
        _section(problems, "headline", lambda: "\n".join(verdict_lines(report))),
        _section(problems, "summary", lambda: _summary(report), "trials", "summary"),
        *(_plot(report, images, problems, name) for name in names),
        '<p class="note">Every plot and trial: <code>report.save("reports")</code> writes the '
        "report's page and files.</p></div>",
    ]
    return "\n".join(p for p in parts if p)


def plot_images(
    report: Report, names: Iterable[str], problems: list[ReportProblem]
) -> dict[str, bytes]:
    """The plots ``names`` of ``report`` as PNG bytes, by name.

    A plot whose tables are missing is left out; one that cannot be drawn
    too, added to ``problems``.
    """
    images = {}
    for name in names:
        if find_problem(problems, *PLOT_TABLES[name]) is None:
            png = guarded(problems, f"{name} plot", partial(_png, report, name), None)
            if png is not None:
                images[name] = png
    return images


def _png(report: Report, name: str) -> bytes:
    return png_bytes(report.figure(name))


def _section(
    problems: list[ReportProblem], name: str, render: Callable[[], str], *tables: str
) -> str:
    """A section, or the reason why not: a table it shows is missing, or it failed."""
    missing = find_problem(problems, *tables)
    if missing is None:
        html = guarded(problems, f"{name} section", render, None)
        if html is not None:
            return html
        missing = problems[-1]
    return _problem_line("Not shown", missing)


def _plot(
    report: Report, images: Mapping[str, bytes], problems: list[ReportProblem], name: str
) -> str:
    """A plot with its caption, the reason why it is missing, or nothing without it."""
    if name in images:
        notes = report.importance_notes if name == "importances" else ()
        return _figure(name, images[name], notes)
    missing = find_problem(problems, f"{name} plot", *PLOT_TABLES[name])
    return "" if missing is None else _problem_line(f"{name} plot not shown", missing)


def _problem_line(what: str, problem: ReportProblem) -> str:
    """One line in place of what could not be shown, with its reason."""
    return f'<p class="problem">{escape(what)}: {escape(problem.error)}</p>'


def _problems(problems: Sequence[ReportProblem]) -> str:
    """The parts left out, listed at the top of the page; empty without any."""
    if not problems:
        return ""
    items = "".join(f"<li>{escape(str(p))}</li>" for p in problems)
    return (
        '<div class="banner"><p>Some parts of this report could not be built; each is left '
        f"out, with its reason:</p><ul>{items}</ul></div>"
    )


def _summary(report: Report) -> str:
    """The summary table between its note and the notes on its columns, or why there is none."""
    if not len(report.summary):
        return _no_summary(report)
    return "\n".join(
        [f'<p class="note">{_SUMMARY_NOTE}</p>', _summary_table(report.summary),
         column_notes(SUMMARY_NOTES)]
    )  # fmt: skip


def _no_summary(report: Report) -> str:
    if len(report.trials) and report.trials["optimizer"].isna().all():  # another program's
        return "<p>Its trials choose no optimizer, so there is nothing to compare.</p>"
    return "<p>No trial finished yet.</p>"


def _best(report: Report) -> str:
    best = report.best
    if best is None:
        return "<p>No trial completed yet.</p>"
    params = pd.DataFrame(
        {"parameter": list(best.params), "value": [format_number(v) for v in best.params.values()]}
    )
    code = (
        f"<pre><code>{escape(best.code)}</code></pre>"
        if best.code
        else '<p class="note">No code: a class of this trial is not registered here.</p>'
    )
    rebuild = "<p>Rebuild its estimator:</p>"
    if report.spec is not None and best.code:
        rebuild = (
            "<p>Rebuild it: this script loads the data as the study did, holds out the same "
            "test split, cross-validates the model on the study's folds (its mean is the "
            "trial's score), then fits it on the training part and scores it on the test "
            "split.</p>"
        )
    return (
        f"<p>Trial #{best.number} scored <b>{format_number(best.value)}</b>.</p>"
        + html_table(params, numeric={"value"})
        + rebuild
        + code
    )


def _test_scores(report: Report, plot: str) -> str:
    """The final fits: per optimizer mean, standard deviation and each seed's test score,
    then ``plot``, the HTML of their plot."""
    spec, final = report.spec, report.final
    if spec is not None and spec.test_fraction == 0:
        return (
            '<p class="note">This study holds out no test split (<code>[evaluate] '
            "test_fraction = 0</code>): its scores are cross-validation scores of configurations "
            "chosen on those same scores, so the best of them are optimistic.</p>"
        )
    if not len(final):
        if spec is None:
            return '<p class="note">This study recorded no scores on a held-out test split.</p>'
        return f'<p class="note">{_final_plan(report)}</p>'
    seeds = sorted(final["seed"].unique().tolist())
    sign = 1.0 if report.maximize else -1.0
    stats = score_statistics(final)
    names = sorted(stats, key=lambda o: -sign * stats[o]["mean"] if stats[o]["n"] else math.inf)
    rows = []
    for name in names:
        fits = final[final["optimizer"] == name].set_index("seed")
        by_seed = {f"seed {seed}": _seed_score(fits, seed) for seed in seeds}
        rows.append({
            "optimizer": name,
            "trial": f"#{fits['trial'].iloc[0]}",
            "seeds": str(stats[name]["n"]),
            "mean": stats[name]["mean"],
            "std": stats[name]["std"],
            **by_seed,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    for column in ["mean", "std", *(f"seed {seed}" for seed in seeds)]:
        values = table[column].tolist()
        table[column] = list(map(number_format(values, 2 if column == "std" else 4), values))
    numeric = set(table.columns) - {"optimizer"}
    parts = [
        f'<p class="note">{_final_plan(report)}</p>',
        html_table(table, numeric=numeric),
        column_notes(FINAL_NOTES),
    ]
    errors = final[final["error"] != ""]
    for row in errors.itertuples(index=False):
        parts.append(
            f'<p class="note">{escape(str(row.optimizer))}, seed {row.seed}: '
            f"{escape(str(row.error))}</p>"
        )
    return "\n".join([*parts, plot])


def _seed_score(fits: pd.DataFrame, seed: int) -> float | str:
    """One seed's test score in an optimizer's row (``fits`` indexed by seed); NaN if none."""
    if seed not in fits.index:
        return math.nan
    return "failed" if fits.loc[seed, "error"] else float(fits.loc[seed, "test_score"])


def _final_plan(report: Report) -> str:
    """What the final fits are, and how many are done when some are missing."""
    spec, progress = report.spec, report.final_progress
    seeds = "several training seeds" if spec is None else f"{spec.final_seeds} training seeds"
    share = "" if spec is None else f" ({format_number(100 * spec.test_fraction)}% of the data)"
    text = (
        f"After the search, each optimizer's best configuration (by cross-validation) is refit "
        f"on the whole training part with {seeds} and scored on the test split{share}, which "
        "the study held out before its search. The spread over seeds is the training-seed "
        "noise that a lead between optimizers must exceed."
    )
    if unfinished(report.counts, report.attrs.get("n_trials")):
        text += " They run once the search has ended."
    elif progress.missing:
        text += (
            f" Final fits: {progress.done} of {progress.expected} done; run the study again "
            "to finish them."
        )
    return escape(text, quote=False)


def _figure(name: str, png: bytes, notes: Sequence[str] = ()) -> str:
    """A plot with its caption, then ``notes`` on what it leaves out."""
    data = base64.b64encode(png).decode("ascii")
    caption = escape(CAPTIONS.get(name, name))
    lines = "".join(f"<br>Left out: {escape(note)}." for note in notes)
    return (
        f'<figure id="plot-{escape(name)}"><img src="data:image/png;base64,{data}" '
        f'alt="{escape(name)} plot"><figcaption>{caption}{lines}</figcaption></figure>'
    )


def _summary_table(summary: pd.DataFrame) -> str:
    pooled = (summary["schedule"] == ALL).tolist()
    table = html_table(
        summary_display(summary),
        numeric=SUMMARY_NUMERIC,
        text={"best parameters"},
        row_classes=["pooled" if p else "" for p in pooled],
        table_class="summary",
    )
    return f'<div class="wide">{table}</div>'


def _baselines(report: Report) -> str:
    """The baselines against the best tuned trial of their optimizer; nothing without any."""
    table = baseline_table(report.trials, report.maximize)
    if not len(table):
        return ""
    shown = table.rename(columns={"number": "trial", "value": "score", "best_tuned": "best tuned"})
    for column in ("score", "best tuned", "gain"):
        shown[column] = shown[column].map(number_format(shown[column]))
    shown = shown.astype(str)
    note = (
        '<p class="note">Configurations given to run first (<code>[[study.baseline]]</code>), '
        "such as the default you would use untuned, against the best completed trial of the "
        "same optimizer that the search found; <b>gain</b> is how much better that trial "
        "scored (in the study's direction).</p>"
    )
    table_html = html_table(shown, {"trial", "score", "best tuned", "gain"}, {"configuration"})
    return f'<h2 id="baselines">Baselines: what tuning gained</h2>\n{note}\n{table_html}'


def _trials_table(trials: pd.DataFrame) -> str:
    if not len(trials):
        return "<p>No trial has started.</p>"
    numeric = {c for c, dtype in trials.dtypes.items() if pd.api.types.is_numeric_dtype(dtype)}
    shown = trials_display(trials).rename(columns={"duration_s": "duration"})
    table = html_table(shown, numeric | {"duration"})
    return f'<div class="scroll">{table}</div>\n{column_notes(TRIALS_NOTES)}'
