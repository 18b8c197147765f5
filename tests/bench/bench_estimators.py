"""Benchmark: our MLPClassifier against scikit-learn's on standardized digits.

Both train a (128,) ReLU network with Adam (lr 1e-3), batch 32, alpha 1e-4,
for exactly 50 epochs (tol=0, n_iter_no_change=50), on the same 75/25 split.
Prints the median wall time of 3 fits, the time ratio and the test accuracies,
at float64 and float32. It also prints a floor, as a fraction of scikit-learn's
time: the network's five matrix products (two forward, three backward) and one
Adam step of ``optim`` for every mini-batch of the 50 epochs, with nothing else
around them. Training with this optimizer core cannot take less time than its
floor with the same BLAS. Run on purpose, not by the test suite::

    python tests/bench/bench_estimators.py
"""

from __future__ import annotations

import statistics
import time
import warnings

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
from tuner.objective import Objective, make_folds
from tuner.space import SearchSpace

REPEATS = 3
BATCH, HIDDEN, EPOCHS = 32, 128, 50


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


def floor_time(n_rows: int, n_features: int, n_classes: int, dtype) -> float:
    """Median seconds of the matrix products and Adam steps of 50 epochs of training."""
    rng = np.random.default_rng(0)
    sizes = [BATCH] * (n_rows // BATCH) + ([n_rows % BATCH] if n_rows % BATCH else [])

    def arrays(n):
        shapes = {"x": (n, n_features), "h": (n, HIDDEN), "o": (n, n_classes), "d": (n, n_classes)}
        return {k: rng.normal(size=shape).astype(dtype) for k, shape in shapes.items()}

    batches = [arrays(n) for n in sizes]
    w1 = rng.normal(size=(n_features, HIDDEN)).astype(dtype)
    w2 = rng.normal(size=(HIDDEN, n_classes)).astype(dtype)
    g1, g2 = np.empty_like(w1), np.empty_like(w2)
    params = optim.FlatBuffer([w1.shape, w2.shape, (HIDDEN,), (n_classes,)], dtype)
    grads = params.zeros_like()
    adam = optim.Adam(lr=1e-3)
    state = adam.init(params)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(EPOCHS):
            for b in batches:
                np.matmul(b["x"], w1, out=b["h"])
                np.matmul(b["h"], w2, out=b["o"])
                np.matmul(b["h"].T, b["d"], out=g2)
                np.matmul(b["d"], w2.T, out=b["h"])
                np.matmul(b["x"].T, b["h"], out=g1)
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
        trial_against_cross_validate(X, y)


def trial_against_cross_validate(X: np.ndarray, y: np.ndarray) -> None:
    """Median seconds of a 3-fold trial of our network and of scikit-learn's
    ``cross_validate`` of its own on the same folds, and each fold's accuracy."""
    folds = make_folds(ours(), X, y, 3, random_state=0)
    space = SearchSpace(["adam"], ["constant"], params={"lr": 1e-3, "beta1": 0.9, "beta2": 0.999})
    objective = Objective(ours(), X, y, space, cv=folds)
    objective.fold_data()  # a study prepares its folds once, before its trials
    trial = optuna.trial.FixedTrial({"optimizer": "adam", "schedule": "constant"})
    t_trial = statistics.median(_seconds(lambda: objective(trial)) for _ in range(REPEATS))
    pipe = make_pipeline(StandardScaler(), sklearns())
    t_cv = statistics.median(
        _seconds(lambda: cross_validate(pipe, X, y, cv=folds)) for _ in range(REPEATS)
    )
    scores = cross_validate(pipe, X, y, cv=folds)["test_score"]
    print(f"\n3-fold trial, {HIDDEN} hidden, {EPOCHS} epochs, one BLAS thread, median of "
          f"{REPEATS}: ours {t_trial:.3f} s, scikit-learn cross_validate {t_cv:.3f} s, "
          f"ratio {t_trial / t_cv:.2f}")  # fmt: skip
    ours_scores = trial.user_attrs["fold_scores"]
    print("fold accuracy, ours:    " + " ".join(f"{a:.4f}" for a in ours_scores))
    print("fold accuracy, sklearn: " + " ".join(f"{a:.4f}" for a in scores))


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
