"""Search spaces built from the optim declarations."""

import numpy as np
import optuna
import pytest

import optim
from tuner.space import SearchSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)


def sample(space, n=60, seed=0):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append((trial, space.suggest(trial)))
        study.tell(trial, 0.0)
    return out


def test_conditional_parameters_appear_only_with_their_parent():
    space = SearchSpace(["sgd", "momentum", "adam"], ["constant", "step", "cosine"])
    seen = set()
    for trial, kwargs in sample(space):
        opt, sched = trial.params["optimizer"], trial.params["schedule"]
        seen.add((opt, sched))
        assert ("momentum" in trial.params) == (opt == "momentum")
        assert ("beta1" in trial.params) == (opt == "adam")
        assert ("step_size" in trial.params) == (sched == "step")
        assert ("t_max" in trial.params) == (sched == "cosine")
        assert isinstance(kwargs["optimizer"], optim.optimizer_class(opt))
        assert isinstance(kwargs["schedule"], optim.schedule_class(sched))
        assert kwargs["optimizer"].lr == trial.params["lr"]
        assert 1e-5 <= trial.params["lr"] <= 1.0
    assert len(seen) == 9


def test_narrowing_fixing_and_scoped_overrides():
    space = SearchSpace(
        ["momentum", "nesterov", "adam"],
        ["cosine"],
        params={
            "lr": {"low": 1e-3, "high": 1e-2},
            "adam.lr": {"low": 1e-4, "high": 2e-4},
            "nesterov.momentum": 0.95,
            "cosine.t_max": 25,
            "beta2": [0.99, 0.999],
        },
    )
    for trial, kwargs in sample(space):
        opt = kwargs["optimizer"]
        if trial.params["optimizer"] == "adam":
            assert 1e-4 <= opt.lr <= 2e-4 and opt.beta2 in (0.99, 0.999)
        else:
            assert 1e-3 <= opt.lr <= 1e-2
        if trial.params["optimizer"] == "nesterov":
            assert opt.momentum == 0.95 and "momentum" not in trial.params
        assert kwargs["schedule"].t_max == 25 and "t_max" not in trial.params


def test_horizon_caps_integer_schedule_parameters():
    space = SearchSpace(["sgd"], ["step", "cosine"], horizon=8)
    for trial, _ in sample(space):
        for name in ("step_size", "t_max"):
            if name in trial.params:
                assert 1 <= trial.params[name] <= 8


def test_estimator_parameters_and_list_choices():
    space = SearchSpace(
        ["adam"],
        ["constant"],
        estimator_params={
            "alpha": {"low": 1e-6, "high": 1e-2, "log": True},
            "hidden_layer_sizes": [[16], [32, 16]],
            "batch_size": [32, 64],
            "max_epochs": 5,
        },
    )
    for trial, kwargs in sample(space, 20):
        assert kwargs["hidden_layer_sizes"] in ((16,), (32, 16))
        assert kwargs["batch_size"] in (32, 64) and kwargs["max_epochs"] == 5
        assert 1e-6 <= kwargs["alpha"] <= 1e-2
        assert isinstance(trial.params["hidden_layer_sizes"], str)  # stored readably
        rebuilt = space.build(trial.params)
        assert rebuilt["hidden_layer_sizes"] == kwargs["hidden_layer_sizes"]
        assert rebuilt["optimizer"] == kwargs["optimizer"]


def test_build_rebuilds_from_best_params():
    space = SearchSpace(["momentum"], ["step"], params={"gamma": 0.5})
    kwargs = space.build(
        {"optimizer": "momentum", "lr": 0.1, "momentum": 0.8, "schedule": "step", "step_size": 3}
    )
    assert kwargs["optimizer"] == optim.Momentum(lr=0.1, momentum=0.8)
    assert kwargs["schedule"] == optim.StepDecay(step_size=3, gamma=0.5)


@pytest.mark.parametrize(
    ("schedules", "expected"), [(["step", "constant"], "constant"), (["cosine", "step"], "cosine")]
)
def test_build_and_complete_fill_the_same_optimizer_and_schedule(schedules, expected):
    space = SearchSpace(["adam", "sgd"], schedules, params={"lr": 0.01})
    completed = space.complete({})
    assert (completed["optimizer"], completed["schedule"]) == ("adam", expected)
    built = space.build({})
    assert type(built["optimizer"]) is optim.Adam
    assert type(built["schedule"]) is type(optim.get_schedule(expected))


class Lion(optim.Optimizer):
    """A user optimizer with its own declared space."""

    search_space = (
        optim.Hyperparameter("lr", "float", 1e-5, 1e-3, log=True),
        optim.Hyperparameter("beta", "float", 0.8, 0.99),
    )

    def __init__(self, lr=1e-4, beta=0.9, clip_norm=None):
        self.lr, self.beta, self.clip_norm = lr, beta, clip_norm
        self._validate()

    def _kernel(self, p, g, bufs, tmp, coef):
        np.sign(g, out=tmp)
        tmp *= coef[0]
        p -= tmp


def test_user_registered_optimizer_gets_its_declared_space(monkeypatch):
    from optim import registry

    monkeypatch.setattr(registry._OPTIMIZERS, "classes", dict(registry._OPTIMIZERS.classes))
    optim.register_optimizer("lion", Lion)
    for trial, kwargs in sample(SearchSpace(["lion"], ["constant"]), 10):
        assert isinstance(kwargs["optimizer"], Lion)
        assert 0.8 <= trial.params["beta"] <= 0.99 and trial.params["lr"] <= 1e-3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizers": ["adma"]}, "unknown optimizer 'adma'"),
        ({"schedules": ["cosin"]}, "unknown schedule 'cosin'"),
        ({"params": {"betaa": 0.9}}, "'betaa' is not a parameter"),
        ({"params": {"momentm": 0.9}}, "did you mean 'momentum'"),
        ({"optimizers": ["adam"], "params": {"adam.beta_1": 0.9}}, "did you mean 'beta1'"),
        ({"optimizers": ["sgd"], "params": {"adam.lr": 0.1}}, "'adam' is not among the selected"),
        ({"optimizers": ["adam"], "params": {"adam.gamma": 0.9}}, "Adam has no parameter"),
        ({"params": {"lr": {"low": 1.0, "high": 0.1}}}, "must not exceed"),
        ({"params": {"lr": {"low": 0.0, "high": 0.1}}}, "log scale needs low > 0"),
        ({"params": {"lr": {"lo": 0.1}}}, "unknown keys"),
        ({"optimizers": ["sgd", "sgd"]}, "must not repeat"),
    ],
)
def test_invalid_spaces_are_refused_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace(**kwargs)


def test_a_range_for_a_categorical_parameter_is_refused(monkeypatch):
    from optim import registry

    class Picky(optim.SGD):
        search_space = (
            *optim.SGD.search_space,
            optim.Hyperparameter("clip_norm", "categorical", choices=(None, 1.0)),
        )

    monkeypatch.setattr(registry._OPTIMIZERS, "classes", dict(registry._OPTIMIZERS.classes))
    optim.register_optimizer("picky", Picky)
    with pytest.raises(ValueError, match="'clip_norm' is categorical: give a list of choices"):
        SearchSpace(["picky"], params={"clip_norm": {"low": 0.5, "high": 2.0}})


def test_dimensions_describe_the_whole_space():
    space = SearchSpace(["sgd", "adam"], ["constant", "cosine"], params={"cosine.t_max": 9})
    dims = {(d.scope, d.name): d for d in space.dimensions()}
    assert dims[("study", "optimizer")].spec.choices == ("sgd", "adam")
    assert dims[("optimizer:adam", "beta1")].spec.low == 0.5
    assert (
        dims[("schedule:cosine", "t_max")].fixed and dims[("schedule:cosine", "t_max")].value == 9
    )


@pytest.mark.parametrize(
    "params",
    [{"step.gamma": [0.1, 0.5]}, {"adam.lr": {"low": 1e-3, "high": 0.1, "log": False}}],
)
def test_a_scoped_override_that_changes_a_shared_names_kind_is_refused(params):
    with pytest.raises(ValueError, match="one name needs one kind in a study"):
        SearchSpace(["sgd", "adam"], ["step", "exponential"], params=params)


def test_scoped_ranges_of_one_kind_share_a_name_in_one_study():
    space = SearchSpace(["sgd", "adam"], ["step", "exponential"],
                        params={"step.gamma": {"low": 0.2, "high": 0.3}})  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        space.suggest(trial)
        study.tell(trial, 0.0)
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
    assert {t.params["schedule"] for t in study.trials} == {"step", "exponential"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [({}, 10),  # epochs
     ({"schedule_interval": "batch", "batch_size": 25}, 10 * 40),  # 1000 rows: 40 batches
     ({"schedule_interval": "batch", "batch_size": 25, "early_stopping": True,
       "validation_fraction": 0.2}, 10 * 32),  # 800 rows left for training
     ({"schedule_interval": "batch", "batch_size": "auto"}, 10 * 5)],  # batches of 200
)  # fmt: skip
def test_schedule_horizon_counts_the_schedules_steps(params, expected):
    from tuner.estimators import MLPClassifier
    from tuner.space import schedule_horizon

    assert schedule_horizon(MLPClassifier(max_epochs=10, **params), 1000) == expected


def test_a_per_batch_study_caps_schedule_lengths_in_batches(tmp_path):
    # Capped at max_epochs, a per-batch cosine ended within the first epoch.
    from tuner.runner import build_study
    from tuner.studyfile import load_study_file

    path = tmp_path / "s.toml"
    path.write_text('[study]\ncv = 2\n[data]\ndataset = "digits"\n[estimator]\n'
                    'class = "MLPClassifier"\nparams = { max_epochs = 10, batch_size = 32, '
                    'schedule_interval = "batch" }\n')  # fmt: skip
    space = build_study(load_study_file(path)).objective.space
    assert space.horizon == 10 * 23  # 1437 rows less the test split, 718 per fold: 23 batches
    cosine = {d.name: d.spec for d in space.dimensions() if d.scope == "schedule:cosine"}
    assert cosine["t_max"].high == 200  # the declared range, no longer cut to 10


def test_complete_fills_a_baseline_with_the_class_defaults():
    space = SearchSpace(["sgd", "adam"], ["constant", "step"])
    assert space.complete({"optimizer": "adam", "lr": 1e-3}) == {
        "optimizer": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "schedule": "constant"
    }  # fmt: skip
    step = space.complete({"schedule": "step"})
    assert step["optimizer"] == "sgd" and {"step_size", "gamma"} <= set(step)
    for bad, match in [({"optimizer": "nesterov"}, "not in this space"),
                       ({"optimizer": "adam", "momentum": 0.9}, "'momentum' is not a parameter"),
                       ({"lrr": 0.1}, "did you mean 'lr'")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            space.complete(bad)
