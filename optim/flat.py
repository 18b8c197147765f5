"""A flat parameter buffer: one contiguous vector with per-array views.

Keeping every parameter of a model in one vector lets an optimizer step do a
fixed handful of vectorized operations whatever the number of layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

__all__ = ["FlatBuffer"]


class FlatBuffer(Sequence):
    """One contiguous 1-D vector holding several arrays as views.

    Parameters
    ----------
    shapes : iterable of tuple of int
        Shape of each array.
    dtype : numpy dtype, default=float64
        Floating-point dtype of the vector.

    Attributes
    ----------
    vector : ndarray of shape (size,)
        The contiguous storage.
    views : tuple of ndarray
        One view of ``vector`` per shape, in order; writing to a view writes
        to the vector.

    Examples
    --------
    >>> buf = FlatBuffer.from_arrays([np.ones((2, 3)), np.zeros(3)])
    >>> W, b = buf
    >>> W[0, 0] = 5.0
    >>> buf.vector[:4]
    array([5., 1., 1., 1.])
    """

    def __init__(self, shapes: Iterable[tuple[int, ...]], dtype: np.dtype | type = np.float64):
        self.shapes = tuple(tuple(int(n) for n in s) for s in shapes)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"FlatBuffer: dtype must be a floating-point type, got {dtype}")
        sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.offsets = tuple(int(o) for o in np.concatenate([[0], np.cumsum(sizes)]))
        self.vector = np.zeros(self.offsets[-1], dtype=dtype)
        self.views = tuple(
            self.vector[a:b].reshape(s)
            for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)
        )

    @classmethod
    def from_arrays(cls, arrays: Iterable[np.ndarray], dtype=None) -> FlatBuffer:
        """Copy ``arrays`` into a new buffer (dtype: theirs in common, unless given)."""
        arrays = [np.asarray(a) for a in arrays]
        if dtype is None:
            dtype = np.result_type(*arrays) if arrays else np.float64
        buf = cls([a.shape for a in arrays], dtype)
        for view, a in zip(buf.views, arrays):
            view[...] = a
        return buf

    def zeros_like(self) -> FlatBuffer:
        """A new zero buffer with the same layout and dtype."""
        return FlatBuffer(self.shapes, self.vector.dtype)

    @property
    def dtype(self) -> np.dtype:
        return self.vector.dtype

    @property
    def size(self) -> int:
        return self.vector.size

    def __len__(self) -> int:
        return len(self.views)

    def __getitem__(self, index):
        return self.views[index]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.views)

    def __repr__(self) -> str:
        return f"FlatBuffer(shapes={list(self.shapes)}, dtype={self.vector.dtype})"

    def __getstate__(self) -> dict:
        return {"shapes": self.shapes, "vector": self.vector}

    def __setstate__(self, state: dict) -> None:
        # Rebuild the views so that they alias the unpickled vector again.
        self.__init__(state["shapes"], state["vector"].dtype)
        self.vector[...] = state["vector"]


def as_segments(arrays: np.ndarray | Sequence[np.ndarray]) -> Sequence[np.ndarray]:
    """The arrays an optimizer updates: one vector for a FlatBuffer, else each array."""
    if isinstance(arrays, FlatBuffer):
        return (arrays.vector,)
    if isinstance(arrays, np.ndarray):
        return (arrays,)
    return arrays
