"""Activation ranges for static INT8, from the tensors the engine captured on calibration data.

Each method turns the values a tensor took into a range ``(min, max)``; the engine turns the
range into a scale and zero point with ``affine_params_from_range`` (u8 asymmetric), the one
place that formula lives. ``minmax`` keeps the full range; ``percentile``, ``entropy`` (KL
divergence, TensorRT-style) and ``mse`` clip outliers, choosing the clipping threshold from a
histogram of the values.

``entropy`` is bounded: its threshold never clips more than :data:`ENTROPY_MAX_CLIPPED` of the
non-zero values. TensorRT's KL search starts at 128–255 of 2048 bins, and on the long-tailed
activations of a detector head it picked thresholds of 12–25 % of the observed range that clipped
0.1–0.8 % of the values — the rare strong activations that are the detections. ONNX Runtime's
entropy calibrator, with its defaults (128 bins, 128 quantized bins), tries one candidate only,
the full range, so it never clips at all; the bound keeps the KL choice where the tail is
negligible and otherwise the smallest range that holds all but 1e-4 of the values.
"""

from __future__ import annotations

import numpy as np

from .. import _core

METHODS = ("minmax", "percentile", "entropy", "mse")
_BINS = 2048
#: The largest fraction of the non-zero values an entropy (KL) threshold may clip.
ENTROPY_MAX_CLIPPED = 1e-4
_FORMAT = _core.AffineFormat(8, False, False)  # u8 asymmetric, as the engine uses


class RangeCollector:
    """Accumulates what a method needs (the min/max, then a histogram) over calibration batches."""

    def __init__(self, method: str, percentile: float = 99.99):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.method = method
        self.percentile = float(percentile)
        self.min = 0.0
        self.max = 0.0
        self._values: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float32).ravel()
        values = values[np.isfinite(values)]
        if values.size == 0:
            return
        self.min = min(self.min, float(values.min()))
        self.max = max(self.max, float(values.max()))
        if self.method != "minmax":
            self._values.append(values)

    def range(self) -> tuple[float, float]:
        if self.method == "minmax" or not self._values or self.max == self.min:
            return self.min, self.max
        values = np.concatenate(self._values)
        if self.method == "percentile":
            lo = float(np.percentile(values, 100 - self.percentile)) if self.min < 0 else 0.0
            return min(lo, 0.0), max(float(np.percentile(values, self.percentile)), 0.0)
        # entropy / mse: a threshold t on |x|, range clipped to [-t, t] ∩ [min, max]
        bound = max(abs(self.min), abs(self.max))
        # Exact zeros (ReLU outputs, padding) are always representable (the zero point): leaving
        # them out keeps them from dominating the distribution the threshold is fitted to.
        magnitudes = np.abs(values[values != 0])
        if magnitudes.size == 0:
            return self.min, self.max
        hist, edges = np.histogram(magnitudes, bins=_BINS, range=(0.0, bound))
        if self.method == "entropy":
            threshold = _kl_threshold(hist.astype(np.float64), edges, levels=255 if self.min >= 0 else 128)
            threshold = max(threshold, _keeping_all_but(magnitudes, ENTROPY_MAX_CLIPPED))
        else:
            threshold = _mse_threshold(values, self.min, self.max)
        return max(self.min, -threshold), min(self.max, threshold)


def _keeping_all_but(magnitudes: np.ndarray, fraction: float) -> float:
    """The smallest threshold that leaves at most ``fraction`` of ``magnitudes`` above it (the
    (k+1)-th largest value, k = floor(fraction · n): none clipped when k is 0)."""
    k = int(magnitudes.size * fraction)
    return float(np.partition(magnitudes, magnitudes.size - 1 - k)[magnitudes.size - 1 - k])


def _kl_threshold(hist: np.ndarray, edges: np.ndarray, levels: int) -> float:
    """TensorRT's entropy calibration: the clipping bin count whose quantized distribution is
    closest (KL divergence) to the clipped reference distribution."""
    best, best_i = np.inf, len(hist)
    for i in range(levels, len(hist) + 1, 16):
        reference = hist[:i].copy()
        reference[-1] += hist[i:].sum()
        # merge the i bins into `levels` groups, spread each group's mass over its non-empty bins
        groups = np.array_split(np.arange(i), levels)
        candidate = np.zeros(i)
        for g in groups:
            nonzero = hist[g] > 0
            if nonzero.any():
                candidate[g[nonzero]] = hist[g].sum() / nonzero.sum()
        p = reference / reference.sum()
        q_sum = candidate.sum()
        if q_sum == 0:
            continue
        q = candidate / q_sum
        mask = p > 0
        kl = float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12))))
        if kl < best:
            best, best_i = kl, i
    return float(edges[min(best_i, len(edges) - 1)])


def _mse_threshold(values: np.ndarray, lo: float, hi: float) -> float:
    """The threshold among 64 candidates whose quantize-dequantize error is smallest."""
    sample = values if values.size <= 200_000 else values[:: values.size // 200_000 + 1]
    bound = max(abs(lo), abs(hi))
    best, best_t = np.inf, bound
    for t in np.linspace(bound / 16, bound, 64):
        params = _core.affine_params_from_range(_FORMAT, max(lo, -t), min(hi, t))
        s, z = params.scale, params.zero_point
        q = np.clip(np.rint(sample / s) + z, _FORMAT.qmin, _FORMAT.qmax)
        error = float(np.mean((s * (q - z) - sample) ** 2))
        if error < best:
            best, best_t = error, float(t)
    return best_t
