"""Scalar quantizers (SPEC §1). Every class here is registered in :data:`QUANTIZERS`.

>>> from edgequant.quantizers import Deadzone
>>> q = Deadzone(levels=512, delta=0.7)
>>> symbols = q.encode(weights); w_hat = q.decode(symbols)   # or w_hat = q(weights)
>>> from_spec(q.spec()) == q
True
"""

from .affine import Affine
from .base import Quantizer
from .minifloat import Minifloat
from .mulaw import MuLaw
from .prune import PruneQuantize
from .uniform import Deadzone, Midrise, Midtread

#: Registry: name -> class. Sweeps, the CLI and the shared tests iterate over it.
QUANTIZERS: dict[str, type[Quantizer]] = {
    cls.name: cls for cls in (Midtread, Midrise, Deadzone, MuLaw, Affine, PruneQuantize, Minifloat)
}


def from_spec(spec: dict) -> Quantizer:
    """Build a quantizer from ``{"method": name, "params": {...}}`` (see :meth:`Quantizer.spec`).

    Raises ``ValueError`` for an unknown method name or parameters the class does not take.
    """
    if not isinstance(spec, dict) or "method" not in spec:
        raise ValueError(f'a quantizer spec is {{"method": name, "params": {{...}}}}, got {spec!r}')
    method = spec["method"]
    if method not in QUANTIZERS:
        raise ValueError(f"unknown quantization method {method!r}; known: {sorted(QUANTIZERS)}")
    params = spec.get("params", {})
    try:
        return QUANTIZERS[method](**params)
    except TypeError as error:
        raise ValueError(f"bad parameters {params!r} for {method}: {error}") from None


__all__ = [
    "Quantizer", "Midtread", "Midrise", "Deadzone", "MuLaw", "Affine", "PruneQuantize", "Minifloat",
    "QUANTIZERS", "from_spec",
]
