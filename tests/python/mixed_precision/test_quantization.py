"""The one weight quantizer: Affine per channel, with one width per tensor or per channel."""

import numpy as np
import pytest

from edgequant.mixed_precision import quantize_weight, quantize_weight_codes, weight_quantizer
from edgequant.mixed_precision.quantization import channel_bits, check_choices, dequantize_codes, quantize_channel
from edgequant.quantizers import Affine


@pytest.fixture
def weights():
    return np.random.default_rng(1).normal(0, 0.3, (6, 3, 3, 3)).astype(np.float32)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_one_width_is_plain_per_channel_affine(weights, bits, symmetric):
    reference = Affine(bits=bits, symmetric=symmetric, signed=True, axis=0)
    np.testing.assert_array_equal(quantize_weight(weights, bits, 0, symmetric), reference(weights))
    codes, scales, zero_points = quantize_weight_codes(weights, bits, 0, symmetric)
    np.testing.assert_array_equal(codes, reference.encode(weights))
    np.testing.assert_array_equal(dequantize_codes(codes, scales, zero_points, 0), reference.decode(codes))


def test_a_list_of_equal_widths_equals_one_width(weights):
    np.testing.assert_array_equal(quantize_weight(weights, [4] * 6, 0), quantize_weight(weights, 4, 0))


def test_each_channel_follows_its_own_width(weights):
    widths = [2, 8, 4, 2, 8, 4]
    mixed = quantize_weight(weights, widths, 0)
    codes, _, _ = quantize_weight_codes(weights, widths, 0)
    for channel, bits in enumerate(widths):
        np.testing.assert_array_equal(mixed[channel], quantize_weight(weights, bits, 0)[channel])
        assert codes[channel].min() >= -(2 ** (bits - 1)) and codes[channel].max() <= 2 ** (bits - 1) - 1
    # along another axis (a Gemm weight [K, N]: output channels on axis 1)
    gemm = weights.reshape(6, -1)
    np.testing.assert_array_equal(quantize_weight(gemm, [2] * gemm.shape[1], 1), quantize_weight(gemm, 2, 1))


def test_quantize_channel_touches_only_that_channel(weights):
    out = quantize_channel(weights, 2, 0, 3)
    full = weight_quantizer(2, 0)(weights)
    np.testing.assert_array_equal(out[3], full[3])
    np.testing.assert_array_equal(np.delete(out, 3, axis=0), np.delete(weights, 3, axis=0))


def test_bad_widths():
    with pytest.raises(ValueError, match="one per output channel"):
        channel_bits([2, 4], 3)
    with pytest.raises(ValueError, match=r"bit widths must lie in \[2, 16\]"):
        channel_bits([1, 4, 4], 3)
    with pytest.raises(ValueError, match="need a tensor with an output-channel axis"):
        quantize_weight(np.ones((2, 2), np.float32), [2, 2], None)
    with pytest.raises(ValueError, match="repeated"):
        check_choices((4, 4))
    with pytest.raises(ValueError, match="non-empty list of integers"):
        check_choices((2, 2.5))
    assert check_choices((8, 2, 4)) == (2, 4, 8)
