"""A conformance check that any optimizer, built in or plugged in, keeps the contract.

>>> from optim.testing import check_optimizer
>>> check_optimizer(MyOptimizer(lr=0.01))     # raises AssertionError on a breach
"""

from __future__ import annotations

import copy
import pickle

import numpy as np

from ._base import Optimizer
from .flat import FlatBuffer

__all__ = ["check_optimizer"]

SHAPES = [(7, 5), (5,), (3, 2, 2), ()]


def _random_buffer(rng: np.random.Generator, dtype) -> FlatBuffer:
    return FlatBuffer.from_arrays([rng.normal(size=s) for s in SHAPES], dtype=dtype)


def _run(opt: Optimizer, params, grads_seq, state, rates) -> None:
    for grads, lr in zip(grads_seq, rates):
        opt.step(params, grads, state, lr=lr)


def check_optimizer(optimizer: Optimizer, n_steps: int = 20, seed: int = 0) -> None:
    """Check that ``optimizer`` keeps the optimizer contract; raise ``AssertionError`` if not.

    Checks: hyperparameter protocol (``get_params`` rebuilds an equal object,
    ``repr``, pickling); ``step`` updates in place and preserves float32;
    a FlatBuffer, a list of arrays and a single array give the same result;
    a non-finite gradient leaves parameters and state bit-identical and is
    counted; ``state_dict``/``load_state_dict`` and pickling of the state
    continue bit-identically; a few steps reduce a convex quadratic.
    """
    rng = np.random.default_rng(seed)
    cls = type(optimizer)
    params0 = optimizer.get_params(deep=False)
    rebuilt = cls(**params0)
    assert rebuilt == optimizer, f"{cls.__name__}(**get_params()) != original"
    assert pickle.loads(pickle.dumps(optimizer)) == optimizer, "optimizer does not pickle"
    assert repr(optimizer).startswith(cls.__name__), "repr should start with the class name"

    lr0 = optimizer.lr
    rates = lr0 * np.linspace(1.0, 0.1, n_steps)
    for dtype in (np.float64, np.float32):
        flat = _random_buffer(rng, dtype)
        as_list = [v.copy() for v in flat]
        grads = [_random_buffer(rng, dtype) for _ in range(n_steps)]
        s_flat, s_list = optimizer.init(flat), optimizer.init(as_list)
        vector_before = flat.vector
        _run(optimizer, flat, grads, s_flat, rates)
        _run(optimizer, as_list, [list(g) for g in grads], s_list, rates)
        assert flat.vector is vector_before, "step must update params in place"
        assert flat.vector.dtype == dtype and all(a.dtype == dtype for a in as_list), (
            f"step changed the dtype {np.dtype(dtype)}"
        )
        for a, b in zip(flat, as_list):
            np.testing.assert_allclose(
                a, b, rtol=1e-5, atol=1e-6, err_msg="FlatBuffer and list steps differ"
            )
        assert s_flat.t == n_steps, f"state.t is {s_flat.t} after {n_steps} steps"

    # Non-finite gradients: nothing changes, the skip is counted.
    params = _random_buffer(rng, np.float64)
    state = optimizer.init(params)
    _run(optimizer, params, [_random_buffer(rng, np.float64) for _ in range(3)], state, rates)
    before = (params.vector.copy(), copy.deepcopy(state.state_dict()))
    for bad in (np.nan, np.inf, -np.inf):
        g = _random_buffer(rng, np.float64)
        g.vector[1] = bad
        assert optimizer.step(params, g, state) is False, f"step applied a gradient with {bad}"
    assert np.array_equal(params.vector, before[0]), "a skipped step changed the parameters"
    after = state.state_dict()
    assert after["t"] == before[1]["t"] and after["n_skipped"] == before[1]["n_skipped"] + 3
    for name, buf in before[1]["buffers"].items():
        assert np.array_equal(after["buffers"][name], buf), f"a skipped step changed {name!r}"

    # Save/restore and pickling continue bit-identically.
    grads = [_random_buffer(rng, np.float64) for _ in range(4)]
    saved, saved_params = state.state_dict(), params.vector.copy()
    pickled = pickle.dumps((params, state))
    _run(optimizer, params, grads, state, rates)
    expected = params.vector.copy()
    restored = optimizer.init(params)
    restored.load_state_dict(saved)
    params.vector[...] = saved_params
    _run(optimizer, params, grads, restored, rates)
    assert np.array_equal(params.vector, expected), "load_state_dict does not continue exactly"
    p2, s2 = pickle.loads(pickled)
    _run(optimizer, p2, grads, s2, rates)
    assert np.array_equal(p2.vector, expected), "an unpickled state does not continue exactly"

    # A convex quadratic 0.5*||x||^2 goes down.
    x = FlatBuffer.from_arrays([np.full(10, 1.0)])
    g = x.zeros_like()
    state = optimizer.init(x)
    for _ in range(200):
        g.vector[...] = x.vector
        optimizer.step(x, g, state)
    assert float(x.vector @ x.vector) < 10.0, f"{cls.__name__} did not reduce a quadratic"
