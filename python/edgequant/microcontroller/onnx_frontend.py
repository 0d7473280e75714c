"""ONNX (float) -> :class:`~.graph.IntegerGraph`: a lowering of the engine's static INT8 plan.

The inference engine does what the C needs prepared (``edgequant.Engine``'s passes, once): it loads
the model, folds constants, BatchNormalization and exported biases / scales into the convolutions
(a bias Add into a MatMul), fuses Relu and Clip(0, 6) into the Conv / Gemm / MatMul before them, and
calibrates every activation by the chosen range method — one calibration, whose (scale, zero point)
for the tensors the engine's INT8 layers read are its static mode's own, shifted from u8 to s8 (the
same grid, ``backend/int8_support.h``). This module walks the graph the engine ends with and writes
kernel calls in TFLite's dialect. A convolution the engine's static plan requantizes in TFLite's
fixed point (every one whose output only INT8 layers read, with a clamp for activation:
``Engine.integer_layers``) is written with the engine's own numbers — its s8 weights, int32 biases,
multipliers, shifts and clamp — so the C computes the codes the engine computes, bit for bit. Any
other layer (its output read by a float op in the engine, the model's output, fully connected ones)
gets symmetric int8 weights per output channel (fully connected: per tensor) in TFLite's narrow
range, int32 biases at ``input_scale * weight_scale`` and fixed-point multipliers, computed by the
core (``quant/fixed_point.h``, ``quant/affine.h``).

Layouts: ONNX is NCHW, the C runtime NHWC, and a Reshape is a plain copy in C. So every activation
carries its memory order (which ONNX element each memory position holds): the graph input and the
outputs of convolutions and pools are NHWC, a Reshape / Flatten keeps its source's order. Each
consumer checks the order it gets: a conv or pool needs NHWC, a fully connected layer absorbs a
permutation of its input columns (a flatten of NHWC data) and permutes its output rows when a
Reshape to 4-D follows it, Add needs equal orders, Softmax needs each softmax group contiguous.
What the C cannot compute exactly is refused here, naming the node."""

from __future__ import annotations

import pathlib
import warnings
from dataclasses import dataclass

import numpy as np

from .. import _core
from . import fixed_point
from .graph import Activation, IntegerGraph, Layer, UnsupportedModelError
from .tflite_frontend import window_params

ANCHORS = ("Conv", "Gemm", "MatMul")
PASS_THROUGH = ("Flatten", "Reshape")
POOLS = ("MaxPool", "AveragePool", "GlobalAveragePool")
SUPPORTED = ANCHORS + PASS_THROUGH + POOLS + ("Softmax", "Add", "Relu")
#: The (scale, zero point) of every Softmax output in the C: TFLite's int8 softmax grid, which TFLite Micro requires.
SOFTMAX_GRID = (1.0 / 256.0, -128)
#: A Softmax whose largest calibrated output spans fewer codes of that grid is warned of.
COARSE_SOFTMAX_CODES = 16


class CoarseSoftmaxWarning(UserWarning):
    """A Softmax whose outputs use few codes of the fixed 1/256 grid the C writes them on."""


#: The activations the engine fuses into an anchor that the C kernels apply (as their output clamp).
FUSED_ACTIVATIONS = {None: "NONE", "relu": "RELU"}


@dataclass
class _Node:
    """A node of the engine's graph after its passes (``_engine.Engine.lowered_graph``)."""

    op_type: str
    name: str
    input: list
    output: list
    attributes: dict
    domain: str = ""


def _attributes(node) -> dict:
    return node.attributes


def _label(node) -> str:
    """How messages name a node: its name (the engine names unnamed nodes ``OpType_index``)."""
    return f"{node.op_type} node {node.name!r}"


def _fused_activation(node) -> str | None:
    """The C's name of the activation the engine fused into ``node`` ("NONE", "RELU", "RELU6"), or None
    where the C kernels have no such clamp (a HardSwish, a Clip to other bounds, a scale after it)."""
    attrs = node.attributes
    if attrs.get("_affine_scale", 1.0) != 1.0 or attrs.get("_affine_shift", 0.0) != 0.0:
        return None
    kind = attrs.get("_activation")
    if kind == "clip":
        return "RELU6" if (attrs.get("_clip_lo"), attrs.get("_clip_hi")) == (0.0, 6.0) else None
    return FUSED_ACTIVATIONS.get(kind)


def _nhwc_order(shape) -> np.ndarray:
    """Memory position -> row-major NCHW index, for a 4-D tensor stored NHWC."""
    n, c, h, w = shape
    return np.arange(n * c * h * w).reshape(n, c, h, w).transpose(0, 2, 3, 1).ravel()


def _row_permutation(order, depth):
    """``p`` with memory row ``b`` holding logical row ``b`` as ``row[p]``, or None when the order mixes rows
    or permutes them differently (then no weight permutation reproduces it)."""
    if depth <= 0 or order.size % depth:
        return None
    order = order.reshape(-1, depth)
    if not np.array_equal(order // depth, np.broadcast_to(np.arange(len(order))[:, None], order.shape)):
        return None
    columns = order % depth
    return columns[0] if np.array_equal(columns, np.broadcast_to(columns[0], columns.shape)) else None


def _window_padding(node, attrs, in_hw, out_hw, kernel, strides, dilations) -> tuple[int, int]:
    """(top, left) padding of a conv / pool window, from ``pads`` or ``auto_pad``."""
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):  # UPPER: the odd one at the end
        pads = [_core.same_padding(int(size), int(o), int(k), int(s), int(d), auto_pad == "SAME_UPPER")[0]
                for size, k, s, d, o in zip(in_hw, kernel, strides, dilations, out_hw, strict=True)]
        return pads[0], pads[1]
    if auto_pad == "VALID":
        return 0, 0
    if auto_pad != "NOTSET":
        raise UnsupportedModelError(f"{_label(node)}: auto_pad {auto_pad!r}")
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    if len(pads) != 4 or min(pads) < 0:
        raise UnsupportedModelError(f"{_label(node)}: pads {pads} (four non-negative values expected)")
    return pads[0], pads[1]


def _s8_from_u8(scale: float, zero_point: int) -> tuple[float, int]:
    """The C runtime's s8 form of the engine's u8 (scale, zero point): the same grid moved by 128 (the
    engine's activations are u8 for x86's u8 x s8 dot products, TFLite's are s8; see backend/int8_support.h)."""
    return float(scale), int(zero_point) - 128


def _int8_params(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [lo, hi] and 0: the engine's u8 activation parameters
    (``quant/affine.h``, the one rule) in s8."""
    params = _core.affine_params_from_range(_core.AffineFormat(8, False, False), float(lo), float(hi))
    return _s8_from_u8(float(np.float32(params.scale)), params.zero_point)  # the scale as the engine keeps it


def _int8_weights(weights, channels: int):
    """Symmetric int8 weights in TFLite's narrow range [-127, 127] with one scale per output channel (axis 0),
    fitted and encoded by the core's affine quantizer (``quant/fixed_point.h: tflite_weight_format``): scale
    ``max|w| / 127``, an all-zero channel scale 1. Returns (int8 weights of ``weights``' shape, float64 scales)."""
    fmt = _core.tflite_weight_format()
    rows = np.ascontiguousarray(weights, np.float64).reshape(channels, -1)
    scales, zero_points = np.empty(channels), np.empty(channels, np.int32)
    _core.affine_fit_per_channel(fmt, rows, 1, channels, rows.shape[1], scales, zero_points)
    codes = np.empty(rows.shape, np.int32)
    _core.affine_encode_per_channel(fmt, scales, zero_points, rows, 1, rows.shape[1], codes)
    return codes.astype(np.int8).reshape(np.shape(weights)), scales


def _problems(nodes, constant, outputs) -> list:
    problems = []
    for i, node in enumerate(nodes):
        if node.op_type not in SUPPORTED or node.domain:
            problems.append(f"node {i} {node.op_type} {node.name!r} (no kernel)")
        elif node.op_type in ANCHORS and (len(node.input) < 2 or node.input[1] not in constant
                                          or node.input[0] in constant):
            problems.append(f"node {i} {_label(node)}: the first input must be computed, the second a constant")
        elif node.op_type in ANCHORS and _fused_activation(node) is None:
            kind = node.attributes.get("_activation", "affine step")
            problems.append(f"node {i} {_label(node)}: a {kind} after it (the C kernels clamp to ReLU or ReLU6 only)")
        elif node.op_type in ("Conv", "MaxPool", "AveragePool") and (
                len(node.attributes.get("kernel_shape", [1, 1])) != 2
                or (node.op_type == "Conv" and np.ndim(constant[node.input[1]]) != 4)):
            problems.append(f"node {i} {_label(node)}: only 2-D windows")
        elif node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
            problems.append(f"node {i} {_label(node)}: the Indices output")
    if len(outputs) != 1:
        problems.append(f"{len(outputs)} outputs (one is supported)")
    return problems


def _load_engine(path):
    """The engine over the model at ``path``, its passes as the C wants them (no residual Add fused into a
    Conv: the C adds with its own kernel)."""
    import onnx

    from ..engine.session import _model_bytes, _native

    data = _model_bytes(path)
    try:
        onnx.ModelProto().ParseFromString(data)
    except Exception as error:  # protobuf's DecodeError and friends: a damaged file is the caller's ValueError
        raise ValueError(f"{str(path)!r} is not a readable ONNX model ({type(error).__name__}: {error})") from error
    native = _native()
    base_dir = str(pathlib.Path(path).parent) if isinstance(path, (str, pathlib.Path)) else ""
    # 8-bit weights, as the C's kernels take them: on a backend that sums them exactly on this CPU
    backend = next(b for b in native.supported_backends() if native.int8_weight_bits(b) == 8)
    try:
        return native, native.Engine.from_bytes(data, backend, 0, [], base_dir, 8, False)
    except ValueError as error:  # the engine's refusal (ops it lacks, malformed nodes): one line, as ours
        raise UnsupportedModelError(f"the C export prepares models with the inference engine, which refuses this "
                                    f"one: {error}") from error


def _calibrate(native, engine, calibration, method):
    """Every float value's (scale, zero point) in s8 from the engine's calibration over each sample
    (batch 1), and every value's array on the first sample (shapes; constants the engine computed)."""
    input_name = engine.inputs[0][0]
    calibrator = native.Calibrator(engine, method, every_tensor=True)
    for sample in calibration:
        calibrator.observe([np.ascontiguousarray(sample[None], np.float32)])
    calibrator.apply()
    engine.set_mode("static")  # the integer plan: weights, biases, multipliers (Engine.integer_layers)
    # the engine's static parameters where it has them (a quantization group's, for the tensors it hands over
    # as codes; a calibration tensor's own), else the same rule on the same calibration
    calibrated, handed_over = set(engine.calibration_tensors()), engine.integer_tensors()
    params = {}
    for name, (lo, hi) in calibrator.ranges().items():
        if name in handed_over:
            params[name] = _s8_from_u8(*handed_over[name])
        elif name in calibrated:
            params[name] = _s8_from_u8(*engine.activation_quantization(name))
        else:
            params[name] = _int8_params(lo, hi)
    _, values = engine.run_capture([np.ascontiguousarray(calibration[:1], np.float32)], every_tensor=True)
    values[input_name] = calibration[:1]
    return params, values


def from_onnx(path, calibration, method: str = "minmax") -> IntegerGraph:
    """Quantize an ONNX model to static INT8 with the engine and lower its plan to kernel calls.

    Parameters
    ----------
    path : str or os.PathLike
    calibration : array
        Float inputs, batch on axis 0 (each sample is run with batch 1).
    method : str
        Range method (:data:`edgequant.engine.METHODS`).

    Raises
    ------
    UnsupportedModelError
        (a ValueError) for a model the C runtime cannot compute exactly as ONNX defines it.
    ImportError
        A build without the inference engine, which prepares the model.
    """
    calibration = np.asarray(calibration, np.float32)
    if calibration.ndim < 2 or len(calibration) == 0:
        raise ValueError("calibration must hold at least one input, batch on axis 0")
    path = pathlib.Path(path)
    native, engine = _load_engine(path)
    if len(engine.inputs) != 1:
        raise UnsupportedModelError(f"the model has {len(engine.inputs)} inputs (one is supported)")
    node_rows, constant, opset = engine.lowered_graph()
    nodes = [_Node(*row) for row in node_rows]
    outputs = [name for name, *_ in engine.outputs]
    problems = _problems(nodes, constant, outputs)
    if problems:
        listed = problems[:12] + [f"... and {len(problems) - 12} more"] * (len(problems) > 12)
        raise UnsupportedModelError("the C runtime cannot run this model: " + "; ".join(listed))  # one line
    params, values = _calibrate(native, engine, calibration, method)
    values.update(constant)
    source = str(getattr(path, "name", path))
    return _Lowering(nodes, constant, values, params, engine.inputs[0][0], outputs[0], source, opset,
                     engine.integer_layers()).run()


class _Lowering:
    def __init__(self, nodes, constant, values, params, graph_input, graph_output, source, opset, integer_layers):
        self.constant, self.values, self.params = constant, values, params
        self.integer_layers = integer_layers  # the engine's fixed-point layers (Engine.integer_layers)
        self.nodes = nodes
        self.consumers = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.activations, self.index_of, self.layers = [], {}, []
        # tensor name -> its memory order: "plain" (row-major), "nhwc" (4-D) or an array (memory -> ONNX index)
        self.orders = {}
        self.graph_input, self.graph_output, self.source, self.opset = graph_input, graph_output, source, opset

    def shape(self, name):
        return tuple(int(d) for d in np.shape(self.values[name]))

    def size(self, name) -> int:
        return int(np.prod(self.shape(name), dtype=np.int64))

    def nhwc(self, name):
        shape = self.shape(name)
        return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else shape

    def order_array(self, name) -> np.ndarray:
        order = self.orders[name]
        if isinstance(order, np.ndarray):
            return order
        return _nhwc_order(self.shape(name)) if order == "nhwc" else np.arange(self.size(name))

    def has_order(self, name, kind) -> bool:
        """Whether ``name`` is stored row-major (``"plain"``) or NHWC (``"nhwc"``, 4-D only)."""
        if isinstance(self.orders[name], str) and self.orders[name] == kind:
            return True
        if kind == "nhwc" and len(self.shape(name)) != 4:
            return False
        want = _nhwc_order(self.shape(name)) if kind == "nhwc" else np.arange(self.size(name))
        return np.array_equal(self.order_array(name), want)

    def set_order(self, name, order):
        """Record an order, by its name where it has one (cheap to compare)."""
        if isinstance(order, np.ndarray):
            self.orders[name] = order
            for kind in ("plain", "nhwc"):
                if self.has_order(name, kind):
                    order = kind
                    break
        self.orders[name] = order

    def activation(self, name, qparams=None):
        if name not in self.index_of:
            scale, zero_point = qparams or self.params[name]
            self.index_of[name] = len(self.activations)
            self.activations.append(Activation(len(self.activations), name, self.nhwc(name), scale, zero_point))
        return self.index_of[name]

    def qparams(self, name):
        return self.activations[self.index_of[name]].scale, self.activations[self.index_of[name]].zero_point

    def run(self) -> IntegerGraph:
        self.activation(self.graph_input)
        self.set_order(self.graph_input, "nhwc" if len(self.shape(self.graph_input)) == 4 else "plain")
        for node in self.nodes:
            if node.op_type in ANCHORS:
                self.lower_anchor(node)
            else:
                self.lower_simple(node)
        output = self.graph_output
        if output not in self.index_of:
            raise UnsupportedModelError(f"the output {output!r} is not produced by a supported layer")
        # model.h documents a 4-D output as NHWC, any other as ONNX's row-major order
        if not self.has_order(output, "nhwc" if len(self.shape(output)) == 4 else "plain"):
            raise UnsupportedModelError(f"the output {output!r} {list(self.shape(output))} would be stored in another "
                                        "order than model.h documents (NHWC for 4-D, else ONNX's): the C runtime has "
                                        "no transpose")
        layout = "NCHW" if len(self.shape(self.graph_input)) == 4 else None
        return IntegerGraph(self.activations, self.layers, 0, self.index_of[output], self.source, layout)

    def require_nhwc(self, node, src):
        if not self.has_order(src, "nhwc"):
            raise UnsupportedModelError(
                f"{_label(node)} reads {src!r} {list(self.shape(src))}, which the C would hold in another order than "
                "NHWC (a Reshape between flat and 4-D data the runtime cannot copy exactly)")

    def output_rows(self, out, channels):
        """The row permutation a fully connected layer writes its output in so that the one Reshape to 4-D
        after it reads NHWC (None: row-major)."""
        users = self.consumers.get(out, [])
        if out == self.graph_output or len(users) != 1 or users[0].op_type not in PASS_THROUGH:
            return None
        target = users[0].output[0]
        if len(self.shape(target)) != 4:
            return None
        return _row_permutation(_nhwc_order(self.shape(target)), channels)

    def lower_anchor(self, node):
        """A Conv / Gemm / MatMul with what the engine folded into it (BatchNormalization, a bias Add) and
        the activation it fused (the kernel's output clamp)."""
        out, activation = node.output[0], _fused_activation(node)
        src = node.input[0]
        if src not in self.index_of:
            raise UnsupportedModelError(f"{_label(node)} reads {src!r}, which no supported layer produces")
        weights = self.constant[node.input[1]].astype(np.float64)
        has_bias = len(node.input) > 2 and node.input[2]
        if node.op_type == "Conv":
            bias = self.constant[node.input[2]].astype(np.float64) if has_bias else None
        elif node.op_type == "Gemm":
            attrs = _attributes(node)
            weights = weights * attrs.get("alpha", 1.0)
            weights = weights if attrs.get("transB", 0) else weights.T  # -> [out, in]
            bias = self.constant[node.input[2]].astype(np.float64) * attrs.get("beta", 1.0) if has_bias else None
            if attrs.get("transA", 0):
                raise UnsupportedModelError(f"{_label(node)}: Gemm with transA")
        else:
            if weights.ndim != 2:
                raise UnsupportedModelError(f"{_label(node)}: a MatMul by a {weights.ndim}-D constant")
            weights = weights.T
            bias = self.constant[node.input[2]].astype(np.float64) if has_bias else None  # the engine's `_bias`
        channels = weights.shape[0]
        if bias is not None and bias.size not in (1, channels):
            raise UnsupportedModelError(f"{_label(node)}: a bias of shape {list(bias.shape)}")
        bias = np.zeros(channels) if bias is None else np.broadcast_to(bias.reshape(-1), (channels,)).copy()
        in_scale, in_zp = self.qparams(src)
        out_index = self.activation(out)
        out_act = self.activations[out_index]
        clamp = dict(zip(("activation_min", "activation_max"),
                         fixed_point.activation_range(activation, out_act.scale, out_act.zero_point), strict=True))
        if node.op_type == "Conv":
            self.require_nhwc(node, src)
            layer = self.conv_layer(node, src, out, weights, bias, in_scale, in_zp, out_act, clamp)
            self.set_order(out, "nhwc")
        else:
            input_depth = weights.shape[1]
            columns = _row_permutation(self.order_array(src), input_depth)
            if columns is None:
                raise UnsupportedModelError(f"{_label(node)} reads {src!r} {list(self.shape(src))} in a memory order "
                                            f"that does not keep its rows of {input_depth} together")
            weights = weights[:, columns]  # memory column i holds ONNX column columns[i]
            rows = self.output_rows(out, channels)
            if rows is not None:
                weights, bias = weights[rows], bias[rows]
                batches = self.size(out) // channels
                self.set_order(out, (np.arange(batches)[:, None] * channels + rows[None, :]).ravel())
            else:
                self.set_order(out, "plain")
            q, w_scales = _int8_weights(weights.reshape(1, -1), 1)  # one scale for the tensor
            q, w_scale = q.reshape(weights.shape), float(w_scales[0])
            bias_q = fixed_point.quantize_biases(bias, in_scale, w_scale)
            multiplier, shift = fixed_point.quantize_multiplier(in_scale * w_scale / out_act.scale)
            layer = Layer("fully_connected", node.name or out, [], -1,
                          {"batches": self.size(src) // input_depth, "input_depth": input_depth,
                           "output_depth": channels, "input_offset": -in_zp, "filter_offset": 0,
                           "output_offset": out_act.zero_point, "multiplier": multiplier, "shift": shift, **clamp},
                          {"filter": q, "bias": bias_q})
        layer.inputs, layer.output = [self.index_of[src]], out_index
        self.layers.append(layer)

    def conv_layer(self, node, src, out, weights, bias, in_scale, in_zp, out_act, clamp):
        attrs = _attributes(node)
        group = attrs.get("group", 1)
        in_shape, out_shape = self.nhwc(src), self.nhwc(out)
        kh, kw = weights.shape[2:4]
        depthwise = group > 1
        if depthwise and not (group == in_shape[3] and weights.shape[1] == 1):
            raise UnsupportedModelError(f"{_label(node)}: grouped convolution that is not depthwise")
        strides, dilations = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
        params = window_params(in_shape, out_shape, (kh, kw), strides, dilations, "VALID",
                               out_shape[3] // in_shape[3] if depthwise else 1)
        params["padding_top"], params["padding_left"] = _window_padding(node, attrs, in_shape[1:3], out_shape[1:3],
                                                                        (kh, kw), strides, dilations)
        channels = weights.shape[0]
        plan = self.integer_layers.get(node.name)
        # the engine's numbers hold only for the grids it planned them on: an input the C puts on a grid of
        # its own (a Softmax's 1/256) needs weights, biases and multipliers of its own
        same_input = plan is not None and _s8_from_u8(*plan["input"]) == (in_scale, in_zp)
        if same_input:
            q, w_scale = plan["weights"].reshape(weights.shape), plan["weight_scales"]  # the engine's s8 weights
        else:  # a layer the engine does not run in static INT8 (refused there, or its input left float)
            q, w_scale = _int8_weights(weights, channels)
        if same_input and "bias" in plan and _s8_from_u8(*plan["output"]) == (out_act.scale, out_act.zero_point):
            # requantized by the engine in TFLite's fixed point: its very numbers, the engine's output codes
            bias_q, multipliers, shifts = plan["bias"], plan["multipliers"], plan["shifts"]
            clamp = {"activation_min": int(plan["min"]) - 128, "activation_max": int(plan["max"]) - 128}
        else:  # an output the engine keeps float (read by a float op, or the model's output): requantized here
            bias_q = fixed_point.quantize_biases(bias, in_scale, w_scale)
            multipliers, shifts = fixed_point.per_channel_multipliers(in_scale, np.asarray(w_scale, np.float32),
                                                                      out_act.scale, channels)
        q = q.transpose(1, 2, 3, 0) if depthwise else q.transpose(0, 2, 3, 1)  # -> 1HWO / OHWI
        params.update(input_offset=-in_zp, output_offset=out_act.zero_point, **clamp)
        return Layer("depthwise_conv2d" if depthwise else "conv2d", node.name or out, [], -1, params,
                     {"filter": np.ascontiguousarray(q), "multipliers": multipliers, "shifts": shifts, "bias": bias_q})

    def pool_layer(self, node, src, out):
        attrs = _attributes(node)
        self.require_nhwc(node, src)
        in_shape, out_shape = self.nhwc(src), self.nhwc(out)
        if node.op_type == "GlobalAveragePool":
            kernel, strides, top_left = in_shape[1:3], (1, 1), (0, 0)
        else:
            kernel, strides = [int(k) for k in attrs["kernel_shape"]], [int(s) for s in attrs.get("strides", [1, 1])]
            if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
                raise UnsupportedModelError(f"{_label(node)}: dilated pooling")
            top_left = _window_padding(node, attrs, in_shape[1:3], out_shape[1:3], kernel, strides, (1, 1))
        outside = False
        for size, o, k, s, pad in zip(in_shape[1:3], out_shape[1:3], kernel, strides, top_left, strict=True):
            if k - pad <= 0 or (o - 1) * s - pad >= size:  # the first / last window lies wholly in padding
                raise UnsupportedModelError(f"{_label(node)}: a window with no input element (pads {list(top_left)}, "
                                            f"kernel {list(kernel)})")
            outside = outside or pad > 0 or (o - 1) * s - pad + k > size
        if node.op_type == "AveragePool" and outside and attrs.get("count_include_pad", 0):
            raise UnsupportedModelError(f"{_label(node)}: AveragePool counting padding")
        params = window_params(in_shape, out_shape, kernel, strides, (1, 1), "VALID")
        params["padding_top"], params["padding_left"] = top_left
        params.update(input_offset=0, output_offset=0, activation_min=-128, activation_max=127)
        self.set_order(out, "nhwc")
        return Layer("max_pool" if node.op_type == "MaxPool" else "average_pool", node.name or out, [], -1, params)

    def softmax_layer(self, node, src, out, source):
        """Softmax over ``axis`` (opset 13+) or over the 2-D coercion at ``axis`` (older opsets): each group of
        values normalized together must be one contiguous run of memory (its order inside does not matter)."""
        shape = self.shape(src)
        axis = int(_attributes(node).get("axis", -1 if self.opset >= 13 else 1))
        if not -len(shape) <= axis < max(len(shape), 1):
            raise UnsupportedModelError(f"{_label(node)}: axis {axis} of a {len(shape)}-D tensor")
        axis %= max(len(shape), 1)
        index = np.arange(self.size(src)).reshape(shape)
        groups = (np.moveaxis(index, axis, -1) if self.opset >= 13 else index).reshape(
            -1, shape[axis] if self.opset >= 13 else int(np.prod(shape[axis:], dtype=np.int64)))
        rows, depth = groups.shape
        position = np.empty_like(index.ravel())
        position[self.order_array(src)] = np.arange(index.size)  # ONNX index -> memory position
        where = position[groups]
        if depth and not (np.array_equal(where.max(axis=1) - where.min(axis=1), np.full(rows, depth - 1))
                          and not np.any(where.min(axis=1) % depth)):
            raise UnsupportedModelError(
                f"{_label(node)}: softmax over axis {axis} of {list(shape)}, which the C holds in NHWC order: the "
                "values normalized together are not contiguous there")
        self.set_order(out, self.orders[src])
        self.warn_of_coarse_softmax(node, out, depth)
        multiplier, shift, diff_min = fixed_point.softmax_parameters(1.0, source.scale)
        return Layer("softmax", node.name or out, [], -1, {"rows": rows, "depth": depth,
                                                           "input_multiplier": multiplier,
                                                           "input_left_shift": shift, "diff_min": diff_min})

    def warn_of_coarse_softmax(self, node, out, depth):
        """Warns where the Softmax's largest output on the calibration data spans fewer than
        :data:`COARSE_SOFTMAX_CODES` codes of the grid the C writes it on (TFLite's fixed 1/256): a softmax over
        many values (attention, a wide flattened map) then carries a few bits, and what follows it moves by many
        of its own output steps."""
        scale, zero_point = self.params[out]  # the calibrated range of the float Softmax's output, in s8
        largest = scale * (127 - zero_point)
        codes = largest / SOFTMAX_GRID[0]
        if codes < COARSE_SOFTMAX_CODES:
            warnings.warn(f"{_label(node)}: its outputs reach {largest:.3g} on the calibration data (groups of "
                          f"{depth} values), {codes:.1f} codes of the 1/256 grid the C writes every softmax "
                          "on (TFLite Micro's int8 softmax): expect coarse values after it", CoarseSoftmaxWarning,
                          stacklevel=2)

    def add_layer(self, node, src, out, source):
        other_name = node.input[1]
        if not (self.shape(src) == self.shape(other_name) == self.shape(out)):
            raise UnsupportedModelError(
                f"{_label(node)}: a broadcasting Add of {list(self.shape(src))} and {list(self.shape(other_name))} "
                "(the C kernel adds two tensors of the same shape element by element)")
        if not np.array_equal(self.order_array(src), self.order_array(other_name)):
            raise UnsupportedModelError(f"{_label(node)}: adds tensors the C holds in different memory orders")
        other = self.activations[self.index_of[other_name]]
        out_scale, out_zp = self.params[out]
        self.set_order(out, self.orders[src])
        layer = Layer("add", node.name or out, [], -1, {
            "size": source.size, **fixed_point.add_parameters(source.scale, other.scale, out_scale),
            "input1_offset": -source.zero_point, "input2_offset": -other.zero_point, "output_offset": out_zp,
            "activation_min": -128, "activation_max": 127})
        layer.inputs = [self.index_of[src], self.index_of[other_name]]
        return layer

    def relu_layer(self, node, out, source):
        """A Relu the engine could not fuse (after an Add, a pool): TFLite Micro's int8 ReLU onto the output's
        calibrated grid, clamped at its code of 0."""
        out_scale, out_zp = self.params[out]
        multiplier, shift = fixed_point.quantize_multiplier(source.scale / out_scale)
        low, high = fixed_point.activation_range("RELU", out_scale, out_zp)
        return Layer("relu", node.name, [], -1, {
            "size": source.size, "input_offset": -source.zero_point, "output_offset": out_zp,
            "multiplier": multiplier, "shift": shift, "activation_min": low, "activation_max": high})

    def lower_simple(self, node):
        src, out = node.input[0], node.output[0]
        if node.op_type == "Add" and src in self.constant and len(node.input) > 1:
            src = node.input[1]
        if src not in self.index_of:
            raise UnsupportedModelError(f"{_label(node)} reads {src!r}, which no supported layer produces")
        source = self.activations[self.index_of[src]]
        qparams = (source.scale, source.zero_point)  # a copy and a pool keep the grid
        if node.op_type in PASS_THROUGH:
            layer = Layer("reshape", node.name or out, [], -1, {"size": source.size})
            self.set_order(out, "plain" if self.has_order(src, "plain") else self.order_array(src))
        elif node.op_type in POOLS:
            layer = self.pool_layer(node, src, out)
        elif node.op_type == "Softmax":
            layer = self.softmax_layer(node, src, out, source)
            qparams = SOFTMAX_GRID
        elif node.op_type == "Add" and all(n in self.index_of for n in node.input):
            layer = self.add_layer(node, src, out, source)
            qparams = None
        elif node.op_type == "Relu":
            layer = self.relu_layer(node, out, source)
            self.set_order(out, self.orders[src])
            qparams = None
        elif node.op_type == "Add" and any(n in self.constant for n in node.input):
            # the engine folds a constant that holds one value per output channel into the conv before it
            term = np.shape(self.constant[next(n for n in node.input if n in self.constant)])
            raise UnsupportedModelError(f"{_label(node)}: a bias Add of shape {list(term)} that does not hold one "
                                        "value per output channel of a Conv / Gemm / MatMul it follows alone")
        else:
            raise UnsupportedModelError(f"{_label(node)} in this position")
        if not layer.inputs:
            layer.inputs = [self.index_of[src]]
        layer.output = self.activation(out, qparams)
        self.layers.append(layer)
