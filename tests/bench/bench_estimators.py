"""Benchmark: our MLPClassifier against scikit-learn's on standardized digits.

Both train a (128,) ReLU network with Adam (lr 1e-3), batch 32, alpha 1e-4,
for exactly 50 epochs (tol=0, n_iter_no_change=50), on the same 75/25 split.
Prints the median wall time of 3 fits, the time ratio and the test accuracies,
at float64 and float32. Run on purpose, not by the test suite::

    python tests/bench/bench_estimators.py
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler

import optim
from tuner.estimators import MLPClassifier

REPEATS = 3


def ours() -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(128,),
        optimizer=optim.Adam(lr=1e-3),
        batch_size=32,
        max_epochs=50,
        alpha=1e-4,
        tol=0.0,
        n_iter_no_change=50,
        random_state=0,
    )


def sklearns() -> SklearnMLP:
    return SklearnMLP(
        hidden_layer_sizes=(128,),
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=32,
        max_iter=50,
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
        rows.append((np.dtype(dtype).name, t_ours, t_sk, acc_ours, acc_sk))

    print(f"digits: {len(X_train)} train / {len(X_test)} test, median of {REPEATS} fits")
    header = ("dtype", "ours (s)", "sklearn (s)", "ratio", "acc ours", "acc sk")
    print("{:8} {:>9} {:>12} {:>6} {:>9} {:>7}".format(*header))
    for name, t_ours, t_sk, acc_ours, acc_sk in rows:
        print(
            f"{name:8} {t_ours:9.3f} {t_sk:12.3f} {t_ours / t_sk:6.2f} "
            f"{acc_ours:9.4f} {acc_sk:7.4f}"
        )


if __name__ == "__main__":
    main()
