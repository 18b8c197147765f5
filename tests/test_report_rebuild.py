"""The best trial's script on the page: it reruns the trial of a real study and gets its score.

Small real studies are run from study files (a bundled dataset, a generator, a
CSV file; k folds or a holdout; scaled or not; with and without a test split),
then the page's code is run: its cross-validation mean must be the trial's
recorded score, and its model the saved best model.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import textwrap
from pathlib import Path

import joblib
import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from tuner.cli import main
from tuner.report import Report
from tuner.report.rebuild import study_code
from tuner.runner import build_study
from tuner.space import SearchSpace
from tuner.study.storage import default_storage, open_storage
from tuner.studyfile import load_study_file

# Each study: 6 trials of 5 epochs at most, one worker.
STUDIES = {
    "iris-mlp": """
        [study]
        name = "iris-mlp"
        n_trials = 6
        seed = 3
        pruner = "none"
        cv = 3
        scoring = "accuracy"

        [data]
        dataset = "iris"

        [estimator]
        class = "MLPClassifier"
        params = { max_epochs = 5, batch_size = 16, random_state = 0 }

        [space]
        optimizers = ["sgd", "adam"]
        schedules = ["constant", "cosine"]

        [space.params]
        "cosine.t_max" = 5

        [space.estimator]
        hidden_layer_sizes = [[4], [6, 4]]

        [evaluate]
        test_fraction = 0.25
        seeds = 2
    """,
    "regression-holdout": """
        [study]
        name = "regression-holdout"
        n_trials = 6
        seed = 0
        pruner = "none"
        cv = "holdout"
        holdout_fraction = 0.3
        scoring = "neg_mean_squared_error"

        [data]
        generator = "make_regression"
        args = { n_samples = 120, n_features = 5, noise = 10.0 }
        scale = false

        [estimator]
        class = "LinearRegressor"
        params = { max_epochs = 5, batch_size = 16, random_state = 1 }

        [space]
        optimizers = ["sgd", "momentum"]
        schedules = ["constant"]

        [space.params]
        lr = { low = 1e-3, high = 0.05, log = true }

        [space.estimator]
        alpha = { low = 1e-6, high = 1e-2, log = true }

        [evaluate]
        test_fraction = 0
    """,
    "csv-logistic": """
        [study]
        name = "csv-logistic"
        n_trials = 6
        pruner = "none"
        cv = 2

        [data]
        csv = "data/points.csv"
        target = "label"

        [estimator]
        class = "LogisticClassifier"
        params = { max_epochs = 5, random_state = 0 }

        [space]
        optimizers = ["sgd", "adam"]
        schedules = ["constant", "step"]

        [space.estimator]
        batch_size = [8, 16]

        [evaluate]
        seeds = 2
    """,
}


def _write_csv(folder: Path) -> None:
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               random_state=0)  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]).assign(label=y)
    (folder / "data").mkdir()
    frame.to_csv(folder / "data" / "points.csv", index=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Each study run once with ``tuner run``: name -> (study file, reports folder)."""
    root = tmp_path_factory.mktemp("studies")
    _write_csv(root)
    out = root / "reports"
    done = {}
    for name, text in STUDIES.items():
        path = root / f"{name}.toml"
        path.write_text(textwrap.dedent(text))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
        done[name] = (path, out)
    return done


def _page_code(folder: Path) -> str:
    page = (folder / "index.html").read_text()
    (code,) = re.findall(r"<pre><code>(.*?)</code></pre>", page, flags=re.DOTALL)
    return html.unescape(code)


def _run(code: str) -> tuple[dict, str]:
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<page>", "exec"), namespace)
    return namespace, printed.getvalue()


@pytest.mark.parametrize("name", list(STUDIES))
def test_the_pages_script_reruns_the_best_trial_and_gets_its_score(runs, name):
    path, out = runs[name]
    folder = out / name
    stored = Report.from_storage(default_storage(name, out), name)
    code = _page_code(folder)
    assert code == stored.best.code  # the page of `tuner run` and a report of the storage
    namespace, printed = _run(code)
    assert namespace["scores"].mean() == pytest.approx(stored.best.value, rel=0, abs=1e-9)
    assert f"cross-validation score: {namespace['scores'].mean():.6g}" in printed
    assert f"  # the study recorded {stored.best.value!r}\n" in code
    assert code.startswith(f'"""Trial #{stored.best.number} of study {name!r}, as the study ran')
    spec = load_study_file(path)
    if spec.test_fraction:
        # The script's model is the saved best model: same split, same fit, same predictions.
        saved = joblib.load(folder / "best_model.joblib")
        X_test = namespace["X_test"]
        np.testing.assert_array_equal(namespace["model"].predict(X_test), saved.predict(X_test))
        assert f"test score: {namespace['test_score']:.6g}" in printed
    else:
        assert "X_train, y_train = X, y  # the study held out no test split" in code
        assert "test_score" not in namespace and "X_test" not in code


def test_the_scripts_write_what_each_study_did(runs):
    iris = Report.from_storage(default_storage("iris-mlp", runs["iris-mlp"][1]), "iris-mlp")
    code = iris.best.code
    assert "X, y = load_iris(return_X_y=True)" in code
    assert "train_test_split(\n    X, y, test_size=0.25, random_state=3, stratify=y\n)" in code
    assert "model = make_pipeline(\n    StandardScaler(),\n    MLPClassifier(" in code
    assert "cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=3)" in code
    assert "hidden_layer_sizes=(" in code and "max_epochs=5" in code
    if iris.best.params["schedule"] == "cosine":
        assert "t_max=5" in code  # fixed by the space: not in the trial's parameters
    regression = Report.from_storage(
        default_storage("regression-holdout", runs["regression-holdout"][1]), "regression-holdout"
    )
    code = regression.best.code
    assert "make_regression(n_samples=120, n_features=5, noise=10.0, random_state=0)" in code
    assert "model = LinearRegressor(" in code and "StandardScaler" not in code
    assert "train_test_split(np.arange(len(y_train)), test_size=0.3, random_state=0)" in code
    assert "stratify" not in code
    assert "scores = cross_val_score(\n    model, X_train, y_train, cv=cv, scoring=" in code
    assert "cv = [(np.sort(train), np.sort(val))]" in code
    assert 'scoring="neg_mean_squared_error"' in code
    path, out = runs["csv-logistic"]
    code = Report.from_storage(default_storage("csv-logistic", out), "csv-logistic").best.code
    csv = path.parent.resolve() / "data" / "points.csv"
    assert f'frame = pd.read_csv("{csv}")' in code
    assert "cross_val_score(model, X_train, y_train, cv=cv)\n" in code  # the estimator's score
    assert "model.score(X_test, y_test)" in code


def test_tuner_report_writes_the_page_tuner_run_wrote(runs):
    _, out = runs["iris-mlp"]
    written = (out / "iris-mlp" / "index.html").read_bytes()
    final = (out / "iris-mlp" / "final.csv").read_bytes()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["report", "iris-mlp", "--out", str(out)]) == 0
    assert (out / "iris-mlp" / "index.html").read_bytes() == written
    assert (out / "iris-mlp" / "final.csv").read_bytes() == final
    assert len(pd.read_csv(out / "iris-mlp" / "final.csv")) == 2 * 2  # optimizers x seeds


def test_a_given_spec_and_the_recorded_one_give_the_same_report(runs):
    path, out = runs["iris-mlp"]
    study = optuna.load_study(study_name="iris-mlp",
                              storage=open_storage(default_storage("iris-mlp", out)))  # fmt: skip
    spec = load_study_file(path)
    given = Report.from_study(study, spec=spec, space=build_study(spec).objective.space)
    recorded = Report.from_study(study)
    assert recorded.spec == given.spec and recorded.spec.name == "iris-mlp"
    assert given.best.code == recorded.best.code
    assert given.verdict.to_dict() == recorded.verdict.to_dict()
    pd.testing.assert_frame_equal(given.final, recorded.final)


def test_without_a_fixed_random_state_the_script_says_its_scores_vary(runs):
    path, _ = runs["csv-logistic"]
    spec = load_study_file(path)
    spec = type(spec)(**{**spec.__dict__, "estimator_params": {"max_epochs": 5}})
    space = SearchSpace(spec.optimizers, spec.schedules, estimator_params=spec.estimator_space)
    params = {"optimizer": "sgd", "lr": 0.1, "schedule": "constant", "batch_size": 8}
    code = study_code(params, spec, space, 4, 0.5)
    assert "# The study fixed no random_state" in code
    assert "    LogisticClassifier(\n        max_epochs=5,\n        optimizer=optim.SGD(" in code
