"""TFLite int8 model -> :class:`~.graph.IntegerGraph`: every operator's kernel parameters computed
as TFLite Micro's Prepare functions compute them."""

from __future__ import annotations

import numpy as np

from . import fixed_point
from .graph import Activation, IntegerGraph, Layer, UnsupportedModelError

SUPPORTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D",
             "SOFTMAX", "RESHAPE")


def _scalar(values, default=0.0):
    return values[0].item() if len(values) else default


def window_params(input_shape, output_shape, filter_hw, stride, dilation, padding, depth_multiplier=1):
    """The spatial part of ``eq_window_params`` for NHWC shapes."""
    batches, in_h, in_w, in_c = input_shape
    _, out_h, out_w, out_c = output_shape
    (k_h, k_w), (s_h, s_w), (d_h, d_w) = filter_hw, stride, dilation
    if padding == "SAME":
        pad_top = fixed_point.same_padding(in_h, k_h, s_h, d_h, out_h)
        pad_left = fixed_point.same_padding(in_w, k_w, s_w, d_w, out_w)
    else:
        pad_top = pad_left = 0
    return {"batches": batches, "input_height": in_h, "input_width": in_w, "input_channels": in_c,
            "output_height": out_h, "output_width": out_w, "output_channels": out_c, "filter_height": k_h,
            "filter_width": k_w, "stride_height": s_h, "stride_width": s_w, "dilation_height": d_h,
            "dilation_width": d_w, "padding_top": pad_top, "padding_left": pad_left,
            "depth_multiplier": depth_multiplier}


# operand counts per operator: (fewest inputs, most inputs); inputs past the first few may be absent (-1)
_ARITY = {"CONV_2D": (2, 3), "DEPTHWISE_CONV_2D": (2, 3), "FULLY_CONNECTED": (2, 3), "ADD": (2, 2),
          "AVERAGE_POOL_2D": (1, 1), "MAX_POOL_2D": (1, 1), "SOFTMAX": (1, 1), "RESHAPE": (1, 2)}
_OPTIONAL_FROM = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "RESHAPE": 1}
_REQUIRED_OPTIONS = {"CONV_2D": ("padding", "stride_h", "stride_w", "dilation_h", "dilation_w"),
                     "DEPTHWISE_CONV_2D": ("padding", "stride_h", "stride_w", "dilation_h", "dilation_w"),
                     "AVERAGE_POOL_2D": ("padding", "stride_h", "stride_w", "filter_h", "filter_w"),
                     "MAX_POOL_2D": ("padding", "stride_h", "stride_w", "filter_h", "filter_w"),
                     "SOFTMAX": ("beta",)}  # without its options TFLite Micro takes beta 0 (and aborts)
_FLOAT_TYPES = (np.float16, np.float32, np.float64)
_INT16_MAX = 2**15 - 1  # TFLite's ConvParams / DepthwiseParams / PaddingValues hold strides, dilations, pads in int16
_MAX_LISTED = 12  # problems listed before "... and N more": a float model must not print every operator


def tflite_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's ComputeOutSize: the output extent its padding rule gives."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return fixed_point.same_output_size(size, stride)
    return (size - effective + stride) // stride


def _is_float_model(model) -> bool:
    """Every operator's data input or output is a float tensor: a float model, not a partly int8 one."""
    def floating(t):
        return 0 <= t < len(model.tensors) and model.tensors[t].dtype in _FLOAT_TYPES

    return bool(model.operators) and all(any(floating(t) for t in op.inputs[:1] + op.outputs)
                                         for op in model.operators)


def _structure_problems(model, op) -> list:
    """Operand counts, tensor indices and options: what must hold before any tensor is looked at."""
    low, high = _ARITY[op.kind]
    where = f"operator {op.index} {op.kind}"
    if not low <= len(op.inputs) <= high or len(op.outputs) != 1:
        return [f"{where} has {len(op.inputs)} inputs and {len(op.outputs)} outputs"]
    problems = []
    for position, t in enumerate(op.inputs + op.outputs):
        optional = position < len(op.inputs) and position >= _OPTIONAL_FROM.get(op.kind, len(op.inputs))
        if not (0 <= t < len(model.tensors) or (t == -1 and optional)):
            problems.append(f"{where} refers to tensor {t}, which does not exist")
    missing = [key for key in _REQUIRED_OPTIONS.get(op.kind, ()) if key not in op.options]
    if missing:
        problems.append(f"{where} has no {op.kind} options ({', '.join(missing)} missing)")
    return problems


def _quantization_problems(where, tensor, per_channel=0) -> list:
    """One finite positive scale and an in-range zero point (``per_channel``: that many allowed too)."""
    scales, zero_points = np.asarray(tensor.scale, np.float64), np.asarray(tensor.zero_point, np.int64)
    if len(scales) == 0:
        return [f"{where}: tensor {tensor.name!r} has no quantization parameters"]
    if len(scales) not in (1, per_channel or 1) or len(zero_points) != len(scales):
        return [f"{where}: tensor {tensor.name!r} has {len(scales)} scales and {len(zero_points)} zero points"]
    if not np.all(np.isfinite(scales) & (scales > 0)):
        return [f"{where}: tensor {tensor.name!r} has a scale that is not a positive finite number"]
    if np.any(zero_points < -128) or np.any(zero_points > 127):
        return [f"{where}: tensor {tensor.name!r} has a zero point outside int8"]
    return []


def _tensor_problems(model, op) -> list:
    """Types, constness, quantization and the shapes TFLite's Prepare would compute."""
    where = f"operator {op.index} {op.kind}"
    tensors = [model.tensors[t] if t >= 0 else None for t in op.inputs]
    src, out = tensors[0], model.tensors[op.outputs[0]]
    data_inputs = tensors[:2] if op.kind == "ADD" else tensors[:1]
    problems = []
    for tensor in [*data_inputs, out]:
        if tensor.dtype != np.int8:
            problems.append(f"{where}: tensor {tensor.name!r} is {np.dtype(tensor.dtype).name}, not int8")
        elif not tensor.shape or any(d < 1 for d in tensor.shape):
            problems.append(f"{where}: tensor {tensor.name!r} has shape {list(tensor.shape)}")
        else:
            problems += _quantization_problems(where, tensor)
    if problems:
        return problems
    if out.is_constant or all(t.is_constant for t in data_inputs):
        problems.append(f"{where} computes from or into constant data only (fold it before exporting)")
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
        weights, bias = tensors[1], tensors[2] if len(tensors) > 2 else None
        channels = (out.shape[-1] if op.kind != "FULLY_CONNECTED" else 1)
        if not weights.is_constant or weights.dtype != np.int8:
            problems.append(f"{where}: the weights are not constant int8 data")
        else:
            problems += _quantization_problems(where, weights, per_channel=channels)
            axis = 3 if op.kind == "DEPTHWISE_CONV_2D" else 0
            if len(weights.scale) > 1 and weights.quantized_dimension != axis:
                problems.append(f"{where}: per-channel weights quantized along axis {weights.quantized_dimension}, "
                                f"not {axis}")
        if bias is None and op.kind == "DEPTHWISE_CONV_2D":  # TFLite Micro crashes on one: no reference to match
            problems.append(f"{where} without a bias")
        if bias is not None and (not bias.is_constant or bias.dtype != np.int32):
            problems.append(f"{where}: the bias is not constant int32 data")
        elif bias is not None and not problems:
            problems += _bias_scale_problems(where, src, weights, bias, out)
        if op.kind != "FULLY_CONNECTED" and (len(src.shape) != 4 or len(out.shape) != 4
                                             or len(weights.shape) != 4):
            problems.append(f"{where}: input, weights and output must be 4-D")
        elif op.kind != "FULLY_CONNECTED" and not problems:
            problems += _window_problems(where, op.options, src.shape, out.shape, weights.shape[1:3], (
                op.options["dilation_h"], op.options["dilation_w"]))
            multiplier = op.options.get("depth_multiplier", 0)
            # TFLite Micro takes the option as it is (0 computes nothing): it must agree with the shapes
            if op.kind == "DEPTHWISE_CONV_2D" and not (0 < multiplier <= _INT16_MAX
                                                       and out.shape[3] == src.shape[3] * multiplier):
                problems.append(f"{where}: depth multiplier {multiplier} for {src.shape[3]} input and {out.shape[3]} "
                                "output channels")
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        if len(src.shape) != 4 or len(out.shape) != 4:
            problems.append(f"{where}: input and output must be 4-D")
        else:
            problems += _window_problems(where, op.options, src.shape, out.shape,
                                         (op.options["filter_h"], op.options["filter_w"]), (1, 1))
    if op.kind == "ADD":
        if tensors[0].shape != tensors[1].shape:
            problems.append(f"operator {op.index} ADD with broadcasting")
    if op.kind == "SOFTMAX":
        if _scalar(out.zero_point) != -128 or abs(_scalar(out.scale, 1.0) * 256 - 1) > 1e-6:
            problems.append(f"operator {op.index} SOFTMAX whose output is not scale 1/256, zero point -128")
    if op.kind == "FULLY_CONNECTED":
        if len(model.tensors[op.inputs[1]].scale) > 1:
            problems.append(f"operator {op.index} FULLY_CONNECTED with per-channel weights")
        if len(tensors[1].shape) != 2:
            problems.append(f"{where}: weights of shape {list(tensors[1].shape)}, not [outputs, inputs]")
        if op.options.get("weights_format", 0) != 0:
            problems.append(f"{where}: weights in the shuffled format {op.options['weights_format']}")
    return problems


def _bias_scale_problems(where, src, weights, bias, out) -> list:
    """With per-tensor weights, TFLite Micro's GetQuantizedConvolutionMultipler refuses (aborts) unless the
    bias scale is the input scale times the weights' scale, within 2 % of the output scale. (Per-channel
    weights: TFLite checks nothing here; the multipliers come from the weights' scales alone.)"""
    expected = np.float64(_scalar(src.scale, 1.0)) * np.asarray(weights.scale, np.float64)
    if len(expected) > 1:
        return []
    scales = np.asarray(bias.scale, np.float64)
    if len(scales) != 1:
        return [f"{where}: the bias has {len(scales)} scales for per-tensor weights"]
    difference = np.abs(scales - expected) / np.float64(_scalar(out.scale, 1.0))
    if not np.all(difference <= 0.02):
        return [f"{where}: the bias scale is not the input scale times the weights' scale"]
    return []


def _window_problems(where, options, src_shape, out_shape, kernel, dilation) -> list:
    """Strides, dilations and kernel at least 1, and the output extent TFLite's padding rule gives."""
    strides = (options["stride_h"], options["stride_w"])
    if options["padding"] not in ("SAME", "VALID"):
        return [f"{where}: padding {options['padding']}"]
    if min(*strides, *dilation, *kernel) < 1 or max(*strides, *dilation, *kernel) > _INT16_MAX:
        return [f"{where}: stride {strides}, dilation {dilation}, window {tuple(kernel)} (each from 1 to "
                f"{_INT16_MAX}, as TFLite's kernel parameters hold them)"]
    want = tuple(tflite_output_size(src_shape[axis], kernel[axis - 1], strides[axis - 1], dilation[axis - 1],
                                    options["padding"]) for axis in (1, 2))
    if tuple(out_shape[1:3]) != want:
        return [f"{where}: output is {out_shape[1]}x{out_shape[2]}, its {options['padding']} padding gives "
                f"{want[0]}x{want[1]}"]
    if options["padding"] == "SAME" and max(
            fixed_point.same_padding(src_shape[axis], kernel[axis - 1], strides[axis - 1], dilation[axis - 1],
                                     want[axis - 1]) for axis in (1, 2)) > _INT16_MAX:
        return [f"{where}: padding over {_INT16_MAX} (TFLite keeps paddings in 16 bits)"]
    return []


def _problems(model) -> list:
    """Every reason the model cannot be exported, collected before failing."""
    problems = []
    for op in model.operators:
        if op.kind not in SUPPORTED:
            problems.append(f"operator {op.index} {op.kind} (no kernel)")
            continue
        structure = _structure_problems(model, op)
        if structure:
            problems += structure
            continue
        activation = op.options.get("activation", "NONE")
        if activation not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            problems.append(f"operator {op.index} {op.kind}: fused activation {activation}")
        problems += _tensor_problems(model, op)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        problems.append(f"{len(model.inputs)} inputs and {len(model.outputs)} outputs (one of each is supported)")
    elif not all(0 <= t < len(model.tensors) for t in model.inputs + model.outputs):
        problems.append("the model's input or output refers to a tensor that does not exist")
    if not model.operators:
        problems.append("the model has no operators")
    return problems


def from_tflite(model, source: str = "") -> IntegerGraph:
    """Lower a :class:`~edgequant.tflite.TFLiteModel` (int8) to kernel calls.

    Raises
    ------
    UnsupportedModelError
        Listing every unsupported operator / type at once.
    """
    if _is_float_model(model):  # one short line, not one per operator
        float_type = next(np.dtype(model.tensors[t].dtype).name for t in model.operators[0].inputs[:1]
                          + model.operators[0].outputs if model.tensors[t].dtype in _FLOAT_TYPES)
        raise UnsupportedModelError(f"the C runtime cannot run this model: this is a float model ({float_type}, not "
                                    "int8); export-c needs a fully int8 one")
    problems = _problems(model)
    if len(problems) > _MAX_LISTED:
        problems = problems[:_MAX_LISTED] + [f"... and {len(problems) - _MAX_LISTED} more"]
    if problems:
        raise UnsupportedModelError("the C runtime cannot run this model: " + "; ".join(problems))
    activations, index_of = [], {}

    def activation(t: int) -> int:
        if t not in index_of:
            tensor = model.tensors[t]
            index_of[t] = len(activations)
            activations.append(Activation(len(activations), tensor.name, tensor.shape,
                                          float(_scalar(tensor.scale, 1.0)), int(_scalar(tensor.zero_point))))
        return index_of[t]

    layers = []
    for op in model.operators:
        tensors = [model.tensors[t] if t >= 0 else None for t in op.inputs]
        out = model.tensors[op.outputs[0]]
        src = tensors[0]
        name = f"{op.kind.lower()}_{op.index}"
        layer = _lower(op, tensors, src, out, name)
        data_inputs = op.inputs[:2] if op.kind == "ADD" else op.inputs[:1]
        # an ADD's constant operand is const data of the layer (``input1`` / ``input2``), not an activation
        layer.inputs = [activation(t) for k, t in enumerate(data_inputs) if f"input{k + 1}" not in layer.constants]
        layer.output = activation(op.outputs[0])
        layers.append(layer)
    graph = IntegerGraph(activations, layers, index_of.get(model.inputs[0], -1), index_of.get(model.outputs[0], -1),
                         source)
    if graph.input < 0 or graph.output < 0:
        raise UnsupportedModelError("the model's input or output is not connected to any operator")
    return graph


def _lower(op, tensors, src, out, name) -> Layer:
    options = op.options
    out_scale, out_zp = float(_scalar(out.scale, 1.0)), int(_scalar(out.zero_point))
    in_scale, in_zp = float(_scalar(src.scale, 1.0)), int(_scalar(src.zero_point))
    clamp = dict(zip(("activation_min", "activation_max"),
                     fixed_point.activation_range(options.get("activation", "NONE"), out_scale, out_zp), strict=True))
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        weights, bias = tensors[1], tensors[2] if len(tensors) > 2 else None
        if np.any(weights.zero_point != 0):
            raise UnsupportedModelError(f"{name}: weights with a non-zero zero point")
        depthwise = op.kind == "DEPTHWISE_CONV_2D"
        kh, kw = weights.shape[1:3]
        depth_multiplier = options.get("depth_multiplier", 1) if depthwise else 1
        params = window_params(src.shape, out.shape, (kh, kw), (options["stride_h"], options["stride_w"]),
                               (options["dilation_h"], options["dilation_w"]), options["padding"], depth_multiplier)
        if depthwise:  # the front end's checks made the option agree with the shapes
            params["depth_multiplier"] = out.shape[3] // src.shape[3]
        params.update(input_offset=-in_zp, output_offset=out_zp, **clamp)
        multipliers, shifts = fixed_point.per_channel_multipliers(in_scale, weights.scale, out_scale, out.shape[3])
        constants = {"filter": weights.data.astype(np.int8), "multipliers": multipliers, "shifts": shifts}
        if bias is not None:
            constants["bias"] = bias.data.astype(np.int32)
        return Layer("depthwise_conv2d" if depthwise else "conv2d", name, [], -1, params, constants)
    if op.kind == "FULLY_CONNECTED":
        weights, bias = tensors[1], tensors[2] if len(tensors) > 2 else None
        output_depth, input_depth = weights.shape
        multiplier, shift = fixed_point.fully_connected_multiplier(in_scale, weights.scale[0], out_scale)
        params = {"batches": src.size // input_depth, "input_depth": input_depth, "output_depth": output_depth,
                  "input_offset": -in_zp, "filter_offset": -int(_scalar(weights.zero_point)), "output_offset": out_zp,
                  "multiplier": multiplier, "shift": shift, **clamp}
        constants = {"filter": weights.data.astype(np.int8)}
        if bias is not None:
            constants["bias"] = bias.data.astype(np.int32)
        return Layer("fully_connected", name, [], -1, params, constants)
    if op.kind == "ADD":
        other = tensors[1]
        params = {"size": out.size, **fixed_point.add_parameters(in_scale, float(_scalar(other.scale, 1.0)), out_scale),
                  "input1_offset": -in_zp, "input2_offset": -int(_scalar(other.zero_point)), "output_offset": out_zp,
                  **clamp}
        constants = {f"input{k + 1}": tensor.data.astype(np.int8).reshape(-1)
                     for k, tensor in enumerate(tensors[:2]) if tensor.is_constant}
        return Layer("add", name, [], -1, params, constants)
    if op.kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        params = window_params(src.shape, out.shape, (options["filter_h"], options["filter_w"]),
                               (options["stride_h"], options["stride_w"]), (1, 1), options["padding"])
        params.update(input_offset=0, output_offset=0, **clamp)
        return Layer("average_pool" if op.kind == "AVERAGE_POOL_2D" else "max_pool", name, [], -1, params)
    if op.kind == "SOFTMAX":
        multiplier, shift, diff_min = fixed_point.softmax_parameters(options.get("beta", 1.0), in_scale)
        depth = src.shape[-1]
        return Layer("softmax", name, [], -1, {"rows": src.size // depth, "depth": depth,
                                              "input_multiplier": multiplier, "input_left_shift": shift,
                                              "diff_min": diff_min})
    if op.kind == "RESHAPE":
        return Layer("reshape", name, [], -1, {"size": out.size})
    raise UnsupportedModelError(f"{name}: no kernel for {op.kind}")  # pragma: no cover - _problems lists these
