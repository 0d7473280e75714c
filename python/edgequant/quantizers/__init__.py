"""Scalar quantizers (SPEC §1), one family per module, registered in :data:`QUANTIZERS`.

>>> from edgequant.quantizers import Deadzone
>>> q = Deadzone(levels=512, delta=0.7)
>>> symbols = q.encode(weights); w_hat = q.decode(symbols)   # or w_hat = q(weights)
>>> from_spec(q.spec()) == q
True

The families are declared in C++ (``cpp/quant/registry.cpp``, see :mod:`.registry`); the class of
family ``name`` is the :class:`Quantizer` subclass with that ``name`` in the module ``.<name>``.
"""

import importlib

from .affine import Affine
from .base import REGISTERED_CLASSES, Quantizer
from .deadzone import Deadzone
from .midrise import Midrise
from .midtread import Midtread
from .minifloat import Minifloat
from .mulaw import MuLaw
from .prune_quantize import PruneQuantize
from .registry import FAMILIES


def _classes_of_the_registry() -> dict[str, type[Quantizer]]:
    classes = {}
    for name in FAMILIES:
        importlib.import_module(f".{name}", __name__)
        if name not in REGISTERED_CLASSES:
            raise ImportError(f"the C++ quantizer {name!r} has no Python class: define a Quantizer subclass with "
                              f"name = {name!r} in edgequant/quantizers/{name}.py")
        classes[name] = REGISTERED_CLASSES[name]
    return classes


#: Registry: name -> class, in the C++ registry's order. Sweeps, the CLI and the shared tests iterate over it.
QUANTIZERS: dict[str, type[Quantizer]] = _classes_of_the_registry()
globals().update({cls.__name__: cls for cls in QUANTIZERS.values()})


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
] + sorted({cls.__name__ for cls in QUANTIZERS.values()} - {"Midtread", "Midrise", "Deadzone", "MuLaw", "Affine",
                                                            "PruneQuantize", "Minifloat"})
