"""One training session: mini-batches, the optimizer step, the schedule and divergence.

A :class:`Trainer` is built by every ``fit``, ``fit_epochs`` and ``partial_fit``
call and lives only as long as that call: it owns the buffers (the flat
parameter and gradient vectors, the shuffled copy of the data, per-batch-size
activations), none of which is stored on the estimator.

It trains ``r`` replicas of one configuration at once (see ``_network``): each
has its own data, weights, sample weights and shuffling stream, and one
optimizer step updates them all. A plain ``fit`` is one replica.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optim import FlatBuffer, Optimizer, OptimizerState, Schedule

from ._batches import StackedBatches
from ._losses import Loss
from ._network import Network, Workspace
from ._outcomes import DIVERGENCE_FACTOR, DivergenceError, StackedEpoch

__all__ = ["Replica", "Trainer"]


@dataclass
class Replica:
    """One model of a :class:`Trainer`: its training data, start and shuffling stream.

    Attributes
    ----------
    X : ndarray of shape (n, n_features), or a CSR matrix (a replica trained alone)
    Y : ndarray of shape (n, n_outputs)
        Encoded targets, in X's dtype.
    sample_weight : ndarray of shape (n,) or None
    params : ndarray of shape (n_params,)
        The weights to start from (the network's flat layout).
    rng : numpy.random.RandomState
        Draws the order of every epoch.
    reference_loss : float or None
        The divergence reference of a training that continues; None computes it.
    """

    X: Any
    Y: np.ndarray
    sample_weight: np.ndarray | None
    params: np.ndarray
    rng: np.random.RandomState
    reference_loss: float | None = None


class Trainer:
    """Runs epochs of mini-batch training of ``r`` replicas of one network.

    The objective of a mini-batch :math:`B` with weights :math:`w_i` is the
    weighted mean loss plus the L2 term on the weight matrices,
    :math:`\\sum_{i \\in B} w_i l_i / \\sum_{i \\in B} w_i + \\frac{\\alpha}{2}\\lVert W\\rVert^2`;
    a batch whose weights are all zero is skipped.

    Replicas: the replicas' data are stacked on a leading axis, the smaller ones
    padded with rows of zero weight, so that every replica takes every batch
    (callers stack replicas with the same number of batches per epoch). One
    optimizer step updates every replica; a replica whose batch has zero weight,
    or whose gradient is not finite, is held where it was, as a separate
    training skips that step. The step counter ``t`` of the optimizer is shared,
    so a held replica's later steps use the stack's bias correction (Adam): the
    one difference from training it alone, and only after such a step.

    Divergence: an epoch diverges when a batch loss, the weights or most of the
    gradients are not finite, or when its mean loss, or the loss of the weights
    it ends with (on its last batch), exceeds ``DIVERGENCE_FACTOR *
    reference_loss``. The reference is the mean loss of
    the initial weights over the training data, computed when a new training
    starts and kept by the estimator for the sessions that continue it
    (``warm_start``, ``partial_fit``). The loss of a session's first mini-batch
    raises it when larger, so that continuing on data of a larger scale is not
    mistaken for divergence. A replica that diverges is returned to the end of
    its last sane epoch; the others are not affected.
    """

    def __init__(
        self,
        *,
        network: Network,
        loss: Loss,
        alpha: float,
        optimizer: Optimizer,
        schedule: Schedule,
        schedule_state: Any,
        per_batch: bool,
        batch_size: int,
        shuffle: bool,
        replicas: list[Replica],
        n_batches: int,
        name: str,
        opt_state: OptimizerState | None = None,
    ):
        self.network, self.loss, self.alpha = network, loss, alpha
        self.optimizer, self.schedule, self.schedule_state = optimizer, schedule, schedule_state
        self.per_batch, self.batch_size, self.shuffle = per_batch, batch_size, shuffle
        self.n_batches, self.name = n_batches, name
        sizes = {-(-r.Y.shape[0] // batch_size) for r in replicas}
        if len(sizes) != 1:
            raise ValueError(f"replicas take different numbers of batches per epoch: {sizes}")
        matrix = np.stack([r.params for r in replicas])
        reference = [r.reference_loss for r in replicas]
        # The optimizer clips the norm of the whole vector it is given; a stack clips the
        # gradient of each replica itself (_clip_each), before a step that does not clip.
        self._clip_norm = optimizer.clip_norm if len(replicas) > 1 else None
        if self._clip_norm is not None:
            self.optimizer = copy.copy(optimizer).set_params(clip_norm=None)
        if opt_state is None:
            opt_state = optimizer.init(FlatBuffer([(matrix.size,)], matrix.dtype))
        self._build(replicas, matrix, opt_state, np.zeros(len(replicas), np.intp))
        self._first_batch = True
        if None in reference:
            self.reference_loss = self._mean_loss()
        else:
            self.reference_loss = np.asarray(reference, np.float64)

    def _build(self, replicas, matrix, opt_state, held) -> None:
        """Set up the buffers of ``replicas`` starting from weights ``matrix`` (one row each)."""
        self.replicas = replicas
        r, n_params = matrix.shape
        self.n_replicas = r
        self.params = FlatBuffer([(matrix.size,)], matrix.dtype)
        self.params.vector[...] = matrix.reshape(-1)
        self.grads = self.params.zeros_like()
        self.opt_state = opt_state
        # The buffers are never replaced during a session, so their views are taken once.
        self.matrix = self.params.vector.reshape(r, n_params)
        self._g_matrix = self.grads.vector.reshape(r, n_params)
        net = self.network
        self._weights, self._biases = net.stacked(self.matrix)
        self._weights_t = [w.transpose(0, 2, 1) for w in self._weights]
        self._g_weights, self._g_biases = net.stacked(self._g_matrix)
        self._penalized = self.matrix[:, : net.n_weights]
        self._g_penalized = self._g_matrix[:, : net.n_weights]
        dtype = matrix.dtype
        self._penalty_grad = np.empty(self._penalized.shape, dtype) if self.alpha else None
        self._square_norms = np.empty((r, 1, 1), dtype)
        self._norm_factors = (self._penalized[:, np.newaxis, :], self._penalized[:, :, np.newaxis])
        self._workspaces: dict[int, Workspace] = {}
        #: Steps each replica was held through, and steps it skipped (non-finite gradient).
        self.held = held
        self.skipped = np.zeros(r, np.intp)

        self.data = StackedBatches(replicas, self.batch_size, self.shuffle, dtype)
        n_epoch_batches = len(self.data.current)
        self._batch_losses = np.empty((n_epoch_batches, r))
        # Without sample weights, a batch weighs its number of rows.
        self._batch_weights = np.repeat(self.data.sizes()[:, np.newaxis].astype(float), r, axis=1)
        self._batch_lrs = np.empty(n_epoch_batches)
        self._good = self._snapshot()

    # -- one epoch -------------------------------------------------------------
    # Overflow on the way to divergence is detected and reported as DivergenceError;
    # numpy's own warnings about it would only be noise before that error.
    @np.errstate(over="ignore", invalid="ignore")
    def run_epoch(self, t: int) -> StackedEpoch:
        """Train one epoch of every replica with schedule counter ``t`` (epochs before it)."""
        batches = self.data.epoch()
        lr0 = self.optimizer.lr
        lr = lr0 * self.schedule.factor(t, self.schedule_state)
        losses, weights, lrs = self._batch_losses, self._batch_weights, self._batch_lrs
        skipped = self.skipped.copy()
        step, params, grads, state = self.optimizer.step, self.params, self.grads, self.opt_state
        for i, (xb, yb, wb) in enumerate(batches):
            if self.per_batch:
                lr = lr0 * self.schedule.factor(self.n_batches, self.schedule_state)
            self.n_batches += 1
            if wb is None and self._clip_norm is None:  # the common case, straight
                losses[i] = self._objective(xb, yb, None)[0]
                if not step(params, grads, state, lr=lr):
                    self._skip(lr)
            else:
                losses[i], weights[i] = self._objective(xb, yb, wb)
                if self._clip_norm is not None:
                    self._clip_each()
                self._step(lr, None if wb is None else weights[i] == 0.0)
            lrs[i] = lr
        return self._end_epoch(t, lr, batches, self.skipped - skipped)

    def _end_epoch(self, t, lr, batches, skipped) -> StackedEpoch:
        """Each replica's epoch loss and rate, and the divergence checks of the class doc."""
        losses, weights, lrs = self._batch_losses, self._batch_weights, self._batch_lrs
        r = self.n_replicas
        last = np.full(r, len(lrs) - 1)
        if not self.data.weighted:
            n_steps, rates = np.full(r, len(lrs)), np.full(r, np.add.reduce(lrs) / len(lrs))
            first = np.zeros(r, np.intp)
        else:  # a batch of zero weight took no step and counts for nothing
            stepped = weights > 0.0
            losses = np.where(stepped, losses, 0.0)
            n_steps = np.add.reduce(stepped, axis=0)
            rates = (lrs @ stepped) / n_steps
            last -= np.argmax(stepped[::-1], axis=0)
            first = np.argmax(stepped, axis=0)
        if self._first_batch:
            self._first_batch = False
            self.reference_loss = np.fmax(self.reference_loss, losses[first, np.arange(r)])
        limit = DIVERGENCE_FACTOR * self.reference_loss
        loss = np.add.reduce(losses * weights, axis=0) / np.add.reduce(weights, axis=0)
        # Each batch's loss is measured before its step: the weights of the last step are
        # measured on its batch, so that the weights an epoch ends with are sane as well.
        end_loss = np.empty(r)
        for i in dict.fromkeys(last.tolist()):
            np.copyto(end_loss, self._objective(*batches[i], backward=False)[0], where=last == i)
        # Skipped steps had non-finite gradients: a few are tolerated, a majority is divergence.
        failed = (2 * skipped > n_steps) | ~np.isfinite(self.matrix).all(axis=1)
        failed |= ~np.isfinite(losses).all(axis=0) | ~(loss <= limit) | ~(end_loss <= limit)
        diverged: list[DivergenceError | None] = [None] * r
        for j in np.flatnonzero(failed):
            finite = np.isfinite(losses[:, j])
            if not finite.all():
                i = int(np.argmin(finite))
                diverged[j] = self._error(j, t, lrs[i], losses[i, j])
            elif 2 * skipped[j] > n_steps[j] or not np.isfinite(self.matrix[j]).all():
                diverged[j] = self._error(j, t, lr)
            elif not loss[j] <= limit[j]:
                diverged[j] = self._error(j, t, lr, loss[j])
            else:
                diverged[j] = self._error(j, t, lr, end_loss[j])
        self._batches_before = self._good[2]
        self._good = self._snapshot()
        return StackedEpoch(loss, rates, diverged)

    @np.errstate(over="ignore", invalid="ignore")
    def _mean_loss(self) -> np.ndarray:
        """Mean objective of each replica's current weights over its (unshuffled) training data."""
        total = weight = 0.0
        for batch in self.data.current:
            value, w = self._objective(*batch, backward=False)
            total = total + value * w
            weight = weight + w
        return np.atleast_1d(total / weight)

    def _objective(self, X, Y, W, *, backward: bool = True) -> tuple[Any, Any]:
        """Each replica's batch objective and total weight; ``backward`` fills ``self.grads``.

        Floats for one replica, else arrays of shape (r,) (see ``replica_dots``).
        """
        n = Y.shape[1]
        if W is None:
            weight, scale = float(n), 1.0 / n
        else:
            weight = np.add.reduce(W, axis=1)
            scale = (W / np.where(weight == 0.0, 1.0, weight)[:, np.newaxis])[:, :, np.newaxis]
        ws = self._workspaces.get(n)
        if ws is None:
            ws = Workspace(self.network, self.n_replicas, n, self.matrix.dtype)
            self._workspaces[n] = ws
        net = self.network
        raw = net.forward(X, self._weights, self._biases, ws)
        value = self.loss.value_and_gradient(raw, Y, scale, ws.deltas[-1])
        if self.alpha:
            if self.n_replicas == 1:
                w = self._norm_factors[0][0, 0]
                value += (0.5 * self.alpha) * float(w @ w)
            else:  # a BLAS dot per replica
                np.matmul(*self._norm_factors, out=self._square_norms)
                value = value + (0.5 * self.alpha) * self._square_norms[:, 0, 0]
        if backward:
            net.backward(X, self._weights_t, self._g_weights, self._g_biases, ws)
            if self.alpha:
                np.multiply(self._penalized, self.alpha, out=self._penalty_grad)
                self._g_penalized += self._penalty_grad
        return value, weight

    def _clip_each(self) -> None:
        """Scale each replica's gradient to norm ``clip_norm`` at most, as the optimizer
        scales the gradient of one (a non-finite one is left to the step, which skips it)."""
        for g in self._g_matrix:
            sq = float(np.vdot(g, g))
            if math.isfinite(sq) and sq > self._clip_norm**2:
                g *= self._clip_norm / math.sqrt(sq)

    def _step(self, lr: float, still: np.ndarray | None = None) -> None:
        """One optimizer step of every replica but those ``still`` (a batch of zero weight)
        and those whose gradient is not finite: these keep their weights and optimizer state."""
        if still is not None:
            if still.all():
                return
            if not still.any():
                still = None
        if still is None:
            if not self.optimizer.step(self.params, self.grads, self.opt_state, lr=lr):
                self._skip(lr)
            return
        rows = np.flatnonzero(still)
        states = [self._rows_of(b.vector) for b in self.opt_state.buffers.values()]
        weights, values = self.matrix[rows], [s[rows] for s in states]
        self._g_matrix[rows] = 0.0
        if self.optimizer.step(self.params, self.grads, self.opt_state, lr=lr):
            self.matrix[rows] = weights
            for state, value in zip(states, values):
                state[rows] = value
            self.held[rows] += 1
        else:
            self._skip(lr, still)

    def _skip(self, lr: float, still: np.ndarray | None = None) -> None:
        """After a step the optimizer skipped (a gradient was not finite): count the skip
        of each replica whose gradient is not finite, and step the others."""
        bad = ~np.isfinite(self._g_matrix).all(axis=1)
        self.skipped += bad
        rest = bad if still is None else bad | still
        if not rest.all():
            self.opt_state.n_skipped -= 1  # counted per replica, in self.skipped
            self._step(lr, rest)

    # -- the stack -------------------------------------------------------------
    def _rows_of(self, vector: np.ndarray) -> np.ndarray:
        """A flat vector of the stack's layout as an ``(r, n_params)`` matrix (a view)."""
        return vector.reshape(self.n_replicas, -1)

    def arrays(self, row: int) -> list[np.ndarray]:
        """Views of replica ``row``'s weights and biases, as the network lays them out."""
        return self.network.arrays(self.matrix[row])

    def replica_state(self, row: int) -> OptimizerState:
        """The optimizer state of replica ``row`` alone (a copy; the state itself for one)."""
        if self.n_replicas == 1:
            return self.opt_state
        n_params = self.matrix.shape[1]
        state = self.optimizer.init(np.empty(n_params, self.matrix.dtype))
        buffers = self.opt_state.buffers
        state.load_state_dict({
            "t": self.opt_state.t - int(self.held[row]),
            "n_skipped": int(self.skipped[row]),
            "buffers": {k: self._rows_of(b.vector)[row] for k, b in buffers.items()},
        })  # fmt: skip
        return state

    def keep(self, rows: np.ndarray) -> None:
        """Go on with replicas ``rows`` only: the others are frozen as they are."""
        rows = np.asarray(rows, np.intp)
        state = self.opt_state.state_dict()
        state["buffers"] = {k: self._rows_of(v)[rows].ravel() for k, v in state["buffers"].items()}
        matrix = self.matrix[rows]
        opt_state = self.optimizer.init(FlatBuffer([(matrix.size,)], matrix.dtype))
        opt_state.load_state_dict(state)
        skipped, reference = self.skipped[rows], self.reference_loss[rows]
        self._build([self.replicas[j] for j in rows], matrix, opt_state, self.held[rows])
        self.skipped, self.reference_loss = skipped, reference

    # -- divergence ------------------------------------------------------------
    def _snapshot(self) -> tuple[np.ndarray, dict[str, Any], int, np.ndarray, np.ndarray]:
        return (
            self.matrix.copy(), self.opt_state.state_dict(), self.n_batches,
            self.held.copy(), self.skipped.copy(),
        )  # fmt: skip

    @property
    def good_batches(self) -> int:
        """The batch count of a replica that diverged in the last epoch: that of its start."""
        return self._batches_before

    def _error(self, row: int, t: int, lr: float, loss: float | None = None) -> DivergenceError:
        """Return replica ``row`` to the end of the last sane epoch; its DivergenceError."""
        matrix, state, _, held, skipped = self._good
        self.matrix[row] = matrix[row]
        if self.n_replicas == 1:
            self.opt_state.load_state_dict(state)
        else:
            for name, value in state["buffers"].items():
                self._rows_of(self.opt_state.buffers[name].vector)[row] = self._rows_of(value)[row]
            # Its own step count (the shared one less the steps it was held) is that of then.
            self.held[row] = held[row] + self.opt_state.t - state["t"]
            self.skipped[row] = skipped[row]
        if loss is None:
            what, loss = "the weights or their gradients became NaN or infinite", math.nan
        elif math.isfinite(loss):
            what = (
                f"the training loss grew to {loss:.3g}, more than {DIVERGENCE_FACTOR:g} times "
                f"the loss of the initial weights ({self.reference_loss[row]:.3g}),"
            )
        else:
            what = f"the training loss became {loss}"
        return DivergenceError(
            f"{self.name} diverged in epoch {t + 1}: {what} at learning rate {lr:.3g}. "
            "Try a smaller learning rate (the optimizer's lr, or a decaying schedule) "
            "or scale the inputs (for example with StandardScaler). The weights of the "
            "end of the last sane epoch were kept.",
            epoch=t + 1,
            loss=float(loss),
        )
