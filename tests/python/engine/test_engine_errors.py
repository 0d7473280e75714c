"""Bad models and bad inputs raise exceptions that say what is wrong; nothing crashes."""

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from edgequant import Engine, zoo

DIGITS_BYTES = zoo.model_path("digits_cnn_small").read_bytes()


def _model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def test_unsupported_op_names_op_and_node():
    model = _model([helper.make_node("Mish", ["x"], ["y"], name="my_mish")],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    with pytest.raises(ValueError, match=r"unsupported op 'Mish' \(node 'my_mish'\)"):
        Engine(model)


def test_truncated_model():
    with pytest.raises(ValueError):
        Engine(DIGITS_BYTES[: len(DIGITS_BYTES) // 2])


def test_not_a_model():
    with pytest.raises(ValueError, match="protobuf"):
        Engine(b"\xff\xff\xff\xff not onnx")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        Engine("/nonexistent/model.onnx")


def test_undefined_input_names_node():
    model = _model([helper.make_node("Relu", ["nowhere"], ["y"], name="r")],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match="Relu node 'r'.*nowhere"):
        Engine(model)


def _raw_tensor(name, dims, count):
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    tensor.raw_data = np.ones(count, np.float32).tobytes()
    return tensor


def test_initializer_size_disagrees_with_shape():
    w = _raw_tensor("w", [2, 3], 5)
    model = _model([helper.make_node("Add", ["x", "w"], ["y"])],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [w])
    with pytest.raises(ValueError, match="initializer 'w'"):
        Engine(model)


def test_overflowing_dims():
    w = _raw_tensor("w", [2**40, 2**40], 1)
    model = _model([helper.make_node("Add", ["x", "w"], ["y"])],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [w])
    with pytest.raises(ValueError, match="overflows|too large"):
        Engine(model)


def test_shapes_that_disagree():
    w = onnx.numpy_helper.from_array(np.ones((3, 4), np.float32), "w")
    model = _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, "k"])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w])
    engine = Engine(model)
    with pytest.raises(ValueError, match="MatMul node 'mm'"):
        engine.run(np.ones((2, 5), np.float32))


def test_wrong_input_dtype_rank_and_shape():
    engine = Engine(DIGITS_BYTES)
    with pytest.raises(TypeError, match="float"):
        engine.run(np.ones((1, 1, 8, 8), np.int32))
    with pytest.raises(ValueError, match="rank"):
        engine.run(np.ones((1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="shape"):
        engine.run(np.ones((1, 1, 8, 9), np.float32))
    with pytest.raises(ValueError, match="input"):
        engine.run([np.ones((1, 1, 8, 8), np.float32)] * 2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        Engine(DIGITS_BYTES, mode="int4")
    with pytest.raises(ValueError, match="method"):
        Engine(DIGITS_BYTES, method="magic")
    with pytest.raises(ValueError, match="backend"):
        Engine(DIGITS_BYTES, backend="gpu")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(DIGITS_BYTES) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(1, len(DIGITS_BYTES)))
def test_fuzz_mutated_model_bytes(mutations, cut):
    data = bytearray(DIGITS_BYTES[:cut])
    for position, value in mutations:
        if position < len(data):
            data[position] = value
    try:
        engine = Engine(bytes(data))
        engine.run(np.zeros((2, 1, 8, 8), np.float32))
    except (ValueError, TypeError):
        pass  # a clear error is the expected outcome; a crash would end the test process
