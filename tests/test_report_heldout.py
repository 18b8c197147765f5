"""Test scores in the report: the final fits, Welch's comparison, the page, the plot, list."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from scipy import stats
from test_report_studies import make_study, make_trial

from tuner.cli import main
from tuner.final import FinalFit
from tuner.report import Report
from tuner.report.heldout import FINAL_COLUMNS, compare_test_scores, final_table
from tuner.report.page import render_page
from tuner.report.plots import seed_scores_figure
from tuner.report.plotting import DPI, SIZES, png_bytes
from tuner.report.verdict import compute_verdict
from tuner.study.storage import open_storage
from tuner.studyfile import DataSpec, StudySpec

ADAM = [0.970, 0.972, 0.974, 0.971, 0.973]
SGD = [0.930, 0.934, 0.931, 0.933, 0.932]


def spec(**changes) -> StudySpec:
    base = StudySpec(
        name="hand-built", path=Path("hand-built.toml"), data=DataSpec("dataset", "iris"),
        estimator="LogisticClassifier", optimizers=("sgd", "adam"), schedules=("constant",),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def fits_of(scores: dict[str, list[float]], trials: dict[str, int]) -> list[FinalFit]:
    return [FinalFit(name, seed, trials[name], score, 0.1, None if math.isfinite(score) else
                     "DivergenceError: diverged")
            for name, values in scores.items() for seed, score in enumerate(values)]  # fmt: skip


def study_with_fits(
    scores: dict[str, list[float]], n_trials: int = 6, study_spec: StudySpec | None = None
) -> optuna.Study:
    """Three sgd then three adam trials (the best of each: #0 and #3), with final fits."""
    trials = [make_trial(value=v) for v in (0.95, 0.9, 0.91)]
    trials += [make_trial(value=v, optimizer="adam") for v in (0.97, 0.96, 0.92)]
    attrs = {"n_trials": n_trials}
    if study_spec is not None:
        attrs["spec"] = study_spec.to_attrs()
    study = make_study(trials, **attrs)
    for fit in fits_of(scores, {"sgd": 0, "adam": 3}):
        study.set_user_attr(fit.key, dataclasses.asdict(fit))
    return study


def final_of(scores: dict[str, list[float]]) -> pd.DataFrame:
    return final_table(fits_of(scores, {name: 0 for name in scores}), list(scores))


# -- the table -----------------------------------------------------------------------
def test_the_final_table_has_one_row_per_fit_of_each_current_best():
    study = study_with_fits({"sgd": SGD[:2], "adam": [ADAM[0], math.nan]}, study_spec=spec())
    stale = FinalFit("adam", 4, 5, 0.5, 0.1)  # a fit of a trial that is not adam's best
    study.set_user_attr(stale.key, dataclasses.asdict(stale))
    report = Report.from_study(study)
    final = report.final
    assert final.dtypes.astype(str).to_dict() == FINAL_COLUMNS
    # The trials' order of optimizers (sgd, momentum, adam), so that colours match.
    assert list(final["optimizer"].cat.categories) == ["sgd", "momentum", "adam"]
    assert final[["optimizer", "seed", "trial"]].astype(str).values.tolist() == [
        ["sgd", "0", "0"], ["sgd", "1", "0"], ["adam", "0", "3"], ["adam", "1", "3"]
    ]  # fmt: skip
    assert final["error"].tolist() == ["", "", "", "DivergenceError: diverged"]
    assert math.isnan(final["test_score"].iloc[3])
    progress = report.final_progress
    assert (progress.done, progress.expected, progress.missing) == (4, 10, 6)
    assert progress.test_split is True


def test_a_study_without_spec_or_fits_has_an_empty_final_table():
    report = Report.from_study(make_study([make_trial(value=0.5)]))
    assert len(report.final) == 0 and list(report.final.columns) == list(FINAL_COLUMNS)
    assert report.final_progress.expected is None and report.spec is None
    assert report.verdict.test == {} and report.verdict.test_lead_beyond_noise is None


# -- Welch's comparison and the verdict ----------------------------------------------
def test_a_lead_larger_than_the_seed_noise_is_told_with_welchs_p():
    comparison = compare_test_scores(final_of({"sgd": SGD, "adam": ADAM}), "adam")
    expected = stats.ttest_ind(ADAM, SGD, equal_var=False).pvalue
    assert comparison.p_values == {"sgd": pytest.approx(expected)}
    assert comparison.beyond_noise is True and comparison.leader == "adam"
    assert comparison.statistics["adam"] == {"mean": pytest.approx(np.mean(ADAM)),
        "std": pytest.approx(np.std(ADAM, ddof=1)), "n": 5, "failed": 0}  # fmt: skip
    assert comparison.sentence == (
        "On the test split (5 seeds each) adam scores 0.972 ± 0.0016 against sgd "
        f"0.932 ± 0.0016: a lead larger than the seed noise (Welch p = {expected:.2g})"
    )


def test_a_lead_within_the_seed_noise_is_said_so():
    close = [0.971, 0.975, 0.969, 0.972, 0.970]
    comparison = compare_test_scores(final_of({"sgd": close, "adam": ADAM}), "adam")
    assert comparison.beyond_noise is False
    assert comparison.p_values["sgd"] > 0.05
    assert ": within the seed noise (Welch p = " in comparison.sentence


def test_the_leader_behind_on_the_test_split_has_no_lead():
    comparison = compare_test_scores(final_of({"sgd": ADAM, "adam": SGD}), "adam")
    assert comparison.beyond_noise is False and comparison.leader == "adam"
    assert comparison.sentence.startswith(
        "On the test split (5 seeds each) adam scores 0.932 ± 0.0016, behind sgd 0.972 ± 0.0016"
        ": a gap larger than the seed noise (Welch p = "
    )


def test_one_seed_is_too_few_to_compare_with_the_noise():
    comparison = compare_test_scores(final_of({"sgd": [0.9], "adam": [0.95]}), "adam")
    assert comparison.beyond_noise is None and math.isnan(comparison.p_values["sgd"])
    assert comparison.sentence == (
        "On the test split (1 seed each) adam scores 0.95 against sgd 0.9: too few seeds to "
        "compare the lead with the seed noise"
    )


def test_without_a_leader_the_best_test_mean_leads_and_failures_are_named():
    scores = {"sgd": SGD, "momentum": [0.95, 0.951, math.nan], "adam": ADAM}
    comparison = compare_test_scores(final_of(scores), None)
    assert comparison.leader == "adam" and set(comparison.p_values) == {"sgd", "momentum"}
    assert "seeds: sgd 5, momentum 2, adam 5" in comparison.sentence
    assert "the closest of 2 others" in comparison.sentence
    assert comparison.sentence.endswith("; 1 of momentum's 3 final fits failed")
    only = compare_test_scores(final_of({"adam": ADAM}), "adam")
    assert only.beyond_noise is None and only.sentence == "On the test split (5 seeds) adam " \
        "scores 0.972 ± 0.0016"  # fmt: skip
    assert compare_test_scores(final_of({"adam": [math.nan]}), "adam") is None


def test_the_verdict_adds_the_test_split_and_keeps_its_decision():
    study = study_with_fits({"sgd": SGD, "adam": ADAM}, study_spec=spec())
    report = Report.from_study(study)
    search = compute_verdict(report.trials, maximize=True)
    verdict = report.verdict
    assert (verdict.leader, verdict.decided, verdict.prob_best) == (
        search.leader,
        search.decided,
        search.prob_best,
    )
    assert verdict.reason.startswith(search.reason + ". On the test split (5 seeds each) adam")
    assert verdict.test_leader == "adam" and verdict.test_lead_beyond_noise is True
    written = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    assert written["test"]["adam"]["n"] == 5 and written["test_lead_beyond_noise"] is True
    assert set(written["test_p_values"]) == {"sgd"}
    one = Report.from_study(study_with_fits({"sgd": [0.9], "adam": [0.95]}))
    written = json.loads(json.dumps(one.verdict.to_dict(), allow_nan=False))  # NaN: null
    assert written["test"]["adam"]["std"] is None and written["test_p_values"] == {"sgd": None}


def test_a_study_that_minimizes_compares_test_scores_the_same_way():
    comparison = compare_test_scores(final_of({"sgd": SGD, "adam": ADAM}), None, maximize=False)
    assert comparison.leader == "sgd" and comparison.beyond_noise is True


# -- the page ------------------------------------------------------------------------
def test_the_page_shows_each_seeds_test_score_and_the_plot():
    report = Report.from_study(study_with_fits({"sgd": SGD, "adam": ADAM}, study_spec=spec()))
    html = render_page(report, {"test_scores": b"PNG", "history": b"PNG"})
    section = html[html.index('id="test"') : html.index('id="best"')]
    assert '<td>adam</td><td class="num">#3</td><td class="num">5</td>' in section
    assert section.index("<td>adam</td>") < section.index("<td>sgd</td>")  # best mean first
    assert all(f">{v:.4g}<" in section for v in ADAM + SGD)
    assert 'id="plot-test_scores"' in section and html.count('id="plot-test_scores"') == 1
    assert "5 training seeds" in section and "20% of the data" in section
    assert "Final fits:" not in html
    assert "Rebuild it: this script loads the data as the study did" in html


def test_missing_final_fits_get_a_banner_once_the_search_has_ended():
    partial = {"sgd": SGD, "adam": ADAM[:2]}
    html = render_page(Report.from_study(study_with_fits(partial, study_spec=spec())), {})
    banner = "Final fits: 7 of 10 done; run the study again to finish them."
    assert f'<p class="banner">{banner}</p>' in html
    running = study_with_fits(partial, n_trials=8, study_spec=spec())  # the search goes on
    html = render_page(Report.from_study(running), {})
    assert "Final fits" not in html and "They run once the search has ended." in html
    none = render_page(Report.from_study(study_with_fits({}, study_spec=spec())), {})
    assert "Final fits: 0 of 10 done" in none


def test_a_study_without_a_test_split_says_so():
    report = Report.from_study(study_with_fits({}, study_spec=spec(test_fraction=0.0)))
    html = render_page(report, {})
    assert "This study holds out no test split" in html and "Final fits:" not in html
    assert report.final_progress.test_split is False
    other = render_page(Report.from_study(make_study([make_trial(value=0.5)])), {})
    assert "This study recorded no scores on a held-out test split." in other


# -- the plot ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 7])
def test_the_test_scores_plot_has_a_row_per_optimizer(n):
    names = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"][:n]
    rng = np.random.default_rng(0)
    scores = {name: list(-3000 - 100 * i + 50 * rng.standard_normal(5)) for i, name in
              enumerate(names)}  # fmt: skip
    scores[names[-1]][1] = math.nan  # a failed fit
    figure = seed_scores_figure(final_of(scores), True, "neg_mean_squared_error")
    (ax,) = figure.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.split("\n")[0] for label in labels] == names[::-1]  # the best on top
    assert labels[0].endswith("(4 seeds, 1 failed)")
    assert "neg_mean_squared_error, greater is better" in ax.get_xlabel()
    data = png_bytes(figure)
    width, height = (int(v * DPI) for v in SIZES["test_scores"])
    assert data[16:24] == width.to_bytes(4, "big") + height.to_bytes(4, "big")


def test_the_plot_without_scores_says_why():
    figure = seed_scores_figure(final_of({"adam": [math.nan]}))
    assert "no final fit scored" in figure.axes[0].texts[0].get_text()


# -- tuner list ----------------------------------------------------------------------
def test_list_says_how_many_final_fits_are_done(tmp_path):
    journal = str(tmp_path / "journal.log")
    storage = open_storage(journal)
    for name, n_trials, scores in [("done", 6, {"sgd": SGD, "adam": ADAM}),
                                   ("partial", 6, {"sgd": SGD[:2]}),
                                   ("searching", 9, {})]:  # fmt: skip
        source = study_with_fits(scores, n_trials, spec(name=name))
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
        for key, value in source.user_attrs.items():
            study.set_user_attr(key, value)
        study.add_trials(source.get_trials())
    optuna.create_study(study_name="no-spec", storage=storage).set_user_attr("n_trials", 0)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["list", "--storage", journal]) == 0
    lines = printed.getvalue().splitlines()
    assert lines[0].split()[:5] == ["study", "ended/budget", "best", "final", "fits"]
    rows = {line.split()[0]: line.split()[1:4] for line in lines[1:]}
    assert rows == {"done": ["6/6", "0.9700", "10/10"], "partial": ["6/6", "0.9700", "2/10"],
                    "searching": ["6/9", "0.9700", "-"], "no-spec": ["0/0", "-", "-"]}  # fmt: skip
