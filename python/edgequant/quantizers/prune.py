"""Prune-then-quantize of one layer (SPEC §1 last bullet, paper 002)."""

from __future__ import annotations

from .. import _core
from .._validation import integer_in, raise_if_non_finite, real_in
from .base import Quantizer


class PruneQuantize(Quantizer):
    """Magnitude pruning at ``β = γ·std(W)``, then uniform quantization of the survivors.

    ``H = W`` where ``|W| ≥ β`` else 0; step ``q_k = (max|H| − β)/(2^(b−1) − 1)``;
    ``C = q_k·round(H/q_k)``. The std is the population std (ddof = 0); the comparison
    ``|W| ≥ β`` is made in the input's precision. Degenerate steps fall back as documented in
    ``cpp/quant/prune_quantize.h``. With β > 0 the symbols span more than b bits: the paper
    fixes the step, not the code width.

    Parameters
    ----------
    gamma : float
        γ ≥ 0; the paper's grid is 0, 0.125, …, 0.75.
    bits : int
        b in [2, 16].

    After ``encode``/``__call__``: ``threshold`` (β), ``step`` (q_k) and ``density`` (the
    fraction of weights whose symbol is non-zero, i.e. left after pruning and rounding).
    """

    name = "prune_quantize"

    def __init__(self, gamma, bits):
        self.gamma = real_in(gamma, "gamma", low=0.0)
        self.bits = integer_in(bits, 2, 16, "bits")
        self._op = None
        self.density = None

    def _op_for_encode(self, x):
        fit = _core.fit_prune_quantize(x.reshape(-1), self.gamma, self.bits)
        raise_if_non_finite(fit.non_finite, x)
        self._op = fit.op
        return fit.op

    def params(self):
        return {"gamma": self.gamma, "bits": self.bits}

    def decode_state(self) -> dict:
        if self._op is None:
            return {}
        return {"threshold": self._op.threshold, "step": self._op.step, "max_symbol": self._op.max_symbol}

    def load_decode_state(self, state: dict) -> None:
        try:
            self._op = _core.PruneQuantize(float(state["threshold"]), float(state["step"]), int(state["max_symbol"]))
        except KeyError as missing:
            raise ValueError(f"prune-quantize decode state lacks {missing}") from None

    def _op_for_decode(self):
        if self._op is None:
            raise ValueError(f"{self!r}: the step is computed by encode(); call encode first")
        return self._op

    @property
    def threshold(self) -> float:
        return self._op_for_decode().threshold

    @property
    def step(self) -> float:
        return self._op_for_decode().step

    def encode(self, x):
        symbols = super().encode(x)
        self.density = float((symbols != 0).mean())
        return symbols

    def __call__(self, x, out=None):
        out = super().__call__(x, out=out)
        self.density = float((out != 0).mean())
        return out

