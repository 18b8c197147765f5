"""One training session: mini-batches, the optimizer step, the schedule and divergence.

A :class:`Trainer` is built by every ``fit``, ``fit_epochs`` and ``partial_fit``
call and lives only as long as that call: it owns the buffers (the flat
parameter and gradient vectors, the shuffled copy of the data, per-batch-size
activations), none of which is stored on the estimator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from optim import FlatBuffer, Optimizer, OptimizerState, Schedule

from ._losses import Loss
from ._network import Network, Workspace

__all__ = ["DIVERGENCE_FACTOR", "DivergenceError", "EpochResult", "Trainer"]

#: Training has diverged once an epoch's mean loss exceeds this many times the
#: reference loss (see :class:`Trainer`). Sane training, even noisy or at a
#: too-large but stable rate, stays orders of magnitude below the loss of its
#: initial weights times this; an unstable rate grows the loss geometrically.
DIVERGENCE_FACTOR = 1e4


class DivergenceError(ValueError):
    """Training diverged: the loss or the weights became NaN or infinite, or the
    training loss of an epoch (or of the weights it ended with) grew past
    ``DIVERGENCE_FACTOR`` (10,000) times the loss of the initial weights.

    The estimator keeps the weights and optimizer state of the end of the
    last sane epoch (the initial ones if the first epoch diverged).

    Attributes
    ----------
    epoch : int
        The epoch (counted from 1, as ``n_iter_``) in which training diverged.
    loss : float
        The epoch's loss: non-finite, or past the limit (NaN when the weights or
        the gradients diverged first).
    """

    def __init__(self, message: str, epoch: int, loss: float = math.nan):
        super().__init__(message)
        self.epoch = epoch
        self.loss = loss

    def __reduce__(self):
        # Rebuilt with all its arguments, so that it survives joblib's worker processes.
        return type(self), (self.args[0], self.epoch, self.loss)


@dataclass(frozen=True)
class EpochResult:
    """What one epoch of training produced, as given to callbacks and yielded by ``fit_epochs``.

    Attributes
    ----------
    epoch : int
        Epochs completed so far, counting from 1 (equal to ``estimator.n_iter_``).
    loss : float
        Mean training loss of the epoch, including the L2 term.
    validation_score : float or None
        Accuracy (classifiers) or R^2 (regressors) on the validation data after
        the epoch; None when there is no validation data.
    learning_rate : float
        The rate used in the epoch (the mean over its steps when the schedule
        advances per batch).
    estimator : estimator
        The estimator being trained, usable (``predict``, ``score``) right now.
    """

    epoch: int
    loss: float
    validation_score: float | None
    learning_rate: float
    estimator: Any = field(repr=False, compare=False)


@dataclass
class Trainer:
    """Runs epochs of mini-batch training on one data set.

    The objective of a mini-batch :math:`B` with weights :math:`w_i` is the
    weighted mean loss plus the L2 term on the weight matrices,
    :math:`\\sum_{i \\in B} w_i l_i / \\sum_{i \\in B} w_i + \\frac{\\alpha}{2}\\lVert W\\rVert^2`;
    a batch whose weights are all zero is skipped.

    Divergence: an epoch diverges when a batch loss, the weights or most of the
    gradients are not finite, or when its mean loss, or the loss of the weights
    it ends with (on its last batch), exceeds ``DIVERGENCE_FACTOR *
    reference_loss``. The reference is the mean loss of
    the initial weights over the training data, computed when a new training
    starts (``reference_loss=None``) and kept by the estimator for the sessions
    that continue it (``warm_start``, ``partial_fit``). The loss of a session's
    first mini-batch raises it when larger, so that continuing on data of a
    larger scale is not mistaken for divergence.
    """

    network: Network
    loss: Loss
    alpha: float
    params: FlatBuffer
    optimizer: Optimizer
    opt_state: OptimizerState
    schedule: Schedule
    schedule_state: Any
    per_batch: bool
    batch_size: int
    shuffle: bool
    rng: np.random.RandomState
    X: Any
    Y: np.ndarray
    sample_weight: np.ndarray | None
    n_batches: int
    name: str
    reference_loss: float | None = None

    def __post_init__(self) -> None:
        self.grads = self.params.zeros_like()
        # The buffers are never replaced during a session, so their views are taken once.
        self._weights, self._biases = self.network.split(self.params)
        self._g_weights, self._g_biases = self.network.split(self.grads)
        dtype = self.params.dtype
        self._workspaces: dict[int, Workspace] = {}
        self._penalty_grad = np.empty(self.network.n_weights, dtype) if self.alpha else None
        self._shuffled: tuple[Any, ...] = ()
        if self.shuffle and not sp.issparse(self.X):
            # Each epoch gathers the data into these once, so that every batch
            # is a contiguous slice and no batch allocates.
            self._shuffled = (
                np.empty(self.X.shape, self.X.dtype),
                np.empty(self.Y.shape, self.Y.dtype),
            )
        self._good = self._snapshot()
        self._first_batch = True
        if self.reference_loss is None:
            self.reference_loss = self.mean_loss()

    # -- one epoch -------------------------------------------------------------
    # Overflow on the way to divergence is detected and reported as DivergenceError;
    # numpy's own warnings about it would only be noise before that error.
    @np.errstate(over="ignore", invalid="ignore")
    def run_epoch(self, t: int) -> tuple[float, float]:
        """Train one epoch with schedule counter ``t`` (epochs before this one).

        Returns
        -------
        loss : float
            Mean objective over the epoch.
        learning_rate : float
            Rate of the epoch (the mean over its steps when it changes per batch).

        Raises
        ------
        DivergenceError
            After restoring the state of the end of the previous epoch.
        """
        X, Y, sw = self._epoch_data()
        lr0 = self.optimizer.lr
        lr = lr0 * self.schedule.factor(t, self.schedule_state)
        step = self.optimizer.step
        loss_sum = weight_sum = lr_sum = 0.0
        n_steps = n_skipped = 0
        for start in range(0, Y.shape[0], self.batch_size):
            stop = start + self.batch_size
            if self.per_batch:
                lr = lr0 * self.schedule.factor(self.n_batches, self.schedule_state)
            self.n_batches += 1
            wb = None if sw is None else sw[start:stop]
            batch_loss, batch_weight = self._objective(X[start:stop], Y[start:stop], wb)
            if not math.isfinite(batch_loss):
                self._diverge(t, lr, batch_loss)
            if batch_weight == 0.0:
                continue
            if self._first_batch:
                self._first_batch = False
                self.reference_loss = max(self.reference_loss, batch_loss)
            loss_sum += batch_loss * batch_weight
            weight_sum += batch_weight
            lr_sum += lr
            n_steps += 1
            last = (start, stop, wb)
            if not step(self.params, self.grads, self.opt_state, lr=lr):
                n_skipped += 1
        # Skipped steps had non-finite gradients: a few are tolerated, a majority is divergence.
        if 2 * n_skipped > n_steps or not np.isfinite(self.params.vector).all():
            self._diverge(t, lr)
        limit = DIVERGENCE_FACTOR * self.reference_loss
        loss = loss_sum / weight_sum
        if loss > limit:
            self._diverge(t, lr, loss)
        # Each batch's loss is measured before its step: the weights of the last step are
        # measured on its batch, so that the weights an epoch ends with are sane as well.
        start, stop, wb = last
        end_loss, _ = self._objective(X[start:stop], Y[start:stop], wb, backward=False)
        if not end_loss <= limit:
            self._diverge(t, lr, end_loss)
        self._good = self._snapshot()
        return loss, lr_sum / n_steps

    @np.errstate(over="ignore", invalid="ignore")
    def mean_loss(self) -> float:
        """Mean objective of the current weights over the training data; no step is taken."""
        total = weight = 0.0
        for start in range(0, self.Y.shape[0], self.batch_size):
            stop = start + self.batch_size
            sw = None if self.sample_weight is None else self.sample_weight[start:stop]
            value, w = self._objective(self.X[start:stop], self.Y[start:stop], sw, backward=False)
            total += value * w
            weight += w
        return total / weight

    def _epoch_data(self) -> tuple[Any, np.ndarray, np.ndarray | None]:
        if not self.shuffle:
            return self.X, self.Y, self.sample_weight
        order = self.rng.permutation(self.Y.shape[0])
        if self._shuffled:
            X = np.take(self.X, order, axis=0, out=self._shuffled[0])
            Y = np.take(self.Y, order, axis=0, out=self._shuffled[1])
        else:
            X, Y = self.X[order], self.Y[order]
        sw = None if self.sample_weight is None else self.sample_weight[order]
        return X, Y, sw

    def _objective(
        self, X, Y: np.ndarray, sw: np.ndarray | None, *, backward: bool = True
    ) -> tuple[float, float]:
        """The batch's mean objective and total weight; ``backward`` fills ``self.grads``."""
        n = Y.shape[0]
        if sw is None:
            weight, scale = float(n), 1.0 / n
        else:
            weight = float(sw.sum())
            if weight == 0.0:
                return 0.0, 0.0
            scale = (sw / weight)[:, np.newaxis]
        ws = self._workspaces.get(n)
        if ws is None:
            ws = self._workspaces[n] = Workspace(self.network, n, self.params.dtype)
        net = self.network
        raw = net.forward(X, self._weights, self._biases, ws)
        value = self.loss.value_and_gradient(raw, Y, scale, ws.deltas[-1])
        w = self.params.vector[: net.n_weights]
        if self.alpha:
            value += 0.5 * self.alpha * float(w @ w)
        if backward:
            net.backward(X, self._weights, self._g_weights, self._g_biases, ws)
            if self.alpha:
                np.multiply(w, self.alpha, out=self._penalty_grad)
                self.grads.vector[: net.n_weights] += self._penalty_grad
        return value, weight

    # -- divergence ------------------------------------------------------------
    def _snapshot(self) -> tuple[np.ndarray, dict[str, Any], int]:
        return self.params.vector.copy(), self.opt_state.state_dict(), self.n_batches

    def _diverge(self, t: int, lr: float, loss: float | None = None) -> None:
        vector, state, n_batches = self._good
        np.copyto(self.params.vector, vector)
        self.opt_state.load_state_dict(state)
        self.n_batches = n_batches
        if loss is None:
            what, loss = "the weights or their gradients became NaN or infinite", math.nan
        elif math.isfinite(loss):
            what = (
                f"the training loss grew to {loss:.3g}, more than {DIVERGENCE_FACTOR:g} times "
                f"the loss of the initial weights ({self.reference_loss:.3g}),"
            )
        else:
            what = f"the training loss became {loss}"
        raise DivergenceError(
            f"{self.name} diverged in epoch {t + 1}: {what} at learning rate {lr:.3g}. "
            "Try a smaller learning rate (the optimizer's lr, or a decaying schedule) "
            "or scale the inputs (for example with StandardScaler). The weights of the "
            "end of the last sane epoch were kept.",
            epoch=t + 1,
            loss=loss,
        )
