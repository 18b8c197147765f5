"""A fully connected network whose weights all live in one flat parameter vector.

The layout is every weight matrix first, then every bias vector, so that the
L2 penalty (weights only) is one contiguous slice of the vector, and so that a
gradient buffer of the same layout lets the optimizer update the whole model
in a handful of vectorized operations. A linear model is the network without
hidden layers.

Training works on *replicas*: ``r`` models of the same architecture, one per
row of an ``(r, n_params)`` matrix, each with its own mini-batch, trained by
one sequence of stacked NumPy calls (the cross-validation folds of a trial,
or the seeds of a refit). A plain ``fit`` is one replica.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit

__all__ = ["ACTIVATIONS", "Network", "Workspace"]


def _relu(a: np.ndarray) -> None:
    np.maximum(a, 0.0, out=a)


def _tanh(a: np.ndarray) -> None:
    np.tanh(a, out=a)


def _logistic(a: np.ndarray) -> None:
    expit(a, out=a)


def _relu_backward(a: np.ndarray, delta: np.ndarray, tmp: np.ndarray) -> None:
    # a = max(z, 0): the derivative is 1 where a > 0 and 0 elsewhere (sign(a) exactly).
    np.sign(a, out=tmp)
    delta *= tmp


def _tanh_backward(a: np.ndarray, delta: np.ndarray, tmp: np.ndarray) -> None:
    np.multiply(a, a, out=tmp)
    np.subtract(1.0, tmp, out=tmp)
    delta *= tmp


def _logistic_backward(a: np.ndarray, delta: np.ndarray, tmp: np.ndarray) -> None:
    np.subtract(1.0, a, out=tmp)
    tmp *= a
    delta *= tmp


#: Hidden-layer activations: in-place forward, and the backward pass written in
#: terms of the activation's output (which is what the forward pass keeps).
ACTIVATIONS = {
    "identity": (None, None),
    "relu": (_relu, _relu_backward),
    "tanh": (_tanh, _tanh_backward),
    "logistic": (_logistic, _logistic_backward),
}


def _matmul(a, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a @ b`` for stacked replicas; ``a`` may be the sparse matrix of one replica."""
    if isinstance(a, np.ndarray):  # the common case first: a type check, no scipy call
        np.matmul(a, b, out=out)
    else:
        out[0] = a @ b[0]


class Workspace:
    """Preallocated activations and deltas of ``n_replicas`` mini-batches of ``n_rows`` rows."""

    def __init__(self, network: Network, n_replicas: int, n_rows: int, dtype: np.dtype):
        shapes = [(n_replicas, n_rows, w) for w in network.layer_sizes[1:]]
        self.acts = [np.empty(s, dtype) for s in shapes]
        self.deltas = [np.empty(s, dtype) for s in shapes]
        self.tmp = [np.empty(s, dtype) for s in shapes]
        self.acts_t = [a.transpose(0, 2, 1) for a in self.acts]
        # ones @ delta sums the rows through BLAS, faster than delta.sum(axis=1).
        self.ones = np.ones((1, n_rows), dtype)


class Network:
    """Layers ``layer_sizes[0] -> ... -> layer_sizes[-1]``, the hidden ones activated.

    Parameters
    ----------
    layer_sizes : sequence of int
        Input width, hidden widths, output width.
    activation : {"identity", "relu", "tanh", "logistic"}
        Activation of the hidden layers; the output layer stays linear (its
        meaning comes from the loss).
    """

    def __init__(self, layer_sizes: Sequence[int], activation: str):
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        self.activation = activation
        self._forward_act, self._backward_act = ACTIVATIONS[activation]
        fans = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:]))
        self.n_layers = len(fans)
        self.shapes = [*fans, *((n_out,) for _, n_out in fans)]
        #: Length of the weight prefix of the flat vector (what the L2 penalty covers).
        self.n_weights = sum(n_in * n_out for n_in, n_out in fans)
        ends = np.cumsum([int(np.prod(s)) for s in self.shapes]).tolist()
        #: Where each array lies in the flat vector.
        self._slices = [slice(a, b) for a, b in zip([0, *ends[:-1]], ends)]
        #: Length of the flat vector.
        self.n_params = ends[-1]

    def arrays(self, vector: np.ndarray) -> list[np.ndarray]:
        """Views of one flat ``vector``: the weight matrices, then the bias vectors."""
        return [vector[part].reshape(s) for part, s in zip(self._slices, self.shapes)]

    def stacked(self, matrix: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Views of an ``(r, n_params)`` matrix, one replica per row: the weights of each
        layer, shape ``(r, n_in, n_out)``, and its biases, ``(r, 1, n_out)``."""
        r = matrix.shape[0]
        views = [
            matrix[:, part].reshape(r, *s) if len(s) == 2 else matrix[:, part].reshape(r, 1, *s)
            for part, s in zip(self._slices, self.shapes)
        ]
        return views[: self.n_layers], views[self.n_layers :]

    def initialize(self, vector: np.ndarray, rng: np.random.RandomState) -> None:
        """Glorot-uniform weights and biases (as scikit-learn's MLP); zeros without hidden layers.

        The bound is :math:`\\sqrt{6 / (n_{in} + n_{out})}` (:math:`\\sqrt{2/\\cdot}`
        for the logistic activation). A linear model starts at zero, like
        scikit-learn's linear models: its loss is convex, so nothing is gained
        from a random start. Draws are made in float64 so that float32 and
        float64 fits start from the same point.
        """
        if self.n_layers == 1:
            vector[...] = 0.0
            return
        factor = 2.0 if self.activation == "logistic" else 6.0
        arrays = self.arrays(vector)
        weights, biases = arrays[: self.n_layers], arrays[self.n_layers :]
        for (n_in, n_out), w, b in zip(self.shapes, weights, biases):
            bound = np.sqrt(factor / (n_in + n_out))
            w[...] = rng.uniform(-bound, bound, (n_in, n_out))
            b[...] = rng.uniform(-bound, bound, n_out)

    def forward(self, X, weights: Sequence[np.ndarray], biases, ws: Workspace) -> np.ndarray:
        """The raw output of each replica for its mini-batch, keeping every activation in ``ws``.

        ``X`` has shape ``(r, n_rows, n_in)`` (or is the sparse matrix of one replica);
        ``weights`` and ``biases`` are :meth:`stacked` views.
        """
        a = X
        for i in range(self.n_layers):
            out = ws.acts[i]
            if i == 0:
                _matmul(X, weights[0], out)  # X alone may be sparse
            else:
                np.matmul(a, weights[i], out=out)
            out += biases[i]
            if i < self.n_layers - 1 and self._forward_act is not None:
                self._forward_act(out)
            a = out
        return a

    def backward(self, X, weights_t, g_weights, g_biases, ws: Workspace) -> None:
        """Backpropagate ``ws.deltas[-1]`` (the loss gradient) into the gradient views.

        ``weights_t`` are the :meth:`stacked` weights transposed, shape ``(r, n_out, n_in)``.
        """
        for i in range(self.n_layers - 1, -1, -1):
            delta = ws.deltas[i]
            np.matmul(ws.ones, delta, out=g_biases[i])
            if i == 0:
                X_t = X.transpose(0, 2, 1) if isinstance(X, np.ndarray) else X.T
                _matmul(X_t, delta, g_weights[0])
                break
            np.matmul(ws.acts_t[i - 1], delta, out=g_weights[i])
            np.matmul(delta, weights_t[i], out=ws.deltas[i - 1])
            if self._backward_act is not None:
                self._backward_act(ws.acts[i - 1], ws.deltas[i - 1], ws.tmp[i - 1])

    def predict_raw(self, X, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """The raw output of parameter ``arrays`` (weights then biases), allocating freely."""
        weights, biases = arrays[: self.n_layers], arrays[self.n_layers :]
        a = X
        for i, (w, b) in enumerate(zip(weights, biases)):
            a = a @ w
            a += b
            if i < self.n_layers - 1 and self._forward_act is not None:
                self._forward_act(a)
        return a
