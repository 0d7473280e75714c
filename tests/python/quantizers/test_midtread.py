"""Midtread against the NumPy reference written from SPEC §1, and its own properties."""

import numpy as np
import pytest
import quantizer_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from quantizer_inputs import DTYPES, LEVELS, assert_matches_reference, edge_values, laplacian

from edgequant.quantizers import Midtread


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("levels", LEVELS)
def test_matches_reference_bit_for_bit(levels, dtype):
    x = np.concatenate([laplacian(20_001, dtype), edge_values(2.0 / levels, dtype)])
    assert_matches_reference(Midtread(levels), x, ref.midtread_encode, ref.midtread_decode, levels=levels)


def test_hand_computed_cases():
    # L = 4 over [-1, 1]: step 0.5
    x = np.array([0.0, 0.2, 0.26, 0.75, -0.75, 1.0, 3.0, -3.0], dtype=np.float32)
    np.testing.assert_array_equal(Midtread(4).encode(x), [0, 0, 1, 2, -2, 2, 2, -2])  # 0.75/0.5 = 1.5 -> 2 (even)


def test_clipping_to_the_outermost_level():
    np.testing.assert_allclose(Midtread(8)(np.float32([5.0, -5.0])), [1.0, -1.0])


def test_xmax_max_uses_the_tensor_range_and_decodes_after_encode():
    x = laplacian(1000, np.float32, scale=3.0)
    quantizer = Midtread(256, xmax="max")
    with pytest.raises(ValueError, match="encode first"):
        quantizer.decode(np.zeros(3, np.int32))
    symbols = quantizer.encode(x)
    assert quantizer.xmax_ == pytest.approx(float(np.abs(x).max()))
    assert np.abs(symbols).max() == 128
    np.testing.assert_array_equal(quantizer.decode(symbols), Midtread(256, xmax=quantizer.xmax_)(x))


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(1, 200), elements=st.floats(-4, 4, allow_subnormal=True)),
    levels=st.integers(2, 1 << 24),
)
def test_properties(x, levels):
    step = 2.0 / levels
    quantizer = Midtread(levels)
    y = quantizer(x)
    inside = np.abs(x) <= 1.0 - step
    # error <= Δ/2 inside the range (float32 output)
    assert np.all(np.abs(y - x)[inside] <= step / 2 * (1 + 1e-6) + 1e-6 * np.abs(x[inside]))
    order = np.argsort(x, kind="stable")  # monotone
    assert np.all(np.diff(y[order]) >= 0)
    grid = (np.arange(-(levels // 2), levels // 2 + 1, max(1, levels // 64)) * step).astype(np.float32)
    expected = np.clip(np.rint(grid / np.float32(step)), -(levels // 2), levels // 2)  # float32 ends may round past L/2
    assert np.array_equal(Midtread(levels)(grid), np.float32(step) * expected)
