"""Small synthetic ONNX models for the edgequant.onnx tests, built with onnx.helper."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 21


def conv_model(weight=None, bias=None, name="conv") -> onnx.ModelProto:
    """x[1,2,4,4] → Conv(w[3,2,1,1], b[3]) → Relu; float32 initializers."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((3, 2, 1, 1)).astype(np.float32) if weight is None else weight
    bias = rng.standard_normal(3).astype(np.float32) if bias is None else bias
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv0"),
        helper.make_node("Relu", ["y"], ["z"], name="relu0"),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def qdq_model(q, scale, zero_point=None, axis=None, bias_q=None, bias_scale=None):
    """x → Conv(DequantizeLinear(q, scale, zero_point), DequantizeLinear(bias_q)) QDQ model."""
    initializers = [numpy_helper.from_array(q, "w_q"), numpy_helper.from_array(scale, "w_scale")]
    dq_inputs = ["w_q", "w_scale"]
    if zero_point is not None:
        initializers.append(numpy_helper.from_array(zero_point, "w_zero_point"))
        dq_inputs.append("w_zero_point")
    attributes = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("DequantizeLinear", dq_inputs, ["w"], name="dq_w", **attributes)]
    conv_inputs = ["x", "w"]
    if bias_q is not None:
        initializers += [
            numpy_helper.from_array(bias_q, "b_q"),
            numpy_helper.from_array(bias_scale, "b_scale"),
        ]
        nodes.append(helper.make_node("DequantizeLinear", ["b_q", "b_scale"], ["b"], axis=0))
        conv_inputs.append("b")
    nodes.append(helper.make_node("Conv", conv_inputs, ["y"], name="conv0"))
    channels = q.shape[1]
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def reshape_only_model() -> onnx.ModelProto:
    """x → Reshape(x, shape) with an int64 shape initializer: no float weights at all."""
    shape = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "reshape_only",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[shape],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
