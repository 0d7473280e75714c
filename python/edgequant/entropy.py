"""Entropy estimates and distortion measures (SPEC §2).

The entropy ``H = −Σ p_i log2 p_i`` of the quantizer's symbols is the rate (bits per weight) an
ideal entropy coder would spend; :mod:`edgequant.coding` is a real coder whose size can be held
against it. Compression ratio and space saving are against 32-bit floats, as in the paper.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from ._validation import float_array, real_in, symbol_array

__all__ = [
    "entropy", "symbol_counts", "float_entropy", "compression_ratio", "space_saving",
    "distortion", "mse", "sqnr_db", "max_abs_error",
]


def entropy(symbols) -> float:
    """Empirical entropy of an integer symbol stream in bits per symbol.

    Parameters
    ----------
    symbols : array_like of int
        Any shape; any integer dtype whose values fit int32.

    Returns
    -------
    float
        ``−Σ p_i log2 p_i`` with ``p_i`` the relative frequencies; 0 for a single-symbol stream.
    """
    return float(_core.entropy_bits(symbol_array(symbols).reshape(-1)))


def symbol_counts(symbols) -> tuple[np.ndarray, np.ndarray]:
    """Distinct symbols in increasing order and their counts (int32, uint64)."""
    return _core.count_symbols(symbol_array(symbols).reshape(-1))


def float_entropy(weights) -> float:
    """Entropy of the raw float32 bit patterns of ``weights`` (bits per weight).

    The paper's estimate for unquantized FP32 models (20–25.7 bits/weight on ImageNet CNNs):
    every distinct 32-bit pattern is a symbol. float64 input is rounded to float32 first.
    """
    values = float_array(weights, "weights").astype(np.float32, copy=False)
    return float(_core.float_pattern_entropy_bits(np.ascontiguousarray(values).reshape(-1)))


def compression_ratio(bits_per_weight, original_bits: float = 32.0) -> float:
    """``CR = original_bits / H`` (paper eq. 3.1); ``inf`` when ``H`` is 0."""
    h = real_in(bits_per_weight, "bits_per_weight", low=0.0)
    original = real_in(original_bits, "original_bits", low=0.0, low_open=True)
    return math.inf if h == 0 else original / h


def space_saving(bits_per_weight, original_bits: float = 32.0) -> float:
    """``RE = (original_bits − H) / original_bits`` (paper eq. 3.2), a fraction."""
    h = real_in(bits_per_weight, "bits_per_weight", low=0.0)
    original = real_in(original_bits, "original_bits", low=0.0, low_open=True)
    return (original - h) / original


def distortion(reference, approx) -> dict:
    """MSE, SQNR (dB) and max abs error of ``approx`` against ``reference`` in one pass.

    Both arrays must have the same shape and be float. Accumulation is in float64. NaN/Inf in
    either raises ``ValueError``. SQNR is ``10·log10(Σ r² / Σ (r − a)²)``: ``inf`` for an exact
    reconstruction, ``-inf`` for an all-zero reference with non-zero error.
    """
    ref = float_array(reference, "reference")
    app = float_array(approx, "approx")
    if ref.shape != app.shape:
        raise ValueError(f"reference and approx differ in shape: {ref.shape} vs {app.shape}")
    stats = _core.distortion(ref.reshape(-1), app.reshape(-1))
    if stats.non_finite:
        raise ValueError(f"reference/approx contain {stats.non_finite} NaN/Inf value(s)")
    error, signal = stats.sum_squared_error, stats.sum_squared_signal
    if error == 0:
        sqnr = math.inf
    elif signal == 0:
        sqnr = -math.inf
    else:
        sqnr = 10.0 * math.log10(signal / error)
    return {"mse": error / stats.count, "sqnr_db": sqnr, "max_abs_error": stats.max_abs_error}


def mse(reference, approx) -> float:
    """Mean squared error (float64 accumulation)."""
    return distortion(reference, approx)["mse"]


def sqnr_db(reference, approx) -> float:
    """Signal-to-quantization-noise ratio in dB."""
    return distortion(reference, approx)["sqnr_db"]


def max_abs_error(reference, approx) -> float:
    """Largest absolute difference."""
    return distortion(reference, approx)["max_abs_error"]
