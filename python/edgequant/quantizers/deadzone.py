"""Dead-zone uniform quantizer of the main source paper (SPEC §1, eqs. 2.25–2.26)."""

from __future__ import annotations

from .base import RangeQuantizer


class Deadzone(RangeQuantizer):
    """Uniform quantizer with a dead zone of relative size δ (paper eqs. 2.25–2.26).

    ``q = 0`` if ``|x| < δΔ`` else ``s(x)·ceil(|x|/Δ − δ)``; ``x̂ = s(q)·Δ·(|q| + δ − ½)``.
    δ = 0.5 is midtread (ties excepted: they round toward zero here) and δ = 0 is midrise
    (x = 0 excepted: here it is the zero symbol). Symbols are clamped to ``[-L/2, L/2]``.

    Parameters
    ----------
    levels : int
        L in [2, 2^24].
    delta : float
        Relative dead-zone size δ in [0, 1); the paper sweeps 0.1, 0.25, 0.4, 0.7.
    xmax : float or "max"
    """

    name = "deadzone"

    def __init__(self, levels, delta, xmax=1.0):
        self._set_parameters(levels=levels, delta=delta)
        super().__init__(xmax)
