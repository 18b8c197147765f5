"""The suite's page and files: ``<out>/<suite>/index.html``, CSV tables, PNG plots, a summary.

The page reads top to bottom: what the suite ran, what the data show (the
inclusion question and the profiles, in sentences made from the results),
the performance profiles, the win/tie/loss table of the pairwise verdicts,
then each problem's verdict and best-of-k curves, with links to the studies'
own pages. Every text that comes from the suite or its studies is escaped.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

import pandas as pd

from ..report.display import format_number, html_table, markdown_table
from ..report.plotting import png_bytes
from ..report.style import PAGE_CSS
from .figures import best_of_k_grid, profiles_figure
from .inclusion import inclusion_finding, win_tie_loss
from .results import SuiteResults

__all__ = ["COST_NOTE", "profile_finding", "render_page", "summary_markdown", "write_suite_report"]

#: What the profiles measure, under their plot and in the summary.
COST_NOTE = (
    "An optimizer's score on a problem at budget k is the expected best of k of its trials "
    "(validation score, pooled over the suite's seeds); its cost is the distance from a "
    "perfect score: 1 - accuracy for classifiers, 1 - R² for regressors, the error itself "
    "for a neg_* scorer. rho(tau) is the share of problems on which the optimizer's error is "
    "at most tau times the best optimizer's (Dolan & Moré 2002): rho(1) is the share on "
    "which it is the best, the right end the share on which it had k trials at all."
)
_CSS = PAGE_CSS + """
.finding { border-left: 4px solid #1a7f37; padding-left: 8px; max-width: 80em; }
td.text { min-width: 20em; }
"""
_FILES = ("best_of_k", "profiles", "pairwise", "win_tie_loss", "verdicts")


def write_suite_report(results: SuiteResults, folder: str | Path, command: str = "") -> Path:
    """Write the suite's page, tables, plots and summary to ``folder``; return the page.

    ``command`` (the command that ran the suite) is named in the summary.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "best_of_k": results.best_of_k,
        "profiles": results.profiles,
        "pairwise": results.pairwise,
        "win_tie_loss": win_tie_loss(results.pairwise, results.suite.optimizers),
        "verdicts": verdicts_table(results),
    }
    for name in _FILES:
        tables[name].to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    images = {"profiles": png_bytes(profiles_figure(results)),
              "best_of_k": png_bytes(best_of_k_grid(results))}  # fmt: skip
    for name, png in images.items():
        (folder / f"{name}.png").write_bytes(png)
    page = folder / "index.html"
    _write(folder / "summary.md", summary_markdown(results, command, page))
    _write(page, render_page(results, images))
    return page


def verdicts_table(results: SuiteResults) -> pd.DataFrame:
    """One row per problem: its estimator and scorer, and its verdict."""
    rows = []
    for problem in results.suite.problems:
        verdict = results.verdicts.get(problem.name)
        if verdict is None:
            continue
        spec = problem.spec
        rows.append((problem.name, spec.estimator, spec.scoring or "the estimator's score",
                     verdict.k, verdict.leader or "", verdict.decided, verdict.reason))  # fmt: skip
    columns = ["problem", "estimator", "scoring", "k", "leader", "decided", "verdict"]
    return pd.DataFrame(rows, columns=columns)


def profile_finding(results: SuiteResults) -> str:
    """What the profiles show at each budget, in sentences: who is best how often."""
    n = len(results.problems)
    if not n or results.profiles.empty:
        return ""
    sentences = []
    for k in results.suite.budgets:
        at_k = results.profiles[results.profiles["k"] == k]
        best = {o: _rho(at_k, o, 1.0) for o in results.suite.optimizers}
        near = {o: _rho(at_k, o, 1.1) for o in results.suite.optimizers}
        order = sorted(best, key=lambda o: (-best[o], -near[o]))
        listed = ", ".join(f"{o} on {round(best[o] * n)}" for o in order)
        close = ", ".join(f"{o} {round(near[o] * n)}" for o in order)
        sentences.append(f"At k = {k}, the lowest error is reached by {listed} of the {n} "
                         f"problems (ties count for each); within 1.1x of it: {close}")  # fmt: skip
    return ". ".join(sentences) + "."


def _rho(profiles: pd.DataFrame, optimizer: str, tau: float) -> float:
    """``rho(tau)`` of ``optimizer`` from a profile table's steps."""
    steps = profiles[(profiles["optimizer"] == optimizer) & (profiles["tau"] <= tau + 1e-12)]
    return float(steps["rho"].max()) if len(steps) else 0.0


def summary_markdown(results: SuiteResults, command: str = "", page: Path | None = None) -> str:
    """The summary: what the data show, the win/tie/loss table and each problem's verdict;
    ``command`` made it, ``page`` is the suite's page."""
    suite = results.suite
    lines = [f"# Suite \"{suite.name}\": {len(results.problems)} problems, "
             f"{', '.join(suite.optimizers)}", ""]  # fmt: skip
    if command:
        where = f"; the page: `{page}`" if page is not None else ""
        lines += [f"Made by `{command}`{where}.", ""]
    lines += [_setup(results), ""]
    for text in (_inclusion(results), profile_finding(results)):
        if text:
            lines += [text, ""]
    lines += ["![Performance profiles](profiles.png)", "", COST_NOTE, ""]
    lines += ["## Pairwise verdicts (wins-ties-losses of the row's first optimizer)", ""]
    lines += [markdown_table(_wtl_display(results), numeric=()), ""]
    lines += ["## Each problem's verdict", ""]
    verdicts = verdicts_table(results)[["problem", "estimator", "verdict"]]
    lines += [markdown_table(verdicts), ""]
    return "\n".join(lines)


def render_page(results: SuiteResults, images: dict[str, bytes]) -> str:
    """The suite's HTML page with ``images`` (name -> PNG bytes) inlined."""
    suite = results.suite
    findings = [t for t in (_inclusion(results), profile_finding(results)) if t]
    verdicts = verdicts_table(results)
    links = [_link(suite.study_names(p)[0]) for p in suite.problems if p.name in results.draws]
    body = [
        f"<h1>Suite {escape(suite.name)}</h1>",
        f'<p class="meta">{escape(suite.description)}</p>' if suite.description else "",
        f'<p class="meta">{escape(_setup(results))}</p>',
        _missing(results),
        '<h2 id="findings">What the data show</h2>',
        *(f'<p class="finding">{escape(t)}</p>' for t in findings),
        '<h2 id="profiles">Performance profiles</h2>',
        _figure(images["profiles"], COST_NOTE),
        '<h2 id="pairwise">Pairwise verdicts</h2>',
        html_table(_wtl_display(results), numeric=[f"k = {k}" for k in suite.budgets]),
        '<p class="note">Wins-ties-losses of the first optimizer of each row against the '
        "second, counted over problems: a win or a loss is a calibrated verdict of the two "
        "optimizers' trials alone (bootstrap probability of being best at budget k and a "
        f"permutation test, both at {format_number(100 * suite.confidence)}% confidence); "
        "a tie is a verdict that does not decide.</p>",
        '<h2 id="problems">Each problem</h2>',
        _linked(html_table(_verdicts_display(verdicts, links), numeric=["k"], text=["verdict"]),
                links),
        '<p class="note">Each problem\'s verdict at the equal budget of its trials, with the '
        "held-out test scores of each optimizer's best; the study's page has everything.</p>",
        '<h3>Error at each budget (expected best of k; lower is better)</h3>',
        html_table(_errors_display(results), numeric=[*suite.optimizers, "k"]),
        _figure(images["best_of_k"], "Each problem's expected best validation score when "
                "tuned with k trials per optimizer, with a 95% bootstrap band."),
    ]  # fmt: skip
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Suite {escape(suite.name)}: tuner benchmark</title>",
        f"<style>{_CSS}</style></head><body><main>",
        *(part for part in body if part),
        "</main></body></html>",
    ]) + "\n"  # fmt: skip


# -- pieces ------------------------------------------------------------------------------
def _setup(results: SuiteResults) -> str:
    suite = results.suite
    seeds = ", ".join(str(s) for s in suite.seeds)
    return (
        f"{len(suite.problems)} problems, each a study per seed ({seeds}); "
        f"{', '.join(suite.optimizers)} with {suite.trials_per_optimizer} trials each per "
        f"problem and seed; budgets k = {', '.join(str(k) for k in suite.budgets)}"
    )


def _inclusion(results: SuiteResults) -> str:
    chain = results.suite.inclusion
    return inclusion_finding(
        results.pairwise, chain, len(results.problems), results.suite.confidence
    )


def _wtl_display(results: SuiteResults) -> pd.DataFrame:
    """One row per pair of optimizers, one column per budget: ``wins-ties-losses``."""
    table = win_tie_loss(results.pairwise, results.suite.optimizers)
    order = {o: i for i, o in enumerate(results.suite.optimizers)}
    pairs = table[table["optimizer"].map(order) > table["against"].map(order)]
    rows = {}
    for row in pairs.itertuples(index=False):
        key = f"{row.optimizer} vs {row.against}"
        rows.setdefault(key, {"pair": key})[f"k = {row.k}"] = f"{row.wins}-{row.ties}-{row.losses}"
    return pd.DataFrame(
        list(rows.values()), columns=["pair"] + [f"k = {k}" for k in results.suite.budgets]
    )


def _verdicts_display(verdicts: pd.DataFrame, links: Sequence[str]) -> pd.DataFrame:
    shown = verdicts.assign(decided=verdicts["decided"].map({True: "yes", False: "no"}))
    shown = shown.astype(str)
    shown["study page"] = list(links)
    return shown


def _errors_display(results: SuiteResults) -> pd.DataFrame:
    wide = results.best_of_k.pivot_table(index=["problem", "k"], columns="optimizer",
                                         values="cost", sort=False, dropna=False)  # fmt: skip
    wide = wide.reindex(columns=list(results.suite.optimizers)).reset_index()
    return wide.apply(lambda col: col.map(_number)).astype(str)


def _number(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else format_number(value)
    return str(value)


def _link(study: str) -> str:
    return f"{study}/index.html"


def _linked(table: str, links: Sequence[str]) -> str:
    """``table`` with each study page's path made a link to it."""
    for link in links:
        text = escape(link)
        table = table.replace(f"<td>{text}</td>", f'<td><a href="{text}">{text}</a></td>')
    return table


def _missing(results: SuiteResults) -> str:
    if not results.missing:
        return ""
    items = "".join(f"<li>{escape(p)}: {escape(why)}</li>" for p, why in results.missing.items())
    return f'<p class="note">Problems without results:</p><ul>{items}</ul>'


def _figure(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")  # fmt: skip


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")
