"""A constructed two-layer network whose critical classes never use some components.

Inputs are 4 non-negative features; classes 0 and 1 (the critical ones) light up features 0
and 1, class 2 features 2 and 3. Hidden units 0 and 1 fire only for class 2 (their
pre-activation is strongly negative for classes 0 and 1 — still after 2-bit quantization), and
only class 2's output row reads them; hidden units 2 and 3 serve classes 0 and 1. So on the
critical samples, quantizing hidden unit 0 or 1 (rows of W1) or class 2's row of W2 changes
nothing: their semantic significance is exactly 0, while their generic sensitivity is not.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

W1 = np.array([[-5.0, -5.0, 3.0, 0.7],     # hidden 0: class 2 only
               [-4.0, -6.0, 0.4, 2.0],     # hidden 1: class 2 only
               [1.0, 0.3, 0.0, 0.1],       # hidden 2: class 0
               [0.2, 1.1, 0.05, 0.0]],     # hidden 3: class 1
              dtype=np.float32)
W2 = np.array([[0.0, 0.0, 2.0, -1.3],      # class 0 reads hidden 2, 3
               [0.0, 0.0, -0.9, 2.2],      # class 1 reads hidden 2, 3
               [1.7, 0.6, 0.0, 0.0]],      # class 2 reads hidden 0, 1 only
              dtype=np.float32)


def constructed_model() -> onnx.ModelProto:
    nodes = [helper.make_node("Gemm", ["x", "W1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["a"]),
             helper.make_node("Gemm", ["a", "W2"], ["logits"], transB=1)]
    graph = helper.make_graph(nodes, "constructed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
                              [numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(W2, "W2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def constructed_data(per_class: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]], np.float32)
    y = np.repeat(np.arange(3), per_class)
    x = np.abs(centres[y] + rng.normal(0, 0.25, (len(y), 4))).astype(np.float32)
    return x, y


def numpy_forward(x, w1, w2):
    return np.maximum(x @ w1.T, 0) @ w2.T

