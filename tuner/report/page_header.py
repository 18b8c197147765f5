"""The top of the report page: what the study is, its counts, the answer, and its banners."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from .display import format_number

if TYPE_CHECKING:
    from . import Report

__all__ = ["study_header", "unfinished", "verdict_lines"]


def study_header(report: Report) -> str:
    """The page's top: the study's facts, its trial counts, the answer, and any banner."""
    attrs = report.attrs
    facts = [
        attrs.get("estimator"),
        report.direction,
        _spec("sampler", attrs.get("sampler")),
        _spec("pruner", attrs.get("pruner")),
        None if attrs.get("seed") is None else f"seed {attrs['seed']}",
        None if attrs.get("n_trials") is None else f"budget {attrs['n_trials']} trials",
        _allocation(attrs.get("allocation"), attrs.get("n_trials"), report.trials),
        None if attrs.get("storage") is None else f"storage {attrs['storage']}",
    ]
    counts = report.counts
    tally = ", ".join(
        f"{counts.get(name, 0)} {name}" for name in ("complete", "pruned", "diverged", "failed")
    )
    lines = [
        f"<h1>{escape(f'Study {report.study_name}')}</h1>",
        f'<p class="meta">{escape(" · ".join(str(f) for f in facts if f))}</p>',
        f"<p>Trials: {tally}.</p>",
    ]
    lines += verdict_lines(report)
    pending = unfinished(counts, attrs.get("n_trials"))
    if pending:
        lines.append(
            f'<p class="banner">The study is not finished: {pending}. This report shows '
            "the trials that had finished when it was written; run the study again to "
            "finish it.</p>"
        )
    progress = report.final_progress
    if not pending and progress.test_split and progress.missing:
        lines.append(
            f'<p class="banner">Final fits: {progress.done} of {progress.expected} done; run '
            "the study again to finish them.</p>"
        )
    if counts.get("interrupted"):
        lines.append(
            f'<p class="note">{counts["interrupted"]} trial(s) cut short by an interrupted run '
            "are not counted; their share of the budget is run again.</p>"
        )
    if attrs.get("aborted"):
        lines.append(
            f'<p class="banner">The study stopped early: every trial of its last run failed '
            f"with {escape(str(attrs['aborted']))}</p>"
        )
    return "\n".join(lines)


def unfinished(counts: dict[str, int], budget: Any) -> str:
    """What is left of the budget (``""`` when nothing is), running and waiting trials."""
    pending = {k: counts.get(k, 0) for k in ("running", "waiting") if counts.get(k, 0)}
    what = " and ".join(f"{n} {k}" for k, n in pending.items())
    ended = sum(counts.get(k, 0) for k in ("complete", "pruned", "diverged", "failed"))
    if isinstance(budget, int) and ended < budget:
        return f"{ended} of its {budget} trials ended" + (f" ({what})" if what else "")
    return what


def verdict_lines(report: Report) -> list[str]:
    """The answer first: the best trial, then the verdict's sentence."""
    lines = []
    if report.best is not None:
        best = report.best
        setup = " + ".join(
            str(best.params[k]) for k in ("optimizer", "schedule") if k in best.params
        ) or ", ".join(f"{k}={format_number(v)}" for k, v in best.params.items())
        lines.append(
            f'<p class="headline">Best: <b>{escape(setup)}</b>, score '
            f"<b>{format_number(best.value)}</b> (trial #{best.number}).</p>"
        )
    verdict = report.verdict
    state = "decided" if verdict.decided else "undecided"
    lines.append(f'<p class="headline verdict {state}">{escape(verdict.reason)}</p>')
    return lines


def _allocation(allocation: Any, budget: Any, trials: pd.DataFrame) -> str | None:
    """How the study shared its trials among optimizers, from its ``"allocation"`` attribute.

    The attribute is a name (``"equal"``, ``"adaptive"``) or a mapping with a
    ``"name"``, as the sampler and pruner are recorded.
    """
    if allocation is None:
        return None
    name = allocation.get("name") if isinstance(allocation, Mapping) else allocation
    if name == "adaptive":
        return "adaptive: the sampler chose how many trials each optimizer got"
    if name != "equal":
        return f"allocation {name}"
    optimizers = len(trials["optimizer"].cat.categories) if "optimizer" in trials else 0
    if not isinstance(budget, int) or not optimizers:
        return "equal budgets per optimizer"
    share, extra = divmod(budget, optimizers)
    each = f"{share}" if not extra else f"{share} or {share + 1}"
    return f"equal budgets: {each} trials per optimizer"


def _spec(kind: str, spec: Any) -> str | None:
    """``sampler tpe (n_startup_trials=10)`` from a recorded ``{"name": ..., **options}``."""
    if not isinstance(spec, Mapping):
        return None if spec is None else f"{kind} {spec}"
    options = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return f"{kind} {spec.get('name', '?')}" + (f" ({options})" if options else "")
