"""Softmax: ``eq_softmax_s8`` (``runtime/c/eq_softmax.c``), TFLite's fixed-point exp over rows of
``depth`` contiguous values; the output is scale 1/256, zero point -128."""

from __future__ import annotations

from . import Kernel, register
from ._checks import INT32_MAX, require

FIELDS = ("rows", "depth", "input_multiplier", "input_left_shift", "diff_min")


def _arguments(site) -> str:
    return f"{site.params}, {site.sources[0]}, {site.destination}"


def _check(graph, layer, src, dst) -> None:
    p = layer.params
    # rows of ``depth`` contiguous values (the last axis for TFLite; ONNX's 2-D coercion may take several)
    require(p["depth"] >= 1 and p["rows"] >= 1, f"{p['rows']} rows of {p['depth']}")
    require(src.size == dst.size == p["rows"] * p["depth"],
            f"input of {src.size} values, output tensor of {dst.size}; the kernel writes {p['rows'] * p['depth']}")
    require(dst.zero_point == -128 and abs(dst.scale * 256 - 1) <= 1e-6,
            "the output's quantization is not scale 1/256, zero point -128 (what the kernel writes)")
    # TFLite's QuantizeMultiplierGreaterThanOne: beta * input scale * 2^26 must exceed 1 (TFLite Micro aborts
    # otherwise, e.g. for beta 0), and the kernel's left shift must be a valid one
    require(2**30 <= p["input_multiplier"] <= INT32_MAX and 1 <= p["input_left_shift"] <= 31,
            f"input multiplier {p['input_multiplier']}, left shift {p['input_left_shift']} (beta times the input "
            "scale is too small or too large for the fixed-point exp)")
    require(p["diff_min"] <= 0, f"diff_min {p['diff_min']}")
    # the kernel shifts differences >= diff_min left by input_left_shift in 32 bits: they must fit
    require(-p["diff_min"] << p["input_left_shift"] <= 2**31, "the scaled input differences overflow int32")


KERNEL = register(Kernel(
    kind="softmax", function="eq_softmax_s8", header="eq_softmax.h", struct="eq_softmax_params", fields=FIELDS,
    arguments=_arguments, check=_check))
