"""Each optimizer against an independent reference written from its formula."""

from __future__ import annotations

import math
import pickle
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optim
from optim.registry import BUILTIN_OPTIMIZERS
from optim.testing import check_optimizer

SHAPES = [(13, 7), (7,), (2, 3, 4), (), (5_000,)]
N_STEPS = 25


# -- references: textbook formulas, one array at a time, new arrays each step ----------
def ref_sgd(p, g, s, lr, t, wd=0.0):
    return p - lr * (g + wd * p)


def ref_momentum(p, g, s, lr, t, gamma=0.9, wd=0.0):
    g = g + wd * p
    s["v"] = gamma * s.get("v", 0.0) + lr * g
    return p - s["v"]


def ref_nesterov(p, g, s, lr, t, gamma=0.9, wd=0.0):
    g = g + wd * p
    s["v"] = gamma * s.get("v", 0.0) + lr * g
    return p - (gamma * s["v"] + lr * g)


def ref_adam(p, g, s, lr, t, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, amsgrad=False, decoupled=0.0):
    p = p * (1 - lr * decoupled)
    g = g + wd * p if not decoupled else g
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    v = s["v"]
    if amsgrad:
        s["vmax"] = v = np.maximum(s.get("vmax", 0.0), v)
    m_hat = s["m"] / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_rmsprop(p, g, s, lr, t, rho=0.9, eps=1e-8, wd=0.0):
    g = g + wd * p
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
    return p - lr * g / (np.sqrt(s["v"]) + eps)


def ref_adagrad(p, g, s, lr, t, eps=1e-10, wd=0.0):
    g = g + wd * p
    s["G"] = s.get("G", 0.0) + g**2
    return p - lr * g / (np.sqrt(s["G"]) + eps)


CASES = {
    "sgd": (optim.SGD(lr=0.1), ref_sgd, {}),
    "sgd-wd": (optim.SGD(lr=0.1, weight_decay=0.01), ref_sgd, {"wd": 0.01}),
    "momentum": (optim.Momentum(lr=0.05, momentum=0.8), ref_momentum, {"gamma": 0.8}),
    "momentum-wd": (
        optim.Momentum(lr=0.05, momentum=0.8, weight_decay=0.1),
        ref_momentum,
        {"gamma": 0.8, "wd": 0.1},
    ),
    "nesterov": (optim.Nesterov(lr=0.05, momentum=0.7), ref_nesterov, {"gamma": 0.7}),
    "adam": (optim.Adam(lr=0.01, beta1=0.8, beta2=0.99), ref_adam, {"b1": 0.8, "b2": 0.99}),
    "adam-wd": (optim.Adam(lr=0.01, weight_decay=0.05), ref_adam, {"wd": 0.05}),
    "amsgrad": (optim.Adam(lr=0.01, amsgrad=True), ref_adam, {"amsgrad": True}),
    "adamw": (optim.AdamW(lr=0.01, weight_decay=0.1), ref_adam, {"decoupled": 0.1}),
    "adamw-amsgrad": (
        optim.AdamW(lr=0.01, weight_decay=0.1, amsgrad=True, eps=1e-6),
        ref_adam,
        {"decoupled": 0.1, "amsgrad": True, "eps": 1e-6},
    ),
    "rmsprop": (
        optim.RMSProp(lr=0.01, rho=0.95, weight_decay=0.01),
        ref_rmsprop,
        {"rho": 0.95, "wd": 0.01},
    ),
    "adagrad": (optim.AdaGrad(lr=0.1, eps=1e-7), ref_adagrad, {"eps": 1e-7}),
}


def run_reference(ref, kwargs, params, grads, rates):
    params = [p.astype(np.float64) for p in params]
    states = [{} for _ in params]
    for t, (gs, lr) in enumerate(zip(grads, rates), start=1):
        params = [
            ref(p, g.astype(np.float64), s, lr, t, **kwargs) for p, g, s in zip(params, gs, states)
        ]
    return params


def random_problem(rng, dtype):
    params = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    grads = [
        [rng.normal(scale=rng.uniform(0.1, 3.0), size=s).astype(dtype) for s in SHAPES]
        for _ in range(N_STEPS)
    ]
    return params, grads


@pytest.mark.parametrize("block", [None, 1000], ids=["one-block", "many-blocks"])
@pytest.mark.parametrize("container", ["flat", "list"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_formula_in_float64(case, container, block, monkeypatch):
    if block is not None:  # exercise the blocked update of long vectors
        monkeypatch.setattr(optim._base, "BLOCK", block)
    opt, ref, kwargs = CASES[case]
    rng = np.random.default_rng(12345)
    params, grads = random_problem(rng, np.float64)
    rates = opt.lr * rng.uniform(0.1, 1.0, size=N_STEPS)  # a rate that changes every step
    expected = run_reference(ref, kwargs, params, grads, rates)
    if container == "flat":
        p = optim.FlatBuffer.from_arrays(params)
        grads = [optim.FlatBuffer.from_arrays(g) for g in grads]
    else:
        p = [a.copy() for a in params]
    state = opt.init(p)
    for g, lr in zip(grads, rates):
        assert opt.step(p, g, state, lr=lr)
    assert state.t == N_STEPS
    for got, want in zip(p, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_stays_float32_and_tracks_the_formula(case):
    opt, ref, kwargs = CASES[case]
    rng = np.random.default_rng(7)
    params, grads = random_problem(rng, np.float32)
    rates = np.full(N_STEPS, opt.lr)
    expected = run_reference(ref, kwargs, params, grads, rates)
    p = optim.FlatBuffer.from_arrays(params)
    state = opt.init(p)
    for g in grads:
        opt.step(p, optim.FlatBuffer.from_arrays(g), state)
    assert p.dtype == np.float32
    assert all(b.dtype == np.float32 for b in state.buffers.values())
    for got, want in zip(p, expected):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4)


def test_default_lr_is_used_when_step_gets_none():
    opt = optim.SGD(lr=0.5)
    p = np.ones(3)
    opt.step(p, np.ones(3), opt.init(p))
    np.testing.assert_array_equal(p, np.full(3, 0.5))


def test_momentum_keeps_lr_inside_velocity():
    # After a rate change, our velocity still carries the old rate; PyTorch's
    # form (b <- gamma*b + g; theta -= lr*b) rescales all of it at once.
    opt = optim.Momentum(lr=1.0, momentum=0.5)
    p = np.zeros(1)
    state = opt.init(p)
    opt.step(p, np.ones(1), state, lr=1.0)  # v = 1
    opt.step(p, np.ones(1), state, lr=0.1)  # v = 0.5*1 + 0.1*1 = 0.6
    np.testing.assert_allclose(state.buffers["velocity"].vector, [0.6])
    np.testing.assert_allclose(p, [-1.6])
    torch_form = -(1.0 * 1.0 + 0.1 * (0.5 * 1.0 + 1.0))  # = -1.15
    assert not np.isclose(p[0], torch_form)


@pytest.mark.parametrize("beta2", [0.999, 0.99999])
@pytest.mark.parametrize(
    "opt", [optim.Adam, optim.AdamW, lambda **kw: optim.Adam(amsgrad=True, **kw)],
    ids=["adam", "adamw", "amsgrad"],
)  # fmt: skip
def test_float32_adam_state_overflows_no_sooner_than_the_textbook_moments(opt, beta2):
    # g**2 = 1e38 is a float32 and so is the textbook v, an average of g**2; the sum
    # v / (1 - beta2) of the same squares overflows within four steps.
    opt = opt(lr=0.01, beta2=beta2)
    g = np.full(3, 1e19, dtype=np.float32)
    p = np.zeros(3, dtype=np.float32)
    state, ref, expected = opt.init(p), {}, np.zeros(3)
    decoupled = getattr(opt, "weight_decay", 0.0) if isinstance(opt, optim.AdamW) else 0.0
    for t in range(1, 31):
        before = p.copy()
        assert opt.step(p, g, state)
        assert np.all(p != before), f"the parameters stopped moving at step {t}"
        expected = ref_adam(expected, g.astype(np.float64), ref, 0.01, t, b2=beta2,
                            amsgrad=opt.amsgrad, decoupled=decoupled)  # fmt: skip
    assert all(np.isfinite(buf.vector).all() for buf in state.buffers.values())
    np.testing.assert_allclose(p, expected, rtol=1e-5)


def test_float32_rmsprop_state_overflows_no_sooner_than_the_textbook_v():
    # (1 - rho) * g**2 = 2.5e37 is a float32, g**2 = 2.5e39 is not.
    opt = optim.RMSProp(lr=0.01, rho=0.99)
    p = np.zeros(3, dtype=np.float32)
    state, ref, expected = opt.init(p), {}, np.zeros(3)
    for t, scale in enumerate([5e19, 5e19, 1e19], start=1):
        g = np.full(3, scale, dtype=np.float32)
        before = p.copy()
        assert opt.step(p, g, state)
        assert np.all(p != before), f"the parameters stopped moving at step {t}"
        expected = ref_rmsprop(expected, g.astype(np.float64), ref, 0.01, t, rho=0.99)
    assert np.isfinite(state.buffers["v"].vector).all()
    np.testing.assert_allclose(p, expected, rtol=1e-5)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_state_holds_the_textbook_v_and_the_first_moment_as_a_weighted_sum(amsgrad):
    rng = np.random.default_rng(7)
    b1, b2 = 0.8, 0.95
    opt = optim.Adam(lr=0.01, beta1=b1, beta2=b2, amsgrad=amsgrad)
    p = rng.normal(size=6)
    state, ref = opt.init(p), {}
    for t in range(1, 5):
        g = rng.normal(size=6)
        opt.step(p, g, state)
        ref_adam(np.zeros(6), g, ref, 0.01, t, b1=b1, b2=b2, amsgrad=amsgrad)
    buffers = {name: buf.vector for name, buf in state.buffers.items()}
    assert sorted(buffers) == sorted(["m_sum", "v", *(["v_max"] if amsgrad else [])])
    np.testing.assert_allclose(buffers["m_sum"], ref["m"] / (1 - b1), rtol=1e-13)
    np.testing.assert_allclose(buffers["v"], ref["v"], rtol=1e-13)
    if amsgrad:
        np.testing.assert_allclose(buffers["v_max"], ref["vmax"], rtol=1e-13)


def test_clip_norm_scales_the_global_norm():
    opt = optim.SGD(lr=1.0, clip_norm=1.0)
    params = [np.zeros(3), np.zeros(4)]
    grads = [np.full(3, 2.0), np.full(4, 2.0)]  # global norm 2*sqrt(7)
    opt.step(params, grads, opt.init(params))
    norm = math.sqrt(sum(float(p @ p) for p in params))
    assert norm == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(params[0], -2.0 / (2 * math.sqrt(7)))
    np.testing.assert_array_equal(grads[0], 2.0)  # grads are never modified


def test_clip_norm_leaves_small_gradients_alone():
    opt = optim.SGD(lr=1.0, clip_norm=10.0)
    p = np.zeros(2)
    opt.step(p, np.array([3.0, 4.0]), opt.init(p))
    np.testing.assert_array_equal(p, [-3.0, -4.0])


def test_clip_then_coupled_decay():
    opt = optim.SGD(lr=1.0, clip_norm=1.0, weight_decay=0.5)
    p = np.array([2.0, 0.0])
    opt.step(p, np.array([0.0, 10.0]), opt.init(p))
    np.testing.assert_allclose(p, [2.0 - 0.5 * 2.0, -1.0])


def test_finite_gradient_whose_square_overflows_is_applied():
    opt = optim.SGD(lr=1e-30)
    p = np.zeros(2, dtype=np.float32)
    state = opt.init(p)
    assert opt.step(p, np.array([3e38, 3e38], dtype=np.float32), state)
    assert state.n_skipped == 0 and np.all(p < 0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_is_skipped_in_list_mode(bad):
    opt = optim.Adam(lr=0.1)
    params = [np.ones((2, 2)), np.ones(3)]
    state = opt.init(params)
    opt.step(params, [np.ones((2, 2)), np.ones(3)], state)
    before = [p.copy() for p in params], state.state_dict()
    assert opt.step(params, [np.ones((2, 2)), np.array([1.0, bad, 1.0])], state) is False
    assert state.n_skipped == 1 and state.t == 1
    for a, b in zip(params, before[0]):
        np.testing.assert_array_equal(a, b)
    for name, buf in before[1]["buffers"].items():
        np.testing.assert_array_equal(state.buffers[name].vector, buf)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("extras", [{}, {"clip_norm": 0.1, "weight_decay": 0.01}], ids=["", "clip"])
@pytest.mark.parametrize("name", sorted(BUILTIN_OPTIMIZERS))
def test_a_step_allocates_no_array(name, extras, dtype):
    rng = np.random.default_rng(0)
    params = optim.FlatBuffer.from_arrays([rng.normal(size=(300, 100)), np.zeros(100)], dtype=dtype)
    grads = optim.FlatBuffer.from_arrays([rng.normal(size=(300, 100)), np.ones(100)], dtype=dtype)
    opt = optim.get(name, **extras)
    state = opt.init(params)
    opt.step(params, grads, state)  # the first step creates the scratch vectors
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step(params, grads, state, lr=opt.lr / 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < params.vector.nbytes / 20, f"{peak} bytes allocated in a step"


@pytest.mark.parametrize("name", optim.available_optimizers())
def test_builtin_optimizers_keep_the_contract(name):
    check_optimizer(optim.get(name))


def test_non_contiguous_params_are_updated_in_place():
    base = np.zeros((4, 6))
    p = base[:, ::2]  # strided view
    opt = optim.Adam(lr=0.1, weight_decay=0.1)
    state = opt.init([p])
    opt.step([p], [np.ones((4, 3))], state)
    np.testing.assert_allclose(base[:, ::2], -0.1)
    np.testing.assert_array_equal(base[:, 1::2], 0.0)


def test_step_rejects_mismatched_layouts():
    opt = optim.SGD()
    params = [np.zeros(3), np.zeros(2)]
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"grads\[1\] \(3,\)"):
        opt.step(params, [np.zeros(3), np.zeros(3)], state)
    with pytest.raises(ValueError, match="made for 2 arrays"):
        opt.step(params, [np.zeros(3)], state)
    with pytest.raises(ValueError, match="lr must be finite"):
        opt.step(params, [np.zeros(3), np.zeros(2)], state, lr=-1.0)


def test_init_rejects_non_float_params():
    with pytest.raises(TypeError, match=r"params\[1\] must be a floating-point ndarray"):
        optim.SGD().init([np.zeros(2), np.zeros(2, dtype=int)])
    with pytest.raises(ValueError, match="at least one array"):
        optim.SGD().init([])


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: optim.SGD(lr=0.0), r"SGD: lr must be in \(0, inf\], got 0.0"),
        (lambda: optim.SGD(lr=-1), r"lr must be in \(0, inf\], got -1"),
        (lambda: optim.Momentum(momentum=1.0), r"momentum must be in \[0, 1\), got 1.0"),
        (lambda: optim.Nesterov(momentum=-0.1), r"momentum must be in \[0, 1\)"),
        (lambda: optim.Adam(beta1=1.5), r"Adam: beta1 must be in \[0, 1\), got 1.5"),
        (lambda: optim.Adam(beta2=1.0), r"beta2 must be in \[0, 1\)"),
        (lambda: optim.Adam(eps=0), r"eps must be in \(0, inf\]"),
        (lambda: optim.AdamW(weight_decay=-1), r"weight_decay must be in \[0, inf\]"),
        (lambda: optim.RMSProp(rho=2), r"rho must be in \[0, 1\)"),
        (lambda: optim.AdaGrad(eps=-1), r"eps must be in \(0, inf\]"),
        (lambda: optim.SGD(clip_norm=0), r"clip_norm must be in \(0, inf\]"),
        (lambda: optim.SGD(lr=float("nan")), r"lr must be finite"),
    ],
)
def test_invalid_hyperparameters_name_parameter_and_value(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="lr must be a real number"):
        optim.SGD(lr="0.1")
    with pytest.raises(TypeError, match="amsgrad must be True or False"):
        optim.Adam(amsgrad="yes")


def test_set_params_validates_and_routes_nested_names():
    opt = optim.Adam()
    assert opt.set_params(lr=0.5, beta1=0.8) is opt
    assert (opt.lr, opt.beta1) == (0.5, 0.8)
    with pytest.raises(ValueError, match="beta1 must be in"):
        opt.set_params(beta1=2.0)
    with pytest.raises(ValueError, match="Invalid parameter 'gamma' for Adam"):
        opt.set_params(gamma=0.1)


def test_repr_and_equality_by_hyperparameters():
    assert repr(optim.SGD(lr=0.1)) == "SGD(lr=0.1, weight_decay=0.0, clip_norm=None)"
    assert optim.Adam(lr=0.1) == optim.Adam(lr=0.1)
    assert optim.Adam(lr=0.1) != optim.Adam(lr=0.2)
    assert optim.Momentum(lr=0.1) != optim.Nesterov(lr=0.1)
    assert pickle.loads(pickle.dumps(optim.AdamW(lr=0.3))) == optim.AdamW(lr=0.3)


def test_state_dict_restores_a_state_made_for_the_same_layout():
    opt = optim.Adam(lr=0.1)
    params = optim.FlatBuffer([(3,), (2, 2)])
    state = opt.init(params)
    opt.step(params, optim.FlatBuffer.from_arrays([np.ones(3), np.ones((2, 2))]), state)
    other = opt.init(params)
    other.load_state_dict(state.state_dict())
    assert other.t == 1
    np.testing.assert_array_equal(other.buffers["m_sum"].vector, state.buffers["m_sum"].vector)
    wrong = opt.init(np.zeros(5))
    with pytest.raises(ValueError, match="buffer 'm_sum' has shape"):
        wrong.load_state_dict(state.state_dict())


def test_search_space_declarations_are_plain_data():
    names = {h.name: h for h in optim.Adam.search_space}
    assert names["lr"].log and (names["lr"].low, names["lr"].high) == (1e-5, 1.0)
    assert (names["beta1"].low, names["beta1"].high) == (0.5, 0.999)
    assert (names["beta2"].low, names["beta2"].high) == (0.9, 0.99999)
    momentum = {h.name: h for h in optim.Momentum.search_space}["momentum"]
    assert (momentum.low, momentum.high) == (0.0, 0.99)
    for name in optim.available_optimizers():
        cls = optim.optimizer_class(name)
        for h in cls.search_space:
            assert h.name in cls._param_names(), f"{name} declares unknown {h.name}"
            assert h.contains(getattr(cls(), h.name)), f"{name}: default {h.name} out of range"


@settings(max_examples=60, deadline=None)
@given(
    p=hnp.arrays(
        np.float64, hnp.array_shapes(max_dims=3, max_side=6), elements=st.floats(-1e3, 1e3)
    ),
    lr=st.floats(1e-6, 10.0),
    gamma=st.floats(0.0, 0.99),
    data=st.data(),
)
def test_momentum_two_steps_match_the_formula(p, lr, gamma, data):
    g1 = data.draw(hnp.arrays(np.float64, p.shape, elements=st.floats(-1e3, 1e3)))
    g2 = data.draw(hnp.arrays(np.float64, p.shape, elements=st.floats(-1e3, 1e3)))
    opt = optim.Momentum(lr=lr, momentum=gamma)
    x = p.copy()
    state = opt.init(x)
    opt.step(x, g1, state)
    opt.step(x, g2, state, lr=lr / 2)
    v1 = lr * g1
    v2 = gamma * v1 + lr / 2 * g2
    np.testing.assert_allclose(x, p - v1 - v2, rtol=1e-12, atol=1e-9)
