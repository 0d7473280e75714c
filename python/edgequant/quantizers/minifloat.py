"""Minifloat quantizer (SPEC §1): sign, e exponent bits, m mantissa bits, a bias.

The full convention (symbol layout, rounding, the three modes) is written in
``cpp/quant/minifloat.h``; the class docstring below summarises it.
"""

from __future__ import annotations

import numpy as np

from .._validation import raise_if_non_finite
from .base import Quantizer
from .registry import make_kernels

MODES = ("paper", "ieee", "fn")


class Minifloat(Quantizer):
    """Floating-point quantizer: a normal code (s, E, M) is ``(−1)^s · 2^(E − bias) · (1 + M/2^m)``.

    Rounding is to the nearest representable value, ties to the even mantissa, computed exactly
    from the input's own precision (float64 input is not rounded through float32 first).

    Symbols are the raw bit patterns — sign at bit ``e + m``, then E, then M — zero-extended
    into int32: ``Minifloat.fp16().encode(x) == np.float16(x).view(np.uint16)``. (IEEE float32
    itself, ``Minifloat(8, 23, mode="ieee")``, is the float32 pattern viewed as int32.)

    Parameters
    ----------
    exponent_bits : int
        e in [0, 8] (at least 2 in the ieee and fn modes).
    mantissa_bits : int
        m in [0, 23] (at least 1 in the ieee and fn modes).
    bias : int, optional
        Exponent bias. Default: ``2^e − 1`` in paper mode, so the top binade is [1, 2) and the
        format spans the paper's [−1, 1] weight range; ``2^(e−1) − 1`` (IEEE) otherwise. Every
        value must be exact in float32, which bounds the bias (ValueError naming ``bias``).
    mode : {"paper", "ieee", "fn"}
        ``"paper"``: the formats of the paper's Table 3.5, normal numbers only (no zero,
        subnormals, Inf or NaN); magnitudes below the smallest value, 0 included, map to the
        smallest value with the sign of x (+ for ±0), magnitudes above the largest saturate;
        NaN/Inf input raises ValueError. ``"ieee"``: IEEE-754 style with ±0, subnormals, ±Inf
        and NaN; overflow rounds to Inf as IEEE does (``|x| ≥ max + ulp/2``); NaN and ±Inf inputs
        propagate. ``"fn"``: finite formats such as OCP fp8 E4M3 (``ml_dtypes.float8_e4m3fn``):
        no Inf, the all-ones code is NaN; overflow and ±Inf saturate to ±max (448 for E4M3),
        where ml_dtypes' cast would give NaN; NaN propagates.

    See Also
    --------
    fp16, bf16, fp8_e4m3, fp8_e5m2 : The named formats.
    """

    name = "minifloat"

    def __init__(self, exponent_bits, mantissa_bits, bias=None, mode="paper"):
        self._set_parameters(mode=mode, exponent_bits=exponent_bits, mantissa_bits=mantissa_bits, bias=bias)
        # bias None: the C++ family computes the default (quant/minifloat.h) and reports it
        self._op = make_kernels(self.name, {"exponent_bits": self.exponent_bits, "mantissa_bits": self.mantissa_bits,
                                            "bias": self.bias, "mode": self.mode})
        self.bias = int(self._op.attributes["bias"])

    @classmethod
    def fp16(cls) -> Minifloat:
        """IEEE half precision (E5M10, bias 15): matches ``numpy.float16`` bit for bit."""
        return cls(5, 10, mode="ieee")

    @classmethod
    def bf16(cls) -> Minifloat:
        """bfloat16 (E8M7, bias 127), round to nearest even: matches ``ml_dtypes.bfloat16``."""
        return cls(8, 7, mode="ieee")

    @classmethod
    def fp8_e4m3(cls) -> Minifloat:
        """OCP fp8 E4M3 (bias 7, max 448, no Inf), saturating: ``ml_dtypes.float8_e4m3fn``."""
        return cls(4, 3, mode="fn")

    @classmethod
    def fp8_e5m2(cls) -> Minifloat:
        """OCP fp8 E5M2 (bias 15, IEEE-like with Inf): ``ml_dtypes.float8_e5m2``."""
        return cls(5, 2, mode="ieee")

    @property
    def bits(self) -> int:
        """Width of a code: 1 + e + m."""
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def max_value(self) -> float:
        """Largest finite value."""
        return self._op.attributes["max_value"]

    @property
    def min_normal(self) -> float:
        """Smallest normal value (the smallest magnitude of a paper-mode format)."""
        return self._op.attributes["min_normal"]

    def _op_for_encode(self, x):
        return self._op

    def _op_for_decode(self):
        return self._op

    # NaN and ±Inf are representable (or saturate) outside paper mode, so only paper refuses them.
    def _check_non_finite(self, count: int, x: np.ndarray) -> None:
        if self.mode == "paper":
            raise_if_non_finite(count, x)

