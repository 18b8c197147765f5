"""Benchmark: our MLPClassifier against scikit-learn's on standardized digits.

Both train a (128,) ReLU network with Adam (lr 1e-3), batch 32, alpha 1e-4,
for exactly 50 epochs (tol=0, n_iter_no_change=50), on the same 75/25 split.
Prints the median wall time of 3 fits, the time ratio and the test accuracies,
at float64 and float32. It also prints a floor, as a fraction of scikit-learn's
time: the network's five matrix products (two forward, three backward) and one
Adam step of ``optim`` for every mini-batch of the 50 epochs, with nothing else
around them. Training with this optimizer core cannot take less time than its
floor with the same BLAS.

Then, with one BLAS thread as in a study's workers: 3-fold trials of the
quickstart network (32 hidden units, 20 epochs) and of the 128-unit one, their
folds stacked into one model (as a study trains them) against separate folds,
with the floor of each (the products and Adam steps of the three folds, stacked
or not); and the 128-unit trial against scikit-learn's ``cross_validate``.
Run on purpose, not by the test suite::

    python tests/bench/bench_estimators.py
"""

from __future__ import annotations

import statistics
import time
import warnings
from functools import partial
from unittest import mock

import numpy as np
import optuna
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate, train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import optim
from tuner.estimators import MLPClassifier
from tuner.estimators._session import Session
from tuner.objective import Objective, make_folds
from tuner.space import SearchSpace

REPEATS = 3
BATCH, HIDDEN, EPOCHS = 32, 128, 50
ADAM = SearchSpace(["adam"], ["constant"], params={"lr": 1e-3, "beta1": 0.9, "beta2": 0.999})
FIXED = optuna.trial.FixedTrial({"optimizer": "adam", "schedule": "constant"})


def ours() -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(HIDDEN,),
        optimizer=optim.Adam(lr=1e-3),
        batch_size=BATCH,
        max_epochs=EPOCHS,
        alpha=1e-4,
        tol=0.0,
        n_iter_no_change=50,
        random_state=0,
    )


def sklearns() -> SklearnMLP:
    return SklearnMLP(
        hidden_layer_sizes=(HIDDEN,),
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=BATCH,
        max_iter=EPOCHS,
        alpha=1e-4,
        tol=0.0,
        n_iter_no_change=50,
        random_state=0,
    )


def timed(make, X_train, y_train, X_test, y_test) -> tuple[float, float]:
    """Median wall time of REPEATS fits, and the test accuracy of the last one."""
    times = []
    for _ in range(REPEATS):
        est = make()
        start = time.perf_counter()
        est.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
    return statistics.median(times), est.score(X_test, y_test)


def floor_time(
    n_rows: int, n_features: int, n_classes: int, dtype, *, hidden: int = HIDDEN,
    epochs: int = EPOCHS, replicas: int = 1,
) -> float:  # fmt: skip
    """Median seconds of the matrix products and Adam steps of ``epochs`` epochs of training
    of ``replicas`` networks stacked on a leading axis (one Adam step for all)."""
    rng = np.random.default_rng(0)
    sizes = [BATCH] * (n_rows // BATCH) + ([n_rows % BATCH] if n_rows % BATCH else [])
    r = replicas

    def arrays(n):
        shapes = {"x": (r, n, n_features), "h": (r, n, hidden), "o": (r, n, n_classes),
                  "d": (r, n, n_classes)}  # fmt: skip
        return {k: rng.normal(size=shape).astype(dtype) for k, shape in shapes.items()}

    batches = [arrays(n) for n in sizes]
    params = optim.FlatBuffer(
        [(r, n_features, hidden), (r, hidden, n_classes), (r, hidden), (r, n_classes)], dtype
    )
    grads = params.zeros_like()
    (w1, w2, _, _), (g1, g2, _, _) = params.views, grads.views
    w1[...], w2[...] = rng.normal(size=w1.shape), rng.normal(size=w2.shape)
    w2t = w2.transpose(0, 2, 1)
    adam = optim.Adam(lr=1e-3)
    state = adam.init(params)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(epochs):
            for b in batches:
                np.matmul(b["x"], w1, out=b["h"])
                np.matmul(b["h"], w2, out=b["o"])
                np.matmul(b["h"].transpose(0, 2, 1), b["d"], out=g2)
                np.matmul(b["d"], w2t, out=b["h"])
                np.matmul(b["x"].transpose(0, 2, 1), b["h"], out=g1)
                adam.step(params, grads, state)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    warnings.simplefilter("ignore", ConvergenceWarning)  # all 50 epochs run on purpose
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    rows = []
    for dtype in (np.float64, np.float32):
        data = (X_train.astype(dtype), y_train, X_test.astype(dtype), y_test)
        t_ours, acc_ours = timed(ours, *data)
        t_sk, acc_sk = timed(sklearns, *data)
        floor = floor_time(len(X_train), X.shape[1], len(np.unique(y)), dtype)
        rows.append((np.dtype(dtype).name, t_ours, t_sk, acc_ours, acc_sk, floor))

    blas = ", ".join(sorted({
        f"{i['internal_api']} {i.get('architecture', '')}".strip() for i in threadpool_info()
        if i["user_api"] == "blas"})
    )  # fmt: skip
    print(f"digits: {len(X_train)} train / {len(X_test)} test, median of {REPEATS} fits; "
          f"BLAS: {blas}")  # fmt: skip
    header = ("dtype", "ours (s)", "sklearn (s)", "ratio", "acc ours", "acc sk", "floor")
    print("{:8} {:>9} {:>12} {:>6} {:>9} {:>7} {:>6}".format(*header))
    for name, t_ours, t_sk, acc_ours, acc_sk, floor in rows:
        print(
            f"{name:8} {t_ours:9.3f} {t_sk:12.3f} {t_ours / t_sk:6.2f} "
            f"{acc_ours:9.4f} {acc_sk:7.4f} {floor / t_sk:6.2f}"
        )


    with threadpool_limits(limits=1):  # as in a study's workers, for both sides
        stacked_against_separate(X, y)
        trial_against_cross_validate(X, y)


def stacked_against_separate(X: np.ndarray, y: np.ndarray) -> None:
    """Median seconds of 3-fold trials with the folds stacked and separate, interleaved."""
    print(f"\n3-fold trials, one BLAS thread, median of {2 * REPEATS + 1} each "
          "(the floor: products and Adam steps only)")  # fmt: skip
    print("{:28} {:>10} {:>10} {:>8} {:>14} {:>14}".format(
        "network", "separate", "stacked", "speedup", "floor separate", "floor stacked"))
    for name, hidden, epochs in (("quickstart (32), 20 epochs", 32, 20),
                                 (f"digits ({HIDDEN}), {EPOCHS} epochs", HIDDEN, EPOCHS)):
        est = ours().set_params(hidden_layer_sizes=(hidden,), max_epochs=epochs,
                                n_iter_no_change=epochs)  # fmt: skip
        objective = Objective(est, X, y, ADAM, cv=3, random_state=0)
        n_train = len(objective.fold_data()[0][1])
        seconds: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(2 * REPEATS + 1):
            for stacked in (True, False):
                with mock.patch.object(Session, "stacks_with", _stacks if stacked else _alone):
                    seconds[stacked].append(_seconds(partial(objective, FIXED)))
        alone, stacked = (statistics.median(seconds[s]) for s in (False, True))
        shape = (n_train, X.shape[1], 10, np.float64)
        floors = [floor_time(*shape, hidden=hidden, epochs=epochs, replicas=r) for r in (1, 3)]
        print(f"{name:28} {alone:9.3f}s {stacked:9.3f}s {alone / stacked:7.2f}x "
              f"{3 * floors[0]:13.3f}s {floors[1]:13.3f}s")  # fmt: skip
    print("(no stacked trial can beat its floor: the speedup is at most separate / floor stacked)")


_stacks = Session.stacks_with


def _alone(self, other) -> bool:
    return False


def trial_against_cross_validate(X: np.ndarray, y: np.ndarray) -> None:
    """Median seconds of a 3-fold trial of our network and of scikit-learn's
    ``cross_validate`` of its own on the same folds, and each fold's accuracy."""
    folds = make_folds(ours(), X, y, 3, random_state=0)
    objective = Objective(ours(), X, y, ADAM, cv=folds)
    objective.fold_data()  # a study prepares its folds once, before its trials
    trial = optuna.trial.FixedTrial({"optimizer": "adam", "schedule": "constant"})
    t_trial = statistics.median(_seconds(lambda: objective(trial)) for _ in range(REPEATS))
    pipe = make_pipeline(StandardScaler(), sklearns())
    t_cv = statistics.median(
        _seconds(lambda: cross_validate(pipe, X, y, cv=folds)) for _ in range(REPEATS)
    )
    scores = cross_validate(pipe, X, y, cv=folds)["test_score"]
    floor = floor_time(len(folds[0][0]), X.shape[1], 10, np.float64, replicas=len(folds))
    print(f"\n3-fold trial, {HIDDEN} hidden, {EPOCHS} epochs, one BLAS thread, median of "
          f"{REPEATS}: ours {t_trial:.3f} s, scikit-learn cross_validate {t_cv:.3f} s, "
          f"ratio {t_trial / t_cv:.2f} (its floor: {floor:.3f} s, {floor / t_cv:.2f})")
    ours_scores = trial.user_attrs["fold_scores"]
    print("fold accuracy, ours:    " + " ".join(f"{a:.4f}" for a in ours_scores))
    print("fold accuracy, sklearn: " + " ".join(f"{a:.4f}" for a in scores))


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
