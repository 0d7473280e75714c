"""Every fact the generated C relies on, checked once on the :class:`~.graph.IntegerGraph` whatever
front end built it (TFLite or ONNX), before any code is written.

Firmware has no second line of defence: the kernels in ``runtime/c`` trust their parameter blocks
(sizes, channel counts, offsets, multipliers) and compute every index and sum in ``int32_t``. So a
graph is refused — :class:`~.graph.UnsupportedModelError` with a one-line reason — unless

- every activation has a positive shape whose size fits ``int32_t`` and int8 quantization;
- layers run in dataflow order: each reads only the graph input or what an earlier layer wrote,
  and each tensor is written once (never the graph input);
- each layer's input, output and constant sizes are exactly what its kernel reads and writes
  (the output is the caller's buffer for the last layer), filters in the layout the kernel
  indexes (OHWI, 1HWO for depthwise), every field of its parameter block set;
- no ``int32_t`` arithmetic in a kernel can overflow (index arithmetic, accumulators bounded from
  the actual weights and biases, requantization), which would be undefined behaviour in C;
- a pooling window never covers no input (the average pool would divide by zero), and a pool's
  output keeps its input's quantization (the pool kernels do not requantize);
- softmax and add parameters are in the ranges TFLite's integer kernels define (a softmax input
  multiplier above one, add rescalings below one), and the arena's offsets fit 32 bits.

Facts about the source file itself (TFLite's output-size rule, its int16 strides, bias scales)
are the front end's to check (``tflite_frontend.py``); what reaches this module is the graph.
"""

from __future__ import annotations

import math

import numpy as np

from .graph import KERNELS, UnsupportedModelError

INT32_MAX = 2**31 - 1
_MAX_LISTED = 3  # reasons in the message; the first one is usually the cause of the rest

_WINDOW_FIELDS = ("batches", "input_height", "input_width", "input_channels", "output_height", "output_width",
                  "output_channels", "filter_height", "filter_width", "stride_height", "stride_width",
                  "dilation_height", "dilation_width", "padding_top", "padding_left", "depth_multiplier",
                  "input_offset", "output_offset", "activation_min", "activation_max")
FIELDS = {  # each kernel's parameter block (runtime/c/eq_shapes.h)
    "conv2d": _WINDOW_FIELDS, "depthwise_conv2d": _WINDOW_FIELDS, "average_pool": _WINDOW_FIELDS,
    "max_pool": _WINDOW_FIELDS,
    "fully_connected": ("batches", "input_depth", "output_depth", "input_offset", "filter_offset", "output_offset",
                        "multiplier", "shift", "activation_min", "activation_max"),
    "add": ("size", "left_shift", "input1_offset", "input1_multiplier", "input1_shift", "input2_offset",
            "input2_multiplier", "input2_shift", "output_offset", "output_multiplier", "output_shift",
            "activation_min", "activation_max"),
    "softmax": ("rows", "depth", "input_multiplier", "input_left_shift", "diff_min"),
    "reshape": ("size",),
}
_CONSTANTS = {"conv2d": ({"filter", "multipliers", "shifts"}, {"bias"}),
              "depthwise_conv2d": ({"filter", "multipliers", "shifts"}, {"bias"}),
              "fully_connected": ({"filter"}, {"bias"}), "add": (set(), {"input1", "input2"})}
_DTYPES = {"filter": np.int8, "bias": np.int32, "multipliers": np.int32, "shifts": np.int32, "input1": np.int8,
           "input2": np.int8}


class _Refusal(Exception):
    """One reason, raised inside a check and collected by :func:`validate_graph`."""


def _require(condition, reason: str) -> None:
    if not condition:
        raise _Refusal(reason)


def validate_graph(graph) -> None:
    """Refuse a graph the C runtime cannot run exactly and safely.

    Parameters
    ----------
    graph : IntegerGraph

    Raises
    ------
    UnsupportedModelError
        A ``ValueError`` whose one-line message names the first problems found.
    """
    problems = []
    try:
        _check_activations(graph)
        _check_dataflow(graph)
    except _Refusal as reason:
        problems.append(str(reason))
    if not problems:
        for layer in graph.layers:
            try:
                _check_layer(graph, layer)
            except _Refusal as reason:
                problems.append(f"{layer.name} ({layer.kind}): {reason}")
    if problems:
        listed = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        raise UnsupportedModelError(f"export-c cannot translate this model exactly: {listed}{more}")


def validate_plan(plan) -> None:
    """The arena's offsets are ``int32_t``-sized numbers in the C: refuse a larger plan."""
    if plan.arena_size > INT32_MAX:
        raise UnsupportedModelError(f"export-c cannot translate this model exactly: its arena needs "
                                    f"{plan.arena_size:,} bytes, more than a 32-bit offset reaches")


def _check_activations(graph) -> None:
    _require(graph.layers, "the model has no layers")
    for i, a in enumerate(graph.activations):
        dims = tuple(a.shape)
        _require(a.index == i, f"activation {a.name!r} is listed at {i} but numbered {a.index}")
        _require(dims and all(isinstance(d, (int, np.integer)) and d >= 1 for d in dims),
                 f"tensor {a.name!r} has shape {list(dims)} (every dimension must be at least 1)")
        _require(math.prod(int(d) for d in dims) <= INT32_MAX,
                 f"tensor {a.name!r} has {math.prod(int(d) for d in dims):,} values, more than int32 indexes")
        _require(math.isfinite(a.scale) and a.scale > 0, f"tensor {a.name!r} has scale {a.scale}")
        _require(-128 <= a.zero_point <= 127, f"tensor {a.name!r} has zero point {a.zero_point}, outside int8")


def _check_dataflow(graph) -> None:
    count = len(graph.activations)
    _require(0 <= graph.input < count and 0 <= graph.output < count, "the graph's input or output is missing")
    written = {graph.input}
    for layer in graph.layers:
        _require(layer.kind in KERNELS, f"{layer.name}: no kernel {layer.kind!r}")
        _require(all(0 <= a < count for a in [*layer.inputs, layer.output]),
                 f"{layer.name} refers to an activation that does not exist")
        for a in layer.inputs:
            _require(a in written, f"{layer.name} reads {graph.activations[a].name!r}, which no earlier layer wrote "
                                   "(operators out of order, or a tensor nothing computes)")
        _require(layer.output != graph.input, f"{layer.name} writes the graph's input")
        _require(layer.output not in written,
                 f"{layer.name} writes {graph.activations[layer.output].name!r}, which an earlier layer wrote")
        written.add(layer.output)
    _require(graph.output in written and graph.output != graph.input, "no layer computes the graph's output")


def _check_layer(graph, layer) -> None:
    params = layer.params
    fields = FIELDS[layer.kind]
    # every field set (the C initializer is designated: a missing field would silently be 0), no stranger
    _require(set(params) == set(fields), f"parameter block {sorted(params)} is not the kernel's {sorted(fields)}")
    for name, value in params.items():
        _require(isinstance(value, (int, np.integer)) and -(2**31) <= int(value) <= INT32_MAX,
                 f"parameter {name} = {value} does not fit int32")
    required, optional = _CONSTANTS.get(layer.kind, (set(), set()))
    names = set(layer.constants)
    _require(required <= names <= required | optional, f"constants {sorted(names)}, expected {sorted(required)}")
    for name, array in layer.constants.items():
        _require(isinstance(array, np.ndarray) and array.dtype == _DTYPES[name],
                 f"constant {name} is not {np.dtype(_DTYPES[name]).name}")
    _require(layer.inputs, "reads no activation (constant data only)")
    operands = len(layer.inputs) + len(names & {"input1", "input2"})
    _require(operands == (2 if layer.kind == "add" else 1), f"{operands} operands")
    src, dst = graph.activations[layer.inputs[0]], graph.activations[layer.output]
    if layer.kind in ("conv2d", "depthwise_conv2d", "average_pool", "max_pool"):
        _check_window(layer, src, dst)
    elif layer.kind == "fully_connected":
        _check_fully_connected(layer, src, dst)
    elif layer.kind == "add":
        _check_add(graph, layer, dst)
    elif layer.kind == "softmax":
        _check_softmax(layer, src, dst)
    else:
        _require(src.size == dst.size == params["size"],
                 f"copies {params['size']} values from {src.size} into {dst.size}")


def _check_offsets(p, input_key="input_offset") -> None:
    _require(-127 <= p[input_key] <= 128, f"{input_key} {p[input_key]} is not minus an int8 zero point")
    _require(-128 <= p["output_offset"] <= 127, f"output_offset {p['output_offset']} is not an int8 zero point")
    _require(-128 <= p["activation_min"] <= p["activation_max"] <= 127,
             f"activation range [{p['activation_min']}, {p['activation_max']}] is not within int8")


def _max_input_term(offset: int) -> int:
    """The largest |q + offset| over int8 q."""
    return max(abs(-128 + offset), abs(127 + offset))


def _check_requantize(bound: int, multiplier: int, shift: int, what: str) -> None:
    """``eq_multiply_by_quantized_multiplier(acc, m, s) + output_offset`` stays in int32 for |acc| <= bound."""
    _require(0 <= multiplier <= INT32_MAX and -31 <= shift <= 30, f"{what}: multiplier {multiplier}, shift {shift}")
    shifted = bound << max(shift, 0)
    _require(shifted <= INT32_MAX, f"{what}: sums up to {bound:,} overflow int32 when scaled by 2^{shift}")
    _require(shifted * multiplier // 2**31 + 1 + 128 <= INT32_MAX, f"{what}: the requantized sum overflows int32")


def _check_window(layer, src, dst) -> None:
    p = layer.params
    _require(len(src.shape) == 4 and len(dst.shape) == 4, f"input {list(src.shape)} / output {list(dst.shape)} "
                                                          "are not NHWC")
    _require(tuple(src.shape) == (p["batches"], p["input_height"], p["input_width"], p["input_channels"]),
             f"input is {list(src.shape)}, the parameters say {[p['batches'], p['input_height'], p['input_width'], p['input_channels']]}")  # noqa: E501
    _require(tuple(dst.shape) == (p["batches"], p["output_height"], p["output_width"], p["output_channels"]),
             f"output is {list(dst.shape)}, the kernel writes {[p['batches'], p['output_height'], p['output_width'], p['output_channels']]}")  # noqa: E501
    for key in ("filter_height", "filter_width", "stride_height", "stride_width", "dilation_height",
                "dilation_width", "depth_multiplier"):
        _require(p[key] >= 1, f"{key} is {p[key]}")
    _require(p["padding_top"] >= 0 and p["padding_left"] >= 0, "negative padding")
    for axis in ("height", "width"):
        extent = (p[f"output_{axis}"] - 1) * p[f"stride_{axis}"] + (p[f"filter_{axis}"] - 1) * p[f"dilation_{axis}"]
        pad = p["padding_top" if axis == "height" else "padding_left"]
        _require(extent + pad + p[f"input_{axis}"] <= INT32_MAX,
                 f"the window positions along the {axis} overflow int32")
    _check_offsets(p)
    if layer.kind in ("average_pool", "max_pool"):
        _require(p["input_channels"] == p["output_channels"], "the pool changes the channel count")
        # the pool kernels do not requantize (TFLite Micro refuses scales more than 1e-6 apart, too)
        _require(src.zero_point == dst.zero_point and abs(src.scale - dst.scale) <= 1e-6,
                 "the output's quantization differs from the input's (a pool does not requantize)")
        _require(p["filter_height"] * p["filter_width"] * 128 <= INT32_MAX, "the pool window's sum overflows int32")
        for axis, pad in (("height", p["padding_top"]), ("width", p["padding_left"])):
            last_start = (p[f"output_{axis}"] - 1) * p[f"stride_{axis}"] - pad
            _require(p[f"filter_{axis}"] > pad and last_start < p[f"input_{axis}"],
                     f"a pooling window along the {axis} covers no input value (empty window)")
        return
    channels = p["output_channels"]
    depthwise = layer.kind == "depthwise_conv2d"
    if depthwise:
        _require(channels == p["input_channels"] * p["depth_multiplier"],
                 f"{channels} output channels from {p['input_channels']} x depth multiplier {p['depth_multiplier']}")
        per_channel = p["filter_height"] * p["filter_width"]
    else:
        _require(p["depth_multiplier"] == 1, "depth multiplier on a plain convolution")
        per_channel = p["filter_height"] * p["filter_width"] * p["input_channels"]
    filt = layer.constants["filter"]
    _require(filt.size <= INT32_MAX, f"the filter has {filt.size:,} values, more than int32 indexes")
    _require(filt.size == channels * per_channel,
             f"the filter has {filt.size} values; {channels} output channels of {per_channel} taps need "
             f"{channels * per_channel} (does the input have more channels than the filter?)")
    layout = ((1, p["filter_height"], p["filter_width"], channels) if depthwise else
              (channels, p["filter_height"], p["filter_width"], p["input_channels"]))
    _require(filt.shape == layout, f"the filter is {list(filt.shape)}, the kernel reads it as "
                                   f"{'1HWO' if depthwise else 'OHWI'} {list(layout)}")
    for name in ("multipliers", "shifts", "bias"):
        if name in layer.constants:
            _require(layer.constants[name].size == channels,
                     f"{name} has {layer.constants[name].size} entries for {channels} output channels")
    # taps per output channel, in the filter's own layout (OHWI, or 1HWO for depthwise)
    taps = filt.reshape(-1, channels) if depthwise else filt.reshape(channels, -1).T
    sums = np.abs(taps.astype(np.int64)).sum(axis=0) * _max_input_term(p["input_offset"])
    if "bias" in layer.constants:
        sums += np.abs(layer.constants["bias"].astype(np.int64))
    _require(int(sums.max()) <= INT32_MAX, "the accumulator can overflow int32 (weights or bias too large)")
    for oc in range(channels):
        _check_requantize(int(sums[oc]), int(layer.constants["multipliers"][oc]), int(layer.constants["shifts"][oc]),
                          f"output channel {oc}")


def _check_fully_connected(layer, src, dst) -> None:
    p = layer.params
    for key in ("batches", "input_depth", "output_depth"):
        _require(p[key] >= 1, f"{key} is {p[key]}")
    _require(src.size == p["batches"] * p["input_depth"],
             f"the input has {src.size} values, not {p['batches']} batches of {p['input_depth']}")
    _require(dst.size == p["batches"] * p["output_depth"],
             f"the output tensor holds {dst.size} values; the kernel writes {p['batches']} x {p['output_depth']}")
    _check_offsets(p)
    _require(-127 <= p["filter_offset"] <= 128, f"filter_offset {p['filter_offset']} is not minus an int8 zero point")
    filt = layer.constants["filter"]
    _require(filt.size == p["output_depth"] * p["input_depth"],
             f"the weights have {filt.size} values, not {p['output_depth']} x {p['input_depth']}")
    if "bias" in layer.constants:
        _require(layer.constants["bias"].size == p["output_depth"],
                 f"bias has {layer.constants['bias'].size} entries for {p['output_depth']} outputs")
    rows = np.abs(filt.reshape(p["output_depth"], -1).astype(np.int64) + p["filter_offset"]).sum(axis=1)
    sums = rows * _max_input_term(p["input_offset"])
    if "bias" in layer.constants:
        sums += np.abs(layer.constants["bias"].astype(np.int64))
    _require(int(sums.max()) <= INT32_MAX, "the accumulator can overflow int32 (weights or bias too large)")
    _check_requantize(int(sums.max()), p["multiplier"], p["shift"], "output")


def _check_add(graph, layer, dst) -> None:
    p = layer.params
    operands = iter(layer.inputs)
    sizes = [layer.constants[f"input{k}"].size if f"input{k}" in layer.constants else
             graph.activations[next(operands)].size for k in (1, 2)]
    _require(sizes[0] == sizes[1] == dst.size == p["size"],
             f"operands of {sizes[0]} and {sizes[1]} values into an output of {dst.size}, size {p['size']}")
    _check_offsets(p, "input1_offset")
    _require(-127 <= p["input2_offset"] <= 128, f"input2_offset {p['input2_offset']} is not minus an int8 zero point")
    _require(0 <= p["left_shift"] <= 22, f"left_shift {p['left_shift']}")
    total = 0
    for k in (1, 2):
        bound = _max_input_term(p[f"input{k}_offset"]) << p["left_shift"]
        multiplier, shift = p[f"input{k}_multiplier"], p[f"input{k}_shift"]
        _require(0 <= multiplier <= INT32_MAX and -31 <= shift <= 30, f"input{k} multiplier {multiplier}, {shift}")
        shifted = bound << max(shift, 0)
        _require(shifted <= INT32_MAX, f"input {k}'s rescaling overflows int32")
        total += shifted * multiplier // 2**31 + 1
    _require(total <= INT32_MAX, "the rescaled operands' sum overflows int32")
    # TFLite's int8 Add takes every rescaling below one (QuantizeMultiplierSmallerThanOneExp; TFLite Micro aborts
    # otherwise): an output scale under 2^-19 of the inputs' is no model to translate
    _require(max(p["input1_shift"], p["input2_shift"], p["output_shift"]) <= 0,
             "the output scale is too small for the inputs' (a rescaling above one)")
    _check_requantize(total, p["output_multiplier"], p["output_shift"], "output")


def _check_softmax(layer, src, dst) -> None:
    p = layer.params
    # rows of ``depth`` contiguous values (the last axis for TFLite; ONNX's 2-D coercion may take several)
    _require(p["depth"] >= 1 and p["rows"] >= 1, f"{p['rows']} rows of {p['depth']}")
    _require(src.size == dst.size == p["rows"] * p["depth"],
             f"input of {src.size} values, output tensor of {dst.size}; the kernel writes {p['rows'] * p['depth']}")
    _require(dst.zero_point == -128 and abs(dst.scale * 256 - 1) <= 1e-6,
             "the output's quantization is not scale 1/256, zero point -128 (what the kernel writes)")
    # TFLite's QuantizeMultiplierGreaterThanOne: beta * input scale * 2^26 must exceed 1 (TFLite Micro aborts
    # otherwise, e.g. for beta 0), and the kernel's left shift must be a valid one
    _require(2**30 <= p["input_multiplier"] <= INT32_MAX and 1 <= p["input_left_shift"] <= 31,
             f"input multiplier {p['input_multiplier']}, left shift {p['input_left_shift']} (beta times the input "
             "scale is too small or too large for the fixed-point exp)")
    _require(p["diff_min"] <= 0, f"diff_min {p['diff_min']}")
    # the kernel shifts differences >= diff_min left by input_left_shift in 32 bits: they must fit
    _require(-p["diff_min"] << p["input_left_shift"] <= 2**31, "the scaled input differences overflow int32")
