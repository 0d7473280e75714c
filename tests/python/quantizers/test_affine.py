"""Affine INT-N against the NumPy reference (ONNX QuantizeLinear convention)."""

import numpy as np
import pytest
import quantizer_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgequant.quantizers import Affine


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bits", [2, 4, 8, 12, 16])
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("signed", [True, False])
def test_per_tensor_matches_reference(bits, symmetric, signed, dtype):
    x = np.random.default_rng(bits).normal(0.05, 0.2, 5001).astype(dtype)
    quantizer = Affine(bits, symmetric=symmetric, signed=signed)
    symbols = quantizer.encode(x)
    scale, zero, qmin, qmax = ref.affine_params(float(x.min()), float(x.max()), bits, symmetric, signed)
    assert quantizer.scale == pytest.approx(scale, rel=1e-12) and quantizer.zero_point == zero
    np.testing.assert_array_equal(symbols, ref.affine_encode(x, scale, zero, qmin, qmax))
    np.testing.assert_array_equal(quantizer.decode(symbols), ref.affine_decode(symbols, scale, zero))
    np.testing.assert_array_equal(quantizer(x), quantizer.decode(symbols))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_per_channel_matches_reference(axis):
    x = np.random.default_rng(1).normal(0, 1, (6, 5, 7)).astype(np.float32) * np.arange(1, 8, dtype=np.float32)
    quantizer = Affine(8, symmetric=False, axis=axis)
    symbols = quantizer.encode(x)
    moved = np.moveaxis(x, axis, 0)
    expected = np.empty_like(moved, dtype=np.int32)
    for c in range(moved.shape[0]):
        scale, zero, qmin, qmax = ref.affine_params(float(moved[c].min()), float(moved[c].max()), 8, False, True)
        expected[c] = ref.affine_encode(moved[c], scale, zero, qmin, qmax)
        assert quantizer.scale[c] == pytest.approx(scale) and quantizer.zero_point[c] == zero
    np.testing.assert_array_equal(symbols, np.moveaxis(expected, 0, axis))
    np.testing.assert_array_equal(quantizer(x), quantizer.decode(symbols))


@settings(max_examples=50, deadline=None)
@given(x=hnp.arrays(np.float32, st.integers(2, 300), elements=st.floats(-100, 100, width=32)),
       bits=st.integers(2, 16), symmetric=st.booleans(), signed=st.booleans())
def test_error_at_most_half_a_step_inside_the_range(x, bits, symmetric, signed):
    quantizer = Affine(bits, symmetric=symmetric, signed=signed)
    y = quantizer(x)
    s, z = quantizer.scale, quantizer.zero_point
    inside = (x >= s * (quantizer.qmin - z)) & (x <= s * (quantizer.qmax - z))
    assert np.all(np.abs(y - x)[inside] <= s / 2 * (1 + 1e-5) + 1e-6 * np.abs(x[inside]))


def test_all_zero_tensor_and_constant_tensor():
    zeros = np.zeros(10, np.float32)
    assert np.array_equal(Affine(8)(zeros), zeros) and Affine(8).encode(zeros).max() == 0
    const = np.full(10, 3.0, np.float32)
    np.testing.assert_allclose(Affine(8, symmetric=False)(const), const, rtol=1e-2)


def test_bad_axis_and_parameters():
    with pytest.raises(ValueError, match="axis"):
        Affine(8, axis=3).encode(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="bits"):
        Affine(1)
    with pytest.raises(ValueError, match="bits"):
        Affine(17)
    with pytest.raises(ValueError, match="encode first"):
        Affine(8).decode(np.zeros(3, np.int32))
    q = Affine(8, axis=0)
    q.encode(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="channel"):
        q.decode(np.zeros((2, 4), np.int32))
    q4 = Affine(4)
    q4.encode(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="outside"):
        q4.decode(np.array([100], np.int32))


def test_repr_reads_back():
    quantizer = Affine(6, symmetric=False, signed=False, axis=1)
    assert eval(repr(quantizer)) == quantizer


@pytest.mark.parametrize("shape, axis", [((3000,), 0), ((50, 300), 1), ((300, 50), 0), ((4, 64, 3, 3), 1)])
def test_per_channel_short_and_long_runs_agree_with_reference_kernels(shape, axis):
    import edgequant

    x = np.random.default_rng(7).laplace(0, 1, shape).astype(np.float32)
    quantizer = Affine(8, symmetric=False, axis=axis)
    fast_symbols, fast = quantizer.encode(x), quantizer(x)
    with edgequant.use_reference_kernels():
        np.testing.assert_array_equal(quantizer.encode(x), fast_symbols)
        np.testing.assert_array_equal(quantizer(x), fast)
    np.testing.assert_array_equal(quantizer.decode(fast_symbols), fast)
