"""Random small valid ONNX graphs for the export-c fuzzer (imported as a plain module: pytest puts this
folder on sys.path), and attribute mutations of them.

A graph grows from one input [1, C, H, W] (or a flat [1, F]) an operator at a time: convolutions with
random kernels, strides, dilations, pads or ``auto_pad``, depthwise groups and fused Relu / Clip /
BatchNormalization / bias Add; pools (also ``ceil_mode`` and ``count_include_pad``); Add of two
branches (element-wise or broadcasting); Concat; Softmax on a random axis under opset 11 or 13;
Flatten / Reshape between flat and 4-D data; Gemm / MatMul. Each step's output shape is taken from ONNX
Runtime (the shapes the exporter sees), and a step ONNX Runtime refuses is dropped, so the unmutated
graph is valid. :func:`mutate` then rewrites one attribute to an odd value (which may make it invalid)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


class GraphBuilder:
    """Nodes and initializers of one growing graph, with the current tensor's ONNX Runtime shape."""

    def __init__(self, rng, input_shape, opset):
        self.rng, self.opset = rng, opset
        self.input_shape = list(input_shape)
        self.nodes, self.initializers, self.shapes = [], [], {"x": tuple(input_shape)}
        self.count = 0

    def fresh(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, array, prefix="k"):
        name = self.fresh(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weights(self, *shape):
        return self.constant(self.rng.normal(0, 0.5, shape).astype(np.float32), "w")

    def model(self, output):
        graph = helper.make_graph(self.nodes, "fuzz",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, self.input_shape)],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        return model

    def try_add(self, step, current):
        """Append the nodes ``step(self, current, shape)`` makes if ONNX Runtime runs the graph ending at their
        last output; that output's name, or None (and the step's nodes and constants are dropped)."""
        import onnxruntime as ort

        saved = (list(self.nodes), list(self.initializers))
        nodes = step(self, current, self.shapes[current])
        self.nodes += nodes
        output = nodes[-1].output[0]
        options = ort.SessionOptions()
        options.log_severity_level = 4
        try:
            session = ort.InferenceSession(self.model(output).SerializeToString(), options,
                                           providers=["CPUExecutionProvider"])
            value = session.run(None, {"x": np.zeros(self.input_shape, np.float32)})[0]
        except Exception:  # noqa: BLE001 - any refusal: drop the step
            value = None
        if value is None or value.size == 0:  # refused, or an empty tensor (no step can follow it): drop the step
            self.nodes, self.initializers = saved
            return None
        self.shapes[output] = tuple(value.shape)
        return output


def _window_attributes(rng, kernel, allow_dilation):
    attributes = {"kernel_shape": kernel, "strides": [int(rng.integers(1, 3)), int(rng.integers(1, 3))]}
    if allow_dilation and rng.random() < 0.3:
        attributes["dilations"] = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    auto_pad = AUTO_PADS[rng.integers(len(AUTO_PADS))]
    if auto_pad == "NOTSET":
        attributes["pads"] = [int(rng.integers(0, k)) for k in kernel * 2]
    else:
        attributes["auto_pad"] = auto_pad
    return attributes


def _conv(b, t, shape):
    rng = b.rng
    channels = shape[1]
    kernel = [int(rng.integers(1, 4)), int(rng.integers(1, 4))]
    depthwise = channels > 1 and rng.random() < 0.3
    out_channels = channels * int(rng.integers(1, 3)) if depthwise else int(rng.integers(1, 5))
    attributes = _window_attributes(rng, kernel, True)
    if depthwise:
        attributes["group"] = channels
    inputs = [t, b.weights(out_channels, 1 if depthwise else channels, *kernel)]
    if rng.random() < 0.7:
        inputs.append(b.weights(out_channels))
    out = b.fresh("conv")
    nodes = [helper.make_node("Conv", inputs, [out], **attributes)]
    follow = rng.choice(["none", "relu", "clip", "bn", "bias"])
    if follow == "relu":
        nodes.append(helper.make_node("Relu", [out], [b.fresh("relu")]))
    elif follow == "clip":
        nodes.append(helper.make_node("Clip", [out, b.constant(np.float32(0)), b.constant(np.float32(6))],
                                      [b.fresh("clip")]))
    elif follow == "bn":
        scale, mean = rng.uniform(0.5, 1.5, out_channels), rng.normal(0, 0.2, out_channels)
        bias, var = rng.normal(0, 0.2, out_channels), rng.uniform(0.5, 1.5, out_channels)
        names = [b.constant(v.astype(np.float32)) for v in (scale, bias, mean, var)]
        nodes.append(helper.make_node("BatchNormalization", [out, *names], [b.fresh("bn")]))
    elif follow == "bias":  # per channel [C, 1, 1], or [C] (broadcast along the width: not a channel bias)
        term = rng.normal(0, 0.3, (out_channels, 1, 1) if rng.random() < 0.7 else (out_channels,))
        nodes.append(helper.make_node("Add", [out, b.constant(term.astype(np.float32))], [b.fresh("add")]))
    return nodes


def _pool(b, t, shape):
    rng = b.rng
    op = rng.choice(["MaxPool", "AveragePool", "GlobalAveragePool"], p=[0.45, 0.45, 0.1])
    if op == "GlobalAveragePool":
        return [helper.make_node(op, [t], [b.fresh("gap")])]
    attributes = _window_attributes(rng, [int(rng.integers(1, 4)), int(rng.integers(1, 4))], False)
    if rng.random() < 0.3:
        attributes["ceil_mode"] = 1
    if op == "AveragePool" and rng.random() < 0.4:
        attributes["count_include_pad"] = 1
    return [helper.make_node(op, [t], [b.fresh("pool")], **attributes)]


def _two_branches(b, t, shape):
    """Add or Concat of ``t``'s two 1x1 convolutions; sometimes Add of ``t`` and its pooled (broadcast) form."""
    rng = b.rng
    channels = shape[1]
    left, right = b.fresh("left"), b.fresh("right")
    nodes = [helper.make_node("Conv", [t, b.weights(channels, channels, 1, 1), b.weights(channels)], [left])]
    kind = rng.choice(["add", "broadcast_add", "concat"], p=[0.5, 0.25, 0.25])
    if kind == "broadcast_add":
        nodes.append(helper.make_node("GlobalAveragePool", [t], [right]))
    else:
        nodes.append(helper.make_node("Conv", [t, b.weights(channels, channels, 1, 1)], [right]))
        nodes.append(helper.make_node("Relu", [right], [b.fresh("relu")]))
        right = nodes[-1].output[0]
    if kind == "concat":
        return nodes + [helper.make_node("Concat", [left, right], [b.fresh("cat")], axis=1)]
    operands = [left, right] if rng.random() < 0.5 else [right, left]
    return nodes + [helper.make_node("Add", operands, [b.fresh("sum")])]


def _softmax(b, t, shape):
    axis = int(b.rng.integers(-len(shape), len(shape)))
    return [helper.make_node("Softmax", [t], [b.fresh("softmax")], axis=axis)]


def _flatten(b, t, shape):
    if b.rng.random() < 0.5:
        return [helper.make_node("Flatten", [t], [b.fresh("flat")], axis=int(b.rng.integers(0, len(shape) + 1)))]
    return [helper.make_node("Reshape", [t, b.constant(np.array([1, -1], np.int64))], [b.fresh("flat")])]


def _product(b, t, shape):
    rng = b.rng
    features, outputs = shape[-1], int(rng.integers(1, 13))
    out = b.fresh("fc")
    if rng.random() < 0.6:
        transposed = rng.random() < 0.5
        w = b.weights(outputs, features) if transposed else b.weights(features, outputs)
        inputs = [t, w] + ([b.weights(outputs)] if rng.random() < 0.7 else [])
        attributes = {"transB": int(transposed)}
        if rng.random() < 0.2:
            attributes.update(alpha=float(rng.uniform(0.5, 2)), beta=float(rng.uniform(0.5, 2)))
        nodes = [helper.make_node("Gemm", inputs, [out], **attributes)]
    else:
        nodes = [helper.make_node("MatMul", [t, b.weights(features, outputs)], [out]),
                 helper.make_node("Add", [out, b.weights(outputs)], [b.fresh("add")])]
    if rng.random() < 0.4:
        nodes.append(helper.make_node("Relu", [nodes[-1].output[0]], [b.fresh("relu")]))
    return nodes


def _to_image(b, t, shape):
    """Reshape [1, F] to [1, C, H, W] with C * H * W = F (a factorization of F)."""
    features = shape[-1]
    divisors = [d for d in range(1, features + 1) if features % d == 0]
    channels = int(b.rng.choice(divisors))
    rest = features // channels
    height = int(b.rng.choice([d for d in range(1, rest + 1) if rest % d == 0]))
    target = np.array([1, channels, height, rest // height], np.int64)
    return [helper.make_node("Reshape", [t, b.constant(target)], [b.fresh("image")])]


def _flat_add(b, t, shape):
    """Add of two products of ``t`` (element-wise)."""
    outputs = int(b.rng.integers(1, 9))
    left, right = b.fresh("left"), b.fresh("right")
    return [helper.make_node("Gemm", [t, b.weights(outputs, shape[-1]), b.weights(outputs)], [left], transB=1),
            helper.make_node("Gemm", [t, b.weights(outputs, shape[-1])], [right], transB=1),
            helper.make_node("Add", [left, right], [b.fresh("sum")])]


def _unit_conv(b, t, shape):
    return [helper.make_node("Conv", [t, b.weights(2, shape[1], 1, 1)], [b.fresh("conv")])]


IMAGE_STEPS = ((_conv, 0.35), (_pool, 0.2), (_two_branches, 0.15), (_softmax, 0.08), (_flatten, 0.22))
FLAT_STEPS = ((_product, 0.55), (_to_image, 0.2), (_softmax, 0.15), (_flat_add, 0.1))


def random_model(rng):
    """A random valid model (ONNX Runtime runs it) and a one-line description of its operators."""
    opset = int(rng.choice([11, 13]))
    if rng.random() < 0.8:
        input_shape = [1, int(rng.integers(1, 4)), int(rng.integers(3, 9)), int(rng.integers(3, 9))]
    else:
        input_shape = [1, int(rng.integers(2, 17))]
    b = GraphBuilder(rng, input_shape, opset)
    current = "x"
    for _ in range(int(rng.integers(1, 6))):
        shape = b.shapes[current]
        steps = IMAGE_STEPS if len(shape) == 4 else FLAT_STEPS if len(shape) == 2 else ((_product, 1.0),)
        functions, weights = zip(*steps, strict=True)
        for _attempt in range(4):
            step = functions[rng.choice(len(functions), p=np.asarray(weights) / sum(weights))]
            output = b.try_add(step, current)
            if output is not None:
                current = output
                break
    if b.nodes and b.nodes[-1].op_type in ("Flatten", "Reshape") and len(b.shapes[current]) == 2:
        # a flatten of NHWC data is no output the C can return (refused): give it a product to feed
        current = b.try_add(_product, current) or current
    if current == "x":  # nothing fit: a 1x1 convolution or a product always does
        current = b.try_add(_unit_conv if len(b.shapes["x"]) == 4 else _product, "x")
    return b.model(current), f"opset {opset} {input_shape}: " + " ".join(n.op_type for n in b.nodes)


ODD_VALUES = (-1, 0, 1, 2, 3, 5, 2**31 - 1)


def mutate(model, rng):
    """Rewrite one attribute of one node (a value, a list element, ``auto_pad``) or drop it; the change as text."""
    candidates = [node for node in model.graph.node if node.attribute]
    if not candidates:
        return "no attribute to mutate"
    node = candidates[rng.integers(len(candidates))]
    attribute = node.attribute[rng.integers(len(node.attribute))]
    if rng.random() < 0.15:
        node.attribute.remove(attribute)
        return f"{node.op_type}: dropped {attribute.name}"
    if attribute.type == attribute.STRING:
        attribute.s = rng.choice([*AUTO_PADS, "same_upper", "BOGUS"]).encode()
        return f"{node.op_type}: {attribute.name}={attribute.s.decode()}"
    if attribute.type == attribute.INTS and len(attribute.ints):
        index = int(rng.integers(len(attribute.ints)))
        attribute.ints[index] = int(rng.choice(ODD_VALUES))
        return f"{node.op_type}: {attribute.name}[{index}]={attribute.ints[index]}"
    if attribute.type == attribute.INT:
        attribute.i = int(rng.choice(ODD_VALUES))
        return f"{node.op_type}: {attribute.name}={attribute.i}"
    if attribute.type == attribute.FLOAT:
        attribute.f = float(rng.choice([0.0, -1.0, 1e-30, 3.0]))
        return f"{node.op_type}: {attribute.name}={attribute.f}"
    return f"{node.op_type}: {attribute.name} left as is"
