"""The summary table: which optimizer (and schedule) to use, compared at an equal tuning budget.

Every finished trial of a method is one draw of its tuning budget; trials
still running and interrupted ones are not. A draw's score is the validation
score of the model it produced: the trial's value when it completed, its last
reported score when it was pruned or diverged. A draw that never reported a
score (it failed, or diverged in its first epoch) gave no model and counts as
the worst score any trial of the study reached, so methods that often fail
pay for it. Best-of-k then compares methods as if each were tuned with the
same number ``k`` of trials (see :mod:`tuner.report.bestofk`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bestofk import MIN_DRAWS, N_BOOT, best_of_k_interval, expected_best_of_k
from .tables import ALL, param_columns

__all__ = ["SUMMARY_COLUMNS", "draw_scores", "finished", "summary_table"]

#: Columns of the summary and their dtypes.
SUMMARY_COLUMNS = {
    "optimizer": "category", "schedule": "category", "trials": "int64", "completed": "int64",
    "pruned": "int64", "diverged": "int64", "failed": "int64", "best": "float64",
    "median": "float64", "k": "int64", "best_of_k": "float64", "best_of_k_low": "float64",
    "best_of_k_high": "float64", "best_trial": "Int64", "best_params": "str",
    "compute_s": "float64",
}  # fmt: skip


def finished(trials: pd.DataFrame) -> pd.DataFrame:
    """Rows of a trials table that count as draws: complete, pruned, diverged or failed."""
    return trials[trials["outcome"].isin(["complete", "pruned", "diverged", "failed"])]


def draw_scores(trials: pd.DataFrame, maximize: bool = True) -> pd.Series:
    """Each finished trial's score as a draw, greater is better (see the module docstring).

    Returns a Series aligned with ``finished(trials)``; negated when the study
    minimizes, so that the best is always the largest.
    """
    done = finished(trials)
    sign = 1.0 if maximize else -1.0
    scores = sign * done["value"].where(done["outcome"] == "complete", done["last_score"])
    return scores.fillna(scores.min())  # all NaN stays NaN: no trial reached a score


def summary_table(
    trials: pd.DataFrame,
    *,
    maximize: bool = True,
    k: int | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per optimizer, each followed by one row per schedule it ran with.

    Parameters
    ----------
    trials : DataFrame
        A trials table (:func:`tuner.report.tables.trials_table`).
    maximize : bool, default=True
        Whether greater scores are better (the study's direction).
    k : int, optional
        Tuning budget of the best-of-k columns. Default: at each level
        (optimizers; optimizer and schedule pairs) the trials of its smallest
        group, the largest budget that every group there has really spent.
        A group with fewer trials than ``k`` gets NaN.
    n_boot, seed : int
        Bootstrap resamples and their seed (fixed: the same study gives the
        same table).

    Returns
    -------
    DataFrame
        Columns of :data:`SUMMARY_COLUMNS`: counts by outcome (``trials`` is
        their sum), ``best`` and ``median`` value of the completed trials, the
        expected best of ``k`` draws ``best_of_k`` with its 95% bootstrap
        interval ``best_of_k_low``..``best_of_k_high`` (NaN for a row with
        fewer than :data:`~tuner.report.bestofk.MIN_DRAWS` draws), the best trial's
        number and parameters, and ``compute_s``, the summed duration in
        seconds. Rows pooling all schedules of an optimizer have
        ``schedule == "all"``. Optimizers come best first (by ``best_of_k``,
        then ``best``).
    """
    done = finished(trials).assign(_score=draw_scores(trials, maximize))
    done = done[done["optimizer"].notna()]  # a trial that sampled nothing has no group
    sign = 1.0 if maximize else -1.0
    names = param_columns(trials)

    def level(keys: list[str], rows: pd.DataFrame) -> pd.DataFrame:
        groups = [g for _, g in rows.groupby(keys, observed=True, sort=True)]
        budget = k if k is not None else min((len(g) for g in groups), default=1)
        return pd.DataFrame(
            [_row(g, keys, budget, sign, names, n_boot, seed) for g in groups],
            columns=[*SUMMARY_COLUMNS, "_rank_best"],
        )

    optimizers = level(["optimizer"], done).assign(schedule=ALL)
    pairs = level(["optimizer", "schedule"], done[done["schedule"].notna()])
    # Best first: sort on "greater is better" keys, NaN last.
    optimizers["_rank"] = sign * optimizers["best_of_k"]
    order = optimizers.sort_values(
        ["_rank", "_rank_best"], ascending=False, na_position="last", kind="stable"
    )["optimizer"].tolist()
    table = pd.concat([optimizers, pairs], ignore_index=True)
    table = table.assign(
        _group=table["optimizer"].map({name: i for i, name in enumerate(order)}).astype(int),
        _pooled=table["schedule"] == ALL,
        _rank=sign * table["best_of_k"],
    ).sort_values(
        ["_group", "_pooled", "_rank", "_rank_best"],
        ascending=[True, False, False, False],
        na_position="last",
        kind="stable",
    )
    table = table[list(SUMMARY_COLUMNS)].reset_index(drop=True)
    table = table.astype({c: d for c, d in SUMMARY_COLUMNS.items() if d != "category"})
    table["optimizer"] = pd.Categorical(
        table["optimizer"], categories=trials["optimizer"].cat.categories
    )
    table["schedule"] = pd.Categorical(
        table["schedule"], categories=[ALL, *trials["schedule"].cat.categories]
    )
    return table


def _row(
    group: pd.DataFrame, keys: list[str], k: int, sign: float, names: list[str],
    n_boot: int, seed: int,
) -> dict:  # fmt: skip
    """One summary row; ``sign`` is -1 for a study that minimizes."""
    counts = group["outcome"].value_counts()
    values = group.loc[group["outcome"] == "complete", "value"]
    best = group.loc[(sign * values).idxmax()] if len(values) else None
    scores = group["_score"].to_numpy()
    estimate = low = high = np.nan
    if len(scores) >= k and not np.isnan(scores).all():
        estimate = sign * expected_best_of_k(scores, k)
        if len(scores) >= MIN_DRAWS:  # the bootstrap of one or two scores is no interval
            low, high = sorted(sign * np.array(best_of_k_interval(scores, k, n_boot, seed)))
    return {
        **{key: group[key].iloc[0] for key in keys},
        "trials": len(group),
        "completed": int(counts.get("complete", 0)),
        **{c: int(counts.get(c, 0)) for c in ("pruned", "diverged", "failed")},
        "best": np.nan if best is None else best["value"],
        "median": values.median(),
        "k": k,
        "best_of_k": estimate,
        "best_of_k_low": low,
        "best_of_k_high": high,
        "best_trial": None if best is None else best["number"],
        "best_params": "" if best is None else _describe(best, names, skip=keys),
        "compute_s": group["duration_s"].sum(),
        "_rank_best": np.nan if best is None else sign * best["value"],
    }


def _describe(row: pd.Series, names: list[str], skip: list[str]) -> str:
    """``lr=0.00312, momentum=0.9, schedule=cosine``: the parameters that applied."""
    parts = []
    for name in names:
        value = row[name]
        if name in skip or pd.isna(value):
            continue
        parts.append(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}")
    return ", ".join(parts)
