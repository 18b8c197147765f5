"""Study files: parsing, validation messages and data loading."""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuner.data import bundled_datasets, generators, load_data
from tuner.space import DEFAULT_OPTIMIZERS, DEFAULT_SCHEDULES, SearchSpace
from tuner.studyfile import (
    ComponentSpec,
    DataSpec,
    StudyFileError,
    load_study_file,
    requested_workers,
)

# Study files; suite.toml is a suite of them (tuner bench, tests/test_suite.py).
STUDIES = sorted(p for p in (Path(__file__).parents[1] / "studies").glob("*.toml")
                 if p.name != "suite.toml")  # fmt: skip


def write(
    tmp_path,
    study="",
    data='dataset = "iris"',
    estimator='class = "LogisticClassifier"',
    space="",
    name="study.toml",
):
    """A study file from the bodies of its four tables (sub-tables may follow a body)."""
    path = tmp_path / name
    path.write_text(
        f"[study]\n{study}\n[data]\n{data}\n[estimator]\n{estimator}\n[space]\n{space}\n"
    )
    return path


def load(tmp_path, **tables):
    return load_study_file(write(tmp_path, **tables))


def error(tmp_path, key, *fragments, **tables):
    """Load a bad file; check the one-line message names the file and ``key``."""
    path = write(tmp_path, **tables)
    with pytest.raises(StudyFileError) as info:
        load_data(load_study_file(path).data)  # data errors may surface on loading
    err = info.value
    assert err.key == key, str(err)
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: "), message
    for fragment in fragments:
        assert fragment in message, message


# -- shipped studies ---------------------------------------------------------------------
def test_the_shipped_studies_are_there():
    names = {p.name for p in STUDIES}
    assert {
        "quickstart.toml",
        "digits-mlp.toml",
        "diabetes-linear.toml",
        "breast-cancer-logistic.toml",
    } <= names


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_every_shipped_study_loads_and_builds_its_space_and_data(path):
    spec = load_study_file(path)
    assert spec.name == path.stem
    X, y = load_data(spec.data)
    assert X.ndim == 2 and len(X) == len(y)
    space = SearchSpace(spec.optimizers, spec.schedules, spec.params, spec.estimator_space)
    assert space.dimensions()


def test_digits_study_compares_sgd_momentum_adam_across_three_schedules():
    spec = load_study_file(next(p for p in STUDIES if p.stem == "digits-mlp"))
    assert spec.estimator == "MLPClassifier" and spec.data.name == "digits"
    assert spec.optimizers == ("sgd", "momentum", "adam")
    assert spec.schedules == ("constant", "step", "cosine")


# -- values ------------------------------------------------------------------------------
def test_defaults_of_a_minimal_file(tmp_path):
    path = tmp_path / "tiny-study.toml"
    path.write_text('[data]\ndataset = "iris"\n[estimator]\nclass = "MLPClassifier"\n')
    spec = load_study_file(path)
    assert (spec.name, spec.path, spec.description) == ("tiny-study", path, "")
    assert spec.data == DataSpec("dataset", "iris", origin=path)
    assert spec.scale is True and spec.estimator_params == {}
    assert spec.optimizers == DEFAULT_OPTIMIZERS and spec.schedules == DEFAULT_SCHEDULES
    assert spec.params == {} and spec.estimator_space == {}
    assert (spec.n_trials, spec.timeout, spec.cv, spec.holdout_fraction) == (100, None, 3, 0.2)
    assert (spec.scoring, spec.seed, spec.storage, spec.n_jobs) == (None, None, None, 1)
    assert spec.sampler == ComponentSpec("tpe")
    # Fair pruning by default: per optimizer and schedule, after a quarter of max_epochs=200.
    fair = {"n_warmup_steps": 50, "group_by": ["optimizer", "schedule"]}
    assert spec.pruner == ComponentSpec("successive_halving", fair)
    assert (spec.allocation, spec.confidence) == ("equal", 0.95)


@pytest.mark.parametrize(
    ("study", "attribute", "expected"),
    [
        ('name = "my.study_2-b"', "name", "my.study_2-b"),
        ('description = "why"', "description", "why"),
        ("n_trials = 7", "n_trials", 7),
        ("timeout = 90", "timeout", 90),
        ("timeout = 1.5", "timeout", 1.5),
        ("seed = 42", "seed", 42),
        ("n_jobs = 2", "n_jobs", 2),
        ("n_jobs = -1", "n_jobs", -1),
        ('storage = "sqlite:///s.db"', "storage", "sqlite:///s.db"),
        ('sampler = "random"', "sampler", ComponentSpec("random")),
        ('pruner = "none"', "pruner", ComponentSpec("none")),
        ('allocation = "adaptive"', "allocation", "adaptive"),
        ("confidence = 0.9", "confidence", 0.9),
        ("cv = 5", "cv", 5),
        ('cv = "holdout"', "cv", "holdout"),
        ('cv = "holdout"\nholdout_fraction = 0.3', "holdout_fraction", 0.3),
        ('scoring = "f1_macro"', "scoring", "f1_macro"),
    ],
)
def test_study_options_round_trip(tmp_path, study, attribute, expected):
    assert getattr(load(tmp_path, study=study), attribute) == expected


@pytest.mark.parametrize(
    ("study", "expected"),
    [("n_jobs = 3", 3), ("n_jobs = -1", -1), ("", None), ("n_jobs = 0", None),
     ('n_jobs = "2"', None), ("n_jobs = true", None), ("n_jobs = 2.0", None)],
)  # fmt: skip
def test_requested_workers_reads_n_jobs_alone(tmp_path, study, expected):
    assert requested_workers(write(tmp_path, study=study)) == expected


def test_requested_workers_of_an_unreadable_file_is_none(tmp_path):
    assert requested_workers(tmp_path / "missing.toml") is None
    (tmp_path / "bad.toml").write_text("[study\nn_jobs = 2")
    assert requested_workers(tmp_path / "bad.toml") is None
    (tmp_path / "list.toml").write_text("study = [1]")
    assert requested_workers(tmp_path / "list.toml") is None
    (tmp_path / "latin.toml").write_bytes(b'[study]\nname = "caf\xe9"\nn_jobs = 2\n')
    assert requested_workers(tmp_path / "latin.toml") is None


def test_sampler_and_pruner_tables_keep_their_options(tmp_path):
    spec = load(
        tmp_path,
        study='seed = 3\n[study.sampler]\nname = "tpe"\nn_startup_trials = 5\n'
        '[study.pruner]\nname = "median"\nn_warmup_steps = 2',
    )
    assert spec.sampler == ComponentSpec("tpe", {"n_startup_trials": 5})
    assert spec.sampler.as_dict() == {"name": "tpe", "n_startup_trials": 5}
    assert spec.pruner.as_dict() == {
        "name": "median", "n_warmup_steps": 2, "group_by": ["optimizer", "schedule"]
    }


@pytest.mark.parametrize(
    ("study", "space", "expected"),
    [
        ('pruner = "successive_halving"', "", ["optimizer", "schedule"]),
        ('pruner = "median"', 'schedules = ["cosine"]', ["optimizer"]),
    ],
)
def test_the_pruner_compares_trials_of_one_optimizer_after_a_warm_up(
    tmp_path, study, space, expected
):
    estimator = 'class = "LogisticClassifier"\nparams = { max_epochs = 21 }'
    spec = load(tmp_path, study=study, space=space, estimator=estimator)
    assert spec.pruner.options == {"n_warmup_steps": 5, "group_by": expected}


def test_hyperband_is_refused_since_its_brackets_mix_optimizers(tmp_path):
    with pytest.raises(StudyFileError, match=r"study\.pruner: .*hyperband.*own optimizer"):
        load(tmp_path, study='pruner = "hyperband"')


@pytest.mark.parametrize(
    ("study", "key"),
    [('allocation = "fair"', "study.allocation"), ("confidence = 1.0", "study.confidence"),
     ("confidence = 0", "study.confidence"), ('confidence = "high"', "study.confidence"),
     ('[study.pruner]\nname = "median"\nn_warmup_steps = -1', "study.pruner")],
)  # fmt: skip
def test_bad_allocation_confidence_or_warm_up_names_the_key(tmp_path, study, key):
    with pytest.raises(StudyFileError, match=rf"{key}: "):
        load(tmp_path, study=study)


def test_a_study_of_score_against_fit_time_prunes_nothing(tmp_path):
    spec = load(tmp_path, study='objectives = ["score", "fit_time"]\nsampler = "nsga2"')
    assert spec.objectives == ("score", "fit_time") and spec.pruner.name == "none"
    assert spec.sampler == ComponentSpec("nsga2")
    assert load(tmp_path, study="").objectives == ("score",)


@pytest.mark.parametrize(
    ("study", "key", "expected"),
    [('objectives = ["fit_time"]', "objectives", 'expected ["score"] or ["score", "fit_time"]'),
     ('objectives = "score"', "objectives", "expected an array"),
     ('objectives = ["score", "fit_time"]\npruner = "median"', "pruner", "cannot prune"),
     ('objectives = ["score", "fit_time"]\n[study.pruner]\nname = "successive_halving"',
      "pruner", "leave it out or set \"none\""),
     ('objectives = ["score", "fit_time"]\nsampler = "cmaes"', "sampler", "one objective")],
)  # fmt: skip
def test_bad_objectives_name_the_key(tmp_path, study, key, expected):
    error(tmp_path, f"study.{key}", expected, study=study)


@pytest.mark.parametrize("source", ["generator", "csv"])
def test_data_options_round_trip(tmp_path, source):
    data = {
        "generator": 'generator = "make_moons"\nscale = false\n[data.args]\nn_samples = 60',
        "csv": 'csv = "train.csv"\ntarget = "y"',
    }[source]
    (tmp_path / "train.csv").write_text("a,y\n1,0\n")
    spec = load(tmp_path, data=data)
    assert spec.data.kind == source and spec.data.origin == tmp_path / "study.toml"
    if source == "generator":
        assert (spec.data.name, spec.data.args, spec.scale) == (
            "make_moons",
            {"n_samples": 60},
            False,
        )
    else:
        assert (spec.data.name, spec.data.target, spec.scale) == ("train.csv", "y", True)


def test_estimator_and_space_round_trip(tmp_path):
    spec = load(
        tmp_path,
        estimator='class = "MLPRegressor"\nparams = { max_epochs = 5, batch_size = 8 }',
        space='optimizers = ["Adam", "momentum"]\nschedules = ["cosine", "step"]\n'
        "[space.params]\n"
        "lr = { low = 1e-3, high = 0.1 }\n"
        "momentum = 0.8\n"
        '"adam.beta1" = [0.8, 0.9]\n'
        '"cosine.t_max" = 5\n'
        '"step.step_size" = { high = 4 }\n'
        "[space.estimator]\n"
        "alpha = { low = 1e-6, high = 1e-2, log = true }\n"
        "hidden_layer_sizes = [[8], [16, 16]]",
    )
    assert spec.estimator == "MLPRegressor"
    assert spec.estimator_params == {"max_epochs": 5, "batch_size": 8}
    assert spec.optimizers == ("adam", "momentum")  # canonical registry names
    assert spec.schedules == ("cosine", "step")
    assert spec.params == {
        "lr": {"low": 1e-3, "high": 0.1},
        "momentum": 0.8,
        "adam.beta1": [0.8, 0.9],
        "cosine.t_max": 5,
        "step.step_size": {"high": 4},
    }
    assert spec.estimator_space == {
        "alpha": {"low": 1e-6, "high": 1e-2, "log": True},
        "hidden_layer_sizes": [[8], [16, 16]],
    }


# -- file-level errors -------------------------------------------------------------------
def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(StudyFileError, match="file not found") as info:
        load_study_file(path)
    assert str(info.value) == f"{path}: file not found" and info.value.key == ""


def test_toml_syntax_error_gives_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[study]\nn_trials = = 3\n")
    with pytest.raises(StudyFileError) as info:
        load_study_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid TOML: ") and "line 2" in message
    assert "\n" not in message


def test_error_survives_pickling_for_worker_processes():
    err = pickle.loads(pickle.dumps(StudyFileError("s.toml", "study.cv", "bad")))
    assert (err.path, err.key, err.reason, str(err)) == (
        "s.toml",
        "study.cv",
        "bad",
        "s.toml: study.cv: bad",
    )


# -- unknown keys ------------------------------------------------------------------------
def test_unknown_top_level_table_suggests(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[studdy]\n[data]\ndataset = "iris"\n')
    with pytest.raises(StudyFileError, match="did you mean 'study'") as info:
        load_study_file(path)
    assert str(info.value).startswith(f"{path}: studdy: unknown key")


@pytest.mark.parametrize(
    ("tables", "key", "suggestion"),
    [
        ({"study": "n_trails = 3"}, "study.n_trails", "n_trials"),
        ({"data": 'dataset = "iris"\nscaling = true'}, "data.scaling", "scale"),
        ({"estimator": 'class = "MLPClassifier"\nparam = {}'}, "estimator.param", "params"),
        ({"space": 'optimiser = ["adam"]'}, "space.optimiser", "optimizers"),
        (
            {"space": "[space.params]\nlr = { low = 0.1, hihg = 1.0 }"},
            "space.params.lr.hihg",
            "high",
        ),
        (
            {"study": '[study.sampler]\nname = "tpe"\nn_startup_trial = 3'},
            "study.sampler.n_startup_trial",
            "n_startup_trials",
        ),
    ],
)
def test_unknown_nested_key_names_the_dotted_key_and_suggests(tmp_path, tables, key, suggestion):
    error(tmp_path, key, "unknown key", f"did you mean {suggestion!r}", **tables)


def test_misspelt_key_is_reported_before_the_missing_one(tmp_path):
    error(tmp_path, "data.datset", "did you mean 'dataset'", data='datset = "iris"')


def test_scoped_keys_are_quoted_in_messages(tmp_path):
    error(
        tmp_path,
        'space.params."adam.lr".lo',
        "unknown key",
        space='optimizers = ["adam"]\n[space.params]\n"adam.lr" = { lo = 1e-3 }',
    )


# -- wrong types -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tables", "key", "expected"),
    [
        ({"study": 'n_trials = "10"'}, "study.n_trials", "expected an integer, got string '10'"),
        ({"study": "n_trials = true"}, "study.n_trials", "expected an integer, got boolean"),
        ({"study": "n_trials = 10.0"}, "study.n_trials", "expected an integer, got float"),
        ({"study": "timeout = true"}, "study.timeout", "expected a number"),
        ({"study": "timeout = inf"}, "study.timeout", "must be finite"),
        ({"study": "cv = 2.5"}, "study.cv", "expected an integer or a string"),
        ({"study": 'cv = "kfold"'}, "study.cv", "holdout"),
        ({"study": "sampler = 3"}, "study.sampler", "expected a string or a table"),
        ({"study": "study = 1"}, "study.study", "unknown key"),
        ({"data": 'dataset = "iris"\nscale = "yes"'}, "data.scale", "expected a boolean"),
        ({"data": "dataset = 3"}, "data.dataset", "expected a string"),
        ({"space": 'optimizers = "adam"'}, "space.optimizers", "expected an array"),
        ({"space": "optimizers = [1]"}, "space.optimizers", "name must be a string, got 1"),
        ({"space": "params = 3"}, "space.params", "expected a table"),
        (
            {"space": '[space.params]\nlr = { low = "a", high = 1 }'},
            "space.params.lr.low",
            "expected a number",
        ),
        (
            {"space": "[space.params]\nlr = { low = 0.1, high = 1, log = 1 }"},
            "space.params.lr.log",
            "expected a boolean",
        ),
        (
            {"space": "[space.estimator]\nalpha = [{ a = 1 }]"},
            "space.estimator.alpha",
            "expected values, arrays or a range",
        ),
    ],
)
def test_wrong_type(tmp_path, tables, key, expected):
    error(tmp_path, key, expected, **tables)


# -- out of range ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tables", "key", "expected"),
    [
        ({"study": "n_trials = 0"}, "study.n_trials", "must be >= 1, got 0"),
        ({"study": "timeout = 0"}, "study.timeout", "must be > 0"),
        ({"study": "n_jobs = 0"}, "study.n_jobs", "must be >= 1"),
        ({"study": "seed = -1"}, "study.seed", "must be >= 0"),
        ({"study": "cv = 1"}, "study.cv", "must be >= 2, got 1"),
        (
            {"study": 'cv = "holdout"\nholdout_fraction = 1.5'},
            "study.holdout_fraction",
            "must be in (0, 1), got 1.5",
        ),
        (
            {"study": "cv = 3\nholdout_fraction = 0.2"},
            "study.holdout_fraction",
            'only used with cv = "holdout"',
        ),
        ({"study": 'storage = " "'}, "study.storage", "must not be empty"),
        (
            {"space": "[space.params]\nlr = { low = 0.5, high = 0.1 }"},
            "space.params.lr",
            "low=0.5 must not exceed high=0.1",
        ),
        (
            {"space": "[space.params]\nlr = { low = 0.0, high = 0.1, log = true }"},
            "space.params.lr",
            "log scale needs low > 0",
        ),
        (
            {"space": "[space.params]\nlr = { low = 0.0, high = 0.1 }"},
            "space.params.lr",
            "log scale needs low > 0",
        ),  # lr is declared log-scaled
        (
            {"space": "[space.estimator]\nalpha = { low = 0, high = 1, log = true }"},
            "space.estimator.alpha",
            "log scale needs low > 0",
        ),
        (
            {"space": "[space.estimator]\nalpha = { low = 1e-3 }"},
            "space.estimator.alpha",
            "needs both low and high",
        ),
        (
            {"space": 'optimizers = ["momentum"]\n[space.params]\nmomentum = 1.5'},
            "space.params.momentum",
            "Momentum: momentum must be in [0, 1), got 1.5",
        ),
        (
            {"space": '[space.params]\n"adam.beta1" = { low = 0.5, high = 1 }'},
            'space.params."adam.beta1".high',
            "beta1 must be in [0, 1)",
        ),
        (
            {"space": 'schedules = ["cosine"]\n[space.params]\nt_max = [10, 0]'},
            "space.params.t_max",
            "t_max must be >= 1",
        ),
        (
            {"space": 'schedules = ["multistep"]\n[space.params]\nmilestones = [10, 20]'},
            "space.params.milestones",
            "write [[...]] to fix a list value",
        ),
        ({"space": "[space.params]\nlr = []"}, "space.params.lr", "must not be empty"),
    ],
)
def test_out_of_range(tmp_path, tables, key, expected):
    error(tmp_path, key, expected, **tables)


def test_a_bad_fixed_value_is_blamed_on_its_own_key(tmp_path):
    space = (
        'optimizers = ["momentum"]\n[space.params]\nlr = { low = 1e-3, high = 0.1 }\nmomentum = 2'
    )
    error(tmp_path, "space.params.momentum", "momentum must be in [0, 1), got 2", space=space)


@pytest.mark.parametrize(
    ("tables", "key", "expected"),
    [({"estimator": 'class = "LogisticClassifier"\nparams = { max_epochs = "ten" }'},
      "estimator.params.max_epochs", "must be an int in the range [1, inf). Got 'ten' instead"),
     ({"estimator": 'class = "MLPClassifier"\nparams = { max_epochs = -5 }'},
      "estimator.params.max_epochs", "Got -5 instead"),
     ({"space": "[space.estimator]\nbatch_size = { low = 8.5, high = 64 }"},
      "space.estimator.batch_size.low", "must be an int"),
     ({"space": "[space.estimator]\nbatch_size = [0, 8]"},
      "space.estimator.batch_size", "Got 0 instead")],
)  # fmt: skip
def test_estimator_values_meet_the_estimators_constraints(tmp_path, tables, key, expected):
    # Checked when the file is read: otherwise every trial would fail on them.
    error(tmp_path, key, expected, **tables)


def test_estimator_ranges_draw_the_kind_of_number_the_estimator_takes(tmp_path):
    import optuna

    spec = load(tmp_path, space="[space.estimator]\nbatch_size = { low = 8, high = 64 }\n"
                                "alpha = { low = 0, high = 1 }")  # fmt: skip
    assert spec.estimator_space["alpha"] == {"low": 0.0, "high": 1.0}
    trial = optuna.create_study().ask()
    SearchSpace(["sgd"], ["constant"], estimator_params=spec.estimator_space).suggest(trial)
    assert isinstance(trial.distributions["batch_size"], optuna.distributions.IntDistribution)
    assert isinstance(trial.params["batch_size"], int)
    assert isinstance(trial.distributions["alpha"], optuna.distributions.FloatDistribution)


def test_a_scoped_override_must_not_change_a_shared_names_kind(tmp_path):
    # Optuna keeps one distribution kind per name in a study: the other class's trials
    # would all fail.
    space = 'schedules = ["step", "exponential"]\n[space.params]\n"step.gamma" = [0.1, 0.5]'
    expected = (
        "'gamma' is searched as choices [0.1, 0.5] for schedule:step "
        "but as a linear float range for schedule:exponential"
    )
    error(tmp_path, 'space.params."step.gamma"', expected, space=space)


def test_a_scoped_choice_may_share_a_name_that_the_other_classes_fix(tmp_path):
    # Each key is checked with the other keys set: "lr" fixes sgd's rate, so adam's
    # choices clash with no range.
    space = 'optimizers = ["sgd", "adam"]\n[space.params]\nlr = 0.1\n"adam.lr" = [0.01, 0.1]'
    assert load(tmp_path, space=space).params == {"lr": 0.1, "adam.lr": [0.01, 0.1]}


def test_ranges_clashing_across_keys_are_blamed_on_the_table(tmp_path):
    space = (
        'optimizers = ["sgd", "adam"]\n[space.params]\n'
        'lr = { low = 1e-3, high = 0.1 }\n"adam.lr" = [0.01, 0.1]'
    )
    error(tmp_path, "space.params", "one name needs one kind", space=space)


def test_a_required_argument_may_be_searched(tmp_path, monkeypatch):
    import optim
    from optim import registry

    monkeypatch.setattr(registry._OPTIMIZERS, "classes", dict(registry._OPTIMIZERS.classes))

    class Needy(optim.SGD):
        def __init__(self, k, lr=0.01, weight_decay=0.0, clip_norm=None):
            super().__init__(lr=lr, weight_decay=weight_decay, clip_norm=clip_norm)
            self.k = k
            if k < 1:
                raise ValueError(f"Needy: k must be >= 1, got {k}")

    optim.register_optimizer("needy", Needy)
    space = 'optimizers = ["needy"]\n[space.params]\n"needy.k" = [1, 2]\nlr = 0.1'
    assert load(tmp_path, space=space).params["needy.k"] == [1, 2]
    space = 'optimizers = ["needy"]\n[space.params]\n"needy.k" = [1, 0]'
    error(tmp_path, 'space.params."needy.k"', "k must be >= 1, got 0", space=space)
    error(tmp_path, "space.optimizers", "'needy' needs k", space='optimizers = ["needy"]')


def test_the_data_module_and_the_file_reader_import_apart():
    # tuner.data raises StudyFileError (from tuner.errors) and is imported by the reader,
    # never the other way round; neither imports scikit-learn until it is used.
    code = (
        "import sys, tuner.data; assert 'tuner.studyfile' not in sys.modules\n"
        "import tuner.studyfile; assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_seed_beyond_numpy_range(tmp_path):
    error(tmp_path, "study.seed", "must be < 2**32", study="seed = 4294967296")


def test_a_directory_is_not_a_study_file(tmp_path):
    with pytest.raises(StudyFileError, match="is a directory"):
        load_study_file(tmp_path)


def test_spec_pickles_for_worker_processes(tmp_path):
    spec = load(tmp_path, space="[space.estimator]\nalpha = [0.1, 0.2]")
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_a_list_value_is_fixed_by_a_single_choice(tmp_path):
    spec = load(tmp_path, space='schedules = ["multistep"]\n[space.params]\nmilestones = [[5, 9]]')
    assert spec.params == {"milestones": [[5, 9]]}


# -- names -------------------------------------------------------------------------------
def test_unknown_optimizer_lists_the_available_ones(tmp_path):
    error(
        tmp_path,
        "space.optimizers",
        "unknown optimizer 'adamm'",
        "did you mean 'adam'",
        "available: adagrad, adam, adamw",
        space='optimizers = ["sgd", "adamm"]',
    )


def test_unknown_schedule_lists_the_available_ones(tmp_path):
    error(
        tmp_path,
        "space.schedules",
        "unknown schedule 'cosin'",
        "constant, cosine",
        space='schedules = ["cosin"]',
    )


def test_repeated_or_no_optimizers(tmp_path):
    error(tmp_path, "space.optimizers", "must not repeat", space='optimizers = ["adam", "Adam"]')
    error(tmp_path, "space.schedules", "at least one schedule", space="schedules = []")


@pytest.mark.parametrize(
    ("params", "key", "expected"),
    [
        (
            "beta1 = 0.9",
            "space.params.beta1",
            "'beta1' is not a parameter of the selected optimizers or schedules",
        ),
        ("momentm = 0.9", "space.params.momentm", "did you mean 'momentum'"),
        ('"adam.lr" = 0.1', 'space.params."adam.lr"', "'adam' is not among the selected"),
        (
            '"momentum.beta1" = 0.9',
            'space.params."momentum.beta1"',
            "Momentum has no parameter 'beta1'",
        ),
    ],
)
def test_unknown_parameter_for_the_selected_classes(tmp_path, params, key, expected):
    space = f'optimizers = ["sgd", "momentum"]\n[space.params]\n{params}'
    error(tmp_path, key, expected, space=space)


@pytest.mark.parametrize("params", ["", '\n[space.params]\n"sequence.boundaries" = [[10]]'])
def test_a_schedule_with_required_arguments_must_have_them_fixed(tmp_path, params):
    error(
        tmp_path,
        "space.schedules",
        "'sequence' needs",
        "schedules, which have no default",
        space=f'schedules = ["sequence"]{params}',
    )


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ""])
def test_bad_study_name(tmp_path, name):
    error(tmp_path, "study.name", "not allowed", study=f'name = "{name}"')


def test_unsafe_file_name_asks_for_a_study_name(tmp_path):
    error(tmp_path, "study.name", "taken from the file name", name="my study.toml")


@pytest.mark.parametrize(
    ("tables", "key", "expected"),
    [
        (
            {"estimator": 'class = "MLPClassifer"'},
            "estimator.class",
            "did you mean 'MLPClassifier'",
        ),
        ({"estimator": ""}, "estimator.class", "required key is missing"),
        (
            {"estimator": 'class = "MLPClassifier"\nparams = { optimizer = "adam" }'},
            "estimator.params.optimizer",
            "use space.optimizers",
        ),
        (
            {
                "estimator": 'class = "MLPClassifier"\nparams = { alpha = 0.1 }',
                "space": "[space.estimator]\nalpha = [0.1, 0.2]",
            },
            "space.estimator.alpha",
            "also fixed in estimator.params",
        ),
        (
            {"space": '[space.estimator]\nschedule = ["cosine"]'},
            "space.estimator.schedule",
            "use space.schedules",
        ),
        (
            {"estimator": 'class = "MLPClassifier"\nparams = { max_epoch = 3 }'},
            "estimator.params.max_epoch",
            "did you mean 'max_epochs'",
        ),
        (
            {"space": "[space.estimator]\nhidden_layer_sizes = [[8]]"},
            "space.estimator.hidden_layer_sizes",
            "unknown key",  # LogisticClassifier has no hidden layers
        ),
        ({"study": 'scoring = "acuracy"'}, "study.scoring", "did you mean 'accuracy'"),
        ({"study": 'sampler = "tpes"'}, "study.sampler", "unknown sampler 'tpes'"),
        (
            {"study": '[study.pruner]\nname = "medain"'},
            "study.pruner.name",
            "did you mean 'median'",
        ),
        ({"study": "[study.sampler]\nn_startup_trials = 3"}, "study.sampler.name", "missing"),
        (
            {"study": '[study.sampler]\nname = "tpe"\nseed = 3'},
            "study.sampler.seed",
            "unknown key",
        ),  # the seed comes from study.seed
    ],
)
def test_unknown_names(tmp_path, tables, key, expected):
    error(tmp_path, key, expected, **tables)


# -- data --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        ('dataset = "digitz"', "data.dataset", "did you mean 'digits'"),
        ('dataset = "california_housing"', "data.dataset", "need the network"),
        ('generator = "make_moon"', "data.generator", "did you mean 'make_moons'"),
        (
            'generator = "make_moons"\n[data.args]\nn_sample = 10',
            "data.args.n_sample",
            "make_moons has no argument 'n_sample'",
        ),
        ('generator = "make_moons"\n[data.args]\nn_samples = -5', "data.args", "rejected"),
        ('generator = "make_low_rank_matrix"', "data.generator", "does not return a dataset"),
        ('dataset = "iris"\ngenerator = "make_moons"', "data", "exactly one of"),
        ("scale = true", "data", "exactly one of"),
        ('dataset = "iris"\ntarget = "y"', "data.target", "only used with csv"),
        ('dataset = "iris"\n[data.args]\nn = 1', "data.args", "only used with generator"),
        ('csv = "train.csv"', "data.target", "required key is missing"),
        ('csv = "nope.csv"\ntarget = "y"', "data.csv", "file not found"),
        ('csv = "train.csv"\ntarget = "label"', "data.target", "no column 'label'"),
        ('csv = "text.csv"\ntarget = "y"', "data.csv", "non-numeric feature columns ['city']"),
        ('csv = "holes.csv"\ntarget = "y"', "data.csv", "missing values in columns ['a']"),
        ('csv = "only.csv"\ntarget = "y"', "data.csv", "no feature column"),
        ('csv = "empty.csv"\ntarget = "y"', "data.csv", "cannot read"),
        ('csv = "header.csv"\ntarget = "y"', "data.csv", "header.csv has no rows"),
        ('csv = "inf.csv"\ntarget = "y"', "data.csv", "infinite values in columns ['b']"),
    ],
)
def test_bad_data(tmp_path, data, key, expected):
    (tmp_path / "train.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    (tmp_path / "text.csv").write_text("a,city,y\n1,Paris,0\n")
    (tmp_path / "holes.csv").write_text("a,b,y\n,2,0\n3,4,1\n")
    (tmp_path / "only.csv").write_text("y\n0\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    (tmp_path / "inf.csv").write_text("a,b,y\n1,inf,0\n3,-inf,1\n")
    error(tmp_path, key, expected, data=data)


def test_a_missing_data_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[estimator]\nclass = "MLPClassifier"\n')
    with pytest.raises(StudyFileError, match="required table is missing") as info:
        load_study_file(path)
    assert info.value.key == "data"


@pytest.mark.parametrize("name", ["iris", "digits", "diabetes", "breast_cancer", "wine"])
def test_bundled_datasets_load(name):
    assert name in bundled_datasets()
    X, y = load_data(DataSpec("dataset", name))
    assert X.dtype == np.float64 and X.ndim == 2 and len(X) == len(y)


def test_generator_data_is_the_same_in_every_process():
    spec = DataSpec("generator", "make_classification", {"n_samples": 50, "n_features": 4})
    (X1, y1), (X2, y2) = load_data(spec), load_data(spec)
    assert X1.shape == (50, 4) and y1.shape == (50,)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert "make_regression" in generators()


def test_csv_path_is_relative_to_the_study_file(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b,label\n1,2.5,cat\n3,4.5,dog\n5,6.5,cat\n")
    monkeypatch.chdir("/")
    spec = load(tmp_path, data='csv = "data/train.csv"\ntarget = "label"')
    X, y = load_data(spec.data)
    np.testing.assert_array_equal(X, [[1, 2.5], [3, 4.5], [5, 6.5]])
    assert X.dtype == np.float64 and list(y) == ["cat", "dog", "cat"]


def test_csv_base_dir_can_be_given(tmp_path):
    (tmp_path / "t.csv").write_text("a,y\n1,0\n2,1\n")
    X, y = load_data(DataSpec("csv", "t.csv", target="y"), base_dir=tmp_path)
    assert X.shape == (2, 1) and list(y) == [0, 1]


BASELINE = '[[study.baseline]]\noptimizer = "adam"\nlr = 0.001\n'


def test_baselines_are_read_and_checked_against_the_space(tmp_path):
    spec = load(tmp_path, study=BASELINE + BASELINE.replace("0.001", "0.01"),
                space='optimizers = ["sgd", "adam"]')  # fmt: skip
    assert spec.baselines == ({"optimizer": "adam", "lr": 0.001}, {"optimizer": "adam", "lr": 0.01})
    assert load(tmp_path).baselines == ()
    error(tmp_path, "study.baseline[0]", "'nesterov'", "not in this space",
          study='[[study.baseline]]\noptimizer = "nesterov"', space='optimizers = ["sgd"]')
    error(tmp_path, "study.baseline[1]", "'beta1' is not a parameter of 'sgd'",
          study=BASELINE + '[[study.baseline]]\noptimizer = "sgd"\nbeta1 = 0.5',
          space='optimizers = ["sgd", "adam"]')  # fmt: skip
    error(tmp_path, "study.baseline", "expected an array", study='baseline = "adam"')


@pytest.mark.parametrize(
    ("values", "expected"),
    [("lr = nan", "lr must be finite"), ("lr = -1.0", "lr must be in (0, inf]"),
     ('lr = "x"', "lr must be a real number"), ("lr = true", "lr must be a real number"),
     ("beta1 = 1.5", "beta1 must be in [0, 1)"),
     ("alpha = -1.0", "'alpha' parameter of LogisticClassifier must be")],
)  # fmt: skip
def test_a_baseline_value_its_class_refuses_names_the_baseline(tmp_path, values, expected):
    # Run, the baseline would fail as a trial and spend one of the budget.
    error(tmp_path, "study.baseline[0]", expected,
          study=f'[[study.baseline]]\noptimizer = "adam"\n{values}',
          space='[space.estimator]\nalpha = { low = 1e-6, high = 1e-2, log = true }')  # fmt: skip
