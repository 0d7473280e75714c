"""Midrise against the NumPy reference written from SPEC §1, and its own properties."""

import numpy as np
import pytest
import quantizer_reference as ref
from quantizer_inputs import DTYPES, LEVELS, assert_matches_reference, edge_values, laplacian

from edgequant.quantizers import Midrise


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("levels", LEVELS)
def test_matches_reference_bit_for_bit(levels, dtype):
    x = np.concatenate([laplacian(20_001, dtype), edge_values(2.0 / levels, dtype)])
    assert_matches_reference(Midrise(levels), x, ref.midrise_encode, ref.midrise_decode, levels=levels)


def test_hand_computed_cases():
    # L = 4 over [-1, 1]: step 0.5; no zero level, so 0 goes to +1
    x = np.array([0.0, 0.2, 0.26, 0.75, -0.75, 1.0, 3.0, -3.0], dtype=np.float32)
    np.testing.assert_array_equal(Midrise(4).encode(x), [1, 1, 1, 2, -2, 2, 2, -2])
    np.testing.assert_allclose(Midrise(4)(x), [0.25, 0.25, 0.25, 0.75, -0.75, 0.75, 0.75, -0.75])


def test_clipping_to_the_outermost_level():
    np.testing.assert_allclose(Midrise(8)(np.float32([5.0, -5.0])), [0.875, -0.875])


def test_decode_refuses_the_missing_zero_level():
    with pytest.raises(ValueError, match="alphabet"):
        Midrise(8).decode(np.int32([1, 0]))
