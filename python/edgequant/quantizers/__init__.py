"""Scalar quantizers (SPEC §1). Every class here is registered in :data:`QUANTIZERS`.

>>> from edgequant.quantizers import Deadzone
>>> q = Deadzone(levels=512, delta=0.7)
>>> symbols = q.encode(weights); w_hat = q.decode(symbols)   # or w_hat = q(weights)
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

__all__ = [
    "Quantizer", "Midtread", "Midrise", "Deadzone", "MuLaw", "Affine", "PruneQuantize", "Minifloat",
    "QUANTIZERS",
]
