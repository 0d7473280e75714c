"""Midrise uniform quantizer (SPEC §1)."""

from __future__ import annotations

from .base import RangeQuantizer


class Midrise(RangeQuantizer):
    """Midrise uniform quantizer: ``q = s(x)·ceil(|x|/Δ)``, ``x̂ = s(q)·Δ·(|q| − ½)``.

    No zero level: exactly L symbols ``±1 … ±L/2``; ``x = 0`` maps to ``+1`` (``s(0) = +1``).

    Parameters
    ----------
    levels : int
        Number of levels L in [2, 2^24]; the step is ``Δ = 2·xmax/L``.
    xmax : float or "max"
        Half-width of the range; ``"max"`` uses max|x| of each tensor.
    """

    name = "midrise"

    def __init__(self, levels, xmax=1.0):
        self._set_parameters(levels=levels)
        super().__init__(xmax)
