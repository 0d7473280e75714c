"""weights(): real float32 values whatever the storage (fp16, bf16, int8 + DequantizeLinear)."""

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_model_builders import conv_model, qdq_model, reshape_only_model

from edgequant.onnx import weights


def by_name(model):
    return {w.name: w for w in weights(model)}


def test_float32_values_dtype_and_shape():
    weight = np.arange(6, dtype=np.float32).reshape(3, 2, 1, 1)
    found = by_name(conv_model(weight=weight))
    assert found["w"].role == "conv_weight" and found["w"].shape == (3, 2, 1, 1)
    assert found["w"].dtype == "float32" and found["w"].values.dtype == np.float32
    np.testing.assert_array_equal(found["w"].values, weight)
    assert found["b"].role == "bias" and found["w"].storage_bytes == 6 * 4


def test_float16_values_are_the_exact_upcast():
    weight = np.array([1e-4, -65504, 0.1, 3.0, -0.0, 7.5], dtype=np.float16).reshape(3, 2, 1, 1)
    model = conv_model(weight=weight, bias=np.zeros(3, np.float16))
    found = by_name(model)["w"]
    assert found.dtype == "float16" and found.storage_bytes == 12
    np.testing.assert_array_equal(found.values, weight.astype(np.float32))


def test_bfloat16_initializer():
    real = np.array([1.5, -2.25, 3.0, 1e-3, -7e10, 0.0], dtype=np.float32)
    as_bf16 = real.astype(ml_dtypes.bfloat16)
    tensor = helper.make_tensor("w", TensorProto.BFLOAT16, [3, 2, 1, 1], real.tolist())
    model = conv_model()
    model.graph.initializer[0].CopyFrom(tensor)
    found = by_name(model)["w"]
    assert found.dtype == "bfloat16" and found.storage_bytes == 12
    np.testing.assert_array_equal(found.values.reshape(-1), as_bf16.astype(np.float32))


def test_qdq_per_tensor_int8():
    rng = np.random.default_rng(1)
    q = rng.integers(-128, 128, (3, 2, 1, 1), dtype=np.int8)
    scale, zero_point = np.float32(0.05), np.int8(3)
    found = by_name(qdq_model(q, np.array(scale), np.array(zero_point)))
    assert set(found) == {"w_q"}  # scale and zero point describe the weight; they are not weights
    weight = found["w_q"]
    assert weight.role == "conv_weight" and weight.dtype == "int8" and weight.storage_bytes == 6
    np.testing.assert_array_equal(weight.values, (q.astype(np.float32) - 3) * scale)


def test_qdq_per_axis_uint8_and_int32_bias():
    rng = np.random.default_rng(2)
    q = rng.integers(0, 256, (4, 3, 1, 1), dtype=np.uint8)
    scale = np.array([0.1, 0.2, 0.5, 1.0], np.float32)
    zero_point = np.array([128, 0, 255, 7], np.uint8)
    bias_q = np.array([-1000, 0, 5, 70000], np.int32)
    bias_scale = np.array([0.001, 0.002, 0.003, 0.004], np.float32)
    found = by_name(qdq_model(q, scale, zero_point, axis=0, bias_q=bias_q, bias_scale=bias_scale))
    expected = (q.astype(np.float32) - zero_point.reshape(4, 1, 1, 1)) * scale.reshape(4, 1, 1, 1)
    np.testing.assert_array_equal(found["w_q"].values, expected)
    assert found["b_q"].role == "bias" and found["b_q"].dtype == "int32"
    np.testing.assert_array_equal(found["b_q"].values, bias_q.astype(np.float32) * bias_scale)


def test_qdq_per_axis_shape_mismatch_is_a_value_error():
    q = np.zeros((4, 3, 1, 1), np.int8)
    with pytest.raises(ValueError, match="per-axis"):
        weights(qdq_model(q, np.ones(3, np.float32), axis=0))


def test_qdq_matches_onnxruntime():
    import onnxruntime as ort
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 128, (4, 3, 1, 1), dtype=np.int8)
    scale = rng.uniform(0.01, 0.1, 4).astype(np.float32)
    model = qdq_model(q, scale, np.zeros(4, np.int8), axis=0)
    model.graph.output[0].name = "w"  # expose the DequantizeLinear output
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (runtime,) = session.run(["w"], {"x": np.zeros((1, 3, 4, 4), np.float32)})
    np.testing.assert_array_equal(by_name(model)["w_q"].values, runtime)


def test_model_without_float_weights_is_a_value_error():
    with pytest.raises(ValueError, match="no float weights"):
        weights(reshape_only_model())


def test_sparse_initializer_is_densified():
    model = conv_model()
    values = numpy_helper.from_array(np.array([2.0, -1.0], np.float32), "w")
    indices = numpy_helper.from_array(np.array([1, 4], np.int64), "w_indices")
    sparse = helper.make_sparse_tensor(values, indices, [3, 2, 1, 1])
    del model.graph.initializer[0]
    model.graph.sparse_initializer.append(sparse)
    found = by_name(model)["w"]
    assert found.origin == "sparse_initializer" and found.role == "conv_weight"
    np.testing.assert_array_equal(found.values.reshape(-1), [0, 2, 0, 0, -1, 0])
