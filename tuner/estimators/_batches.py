"""The mini-batches of a trainer's replicas, stacked on a leading axis.

Each replica has its own rows, sample weights and shuffling stream. Their
data are gathered into buffers of shape ``(r, n_rows, ...)``, the smaller
replicas padded with rows of zero weight, so that a mini-batch of every
replica is one slice of the buffers; each epoch reshuffles the rows in place,
so the views of the batches are taken once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["Batch", "StackedBatches"]

#: ``(X, Y, W)`` of a mini-batch of every replica: shapes ``(r, n, n_features)`` (or the
#: CSR rows of one replica), ``(r, n, n_outputs)``, and ``(r, n)`` or None (unweighted).
Batch = tuple[Any, np.ndarray, np.ndarray | None]


class StackedBatches:
    """The mini-batches of ``replicas`` (objects with ``X``, ``Y``, ``sample_weight`` and
    ``rng``), of ``batch_size`` rows, in a new order every epoch when ``shuffle``.

    Attributes
    ----------
    n_rows : int
        Rows of the largest replica; the others are padded to it.
    weighted : bool
        Whether the batches carry weights (sample weights, or padding).
    current : list of Batch
        The batches as they are now (before the first epoch: in the replicas' order).
    """

    def __init__(self, replicas: Sequence[Any], batch_size: int, shuffle: bool, dtype):
        self.replicas, self.batch_size, self.shuffle = replicas, batch_size, shuffle
        r = len(replicas)
        self.n_rows = max(rep.Y.shape[0] for rep in replicas)
        self.weighted = any(rep.sample_weight is not None for rep in replicas) or any(
            rep.Y.shape[0] != self.n_rows for rep in replicas
        )
        one = replicas[0]
        self._sparse = sp.issparse(one.X)
        if self._sparse and r > 1:
            raise ValueError("sparse data trains one replica at a time")
        if r == 1:
            # One replica trains from its own arrays until its first shuffle needs a copy.
            self._X = one.X if self._sparse else one.X[np.newaxis]
            self._Y = one.Y[np.newaxis]
            self._W = None if one.sample_weight is None else one.sample_weight[np.newaxis]
            self._copied = False
        else:
            # Each epoch gathers the data into these once, so that every batch is a
            # contiguous slice and no batch allocates. Padding rows stay zero.
            self._X = np.zeros((r, self.n_rows, one.X.shape[1]), one.X.dtype)
            self._Y = np.zeros((r, self.n_rows, one.Y.shape[1]), one.Y.dtype)
            self._W = np.zeros((r, self.n_rows), dtype) if self.weighted else None
            self._copied = True
            self._gather(shuffle=False)
        self.current = self._views()

    def sizes(self) -> np.ndarray:
        """Rows of each batch (the last may be short)."""
        starts = np.arange(0, self.n_rows, self.batch_size)
        return np.minimum(self.batch_size, self.n_rows - starts)

    def epoch(self) -> list[Batch]:
        """The batches of a new epoch: reshuffled when asked."""
        if not self.shuffle:
            return self.current
        if not self._copied:  # one replica's first shuffle: buffers of its own
            self._copied = True
            self._X = self._X if self._sparse else np.empty_like(self._X)
            self._Y = np.empty_like(self._Y)
            self._W = None if self._W is None else np.empty_like(self._W)
            self.current = self._views()
        if self._sparse:
            rep = self.replicas[0]
            order = rep.rng.permutation(rep.Y.shape[0])
            np.take(rep.Y, order, axis=0, out=self._Y[0])
            if self._W is not None:
                np.take(rep.sample_weight, order, out=self._W[0])
            self._X = rep.X[order]
            self.current = self._views()
        else:
            self._gather(shuffle=True)  # into the buffers that the views show
        return self.current

    def _views(self) -> list[Batch]:
        """Each batch as views of the buffers (the rows of a CSR matrix, a copy)."""
        X, Y, W = self._X, self._Y, self._W
        views = []
        for start in range(0, self.n_rows, self.batch_size):
            rows = slice(start, start + self.batch_size)
            views.append((X[rows] if self._sparse else X[:, rows], Y[:, rows],
                          None if W is None else W[:, rows]))  # fmt: skip
        return views

    def _gather(self, *, shuffle: bool) -> None:
        """Copy each replica's rows into the buffers, in a new random order if asked."""
        for j, rep in enumerate(self.replicas):
            n = rep.Y.shape[0]
            order = rep.rng.permutation(n) if shuffle else np.arange(n)
            np.take(rep.X, order, axis=0, out=self._X[j, :n])
            np.take(rep.Y, order, axis=0, out=self._Y[j, :n])
            if self._W is not None:
                if rep.sample_weight is None:
                    self._W[j, :n] = 1.0
                else:
                    np.take(rep.sample_weight, order, out=self._W[j, :n])
