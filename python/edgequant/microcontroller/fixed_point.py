"""TFLite's export-time quantization arithmetic (its ``QuantizeMultiplier`` and activation ranges),
done in Python double precision exactly as TFLite Micro does it in C++ at ``Prepare`` time."""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    """``std::round``: ties away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float, max_shift: int = 30) -> tuple[int, int]:
    """``real`` as ``(multiplier, shift)``: real = multiplier * 2**(shift - 31), multiplier in [2**30, 2**31).

    Parameters
    ----------
    real : float
        A non-negative, finite real multiplier.
    max_shift : int
        The largest shift accepted (30: ``x << shift`` must stay within int32; softmax takes 31, see
        :func:`softmax_parameters`).

    Returns
    -------
    (int, int)
        The int32 multiplier and the shift (positive: left). Tiny values (shift < -31) become (0, 0).
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"a requantization multiplier must be finite and non-negative, got {real}")
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    fixed = round_half_away(mantissa * (1 << 31))
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > max_shift:
        raise ValueError(f"requantization multiplier {real} is too large for int32 fixed point")
    return fixed, shift


def check_scale(scale, what: str = "scale") -> float:
    """``scale`` as a float when it is positive and finite; ValueError otherwise (a scale of 0 would
    divide by zero: NaN or inf multipliers, and NumPy warnings instead of a clear refusal)."""
    value = float(np.float32(scale))
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a positive finite number, got {value}")
    return value


def per_channel_multipliers(input_scale: float, filter_scales, output_scale: float, channels: int):
    """Conv / depthwise multipliers (TFLite's PopulateConvolutionQuantizationParams: double products)."""
    check_scale(output_scale, "an output scale")
    scales = np.broadcast_to(np.asarray(filter_scales, np.float32), (channels,))
    pairs = [quantize_multiplier(float(np.float32(input_scale)) * float(s) / float(np.float32(output_scale)))
             for s in scales]
    return np.array([p[0] for p in pairs], np.int32), np.array([p[1] for p in pairs], np.int32)


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """The int8 clamp a fused activation becomes (TFLite's CalculateActivationRangeQuantized)."""
    check_scale(scale, "the scale of a fused activation's output")

    def quantize(value: float) -> int:
        return int(zero_point) + round_half_away(float(np.float32(value) / np.float32(scale)))

    if activation == "NONE":
        return INT8_MIN, INT8_MAX
    if activation == "RELU":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(INT8_MIN, quantize(-1.0)), min(INT8_MAX, quantize(1.0))
    raise ValueError(f"fused activation {activation} has no int8 form")


def same_padding(input_size: int, filter_size: int, stride: int, dilation: int, output_size: int) -> int:
    """The leading padding of TFLite's SAME padding (the smaller half when the total is odd)."""
    effective = (filter_size - 1) * dilation + 1
    return max(0, (output_size - 1) * stride + effective - input_size) // 2


def softmax_parameters(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) for int8 softmax with 5 integer bits."""
    integer_bits = 5
    real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * (1 << (31 - integer_bits)),
               (1 << 31) - 1.0)
    # real >= 2^30 (beta * input scale >= 16): shift 31, as TFLite computes it; then diff_min is 0,
    # so only zero differences (the row's maximum) are ever shifted, and 0 << 31 is 0
    multiplier, shift = quantize_multiplier(real, max_shift=31)
    max_input_rescaled = 1.0 * ((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << shift)
    return multiplier, shift, -int(math.floor(max_input_rescaled))


def add_parameters(scale1: float, scale2: float, output_scale: float) -> dict:
    """Multipliers of int8 Add (left shift 20, both inputs brought to twice the larger scale)."""
    left_shift = 20
    twice_max = 2 * float(max(np.float32(scale1), np.float32(scale2)))
    m1, s1 = quantize_multiplier(float(np.float32(scale1)) / twice_max)
    m2, s2 = quantize_multiplier(float(np.float32(scale2)) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * float(np.float32(output_scale))))
    return {"left_shift": left_shift, "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2,
            "input2_shift": s2, "output_multiplier": mo, "output_shift": so}
