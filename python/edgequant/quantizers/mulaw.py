"""μ-law companded quantizer (SPEC §1)."""

from __future__ import annotations

from .base import RangeQuantizer


class MuLaw(RangeQuantizer):
    """μ-law quantizer: compress, midtread in the companded domain, expand.

    ``y = X·ln(1 + μ|x|/X)/ln(1 + μ)·s(x)``; ``q = round(y/Δ)`` with ``Δ = 2X/L`` clamped to
    ``[-L/2, L/2]``; ``x̂ = (X/μ)·((1 + μ)^{|ŷ|/X} − 1)·s(ŷ)``. The compander runs in float64.

    Parameters
    ----------
    levels : int
        L in [2, 2^24].
    mu : float
        Compression parameter μ > 0 (255 is the telephony default).
    xmax : float or "max"
        X, the range half-width (the paper uses X = 1).
    """

    name = "mulaw"

    def __init__(self, levels, mu=255.0, xmax=1.0):
        self._set_parameters(levels=levels, mu=mu)
        super().__init__(xmax)

