"""FP32 execution against ONNX Runtime, and the oneDNN backend against the reference backend."""

import numpy as np
import pytest
from ort_reference import float32_model, max_relative_error, run_ort

from edgequant import Engine, zoo
from edgequant.engine import supported_backends

SHARED_MODELS = {  # file -> input shape
    "mnist-8.onnx": (1, 1, 28, 28),
    "cnn_mnist_pytorch.onnx": (1, 1, 28, 28),
    "cifar10_tutorial_cnn.onnx": (2, 3, 32, 32),
    "squeezenet1.0_fp16.onnx": (1, 3, 224, 224),
    "ultraface-rfb-320.onnx": (1, 3, 240, 320),
    "yolo-fastestv2.onnx": (1, 3, 352, 352),
}


@pytest.mark.parametrize("name", zoo.list_models())
def test_digits_models_match_onnxruntime(name):
    x, _ = zoo.load_test_set()
    path = zoo.model_path(name)
    (ref,) = run_ort(path, {"input": x})
    (out,) = Engine(path).run(x)
    assert out.shape == ref.shape
    assert max_relative_error(out, ref) < 1e-4


@pytest.mark.parametrize("name", sorted(SHARED_MODELS))
def test_shared_models_match_onnxruntime(shared_data, name):
    path = shared_data / "models" / name
    model = float32_model(path)  # squeezenet is float16: both run the float32 upcast
    engine = Engine(model)
    x = np.random.default_rng(0).random(SHARED_MODELS[name], dtype=np.float32)
    refs = run_ort(model, {engine.input_names[0]: x})
    outs = engine.run(x)
    for out, ref in zip(outs, refs, strict=True):
        assert out.shape == ref.shape
        assert max_relative_error(out, ref) < 1e-4, name


def test_float16_input_is_upcast(shared_data):
    path = shared_data / "models" / "squeezenet1.0_fp16.onnx"
    x = np.random.default_rng(1).random((1, 3, 224, 224)).astype(np.float16)
    (ref,) = run_ort(float32_model(path), {"data_0": x.astype(np.float32)})
    (out,) = Engine(path).run(x)
    assert max_relative_error(out, ref) < 1e-4


@pytest.mark.parametrize("backend", [b for b in supported_backends() if b != "reference"])
@pytest.mark.parametrize("name", zoo.list_models())
def test_backend_matches_reference_backend(name, backend):
    x, _ = zoo.load_test_set()
    path = zoo.model_path(name)
    (fast,) = Engine(path, backend=backend).run(x[:64])
    (reference,) = Engine(path, backend="reference").run(x[:64])
    assert max_relative_error(fast, reference) < 1e-5


def test_reference_backend_on_a_real_cnn(shared_data):
    path = shared_data / "models" / "cifar10_tutorial_cnn.onnx"
    x = np.random.default_rng(2).random((1, 3, 32, 32), dtype=np.float32)
    (fast,) = Engine(path).run(x)
    (reference,) = Engine(path, backend="reference").run(x)
    assert max_relative_error(fast, reference) < 1e-5


def test_threads_do_not_change_results():
    x, _ = zoo.load_test_set()
    path = zoo.model_path()
    (one,) = Engine(path, threads=1).run(x)
    (two,) = Engine(path, threads=2).run(x)
    assert max_relative_error(one, two) < 1e-5


def test_dynamic_batch_rebuilds_kernels():
    x, _ = zoo.load_test_set()
    engine = Engine(zoo.model_path())
    (full,) = engine.run(x[:10])
    (one,) = engine.run(x[3:4])
    np.testing.assert_allclose(one[0], full[3], rtol=1e-5, atol=1e-5)
