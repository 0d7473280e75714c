"""FullyConnected: ``eq_fully_connected_s8`` (``runtime/c/eq_fully_connected.c``), [out, in] weights,
one per-tensor requantization."""

from __future__ import annotations

import numpy as np

from . import Kernel, register
from ._checks import INT32_MAX, check_offsets, check_requantize, max_input_term, require

FIELDS = ("batches", "input_depth", "output_depth", "input_offset", "filter_offset", "output_offset",
          "multiplier", "shift", "activation_min", "activation_max")


def _arguments(site) -> str:
    return (f"{site.params}, {site.sources[0]}, {site.constants['filter']}, {site.constants.get('bias', 'NULL')}, "
            f"{site.destination}")


def _check(graph, layer, src, dst) -> None:
    p = layer.params
    for key in ("batches", "input_depth", "output_depth"):
        require(p[key] >= 1, f"{key} is {p[key]}")
    require(src.size == p["batches"] * p["input_depth"],
            f"the input has {src.size} values, not {p['batches']} batches of {p['input_depth']}")
    require(dst.size == p["batches"] * p["output_depth"],
            f"the output tensor holds {dst.size} values; the kernel writes {p['batches']} x {p['output_depth']}")
    check_offsets(p)
    require(-127 <= p["filter_offset"] <= 128, f"filter_offset {p['filter_offset']} is not minus an int8 zero point")
    filt = layer.constants["filter"]
    require(filt.size == p["output_depth"] * p["input_depth"],
            f"the weights have {filt.size} values, not {p['output_depth']} x {p['input_depth']}")
    if "bias" in layer.constants:
        require(layer.constants["bias"].size == p["output_depth"],
                f"bias has {layer.constants['bias'].size} entries for {p['output_depth']} outputs")
    rows = np.abs(filt.reshape(p["output_depth"], -1).astype(np.int64) + p["filter_offset"]).sum(axis=1)
    sums = rows * max_input_term(p["input_offset"])
    if "bias" in layer.constants:
        sums += np.abs(layer.constants["bias"].astype(np.int64))
    require(int(sums.max()) <= INT32_MAX, "the accumulator can overflow int32 (weights or bias too large)")
    check_requantize(int(sums.max()), p["multiplier"], p["shift"], "output")


KERNEL = register(Kernel(
    kind="fully_connected", function="eq_fully_connected_s8", header="eq_fully_connected.h",
    struct="eq_fully_connected_params", fields=FIELDS, arguments=_arguments, check=_check,
    required=frozenset({"filter"}), optional=frozenset({"bias"}), reference=True))
