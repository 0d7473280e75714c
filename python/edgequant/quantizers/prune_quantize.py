"""Prune-then-quantize of one layer (SPEC §1 last bullet, paper 002)."""

from __future__ import annotations

from .. import _core
from .._validation import raise_if_non_finite
from .base import Quantizer
from .registry import make_kernels


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

    Notes
    -----
    After ``encode``/``__call__``: ``threshold`` (β), ``step`` (q_k) and ``density`` (the
    fraction of weights whose symbol is non-zero, i.e. left after pruning and rounding).
    """

    name = "prune_quantize"

    def __init__(self, gamma, bits):
        self._set_parameters(gamma=gamma, bits=bits)
        self._op = None
        self.density = None

    def _op_for_encode(self, x):
        fit = _core.fit_prune_quantize(x.reshape(-1), self.gamma, self.bits)
        raise_if_non_finite(fit.non_finite, x)
        self._state = {"threshold": fit.threshold, "step": fit.step, "max_symbol": fit.max_symbol}
        self._op = make_kernels(self.name, self._state)
        return self._op

    def decode_state(self) -> dict:
        return {} if self._op is None else dict(self._state)

    def load_decode_state(self, state: dict) -> None:
        try:
            fitted = {"threshold": float(state["threshold"]), "step": float(state["step"]),
                      "max_symbol": int(state["max_symbol"])}
        except KeyError as missing:
            raise ValueError(f"prune-quantize decode state lacks {missing}") from None
        self._op = make_kernels(self.name, fitted)
        self._state = fitted

    def _op_for_decode(self):
        if self._op is None:
            raise ValueError(f"{self!r}: the step is computed by encode(); call encode first")
        return self._op

    @property
    def threshold(self) -> float:
        self._op_for_decode()
        return self._state["threshold"]

    @property
    def step(self) -> float:
        self._op_for_decode()
        return self._state["step"]

    def encode(self, x):
        symbols = super().encode(x)
        self.density = float((symbols != 0).mean())
        return symbols

    def __call__(self, x, out=None):
        out = super().__call__(x, out=out)
        self.density = float((out != 0).mean())
        return out

