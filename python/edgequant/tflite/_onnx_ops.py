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


def _binary(onnx_op: str):
    """ADD / SUB / MUL: operands broadcast as TFLite aligns them, then the fused activation."""

    def convert(graph: OnnxGraph, op) -> None:
        _operands(graph, op, 2, 2)
        rank = len(graph.tensors[op.outputs[0]].shape)
        operands = [graph.broadcast_value(index, rank) for index in op.inputs]
        _finish(graph, op, graph.node(onnx_op, operands, f"{graph.tensors[op.outputs[0]].name}/{onnx_op.lower()}"))

    return convert


def _activation_op(kind: str):
    """RELU, RELU6, TANH... as operators of their own: the fused activation of the same name."""

    def convert(graph: OnnxGraph, op) -> None:
        _operands(graph, op, 1, 1)
        output = graph.tensors[op.outputs[0]]
        graph.write(op.outputs[0], graph.activation(graph.value(op.inputs[0]), kind, output.name))

    return convert


def logistic(graph: OnnxGraph, op) -> None:
    _operands(graph, op, 1, 1)
    name = graph.tensors[op.outputs[0]].name
    graph.write(op.outputs[0], graph.node("Sigmoid", [graph.value(op.inputs[0])], f"{name}/sigmoid"))


def hard_swish(graph: OnnxGraph, op) -> None:
    """x · relu6(x + 3) / 6: ONNX's HardSwish from opset 14, x · HardSigmoid(x) before."""
    _operands(graph, op, 1, 1)
    name, value = graph.tensors[op.outputs[0]].name, graph.value(op.inputs[0])
    if graph.opset >= 14:
        result = graph.node("HardSwish", [value], f"{name}/hardswish")
    else:
        gate = graph.node("HardSigmoid", [value], f"{name}/gate", alpha=1.0 / 6.0, beta=0.5)
        result = graph.node("Mul", [value, gate], f"{name}/hardswish")
    graph.write(op.outputs[0], result)


def _onnx_axis(axis: int, rank: int) -> int:
    """TFLite axis ``axis`` (negative from the end) of a rank-``rank`` tensor as the ONNX graph's axis."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is outside a rank-{rank} tensor")
    axis %= rank
    return NHWC_TO_NCHW.index(axis) if rank == 4 else axis


def concatenation(graph: OnnxGraph, op) -> None:
    if not op.inputs:
        raise ValueError("has no inputs")
    _operands(graph, op, 1, len(op.inputs))
    output = graph.tensors[op.outputs[0]]
    rank = len(output.shape)
    for index in op.inputs:
        if len(graph.tensors[index].shape) != rank:
            raise ValueError(f"input {graph.tensors[index].name!r} has the shape {list(graph.tensors[index].shape)}; "
                             f"the output is rank {rank}")
    (axis,) = _options(op, "axis")
    value = graph.node("Concat", [graph.value(index) for index in op.inputs], f"{output.name}/concat",
                       axis=_onnx_axis(axis, rank))
    _finish(graph, op, value)


def pad(graph: OnnxGraph, op) -> None:
    """PAD / PADV2: constant padding (0, or PADV2's constant value), paddings a constant [rank, 2]."""
    _operands(graph, op, 2, 3 if op.kind == "PADV2" else 2, optional_from=2)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    rank = len(source.shape)
    paddings = graph.tensors[op.inputs[1]]
    if paddings.data is None or paddings.data.dtype.kind not in "iu" or paddings.data.shape != (rank, 2):
        raise ValueError(f"the paddings (tensor {op.inputs[1]} {paddings.name!r}) must be a constant integer "
                         f"[{rank}, 2] array")
    before, after = (paddings.data[:, k].astype(np.int64).tolist() for k in (0, 1))
    if min(before + after) < 0:
        raise ValueError(f"negative paddings {paddings.data.tolist()}")
    expected = [d + b + a for d, b, a in zip(source.shape, before, after, strict=True)]
    if expected != list(output.shape):
        raise ValueError(f"padding {list(source.shape)} by {paddings.data.tolist()} gives {expected}, "
                         f"but the output is {list(output.shape)}")
    if rank == 4:
        before, after = [before[i] for i in NHWC_TO_NCHW], [after[i] for i in NHWC_TO_NCHW]
    inputs = [graph.value(op.inputs[0]), graph.constant(np.array(before + after, np.int64), f"{output.name}/pads")]
    if len(op.inputs) > 2 and op.inputs[2] != -1:
        fill = graph.tensors[op.inputs[2]]
        if fill.data is None or fill.data.size != 1:
            raise ValueError(f"the constant value (tensor {op.inputs[2]} {fill.name!r}) must be one constant")
        real = fill.data.astype(np.float64).reshape(())
        if len(fill.scale):
            real = fill.scale[0] * (real - fill.zero_point[0])
        inputs.append(graph.constant(np.float32(real), f"{output.name}/fill"))
    graph.write(op.outputs[0], graph.node("Pad", inputs, f"{output.name}/pad", mode="constant"))


def prelu(graph: OnnxGraph, op) -> None:
    """max(x, 0) + alpha · min(x, 0), alpha broadcast against the input as TFLite aligns it."""
    _operands(graph, op, 2, 2)
    output = graph.tensors[op.outputs[0]]
    slope = graph.broadcast_value(op.inputs[1], len(output.shape))
    graph.write(op.outputs[0], graph.node("PRelu", [graph.value(op.inputs[0]), slope], f"{output.name}/prelu"))


def _resize_operands(graph: OnnxGraph, op) -> tuple:
    """A RESIZE_* operator's (source, output, size [h, w], align_corners, half_pixel_centers), checked."""
    _operands(graph, op, 2, 2)
    _ranks(graph, op, input0=4, output=4)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    size = _constant_integers(graph, op.inputs[1], "size")
    if size != list(output.shape[1:3]) or min(size) < 1:
        raise ValueError(f"the size {size} is not the output's {list(output.shape[1:3])}")
    return source, output, size, op.options.get("align_corners", False), op.options.get("half_pixel_centers", False)


def resize_bilinear(graph: OnnxGraph, op) -> None:
    source, output, size, align_corners, half_pixel = _resize_operands(graph, op)
    if align_corners and half_pixel:
        raise ValueError("align_corners and half_pixel_centers are both set")
    # TFLite's source coordinate per mode; the half-pixel one clamps below 0 to the first pixel, as ONNX's does
    mode = "align_corners" if align_corners else "half_pixel" if half_pixel else "asymmetric"
    sizes = graph.constant(np.array([source.shape[0], source.shape[3], *size], np.int64), f"{output.name}/sizes")
    value = graph.node("Resize", [graph.value(op.inputs[0]), "", "", sizes], f"{output.name}/resize", mode="linear",
                       coordinate_transformation_mode=mode)
    graph.write(op.outputs[0], value)


def _nearest_sources(in_size: int, out_size: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    """The source index of each output index along one axis, as TFLite's nearest-neighbour resize computes it
    in float32: floor((o + offset) · scale), or its rounding half away from zero with align_corners; offset
    0.5 with half-pixel centres; clamped to the input."""
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    position = (np.arange(out_size, dtype=np.float32) + np.float32(0.5 if half_pixel else 0.0)) * scale
    position = position.astype(np.float64)  # exact: rounded below without float32's ties
    source = np.floor(position + 0.5) if align_corners else np.floor(position)
    return np.clip(source, 0, in_size - 1).astype(np.int64)


def resize_nearest_neighbor(graph: OnnxGraph, op) -> None:
    """Two Gathers (rows, then columns) of the source indices TFLite computes (:func:`_nearest_sources`):
    ONNX's Resize has no coordinate mode for both flags set, and computes its coordinates in other arithmetic."""
    source, output, size, align_corners, half_pixel = _resize_operands(graph, op)
    value = graph.value(op.inputs[0])
    for axis, in_size, out_size, what in ((2, source.shape[1], size[0], "rows"),
                                          (3, source.shape[2], size[1], "columns")):
        indices = graph.constant(_nearest_sources(int(in_size), out_size, align_corners, half_pixel),
                                 f"{output.name}/{what}")
        value = graph.node("Gather", [value, indices], f"{output.name}/{what}", axis=axis)
    graph.write(op.outputs[0], value)


def depth_to_space(graph: OnnxGraph, op) -> None:
    """NHWC depth to space: output (h·b + i, w·b + j, c) reads input channel (i·b + j)·C + c, which is
    ONNX's DepthToSpace in DCR mode on the NCHW value."""
    _operands(graph, op, 1, 1)
    _ranks(graph, op, input0=4, output=4)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    (block,) = _options(op, "block_size")
    n, h, w, c = source.shape
    if block < 1 or c % (block * block) or list(output.shape) != [n, h * block, w * block, c // (block * block)]:
        raise ValueError(f"block size {block} does not turn {list(source.shape)} into {list(output.shape)}")
    value = graph.node("DepthToSpace", [graph.value(op.inputs[0])], f"{output.name}/depth_to_space", blocksize=block,
                       mode="DCR")
    graph.write(op.outputs[0], value)


def _transpose_conv(graph: OnnxGraph, op, source_index: int, weights_index: int, bias_index: int,
                    padding: str, stride_h: int, stride_w: int) -> None:
    """The transposed convolution of TRANSPOSE_CONV and MediaPipe's Convolution2DTransposeBias: filters
    [O, H, W, I], the output's size given; SAME crops the full result's rows and columns as TFLite does
    (half the excess before, the rest after)."""
    source, weights, output = (graph.tensors[i] for i in (source_index, weights_index, op.outputs[0]))
    for where, tensor in (("input", source), ("filter", weights), ("output", output)):
        if len(tensor.shape) != 4:
            raise ValueError(f"the {where} {tensor.name!r} has the shape {list(tensor.shape)}; expects rank 4")
    out_channels, kernel_h, kernel_w, in_channels = weights.shape
    if source.shape[3] != in_channels or output.shape[3] != out_channels:
        raise ValueError(f"filter {list(weights.shape)} does not fit the input {list(source.shape)} and the "
                         f"output {list(output.shape)}")
    pads = []
    for size, out, kernel, stride in ((source.shape[1], output.shape[1], kernel_h, stride_h),
                                      (source.shape[2], output.shape[2], kernel_w, stride_w)):
        if stride < 1:
            raise ValueError(f"stride {stride} must be >= 1")
        full = (size - 1) * stride + kernel
        if padding not in ("SAME", "VALID"):
            raise ValueError(f"padding {padding!r} is neither SAME nor VALID")
        before = max(full - out, 0) // 2 if padding == "SAME" else 0
        if full - out - before < 0:
            raise ValueError(f"an output of {out} is larger than the transposed convolution's {full}")
        pads.append((before, full - out - before))
    inputs = [graph.value(source_index), graph.weights(weights_index, (3, 0, 1, 2))]
    if bias_index != -1:
        inputs.append(graph.bias(bias_index, source_index, weights_index))
    value = graph.node("ConvTranspose", inputs, f"{output.name}/transposed", kernel_shape=[kernel_h, kernel_w],
                       strides=[stride_h, stride_w], pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]])
    _finish(graph, op, value)


def transpose_conv(graph: OnnxGraph, op) -> None:
    """Inputs: the output's shape, the filters, the input, an optional bias."""
    _operands(graph, op, 3, 4, optional_from=3)
    shape = _constant_integers(graph, op.inputs[0], "output shape")
    if shape != list(graph.tensors[op.outputs[0]].shape):
        raise ValueError(f"the output shape {shape} is not the output's {list(graph.tensors[op.outputs[0]].shape)}")
    padding, stride_h, stride_w = _options(op, "padding", "stride_h", "stride_w")
    bias = op.inputs[3] if len(op.inputs) > 3 else -1
    _transpose_conv(graph, op, op.inputs[2], op.inputs[1], bias, padding, stride_h, stride_w)


def convolution_2d_transpose_bias(graph: OnnxGraph, op) -> None:
    """MediaPipe's custom operator (input, filters, bias); its options are TfLiteTransposeConvParams as raw
    bytes: padding (1 SAME, 2 VALID), stride_width, stride_height."""
    _operands(graph, op, 3, 3)
    raw = op.options.get("custom", b"")
    if len(raw) < 12:
        raise ValueError(f"its custom options hold {len(raw)} bytes; expects padding, stride_width and stride_height")
    padding_code, stride_w, stride_h = np.frombuffer(raw[:12], "<i4").tolist()
    padding = {1: "SAME", 2: "VALID"}.get(padding_code)
    if padding is None:
        raise ValueError(f"padding code {padding_code} is neither SAME (1) nor VALID (2)")
    _transpose_conv(graph, op, op.inputs[0], op.inputs[1], op.inputs[2], padding, stride_h, stride_w)


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


def _slice_per_axis(op, shape, begin, end, strides) -> list:
    """STRIDED_SLICE's constant begin / end / strides and masks as one Python slice (or index, for a shrunk
    axis) per axis of ``shape``: TFLite's semantics are Python's (negative indices count from the end, bounds
    clamp), with begin_mask / end_mask as an open end and ``offset`` making end relative to begin."""
    options = op.options
    for mask in ("ellipsis_mask", "new_axis_mask"):
        if options.get(mask, 0):
            raise ValueError(f"{mask} {options[mask]} is not supported (begin_mask, end_mask, shrink_axis_mask and "
                             "offset are)")
    rank = len(shape)
    if not len(begin) == len(end) == len(strides) == rank:
        raise ValueError(f"begin {begin}, end {end} and strides {strides} must have one value per axis of the "
                         f"rank-{rank} input")
    picks = []
    for axis in range(rank):
        first, last, step = begin[axis], end[axis], strides[axis]
        if step == 0:
            raise ValueError(f"stride 0 on axis {axis}")
        if options.get("offset", False):
            last += first
        if options.get("begin_mask", 0) >> axis & 1:
            first = None
        if options.get("shrink_axis_mask", 0) >> axis & 1:
            index = (first or 0) + (shape[axis] if (first or 0) < 0 else 0)
            if not 0 <= index < shape[axis]:
                raise ValueError(f"shrinks axis {axis} of size {shape[axis]} at index {first}")
            picks.append(index)
            continue
        picks.append(slice(first, None if options.get("end_mask", 0) >> axis & 1 else last, step))
    return picks


def strided_slice(graph: OnnxGraph, op) -> None:
    """STRIDED_SLICE with constant begin / end / strides: an ONNX Slice over the tensor in TFLite's axis order
    (shrunk axes sliced to one element, then reshaped away); ellipsis_mask and new_axis_mask are refused."""
    _operands(graph, op, 4, 4)
    source, output = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    begin, end, strides = (_constant_integers(graph, op.inputs[k], what)
                           for k, what in ((1, "begin"), (2, "end"), (3, "strides")))
    picks = _slice_per_axis(op, list(source.shape), begin, end, strides)
    expected = [len(range(size)[pick]) for size, pick in zip(source.shape, picks, strict=True)
                if isinstance(pick, slice)]  # Python's slicing of a range: the same rules, nothing allocated
    if expected != list(output.shape):
        raise ValueError(f"slicing {list(source.shape)} by begin {begin}, end {end}, strides {strides} gives "
                         f"{expected}, but the output is {list(output.shape)}")
    if 0 in expected:
        raise ValueError(f"the slice of {list(source.shape)} is empty ({expected})")
    largest, smallest = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    starts, ends, steps = [], [], []
    for pick in picks:
        if isinstance(pick, int):  # a shrunk axis: its one element, reshaped away after
            pick = slice(pick, pick + 1, 1)
        step = pick.step
        starts.append(pick.start if pick.start is not None else (0 if step > 0 else largest))
        ends.append(pick.stop if pick.stop is not None else (largest if step > 0 else smallest))
        steps.append(step)
    name = output.name
    value = graph.node("Reshape", [graph.in_tflite_order(op.inputs[0]),
                                   graph.constant(np.array(source.shape, np.int64), f"{name}/source_shape")],
                       f"{name}/in_tflite_axes")
    value = graph.node("Slice", [value] + [graph.constant(np.array(v, np.int64), f"{name}/{what}") for v, what in
                                           ((starts, "starts"), (ends, "ends"), (list(range(len(picks))), "axes"),
                                            (steps, "steps"))], f"{name}/slice")
    graph.write_reshaped(op.outputs[0], value)


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
    "ADD": _binary("Add"),
    "SUB": _binary("Sub"),
    "MUL": _binary("Mul"),
    "AVERAGE_POOL_2D": average_pool_2d,
    "MAX_POOL_2D": max_pool_2d,
    "SOFTMAX": softmax,
    "RESHAPE": reshape,
    "MEAN": mean,
    "STRIDED_SLICE": strided_slice,
    "QUANTIZE": quantize,
    "DEQUANTIZE": dequantize,
    "DENSIFY": dequantize,  # of a sparse constant: folded before conversion (the reader reads it dense)
    "CONCATENATION": concatenation,
    "PAD": pad,
    "PADV2": pad,
    "PRELU": prelu,
    "RELU": _activation_op("RELU"),
    "RELU6": _activation_op("RELU6"),
    "RELU_N1_TO_1": _activation_op("RELU_N1_TO_1"),
    "TANH": _activation_op("TANH"),
    "LOGISTIC": logistic,
    "HARD_SWISH": hard_swish,
    "RESIZE_BILINEAR": resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": resize_nearest_neighbor,
    "DEPTH_TO_SPACE": depth_to_space,
    "TRANSPOSE_CONV": transpose_conv,
    "CUSTOM:Convolution2DTransposeBias": convolution_2d_transpose_bias,
}
