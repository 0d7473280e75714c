"""The shipped digits models load, run in onnxruntime and keep their documented accuracy."""

import re

import numpy as np
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pytest

from edgequant import zoo

# The documented accuracies are measured on these same 540 images; allow for runtime
# differences (another onnxruntime version or CPU) flipping a couple of borderline images.
TOLERANCE = 0.005


@pytest.fixture(scope="module")
def test_set():
    return zoo.load_test_set()


def run(name, x):
    session = ort.InferenceSession(str(zoo.model_path(name)), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


def test_list_models_names_the_shipped_files():
    assert zoo.list_models() == ["digits_cnn", "digits_cnn_small", "digits_mlp"]
    assert zoo.DEFAULT_MODEL in zoo.list_models()
    assert zoo.model_path() == zoo.model_path(zoo.DEFAULT_MODEL)


def test_test_set_shape_dtype_and_labels(test_set):
    x, y = test_set
    assert x.shape == (540, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (540,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    # digits pixels are 0..16 scaled by 1/16
    np.testing.assert_array_equal(x * 16, np.round(x * 16))
    counts = np.bincount(y, minlength=10)
    assert len(counts) == 10 and counts.min() >= 50  # stratified: every digit present


@pytest.mark.parametrize("name", ["digits_cnn", "digits_cnn_small", "digits_mlp"])
def test_model_interface(name):
    model = onnx.load(str(zoo.model_path(name)))
    onnx.checker.check_model(model)
    assert any(op.domain in ("", "ai.onnx") and op.version == 17 for op in model.opset_import)
    (graph_input,) = model.graph.input
    (graph_output,) = model.graph.output
    assert graph_input.name == "input" and graph_output.name == "logits"
    input_dims = graph_input.type.tensor_type.shape.dim
    assert input_dims[0].dim_param  # dynamic batch axis
    assert [d.dim_value for d in input_dims[1:]] == [1, 8, 8]
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    ops = {node.op_type for node in model.graph.node}
    assert sorted(ops) == zoo.model_info(name)["onnx_ops"]


@pytest.mark.parametrize("batch", [1, 7])
def test_dynamic_batch(batch, test_set):
    x, _ = test_set
    logits = run(zoo.DEFAULT_MODEL, x[:batch])
    assert logits.shape == (batch, 10) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, run(zoo.DEFAULT_MODEL, x)[:batch], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["digits_cnn", "digits_cnn_small", "digits_mlp"])
def test_accuracy_matches_the_documentation(name, test_set):
    x, y = test_set
    accuracy = float((run(name, x).argmax(axis=1) == y).mean())
    info = zoo.model_info(name)
    assert info["test_images"] == len(y)
    assert accuracy >= info["test_accuracy"] - TOLERANCE
    # the module docstring states the same number
    row = re.search(rf"^{name}\s+([\d ]+?)\s+([\d.]+) %", zoo.__doc__, re.MULTILINE)
    assert row is not None
    assert int(row.group(1).replace(" ", "")) == info["params"]
    assert float(row.group(2)) == pytest.approx(100 * info["test_accuracy"], abs=0.005)


def test_main_model_reaches_97_percent(test_set):
    x, y = test_set
    assert (run(zoo.DEFAULT_MODEL, x).argmax(axis=1) == y).mean() >= 0.97


@pytest.mark.parametrize("function", [zoo.model_path, zoo.model_info])
def test_unknown_model_lists_the_available_names(function):
    with pytest.raises(ValueError, match="digits_cnn, digits_cnn_small, digits_mlp") as error:
        function("resnet50")
    assert "name='resnet50'" in str(error.value)
    with pytest.raises(TypeError, match="name"):
        function(3)


def test_unknown_test_set():
    with pytest.raises(ValueError, match="available: digits"):
        zoo.load_test_set("mnist")
