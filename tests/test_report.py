"""Report tables: columns and dtypes, the summary recomputed by hand, the best trial, edge cases."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pandas as pd
import pytest
from test_report_studies import make_study, make_trial, wine_study

from tuner.report import Report
from tuner.report.display import summary_display
from tuner.report.importance import param_importances
from tuner.report.summary import SUMMARY_COLUMNS
from tuner.space import SearchSpace

TRIALS_HEAD = ["number", "state", "value", "start", "duration_s", "worker", "optimizer", "schedule"]
TRIALS_TAIL = ["epochs", "outcome", "end", "last_score", "fold_score_mean", "fold_score_std",
               "baseline"]  # fmt: skip


@pytest.fixture(scope="module")
def wine() -> Report:
    return Report.from_study(wine_study())


# -- trials and curves ---------------------------------------------------------------
def test_trials_table_columns_and_dtypes(wine):
    trials = wine.trials
    assert list(trials.columns[:8]) == TRIALS_HEAD
    assert list(trials.columns[-7:]) == TRIALS_TAIL
    assert len(trials) == 25 and trials["number"].is_monotonic_increasing
    dtypes = trials.dtypes.astype(str).to_dict()
    expected = {"number": "int64", "state": "category", "value": "float64", "duration_s": "float64",
                "worker": "category", "optimizer": "category", "schedule": "category",
                "lr": "float64", "t_max": "Int64", "epochs": "Int64", "outcome": "category",
                "end": "str", "last_score": "float64", "fold_score_mean": "float64",
                "baseline": "bool"}  # fmt: skip
    assert {c: dtypes[c] for c in expected} == expected
    assert str(dtypes["start"]).startswith("datetime64")
    assert list(trials["optimizer"].cat.categories) == ["sgd", "momentum", "adam"]


def test_a_parameter_is_missing_exactly_where_it_did_not_apply(wine):
    trials = wine.trials
    assert (trials["momentum"].notna() == (trials["optimizer"] == "momentum")).all()
    assert (trials["t_max"].notna() == (trials["schedule"] == "cosine")).all()


def test_trials_table_says_why_each_trial_ended(wine):
    trials = wine.trials
    complete = trials["outcome"] == "complete"
    assert (trials.loc[complete, "end"] == "complete").all()
    assert trials.loc[complete, "value"].notna().all()
    pruned = trials[trials["outcome"] == "pruned"]
    assert len(pruned) and pruned["value"].isna().all()
    assert all(e == f"pruned at epoch {n}" for e, n in zip(pruned["end"], pruned["epochs"]))


def test_curves_table_has_one_row_per_trial_and_epoch(wine):
    curves = wine.curves
    assert list(curves.columns) == ["number", "epoch", "loss", "score", "lr"]
    assert curves.dtypes.astype(str).tolist() == ["int64", "int64"] + ["float64"] * 3
    epochs = curves.groupby("number")["epoch"].max()
    assert epochs.to_dict() == wine.trials.set_index("number")["epochs"].to_dict()
    last = curves.sort_values("epoch").groupby("number")["score"].last()
    assert last.to_dict() == pytest.approx(wine.trials.set_index("number")["last_score"].to_dict())


# -- summary -------------------------------------------------------------------------
def test_summary_columns_and_dtypes(wine):
    assert wine.summary.dtypes.astype(str).to_dict() == SUMMARY_COLUMNS


def _expected_best_by_enumeration(scores: list[float], k: int) -> float:
    draws = list(itertools.combinations(scores, k))
    return sum(max(d) for d in draws) / len(draws)


def test_summary_is_recomputed_from_the_trials_table(wine):
    trials, summary = wine.trials, wine.summary
    done = trials[trials["state"].isin(["complete", "pruned", "fail"])]
    scores = done["value"].where(done["state"] == "complete", done["last_score"])
    scores = scores.fillna(scores.min())
    pooled = summary[summary["schedule"] == "all"].set_index("optimizer", drop=False)
    k = min(done["optimizer"].value_counts())
    for name, group in done.groupby("optimizer", observed=True):
        row = pooled.loc[name]
        values = group["value"].dropna()
        assert row["trials"] == len(group)
        assert row["completed"] == len(values)
        assert row["pruned"] + row["diverged"] == (group["state"] == "pruned").sum()
        if len(values):
            assert row["best"] == values.max() and row["median"] == values.median()
            assert row["best_trial"] == group.loc[values.idxmax(), "number"]
        else:  # every trial of this optimizer was pruned
            assert pd.isna(row["best"]) and pd.isna(row["best_trial"])
        assert row["compute_s"] == pytest.approx(group["duration_s"].sum())
        assert row["k"] == k
        expected = _expected_best_by_enumeration(scores[group.index].tolist(), k)
        assert row["best_of_k"] == pytest.approx(expected)
        assert row["best_of_k_low"] <= row["best_of_k"] <= row["best_of_k_high"]


def test_summary_lists_each_optimizer_then_its_schedules_best_first(wine):
    summary = wine.summary
    pooled = summary[summary["schedule"] == "all"]
    assert sorted(pooled["optimizer"]) == sorted(wine.trials["optimizer"].unique())
    assert pooled["best_of_k"].is_monotonic_decreasing
    for _, rows in summary.groupby("optimizer", observed=True, sort=False):
        assert rows["schedule"].iloc[0] == "all"
        assert rows["trials"].iloc[0] == rows["trials"].iloc[1:].sum()
    pairs = wine.trials.groupby(["optimizer", "schedule"], observed=True).size()
    per_schedule = summary[summary["schedule"] != "all"]
    assert per_schedule.set_index(["optimizer", "schedule"])["trials"].to_dict() == pairs.to_dict()


def test_a_budget_larger_than_a_group_gives_no_estimate():
    study = make_study([make_trial(value=v) for v in (0.5, 0.6)])
    summary = Report.from_study(study, k=3).summary
    assert summary["k"].tolist() == [3, 3] and summary["best_of_k"].isna().all()


def test_a_row_with_fewer_than_three_trials_has_no_interval():
    trials = [make_trial(value=0.991, optimizer="adam")]
    trials += [make_trial(value=v) for v in (0.5, 0.6, 0.7)]
    trials += [make_trial(value=0.4, schedule="cosine", t_max=3)]
    summary = Report.from_study(make_study(trials)).summary
    few = summary["trials"] < 3
    assert few.any() and (~few).any()
    assert summary.loc[few, ["best_of_k_low", "best_of_k_high"]].isna().all(axis=None)
    assert summary.loc[~few, ["best_of_k_low", "best_of_k_high"]].notna().all(axis=None)
    shown = summary_display(summary)["best of k (95% interval)"]
    assert shown[summary["optimizer"] == "adam"].tolist() == ["0.991 (too few trials)"] * 2
    assert "(0.991, 0.991)" not in " ".join(shown)


def test_the_best_of_k_plot_shows_an_optimizer_with_one_trial_without_a_band():
    trials = [make_trial(value=0.9, optimizer="adam")]
    trials += [make_trial(value=v) for v in (0.5, 0.6, 0.7)]
    report = Report.from_study(make_study(trials))
    figure = report.figures()["best_of_k"]
    (ax,) = figure.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert "adam (1 trial: no band)" in labels and "sgd" in labels
    assert len(ax.collections) == 1  # one band: sgd's


# -- importances and the best trial --------------------------------------------------
def test_importances_per_study_and_per_optimizer(wine):
    imp = wine.importances
    assert list(imp.columns) == ["optimizer", "param", "importance", "n_trials"]
    assert imp.dtypes.astype(str).tolist() == ["category", "str", "float64", "int64"]
    sums = imp.groupby("optimizer", observed=True)["importance"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)
    assert "all" in sums.index and "lr" in set(imp.loc[imp["optimizer"] == "all", "param"])
    completed = wine.trials[wine.trials["outcome"] == "complete"]["optimizer"].value_counts()
    assert set(sums.index) - {"all"} == {n for n, c in completed.items() if c >= 5}
    assert "optimizer" not in set(imp.loc[imp["optimizer"] != "all", "param"])


def test_importances_of_a_large_scope_use_a_fixed_sample():
    trials = wine_study().get_trials()
    n = sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) - 1  # a sample of all
    first = param_importances(trials, max_trials=n, min_trials=n).table
    assert set(first["n_trials"]) == {n}
    again = param_importances(trials, max_trials=n, min_trials=n).table
    pd.testing.assert_frame_equal(first, again)


def test_best_code_rebuilds_the_best_estimator(wine):
    best = wine.best
    assert best.value == wine.trials["value"].max()
    namespace: dict = {}
    exec(best.code, namespace)
    estimator = namespace["estimator"]
    assert type(estimator).__name__ == "LogisticClassifier"
    assert estimator.optimizer.lr == best.params["lr"]
    assert type(estimator.optimizer).__name__.lower() == best.params["optimizer"]


def test_best_code_decodes_layer_sizes_and_adds_fixed_values():
    params = {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "schedule": "cosine",
              "t_max": 5, "hidden_layer_sizes": "[64, 32]"}  # fmt: skip
    study = make_study([make_trial(value=0.9, **params)], estimator="MLPClassifier")
    space = SearchSpace(["momentum"], ["cosine"], params={"cosine.min_factor": 0.05},
                        estimator_params={"hidden_layer_sizes": [[32], [64, 32]]})  # fmt: skip
    for kwargs in ({}, {"space": space}):
        report = Report.from_study(study, **kwargs)
        namespace: dict = {}
        exec(report.best.code, namespace)
        estimator = namespace["estimator"]
        assert estimator.hidden_layer_sizes == (64, 32) and estimator.schedule.t_max == 5
    assert estimator.schedule.min_factor == 0.05  # only the space knows this fixed value


def test_best_code_is_none_for_an_optimizer_not_registered_here():
    study = make_study([make_trial(value=0.9)])
    study.add_trial(make_trial(value=0.95, optimizer="sgd", schedule="constant"))
    plugin = optuna.trial.create_trial(
        value=0.99, params={"optimizer": "lion"},
        distributions={"optimizer": optuna.distributions.CategoricalDistribution(("lion",))},
    )  # fmt: skip
    study.add_trial(plugin)
    best = Report.from_study(study).best
    assert best.params == {"optimizer": "lion"} and best.code is None


# -- edge cases ----------------------------------------------------------------------
def test_a_real_study_gives_a_report_without_problems(wine):
    assert wine.problems == () and wine.importance_notes == ()


def test_a_study_without_trials_gives_empty_tables_of_the_same_shape(wine):
    report = Report.from_study(make_study([]))
    for name in ("trials", "curves", "summary", "importances"):
        table = getattr(report, name)
        assert len(table) == 0
        fixed = [c for c in getattr(wine, name).columns if c in table.columns]
        assert table[fixed].dtypes.astype(str).tolist() == (
            getattr(wine, name)[fixed].dtypes.astype(str).tolist()
        )
    assert report.best is None


def test_all_failed_trials_are_counted_but_give_no_score():
    error = "ValueError: bad input"
    study = make_study([make_trial("fail", attrs={"error": error}) for _ in range(3)])
    report = Report.from_study(study)
    assert report.trials["end"].tolist() == [f"failed: {error}"] * 3
    row = report.summary.iloc[0]
    assert (row["trials"], row["failed"], row["completed"]) == (3, 3, 0)
    assert np.isnan(row["best"]) and np.isnan(row["best_of_k"]) and report.best is None


def test_all_pruned_trials_are_compared_by_their_last_scores():
    trials = [make_trial("pruned", scores=[0.3, s], end="pruned at epoch 2") for s in (0.4, 0.6)]
    summary = Report.from_study(make_study(trials)).summary
    row = summary.iloc[0]
    assert row["pruned"] == 2 and np.isnan(row["best"])
    assert row["k"] == 2 and row["best_of_k"] == pytest.approx(0.6)


def test_diverged_trials_are_told_apart_from_pruned_ones():
    end = "diverged at epoch 2: loss is nan"
    trials = [make_trial(value=0.8), make_trial("pruned", scores=[0.2], end=end)]
    report = Report.from_study(make_study(trials))
    assert report.trials["outcome"].tolist() == ["complete", "diverged"]
    assert report.trials["end"].iloc[1] == end
    assert report.summary[["completed", "pruned", "diverged"]].iloc[0].tolist() == [1, 0, 1]


def test_a_trial_without_any_score_counts_as_the_worst_draw():
    trials = [
        make_trial(value=0.9),
        make_trial(value=0.7),
        make_trial("fail", attrs={"error": "E"}),
    ]
    row = Report.from_study(make_study(trials), k=1).summary.iloc[0]
    assert row["best_of_k"] == pytest.approx((0.9 + 0.7 + 0.7) / 3)


def test_a_running_study_shows_what_has_finished():
    trials = [
        make_trial(value=0.8, optimizer="adam"),
        make_trial("running", scores=[0.5, 0.6]),
        make_trial("waiting"),
        make_trial("fail", attrs={"interrupted": True}),
    ]
    report = Report.from_study(make_study(trials))
    assert report.trials["outcome"].tolist() == ["complete", "running"]
    assert report.trials["end"].iloc[1] == "running (epoch 2)"
    assert report.summary["trials"].tolist() == [1, 1]  # adam, then adam + constant
    assert report.counts == {"complete": 1, "pruned": 0, "diverged": 0, "failed": 0,
                             "running": 1, "interrupted": 1, "waiting": 1}  # fmt: skip
    running = report.curves[report.curves["number"] == 1]
    assert running["score"].tolist() == [0.5, 0.6]
    shown = Report.from_study(make_study(trials), include_interrupted=True).trials
    assert shown["outcome"].tolist() == ["complete", "running", "interrupted"]


def test_a_parameter_present_only_in_some_trials_is_a_nullable_column():
    trials = [make_trial(value=0.8, schedule="cosine", t_max=4), make_trial(value=0.7)]
    trials_table = Report.from_study(make_study(trials)).trials
    assert trials_table["t_max"].dtype == "Int64"
    assert trials_table["t_max"].tolist() == [4, pd.NA]


def test_a_parameter_named_like_a_column_gets_a_prefix():
    trial = make_trial(value=0.5)
    trial.params["epochs"] = 4  # an estimator parameter that shares a column's name
    trial.distributions["epochs"] = optuna.distributions.IntDistribution(1, 10)
    trials = Report.from_study(make_study([trial])).trials
    assert trials["param_epochs"].tolist() == [4] and trials["epochs"].tolist() == [3]


def test_one_optimizer_is_enough():
    trials = [make_trial(value=v, lr=lr) for v, lr in [(0.6, 0.1), (0.8, 0.01), (0.7, 0.001)]]
    report = Report.from_study(make_study(trials))
    assert report.summary["optimizer"].astype(str).unique().tolist() == ["sgd"]
    assert report.summary.iloc[0]["best_of_k"] == pytest.approx(0.8)  # k = n: the best


def test_a_study_that_minimizes_ranks_small_values_first():
    trials = [make_trial(value=v, optimizer=o) for v, o in [(0.2, "sgd"), (0.5, "adam")]]
    report = Report.from_study(make_study(trials, direction="minimize"))
    pooled = report.summary[report.summary["schedule"] == "all"]
    assert pooled["optimizer"].tolist() == ["sgd", "adam"]
    assert pooled["best"].tolist() == [0.2, 0.5] and report.best.value == 0.2


def test_a_password_in_an_error_message_is_masked():
    error = "OperationalError: cannot reach postgresql://me:secret@db.example/tuning"
    report = Report.from_study(make_study([make_trial("fail", attrs={"error": error})]))
    assert "secret" not in report.trials["end"].iloc[0]
    assert "postgresql://me:***@db.example/tuning" in report.trials["end"].iloc[0]


def test_a_study_of_several_objectives_is_reported_by_its_first_the_score():
    study = optuna.create_study(directions=["minimize", "minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0, 2.0), n_trials=4)
    report = Report.from_study(study)
    assert report.direction == "minimize" and not report.problems
    assert report.objectives == ("score", "objective_2", "objective_3")
    assert report.trials["value"].tolist() == [t.values[0] for t in study.trials]
    assert report.trials[["objective_2", "objective_3"]].values.tolist() == [[1.0, 2.0]] * 4
    assert report.best.value == min(t.values[0] for t in study.trials)
    assert "pareto" not in report.plot_names  # a front of score against fit time only
