"""A small ONNX graph builder with random weights, shared by the architecture files.

Weights: He-normal convolution / linear weights (std = sqrt(2 / fan_in)), small random biases,
BatchNormalization with gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1), mean ~ N(0, 0.1) and a random
positive variance ~ U(0.5, 1.5). Values are named in creation order so a model is deterministic
for a given seed.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's / ultralytics' channel rounding: nearest multiple of ``divisor``, never below
    90 % of ``value``."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class GraphBuilder:
    """Appends nodes and random initializers; every method returns the name of its output."""

    def __init__(self, name: str, seed: int = 0):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._counts: dict[str, int] = {}

    # --- plumbing -----------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        count = self._counts.get(prefix, 0)
        self._counts[prefix] = count + 1
        return f"{prefix}_{count}"

    def const(self, array, prefix: str = "const") -> str:
        name = self.fresh(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type: str, inputs, outputs: int | list[str] = 1, **attributes) -> str | list[str]:
        base = self.fresh(op_type.lower())
        names = outputs if isinstance(outputs, list) else [base if outputs == 1 else f"{base}_out{k}"
                                                           for k in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=base, **attributes))
        return names[0] if len(names) == 1 else names

    # --- layers -------------------------------------------------------------------------------
    def conv(self, x: str, cin: int, cout: int, kernel: int, stride: int = 1, pad: int | None = None,
             group: int = 1, bias: bool = False, dilation: int = 1) -> str:
        pad = (kernel - 1) // 2 * dilation if pad is None else pad
        fan_in = cin // group * kernel * kernel
        w = self.rng.normal(0.0, math.sqrt(2.0 / fan_in), (cout, cin // group, kernel, kernel)).astype(np.float32)
        inputs = [x, self.const(w, "conv_w")]
        if bias:
            inputs.append(self.const(self.rng.normal(0.0, 0.1, cout).astype(np.float32), "conv_b"))
        return self.node("Conv", inputs, kernel_shape=[kernel, kernel], strides=[stride, stride],
                         pads=[pad] * 4, group=group, dilations=[dilation, dilation])

    def batch_norm(self, x: str, channels: int) -> str:
        rng = self.rng
        params = [rng.uniform(0.5, 1.5, channels), rng.normal(0.0, 0.1, channels),
                  rng.normal(0.0, 0.1, channels), rng.uniform(0.5, 1.5, channels)]
        kinds = ["scale", "bias", "mean", "var"]
        names = [self.const(p.astype(np.float32), f"bn_{kind}") for p, kind in zip(params, kinds, strict=True)]
        return self.node("BatchNormalization", [x, *names], epsilon=1e-5)

    def relu(self, x: str) -> str:
        return self.node("Relu", [x])

    def relu6(self, x: str) -> str:
        """ReLU6 as torch exports it: Clip(x, 0, 6) with min / max as scalar initializers."""
        return self.node("Clip", [x, self.const(np.float32(0.0), "clip_min"), self.const(np.float32(6.0), "clip_max")])

    def silu(self, x: str) -> str:
        """SiLU as x * Sigmoid(x)."""
        return self.node("Mul", [x, self.node("Sigmoid", [x])])

    def conv_bn(self, x: str, cin: int, cout: int, kernel: int, stride: int = 1, group: int = 1,
                act: str | None = "relu", pad: int | None = None) -> str:
        y = self.batch_norm(self.conv(x, cin, cout, kernel, stride, pad=pad, group=group), cout)
        return {None: lambda v: v, "relu": self.relu, "relu6": self.relu6, "silu": self.silu}[act](y)

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b])

    def concat(self, xs: list[str], axis: int = 1) -> str:
        return self.node("Concat", xs, axis=axis)

    def split(self, x: str, sizes: list[int], axis: int = 1) -> list[str]:
        return self.node("Split", [x, self.const(np.array(sizes, np.int64), "split")], outputs=len(sizes), axis=axis)

    def reshape(self, x: str, shape: list[int]) -> str:
        return self.node("Reshape", [x, self.const(np.array(shape, np.int64), "shape")])

    def max_pool(self, x: str, kernel: int, stride: int, pad: int = 0, ceil_mode: int = 0) -> str:
        return self.node("MaxPool", [x], kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4,
                         ceil_mode=ceil_mode)

    def upsample(self, x: str, factor: int = 2) -> str:
        """nn.Upsample(scale_factor, mode='nearest') as torch exports it (opset >= 13)."""
        scales = self.const(np.array([1, 1, factor, factor], np.float32), "scales")
        return self.node("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor")

    def classifier(self, x: str, channels: int, num_classes: int) -> str:
        """GlobalAveragePool -> Flatten -> Gemm (torchvision's avgpool + flatten + fc)."""
        y = self.node("Flatten", [self.node("GlobalAveragePool", [x])], axis=1)
        w = self.rng.normal(0.0, math.sqrt(1.0 / channels), (num_classes, channels)).astype(np.float32)
        b = self.rng.normal(0.0, 0.01, num_classes).astype(np.float32)
        return self.node("Gemm", [y, self.const(w, "fc_w"), self.const(b, "fc_b")], alpha=1.0, beta=1.0, transB=1)

    # --- the model ----------------------------------------------------------------------------
    def model(self, x: str, output: str, input_size: tuple[int, int], output_shape: list) -> onnx.ModelProto:
        graph_input = helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 3, *input_size])
        for node in self.nodes:  # the final value is named "output"
            node.output[:] = ["output" if name == output else name for name in node.output]
            node.input[:] = ["output" if name == output else name for name in node.input]
        graph_output = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", *output_shape])
        graph = helper.make_graph(self.nodes, self.name, [graph_input], [graph_output], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="edgequant.zoo.architectures")
        model.ir_version = 8
        return model
