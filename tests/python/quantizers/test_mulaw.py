"""μ-law against the NumPy reference written from SPEC §1, and its companding."""

import numpy as np
import pytest
import quantizer_reference as ref
from quantizer_inputs import DTYPES, LEVELS, assert_matches_reference, edge_values, laplacian

from edgequant.quantizers import Midtread, MuLaw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("levels", LEVELS)
def test_matches_reference_bit_for_bit(levels, dtype):
    x = np.concatenate([laplacian(20_001, dtype), edge_values(2.0 / levels, dtype)])
    assert_matches_reference(MuLaw(levels), x, ref.mulaw_encode, ref.mulaw_decode, levels=levels)


def test_clipping_to_the_outermost_level():
    np.testing.assert_allclose(MuLaw(8)(np.float32([5.0, -5.0])), [1.0, -1.0], rtol=1e-6)


def test_mulaw_compands_small_values_finely():
    x = np.float32([0.001, 0.01, 0.5])
    rel_error = np.abs(MuLaw(256)(x) - x) / x
    uni_error = np.abs(Midtread(256)(x) - x) / x
    assert rel_error[0] < uni_error[0] and rel_error[1] < uni_error[1]
