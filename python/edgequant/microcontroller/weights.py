"""How a layer's constants reach its kernel: plain ``static const`` arrays (flash, read in place).
The coded variant (``coded_weights.py``) overrides these hooks."""

from __future__ import annotations

from .codegen import c_array


class PlainWeights:
    """Every constant as a ``static const`` array that the kernel reads from flash."""

    def includes(self) -> str:
        return ""

    def scratch_bytes(self, graph) -> dict:
        """Arena scratch per layer index (none: weights are read in place)."""
        return {}

    def definitions(self, index, layer, prefix) -> list:
        return [c_array(f"{prefix}_{name}", array) for name, array in layer.constants.items()]

    def layer_constants(self, index, layer, prefix, plan):
        """(C statements run before the call, name -> C expression of each constant)."""
        return "", {name: f"{prefix}_{name}" for name in layer.constants}

    def flash_bytes(self, graph) -> int:
        return sum(layer.weight_bytes for layer in graph.layers)
