"""Add: ``eq_add_s8`` (``runtime/c/eq_add.c``), two int8 operands rescaled to a common scale, TFLite's
int8 Add. An operand may be constant data (``input1`` / ``input2``) instead of an activation."""

from __future__ import annotations

from . import Kernel, register
from ._checks import INT32_MAX, check_offsets, check_requantize, max_input_term, require

FIELDS = ("size", "left_shift", "input1_offset", "input1_multiplier", "input1_shift", "input2_offset",
          "input2_multiplier", "input2_shift", "output_offset", "output_multiplier", "output_shift",
          "activation_min", "activation_max")


def _arguments(site) -> str:
    pending = iter(site.sources)  # the activations fill the operands that are not constants, in order
    operands = [site.constants[f"input{k}"] if f"input{k}" in site.constants else next(pending) for k in (1, 2)]
    return f"{site.params}, {operands[0]}, {operands[1]}, {site.destination}"


def _check(graph, layer, src, dst) -> None:
    p = layer.params
    operands = iter(layer.inputs)
    sizes = [layer.constants[f"input{k}"].size if f"input{k}" in layer.constants else
             graph.activations[next(operands)].size for k in (1, 2)]
    require(sizes[0] == sizes[1] == dst.size == p["size"],
            f"operands of {sizes[0]} and {sizes[1]} values into an output of {dst.size}, size {p['size']}")
    check_offsets(p, "input1_offset")
    require(-127 <= p["input2_offset"] <= 128, f"input2_offset {p['input2_offset']} is not minus an int8 zero point")
    require(0 <= p["left_shift"] <= 22, f"left_shift {p['left_shift']}")
    total = 0
    for k in (1, 2):
        bound = max_input_term(p[f"input{k}_offset"]) << p["left_shift"]
        multiplier, shift = p[f"input{k}_multiplier"], p[f"input{k}_shift"]
        require(0 <= multiplier <= INT32_MAX and -31 <= shift <= 30, f"input{k} multiplier {multiplier}, {shift}")
        shifted = bound << max(shift, 0)
        require(shifted <= INT32_MAX, f"input {k}'s rescaling overflows int32")
        total += shifted * multiplier // 2**31 + 1
    require(total <= INT32_MAX, "the rescaled operands' sum overflows int32")
    # TFLite's int8 Add takes every rescaling below one (QuantizeMultiplierSmallerThanOneExp; TFLite Micro aborts
    # otherwise): an output scale under 2^-19 of the inputs' is no model to translate
    require(max(p["input1_shift"], p["input2_shift"], p["output_shift"]) <= 0,
            "the output scale is too small for the inputs' (a rescaling above one)")
    check_requantize(total, p["output_multiplier"], p["output_shift"], "output")


KERNEL = register(Kernel(
    kind="add", function="eq_add_s8", header="eq_add.h", struct="eq_add_params", fields=FIELDS,
    arguments=_arguments, check=_check, optional=frozenset({"input1", "input2"}), operands=2))
