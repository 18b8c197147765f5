"""Names for optimizers and schedules, and user registration."""

from importlib.metadata import EntryPoint

import numpy as np
import pytest

import optim
from optim import registry
from optim.testing import check_optimizer


class SignSGD(optim.Optimizer):
    """theta <- theta - lr * sign(g): a user's optimizer."""

    search_space = (optim.Hyperparameter("lr", "float", 1e-4, 1e-1, log=True),)

    def __init__(self, lr=0.01, clip_norm=None):
        self.lr = lr
        self.clip_norm = clip_norm
        self._validate()

    def _kernel(self, p, g, bufs, tmp, coef):
        np.sign(g, out=tmp)
        tmp *= coef[0]
        p -= tmp


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry._OPTIMIZERS, "classes", dict(registry._OPTIMIZERS.classes))
    monkeypatch.setattr(registry._SCHEDULES, "classes", dict(registry._SCHEDULES.classes))


def test_builtin_names():
    assert optim.available_optimizers() == [
        "adagrad",
        "adam",
        "adamw",
        "momentum",
        "nesterov",
        "rmsprop",
        "sgd",
    ]
    assert {"constant", "step", "cosine"} <= set(optim.available_schedules())
    assert isinstance(optim.get("adam"), optim.Adam)
    assert optim.get("Adam", lr=0.3) == optim.Adam(lr=0.3)
    assert optim.get_schedule("cosine", t_max=5) == optim.CosineAnnealing(t_max=5)
    assert optim.name_of(optim.Nesterov()) == "nesterov"
    assert optim.name_of(optim.StepDecay) == "step"


def test_unknown_name_lists_choices_and_suggests():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adma'.*did you mean 'adam'"):
        optim.get("adma")
    with pytest.raises(ValueError, match=r"unknown schedule 'cosin'.*available:"):
        optim.get_schedule("cosin")


def test_instances_pass_through():
    opt = optim.SGD(lr=0.2)
    assert optim.get(opt) is opt
    with pytest.raises(TypeError):
        optim.get(opt, lr=0.1)


def test_user_optimizer_registers_and_keeps_the_contract(clean_registry):
    optim.register_optimizer("signsgd", SignSGD)
    assert "signsgd" in optim.available_optimizers()
    opt = optim.get("signsgd", lr=0.1)
    assert optim.name_of(opt) == "signsgd"
    check_optimizer(opt)
    p = np.array([1.0, -2.0])
    opt.step(p, np.array([5.0, -0.1]), opt.init(p))
    np.testing.assert_allclose(p, [0.9, -1.9])


def test_register_as_decorator_and_conflicts(clean_registry):
    @optim.register_optimizer("sign")
    class Sign(SignSGD):
        pass

    assert optim.optimizer_class("sign") is Sign
    with pytest.raises(ValueError, match="taken by Adam"):
        optim.register_optimizer("adam", SignSGD)
    optim.register_optimizer("adam", SignSGD, overwrite=True)
    assert optim.optimizer_class("adam") is SignSGD
    with pytest.raises(TypeError, match=r"subclass of optim\.Optimizer"):
        optim.register_optimizer("bad", dict)
    with pytest.raises(TypeError, match=r"subclass of optim\.Schedule"):
        optim.register_schedule("bad", SignSGD)


def test_entry_points_are_loaded_and_broken_ones_warn(clean_registry, monkeypatch):
    eps = {
        "optim.optimizers": [
            EntryPoint("plain", "optim.sgd:SGD", "optim.optimizers"),
            EntryPoint("broken", "no_such_module_xyz:Thing", "optim.optimizers"),
        ],
    }
    monkeypatch.setattr(registry, "entry_points", lambda group: eps.get(group, []))
    monkeypatch.setattr(registry._OPTIMIZERS, "_entry_points_loaded", False)
    with pytest.warns(RuntimeWarning, match="skipping optimizer entry point 'broken'"):
        names = optim.available_optimizers()
    assert "plain" in names and "broken" not in names
    assert optim.optimizer_class("plain") is optim.SGD


def test_a_name_whose_class_needs_arguments_says_which():
    with pytest.raises(TypeError, match=r"schedule 'sequence' \(Sequence\) needs schedules, "):
        optim.get_schedule("sequence")
    assert optim.get_schedule("sequence", schedules=[optim.Constant()], boundaries=[]) == (
        optim.Sequence([optim.Constant()], [])
    )
