"""Benchmark of one optimizer step (Adam, Momentum); not a test.

Run: ``python tests/bench/bench_optim.py [--quick]``

For (a) one flat vector of 1e4..1e7 elements and (b) a parameter list shaped
like a 4-layer MLP (20 arrays, about 140k elements), in float32 and float64,
it prints microseconds per step of ``optim`` and the ratios to, measured in
the same run: a naive in-place NumPy implementation, ``np.copyto`` of the
parameters (memory bandwidth: how many copies one step costs), and
``torch.optim`` with ``foreach`` and ``fused`` kernels when torch is installed.
A ratio above 1 means the reference is slower than ``optim``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import optim

try:
    import torch
except ImportError:  # torch is optional
    torch = None

# An MLP-shaped parameter list: five (W, b) layers 784-144-128-64-32-10, each
# with a scale and shift vector as in batch normalization: 20 arrays, ~143k elements.
MLP_SHAPES = [
    (784, 144), (144,), (144,), (144,),
    (144, 128), (128,), (128,), (128,),
    (128, 64), (64,), (64,), (64,),
    (64, 32), (32,), (32,), (32,),
    (32, 10), (10,), (10,), (10,),
]  # fmt: skip


def median_time(fn, repeat: int, number: int) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` timings of ``number`` calls."""
    fn()  # warm up: page in buffers, JIT nothing
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def naive_adam(params, grads, ms, vs, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """The straightforward in-place NumPy Adam, one array at a time."""
    for p, g, m, v in zip(params, grads, ms, vs):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)


def naive_momentum(params, grads, vs, lr=1e-3, gamma=0.9):
    for p, g, v in zip(params, grads, vs):
        v *= gamma
        v += lr * g
        p -= v


def bench_case(name: str, kind: str, shapes, dtype, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    params = optim.FlatBuffer.from_arrays([rng.normal(size=s) for s in shapes], dtype=dtype)
    grads = optim.FlatBuffer.from_arrays([rng.normal(size=s) * 1e-2 for s in shapes], dtype=dtype)
    n = params.size
    number = max(1, int(2e6 // n))
    opt = optim.Adam(lr=1e-3) if kind == "adam" else optim.Momentum(lr=1e-3)
    state = opt.init(params)
    if len(shapes) == 1:
        ours = median_time(lambda: opt.step(params.vector, grads.vector, state), repeat, number)
    else:
        ours = median_time(lambda: opt.step(params, grads, state), repeat, number)

    arrays = [v.copy() for v in params]
    garrays = [v.copy() for v in grads]
    bufs = [[np.zeros_like(a) for a in arrays] for _ in range(2)]
    if kind == "adam":
        counter = iter(range(1, 10**9))
        naive = median_time(
            lambda: naive_adam(arrays, garrays, *bufs, next(counter)), repeat, number
        )
    else:
        naive = median_time(lambda: naive_momentum(arrays, garrays, bufs[0]), repeat, number)

    dst = np.empty_like(params.vector)
    copy = median_time(lambda: np.copyto(dst, params.vector), repeat, number)

    row = {
        "case": name,
        "dtype": np.dtype(dtype).name,
        "kind": kind,
        "n": n,
        "ours_us": ours * 1e6,
        "naive": naive / ours,
        "copies": ours / copy,
    }
    if torch is not None:
        for variant in ("foreach", "fused"):
            row[variant] = bench_torch(kind, variant, arrays, garrays, repeat, number) / ours
    return row


def bench_torch(kind: str, variant: str, arrays, garrays, repeat: int, number: int) -> float:
    ps = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    for p, g in zip(ps, garrays):
        p.grad = torch.from_numpy(g.copy())
    kwargs = {variant: True}
    try:
        if kind == "adam":
            opt = torch.optim.Adam(ps, lr=1e-3, **kwargs)
        else:
            opt = torch.optim.SGD(ps, lr=1e-3, momentum=0.9, **kwargs)
        opt.step()
    except (RuntimeError, ValueError):  # variant not available for this dtype or device
        return float("nan")
    with torch.no_grad():
        return median_time(opt.step, repeat, number)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    sizes = [10**4, 10**6] if args.quick else [10**4, 10**5, 10**6, 10**7]
    cases = [(f"flat {n:.0e}", [(n,)]) for n in sizes] + [("mlp 20 arrays", MLP_SHAPES)]
    threads = torch.get_num_threads() if torch is not None else "-"
    print(
        f"numpy {np.__version__}; torch {getattr(torch, '__version__', 'not installed')} "
        f"({threads} threads); ratios = reference time / optim time, copies = optim / copyto"
    )
    header = (
        f"{'case':<14} {'dtype':<8} {'step':<9} {'elements':>9} {'optim us':>10} "
        f"{'naive':>6} {'copies':>7}"
    )
    if torch is not None:
        header += f" {'foreach':>8} {'fused':>6}"
    print(header)
    for name, shapes in cases:
        for dtype in (np.float32, np.float64):
            for kind in ("adam", "momentum"):
                r = bench_case(name, kind, shapes, dtype, repeat)
                line = (
                    f"{r['case']:<14} {r['dtype']:<8} {r['kind']:<9} {r['n']:>9} "
                    f"{r['ours_us']:>10.1f} {r['naive']:>6.2f} {r['copies']:>7.2f}"
                )
                if torch is not None:
                    line += f" {r['foreach']:>8.2f} {r['fused']:>6.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
