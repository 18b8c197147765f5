"""Race the built-in optimizers on a logistic regression written in plain NumPy.

For every optimizer, a small grid of learning rates and schedules trains the
same model on the same mini-batches; the script prints the best final loss of
each optimizer and writes every run to ``reports/optimizer-race/results.csv``.
Run it with ``python examples/optimizer_race.py``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

import optim

EPOCHS = 30
BATCH = 64
RATES = (1e-3, 1e-2, 1e-1, 1.0)
SCHEDULES = {
    "constant": optim.Constant(),
    "step": optim.StepDecay(step_size=10, gamma=0.5),
    "cosine": optim.CosineAnnealing(t_max=EPOCHS),
}


def make_data(rng: np.random.Generator, n: int = 4000, d: int = 40):
    """A binary problem with correlated, badly scaled features."""
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * np.logspace(0, 1, d) / d
    w = rng.normal(size=d)
    y = (X @ w + rng.normal(scale=0.5, size=n) > 0).astype(float)
    return X, y


def log_loss(X, y, w, b) -> float:
    z = X @ w + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def train(opt, schedule, X, y, seed: int) -> float:
    params = optim.FlatBuffer([(X.shape[1],), ()])
    grads = params.zeros_like()
    w, b = params
    gw, gb = grads
    state = opt.init(params)
    rng = np.random.default_rng(seed)
    for epoch in range(EPOCHS):
        lr = opt.lr * schedule(epoch)
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH):
            idx = order[start : start + BATCH]
            err = 1.0 / (1.0 + np.exp(-(X[idx] @ w + b))) - y[idx]
            np.dot(X[idx].T, err, out=gw)
            gw /= len(idx)
            gb[...] = err.mean()
            opt.step(params, grads, state, lr=lr)
    loss = log_loss(X, y, w, b)
    return loss if np.isfinite(loss) else float("inf")


def main() -> None:
    rng = np.random.default_rng(0)
    X, y = make_data(rng)
    out = Path("reports/optimizer-race")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    start = time.perf_counter()
    for name in ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"):
        for lr in RATES:
            for sname, schedule in SCHEDULES.items():
                loss = train(optim.get(name, lr=lr), schedule, X, y, seed=1)
                rows.append({"optimizer": name, "lr": lr, "schedule": sname, "loss": loss})
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} runs in {time.perf_counter() - start:.1f} s; best per optimizer:")
    print(f"{'optimizer':<10} {'lr':>6} {'schedule':<9} {'log loss':>9}")
    for name in dict.fromkeys(r["optimizer"] for r in rows):
        best = min((r for r in rows if r["optimizer"] == name), key=lambda r: r["loss"])
        print(f"{name:<10} {best['lr']:>6g} {best['schedule']:<9} {best['loss']:>9.4f}")
    print(f"all runs: {out / 'results.csv'}")


if __name__ == "__main__":
    main()
