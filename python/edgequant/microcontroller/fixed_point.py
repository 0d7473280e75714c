"""TFLite's export-time quantization arithmetic (its ``QuantizeMultiplier``, activation ranges, Softmax
and Add parameters) and SAME padding, as TFLite Micro computes them in C++ at ``Prepare`` time.

Every number is computed once, in the core (``cpp/quant/fixed_point.h``, ``cpp/engine/graph/padding.h``);
these are thin wrappers that keep the front ends' calling conventions. Bad arguments raise ValueError."""

from __future__ import annotations

import math

import numpy as np

from .. import _core

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    """``std::round``: ties away from zero (the rounding of every export-time number below)."""
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
    return _core.quantize_multiplier(float(real), int(max_shift))


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
    multipliers, shifts = _core.per_channel_multipliers(float(input_scale), scales.tolist(), float(output_scale))
    return np.array(multipliers, np.int32), np.array(shifts, np.int32)


def quantize_biases(biases, input_scale: float, weight_scales) -> np.ndarray:
    """int32 biases at ``input_scale * weight_scale`` (one weight scale, or one per bias): rounded half to even,
    saturated to int32."""
    biases = np.asarray(biases, np.float64).reshape(-1)
    scales = np.asarray(weight_scales, np.float64).reshape(-1)
    return np.array(_core.quantize_biases(biases.tolist(), float(input_scale), scales.tolist()), np.int32)


def fully_connected_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """A fully connected layer's ``(multiplier, shift)`` (TFLite's GetQuantizedConvolutionMultipler: the
    input and filter scales multiplied in float32)."""
    return _core.fully_connected_multiplier(float(input_scale), float(filter_scale), float(output_scale))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """The int8 clamp a fused activation becomes (TFLite's CalculateActivationRangeQuantized)."""
    return _core.activation_range(str(activation), float(scale), int(zero_point))


def same_padding(input_size: int, filter_size: int, stride: int, dilation: int, output_size: int) -> int:
    """The leading padding of TFLite's SAME padding (the smaller half when the total is odd)."""
    return _core.same_padding(int(input_size), int(output_size), int(filter_size), int(stride), int(dilation))[0]


def same_output_size(input_size: int, stride: int) -> int:
    """The output extent of SAME padding: ``ceil(input_size / stride)``."""
    return _core.same_output_size(int(input_size), int(stride))


def softmax_parameters(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) for int8 softmax with 5 integer bits."""
    return _core.softmax_parameters(float(beta), float(input_scale))


def add_parameters(scale1: float, scale2: float, output_scale: float) -> dict:
    """Multipliers of int8 Add (left shift 20, both inputs brought to twice the larger scale)."""
    return _core.add_parameters(float(scale1), float(scale2), float(output_scale))
