"""ReLU: ``eq_relu_s8`` (``runtime/c/eq_relu.c``), TFLite Micro's int8 RELU: each value moved to the output
grid in fixed point and clamped at the output's code of 0. A Relu the engine could not fuse into the layer
before it (after an Add, a pool, a Concat) runs as this kernel."""

from __future__ import annotations

from . import Kernel, register
from ._checks import check_offsets, check_requantize, max_input_term, require

FIELDS = ("size", "input_offset", "output_offset", "multiplier", "shift", "activation_min", "activation_max")


def _arguments(site) -> str:
    return f"{site.params}, {site.sources[0]}, {site.destination}"


def _check(graph, layer, src, dst) -> None:
    p = layer.params
    require(src.size == dst.size == p["size"], f"input of {src.size} values into an output of {dst.size}, "
                                               f"size {p['size']}")
    check_offsets(p)
    check_requantize(max_input_term(p["input_offset"]), p["multiplier"], p["shift"], "relu")


KERNEL = register(Kernel(
    kind="relu", function="eq_relu_s8", header="eq_relu.h", struct="eq_relu_params", fields=FIELDS,
    arguments=_arguments, check=_check))
