"""The real third-party models in the shared data folder (``models/``)."""

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from edgequant.onnx import composition, layer_stats, weights

FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}

EXPECTED_ROLES = {
    "mnist-8.onnx": {"conv_weight", "gemm_weight", "bias"},  # biases are Add nodes (CNTK)
    "cnn_mnist_pytorch.onnx": {"conv_weight", "gemm_weight", "bias"},
    "cifar10_tutorial_cnn.onnx": {"conv_weight", "gemm_weight", "bias"},
    "squeezenet1.0_fp16.onnx": {"conv_weight", "bias"},
    "ultraface-rfb-320.onnx": {"conv_weight", "bias", "batchnorm"},
    "yolo-fastestv2.onnx": {"conv_weight", "bias", "other"},  # other: Resize scales
}


@pytest.fixture(scope="module", params=sorted(EXPECTED_ROLES))
def model_path(request, shared_data):
    path = shared_data / "models" / request.param
    assert path.is_file(), f"{path} is missing from the shared data folder"
    return path


def float_initializers(path):
    model = onnx.load_model(path)
    return [t for t in model.graph.initializer if t.data_type in FLOAT_TYPES]


def test_roles(model_path):
    assert {w.role for w in weights(model_path)} == EXPECTED_ROLES[model_path.name]


def test_weight_count_is_the_float_initializer_size(model_path):
    tensors = weights(model_path)
    expected = float_initializers(model_path)
    assert [w.name for w in tensors] == [t.name for t in expected]
    assert sum(w.size for w in tensors) == sum(math.prod(t.dims) for t in expected)
    assert all(w.values.dtype == np.float32 and w.values.shape == w.shape for w in tensors)


def test_values_equal_the_stored_values_upcast(model_path):
    stored = {t.name: numpy_helper.to_array(t) for t in float_initializers(model_path)}
    for tensor in weights(model_path):
        assert tensor.dtype == stored[tensor.name].dtype.name
        np.testing.assert_array_equal(tensor.values, stored[tensor.name].astype(np.float32))


def test_squeezenet_keeps_fp16_storage(shared_data):
    tensors = weights(shared_data / "models" / "squeezenet1.0_fp16.onnx")
    assert {w.dtype for w in tensors} == {"float16"}
    assert sum(w.size for w in tensors) == 1_235_496  # 1.24 M parameters
    assert sum(w.storage_bytes for w in tensors) == 2 * 1_235_496


def test_composition_adds_up(model_path):
    parts = composition(model_path)
    tensors = weights(model_path)
    assert parts["file_bytes"] == parts["model_file_bytes"] == model_path.stat().st_size
    assert parts["weight_bytes"] + parts["bias_bytes"] + parts["other_bytes"] == parts["file_bytes"]
    assert parts["parameters"] == sum(w.size for w in tensors)
    assert parts["bias_parameters"] == sum(w.size for w in tensors if w.role == "bias") > 0
    assert sum(e["bytes"] for e in parts["by_role"].values()) == parts["weight_and_bias_bytes"]
    # Weights dominate these files (Table 3.1 reports 99 %+ for large zoo models).
    assert 85 < parts["weight_and_bias_percent"] < 100


def test_layer_stats_are_finite(model_path):
    table = layer_stats(model_path)
    assert len(table) == len(weights(model_path))
    for row in table:
        assert row["non_finite"] == 0 and row["min"] <= row["mean"] <= row["max"]
        assert 0.0 <= row["sparsity"] <= 1.0
