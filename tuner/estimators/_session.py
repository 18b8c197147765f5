"""The epoch loop every training runs, for one estimator or several trained as one.

A :class:`Session` is what one estimator brings to a training: its checked
data, its start and its validation data. :func:`train` runs the sessions of
one configuration as the replicas of one :class:`~._training.Trainer`, epoch
after epoch, applying each estimator's own stopping rules, and yields after
every epoch with every estimator current. ``fit``, ``fit_epochs`` and
``partial_fit`` train one session; :func:`fit_epochs_together` stacks the
estimators that can share a trainer (the folds of a tuning trial).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from optim import Optimizer, OptimizerState, Schedule

from ._outcomes import DivergenceError, EpochResult
from ._training import Replica, Trainer

__all__ = ["Session", "fit_epochs_together", "one", "train"]

#: What a training yields after each epoch: the result of every estimator still
#: training, by its position, or the DivergenceError of one that diverged in it.
Epoch = dict[int, EpochResult | DivergenceError]


@dataclass
class Session:
    """One estimator's training, checked and initialized, before its first epoch.

    Built by the estimator's ``_prepare``; ``replica`` holds its data and start.
    """

    estimator: Any
    replica: Replica
    validation: tuple[Any, np.ndarray] | None
    early: bool
    optimizer: Optimizer
    schedule: Schedule
    opt_state: OptimizerState
    continuing: bool  # from a fitted state (warm_start, partial_fit)
    batch_size: int

    def stacks_with(self, other: Session) -> bool:
        """Whether the two trainings can be replicas of one trainer.

        The same network, loss, L2 term, optimizer, schedule and batches, on dense
        data, both new: one optimizer step (elementwise; the trainer clips each
        replica's gradient norm itself) then updates each replica as its own step
        would, and one learning rate (a schedule without state) serves both.
        """
        a, b = self.estimator, other.estimator
        return (
            not self.alone()
            and not other.alone()
            and type(a) is type(b)
            and a._network.layer_sizes == b._network.layer_sizes
            and a._network.activation == b._network.activation
            and _loss_key(a) == _loss_key(b)
            and float(a.alpha) == float(b.alpha)
            and self.optimizer == other.optimizer
            and self.schedule == other.schedule
            and a.schedule_interval == b.schedule_interval
            and self.batch_size == other.batch_size
            and a.shuffle == b.shuffle
            and self.replica.params.dtype == other.replica.params.dtype
            and self.n_epoch_batches == other.n_epoch_batches
        )

    def alone(self) -> bool:
        """Whether this training must have a trainer of its own."""
        return (
            self.continuing
            or sp.issparse(self.replica.X)
            or type(self.optimizer).step is not Optimizer.step
            or self.schedule.init_state() is not None
        )

    @property
    def n_epoch_batches(self) -> int:
        return -(-self.replica.Y.shape[0] // self.batch_size)


def _loss_key(estimator: Any) -> tuple:
    loss = estimator._make_loss(1)
    return type(loss), sorted(vars(loss).items())


def _trainer(sessions: Sequence[Session]) -> Trainer:
    first = sessions[0]
    est = first.estimator
    return Trainer(
        network=est._network,
        loss=est._make_loss(first.replica.Y.shape[1]),
        alpha=float(est.alpha),
        optimizer=first.optimizer,
        schedule=first.schedule,
        schedule_state=est.schedule_state_,
        per_batch=est.schedule_interval == "batch",
        batch_size=first.batch_size,
        shuffle=est.shuffle,
        replicas=[s.replica for s in sessions],
        n_batches=est.n_batches_,
        name=type(est).__name__,
        opt_state=first.opt_state if len(sessions) == 1 else None,
    )


def train(
    sessions: Sequence[Session], *, stopping: bool = True, n_epochs: int | None = None
) -> Iterator[Epoch]:
    """Train the sessions as the replicas of one trainer, yielding after every epoch.

    Each estimator applies its own rules: it stops after ``max_epochs`` epochs
    (``n_epochs`` in this call when given) or, with ``stopping``, by the ``tol``
    rule (on its validation score with early stopping, else its training loss);
    it leaves the stack when it stops or diverges, frozen as it is, and the
    others go on. The estimators are current at every yield. The sessions must
    stack (:meth:`Session.stacks_with`), or be one.
    """
    trainer = _trainer(sessions)  # built now: it computes the reference losses
    for row, s in enumerate(sessions):
        if s.validation is not None and s.estimator.validation_scores_ is None:
            s.estimator.validation_scores_ = []
        s.estimator._sync(trainer, row)
    return _epochs(sessions, trainer, stopping, n_epochs)


@dataclass
class _Patience:
    """scikit-learn's stopping rule, for the validation score or the negated training
    loss: an epoch is bad unless it beats the best so far by ``tol``."""

    best: float = -math.inf
    bad_epochs: int = 0
    best_row: np.ndarray | None = None  # the weights of the best epoch (early stopping)

    def update(self, value: float, tol: float, weights: np.ndarray | None) -> int:
        """Count the epoch that scored ``value``; the bad epochs in a row so far."""
        self.bad_epochs = self.bad_epochs + 1 if value < self.best + tol else 0
        if value > self.best:
            self.best = value
            if weights is not None:
                self.best_row = weights.copy()
        return self.bad_epochs


def _record(session: Session, trainer: Trainer, row: int, t: int, loss: float, lr: float):
    """Make the estimator of ``row`` current after epoch ``t``: curves, schedule, validation
    score, fitted attributes; its EpochResult."""
    est = session.estimator
    est.n_iter_ = t + 1
    est.loss_curve_.append(loss)
    est.lr_curve_.append(lr)
    trainer.schedule.observe(t, loss, est.schedule_state_)
    score = None
    if session.validation is not None:
        X_val, y_val = session.validation
        score = est._score_raw(est._network.predict_raw(X_val, trainer.arrays(row)), y_val)
        est.validation_scores_.append(score)
        if est.best_validation_score_ is None or score > est.best_validation_score_:
            est.best_validation_score_ = score
    est._sync(trainer, row)
    if est.verbose:
        shown = "" if score is None else f", validation score {score:.6g}"
        print(f"Epoch {est.n_iter_}: loss {loss:.6g}, learning rate {lr:.3g}{shown}")
    est.stop_reason_ = "stopped"  # until the caller asks for the next epoch
    return EpochResult(est.n_iter_, loss, score, lr, est)


def _epochs(
    sessions: Sequence[Session], trainer: Trainer, stopping: bool, n_epochs: int | None
) -> Iterator[Epoch]:
    patience = [_Patience() for _ in sessions]
    active = list(range(len(sessions)))  # the sessions still training, by trainer row
    for epoch in range(1, 1 + max(n_epochs or s.estimator.max_epochs for s in sessions)):
        t = sessions[active[0]].estimator.n_iter_
        outcome = trainer.run_epoch(t)
        results: Epoch = {}
        leaving: dict[int, str | None] = {}  # row -> stop reason (None: diverged)
        for row, k in enumerate(active):
            session, est = sessions[k], sessions[k].estimator
            error = outcome.diverged[row]
            if error is not None:
                est._sync(trainer, row, n_batches=trainer.good_batches)
                est.stop_reason_ = "diverged"
                results[k], leaving[row] = error, None
                continue
            loss, lr = float(outcome.loss[row]), float(outcome.learning_rate[row])
            results[k] = result = _record(session, trainer, row, t, loss, lr)
            value = result.validation_score if session.early else -loss
            weights = trainer.matrix[row] if session.early else None
            bad_epochs = patience[k].update(value, est.tol, weights)
            if stopping and bad_epochs >= est.n_iter_no_change:
                leaving[row] = "early_stopping" if session.early else "no_improvement"
            elif epoch == (n_epochs or est.max_epochs):
                leaving[row] = "max_epochs"
        yield results
        for row, reason in leaving.items():
            k = active[row]
            est = sessions[k].estimator
            if reason is None:
                continue
            est.stop_reason_ = reason
            if reason == "max_epochs" and stopping:
                watched = "validation score" if sessions[k].early else "training loss"
                warnings.warn(
                    f"{type(est).__name__}: max_epochs={est.max_epochs} reached before the "
                    f"{watched} stopped improving by tol={est.tol} for "
                    f"n_iter_no_change={est.n_iter_no_change} epochs; consider more "
                    "epochs or a larger learning rate.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            if patience[k].best_row is not None:
                trainer.matrix[row] = patience[k].best_row
                est._sync(trainer, row)
        if leaving:
            rows = [row for row in range(len(active)) if row not in leaving]
            if not rows:
                return
            trainer.keep(np.array(rows))
            active = [active[row] for row in rows]


def one(epochs: Iterator[Epoch]) -> Iterator[EpochResult]:
    """The epochs of a training of one estimator, raising its DivergenceError."""
    for results in epochs:
        result = results[0]
        if isinstance(result, DivergenceError):
            raise result
        yield result


def fit_epochs_together(
    estimators: Sequence[Any],
    datasets: Sequence[tuple[Any, ...]],
    seconds: list[float] | None = None,
) -> Iterator[Epoch]:
    """Train each estimator on its data set, all in lock step, one epoch per step.

    Estimators of this package with one configuration (they may differ in
    ``random_state`` and their stopping rules) on dense data are trained as the
    replicas of one stacked model, each with its own data, start, shuffling,
    sample weights and stopping; each ends as a separate ``fit`` of its data
    would, to round-off. Others (sparse data, a continued training, a schedule
    with a state, a different number of batches per epoch, an estimator of
    another package with ``fit_epochs``) train on their own, in the same steps.

    Parameters
    ----------
    estimators : sequence of estimators
        Estimators with ``fit_epochs``, trained in place.
    datasets : sequence of tuples
        ``(X, y)`` or ``(X, y, sample_weight)`` for each estimator.
    seconds : list of float, optional
        Seconds each estimator spent training are added to ``seconds[k]`` (a
        stack's time is shared equally among its replicas).

    Returns
    -------
    iterator of dict of int to EpochResult or DivergenceError
        After every epoch, the result of every estimator still training, by its
        position; an estimator that diverged gives its DivergenceError (it keeps
        the weights of its last sane epoch) and trains no more. As with
        ``fit_epochs``, the input is checked and the models initialized when
        this is called.
    """
    if len(estimators) != len(datasets):
        raise ValueError(f"{len(estimators)} estimators but {len(datasets)} data sets")
    seconds = [0.0] * len(estimators) if seconds is None else seconds
    groups: list[tuple[list[int], Iterator[Epoch]]] = []
    sessions: list[tuple[int, Session]] = []
    for k, (est, data) in enumerate(zip(estimators, datasets)):
        X, y, *weight = data
        start = time.perf_counter()
        if hasattr(est, "_prepare"):
            sessions.append((k, est._prepare(X, y, *weight)))
        elif not hasattr(est, "fit_epochs"):
            raise TypeError(
                f"estimators[{k}] ({type(est).__name__}) has no fit_epochs; use a tuner "
                "estimator, or one with fit_epochs"
            )
        else:
            epochs = est.fit_epochs(X, y, sample_weight=weight[0] if weight else None)
            groups.append(([k], _numbered(k, epochs)))
        seconds[k] += time.perf_counter() - start
    while sessions:
        (k, first), *rest = sessions
        group, sessions = [(k, first)], []
        for j, session in rest:
            (group if first.stacks_with(session) else sessions).append((j, session))
        members = [j for j, _ in group]
        start = time.perf_counter()
        epochs = train([session for _, session in group])
        for j in members:
            seconds[j] += (time.perf_counter() - start) / len(members)
        groups.append((members, _renumbered(members, epochs)))
    groups.sort(key=lambda g: g[0][0])
    return _lock_step(groups, seconds)


def _lock_step(groups: list[tuple[list[int], Iterator[Epoch]]], seconds: list[float]):
    """Advance every group once per round; yield the merged results of each round.

    A group's time is shared among the members it still trains.
    """
    while groups:
        merged: Epoch = {}
        going = []
        for members, epochs in groups:
            start = time.perf_counter()
            results = next(epochs, None)
            share = (time.perf_counter() - start) / len(members)
            for k in members:
                seconds[k] += share
            if results is not None:
                merged.update(results)
                going.append(([k for k in members if k in results], epochs))
        groups = going
        if merged:
            yield dict(sorted(merged.items()))


def _numbered(k: int, epochs: Iterator[EpochResult]) -> Iterator[Epoch]:
    """An estimator's own ``fit_epochs`` as the epochs of position ``k``."""
    try:
        for result in epochs:
            yield {k: result}
    except DivergenceError as error:
        yield {k: error}


def _renumbered(positions: list[int], epochs: Iterator[Epoch]) -> Iterator[Epoch]:
    for results in epochs:
        yield {positions[row]: value for row, value in results.items()}
