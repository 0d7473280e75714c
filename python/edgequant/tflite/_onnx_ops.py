"""One converter per TFLite builtin operator, each writing the ONNX nodes that compute its output's real
values (see ``_onnx_graph.py`` for the layout and quantization conventions). :data:`CONVERTERS` lists
them; an operator kind missing from it is not supported."""

from __future__ import annotations

import numpy as np

from ._onnx_graph import NCHW_TO_NHWC, NHWC_TO_NCHW, OnnxGraph

OHWI_TO_OIHW = (0, 3, 1, 2)  # CONV_2D filters
DEPTHWISE_TO_OIHW = (3, 0, 1, 2)  # DEPTHWISE_CONV_2D filters [1, H, W, C·multiplier] -> [C·multiplier, 1, H, W]


def _operands(graph: OnnxGraph, op, fewest: int, most: int, optional_from: int | None = None) -> None:
    """Checks the operand counts and that every index names a tensor (-1: an absent optional input)."""
    if not fewest <= len(op.inputs) <= most or len(op.outputs) != 1:
        raise ValueError(f"has {len(op.inputs)} inputs and {len(op.outputs)} outputs; expects {fewest} to {most} "
                         "inputs and 1 output")
    optional_from = most if optional_from is None else optional_from
    for position, index in enumerate(op.inputs):
        if index == -1 and position >= optional_from:
            continue
        if not 0 <= index < len(graph.tensors):
            raise ValueError(f"input {position} refers to tensor {index}, which does not exist")
    if not 0 <= op.outputs[0] < len(graph.tensors):
        raise ValueError(f"its output refers to tensor {op.outputs[0]}, which does not exist")


def _ranks(graph: OnnxGraph, op, **expected) -> None:
    """Checks the ranks of the tensors named by input position (``input0``...) or ``output``."""
    for where, rank in expected.items():
        index = op.outputs[0] if where == "output" else op.inputs[int(where.removeprefix("input"))]
        shape = graph.tensors[index].shape
        if len(shape) != rank:
            raise ValueError(f"{where} {graph.tensors[index].name!r} has the shape {list(shape)}; expects rank {rank}")


def _options(op, *keys) -> list:
    """The values of options ``keys``; a file without them is refused (TFLite would read zeros)."""
    missing = [key for key in keys if key not in op.options]
    if missing:
        raise ValueError(f"has no {op.kind} options ({', '.join(missing)} missing)")
    return [op.options[key] for key in keys]


def _padding(padding: str, size: int, kernel: int, stride: int, dilation: int, output_size: int) -> tuple[int, int]:
    """(before, after) padding of one spatial axis; TFLite's SAME puts the odd pixel after."""
    if stride < 1 or dilation < 1 or kernel < 1:
        raise ValueError(f"stride {stride}, dilation {dilation} and kernel {kernel} must be >= 1")
    effective = (kernel - 1) * dilation + 1
    if padding == "VALID":
        expected, total = (size - effective + stride) // stride, 0
    elif padding == "SAME":
        expected = -(-size // stride)
        total = max((expected - 1) * stride + effective - size, 0)
    else:
        raise ValueError(f"padding {padding!r} is neither SAME nor VALID")
    if expected != output_size:
        raise ValueError(f"{padding} padding of {size} with kernel {kernel}, stride {stride}, dilation {dilation} "
                         f"gives {expected}, but the output is {output_size}")
    return total // 2, total - total // 2


def _window(op, source_shape, output_shape, kernel, dilation) -> dict:
    """ONNX kernel_shape / strides / pads of a 2-D window over NHWC shapes."""
    padding, stride_h, stride_w = _options(op, "padding", "stride_h", "stride_w")
    top, bottom = _padding(padding, source_shape[1], kernel[0], stride_h, dilation[0], output_shape[1])
    left, right = _padding(padding, source_shape[2], kernel[1], stride_w, dilation[1], output_shape[2])
    return {"kernel_shape": list(kernel), "strides": [stride_h, stride_w], "pads": [top, left, bottom, right]}


def _dilation(op) -> tuple[int, int]:
    return tuple(_options(op, "dilation_h", "dilation_w"))


def _finish(graph: OnnxGraph, op, value: str) -> None:
    """The fused activation, then the output written (rounded to its grid when quantized)."""
    output = op.outputs[0]
    graph.write(output, graph.activation(value, op.options.get("activation", "NONE"), graph.tensors[output].name))


def _conv_inputs(graph: OnnxGraph, op, permutation, source: str | None = None) -> list:
    """[data, weights, bias]: ``source`` (default: the input's value), the weights permuted to ONNX's
    layout, the bias if the operator has one."""
    inputs = [source or graph.value(op.inputs[0]), graph.weights(op.inputs[1], permutation)]
    if len(op.inputs) > 2 and op.inputs[2] != -1:
        inputs.append(graph.bias(op.inputs[2], op.inputs[0], op.inputs[1]))
    return inputs


def conv_2d(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 2, 3, optional_from=2)
    _ranks(graph, op, input0=4, input1=4, output=4)
    source, weights, output = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    out_channels, kernel_h, kernel_w, channels_per_group = weights.shape
    if channels_per_group < 1 or source.shape[3] % channels_per_group:
        raise ValueError(f"the input has {source.shape[3]} channels; the filter takes {channels_per_group} per group")
    groups = source.shape[3] // channels_per_group
    if out_channels != output.shape[3] or out_channels % groups:
        raise ValueError(f"the filter has {out_channels} output channels; the output {output.shape[3]}, "
                         f"in {groups} groups")
    dilation = _dilation(op)
    window = _window(op, source.shape, output.shape, (kernel_h, kernel_w), dilation)
    value = graph.node("Conv", _conv_inputs(graph, op, OHWI_TO_OIHW), f"{output.name}/conv", group=groups,
                       dilations=list(dilation), **window)
    _finish(graph, op, value)


def depthwise_conv_2d(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 2, 3, optional_from=2)
    _ranks(graph, op, input0=4, input1=4, output=4)
    source, weights, output = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    one, kernel_h, kernel_w, out_channels = weights.shape
    channels = source.shape[3]
    # The multiplier follows from the shapes (output channel c·m + j reads input channel c), as ONNX's
    # groups do; the option only has to agree with them.
    if one != 1 or channels < 1 or out_channels % channels or out_channels != output.shape[3]:
        raise ValueError(f"depthwise filter {list(weights.shape)} does not fit the input's {channels} channels and "
                         f"the output's {output.shape[3]}")
    declared = op.options.get("depth_multiplier", 0)
    if declared not in (0, out_channels // channels):
        raise ValueError(f"depth_multiplier is {declared}, but the filter gives {out_channels // channels}")
    dilation = _dilation(op)
    window = _window(op, source.shape, output.shape, (kernel_h, kernel_w), dilation)
    value = graph.node("Conv", _conv_inputs(graph, op, DEPTHWISE_TO_OIHW), f"{output.name}/depthwise",
                       group=channels, dilations=list(dilation), **window)
    _finish(graph, op, value)


def fully_connected(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 2, 3, optional_from=2)
    _ranks(graph, op, input1=2)
    source, weights, output = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if op.options.get("weights_format", 0) != 0:
        raise ValueError(f"weights in the shuffled format {op.options['weights_format']} are not supported")
    units, features = weights.shape
    elements = int(np.prod(source.shape, dtype=np.int64))
    if features < 1 or elements % features:
        raise ValueError(f"the input {list(source.shape)} does not split into rows of the weights' {features}")
    rows = elements // features
    value = graph.in_tflite_order(op.inputs[0])  # TFLite flattens its input in NHWC order
    if tuple(source.shape) != (rows, features):
        value = graph.node("Reshape", [value, graph.constant(np.array([rows, features], np.int64),
                                                             f"{source.name}/rows")], f"{source.name}/rows")
    value = graph.node("Gemm", _conv_inputs(graph, op, (0, 1), value), f"{output.name}/gemm", transB=1)
    value = graph.activation(value, op.options.get("activation", "NONE"), output.name)
    if tuple(output.shape) == (rows, units):
        graph.write(op.outputs[0], value)
    elif int(np.prod(output.shape, dtype=np.int64)) == rows * units:  # keep_num_dims: the input's leading axes
        graph.write_reshaped(op.outputs[0], value)
    else:
        raise ValueError(f"the output {list(output.shape)} does not hold {rows} x {units} values")


def add(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 2, 2)
    rank = len(graph.tensors[op.outputs[0]].shape)
    operands = [graph.broadcast_value(index, rank) for index in op.inputs]
    _finish(graph, op, graph.node("Add", operands, f"{graph.tensors[op.outputs[0]].name}/add"))


def _pool(graph: OnnxGraph, op, onnx_op: str) -> None:
    _operands(graph, op, 1, 1)
    _ranks(graph, op, input0=4, output=4)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    window = _window(op, source.shape, output.shape, tuple(_options(op, "filter_h", "filter_w")), (1, 1))
    # AveragePool's default count_include_pad=0 averages over the input pixels only, as TFLite does.
    _finish(graph, op, graph.node(onnx_op, [graph.value(op.inputs[0])], f"{output.name}/pool", **window))


def average_pool_2d(graph: OnnxGraph, op) -> None:
    _pool(graph, op, "AveragePool")


def max_pool_2d(graph: OnnxGraph, op) -> None:
    _pool(graph, op, "MaxPool")


def softmax(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 1, 1)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    (beta,) = _options(op, "beta")
    value = graph.value(op.inputs[0])
    if beta != 1.0:
        value = graph.node("Mul", [value, graph.constant(np.float32(beta), f"{output.name}/beta")],
                           f"{output.name}/scaled")
    axis = 1 if len(source.shape) == 4 else -1  # TFLite's last axis: the channels, axis 1 of NCHW
    graph.write(op.outputs[0], graph.node("Softmax", [value], f"{output.name}/softmax", axis=axis))


def _constant_integers(graph: OnnxGraph, index: int, what: str) -> list:
    tensor = graph.tensors[index]
    if tensor.data is None or tensor.data.dtype.kind not in "iu" or tensor.data.ndim > 1:
        raise ValueError(f"the {what} (tensor {index} {tensor.name!r}) must be a constant integer vector")
    return [int(v) for v in tensor.data.reshape(-1)]


def _reshape_target(graph: OnnxGraph, op) -> list:
    """The new shape: the shape tensor's, else the options', else the output tensor's; -1 resolved."""
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if len(op.inputs) > 1 and op.inputs[1] != -1:
        shape = _constant_integers(graph, op.inputs[1], "new shape")
    else:
        shape = list(op.options.get("new_shape", output.shape))
    elements = int(np.prod(source.shape, dtype=np.int64))
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if shape.count(-1) == 1 and known > 0 and elements % known == 0:
        shape[shape.index(-1)] = elements // known
    if any(d < 0 for d in shape) or int(np.prod(shape, dtype=np.int64)) != elements:
        raise ValueError(f"cannot reshape {list(source.shape)} to {shape}")
    if list(output.shape) != shape:
        raise ValueError(f"the new shape {shape} is not the output's {list(output.shape)}")
    return shape


def reshape(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 1, 2, optional_from=1)
    _reshape_target(graph, op)  # checked; the output tensor's shape is the same
    graph.write_reshaped(op.outputs[0], graph.in_tflite_order(op.inputs[0]))


def _reduce_mean(graph: OnnxGraph, value: str, axes, keep: bool, name: str) -> str:
    if graph.opset >= 18:  # axes became an input
        axes_value = graph.constant(np.array(axes, np.int64), f"{name}/axes")
        return graph.node("ReduceMean", [value, axes_value], f"{name}/mean", keepdims=int(keep))
    return graph.node("ReduceMean", [value], f"{name}/mean", axes=list(axes), keepdims=int(keep))


def mean(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 2, 2)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    rank = len(source.shape)
    axes = sorted({a + rank if a < 0 else a for a in _constant_integers(graph, op.inputs[1], "axes")})
    if not axes or not all(0 <= a < rank for a in axes):
        raise ValueError(f"axes {axes} do not name axes of the rank-{rank} input")
    keep = bool(op.options.get("keep_dims", False))
    if rank == 4 and (keep or axes == [1, 2]):
        # NCHW in place: kept axes stay NCHW; H, W reduced away leave [N, C] as TFLite does
        onnx_axes = sorted(NHWC_TO_NCHW.index(a) for a in axes)
        graph.write(op.outputs[0], _reduce_mean(graph, graph.value(op.inputs[0]), onnx_axes, keep, output.name))
        return
    value = graph.value(op.inputs[0])
    if rank == 4:
        value = graph.node("Transpose", [value], f"{source.name}/nhwc", perm=list(NCHW_TO_NHWC))
    graph.write(op.outputs[0], _reduce_mean(graph, value, axes, keep, output.name))


def quantize(graph: OnnxGraph, op) -> None:
    """Float -> int8, or int8 -> int8 with other parameters: the real values rounded to the output's grid."""
    _operands(graph, op, 1, 1)
    graph.write(op.outputs[0], graph.value(op.inputs[0]))


def dequantize(graph: OnnxGraph, op) -> None:
    """Codes -> float: the input's value already holds the real values (constant inputs are folded
    before conversion)."""
    _operands(graph, op, 1, 1)
    graph.write(op.outputs[0], graph.value(op.inputs[0]))


CONVERTERS = {
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "FULLY_CONNECTED": fully_connected,
    "ADD": add,
    "AVERAGE_POOL_2D": average_pool_2d,
    "MAX_POOL_2D": max_pool_2d,
    "SOFTMAX": softmax,
    "RESHAPE": reshape,
    "MEAN": mean,
    "QUANTIZE": quantize,
    "DEQUANTIZE": dequantize,
}
