"""The optimizer contract: hyperparameters in the optimizer, everything else in a state.

``Optimizer.step`` is the one driver shared by every algorithm: it checks the
gradient, applies optional global-norm clipping and coupled weight decay, and
then calls the algorithm's elementwise ``_kernel`` on cache-sized blocks of
each contiguous array, so that temporaries stay in cache, with scratch kept in
the state so that no array is allocated per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._hyper import Hyperparameterized, check_number
from .flat import FlatBuffer

__all__ = ["Optimizer", "OptimizerState", "Params"]

#: A parameter container the optimizers accept: a FlatBuffer, one array, or a list of arrays.
Params = FlatBuffer | np.ndarray | Sequence[np.ndarray]

# Elements per block of the blocked update. Large vectors are updated block by
# block so that the handful of passes of one update hit cache, not memory; a
# block of 2**18 elements (the five arrays of an Adam block take 5-10 MiB) was
# fastest on a 2-core machine with a 32 MiB L3: smaller blocks lose to per-call
# overhead, and no blocking is 1.4x slower at 1e7 elements.
BLOCK = 1 << 18


def _arrays(params: Params) -> Sequence[np.ndarray]:
    if isinstance(params, FlatBuffer):
        return params.views
    if isinstance(params, np.ndarray):
        return (params,)
    return params


class OptimizerState:
    """Everything an optimizer changes from step to step.

    Attributes
    ----------
    t : int
        Number of steps applied (skipped steps do not count).
    n_skipped : int
        Number of steps skipped because the gradient was not finite.
    buffers : dict of str to FlatBuffer
        Per-element state (velocity, moments, ...) laid out like the parameters.
    """

    def __init__(self, shapes: Sequence[tuple[int, ...]], dtype: np.dtype, names: Sequence[str]):
        self.shapes = tuple(tuple(s) for s in shapes)
        self.dtype = np.dtype(dtype)
        #: Number of parameter elements.
        self.size = sum(int(np.prod(s, dtype=np.int64)) for s in self.shapes)
        self.t = 0
        self.n_skipped = 0
        self.buffers: dict[str, FlatBuffer] = {}
        self._vectors: dict[tuple[str, ...], tuple[np.ndarray, ...]] = {}
        for name in names:
            self.buffer(name)
        self._scratch: list[np.ndarray] = []

    def buffer(self, name: str) -> FlatBuffer:
        """The buffer ``name``, created as zeros the first time it is asked for."""
        buf = self.buffers.get(name)
        if buf is None:
            buf = self.buffers[name] = FlatBuffer(self.shapes, self.dtype)
            self._vectors.clear()
        return buf

    def vectors(self, names: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        """The flat vectors of buffers ``names`` (cached: the step's fast path)."""
        vectors = self._vectors.get(names)
        if vectors is None:
            vectors = self._vectors[names] = tuple(self.buffer(n).vector for n in names)
        return vectors

    def scratch(self, i: int, n: int) -> np.ndarray:
        """Scratch vector ``i`` with at least ``n`` elements (kept between steps)."""
        while len(self._scratch) <= i:
            self._scratch.append(np.empty(0, self.dtype))
        if self._scratch[i].size < n:
            self._scratch[i] = np.empty(n, self.dtype)
        return self._scratch[i]

    def state_dict(self) -> dict[str, Any]:
        """A copy of the state as plain numbers and arrays."""
        return {
            "t": self.t,
            "n_skipped": self.n_skipped,
            "buffers": {name: buf.vector.copy() for name, buf in self.buffers.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` in place (views of the buffers stay valid)."""
        buffers = state["buffers"]
        for name, value in buffers.items():
            value = np.asarray(value)
            buf = self.buffer(name)
            if value.shape != buf.vector.shape:
                raise ValueError(
                    f"state_dict buffer {name!r} has shape {value.shape}, "
                    f"expected {buf.vector.shape}"
                )
            np.copyto(buf.vector, value)
        for name in set(self.buffers) - set(buffers):
            del self.buffers[name]
        self._vectors.clear()
        self.t = int(state["t"])
        self.n_skipped = int(state["n_skipped"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_scratch"] = []  # scratch and the vector cache hold no information
        state["_vectors"] = {}
        return state

    def __repr__(self) -> str:
        return (
            f"OptimizerState(t={self.t}, n_skipped={self.n_skipped}, size={self.size}, "
            f"dtype={self.dtype}, buffers={sorted(self.buffers)})"
        )


class Optimizer(Hyperparameterized):
    """Base class of the optimizers: ``state = opt.init(params)``, then ``opt.step``.

    Subclasses store their hyperparameters, list their per-element buffers in
    ``_buffer_names``, precompute per-step scalars in ``_coefficients`` and do
    the elementwise update in ``_kernel``. Every subclass has the optional
    ``clip_norm`` (clip the gradient to this global L2 norm) and may have a
    coupled L2 ``weight_decay`` (added to the gradient: ``g <- g + lambda*theta``).

    Non-finite gradients: if any gradient element is NaN or infinite, the step
    is skipped. Parameters and every state buffer are left bit-identical,
    ``state.t`` does not advance, ``state.n_skipped`` is incremented and
    ``step`` returns False, so callers can detect divergence.
    """

    def __init__(self, lr: float = 1e-3, clip_norm: float | None = None):
        self.lr = lr
        self.clip_norm = clip_norm
        self._validate()

    # -- what subclasses provide -------------------------------------------------
    def _buffer_names(self) -> tuple[str, ...]:
        return ()

    def _coefficients(self, lr: float, t: int) -> tuple[float, ...]:
        """Scalars of step ``t`` (from 1) at rate ``lr``, passed to ``_kernel``."""
        return (lr,)

    def _kernel(self, p, g, bufs, tmp, coef) -> None:
        """Update ``p`` and ``bufs`` in place from gradient ``g`` (same shapes).

        ``tmp`` is scratch of the same shape. Must not write to ``g``.
        """
        raise NotImplementedError

    def _coupled_decay(self) -> float:
        return getattr(self, "weight_decay", 0.0)

    def _validate(self) -> None:
        name = type(self).__name__
        check_number(name, "lr", self.lr, low=0.0, low_open=True)
        check_number(name, "clip_norm", self.clip_norm, low=0.0, low_open=True, allow_none=True)
        if hasattr(self, "weight_decay"):
            check_number(name, "weight_decay", self.weight_decay, low=0.0)

    # -- the contract ----------------------------------------------------------------
    def init(self, params: Params) -> OptimizerState:
        """Create the state for ``params`` (zero buffers, ``t = 0``).

        Parameters
        ----------
        params : FlatBuffer, ndarray or sequence of ndarray
            Floating-point arrays to optimize. A :class:`FlatBuffer` gives the
            fastest steps: one vectorized update for all arrays.
        """
        self._validate()
        arrays = _arrays(params)
        for i, a in enumerate(arrays):
            if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
                kind = getattr(a, "dtype", type(a).__name__)
                raise TypeError(f"params[{i}] must be a floating-point ndarray, got {kind}")
        if not arrays:
            raise ValueError("params must contain at least one array")
        dtype = np.result_type(*arrays)
        return OptimizerState([a.shape for a in arrays], dtype, self._buffer_names())

    def step(
        self, params: Params, grads: Params, state: OptimizerState, lr: float | None = None
    ) -> bool:
        """Update ``params`` in place from ``grads``.

        Parameters
        ----------
        params, grads : FlatBuffer, ndarray or sequence of ndarray
            Same layout as given to :meth:`init`. ``grads`` is not modified.
        state : OptimizerState
            From :meth:`init`; updated in place.
        lr : float, optional
            This step's learning rate (for example ``lr0 * schedule(t)``);
            ``self.lr`` when omitted.

        Returns
        -------
        applied : bool
            False when the step was skipped because ``grads`` was not finite.
        """
        if lr is None:
            lr = self.lr
        elif not 0.0 <= lr < math.inf:
            raise ValueError(f"{type(self).__name__}.step: lr must be finite and >= 0, got {lr!r}")
        if isinstance(params, FlatBuffer) and isinstance(grads, FlatBuffer):
            if params.size != state.size or grads.size != state.size:
                raise ValueError(
                    f"params/grads have {params.size}/{grads.size} elements, "
                    f"the state was made for {state.size}"
                )
            ps, gs = (params.vector,), (grads.vector,)
            bufs = (state.vectors(self._buffer_names()),)
        else:
            ps, gs = _arrays(params), _arrays(grads)
            self._check_layout(ps, gs, state)
            views = [state.buffer(n).views for n in self._buffer_names()]
            bufs = list(zip(*views)) if views else [()] * len(ps)

        sq = float(np.vdot(gs[0], gs[0])) if len(gs) == 1 else sum(float(np.vdot(g, g)) for g in gs)
        if not math.isfinite(sq):
            if not all(np.isfinite(g).all() for g in gs):
                state.n_skipped += 1
                return False
            # Finite but the sum of squares overflowed: recompute it in float64.
            sq = sum(float(np.vdot(g, g)) for g in (g.astype(np.float64) for g in gs))
        scale = 1.0
        if self.clip_norm is not None and sq > self.clip_norm**2:
            scale = self.clip_norm / math.sqrt(sq)
        decay = self._coupled_decay()

        state.t += 1
        coef = self._coefficients(lr, state.t)
        for p, g, b in zip(ps, gs, bufs):
            self._update(p, g, b, state, coef, scale, decay)
        return True

    # -- internals -----------------------------------------------------------------
    @staticmethod
    def _check_layout(ps, gs, state: OptimizerState) -> None:
        if len(ps) != len(state.shapes) or len(gs) != len(state.shapes):
            raise ValueError(
                f"got {len(ps)} params and {len(gs)} grads, "
                f"the state was made for {len(state.shapes)} arrays"
            )
        for i, (p, g, shape) in enumerate(zip(ps, gs, state.shapes)):
            if p.shape != shape or g.shape != shape:
                raise ValueError(
                    f"params[{i}] has shape {p.shape} and grads[{i}] {g.shape}; "
                    f"the state was made for {shape}"
                )

    def _update(self, p, g, bufs, state, coef, scale, decay) -> None:
        needs_g = scale != 1.0 or decay != 0.0
        if p.ndim != 1:
            if not p.flags.c_contiguous:
                # Rare slow path: update the strided array whole, with fresh scratch.
                gg = np.empty_like(p) if needs_g else g
                if needs_g:
                    self._effective_grad(p, g, gg, scale, decay)
                bufs = tuple(b.reshape(p.shape) for b in bufs)
                self._kernel(p, gg, bufs, np.empty_like(p), coef)
                return
            p = p.reshape(-1)
            bufs = tuple(b.reshape(-1) for b in bufs)
        if g.ndim != 1:
            g = g.reshape(-1)  # a copy only for a non-contiguous gradient
        n = p.size
        k = min(n, BLOCK)
        tmp = state.scratch(0, k)
        gtmp = state.scratch(1, k) if needs_g else None
        if n <= BLOCK:
            gg = g
            if needs_g:
                gg = self._effective_grad(p, g, gtmp[:n], scale, decay)
            self._kernel(p, gg, bufs, tmp[:n], coef)
            return
        for s in range(0, n, BLOCK):
            e = min(s + BLOCK, n)
            pb, gb = p[s:e], g[s:e]
            if needs_g:
                gb = self._effective_grad(pb, gb, gtmp[: e - s], scale, decay)
            self._kernel(pb, gb, tuple(b[s:e] for b in bufs), tmp[: e - s], coef)

    @staticmethod
    def _effective_grad(p, g, out, scale: float, decay: float):
        """``out = scale * g + decay * p`` (clipped gradient plus coupled L2 term)."""
        if decay == 0.0:
            return np.multiply(g, scale, out=out)
        np.multiply(p, decay / scale, out=out)
        out += g
        if scale != 1.0:
            out *= scale
        return out
