"""ONNX (float) -> :class:`~.graph.IntegerGraph` through static INT8 calibration.

Activation ranges come from our engine's static calibration (``edgequant.Engine(mode="static")``,
the same scales its INT8 layers use, shifted from u8 to s8), completed by the same range method on
ONNX Runtime's float activations for tensors the engine does not quantize (e.g. the logits).
Weights are symmetric int8 per output channel (fully connected: per tensor), biases int32 at
``input_scale * weight_scale``. Conv + bias Add + BatchNormalization + Relu / Clip(0, 6) and
Gemm / MatMul + Add + Relu fuse into one kernel call. Activations are NHWC in C: inputs are
transposed from NCHW, and fully connected weights after a flatten are permuted to match."""

from __future__ import annotations

import numpy as np

from . import fixed_point
from .graph import Activation, IntegerGraph, Layer, UnsupportedModelError
from .tflite_frontend import window_params

ANCHORS = ("Conv", "Gemm", "MatMul")
FUSABLE = ("Add", "BatchNormalization", "Relu", "Clip")
PASS_THROUGH = ("Flatten", "Reshape")
SUPPORTED = ANCHORS + FUSABLE + PASS_THROUGH + ("MaxPool", "AveragePool", "GlobalAveragePool", "Softmax")


def _attributes(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _int8_params(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [lo, hi] and 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


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
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    input_name = session.get_inputs()[0].name
    histogram = method != "minmax"
    observers = {name: RangeObserver(histogram) for name in [*names, input_name]}
    first = None
    for sample in calibration:
        x = np.asarray(sample, np.float32)[None]
        values = dict(zip(names, session.run(names, {input_name: x}), strict=True))
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
        if node.op_type not in SUPPORTED:
            problems.append(f"node {i} {node.op_type} {node.name!r} (no kernel)")
        elif node.op_type == "Conv":
            attrs = _attributes(node)
            if len(attrs.get("kernel_shape", [1, 1])) != 2:
                problems.append(f"node {i} Conv {node.name!r}: only 2-D convolutions")
        elif node.op_type == "Clip" and len(node.input) > 1 and not all(n in constant for n in node.input[1:] if n):
            problems.append(f"node {i} Clip {node.name!r} with computed bounds")
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
    """
    import onnx

    model = onnx.load(str(path))
    calibration = np.asarray(calibration, np.float32)
    if calibration.ndim < 2 or len(calibration) == 0:
        raise ValueError("calibration must hold at least one input, batch on axis 0")
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    graph_input = next(i.name for i in model.graph.input if i.name not in initializers)
    values, ranges = _float_activations(model, calibration, method)
    # constants: initializers and every tensor computed from constants only
    constant = dict(initializers)
    for node in model.graph.node:
        if node.op_type == "Constant" or (node.input and all(n in constant or not n for n in node.input)):
            for name in node.output:
                constant[name] = values[name]
    problems = _problems(model, constant)
    if problems:
        raise UnsupportedModelError("the C runtime cannot run this model:\n  " + "\n  ".join(problems))
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
    return {name: (float(scale), int(zero_point) - 128)
            for name, (scale, zero_point) in engine.activation_quantization().items()}


class _Lowering:
    def __init__(self, model, constant, values, params, graph_input, path):
        self.model, self.constant, self.values, self.params = model, constant, values, params
        self.nodes = [n for n in model.graph.node if not all(o in constant for o in n.output)]
        self.consumers = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.activations, self.index_of, self.layers = [], {}, []
        self.flattened_from = {}  # flat tensor name -> NCHW shape it came from
        self.graph_input, self.source = graph_input, str(getattr(path, "name", path))

    def shape(self, name):
        return tuple(int(d) for d in np.shape(self.values[name]))

    def nhwc(self, name):
        shape = self.shape(name)
        return (shape[0], shape[2], shape[3], shape[1]) if len(shape) == 4 else shape

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
        done = set()
        for node in self.nodes:
            if id(node) in done:
                continue
            if node.op_type in ANCHORS:
                done.update(self.lower_anchor(node))
            else:
                self.lower_simple(node)
                done.add(id(node))
        output = self.model.graph.output[0].name
        if output not in self.index_of:
            raise UnsupportedModelError(f"the output {output!r} is not produced by a supported layer")
        layout = "NCHW" if len(self.shape(self.graph_input)) == 4 else None
        return IntegerGraph(self.activations, self.layers, 0, self.index_of[output], self.source, layout)

    def absorb(self, node):
        """The anchor and the bias / BN / activation nodes that follow it alone."""
        chain, out = [node], node.output[0]
        activation = "NONE"
        while True:
            users = self.consumers.get(out, [])
            if len(users) != 1 or users[0].op_type not in FUSABLE or activation != "NONE":
                break
            user = users[0]
            if user.op_type == "Add" and not any(n in self.constant for n in user.input):
                break
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

    def lower_anchor(self, node):
        chain, out, activation = self.absorb(node)
        src = node.input[0]
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
                raise UnsupportedModelError(f"{node.name}: Gemm with transA")
        else:
            weights, bias = weights.T, None
        channels = weights.shape[0]
        bias = np.zeros(channels) if bias is None else np.broadcast_to(bias.reshape(-1), (channels,)).copy()
        scale = np.ones(channels)
        for user in chain[1:]:
            if user.op_type == "Add":
                term = self.constant[next(n for n in user.input if n in self.constant)].astype(np.float64)
                if term.size not in (1, channels):
                    raise UnsupportedModelError(f"{user.name}: a bias Add of shape {term.shape}")
                bias = bias + np.broadcast_to(term.reshape(-1), (channels,))
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
            layer = self.conv_layer(node, src, out, weights, bias, in_scale, in_zp, out_act, clamp)
        else:
            if src in self.flattened_from:  # NCHW flatten order -> the NHWC order C keeps
                n, c, h, w = self.flattened_from[src]
                weights = weights.reshape(channels, c, h, w).transpose(0, 2, 3, 1).reshape(channels, -1)
            w_scale = max(float(np.abs(weights).max()) / 127.0, 1e-12)
            q = np.clip(np.round(weights / w_scale), -127, 127).astype(np.int8)
            bias_q = np.round(bias / (in_scale * w_scale)).astype(np.int64)
            multiplier, shift = fixed_point.quantize_multiplier(in_scale * w_scale / out_act.scale)
            input_depth = q.shape[1]
            layer = Layer("fully_connected", node.name or out, [], -1,
                          {"batches": int(np.prod(self.shape(src))) // input_depth, "input_depth": input_depth,
                           "output_depth": channels, "input_offset": -in_zp, "filter_offset": 0,
                           "output_offset": out_act.zero_point, "multiplier": multiplier, "shift": shift, **clamp},
                          {"filter": q, "bias": np.clip(bias_q, -2**31, 2**31 - 1).astype(np.int32)})
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
            raise UnsupportedModelError(f"{node.name}: grouped convolution that is not depthwise")
        strides, dilations = attrs.get("strides", [1, 1]), attrs.get("dilations", [1, 1])
        params = window_params(in_shape, out_shape, (kh, kw), strides, dilations, "VALID",
                               out_shape[3] // in_shape[3] if depthwise else 1)
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for size, k, s, d, o in zip(in_shape[1:3], (kh, kw), strides, dilations, out_shape[1:3], strict=True):
                total = max(0, (o - 1) * s + (k - 1) * d + 1 - size)
                pads.append(total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
            params["padding_top"], params["padding_left"] = pads
        else:
            pads = attrs.get("pads", [0, 0, 0, 0])
            params["padding_top"], params["padding_left"] = int(pads[0]), int(pads[1])
        channels = weights.shape[0]
        w_scale = np.maximum(np.abs(weights.reshape(channels, -1)).max(axis=1) / 127.0, 1e-12)
        q = np.clip(np.round(weights / w_scale.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
        q = q.transpose(1, 2, 3, 0) if depthwise else q.transpose(0, 2, 3, 1)  # -> 1HWO / OHWI
        bias_q = np.clip(np.round(bias / (in_scale * w_scale)), -2**31, 2**31 - 1).astype(np.int32)
        multipliers, shifts = fixed_point.per_channel_multipliers(in_scale, w_scale.astype(np.float32), out_act.scale,
                                                                  channels)
        params.update(input_offset=-in_zp, output_offset=out_act.zero_point, **clamp)
        return Layer("depthwise_conv2d" if depthwise else "conv2d", node.name or out, [], -1, params,
                     {"filter": np.ascontiguousarray(q), "multipliers": multipliers, "shifts": shifts, "bias": bias_q})

    def lower_simple(self, node):
        src, out = node.input[0], node.output[0]
        if src not in self.index_of:
            raise UnsupportedModelError(f"{node.op_type} {node.name!r} reads {src!r}, which no supported layer "
                                        "produces")
        source = self.activations[self.index_of[src]]
        if node.op_type in PASS_THROUGH:
            if len(self.shape(src)) == 4 and len(self.shape(out)) == 2:
                self.flattened_from[out] = self.shape(src)
            elif self.shape(src) != self.shape(out) and len(self.shape(src)) != 2:
                raise UnsupportedModelError(f"{node.name}: reshape {self.shape(src)} -> {self.shape(out)}")
            layer = Layer("reshape", node.name or out, [], -1, {"size": source.size})
            qparams = (source.scale, source.zero_point)
        elif node.op_type in ("MaxPool", "AveragePool", "GlobalAveragePool"):
            attrs = _attributes(node)
            in_shape, out_shape = self.nhwc(src), self.nhwc(out)
            if node.op_type == "GlobalAveragePool":
                kernel, strides = in_shape[1:3], (1, 1)
            else:
                kernel, strides = attrs["kernel_shape"], attrs.get("strides", [1, 1])
            pads = attrs.get("pads", [0, 0, 0, 0])
            if node.op_type == "AveragePool" and any(pads) and attrs.get("count_include_pad", 0):
                raise UnsupportedModelError(f"{node.name}: AveragePool counting padding")
            params = window_params(in_shape, out_shape, kernel, strides, (1, 1), "VALID")
            params["padding_top"], params["padding_left"] = int(pads[0]), int(pads[1])
            params.update(input_offset=0, output_offset=0, activation_min=-128, activation_max=127)
            layer = Layer("max_pool" if node.op_type == "MaxPool" else "average_pool", node.name or out, [], -1, params)
            qparams = (source.scale, source.zero_point)  # pooling keeps the grid
        elif node.op_type == "Softmax":
            depth = self.shape(src)[-1]
            multiplier, shift, diff_min = fixed_point.softmax_parameters(1.0, source.scale)
            layer = Layer("softmax", node.name or out, [], -1, {"rows": source.size // depth, "depth": depth,
                                                                "input_multiplier": multiplier,
                                                                "input_left_shift": shift, "diff_min": diff_min})
            qparams = (1.0 / 256.0, -128)
        elif node.op_type == "Add" and all(n in self.index_of for n in node.input):
            other = self.activations[self.index_of[node.input[1]]]
            out_scale, out_zp = self.params[out]
            layer = Layer("add", node.name or out, [], -1, {
                "size": source.size, **fixed_point.add_parameters(source.scale, other.scale, out_scale),
                "input1_offset": -source.zero_point, "input2_offset": -other.zero_point, "output_offset": out_zp,
                "activation_min": -128, "activation_max": 127})
            layer.inputs = [self.index_of[src], self.index_of[node.input[1]]]
            qparams = None
        elif node.op_type == "Relu":
            raise UnsupportedModelError(f"{node.name}: a Relu not directly after a Conv / Gemm / MatMul")
        else:
            raise UnsupportedModelError(f"{node.op_type} {node.name!r} in this position")
        if not layer.inputs:
            layer.inputs = [self.index_of[src]]
        layer.output = self.activation(out, qparams)
        self.layers.append(layer)
