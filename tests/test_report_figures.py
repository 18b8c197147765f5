"""The report stays readable: figures with 1 to 7 optimizers and any score scale, consistent
numbers in the tables, and the report in a notebook.

Each figure is drawn and measured: no two texts (tick labels, titles, axis
labels, legend entries) overlap, every text and legend lies inside the
figure, no legend covers a panel, and panels of one quantity share its axis.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from html import escape

import numpy as np
import optuna
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.importance import MeanDecreaseImpurityImportanceEvaluator
from optuna.trial import TrialState, create_trial
from test_report_studies import make_study, make_trial

from tuner.final import FinalFit
from tuner.report import Report
from tuner.report.display import SUMMARY_NOTES, number_format, summary_display, trials_display
from tuner.report.pareto import pareto_front

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "cosine", "exponential")
EPOCHS = 100
#: Figures whose panels show one quantity on an axis, and so share it.
SHARED = {"pareto": "xy", "curves": "x", "lr_score": "xy", "schedules": "xy", "importances": "x"}


def synthetic_study(
    n_optimizers: int, task: str, seed: int, per_optimizer: int = 6,
    lr_range: tuple[float, float] = (1e-4, 0.5), objectives: tuple[str, ...] = ("score",),
) -> optuna.Study:  # fmt: skip
    """A study as a run records it: trials of ``n_optimizers`` optimizers, some pruned early or
    diverged, per-epoch curves, and final fits of each optimizer's best.

    ``task`` is ``"classification"`` (accuracies in 0..1) or ``"regression"`` (negative mean
    squared errors from about -3e3 to -3e4). With ``objectives=("score", "fit_time")``, a
    study of score against fit time: trials complete or diverge (none is pruned).
    """
    two = len(objectives) > 1
    rng = np.random.default_rng(seed)
    names = OPTIMIZERS[:n_optimizers]
    distributions = {
        "optimizer": CategoricalDistribution(names),
        "schedule": CategoricalDistribution(SCHEDULES),
        "lr": FloatDistribution(*lr_range, log=True),
    }
    study = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(), study_name=f"{task}-{n_optimizers}",
        directions=["maximize", "minimize"] if two else ["maximize"],
    )  # fmt: skip
    study.set_user_attr("objectives", list(objectives))
    epoch = np.arange(EPOCHS)
    for number in range(n_optimizers * per_optimizer):
        params = {
            "optimizer": names[number % n_optimizers],
            "schedule": SCHEDULES[rng.integers(len(SCHEDULES))],
            "lr": float(np.exp(rng.uniform(*np.log(lr_range)))),
        }
        if task == "classification":
            start, final = rng.uniform(0.05, 0.3), rng.uniform(0.5, 0.99)
        else:
            start = -rng.uniform(2.5e4, 3e4)
            final = -np.exp(rng.uniform(np.log(2.9e3), np.log(2.9e4)))
        score = final + (start - final) * np.exp(-epoch / rng.uniform(2, 30))
        factor = {"constant": np.ones(EPOCHS), "cosine": (1 + np.cos(np.pi * epoch / EPOCHS)) / 2,
                  "exponential": 0.95**epoch}[params["schedule"]]  # fmt: skip
        kind = rng.choice(["complete", "pruned", "diverged"], p=[0.9, 0, 0.1] if two else
                          [0.7, 0.2, 0.1])  # fmt: skip
        epochs = EPOCHS if kind == "complete" else int(rng.integers(2, 30))
        scores = [float(s) for s in score[:epochs]]
        end = {"complete": "complete", "pruned": f"pruned at epoch {epochs}",
               "diverged": f"diverged at epoch {epochs}: loss is inf"}[kind]  # fmt: skip
        curves = {"loss": list(1.0 / (epoch[:epochs] + 1.0)), "score": scores,
                  "lr": [float(v) for v in params["lr"] * factor[:epochs]]}  # fmt: skip
        fit_time = epochs * rng.uniform(0.01, 0.05)
        values = [scores[-1], fit_time] if two else [scores[-1]]
        study.add_trial(create_trial(
            state=TrialState.COMPLETE if kind == "complete" else TrialState.PRUNED,
            values=values if kind == "complete" else None,
            params=params, distributions=distributions,
            user_attrs={"curves": curves, "epochs": epochs, "end": end,
                        "fold_scores": [scores[-1] * 0.99, scores[-1] * 1.01]},
            intermediate_values={} if two else dict(enumerate(scores, start=1)),
        ))  # fmt: skip
    for name in names:
        done = [t for t in study.get_trials(states=(TrialState.COMPLETE,))
                if t.params["optimizer"] == name]  # fmt: skip
        if done:
            best = max(done, key=lambda t: t.values[0])
            for s in range(3):
                score = best.values[0] * rng.uniform(0.97, 1.03)
                fit = FinalFit(name, s, best.number, score, 0.1)
                study.set_user_attr(fit.key, dataclasses.asdict(fit))
    return study


def report_of(study: optuna.Study) -> Report:
    evaluator = MeanDecreaseImpurityImportanceEvaluator(seed=0)  # quicker than fANOVA
    return Report.from_study(study, evaluator=evaluator, n_boot=200)


PARETO = ("score", "fit_time")
CASES = [(n, task, ("score",)) for n in (1, 3, 7) for task in ("classification", "regression")]
CASES += [(1, "regression", PARETO), (7, "classification", PARETO)]


@pytest.fixture(scope="module", params=CASES, ids=[f"{n}-{task}-{len(o)}" for n, task, o in CASES])
def report(request) -> Report:
    n, task, objectives = request.param
    return report_of(synthetic_study(n, task, seed=n, objectives=objectives))


# -- measuring a drawn figure ----------------------------------------------------------
def _shown(text) -> bool:
    return text.get_visible() and text.get_text().strip() != ""


def _tick_labels(ax: Axes) -> list:
    """The tick labels drawn: visible, non-empty, at a tick inside the view."""
    labels = []
    for axis in (ax.xaxis, ax.yaxis):
        low, high = sorted(axis.get_view_interval())
        slack = 1e-9 * (high - low)
        for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
            if low - slack <= tick.get_loc() <= high + slack and _shown(tick.label1):
                labels.append(tick.label1)
    return labels


def _legends(figure: Figure) -> list:
    return [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend())]


def _texts(figure: Figure) -> list:
    """Every text drawn on ``figure``, once drawn."""
    texts = [t for t in (figure._suptitle, figure._supxlabel, figure._supylabel) if t]
    texts += figure.texts
    for ax in figure.axes:
        if not ax.axison:  # a figure that says why it is empty
            texts += [*ax.texts, ax.title]
            continue
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += _tick_labels(ax) + ax.texts
    for legend in _legends(figure):
        texts += [legend.get_title(), *legend.get_texts()]
    return [t for t in dict.fromkeys(texts) if _shown(t)]  # the suptitle is in figure.texts too


def _inside(inner: Bbox, outer: Bbox, slack: float = 1.0) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.y0 >= outer.y0 - slack
            and inner.x1 <= outer.x1 + slack and inner.y1 <= outer.y1 + slack)  # fmt: skip


def _draw(figure: Figure) -> None:
    """Lay out and draw ``figure``: on Agg, as its PNG is drawn (its own canvas draws nothing)."""
    FigureCanvasAgg(figure).draw()


def assert_readable(figure: Figure, name: str) -> None:
    _draw(figure)
    page = figure.bbox
    boxes = [(t.get_text(), t.get_window_extent()) for t in _texts(figure)]
    for text, box in boxes:
        assert _inside(box, page), f"{name}: {text!r} is cut off"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{name}: {a!r} overlaps {b!r}"
    panels = [ax.get_window_extent() for ax in figure.axes if ax.axison]
    for legend in _legends(figure):
        box = legend.get_window_extent()
        assert _inside(box, page), f"{name}: a legend is cut off"
        assert not any(box.overlaps(panel) for panel in panels), f"{name}: a legend covers data"


# -- the figures -------------------------------------------------------------------------
def test_every_figure_is_readable(report):
    for name, figure in report.figures().items():
        assert_readable(figure, name)


def test_panels_of_one_quantity_share_its_axis(report):
    figures = report.figures()
    for name, which in SHARED.items():
        if name not in figures:  # the Pareto fronts: studies of score against fit time only
            continue
        axes = [ax for ax in figures[name].axes if ax.axison]  # none: it says why it is empty
        if "x" in which:
            assert len({ax.get_xlim() for ax in axes}) <= 1, name
        if "y" in which:
            assert len({ax.get_ylim() for ax in axes}) <= 1, name
    curves = figures["curves"].axes
    n = len(curves) // 2  # a row of scores over a row of learning rates
    assert len({ax.get_ylim() for ax in curves[:n]}) == 1
    assert len({ax.get_ylim() for ax in curves[n:]}) == 1


@pytest.mark.parametrize("lr_range", [(1e-3, 4e-3), (1e-7, 1.0)], ids=["narrow", "wide"])
def test_learning_rate_ticks_stay_apart_on_any_span(lr_range):
    report = report_of(synthetic_study(7, "regression", seed=3, lr_range=lr_range))
    for name in ("lr_score", "curves"):
        assert_readable(report.figure(name), name)


def test_a_trial_pruned_early_is_not_squashed_against_the_longest():
    trials = [make_trial(value=0.9, epochs=EPOCHS), make_trial("pruned", epochs=5)]
    figure = Report.from_study(make_study(trials)).figure("curves")
    _draw(figure)
    ax = figure.axes[0]
    (short,) = [line for line in ax.get_lines() if len(line.get_xdata()) == 5]
    left, right = ax.transData.transform([(1, 0), (max(short.get_xdata()), 0)])[:, 0]
    assert right - left > 0.25 * ax.get_window_extent().width


# -- tables ------------------------------------------------------------------------------
def test_a_regression_column_has_one_number_format():
    report = report_of(synthetic_study(7, "regression", seed=2))
    magnitudes = report.summary["best"].abs()
    assert magnitudes.min() < 1e4 <= magnitudes.max()  # as -2976 beside -28760
    shown = summary_display(report.summary)
    for column in ("best", "median"):
        assert all(re.fullmatch(r"-\d+", cell) for cell in shown[column] if cell), column
    intervals = shown["best of k (95% interval)"].str.findall(r"-?\d[\d.e+-]*")
    assert all(re.fullmatch(r"-\d+", n) for cells in intervals for n in cells)
    values = trials_display(report.trials)["value"]
    assert all(re.fullmatch(r"-\d+", cell) for cell in values if cell)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([-2976.4, -28763.9], ["-2976", "-28764"]),
        ([0.97, 0.9725, 0.5], ["0.97", "0.9725", "0.5"]),
        ([1.2e-4, 0.47], ["1.2e-04", "4.7e-01"]),  # a learning rate's spread: all exponents
        ([-2976.0, -1.25e7], ["-2.976e+03", "-1.25e+07"]),
        ([math.nan, 3, "adam"], ["", "3", "adam"]),
    ],
)
def test_number_format_writes_a_column_one_way(values, expected):
    show = number_format(values)
    assert [show(v) for v in values] == expected


def test_every_summary_column_is_explained():
    report = report_of(synthetic_study(3, "regression", seed=0))
    explained = {c for names in SUMMARY_NOTES for c in names.split(", ")}
    assert set(summary_display(report.summary).columns) == explained
    page = report._repr_html_()
    assert all(f"<li><b>{escape(names)}</b>: " in page for names in SUMMARY_NOTES)


# -- the notebook ------------------------------------------------------------------------
def test_a_report_shows_itself_in_a_notebook(report):
    html = report._repr_html_()
    assert escape(report.verdict.reason) in html
    assert '<table class="summary">' in html
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    # Best of k, test scores, learning curves; first score against fit time, for a study of both.
    assert len(images) == (4 if report.objectives == PARETO else 3)
    assert "<html" not in html and "<body" not in html  # a fragment, not a page


@pytest.mark.parametrize(
    ("maximize", "expected"),
    [(True, [1, 1, 1, 0, 0, 1]), (False, [0, 1, 0, 1, 0, 0])],
)
def test_the_pareto_front_is_the_set_no_other_point_beats_on_both(maximize, expected):
    score = [0.9, 0.8, 0.95, 0.7, np.nan, 0.9]  # the last one ties the first: both stay
    cost = [2.0, 1.0, 5.0, 1.5, 0.1, 2.0]
    assert pareto_front(score, cost, maximize).tolist() == [bool(e) for e in expected]


def test_figures_are_the_plots_by_name(report):
    figures = report.figures()
    pareto = ["pareto"] if report.objectives == PARETO else []
    assert list(figures) == [*pareto, "history", "curves", "best_of_k", "lr_score", "schedules",
                             "importances", "test_scores"]  # fmt: skip
    assert all(isinstance(f, Figure) for f in figures.values())
