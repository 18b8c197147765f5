"""Performance profiles: how often each optimizer is within a factor tau of the best.

Dolan and Moré ("Benchmarking optimization software with performance
profiles", Math. Program. 91, 2002) compare solvers ``s`` on problems ``p`` by
a positive cost ``c[p, s]`` (smaller is better). The performance ratio is
``r[p, s] = c[p, s] / min_s' c[p, s']``, and the profile of ``s`` is the share
of problems on which ``s`` is within a factor ``tau`` of the best::

    rho_s(tau) = |{p : r[p, s] <= tau}| / |problems|

``rho_s(1)`` is the share of problems on which ``s`` is (one of) the best,
and ``rho_s(tau)`` for large ``tau`` the share it solved at all. A solver
that has no cost on a problem (here: fewer trials than the budget) gets
``r = inf``, as Dolan and Moré's failures get their ``r_M``.

The cost: the error of the tuned optimizer
    At a tuning budget ``k``, an optimizer's score on a problem is its
    expected best of ``k`` trials (:func:`tuner.report.bestofk.expected_best_of_k`),
    and its cost the distance of that score from a perfect one
    (:func:`perfect_score`): ``1 - accuracy`` for a classifier, ``1 - R^2``
    for a regressor, the error itself for a ``neg_*`` scorer. A ratio needs a
    cost with a natural zero, and an error has one (the perfect model), so
    "Momentum's error is 1.2 times Adam's" means the same on every problem.
    The alternative, the gap to the best as a share of the range of the
    problem's trial scores, has no such zero: it depends on how bad the worst
    configuration of the search space was, so a wider learning-rate range
    would bring every optimizer closer to the best. When the best cost is 0
    (a perfect score), the optimizers that also reach 0 get ``r = 1`` and the
    others ``r = inf``: no finite factor of zero is reached.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..studyfile import StudySpec

__all__ = ["PROFILE_COLUMNS", "perfect_score", "performance_profile", "performance_ratios",
           "profile_table"]  # fmt: skip

#: Columns of :func:`profile_table`.
PROFILE_COLUMNS = ("k", "tau", "optimizer", "rho")
# Scorers (scikit-learn names, and their families by prefix) whose best value is 1.
_PERFECT_ONE = ("accuracy", "balanced_accuracy", "top_k_accuracy", "roc_auc", "average_precision",
                "f1", "precision", "recall", "jaccard", "r2", "explained_variance",
                "matthews_corrcoef", "d2_")  # fmt: skip


def perfect_score(spec: StudySpec) -> float:
    """The best score the study's scorer can give: 1 or 0.

    The estimator's own ``score`` (no ``scoring``) is accuracy for a
    classifier and R^2 for a regressor: 1. Scorers that negate an error
    (``neg_mean_squared_error``, ``max_error``): 0. Raises ``ValueError`` for a
    scorer whose best value is not known here.
    """
    scoring = spec.scoring
    if scoring is None or scoring.startswith(_PERFECT_ONE):
        return 1.0
    if scoring.startswith("neg_") or scoring == "max_error":
        return 0.0
    raise ValueError(
        f"scoring {scoring!r} has no known perfect value, which the performance profiles "
        "measure errors from: use accuracy, r2 or a neg_* error, for example"
    )


def performance_ratios(costs: pd.DataFrame) -> pd.DataFrame:
    """Dolan and Moré's ratios ``r[p, s]`` of a table of costs (problems x optimizers).

    Parameters
    ----------
    costs : DataFrame
        Non-negative costs, one row per problem and one column per optimizer;
        NaN where an optimizer has no cost.

    Returns
    -------
    DataFrame
        The same shape: each cost over its row's smallest, ``inf`` for NaN
        costs; with a smallest cost of 0, 1 for the zeros and ``inf`` for the rest.
    """
    values = costs.to_numpy(dtype=float)
    if (values < 0).any():
        raise ValueError("costs must be >= 0")
    with np.errstate(invalid="ignore", divide="ignore"):
        best = np.nanmin(np.where(np.isnan(values), np.inf, values), axis=1, keepdims=True)
        ratios = values / best
    ratios[(values == 0) & (best == 0)] = 1.0  # 0 / 0: as good as the best
    ratios[np.isnan(ratios)] = np.inf  # no cost, or nothing to compare with
    return pd.DataFrame(ratios, index=costs.index, columns=costs.columns)


def performance_profile(ratios: pd.DataFrame, taus: Sequence[float]) -> pd.DataFrame:
    """``rho_s(tau)`` of each optimizer (columns) at each ``tau`` (rows)."""
    values = ratios.to_numpy(dtype=float)
    taus = np.asarray(taus, dtype=float)
    within = values[None, :, :] <= taus[:, None, None]  # (tau, problem, optimizer)
    shares = within.mean(axis=1) if values.shape[0] else np.zeros((len(taus), values.shape[1]))
    return pd.DataFrame(shares, index=pd.Index(taus, name="tau"), columns=ratios.columns)


def profile_table(costs: pd.DataFrame) -> pd.DataFrame:
    """The profiles at each budget as a long table, exact at every step.

    Parameters
    ----------
    costs : DataFrame
        Columns ``problem``, ``optimizer``, ``k`` and ``cost``.

    Returns
    -------
    DataFrame
        Columns :data:`PROFILE_COLUMNS`: for each budget ``k``, ``rho`` of each
        optimizer at every ``tau`` where a profile steps (the finite ratios, and 1).
    """
    frames = []
    for k, group in costs.groupby("k", sort=True):
        wide = group.pivot(index="problem", columns="optimizer", values="cost")
        wide = wide[list(dict.fromkeys(group["optimizer"]))]  # the suite's order
        ratios = performance_ratios(wide)
        finite = ratios.to_numpy()[np.isfinite(ratios.to_numpy())]
        taus = np.unique(np.concatenate([[1.0], finite]))
        profile = performance_profile(ratios, taus).reset_index()
        long = profile.melt(id_vars="tau", var_name="optimizer", value_name="rho")
        frames.append(long.assign(k=int(k)))
    if not frames:
        return pd.DataFrame(columns=list(PROFILE_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(PROFILE_COLUMNS)]
