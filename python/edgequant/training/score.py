"""The efficiency score PE of SPEC §5 (paper 002 eqs. 5–6), estimated and measured.

``PE = (acc / acc_base)^ρ · 1/RC_total`` with ``RC_total = p · b / b_orig``: accuracy kept per
unit of model size. The paper's RC counts every surviving weight at b bits and the pruned ones
at nothing; :func:`measured_efficiency_score` replaces ``p · b`` by the bits per weight the
``.eqz`` coder actually spends (positions of the zeros included).
"""

from __future__ import annotations

import math
import numbers


def efficiency_score(acc, acc_base, density, bits, bits_orig=32, rho=1) -> float:
    """PE of one configuration, exactly as the paper defines it.

    Parameters
    ----------
    acc, acc_base : float
        Accuracy of the compressed network and of the baseline (the best uncompressed run), in the
        same unit (fractions or percentages); ``acc ≥ 0``, ``acc_base > 0``.
    density : float
        p, the fraction of weights left, in (0, 1].
    bits : float
        Bits per surviving weight, > 0.
    bits_orig : float, default 32
    rho : float, default 1
        ρ ≥ 1, the weight on accuracy (the paper uses 1, 2, 3).

    Returns
    -------
    float
        PE > 1: the compression is worth the accuracy it costs; PE < 1: it is not.

    Examples
    --------
    The paper's γ = 0.625, 4 bits (79.20 % at 6.93 % density, baseline 87.21 %):

    >>> round(efficiency_score(79.20, 87.21, 0.0693, 4), 2)
    104.84
    """
    acc = _real(acc, "acc", low=0.0)
    acc_base = _real(acc_base, "acc_base", low=0.0, low_open=True)
    density = _real(density, "density", low=0.0, low_open=True)
    if density > 1:
        raise ValueError(f"density is a fraction of the weights in (0, 1], got {density} (a percentage?)")
    return _score(acc, acc_base, density * _real(bits, "bits", 0.0, True), bits_orig, rho)


def measured_efficiency_score(acc, acc_base, coded_bits_per_weight, bits_orig=32, rho=1) -> float:
    """PE with RC measured: ``RC = coded bits per weight / bits_orig``.

    ``coded_bits_per_weight`` is the size of the entropy-coded weights (e.g.
    :attr:`edgequant.compress.CompressionReport.coded_bits_per_weight`, tables and headers
    included) over all weights, pruned ones included: it replaces the paper's ``p · b``.
    """
    acc = _real(acc, "acc", low=0.0)
    acc_base = _real(acc_base, "acc_base", low=0.0, low_open=True)
    return _score(acc, acc_base, _real(coded_bits_per_weight, "coded_bits_per_weight", 0.0, True), bits_orig, rho)


def _score(acc, acc_base, bits_per_weight, bits_orig, rho) -> float:
    bits_orig = _real(bits_orig, "bits_orig", low=0.0, low_open=True)
    rho = _real(rho, "rho", low=1.0)
    return (acc / acc_base) ** rho * bits_orig / bits_per_weight


def _real(value, name, low=None, low_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    return value
