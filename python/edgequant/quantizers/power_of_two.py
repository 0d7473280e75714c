"""Power-of-two (logarithmic) quantizer: shift-only inference (LogQuant, Miyashita et al. 2016)."""

from __future__ import annotations

from .base import RangeQuantizer


class PowerOfTwo(RangeQuantizer):
    """Levels ``±xmax·2^−k`` (and optionally 0): multiplying by a weight is a shift.

    With ``b`` bits, one is the sign and ``b − 1`` code the exponent: ``K = 2^(b−1) − 1``
    exponents with a zero level, ``2^(b−1)`` without. Symbol ``q ∈ [−K, K]`` decodes to
    ``x̂ = s(q)·xmax·2^(|q| − K)`` (``q = 0`` is 0). Rounding is in the log domain,
    ``|q| = K + round(log2(|x|/xmax))``: the boundary between two levels is their geometric mean,
    evaluated exactly as ``|x| ≥ ldexp(fl(xmax·√2), j − K)`` in float64, a tie going to the larger
    level. Below the smallest level's lower boundary ``|x|`` maps to 0 (Miyashita's Clip) or,
    without a zero level, to the smallest level; above ``xmax`` it clips to ``±xmax``. The full
    convention is written in ``cpp/quant/power_of_two.cpp``.

    Parameters
    ----------
    bits : int
        Code width b in [2, 8].
    xmax : float or "max"
        The largest level; ``"max"`` uses max|x| of each tensor.
    zero : bool
        Whether 0 is a level (``--no-zero`` on the command line).
    """

    name = "power_of_two"

    def __init__(self, bits=4, xmax=1.0, zero=True):
        self._set_parameters(bits=bits, zero=zero)
        super().__init__(xmax)
