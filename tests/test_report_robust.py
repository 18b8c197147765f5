"""A study that ends leaves its report: extreme studies, importances that cannot be computed,
and any failure inside the report confined to the part it happened in."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from test_report_studies import make_study, make_trial

import tuner.report
from tuner.cli import main
from tuner.report import Report, ReportProblem, Verdict, plots
from tuner.report.importance import param_importances
from tuner.report.plotting import SIZES

LRS = [10 ** -(1 + i / 4) for i in range(12)]  # inside the default lr range
PAGE_FILES = {"index.html", "verdict.json", "summary.md"}
CSV_FILES = {f"{name}.csv" for name in ("trials", "curves", "summary", "importances", "final")}
PNG_FILES = {f"{name}.png" for name in SIZES if name != "pareto"}  # one objective


def _two_optimizers(values: list[float]) -> list[optuna.trial.FrozenTrial]:
    """Trials alternating sgd and adam, each with its own learning rate."""
    names = ["sgd", "adam"]
    return [make_trial(value=v, lr=LRS[i], optimizer=names[i % 2]) for i, v in enumerate(values)]


def _plain_study() -> optuna.Study:
    """A study of another program: no optimizer, no schedule, no curves."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 1, 3), n_trials=8)
    return study


def _nan_but_one() -> list[optuna.trial.FrozenTrial]:
    error = {"error": "ValueError: the score is NaN"}
    trials = [make_trial("fail", scores=[math.nan] * 2, attrs=error, lr=lr) for lr in LRS[:5]]
    trials += [make_trial("pruned", scores=[math.nan], end="pruned at epoch 1", lr=LRS[5])]
    return [*trials, make_trial(value=0.4, lr=LRS[6])]


EXTREME = {
    "every trial the same score": lambda: make_study(_two_optimizers([0.5] * 12)),
    "huge scores": lambda: make_study(_two_optimizers([1e308, -1e308, 0.5, -0.5] * 3)),
    "huge scores, minimizing": lambda: make_study(
        _two_optimizers([1e308, -1e308, 0.5, -0.5] * 3), direction="minimize"
    ),
    "the largest float": lambda: make_study(_two_optimizers([1.7976931348623157e308] * 6)),
    "infinite scores": lambda: make_study(_two_optimizers([math.inf, 0.5, -math.inf, 0.6] * 2)),
    "all NaN but one": lambda: make_study(_nan_but_one()),
    "a single trial": lambda: make_study([make_trial(value=0.7)]),
    "one optimizer": lambda: make_study([make_trial(value=i / 10, lr=LRS[i]) for i in range(8)]),
    "no optimizer parameter": _plain_study,
    "a minimizing study": lambda: make_study(
        _two_optimizers([i / 10 for i in range(12)]), direction="minimize"
    ),
    "only failed trials": lambda: make_study([make_trial("fail") for _ in range(6)]),
}


# -- extreme but valid studies -------------------------------------------------------
@pytest.mark.parametrize("build", EXTREME.values(), ids=EXTREME.keys())
def test_an_extreme_but_valid_study_gets_its_whole_report(build, tmp_path):
    report = Report.from_study(build())
    folder = report.save(tmp_path, ["csv", "md", "png", "html"])
    assert report.problems == ()
    assert {p.name for p in folder.iterdir()} == PAGE_FILES | CSV_FILES | PNG_FILES
    json.loads((folder / "verdict.json").read_text())  # strict JSON: no NaN, no Infinity
    html = (folder / "index.html").read_text()
    assert "could not be built" not in html and 'class="problem"' not in html


def test_scores_too_large_for_an_axis_are_not_drawn_and_the_plot_says_why():
    report = Report.from_study(EXTREME["huge scores"]())
    (ax,) = report.figure("history").axes
    assert ax.get_title() == "Optimization history"
    assert "too large to draw" in ax.texts[0].get_text()


def test_every_trial_with_the_same_score_has_no_importances_and_says_why(tmp_path):
    report = Report.from_study(EXTREME["every trial the same score"]())
    assert report.importances.empty
    assert report.importance_notes == (
        "all trials, sgd, adam: every completed trial has the same score (0.5), "
        "so no parameter explains a difference",
    )
    html = (report.save(tmp_path, ["html"]) / "index.html").read_text()
    assert "every completed trial has the same score (0.5)" in html


def test_huge_scores_keep_their_importances():
    report = Report.from_study(EXTREME["huge scores"]())
    sums = report.importances.groupby("optimizer", observed=True)["importance"].sum()
    assert sums.to_dict() == pytest.approx({"all": 1.0, "sgd": 1.0, "adam": 1.0})
    assert report.importance_notes == ()


# -- a parameter searched over several ranges ----------------------------------------
def _scoped_lr_study() -> optuna.Study:
    """adam's lr has its own range (``"adam.lr"``); sgd's the default one."""
    adam_lr = {"lr": FloatDistribution(1e-5, 1e-1, log=True)}
    trials = [make_trial(value=0.5 + i / 50, lr=LRS[i]) for i in range(6)]
    trials += [
        make_trial(value=0.6 - i / 40, lr=LRS[i + 2], optimizer="adam", distributions=adam_lr)
        for i in range(6)
    ]
    return make_study(trials)


def test_a_parameter_with_a_range_per_optimizer_is_ranked_within_each_optimizer():
    report = Report.from_study(_scoped_lr_study())
    imp = report.importances
    params = {str(o): set(rows["param"]) for o, rows in imp.groupby("optimizer", observed=True)}
    assert params == {"all": {"optimizer"}, "sgd": {"lr"}, "adam": {"lr"}}
    assert report.importance_notes == (
        "all trials: lr is left out: its search range differs between these trials "
        "(2 ranges), and importances need one",
    )


def test_a_parameter_shared_by_two_schedules_with_their_own_ranges_is_left_out():
    gamma = {"step": FloatDistribution(0.1, 0.9), "exponential": FloatDistribution(0.9, 0.999)}
    trials = [
        make_trial(value=0.5 + i / 40, lr=LRS[i], schedule=s, gamma=g,
                   distributions={"gamma": gamma[s],
                                  "schedule": optuna.distributions.CategoricalDistribution(
                                      ("step", "exponential"))})
        for i, (s, g) in enumerate([("step", 0.5), ("exponential", 0.95)] * 4)
    ]  # fmt: skip
    report = Report.from_study(make_study(trials))
    assert set(report.importances["param"]) == {"lr", "schedule"}
    assert report.importance_notes == (
        "all trials, sgd: gamma is left out: its search range differs between these trials "
        "(2 ranges), and importances need one",
    )


def test_param_importances_of_one_scope_failing_leave_the_others(monkeypatch):
    class Failing(optuna.importance.FanovaImportanceEvaluator):
        def evaluate(self, study, params=None, *, target=None):
            if len(study.trials) > 6:  # the scope of all trials
                raise RuntimeError("Encountered zero total variance in all trees.")
            return super().evaluate(study, params, target=target)

    study = make_study(_two_optimizers([i / 10 for i in range(12)]))
    result = param_importances(study.trials, evaluator=Failing(seed=0))
    assert set(result.table["optimizer"]) == {"sgd", "adam"}
    assert result.problems == (
        ReportProblem(
            "importances of all trials",
            "RuntimeError: Encountered zero total variance in all trees.",
        ),
    )


# -- any failure is confined to its part ---------------------------------------------
def _fail(*args, **kwargs):
    raise ValueError("<b>no</b> & more\nsecond line")


REASON = "ValueError: &lt;b&gt;no&lt;/b&gt; &amp; more second line"


def _study() -> optuna.Study:
    return make_study(_two_optimizers([i / 10 for i in range(12)]))


def test_a_table_that_cannot_be_built_is_replaced_by_its_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(tuner.report.summary, "_row", _fail)  # the summary of no trial is built
    report = Report.from_study(_study())
    assert report.problems == (
        ReportProblem("summary", "ValueError: <b>no</b> & more second line"),
    )
    assert report.summary.empty and len(report.trials) == 12  # the other tables are there
    folder = report.save(tmp_path, ["csv", "md", "png", "html"])
    html = (folder / "index.html").read_text()
    summary = html.split('id="summary"')[1].split("<h2")[0]
    assert f'<p class="problem">Not shown: {REASON}</p>' in summary
    assert "<b>no</b>" not in html
    assert f"<li>summary: {REASON}</li>" in html  # listed at the top
    names = {p.name for p in folder.iterdir()}
    assert not {"best_of_k.png", "summary.csv", "summary.md"} & names  # drawn from the summary
    assert {"trials.csv", "history.png", "verdict.json"} <= names


def test_a_plot_that_cannot_be_drawn_leaves_the_others(monkeypatch, tmp_path):
    monkeypatch.setattr(plots, "history_figure", _fail)
    folder = Report.from_study(_study()).save(tmp_path, ["png", "html"])
    names = {p.name for p in folder.iterdir()}
    assert "history.png" not in names and PNG_FILES - {"history.png"} <= names
    html = (folder / "index.html").read_text()
    assert f'<p class="problem">history plot not shown: {REASON}</p>' in html
    assert html.count("data:image/png;base64,") == len(PNG_FILES) - 2  # no history, no test


def test_a_page_section_that_cannot_be_written_leaves_the_rest(monkeypatch, tmp_path):
    monkeypatch.setattr(tuner.report.page, "_best", _fail)
    folder = Report.from_study(_study()).save(tmp_path, ["html"])
    html = (folder / "index.html").read_text()
    best = html.split('id="best"')[1].split("<h2")[0]
    assert f'<p class="problem">Not shown: {REASON}</p>' in best
    assert 'id="trials"' in html and "<li>best trial section: " in html


def test_a_file_that_cannot_be_written_leaves_the_others(monkeypatch, tmp_path):
    monkeypatch.setattr(tuner.report.files, "markdown_table", _fail)
    folder = Report.from_study(_study()).save(tmp_path, ["csv", "md", "html"])
    names = {p.name for p in folder.iterdir()}
    assert "summary.md" not in names and CSV_FILES | {"index.html", "verdict.json"} <= names
    assert f"<li>summary.md: {REASON}</li>" in (folder / "index.html").read_text()


def test_verdict_json_is_written_when_the_verdict_cannot_be_computed(monkeypatch, tmp_path):
    monkeypatch.setattr(tuner.report, "compute_verdict", _fail)
    report = Report.from_study(_study())
    folder = report.save(tmp_path, ["csv"])
    verdict = json.loads((folder / "verdict.json").read_text())
    assert verdict["leader"] is None and verdict["decided"] is False
    assert verdict["reason"] == "No verdict: ValueError: <b>no</b> & more second line"


def test_verdict_json_holds_strict_json_whatever_the_numbers():
    verdict = Verdict(
        None, False, k=np.int64(3), prob_best={"sgd": math.nan}, p_values={"adam": math.inf}
    )
    data = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert (data["k"], data["prob_best"], data["p_values"]) == (3, {"sgd": None}, {"adam": None})


def test_a_problem_is_logged_as_it_happens(monkeypatch, caplog):
    monkeypatch.setattr(tuner.report.summary, "_row", _fail)
    Report.from_study(_study())
    assert "summary left out of the report: ValueError: <b>no</b> & more" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"k": 0}, "k must be a positive number"), ({"n_boot": 0}, "n_boot must be"),
     ({"confidence": 1.5}, "confidence must be between")],
)  # fmt: skip
def test_invalid_arguments_still_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Report.from_study(_study(), **kwargs)


# -- the command line ----------------------------------------------------------------
STUDY = """
[study]
name = "{name}"
n_trials = 6
seed = 0
n_jobs = 1
cv = 2
pruner = "none"

[data]
dataset = "iris"

[estimator]
class = "LogisticClassifier"
params = {{ max_epochs = 2, batch_size = 16, random_state = 0 }}

[evaluate]
seeds = 2

[space]
optimizers = {optimizers}
schedules = {schedules}

[space.params]
{params}
"""


def _run(tmp_path: Path, name: str, optimizers: str, schedules: str, params: str) -> Path:
    path = tmp_path / f"{name}.toml"
    text = STUDY.format(
        name=name, optimizers=optimizers, schedules=schedules, params=params
    )  # fmt: skip
    path.write_text(text)
    out = tmp_path / "reports"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    return out


def test_run_of_a_study_whose_trials_all_score_the_same_writes_its_report(tmp_path):
    lr = "lr = { low = 1e-9, high = 2e-9, log = true }"
    out = _run(tmp_path, "flat", '["sgd"]', '["constant"]', lr)
    assert {"index.html", "verdict.json"} <= {p.name for p in (out / "flat").iterdir()}
    trials = pd.read_csv(out / "flat" / "trials.csv")
    assert trials["value"].nunique() == 1
    assert main(["report", "flat", "--out", str(out)]) == 0
    assert 'class="problem"' not in (out / "flat" / "index.html").read_text()


def test_run_with_ranges_per_optimizer_and_schedule_writes_its_importances(tmp_path):
    lr = '"adam.lr" = { low = 1e-3, high = 1e-1, log = true }'
    out = _run(tmp_path, "ranges", '["sgd", "adam"]', '["step", "exponential"]', lr)
    importances = pd.read_csv(out / "ranges" / "importances.csv")
    assert "gamma" not in set(importances["param"])
    assert 'class="problem"' not in (out / "ranges" / "index.html").read_text()


def test_run_exits_0_with_its_report_when_a_part_of_it_fails(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tuner.report.importance, "_importances", _fail)
    out = _run(tmp_path, "broken", '["sgd"]', '["constant"]', "")
    html = (out / "broken" / "index.html").read_text()
    assert f"<li>importances of all trials: {REASON}</li>" in html
    assert "importances of sgd left out of the report: ValueError" in caplog.text
