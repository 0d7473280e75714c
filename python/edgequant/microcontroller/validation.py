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

The facts particular to one kernel (its shapes rule) are registered with it, in
``kernels/<kind>.py``; this module checks what every layer shares and calls them.

Facts about the source file itself (TFLite's output-size rule, its int16 strides, bias scales)
are the front end's to check (``tflite_frontend.py``); what reaches this module is the graph.
"""

from __future__ import annotations

import math

import numpy as np

from .graph import UnsupportedModelError
from .kernels import KERNELS
from .kernels._checks import INT32_MAX, Refusal, require

_MAX_LISTED = 3  # reasons in the message; the first one is usually the cause of the rest
_DTYPES = {"filter": np.int8, "bias": np.int32, "multipliers": np.int32, "shifts": np.int32, "input1": np.int8,
           "input2": np.int8}


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
    except Refusal as reason:
        problems.append(str(reason))
    if not problems:
        for layer in graph.layers:
            try:
                _check_layer(graph, layer)
            except Refusal as reason:
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
    require(graph.layers, "the model has no layers")
    for i, a in enumerate(graph.activations):
        dims = tuple(a.shape)
        require(a.index == i, f"activation {a.name!r} is listed at {i} but numbered {a.index}")
        require(dims and all(isinstance(d, (int, np.integer)) and d >= 1 for d in dims),
                 f"tensor {a.name!r} has shape {list(dims)} (every dimension must be at least 1)")
        require(math.prod(int(d) for d in dims) <= INT32_MAX,
                 f"tensor {a.name!r} has {math.prod(int(d) for d in dims):,} values, more than int32 indexes")
        require(math.isfinite(a.scale) and a.scale > 0, f"tensor {a.name!r} has scale {a.scale}")
        require(-128 <= a.zero_point <= 127, f"tensor {a.name!r} has zero point {a.zero_point}, outside int8")


def _check_dataflow(graph) -> None:
    count = len(graph.activations)
    require(0 <= graph.input < count and 0 <= graph.output < count, "the graph's input or output is missing")
    written = {graph.input}
    for layer in graph.layers:
        require(layer.kind in KERNELS, f"{layer.name}: no kernel {layer.kind!r}")
        require(all(0 <= a < count for a in [*layer.inputs, layer.output]),
                 f"{layer.name} refers to an activation that does not exist")
        for a in layer.inputs:
            require(a in written, f"{layer.name} reads {graph.activations[a].name!r}, which no earlier layer wrote "
                                   "(operators out of order, or a tensor nothing computes)")
        require(layer.output != graph.input, f"{layer.name} writes the graph's input")
        require(layer.output not in written,
                 f"{layer.name} writes {graph.activations[layer.output].name!r}, which an earlier layer wrote")
        written.add(layer.output)
    require(graph.output in written and graph.output != graph.input, "no layer computes the graph's output")


def _check_layer(graph, layer) -> None:
    kernel = KERNELS[layer.kind]
    params = layer.params
    # every field set (the C initializer is designated: a missing field would silently be 0), no stranger
    require(set(params) == set(kernel.fields),
            f"parameter block {sorted(params)} is not the kernel's {sorted(kernel.fields)}")
    for name, value in params.items():
        require(isinstance(value, (int, np.integer)) and -(2**31) <= int(value) <= INT32_MAX,
                f"parameter {name} = {value} does not fit int32")
    required, optional = kernel.required, kernel.optional
    names = set(layer.constants)
    require(required <= names <= required | optional, f"constants {sorted(names)}, expected {sorted(required)}")
    for name, array in layer.constants.items():
        require(isinstance(array, np.ndarray) and array.dtype == _DTYPES[name],
                f"constant {name} is not {np.dtype(_DTYPES[name]).name}")
    require(layer.inputs, "reads no activation (constant data only)")
    operands = len(layer.inputs) + len(names & {"input1", "input2"})
    require(operands == kernel.operands, f"{operands} operands")
    src, dst = graph.activations[layer.inputs[0]], graph.activations[layer.output]
    kernel.check(graph, layer, src, dst)  # the kernel's shapes rule (kernels/<kind>.py)
