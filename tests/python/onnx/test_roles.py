"""Roles follow how a tensor is consumed, through dequantize/cast/transpose/reshape."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgequant.onnx import weights


def build(nodes, initializers, inputs=(("x", [1, 4]),)):
    graph = helper.make_graph(
        nodes,
        "roles",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, n) for n, a in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def roles(model):
    return {w.name: (w.role, w.op_type) for w in weights(model)}


def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def test_matmul_weight_through_cast_and_transpose_and_add_bias():
    model = build(
        [
            helper.make_node("Cast", ["w16"], ["w32"], to=TensorProto.FLOAT),
            helper.make_node("Transpose", ["w32"], ["wt"], perm=[1, 0]),
            helper.make_node("MatMul", ["x", "wt"], ["y"]),
            helper.make_node("Add", ["y", "b"], ["z"]),
        ],
        {"w16": np.ones((3, 4), np.float16), "b": f32(3)},
    )
    assert roles(model) == {"w16": ("gemm_weight", "MatMul"), "b": ("bias", "Add")}


def test_gemm_batchnorm_and_reshape_shape():
    model = build(
        [
            helper.make_node("Reshape", ["x", "shape"], ["x2"]),
            helper.make_node("Gemm", ["x2", "w", "c"], ["y"], transB=1),
            helper.make_node("Reshape", ["y", "shape4"], ["y4"]),
            helper.make_node("BatchNormalization", ["y4", "s", "bb", "m", "v"], ["z"]),
        ],
        {
            "shape": np.array([1, 4], np.int64), "w": f32(3, 4), "c": f32(3),
            "shape4": np.array([1, 3, 1, 1], np.int64),
            "s": f32(3), "bb": f32(3), "m": f32(3), "v": f32(3),
        },
    )  # fmt: skip
    found = roles(model)
    assert "shape" not in found and "shape4" not in found  # integer shapes are not weights
    assert found["w"] == ("gemm_weight", "Gemm") and found["c"] == ("bias", "Gemm")
    assert {found[n][0] for n in ("s", "bb", "m", "v")} == {"batchnorm"}


def test_add_not_after_a_linear_op_is_other():
    model = build(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "offset"], ["z"])],
        {"offset": f32(4)},
    )
    assert roles(model) == {"offset": ("other", "Add")}


def test_constant_nodes_count_only_when_they_are_weights():
    weight = numpy_helper.from_array(f32(2, 1, 1, 1), "cw")
    divisor = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    model = build(
        [
            helper.make_node("Constant", [], ["cw"], value=weight),
            helper.make_node("Constant", [], ["two"], value=divisor),
            helper.make_node("Conv", ["x", "cw"], ["y"]),
            helper.make_node("Div", ["y", "two"], ["z"]),
        ],
        {},
        inputs=(("x", [1, 1, 2, 2]),),
    )
    tensors = weights(model)
    assert [(w.name, w.role, w.origin) for w in tensors] == [("cw", "conv_weight", "Constant")]


def test_shared_tensor_takes_the_most_specific_role():
    model = build(
        [helper.make_node("Add", ["x", "w"], ["a"]), helper.make_node("MatMul", ["a", "w"], ["z"])],
        {"w": f32(4, 4)},
    )
    assert roles(model) == {"w": ("gemm_weight", "MatMul")}


def test_unused_initializer_is_other_with_no_consumer():
    model = build([helper.make_node("Relu", ["x"], ["z"])], {"unused": f32(2)})
    assert roles(model) == {"unused": ("other", "")}
    assert isinstance(model, onnx.ModelProto)
