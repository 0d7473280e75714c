"""to_qdq: int weights + DequantizeLinear that ORT runs, dequantizing to Affine's reconstruction."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import zoo
from edgequant.model import to_qdq
from edgequant.quantizers import Affine


def dequantized_weights(model: onnx.ModelProto, names, x) -> dict:
    """Run ``model`` in ORT with the weight tensors exposed as extra graph outputs."""
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    exposed.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    session = ort.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"])
    values = session.run(list(names), {"input": x})
    return dict(zip(names, values, strict=True))


@pytest.mark.parametrize(("bits", "per_channel", "symmetric"), [(8, True, True), (4, False, True), (6, True, False)])
def test_dequantized_weights_equal_affine_reconstruction(bits, per_channel, symmetric):
    original = onnx.load(zoo.model_path())
    weights = {i.name: numpy_helper.to_array(i) for i in original.graph.initializer}
    qdq = to_qdq(original, bits=bits, per_channel=per_channel, symmetric=symmetric)
    names = ["0.weight", "3.weight", "9.weight"]
    stored = {i.name: i for i in qdq.graph.initializer}
    assert all(stored[f"{n}_quantized"].data_type == TensorProto.INT8 for n in names)
    assert not set(names) & set(stored)  # the float weights are gone
    x, y = zoo.load_test_set()
    got = dequantized_weights(qdq, names, x[:2])
    for name in names:  # Conv [M, C, kH, kW] and Gemm transB=1 [N, K]: output channels on axis 0
        affine = Affine(bits=bits, symmetric=symmetric, axis=0 if per_channel else None)
        np.testing.assert_array_equal(got[name], affine(weights[name]))
    session = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"])
    accuracy = np.mean(session.run(None, {"input": x})[0].argmax(1) == y)
    assert accuracy > 0.95


def test_gemm_without_transpose_uses_axis_1_and_fp16_is_cast_back(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5)).astype(np.float16)  # [K, N]: output channels on axis 1
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["N", 5])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    qdq = to_qdq(model, bits=8, path=tmp_path / "g.onnx")
    dq = next(n for n in qdq.graph.node if n.op_type == "DequantizeLinear")
    assert helper.get_attribute_value(dq.attribute[0]) == 1
    assert [n.op_type for n in qdq.graph.node] == ["DequantizeLinear", "Cast", "Gemm"]
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    x = np.eye(6, dtype=np.float16)
    expected = Affine(bits=8, axis=1)(w.astype(np.float32)).astype(np.float16)
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], expected)


def test_old_opset_is_refused_with_the_fix():
    model = onnx.load(zoo.model_path())
    model.opset_import[0].version = 11
    with pytest.raises(ValueError, match="opset 11.*needs opset 13.*version_converter"):
        to_qdq(model, per_channel=True)
    with pytest.raises(ValueError, match="bits must be in"):
        to_qdq(zoo.model_path(), bits=1)
