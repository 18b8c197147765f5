"""Benchmark suites: performance profiles, suite files, ``tuner bench`` end to end."""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from tuner.cli import main
from tuner.study.outcomes import tally
from tuner.study.storage import open_storage
from tuner.suite import (
    inclusion_finding,
    load_suite_file,
    pairwise_table,
    perfect_score,
    performance_profile,
    performance_ratios,
    profile_table,
    win_tie_loss,
)

SUITE = """
[suite]
name = "{name}"
trials_per_optimizer = 3
budgets = [1, 3]
inclusion = ["sgd", "adam"]

[study]
sampler = "random"
pruner = "none"
cv = 2

[space]
optimizers = ["sgd", "adam"]
schedules = ["constant"]
[space.params]
"adam.eps" = {{ low = 1e-10, high = 1.0, log = true }}

[evaluate]
test_fraction = 0

[[problem]]
name = "iris"
data = {{ dataset = "iris" }}
estimator = {{ class = "LogisticClassifier", params = {{ max_epochs = 3, random_state = 0 }} }}

[[problem]]
file = "wine.toml"
"""
WINE = """
[study]
name = "ignored"
n_trials = 99
cv = 3
[data]
dataset = "wine"
[estimator]
class = "LogisticClassifier"
params = { max_epochs = 3, random_state = 0 }
[space]
optimizers = ["nesterov"]
[space.estimator]
alpha = { low = 1e-6, high = 1e-2, log = true }
"""


def suite_file(folder: Path, name: str = "tiny", text: str = SUITE) -> Path:
    (folder / "wine.toml").write_text(WINE)
    path = folder / f"{name}.toml"
    path.write_text(text.format(name=name))
    return path


# -- performance profiles ------------------------------------------------------------------
COSTS = pd.DataFrame(
    {"a": [0.1, 0.3, 0.05], "b": [0.2, 0.15, math.nan], "c": [0.4, 0.15, 0.5]},
    index=pd.Index(["p1", "p2", "p3"], name="problem"),
)


def test_performance_ratios_divide_by_the_best_of_each_problem():
    ratios = performance_ratios(COSTS)
    expected = [[1, 2, 4], [2, 1, 1], [1, math.inf, 10]]
    np.testing.assert_allclose(ratios.to_numpy(), expected)


def test_performance_profile_matches_a_hand_computed_case():
    taus = [1, 1.5, 2, 4, 9.9, 10, 1e6]
    profile = performance_profile(performance_ratios(COSTS), taus)
    # a: ratios 1, 2, 1; b: 2, 1, inf (no cost on p3); c: 4, 1, 10.
    expected = {
        "a": [2 / 3, 2 / 3, 1, 1, 1, 1, 1],
        "b": [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3],
        "c": [1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1],
    }
    for name, values in expected.items():
        np.testing.assert_allclose(profile[name].to_numpy(), values, err_msg=name)


def test_profile_table_steps_at_every_ratio_of_each_budget():
    long = COSTS.reset_index().melt(id_vars="problem", var_name="optimizer", value_name="cost")
    table = profile_table(pd.concat([long.assign(k=1), long.assign(k=4, cost=long["cost"] * 2)]))
    for k in (1, 4):  # scaling every cost leaves the ratios, so the profiles, unchanged
        at_k = table[table["k"] == k]
        assert sorted(set(at_k["tau"])) == [1, 2, 4, 10]
        c = at_k[at_k["optimizer"] == "c"].set_index("tau")["rho"]
        assert c.to_dict() == pytest.approx({1: 1 / 3, 2: 1 / 3, 4: 2 / 3, 10: 1})


def test_a_perfect_score_is_matched_only_by_another_perfect_one():
    costs = pd.DataFrame({"a": [0.0, 0.2], "b": [0.0, 0.1], "c": [0.01, math.nan]})
    np.testing.assert_array_equal(performance_ratios(costs).to_numpy(),
                                  [[1, 1, math.inf], [2, 1, math.inf]])  # fmt: skip


def test_perfect_scores_of_scorers(tmp_path):
    spec = load_suite_file(suite_file(tmp_path)).problems[0].spec
    assert perfect_score(spec) == 1.0  # the estimator's score: accuracy
    for scoring, perfect in [("r2", 1.0), ("roc_auc", 1.0), ("neg_mean_squared_error", 0.0)]:
        assert perfect_score(replace(spec, scoring=scoring)) == perfect
    with pytest.raises(ValueError, match="no known perfect value"):
        perfect_score(replace(spec, scoring="adjusted_rand_score"))


# -- pairwise verdicts and the inclusion question -------------------------------------------
def _pairwise(outcomes: dict[tuple[str, int], str]) -> pd.DataFrame:
    rows = [(p, k, "sgd", "adam", o, 0.01, 0.0) for (p, k), o in outcomes.items()]
    return pd.DataFrame(rows, columns=["problem", "k", "a", "b", "outcome", "p_value",
                                       "prob_best_a"])  # fmt: skip


def test_inclusion_finding_names_where_the_order_fails():
    pairwise = _pairwise({("iris", 1): "win", ("wine", 1): "tie",
                          ("iris", 8): "loss", ("wine", 8): "tie"})  # fmt: skip
    text = inclusion_finding(pairwise, ["sgd", "adam"], 2, 0.95)
    assert text.startswith("At the largest budget, k = 8 trials per optimizer, the order "
                           "sgd <= adam holds on all 2 problems")  # fmt: skip
    assert "At k = 1 trial per optimizer, the order sgd <= adam fails on 1 of 2 problems " \
           "(sgd beat adam on iris)" in text  # fmt: skip


def test_win_tie_loss_counts_each_pair_both_ways():
    pairwise = _pairwise({("iris", 1): "win", ("wine", 1): "tie", ("x", 1): "win"})
    table = win_tie_loss(pairwise, ["sgd", "adam"]).set_index(["optimizer", "against"])
    assert table.loc[("sgd", "adam"), ["wins", "ties", "losses"]].tolist() == [2, 1, 0]
    assert table.loc[("adam", "sgd"), ["wins", "ties", "losses"]].tolist() == [0, 1, 2]


def test_pairwise_verdicts_decide_only_a_clear_difference():
    rng = np.random.default_rng(0)
    same, worse = rng.normal(0.9, 0.01, 12), rng.normal(0.5, 0.01, 12)
    draws = {"p": {"sgd": worse, "momentum": same, "adam": same.copy()}}
    table = pairwise_table(draws, (4,), 0.95).set_index(["a", "b"])["outcome"]
    assert table[("sgd", "momentum")] == "loss" and table[("sgd", "adam")] == "loss"
    assert table[("momentum", "adam")] == "tie"


# -- suite files ---------------------------------------------------------------------------
def test_suite_file_builds_one_study_per_problem_and_seed(tmp_path):
    suite = load_suite_file(suite_file(tmp_path))
    assert suite.name == "tiny" and suite.optimizers == ("sgd", "adam")
    assert [p.name for p in suite.problems] == ["iris", "wine"]
    wine = suite.problems[1]
    tables = wine.study_tables("tiny", 0)
    assert tables["study"]["name"] == "tiny.wine.s0" and tables["study"]["n_trials"] == 6
    assert tables["study"]["cv"] == 2  # the suite's [study] over the study file's
    assert tables["space"]["optimizers"] == ["sgd", "adam"]  # the suite sets the comparison
    assert "alpha" in tables["space"]["estimator"]  # the problem's own estimator space stays
    assert wine.spec.params["adam.eps"]["low"] == 1e-10


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("trials_per_optimizer = 3", "trials_per_optimizer = 2"), "suite.trials_per_optimizer"),
        (("budgets = [1, 3]", "budgets = [1, 4]"), "suite.budgets"),
        (('inclusion = ["sgd", "adam"]', 'inclusion = ["sgd", "rmsprop"]'), "suite.inclusion"),
        (("cv = 2", "cv = 2\nn_trials = 5"), "study.n_trials"),
        (('"adam.eps" = {{', '"adam.epz" = {{'), 'space.params."adam.epz"'),
        (('dataset = "iris"', 'dataset = "irsi"'), "problem[0].data.dataset"),
        (("max_epochs = 3, random", "max_epoch = 3, random"), "problem[0].estimator.params"),
        (('file = "wine.toml"', 'file = "nope.toml"'), "problem[1].file"),
        (
            ('name = "iris"', 'name = "iris"\nstudy = {{ scoring = "adjusted_rand_score" }}'),
            "problem[0].study.scoring",
        ),
        (("[suite]", "[suite]\nseed = 1"), "suite.seed"),
        (('optimizers = ["sgd", "adam"]', ""), "space.optimizers"),
    ],
)
def test_a_bad_suite_file_exits_2_naming_the_file_and_key(tmp_path, capsys, change, where):
    text = SUITE.replace(*change)
    assert text != SUITE
    path = suite_file(tmp_path, text=text)
    assert main(["bench", str(path), "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"tuner: {path}: {where}"), err
    assert not (tmp_path / "reports").exists()  # nothing ran


def test_an_error_in_a_problems_study_file_names_that_file(tmp_path, capsys):
    path = suite_file(tmp_path)
    (tmp_path / "wine.toml").write_text(WINE.replace('"wine"', '"wnie"'))
    assert main(["bench", str(path), "--out", str(tmp_path / "reports")]) == 2
    assert f"tuner: {tmp_path / 'wine.toml'}: data.dataset: unknown" in capsys.readouterr().err


def test_the_default_suite_is_valid():
    suite = load_suite_file(Path(__file__).parents[1] / "studies" / "suite.toml")
    assert 6 <= len(suite.problems) <= 8 and suite.inclusion == ("sgd", "momentum", "adam")


# -- tuner bench ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """A two-problem suite run once through the command line (a few seconds)."""
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "reports"
    code = main(["bench", str(suite_file(folder)), "--out", str(out), "--n-jobs", "1",
                 "--no-progress"])  # fmt: skip
    return code, out / "tiny", folder


def _counted(storage: str, name: str) -> int:
    study = optuna.load_study(study_name=name, storage=open_storage(storage))
    return tally(study.get_trials()).counted


def test_bench_runs_every_problem_and_writes_the_suite_page(bench_run):
    code, folder, _ = bench_run
    assert code == 0
    storage = str(folder / "journal.log")
    assert [_counted(storage, f"tiny.{p}.s0") for p in ("iris", "wine")] == [6, 6]
    page = (folder / "index.html").read_text()
    assert "Performance profiles" in page and "the order sgd &lt;= adam" in page
    assert 'href="tiny.iris.s0/index.html"' in page and (folder / "tiny.iris.s0").is_dir()
    best = pd.read_csv(folder / "best_of_k.csv")
    assert len(best) == 2 * 2 * 2 and (best["cost"] >= 0).all()  # problems x optimizers x k
    profiles = pd.read_csv(folder / "profiles.csv")
    assert set(profiles["k"]) == {1, 3} and profiles["rho"].between(0, 1).all()
    assert len(pd.read_csv(folder / "pairwise.csv")) == 2 * 2  # one pair, two problems, two k
    assert (folder / "profiles.png").stat().st_size > 0
    assert "sgd <= adam" in (folder / "summary.md").read_text()


def test_bench_again_on_a_finished_suite_runs_no_trial(bench_run, capsys):
    _, folder, suite_folder = bench_run
    storage = str(folder / "journal.log")
    before = [_counted(storage, f"tiny.{p}.s0") for p in ("iris", "wine")]
    page = folder / "tiny.wine.s0" / "index.html"
    page.unlink()  # as a kill while the study's report was written leaves it
    capsys.readouterr()
    assert main(["bench", str(suite_folder / "tiny.toml"), "--out", str(folder.parent),
                 "--no-progress"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "0 studies run, 2 already complete" in captured.out  # the report of one written
    assert "to extend it" not in captured.err  # tuner run's hint, not the suite's
    assert [_counted(storage, f"tiny.{p}.s0") for p in ("iris", "wine")] == before
    assert page.is_file()


@pytest.mark.slow
def test_bench_on_postgresql_with_two_workers(tmp_path, capsys):
    from test_distributed import _PG_REASON, PG_URL

    if _PG_REASON is not None:
        pytest.skip(_PG_REASON)
    name = f"pg-{uuid.uuid4().hex[:8]}"
    path = suite_file(tmp_path, name=name)
    studies = [f"{name}.{p}.s0" for p in ("iris", "wine")]
    try:
        code = main(["bench", str(path), "--storage", PG_URL, "--n-jobs", "2",
                     "--out", str(tmp_path / "reports"), "--no-progress"])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        assert [_counted(PG_URL, s) for s in studies] == [6, 6]
        assert (tmp_path / "reports" / name / "index.html").exists()
    finally:
        for study in studies:
            try:
                optuna.delete_study(study_name=study, storage=open_storage(PG_URL))
            except KeyError:
                pass
