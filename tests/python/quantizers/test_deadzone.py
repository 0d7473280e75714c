"""Dead-zone against the NumPy reference written from SPEC §1, and its relation to midtread/midrise."""

import numpy as np
import pytest
import quantizer_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from quantizer_inputs import DTYPES, LEVELS, assert_matches_reference, edge_values, laplacian

from edgequant.quantizers import Deadzone, Midrise, Midtread


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("levels", LEVELS)
@pytest.mark.parametrize("delta", [0.1, 0.7])
def test_matches_reference_bit_for_bit(delta, levels, dtype):
    x = np.concatenate([laplacian(20_001, dtype), edge_values(2.0 / levels, dtype)])
    assert_matches_reference(Deadzone(levels, delta), x, ref.deadzone_encode, ref.deadzone_decode, levels=levels,
                             delta=delta)


def test_hand_computed_cases():
    # dead zone δ = 0.4, step 0.5: |x| < 0.2 -> 0; 0.26 -> ceil(0.52 - 0.4) = 1 -> 0.5 (1 + 0.4 - 0.5) = 0.45
    dz = Deadzone(4, 0.4)
    np.testing.assert_array_equal(dz.encode(np.float32([0.19, 0.26, -0.26])), [0, 1, -1])
    np.testing.assert_allclose(dz(np.float32([0.19, 0.26, -0.26])), [0.0, 0.45, -0.45], rtol=1e-6)


def test_deadzone_half_is_midtread_and_zero_is_midrise():
    x = laplacian(200_000, np.float64, scale=0.3)
    for levels in (8, 256, 65536):
        np.testing.assert_array_equal(Deadzone(levels, 0.5).encode(x), Midtread(levels).encode(x))
        np.testing.assert_array_equal(Deadzone(levels, 0.5)(x), Midtread(levels)(x))
        np.testing.assert_array_equal(Deadzone(levels, 0.0).encode(x), Midrise(levels).encode(x))
        np.testing.assert_array_equal(Deadzone(levels, 0.0)(x), Midrise(levels)(x))


def test_documented_exceptions_to_the_equivalences():
    # A tie |x|/Δ = 1.5: midtread rounds half to even (2), dead-zone δ=0.5 toward zero (1).
    x = np.float32([0.75])
    assert Midtread(4).encode(x)[0] == 2 and Deadzone(4, 0.5).encode(x)[0] == 1
    # x = 0: midrise has no zero level (+1), dead-zone δ=0 gives the zero symbol.
    assert Midrise(4).encode(np.float32([0.0]))[0] == 1 and Deadzone(4, 0.0).encode(np.float32([0.0]))[0] == 0


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(1, 200), elements=st.floats(-4, 4, allow_subnormal=True)),
    levels=st.integers(2, 1 << 24),
    delta=st.floats(0, 0.999),
)
def test_properties(x, levels, delta):
    step = 2.0 / levels
    y = Deadzone(levels, delta)(x)
    inside = np.abs(x) <= 1.0 - step
    # error <= max(δ, 1-δ)·Δ inside the range (float32 output)
    bound = max(delta, 1 - delta) * step
    assert np.all(np.abs(y - x)[inside] <= bound * (1 + 1e-6) + 1e-6 * np.abs(x[inside]))
    order = np.argsort(x, kind="stable")  # monotone
    assert np.all(np.diff(y[order]) >= 0)
