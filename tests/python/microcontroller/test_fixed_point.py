"""Export-time quantization arithmetic (TFLite's QuantizeMultiplier and friends)."""

import math

import numpy as np
import pytest

from edgequant.microcontroller import fixed_point


@pytest.mark.parametrize("real", [1e-9, 0.0003, 0.25, 0.5, 0.75, 0.999999999, 1.0, 1.5, 3.7, 1000.0])
def test_quantize_multiplier_represents_the_real_value(real):
    multiplier, shift = fixed_point.quantize_multiplier(real)
    assert 2**30 <= multiplier < 2**31
    assert math.isclose(multiplier * 2.0 ** (shift - 31), real, rel_tol=2**-30)


def test_quantize_multiplier_edges():
    assert fixed_point.quantize_multiplier(0.0) == (0, 0)
    assert fixed_point.quantize_multiplier(2.0**-40) == (0, 0)  # TFLite flushes shifts below -31 to zero
    # a mantissa that rounds up to 2^31 moves into the next power of two
    assert fixed_point.quantize_multiplier(1.0 - 2.0**-40) == (2**30, 1)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="multiplier"):
            fixed_point.quantize_multiplier(bad)


def test_round_half_away_from_zero():
    assert [fixed_point.round_half_away(v) for v in (0.5, 1.5, -0.5, -1.5, 2.4, -2.6)] == [1, 2, -1, -2, 2, -3]


def test_activation_ranges():
    assert fixed_point.activation_range("NONE", 0.1, 3) == (-128, 127)
    assert fixed_point.activation_range("RELU", 0.1, -20) == (-20, 127)
    assert fixed_point.activation_range("RELU6", 0.1, -20) == (-20, 40)
    assert fixed_point.activation_range("RELU6", 0.01, 100) == (100, 127)  # clipped to int8
    with pytest.raises(ValueError, match="TANH"):
        fixed_point.activation_range("TANH", 0.1, 0)


def test_same_padding_matches_tensorflow():
    # 32 -> 16 with a 3x3 stride-2 filter: total padding 1, TensorFlow puts 0 before and 1 after
    assert fixed_point.same_padding(32, 3, 2, 1, 16) == 0
    assert fixed_point.same_padding(32, 3, 1, 1, 32) == 1
    assert fixed_point.same_padding(5, 3, 1, 2, 5) == 2  # dilated: effective size 5


def test_softmax_parameters_cover_the_input_range():
    multiplier, shift, diff_min = fixed_point.softmax_parameters(1.0, 0.1)
    assert 2**30 <= multiplier < 2**31 and diff_min < 0
    # the real input scale times 2^26 (5 integer bits) is what the multiplier encodes
    assert math.isclose(multiplier * 2.0 ** (shift - 31), float(np.float32(0.1)) * 2**26, rel_tol=1e-9)
