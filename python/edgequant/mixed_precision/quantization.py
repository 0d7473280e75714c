"""The one weight quantizer of mixed precision: per-channel affine at a chosen bit width.

Significance, the bit allocator's byte costs, the ``.eqz`` and QDQ writers and QAT's fake
quantization all quantize a weight through :func:`weight_quantizer` so that they agree bit for
bit: ``edgequant.quantizers.Affine`` with signed codes, symmetric by default, one (scale, zero
point) per output channel (``axis``) or per tensor (``axis=None``).

A tensor may carry one bit width, or one per output channel (a list along ``axis``): each
channel is then quantized alone, which equals the per-channel Affine's result on that channel
because the per-channel fit never looks across channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..quantizers import Affine

#: Bit widths a component can take (Affine's range; codes up to 8 bits fit QDQ's int8).
MIN_BITS, MAX_BITS = 2, 16


def weight_quantizer(bits: int, axis: int | None, symmetric: bool = True) -> Affine:
    """The unfitted Affine that quantizes a weight at ``bits`` along output-channel ``axis``."""
    return Affine(bits=bits, symmetric=symmetric, signed=True, axis=axis)


def channel_bits(bits, channels: int, name: str = "bits") -> np.ndarray:
    """``bits`` (an int, or one int per channel) as an int array of length ``channels``."""
    array = np.asarray(bits)
    if array.ndim == 0:
        array = np.full(channels, int(array))
    if array.ndim != 1 or array.shape[0] != channels:
        raise ValueError(f"{name}: expected one bit width or {channels} (one per output channel), got {bits!r}")
    if array.dtype.kind not in "iu" and not np.all(array == np.round(array)):
        raise ValueError(f"{name}: bit widths must be integers, got {bits!r}")
    array = array.astype(np.int64)
    if np.any((array < MIN_BITS) | (array > MAX_BITS)):
        raise ValueError(f"{name}: bit widths must lie in [{MIN_BITS}, {MAX_BITS}], got {sorted(set(array.tolist()))}")
    return array


def quantize_weight_codes(values: np.ndarray, bits, axis: int | None, symmetric: bool = True):
    """Integer codes, scales and zero points of ``values`` at ``bits`` (int, or a list per channel).

    Returns
    -------
    codes : numpy.ndarray of int32, ``values``' shape
    scales : numpy.ndarray of float64, one per channel (one element when ``axis`` is None)
    zero_points : numpy.ndarray of int32, likewise
    """
    values = np.asarray(values, dtype=np.float32)
    if isinstance(bits, (int, np.integer)):
        quantizer = weight_quantizer(int(bits), axis, symmetric)
        codes = quantizer.encode(values)
        return codes, np.atleast_1d(np.asarray(quantizer.scale, np.float64)), np.atleast_1d(
            np.asarray(quantizer.zero_point, np.int32))
    if axis is None:
        raise ValueError("per-channel bit widths need a tensor with an output-channel axis")
    per_channel = channel_bits(bits, values.shape[axis])
    codes = np.empty(values.shape, np.int32)
    scales = np.empty(per_channel.size, np.float64)
    zero_points = np.empty(per_channel.size, np.int32)
    for channel, channel_width in enumerate(per_channel):
        index = [slice(None)] * values.ndim
        index[axis] = slice(channel, channel + 1)
        quantizer = weight_quantizer(int(channel_width), axis, symmetric)
        codes[tuple(index)] = quantizer.encode(values[tuple(index)])
        scales[channel], zero_points[channel] = quantizer.scale[0], quantizer.zero_point[0]
    return codes, scales, zero_points


def quantize_weight(values: np.ndarray, bits, axis: int | None, symmetric: bool = True) -> np.ndarray:
    """``values`` quantize-dequantized (float32) at ``bits``: an int or one width per channel.

    This is the reference QAT's fake quantization must reproduce bit for bit.
    """
    values = np.asarray(values, dtype=np.float32)
    if isinstance(bits, (int, np.integer)):
        return weight_quantizer(int(bits), axis, symmetric)(values)
    codes, scales, zero_points = quantize_weight_codes(values, bits, axis, symmetric)
    return dequantize_codes(codes, scales, zero_points, axis)


def quantize_channel(values: np.ndarray, bits: int, axis: int, channel: int, symmetric: bool = True) -> np.ndarray:
    """A copy of ``values`` with only output channel ``channel`` quantize-dequantized at ``bits``."""
    out = np.array(values, dtype=np.float32, copy=True)
    index = [slice(None)] * out.ndim
    index[axis] = slice(channel, channel + 1)
    out[tuple(index)] = weight_quantizer(bits, axis, symmetric)(out[tuple(index)])
    return out


def dequantize_codes(codes: np.ndarray, scales: np.ndarray, zero_points: np.ndarray, axis: int | None) -> np.ndarray:
    """``float32(s)·(q − z)`` per channel: what Affine.decode and ONNX DequantizeLinear compute."""
    shape = [1] * codes.ndim
    if axis is not None:
        shape[axis] = -1
    scale = np.asarray(scales, np.float32).reshape(shape)
    zero_point = np.asarray(zero_points, np.int32).reshape(shape)
    return ((codes - zero_point).astype(np.float32) * scale).astype(np.float32)


def check_choices(choices: Sequence[int]) -> tuple[int, ...]:
    """Validated bit choices: distinct integers in [2, 16], sorted ascending."""
    if isinstance(choices, (int, np.integer)):
        choices = (choices,)
    try:
        values = [int(b) for b in choices]
    except (TypeError, ValueError):
        raise ValueError(f"choices must be integers in [{MIN_BITS}, {MAX_BITS}], got {choices!r}") from None
    if not values or any(not (MIN_BITS <= b <= MAX_BITS) for b in values) or any(
            b != c for b, c in zip(values, choices, strict=True)):
        raise ValueError(f"choices must be a non-empty list of integers in [{MIN_BITS}, {MAX_BITS}], got {choices!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"choices has repeated bit widths: {values}")
    return tuple(sorted(values))
