"""Ways to break a valid :class:`tflite_forge.ModelSpec`, one field at a time, each aimed at a fact the
generated C relies on (sizes, channel counts, dimensions, zero points, strides, operator order,
operand indices, opcodes, types), plus byte-level damage to the serialized file.

Every mutation takes (spec, rng) and changes the copy it is given; it returns a short label for the
fuzzer's counts. Some mutants stay valid models (e.g. opcodes written only in ``builtin_code``):
the fuzzer then demands the export equal TensorFlow Lite Micro.
"""

from __future__ import annotations

import numpy as np
from tflite_forge import OPCODES, OPTIONS, serialize

EXTREME_INTS = [0, -1, -490, 2**31 - 1, -(2**31), 2**30, 65536, 3, 128, -129]


class _NotApplicable(Exception):
    """The model has nothing this mutation changes (e.g. no constant tensor)."""


def _pick(rng, items):
    if not items:
        raise _NotApplicable
    return items[int(rng.integers(len(items)))]


def _op_with(spec, rng, kinds):
    ops = [op for op in spec.operators if op.kind in kinds]
    return _pick(rng, ops) if ops else None


def filter_channels(spec, rng):
    op = _op_with(spec, rng, ("CONV_2D",))
    if op is None:
        return None
    filt = spec.tensors[op.inputs[1]]
    if filt.shape[3] < 2:  # widen the input instead: the same mismatch, input channels > filter channels
        source = spec.tensors[op.inputs[0]]
        source.shape = [*source.shape[:3], source.shape[3] + 1]
        return "input_channels_over_filter"
    filt.shape = [*filt.shape[:3], filt.shape[3] - 1]
    filt.data = np.ascontiguousarray(filt.data[..., :-1])
    return "filter_channels_under_input"


def short_bias(spec, rng):
    op = _op_with(spec, rng, ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    if op is None or len(op.inputs) < 3:
        return None
    bias = spec.tensors[op.inputs[2]]
    keep = int(rng.integers(0, bias.shape[0])) if bias.shape[0] > 1 else 0
    bias.data = bias.data[:keep].copy()
    bias.shape = [keep]
    bias.scale, bias.zero_point = bias.scale[:max(keep, 1)], bias.zero_point[:max(keep, 1)]
    return "short_bias"


def output_size(spec, rng):
    op = _pick(rng, spec.operators)
    out = spec.tensors[op.outputs[0]]
    axis = int(rng.integers(len(out.shape)))
    out.shape = list(out.shape)
    out.shape[axis] = max(1, out.shape[axis] + int(_pick(rng, [-1, 1, 2, 7])))
    return f"output_size_{op.kind}"


def dimension(spec, rng):
    tensor = _pick(rng, [t for t in spec.tensors if t.data is None])
    axis = int(rng.integers(len(tensor.shape)))
    tensor.shape = list(tensor.shape)
    tensor.shape[axis] = int(_pick(rng, [0, -1, -490, 2**31 - 1, 2**20, 46341, 2**16]))
    return "dimension"


def zero_point(spec, rng):
    tensor = _pick(rng, [t for t in spec.tensors if t.zero_point])
    tensor.zero_point = [int(_pick(rng, [2**31 - 1, -(2**31), 2**31, 2**40, 128, -129, 300]))] * len(tensor.zero_point)
    return "zero_point"


def scale(spec, rng):
    tensor = _pick(rng, [t for t in spec.tensors if t.scale])
    tensor.scale = [float(_pick(rng, [0.0, -1.0, float("nan"), float("inf"), 1e-30, 1e30, 1e-8]))] * len(tensor.scale)
    return "scale"


def window(spec, rng):
    op = _op_with(spec, rng, ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"))
    if op is None:
        return None
    key = _pick(rng, [k for k in ("stride_h", "stride_w", "dilation_h", "dilation_w", "filter_h", "filter_w",
                                  "depth_multiplier") if k in op.options])
    op.options[key] = int(_pick(rng, EXTREME_INTS))
    return f"window_{key}"


def empty_pool_window(spec, rng):
    """A pool whose output claims more rows than its input: with SAME padding the first windows see nothing."""
    op = _op_with(spec, rng, ("AVERAGE_POOL_2D", "MAX_POOL_2D"))
    if op is None:
        return None
    op.options.update(filter_h=1, filter_w=1, stride_h=1, stride_w=1, padding="SAME")
    out = spec.tensors[op.outputs[0]]
    source = spec.tensors[op.inputs[0]]
    out.shape = [source.shape[0], source.shape[1] + 4, source.shape[2] + 4, source.shape[3]]
    return "empty_pool_window"


def operator_order(spec, rng):
    if len(spec.operators) < 2:
        return None
    i, j = sorted(rng.choice(len(spec.operators), 2, replace=False))
    spec.operators[i], spec.operators[j] = spec.operators[j], spec.operators[i]
    return "operator_order"


def operand_index(spec, rng):
    op = _pick(rng, spec.operators)
    position = int(rng.integers(len(op.inputs) + 1))
    target = int(_pick(rng, [-1, len(spec.tensors), 10**6, int(rng.integers(len(spec.tensors))), op.outputs[0]]))
    if position == len(op.inputs):
        op.outputs = [target]
    else:
        op.inputs = list(op.inputs)
        op.inputs[position] = target
    return "operand_index"


def unwritten_input(spec, rng):
    """An operator reads an activation that nothing writes (a fresh tensor of the right shape)."""
    op = _pick(rng, spec.operators)
    source = spec.tensors[op.inputs[0]]
    clone = type(source)(f"orphan{len(spec.tensors)}", list(source.shape), source.dtype, list(source.scale),
                         list(source.zero_point), source.quantized_dimension, None)
    spec.tensors.append(clone)
    op.inputs = [len(spec.tensors) - 1, *op.inputs[1:]]
    return "unwritten_input"


def opcodes(spec, rng):
    """Valid: opcodes as current converters write them (only builtin_code) or as old ones (only the byte)."""
    style = _pick(rng, ["builtin", "deprecated"])
    for op in spec.operators:
        op.codes = style
    return f"opcodes_{style}"


def opcode_kind(spec, rng):
    op = _pick(rng, spec.operators)
    op.kind = _pick(rng, [k for k in OPCODES if k != op.kind])
    return "opcode_kind"


def dtype(spec, rng):
    tensor = _pick(rng, spec.tensors)
    tensor.dtype = _pick(rng, ["FLOAT32", "INT32", "UINT8", "INT64"])
    if tensor.data is not None and rng.random() < 0.5:
        tensor.data = tensor.data.view(np.uint8).copy()  # same bytes, now too few or too many for the type
    return "dtype"


def truncated_data(spec, rng):
    tensor = _pick(rng, [t for t in spec.tensors if t.data is not None])
    tensor.data = tensor.data.reshape(-1)[: max(0, tensor.data.size - int(rng.integers(1, 4)))].copy()
    return "truncated_data"


def weight_quantization(spec, rng):
    op = _op_with(spec, rng, ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    if op is None:
        return None
    weights = spec.tensors[op.inputs[1]]
    choice = int(rng.integers(3))
    if choice == 0:
        weights.scale = weights.scale + [0.01] if rng.random() < 0.5 else weights.scale[:-1] or [0.01, 0.02]
        weights.zero_point = [0] * len(weights.scale)
    elif choice == 1:
        weights.quantized_dimension = int(_pick(rng, [0, 1, 2, 3, 7]))
    else:
        weights.zero_point = [int(_pick(rng, [1, -5, 127, -128]))] * len(weights.zero_point)
    return "weight_quantization"


def model_io(spec, rng):
    choice = int(rng.integers(3))
    if choice == 0:
        spec.inputs = _pick(rng, [[], [spec.inputs[0], spec.inputs[0]], [-1], [10**6]])
    elif choice == 1:
        spec.outputs = _pick(rng, [[], [-1], [spec.inputs[0]], [spec.operators[0].inputs[-1]]])
    else:
        spec.inputs = [spec.operators[-1].outputs[0]]
    return "model_io"


def options(spec, rng):
    op = _pick(rng, spec.operators)
    if rng.random() < 0.5:
        op.options = {}
    else:
        op.options_type = int(_pick(rng, [0, 1, 2, 5, 8, 9, 11, 17, 100]))
    if op.kind in OPTIONS and "activation" in op.options and rng.random() < 0.5:
        op.options["activation"] = int(rng.integers(0, 8))
    return "options"


def softmax_beta(spec, rng):
    op = _op_with(spec, rng, ("SOFTMAX",))
    if op is None:
        return None
    op.options["beta"] = float(_pick(rng, [0.0, -1.0, 1e10, float("nan"), 1e-12]))
    return "softmax_beta"


def sparse(spec, rng):
    _pick(rng, spec.tensors).sparse = True
    return "sparse"


def huge_bias(spec, rng):
    op = _op_with(spec, rng, ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    if op is None or len(op.inputs) < 3:
        return None
    bias = spec.tensors[op.inputs[2]]
    bias.data = bias.data.copy()
    bias.data[int(rng.integers(bias.data.size))] = int(_pick(rng, [2**31 - 1, -(2**31), 2**31 - 10**5]))
    return "huge_bias"


def add_shapes(spec, rng):
    op = _op_with(spec, rng, ("ADD",))
    if op is None:
        return None
    other = spec.tensors[op.inputs[1]]
    other.shape = [*other.shape[:-1], 1] if other.shape[-1] > 1 else [*other.shape[:-1], 2]
    if other.data is not None:
        other.data = np.zeros(other.shape, np.int8)
    return "add_shapes"


SPEC_MUTATIONS = [filter_channels, short_bias, output_size, dimension, zero_point, scale, window,
                  empty_pool_window, operator_order, operand_index, unwritten_input, opcodes, opcode_kind, dtype,
                  truncated_data, weight_quantization, model_io, options, softmax_beta, sparse, huge_bias, add_shapes]


def mutate(spec, rng):
    """(flatbuffer bytes, label): one or two spec mutations, or byte-level damage of the valid file."""
    if rng.random() < 0.15:
        data = bytearray(serialize(spec))
        for _ in range(int(rng.integers(1, 5))):
            data[int(rng.integers(8, len(data)))] = int(rng.integers(256))
        if rng.random() < 0.2:
            data = data[: int(rng.integers(8, len(data)))]
        return bytes(data), "bytes"
    labels = []
    for _ in range(1 if rng.random() < 0.8 else 2):
        for _attempt in range(8):
            mutation = SPEC_MUTATIONS[int(rng.integers(len(SPEC_MUTATIONS)))]
            try:
                label = mutation(spec, rng)
            except (_NotApplicable, IndexError, TypeError, AttributeError, ValueError):
                continue  # e.g. a second mutation meets a bias index the first one pointed at an activation
            if label:
                labels.append(label)
                break
    return serialize(spec), "+".join(labels) or "none"
