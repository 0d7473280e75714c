"""Affine INT-N quantization, per tensor or per channel (SPEC §1, paper 003 eq. 1)."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._validation import float_array, raise_if_non_finite, symbol_array
from .base import Quantizer, output_array


class Affine(Quantizer):
    """Affine INT-N: ``q = clamp(round(r/s) + z, qmin, qmax)``, ``r̂ = s·(q − z)``.

    The ONNX ``QuantizeLinear`` / oneDNN convention. Scale and zero point come from the min/max of
    the tensor (or of each channel) in one function, ``affine_params_from_range`` in
    ``cpp/quant/affine.h``: symmetric ``s = 2·max|r|/(qmax − qmin)``, ``z = 0`` (signed) or the
    mid code (unsigned); asymmetric ``s = (max − min)/(qmax − qmin)`` over a range widened to
    include 0, ``z = round(qmin − min/s)``.

    Parameters
    ----------
    bits : int
        2–16. Signed codes span ``[-2^(b-1), 2^(b-1) - 1]``, unsigned ``[0, 2^b - 1]``.
    symmetric : bool
    signed : bool
    axis : int or None
        ``None`` for one (s, z) per tensor; else the channel axis (e.g. 0 for conv output
        channels), one (s, z) per index along it.

    Notes
    -----
    After ``encode``/``__call__``, ``scale`` and ``zero_point`` hold the parameters used (float /
    int for per-tensor, arrays for per-channel).
    """

    name = "affine"

    def __init__(self, bits=8, symmetric=True, signed=True, axis=None):
        self._set_parameters(bits=bits, symmetric=symmetric, signed=signed, axis=axis)
        self._format = _core.AffineFormat(self.bits, self.symmetric, self.signed)
        self._scales = None
        self._zero_points = None

    @property
    def qmin(self) -> int:
        return self._format.qmin

    @property
    def qmax(self) -> int:
        return self._format.qmax

    @property
    def scale(self):
        self._require_params()
        return float(self._scales[0]) if self.axis is None else self._scales.copy()

    @property
    def zero_point(self):
        self._require_params()
        return int(self._zero_points[0]) if self.axis is None else self._zero_points.copy()

    def decode_state(self) -> dict:
        if self._scales is None:
            return {}
        return {"scale": self._scales.tolist(), "zero_point": self._zero_points.tolist()}

    def load_decode_state(self, state: dict) -> None:
        scales = np.asarray(state.get("scale", []), dtype=np.float64)
        zero_points = np.asarray(state.get("zero_point", []), dtype=np.int64)
        if scales.ndim != 1 or scales.size == 0 or scales.shape != zero_points.shape:
            raise ValueError("affine decode state needs equal-length, non-empty 'scale' and 'zero_point' lists")
        if self.axis is None and scales.size != 1:
            raise ValueError("a per-tensor affine quantizer has one scale")
        if not np.all(np.isfinite(scales) & (scales > 0)):
            raise ValueError("affine scales must be finite and > 0")
        if np.any((zero_points < self.qmin) | (zero_points > self.qmax)):
            raise ValueError(f"affine zero points must lie in [{self.qmin}, {self.qmax}]")
        self._scales, self._zero_points = scales, zero_points.astype(np.int32)

    def _require_params(self):
        if self._scales is None:
            raise ValueError(f"{self!r}: scale and zero_point are computed by encode(); call encode first")

    def _layout(self, shape):
        """(outer, channels, inner) of a tensor viewed along the channel axis."""
        if self.axis is None:
            return 1, 1, int(np.prod(shape, dtype=np.int64))
        ndim = len(shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(f"axis {self.axis} is out of range for an array of {ndim} dimension(s)")
        axis = self.axis % ndim
        outer = int(np.prod(shape[:axis], dtype=np.int64))
        inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
        return outer, int(shape[axis]), inner

    def _fit(self, x):
        outer, channels, inner = self._layout(x.shape)
        scales = np.empty(channels, np.float64)
        zero_points = np.empty(channels, np.int32)
        non_finite = _core.affine_fit_per_channel(self._format, x.reshape(-1), outer, channels, inner, scales,
                                                  zero_points)
        raise_if_non_finite(non_finite, x)
        self._scales, self._zero_points = scales, zero_points
        return outer, inner

    def encode(self, x) -> np.ndarray:
        x = float_array(x)
        outer, inner = self._fit(x)
        out = np.empty(x.shape, dtype=np.int32)
        _core.affine_encode_per_channel(self._format, self._scales, self._zero_points, x.reshape(-1), outer, inner,
                                        out.reshape(-1))
        return out

    def __call__(self, x, out=None) -> np.ndarray:
        x = float_array(x)
        out = output_array(out, x)
        outer, inner = self._fit(x)  # refuses NaN/Inf before anything is written
        out = np.empty(x.shape, dtype=np.float32) if out is None else out
        _core.affine_quantize_per_channel(self._format, self._scales, self._zero_points, x.reshape(-1), outer,
                                          inner, out.reshape(-1))
        return out

    def decode(self, symbols) -> np.ndarray:
        symbols = symbol_array(symbols)
        self._require_params()
        outer, channels, inner = self._layout(symbols.shape)
        if channels != len(self._scales):
            raise ValueError(f"symbols have {channels} channel(s) along axis {self.axis}, "
                             f"the fitted parameters {len(self._scales)}")
        out = np.empty(symbols.shape, dtype=np.float32)
        invalid = _core.affine_decode_per_channel(self._format, self._scales, self._zero_points,
                                                  symbols.reshape(-1), outer, inner, out.reshape(-1))
        if invalid:
            raise ValueError(f"symbols contains {invalid} value(s) outside [{self.qmin}, {self.qmax}]")
        return out

