"""Replicas: estimators of one configuration trained as one stacked model.

``fit_epochs_together`` must give each estimator what a separate ``fit`` of its
data gives (same seed, same batches), to round-off: weights, curves, counters,
stopping, divergence. The checks compare against separate fits in the same
process, and check that the estimators were in fact stacked.
"""

from __future__ import annotations

import copy

import numpy as np
import optuna
import pytest
import scipy.sparse as sp
from estimator_data import classification, regression, weights
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import optim
from tuner.estimators import (
    DivergenceError,
    LinearRegressor,
    LogisticClassifier,
    MLPClassifier,
    MLPRegressor,
    _session,
    fit_epochs_together,
)
from tuner.estimators._params import resolve_optimizer
from tuner.objective import Objective
from tuner.space import SearchSpace

# Short fits that stop at max_epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SEEDS = [0, 1, 2]


@pytest.fixture
def stacks(monkeypatch):
    """The number of replicas of every trainer built."""
    sizes: list[int] = []
    build = _session._trainer

    def spy(sessions):
        sizes.append(len(sessions))
        return build(sessions)

    monkeypatch.setattr(_session, "_trainer", spy)
    return sizes


def drain(estimators, datasets) -> dict[int, DivergenceError]:
    """Train to the end; the DivergenceError of each estimator that diverged."""
    errors = {}
    for results in fit_epochs_together(estimators, datasets):
        assert results, "an epoch with no estimator in it"
        errors.update({k: r for k, r in results.items() if isinstance(r, DivergenceError)})
    return errors


def assert_same_fit(stacked, alone):
    np.testing.assert_allclose(weights(stacked), weights(alone), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stacked.loss_curve_, alone.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(stacked.lr_curve_, alone.lr_curve_, rtol=1e-15)
    assert stacked.n_iter_ == alone.n_iter_
    assert stacked.n_batches_ == alone.n_batches_
    assert stacked.stop_reason_ == alone.stop_reason_
    assert stacked.optimizer_state_.t == alone.optimizer_state_.t
    assert stacked.optimizer_state_.n_skipped == alone.optimizer_state_.n_skipped
    for name, buffer in alone.optimizer_state_.buffers.items():
        np.testing.assert_allclose(
            stacked.optimizer_state_.buffers[name].vector, buffer.vector, rtol=1e-10, atol=1e-14
        )
    if alone.validation_scores_ is not None:
        np.testing.assert_allclose(stacked.validation_scores_, alone.validation_scores_)
    np.testing.assert_allclose(stacked._reference_loss, alone._reference_loss, rtol=1e-12)


def subsets(X, y, sizes, seed):
    """Random row subsets of ``sizes`` rows (the folds of a trial differ by a row or so)."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(len(y), n, replace=False) for n in sizes]
    return [(X[p], y[p]) for p in picks]


CONFIGS = {
    "mlp-adam": (lambda **kw: MLPClassifier((7,), alpha=1e-3, **kw), classification, {}),
    "mlp-cosine-per-batch": (
        lambda **kw: MLPClassifier((5, 4), activation="tanh", **kw), classification,
        {"optimizer": optim.Nesterov(lr=0.05), "schedule": optim.CosineAnnealing(t_max=30),
         "schedule_interval": "batch"},
    ),
    "mlp-regressor": (lambda **kw: MLPRegressor((6,), activation="logistic", **kw), regression,
                      {"optimizer": optim.RMSProp(lr=0.01)}),
    "logistic-binary": (LogisticClassifier, lambda seed, n: classification(seed, n, 2),
                        {"optimizer": optim.Momentum(lr=0.05)}),
    "huber": (lambda **kw: LinearRegressor(loss="huber", **kw), regression,
              {"optimizer": optim.AdaGrad(lr=0.1)}),
}  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("setting", ["plain", "weighted", "early-stopping"])
def test_each_replica_equals_a_separate_fit_of_its_data(config, setting, seed, stacks):
    make, data, params = CONFIGS[config]
    X, y = data(seed=seed, n=160)
    extra = {"early_stopping": True, "tol": 1e-3, "n_iter_no_change": 2} if setting == (
        "early-stopping") else {"tol": 1e-3, "n_iter_no_change": 3}  # fmt: skip
    base = make(batch_size=16, max_epochs=12, **params, **extra)
    # Unequal folds of one number of batches: the shorter are padded with zero-weight rows.
    parts = subsets(X, y, [150, 147, 145], seed)
    rng = np.random.default_rng(seed)
    datasets = [
        (Xk, yk, rng.uniform(0.2, 3.0, len(yk)) if setting == "weighted" and k != 1 else None)
        for k, (Xk, yk) in enumerate(parts)
    ]
    estimators = [clone(base).set_params(random_state=seed + k) for k in range(3)]
    assert drain(estimators, datasets) == {}
    assert stacks == [3]
    for est, (Xk, yk, wk) in zip(estimators, datasets):
        assert_same_fit(est, clone(est).fit(Xk, yk, sample_weight=wk))


@pytest.mark.parametrize("seed", SEEDS)
def test_replicas_stop_at_their_own_epoch_and_stay_as_they_stopped(seed, stacks):
    X, y = classification(seed=seed, n=200)
    base = MLPClassifier((8,), batch_size=20, max_epochs=40, tol=0.0, n_iter_no_change=1)
    # Different max_epochs and patience: the replicas leave the stack one by one.
    estimators = [
        clone(base).set_params(random_state=seed, max_epochs=3),
        clone(base).set_params(random_state=seed + 1, n_iter_no_change=2),
        clone(base).set_params(random_state=seed + 2, max_epochs=40, tol=1e-2),
    ]
    datasets = subsets(X, y, [180, 180, 175], seed)
    ends = {}
    for epoch, results in enumerate(fit_epochs_together(estimators, datasets), 1):
        ends.update({k: epoch for k in results})
    assert stacks == [3]
    assert ends[0] == 3
    for est, data in zip(estimators, datasets):
        assert_same_fit(est, clone(est).fit(*data))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_diverging_replica_leaves_and_the_others_go_on(seed, stacks):
    X, y = regression(seed=seed, n=200)
    base = MLPRegressor((8,), optimizer=optim.SGD(lr=0.05), batch_size=16, max_epochs=15, tol=0)
    datasets = [(X, y), (X * 1e3, y * 1e3), (X[:195], y[:195])]  # the second overflows
    estimators = [clone(base).set_params(random_state=seed + k) for k in range(3)]
    errors = drain(estimators, datasets)
    assert stacks == [3]
    assert list(errors) == [1]
    alone = clone(estimators[1])
    with pytest.raises(DivergenceError) as raised:
        alone.fit(*datasets[1])
    assert str(errors[1]) == str(raised.value) and errors[1].epoch == raised.value.epoch
    for est, data in zip(estimators, datasets):
        assert_same_fit(est, clone(est).fit(*data) if est is not estimators[1] else alone)
    assert estimators[1].stop_reason_ == "diverged"


def test_a_replica_with_a_batch_of_zero_weight_is_held_as_a_fit_skips_it(stacks):
    # SGD steps do not depend on the step count, so a held replica goes on exactly.
    X, y = regression(n=96)
    base = LinearRegressor(optimizer=optim.Momentum(lr=0.05), batch_size=16, shuffle=False,
                           max_epochs=4, tol=0)  # fmt: skip
    zero_first_batch = np.r_[np.zeros(16), np.ones(80)]
    datasets = [(X, y, zero_first_batch), (X, y, None)]
    estimators = [clone(base), clone(base)]
    drain(estimators, datasets)
    assert stacks == [2]
    for est, (Xk, yk, wk) in zip(estimators, datasets):
        assert_same_fit(est, clone(est).fit(Xk, yk, sample_weight=wk))
    assert estimators[0].optimizer_state_.t == 4 * 5  # five of its six batches step


def test_a_non_finite_gradient_holds_its_replica_and_steps_the_others():
    X, y = regression(n=64)
    base = MLPRegressor((4,), optimizer=optim.Adam(lr=0.01), batch_size=16, random_state=0)
    sessions = [clone(base)._prepare(X, y), clone(base)._prepare(X, y)]
    trainer = _session._trainer(sessions)
    trainer.grads.vector[...] = 1.0
    trainer._g_matrix[1, 3] = np.nan
    before = trainer.matrix.copy()
    trainer._step(0.01)
    assert not np.array_equal(trainer.matrix[0], before[0])
    np.testing.assert_array_equal(trainer.matrix[1], before[1])
    assert trainer.skipped.tolist() == [0, 1] and trainer.held.tolist() == [0, 1]
    assert trainer.replica_state(0).t == 1 and trainer.replica_state(1).t == 0
    assert trainer.replica_state(1).n_skipped == 1
    assert not trainer.replica_state(1).buffers["v"].vector.any()  # its moments untouched
    # The first replica moved as one Adam step of its own would have moved it.
    alone = optim.Adam(lr=0.01)
    params = before[0].copy()
    alone.step(params, np.ones_like(params), alone.init(params))
    np.testing.assert_allclose(trainer.matrix[0], params, rtol=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "optimizer",
    [
        "sgd",  # by name: clip_norm=1.0
        optim.Momentum(lr=0.5, clip_norm=0.5, weight_decay=1e-3),
        optim.Adam(lr=0.05, clip_norm=0.1),
    ],
    ids=["sgd-by-name", "momentum-decay", "adam"],
)
def test_replicas_clip_their_own_gradient_norm(optimizer, seed, stacks):
    X, y = classification(seed=seed, n=200)
    base = MLPClassifier((8,), optimizer=optimizer, batch_size=16, max_epochs=6, tol=0)
    estimators = [clone(base).set_params(random_state=seed + k) for k in range(3)]
    datasets = subsets(X, y, [190, 185, 180], seed)
    drain(estimators, datasets)
    assert stacks == [3]
    for est, data in zip(estimators, datasets):
        assert_same_fit(est, clone(est).fit(*data))
    # The clipping binds: without it, the first replica ends elsewhere.
    unclipped = copy.deepcopy(resolve_optimizer(optimizer)).set_params(clip_norm=None)
    alone = clone(estimators[0]).set_params(optimizer=unclipped).fit(*datasets[0])
    assert not np.allclose(weights(alone), weights(estimators[0]), rtol=1e-6)


@pytest.mark.parametrize(
    "change",
    [
        {"schedule": optim.ReduceOnPlateau()},  # a rate of each replica's own
        {"batch_size": 20},  # 8 batches of 160 rows, 9 of the 161 of the other fold
    ],
    ids=["plateau", "unequal-batches"],
)
def test_trainings_that_cannot_share_a_step_train_alone_with_the_same_result(change, stacks):
    X, y = classification(n=200)
    base = MLPClassifier((6,), batch_size=16, max_epochs=6, random_state=0).set_params(**change)
    datasets = subsets(X, y, [160, 161], 0)
    estimators = [clone(base), clone(base).set_params(random_state=1)]
    drain(estimators, datasets)
    assert stacks == [1, 1]
    for est, data in zip(estimators, datasets):
        assert_same_fit(est, clone(est).fit(*data))


def test_sparse_data_and_estimators_of_other_packages_train_alongside(stacks):
    X, y = classification(n=120)

    class Wrapped:
        """An estimator of another package that has fit_epochs (not a tuner estimator)."""

        def __init__(self):
            self.inner = LogisticClassifier(max_epochs=3, random_state=0)

        def fit_epochs(self, X, y, sample_weight=None):
            return self.inner.fit_epochs(X, y, sample_weight=sample_weight)

    base = LogisticClassifier(max_epochs=3, random_state=0)
    estimators = [clone(base), clone(base), Wrapped()]
    counts = {}
    for results in fit_epochs_together(estimators, [(sp.csr_matrix(X), y), (X, y), (X, y)]):
        for k in results:
            counts[k] = counts.get(k, 0) + 1
    assert counts == {0: 3, 1: 3, 2: 3}
    assert stacks == [1, 1, 1]  # the sparse one, the dense one, the other's own fit_epochs
    np.testing.assert_allclose(weights(estimators[0]), weights(estimators[1]), rtol=1e-12)
    np.testing.assert_allclose(weights(estimators[2].inner), weights(estimators[1]), rtol=1e-12)


def test_fit_epochs_together_names_a_length_mismatch_and_an_estimator_it_cannot_train():
    data = (np.ones((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match="2 estimators but 1 data sets"):
        fit_epochs_together([LinearRegressor(), LinearRegressor()], [data])
    with pytest.raises(TypeError, match=r"estimators\[1\] \(Pipeline\) has no fit_epochs"):
        fit_epochs_together([LinearRegressor(), make_pipeline(LinearRegressor())], [data, data])


def test_a_trial_of_stacked_folds_records_what_separate_folds_record(monkeypatch, stacks):
    X, y = classification(n=240)
    base = MLPClassifier((8,), batch_size=16, max_epochs=6, random_state=0)
    space = SearchSpace(["adam"], ["constant"], params={"lr": 0.01, "beta1": 0.9, "beta2": 0.99})
    objective = Objective(base, X, y, space, cv=3, random_state=0)
    trial = optuna.trial.FixedTrial({"optimizer": "adam", "schedule": "constant"})
    stacked = objective(trial)
    assert stacks == [3]
    stacked_attrs = dict(trial.user_attrs)
    monkeypatch.setattr(_session.Session, "stacks_with", lambda self, other: False)
    trial = optuna.trial.FixedTrial({"optimizer": "adam", "schedule": "constant"})
    assert objective(trial) == pytest.approx(stacked, rel=1e-12)
    for key in ("fold_scores", "epochs", "end"):
        assert trial.user_attrs[key] == stacked_attrs[key]
    for key in ("loss", "score", "lr"):
        np.testing.assert_allclose(trial.user_attrs["curves"][key], stacked_attrs["curves"][key],
                                   rtol=1e-12)  # fmt: skip


def test_a_stacked_estimator_continues_with_warm_start_as_a_fitted_one_does():
    X, y = classification(n=160)
    base = MLPClassifier((6,), optimizer=optim.Adam(lr=0.01), batch_size=16, max_epochs=4)
    estimators = [clone(base).set_params(random_state=k) for k in range(2)]
    drain(estimators, [(X, y), (X[:150], y[:150])])
    alone = clone(estimators[1]).fit(X[:150], y[:150])
    for est in (estimators[1], alone):
        est.set_params(warm_start=True).fit(X[:150], y[:150])
    assert_same_fit(estimators[1], alone)
    assert alone.optimizer_state_.t == 2 * 4 * 10


def test_float32_replicas_train_in_float32_as_separate_fits_do(stacks):
    X, y = classification(n=160)
    X = X.astype(np.float32)
    base = MLPClassifier((6,), batch_size=16, max_epochs=5)
    estimators = [clone(base).set_params(random_state=k) for k in range(2)]
    datasets = [(X, y, None), (X[:150], y[:150], np.linspace(0.5, 2.0, 150))]
    drain(estimators, datasets)
    assert stacks == [2]
    for est, (Xk, yk, wk) in zip(estimators, datasets):
        alone = clone(est).fit(Xk, yk, sample_weight=wk)
        assert est.coefs_[0].dtype == np.float32 and est.optimizer_state_.dtype == np.float32
        np.testing.assert_allclose(weights(est), weights(alone), rtol=1e-5, atol=1e-6)
