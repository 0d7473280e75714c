"""Uniform scalar quantizers of the main source paper (SPEC §1): midtread, midrise, dead-zone."""

from __future__ import annotations

from .. import _core
from .._validation import integer_in, real_in
from .base import RangeQuantizer

MAX_LEVELS = 1 << 24


def _levels(levels) -> int:
    return integer_in(levels, 2, MAX_LEVELS, "levels")


class _LevelsQuantizer(RangeQuantizer):
    """A quantizer fixed by its number of levels and range; subclasses name their C++ op."""

    _core_op = None

    def __init__(self, levels, xmax=1.0):
        self.levels = _levels(levels)
        super().__init__(xmax)

    def params(self):
        return {"levels": self.levels, "xmax": self.xmax}

    def _make_op(self, xmax):
        return type(self)._core_op(self.levels, xmax)


class Midtread(_LevelsQuantizer):
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
    _core_op = _core.Midtread


class Midrise(_LevelsQuantizer):
    """Midrise uniform quantizer: ``q = s(x)·ceil(|x|/Δ)``, ``x̂ = s(q)·Δ·(|q| − ½)``.

    No zero level: exactly L symbols ``±1 … ±L/2``; ``x = 0`` maps to ``+1`` (``s(0) = +1``).
    Parameters as :class:`Midtread`.
    """

    name = "midrise"
    _core_op = _core.Midrise


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
        self.levels = _levels(levels)
        self.delta = real_in(delta, "delta", low=0.0, high=1.0, high_open=True)
        super().__init__(xmax)

    def params(self):
        return {"levels": self.levels, "delta": self.delta, "xmax": self.xmax}

    def _make_op(self, xmax):
        return _core.Deadzone(self.levels, self.delta, xmax)

