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


def _problems(model) -> list:
    """Every reason the model cannot be exported, collected before failing."""
    problems = []
    for op in model.operators:
        if op.kind not in SUPPORTED:
            problems.append(f"operator {op.index} {op.kind} (no kernel)")
            continue
        for t in op.inputs[:1] + op.outputs:
            tensor = model.tensors[t]
            if tensor.dtype != np.int8:
                problems.append(f"operator {op.index} {op.kind}: tensor {tensor.name!r} is {tensor.dtype}, not int8")
        activation = op.options.get("activation", "NONE")
        if activation not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            problems.append(f"operator {op.index} {op.kind}: fused activation {activation}")
        if op.kind == "ADD" and model.tensors[op.inputs[0]].shape != model.tensors[op.inputs[1]].shape:
            problems.append(f"operator {op.index} ADD with broadcasting")
        if op.kind == "SOFTMAX":
            out = model.tensors[op.outputs[0]]
            if _scalar(out.zero_point) != -128 or abs(_scalar(out.scale, 1.0) * 256 - 1) > 1e-6:
                problems.append(f"operator {op.index} SOFTMAX whose output is not scale 1/256, zero point -128")
        if op.kind == "FULLY_CONNECTED" and len(model.tensors[op.inputs[1]].scale) > 1:
            problems.append(f"operator {op.index} FULLY_CONNECTED with per-channel weights")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        problems.append(f"{len(model.inputs)} inputs and {len(model.outputs)} outputs (one of each is supported)")
    return problems


def from_tflite(model, source: str = "") -> IntegerGraph:
    """Lower a :class:`~edgequant.tflite.TFLiteModel` (int8) to kernel calls.

    Raises
    ------
    UnsupportedModelError
        Listing every unsupported operator / type at once.
    """
    problems = _problems(model)
    if problems:
        raise UnsupportedModelError("the C runtime cannot run this model:\n  " + "\n  ".join(problems))
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
        layer.inputs = [activation(t) for t in (op.inputs[:2] if op.kind == "ADD" else op.inputs[:1])]
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
        if depthwise:  # TFLite allows depth_multiplier 0 in the options: the shapes decide
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
        # TFLite's GetQuantizedConvolutionMultipler multiplies the two scales in float32
        real = float(np.float32(in_scale) * np.float32(weights.scale[0])) / float(np.float32(out_scale))
        multiplier, shift = fixed_point.quantize_multiplier(real)
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
        return Layer("add", name, [], -1, params)
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
