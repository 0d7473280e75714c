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


# --- The core's binding (cpp/quant/fixed_point.h) against TFLite's published numbers and references written
# --- here from TFLite's formulas in Python's exact integers / doubles.


def _reference_multiplier(real, max_shift=30):
    """TFLite's QuantizeMultiplier from its definition: frexp, 31-bit mantissa rounded half away from zero."""
    if real == 0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    fixed = fixed_point.round_half_away(mantissa * 2**31)
    if fixed == 2**31:
        fixed, shift = fixed // 2, shift + 1
    if shift < -31:
        return 0, 0
    assert shift <= max_shift
    return fixed, shift


def _round_away(numerator, denominator_log2):
    """numerator / 2**denominator_log2 rounded half away from zero, in exact integers."""
    if denominator_log2 == 0:
        return numerator
    magnitude = (abs(numerator) + (1 << (denominator_log2 - 1))) >> denominator_log2
    return magnitude if numerator >= 0 else -magnitude


@pytest.mark.parametrize(
    ("real", "expected"),
    [
        # tensorflow/lite/kernels/internal/quantization_util_test.cc (QuantizeMultiplierSmallerThanOneExp)
        (0.25, (1073741824, -1)),
        (0.50 - 5e-9, (2147483627, -1)),
        (0.50 - 1e-10, (1073741824, 0)),
        (0.50, (1073741824, 0)),
        (0.75, (1610612736, 0)),
        (1 - 1e-9, (2147483646, 0)),
        # exact powers of two: 2**30 and the exponent + 1
        (0.125, (2**30, -2)),
        (1.0, (2**30, 1)),
        (2.0, (2**30, 2)),
        (4.0, (2**30, 3)),
        (2.0**-32, (2**30, -31)),
    ],
)
def test_quantize_multiplier_matches_tflite(real, expected):
    assert fixed_point.quantize_multiplier(real) == expected


def test_quantize_multiplier_matches_the_formula_on_random_reals():
    rng = np.random.default_rng(19)
    for real in np.exp2(rng.uniform(-40, 30, 5000)).tolist() + [2.0**-33, 2.0**-32 * 0.75, 2.0**30 - 1]:
        assert fixed_point.quantize_multiplier(real) == _reference_multiplier(real), real
    assert fixed_point.quantize_multiplier(2.0**30, max_shift=31) == (2**30, 31)
    with pytest.raises(ValueError, match="too large"):
        fixed_point.quantize_multiplier(2.0**30)


def test_integer_arithmetic_matches_the_formula():
    from edgequant import _core

    rng = np.random.default_rng(20)
    edges = [0, 1, -1, 2**30, -(2**30), 2**31 - 1, -(2**31), -(2**31) + 1, 3, -3]
    pairs = [(a, b) for a in edges for b in edges]
    pairs += [tuple(p) for p in rng.integers(-(2**31), 2**31, (3000, 2)).tolist()]
    for a, b in pairs:
        # nearest, ties toward +inf (gemmlowp's nudge and truncating division); INT32_MIN squared saturates
        want = 2**31 - 1 if a == b == -(2**31) else (a * b + 2**30) >> 31
        assert _core.saturating_rounding_doubling_high_mul(a, b) == want, (a, b)
    for x in edges + rng.integers(-(2**31), 2**31, 300).tolist():
        for exponent in range(32):
            assert _core.rounding_divide_by_pot(x, exponent) == _round_away(x, exponent), (x, exponent)
    # the division by a power of two rounds ties away from zero
    assert [_core.rounding_divide_by_pot(v, 1) for v in (3, -3, 5, -5)] == [2, -2, 3, -3]
    assert _core.multiply_by_quantized_multiplier(-(2**31), -(2**31), 0) == 2**31 - 1
    assert _core.multiply_by_quantized_multiplier(10, *fixed_point.quantize_multiplier(0.25)) == 3
    with pytest.raises(ValueError, match="exponent"):
        _core.rounding_divide_by_pot(1, 32)


def test_export_parameters_match_tflite_formulas():
    """The wrappers give what TFLite's Prepare computes (written out here in Python doubles / float32)."""
    rng = np.random.default_rng(21)
    f32 = np.float32
    for _ in range(300):
        s_in, s_out, s_other = (float(v) for v in np.exp2(rng.uniform(-12, 2, 3)))
        filters = np.exp2(rng.uniform(-12, 0, 5)).astype(np.float32)
        multipliers, shifts = fixed_point.per_channel_multipliers(s_in, filters, s_out, 5)
        want = [_reference_multiplier(float(f32(s_in)) * float(s) / float(f32(s_out))) for s in filters]
        assert multipliers.dtype == np.int32 and list(zip(multipliers.tolist(), shifts.tolist(), strict=True)) == want
        assert fixed_point.fully_connected_multiplier(s_in, filters[0], s_out) == _reference_multiplier(
            float(f32(s_in) * f32(filters[0])) / float(f32(s_out))
        )
        twice_max = 2 * float(max(f32(s_in), f32(s_other)))
        add = fixed_point.add_parameters(s_in, s_other, s_out)
        assert (add["input1_multiplier"], add["input1_shift"]) == _reference_multiplier(float(f32(s_in)) / twice_max)
        assert (add["output_multiplier"], add["output_shift"]) == _reference_multiplier(
            twice_max / (2**20 * float(f32(s_out)))
        )
        real = min(float(f32(s_in)) * 2**26, 2**31 - 1.0)
        multiplier, shift = _reference_multiplier(real, 31)
        assert fixed_point.softmax_parameters(1.0, s_in) == (multiplier, shift, -math.floor(31 * 2**26 / 2**shift))
        zero_point = int(rng.integers(-128, 128))
        relu6 = zero_point + fixed_point.round_half_away(float(f32(6.0) / f32(s_out)))
        assert fixed_point.activation_range("RELU6", s_out, zero_point) == (max(-128, zero_point), min(127, relu6))


def test_export_parameters_refuse_bad_scales():
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="positive finite"):
            fixed_point.activation_range("RELU", bad, 0)
    with pytest.raises(ValueError, match="multiplier"):
        fixed_point.add_parameters(0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="too small"):
        fixed_point.softmax_parameters(1.0, 1e-12)


def test_same_padding_is_the_engines():
    from edgequant import _core

    # SAME_UPPER (TFLite's SAME) puts the odd pad at the end, SAME_LOWER at the beginning
    assert _core.same_padding(224, 112, 3, 2, 1, True) == (0, 1)
    assert _core.same_padding(224, 112, 3, 2, 1, False) == (1, 0)
    assert fixed_point.same_output_size(7, 2) == 4
    with pytest.raises(ValueError, match="stride"):
        fixed_point.same_output_size(7, 0)
