"""ONNX (float) -> :class:`~.graph.IntegerGraph` through static INT8 calibration.

Activation ranges come from our engine's static calibration (``edgequant.Engine(mode="static")``,
the same scales its INT8 layers use, shifted from u8 to s8), completed by the same range method on
ONNX Runtime's float activations for tensors the engine does not quantize (e.g. the logits).
Weights are symmetric int8 per output channel (fully connected: per tensor), biases int32 at
``input_scale * weight_scale``. Conv + bias Add + BatchNormalization + Relu / Clip(0, 6) and
Gemm / MatMul + Add + Relu fuse into one kernel call.

Layouts: ONNX is NCHW, the C runtime NHWC, and a Reshape is a plain copy in C. So every activation
carries its memory order (which ONNX element each memory position holds): the graph input and the
outputs of convolutions and pools are NHWC, a Reshape / Flatten keeps its source's order. Each
consumer checks the order it gets: a conv or pool needs NHWC, a fully connected layer absorbs a
permutation of its input columns (a flatten of NHWC data) and permutes its output rows when a
Reshape to 4-D follows it, Add needs equal orders, Softmax needs each softmax group contiguous.
What the C cannot compute exactly is refused here, naming the node."""

from __future__ import annotations

import numpy as np

from .. import _core
from . import fixed_point
from .graph import Activation, IntegerGraph, Layer, UnsupportedModelError
from .tflite_frontend import window_params

ANCHORS = ("Conv", "Gemm", "MatMul")
FUSABLE = ("Add", "BatchNormalization", "Relu", "Clip")
PASS_THROUGH = ("Flatten", "Reshape")
POOLS = ("MaxPool", "AveragePool", "GlobalAveragePool")
SUPPORTED = ANCHORS + FUSABLE + PASS_THROUGH + POOLS + ("Softmax",)


def _attributes(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _label(node) -> str:
    """How messages name a node: its name, else the tensor it writes (exporters often leave names empty)."""
    return f"{node.op_type} node {node.name!r}" if node.name else f"{node.op_type} node writing {node.output[0]!r}"


def _opset(model) -> int:
    return next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


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
    (``quant/affine.h``, the one rule) in s8, as :func:`_engine_params` takes the engine's own."""
    params = _core.affine_params_from_range(_core.AffineFormat(8, False, False), float(lo), float(hi))
    return _s8_from_u8(params.scale, params.zero_point)


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


def _float_activations(model, calibration, method):
    """Every tensor's value on the first sample (constants and shapes) and its calibrated range."""
    import onnx
    import onnxruntime as ort

    from ..ranges import RangeObserver

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for name in node.output:
            if name and name not in known:
                probe.graph.output.append(onnx.ValueInfoProto(name=name))
                known.add(name)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own exception types: an invalid model is the caller's ValueError
        raise ValueError(f"ONNX Runtime cannot load this model: {str(error).splitlines()[0][-400:]}") from error
    names = [o.name for o in session.get_outputs()]
    input_name = session.get_inputs()[0].name
    histogram = method != "minmax"
    observers = {name: RangeObserver(histogram) for name in [*names, input_name]}
    first = None
    for sample in calibration:
        x = np.asarray(sample, np.float32)[None]
        try:
            outputs = session.run(names, {input_name: x})
        except Exception as error:
            raise ValueError(f"ONNX Runtime cannot run this model on the calibration inputs: "
                             f"{str(error).splitlines()[0][-400:]}") from error
        values = dict(zip(names, outputs, strict=True))
        values[input_name] = x
        if first is None:
            first = values
        for name, value in values.items():
            if np.issubdtype(np.asarray(value).dtype, np.floating):
                observers[name].observe(value)
    return first, {name: o.range(method) for name, o in observers.items()}


def _problems(model, constant) -> list:
    problems = []
    for i, node in enumerate(model.graph.node):
        if all(name in constant for name in node.output):
            continue  # folded at export time
        attrs = _attributes(node)
        if node.op_type not in SUPPORTED:
            problems.append(f"node {i} {node.op_type} {node.name!r} (no kernel)")
        elif node.op_type in ANCHORS and (len(node.input) < 2 or node.input[1] not in constant
                                          or node.input[0] in constant):
            problems.append(f"node {i} {_label(node)}: the first input must be computed, the second a constant")
        elif node.op_type in ("Conv", "MaxPool", "AveragePool") and (
                len(attrs.get("kernel_shape", [1, 1])) != 2
                or (node.op_type == "Conv" and np.ndim(constant[node.input[1]]) != 4)):
            problems.append(f"node {i} {_label(node)}: only 2-D windows")
        elif node.op_type == "Clip" and len(node.input) > 1 and not all(n in constant for n in node.input[1:] if n):
            problems.append(f"node {i} Clip {node.name!r} with computed bounds")
        elif node.op_type == "MaxPool" and len(node.output) > 1 and node.output[1]:
            problems.append(f"node {i} {_label(node)}: the Indices output")
    if len(model.graph.output) != 1:
        problems.append(f"{len(model.graph.output)} outputs (one is supported)")
    return problems


def from_onnx(path, calibration, method: str = "minmax", engine_ranges: bool = True) -> IntegerGraph:
    """Quantize an ONNX model to static INT8 and lower it to kernel calls.

    Parameters
    ----------
    path : str or os.PathLike
    calibration : array
        Float inputs, batch on axis 0 (each sample is run with batch 1).
    method : str
        Range method (:data:`edgequant.engine.METHODS`).
    engine_ranges : bool
        Take activation scales from the engine's static calibration where it has them.

    Raises
    ------
    UnsupportedModelError
        (a ValueError) for a model the C runtime cannot compute exactly as ONNX defines it.
    """
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as error:  # protobuf's DecodeError and friends: a damaged file is the caller's ValueError
        raise ValueError(f"{str(path)!r} is not a readable ONNX model ({type(error).__name__}: {error})") from error
    calibration = np.asarray(calibration, np.float32)
    if calibration.ndim < 2 or len(calibration) == 0:
        raise ValueError("calibration must hold at least one input, batch on axis 0")
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    graph_inputs = [i.name for i in model.graph.input if i.name not in initializers]
    if len(graph_inputs) != 1:
        raise UnsupportedModelError(f"the model has {len(graph_inputs)} inputs (one is supported)")
    graph_input = graph_inputs[0]
    values, ranges = _float_activations(model, calibration, method)
    # constants: initializers and every tensor computed from constants only
    constant = dict(initializers)
    for node in model.graph.node:
        if node.op_type == "Constant" or (node.input and all(n in constant or not n for n in node.input)):
            for name in node.output:
                constant[name] = values[name]
    problems = _problems(model, constant)
    if problems:
        listed = problems[:12] + [f"... and {len(problems) - 12} more"] * (len(problems) > 12)
        raise UnsupportedModelError("the C runtime cannot run this model: " + "; ".join(listed))  # one line
    params = {name: _int8_params(*r) for name, r in ranges.items()}
    if engine_ranges:
        params.update(_engine_params(path, calibration, method))
    return _Lowering(model, constant, values, params, graph_input, path).run()


def _engine_params(path, calibration, method) -> dict:
    from ..engine import Engine, engine_available

    if not engine_available():
        return {}
    engine = Engine(str(path), mode="static", calibration=calibration, method=method, calibration_batch_size=1,
                    progress=False)
    return {name: _s8_from_u8(*params) for name, params in engine.activation_quantization().items()}


class _Lowering:
    def __init__(self, model, constant, values, params, graph_input, path):
        self.model, self.constant, self.values, self.params = model, constant, values, params
        self.nodes = [n for n in model.graph.node if not all(o in constant for o in n.output)]
        self.consumers = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.activations, self.index_of, self.layers = [], {}, []
        # tensor name -> its memory order: "plain" (row-major), "nhwc" (4-D) or an array (memory -> ONNX index)
        self.orders = {}
        self.graph_input, self.source = graph_input, str(getattr(path, "name", path))
        self.graph_output = model.graph.output[0].name
        self.opset = _opset(model)

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
        done = set()
        for node in self.nodes:
            if id(node) in done:
                continue
            if node.op_type in ANCHORS:
                done.update(self.lower_anchor(node))
            else:
                self.lower_simple(node)
                done.add(id(node))
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

    def absorb(self, node):
        """The anchor and the bias / BN / activation nodes that follow it alone."""
        chain, out = [node], node.output[0]
        activation = "NONE"
        while True:
            users = self.consumers.get(out, [])
            if (len(users) != 1 or users[0].op_type not in FUSABLE or activation != "NONE" or out == self.graph_output
                    or self.shape(users[0].output[0]) != self.shape(out)):
                break
            user = users[0]
            if user.op_type == "Add" and not any(n in self.constant for n in user.input):
                break
            if user.op_type == "BatchNormalization" and (user.input[0] != out or (
                    node.op_type != "Conv" and len(self.shape(out)) != 2)):
                break  # BN normalizes axis 1: the output channels only after a conv or a 2-D product
            if user.op_type == "Clip":
                bounds = [float(self.constant[n]) if n else None for n in list(user.input[1:]) + [None, None]][:2]
                attrs = _attributes(user)
                lo = bounds[0] if bounds[0] is not None else attrs.get("min", -np.inf)
                hi = bounds[1] if bounds[1] is not None else attrs.get("max", np.inf)
                if (lo, hi) != (0.0, 6.0):
                    break
                activation = "RELU6"
            elif user.op_type == "Relu":
                activation = "RELU"
            chain.append(user)
            out = user.output[0]
        return chain, out, activation

    def channel_term(self, user, out, channels, axis):
        """A bias Add's constant as one value per output channel (channels on ``axis`` of ``out``)."""
        term = self.constant[next(n for n in user.input if n in self.constant)].astype(np.float64)
        try:
            full = np.broadcast_to(term, self.shape(out))
        except ValueError:
            full = None
        if full is not None:
            rows = np.moveaxis(full, axis, -1).reshape(-1, channels)
            if np.array_equal(rows, np.broadcast_to(rows[0], rows.shape)):
                return rows[0]
        raise UnsupportedModelError(f"{_label(user)}: a bias Add of shape {list(term.shape)} that does not hold one "
                                    "value per output channel")

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
        chain, out, activation = self.absorb(node)
        src = node.input[0]
        if src not in self.index_of:
            raise UnsupportedModelError(f"{_label(node)} reads {src!r}, which no supported layer produces")
        weights = self.constant[node.input[1]].astype(np.float64)
        if node.op_type == "Conv":
            bias = self.constant[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2] else None
        elif node.op_type == "Gemm":
            attrs = _attributes(node)
            weights = weights * attrs.get("alpha", 1.0)
            weights = weights if attrs.get("transB", 0) else weights.T  # -> [out, in]
            bias = (self.constant[node.input[2]].astype(np.float64) * attrs.get("beta", 1.0)
                    if len(node.input) > 2 and node.input[2] else None)
            if attrs.get("transA", 0):
                raise UnsupportedModelError(f"{_label(node)}: Gemm with transA")
        else:
            if weights.ndim != 2:
                raise UnsupportedModelError(f"{_label(node)}: a MatMul by a {weights.ndim}-D constant")
            weights, bias = weights.T, None
        channels = weights.shape[0]
        if bias is not None and bias.size not in (1, channels):
            raise UnsupportedModelError(f"{_label(node)}: a bias of shape {list(bias.shape)}")
        bias = np.zeros(channels) if bias is None else np.broadcast_to(bias.reshape(-1), (channels,)).copy()
        scale = np.ones(channels)
        for user in chain[1:]:
            if user.op_type == "Add":
                bias = bias + self.channel_term(user, user.output[0], channels, 1 if node.op_type == "Conv" else -1)
            elif user.op_type == "BatchNormalization":
                gamma, beta, mean, var = (self.constant[n].astype(np.float64) for n in user.input[1:5])
                factor = gamma / np.sqrt(var + _attributes(user).get("epsilon", 1e-5))
                scale, bias = scale * factor, (bias - mean) * factor + beta
        weights = weights * scale.reshape((-1,) + (1,) * (weights.ndim - 1))
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
        return {id(n) for n in chain}

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
        q, w_scale = _int8_weights(weights, channels)
        q = q.transpose(1, 2, 3, 0) if depthwise else q.transpose(0, 2, 3, 1)  # -> 1HWO / OHWI
        bias_q = fixed_point.quantize_biases(bias, in_scale, w_scale)
        multipliers, shifts = fixed_point.per_channel_multipliers(in_scale, w_scale.astype(np.float32), out_act.scale,
                                                                  channels)
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
        multiplier, shift, diff_min = fixed_point.softmax_parameters(1.0, source.scale)
        return Layer("softmax", node.name or out, [], -1, {"rows": rows, "depth": depth,
                                                           "input_multiplier": multiplier,
                                                           "input_left_shift": shift, "diff_min": diff_min})

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

    def lower_simple(self, node):
        src, out = node.input[0], node.output[0]
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
            qparams = (1.0 / 256.0, -128)
        elif node.op_type == "Add" and all(n in self.index_of for n in node.input):
            layer = self.add_layer(node, src, out, source)
            qparams = None
        elif node.op_type == "Relu":
            raise UnsupportedModelError(f"{_label(node)}: a Relu not directly after a Conv / Gemm / MatMul")
        else:
            raise UnsupportedModelError(f"{_label(node)} in this position")
        if not layer.inputs:
            layer.inputs = [self.index_of[src]]
        layer.output = self.activation(out, qparams)
        self.layers.append(layer)
