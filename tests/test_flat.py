"""The flat parameter buffer."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optim

shapes = st.lists(st.lists(st.integers(0, 5), max_size=3).map(tuple), min_size=1, max_size=6)


@given(shapes)
def test_views_tile_the_vector_in_order(shapes):
    buf = optim.FlatBuffer(shapes)
    assert [v.shape for v in buf] == list(shapes)
    buf.vector[:] = np.arange(buf.size)
    joined = np.concatenate([v.ravel() for v in buf]) if buf.size else np.empty(0)
    np.testing.assert_array_equal(joined, np.arange(buf.size))
    assert all(np.shares_memory(v, buf.vector) for v in buf if v.size)


def test_from_arrays_copies_values_and_keeps_a_common_dtype():
    a, b = np.arange(6.0).reshape(2, 3), np.ones(2, dtype=np.float32)
    buf = optim.FlatBuffer.from_arrays([a, b])
    assert buf.dtype == np.float64
    np.testing.assert_array_equal(buf[0], a)
    buf[0][0, 0] = 99.0
    assert a[0, 0] == 0.0 and buf.vector[0] == 99.0
    assert optim.FlatBuffer.from_arrays([b]).dtype == np.float32


def test_zeros_like_has_the_same_layout():
    buf = optim.FlatBuffer([(2, 3), (4,)], np.float32)
    z = buf.zeros_like()
    assert z.shapes == buf.shapes and z.dtype == np.float32 and not z.vector.any()
    assert z.vector is not buf.vector


def test_pickle_keeps_views_aliasing_the_vector():
    buf = optim.FlatBuffer.from_arrays([np.ones((2, 2)), np.zeros(3)])
    copy = pickle.loads(pickle.dumps(buf))
    copy[1][0] = 5.0
    assert copy.vector[4] == 5.0
    np.testing.assert_array_equal(copy[0], buf[0])


def test_integer_dtype_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        optim.FlatBuffer([(2,)], dtype=np.int64)
