"""Midtread uniform quantizer (SPEC §1)."""

from __future__ import annotations

from .base import RangeQuantizer


class Midtread(RangeQuantizer):
    """Midtread uniform quantizer: ``q = round(x/Δ)``, ``x̂ = Δ·q`` (has a zero level).

    Parameters
    ----------
    levels : int
        Number of levels L in [2, 2^24]; the step is ``Δ = 2·xmax/L``. Symbols are clamped to
        ``[-L/2, L/2]`` (x = ±xmax is representable, so L+1 symbols).
    xmax : float or "max"
        Half-width of the range; ``"max"`` uses max|x| of each tensor.
    """

    name = "midtread"

    def __init__(self, levels, xmax=1.0):
        self._set_parameters(levels=levels)
        super().__init__(xmax)
