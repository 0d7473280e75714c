"""The data set loaders: shapes, dtypes, ranges, the README's verified accuracies, bad files."""

import gzip

import numpy as np
import onnxruntime as ort
import pytest

from edgequant.datasets import (
    CIFAR10_CLASSES,
    MODEL_DATA,
    cifar10_tutorial_input,
    load_cifar10,
    load_detector_images,
    load_imagenet_sample,
    load_mnist,
    model_data,
    squeezenet_input,
)
from edgequant.evaluate import Evaluator


def top1(model_path, x, k=1):
    """Predictions of a model, one batch if its batch axis is free, else one sample at a time."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    if session.get_inputs()[0].shape[0] == 1:
        out = np.concatenate([session.run(None, {name: x[i : i + 1]})[0].reshape(1, -1) for i in range(len(x))])
    else:
        out = session.run(None, {name: x})[0].reshape(len(x), -1)
    return np.argsort(-out, axis=1)[:, :k]


@pytest.fixture(scope="module")
def mnist(shared_data):
    return load_mnist()


def test_mnist_shapes_and_ranges(mnist):
    x, y = mnist
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))
    small_x, small_y = load_mnist(limit=5)
    np.testing.assert_array_equal(small_x, x[:5])
    np.testing.assert_array_equal(small_y, y[:5])


@pytest.mark.parametrize(("model", "accuracy"), [("mnist-8.onnx", 0.9890), ("cnn_mnist_pytorch.onnx", 0.9889)])
def test_mnist_models_reach_the_readme_accuracy(shared_data, mnist, model, accuracy):
    x, y = mnist
    assert np.mean(top1(shared_data / "models" / model, x)[:, 0] == y) == pytest.approx(accuracy, abs=5e-5)


def test_cifar10_order_classes_and_the_readme_accuracy(shared_data):
    x, y = load_cifar10(per_class=100)
    assert x.shape == (1000, 32, 32, 3) and x.dtype == np.uint8
    assert list(np.bincount(y)) == [100] * 10 and list(y[:3]) == [0, 0, 0]  # class-major order
    assert CIFAR10_CLASSES == tuple(sorted(CIFAR10_CLASSES))  # sorted folder names = canonical order
    inputs = cifar10_tutorial_input(x)
    assert inputs.shape == (1000, 3, 32, 32) and inputs.min() >= -1.0 and inputs.max() <= 1.0
    predicted = top1(shared_data / "models" / "cifar10_tutorial_cnn.onnx", inputs)[:, 0]
    assert np.mean(predicted == y) == pytest.approx(0.633, abs=5e-4)  # first 100 per class
    balanced_x, balanced_y = load_cifar10(limit=20)
    assert list(np.bincount(balanced_y)) == [2] * 10
    np.testing.assert_array_equal(balanced_x[:2], x[:2])


def test_squeezenet_reaches_the_readme_top1_and_top5(shared_data):
    images, labels = load_imagenet_sample()
    assert len(images) == 50 and labels.dtype == np.int64 and labels[0] == 0 and labels[1] == 20
    x = squeezenet_input(images)
    assert x.shape == (50, 3, 224, 224) and x.dtype == np.float16 and x.max() <= 255 and x.max() > 200
    best5 = top1(shared_data / "models" / "squeezenet1.0_fp16.onnx", x, k=5)
    assert np.sum(best5[:, 0] == labels) == 25
    assert np.sum((best5 == labels[:, None]).any(axis=1)) == 37


def test_squeezenet_input_is_bgr():
    red = np.zeros((10, 10, 3), dtype=np.uint8)
    red[..., 0] = 255
    x = squeezenet_input([red])
    assert x[0, 2].min() == 255 and x[0, 0].max() == 0


def test_detector_images_and_model_data(shared_data):
    faces = load_detector_images(shared_data / "models" / "ultraface_imgs", "ultraface")
    assert faces.shape == (4, 3, 240, 320) and faces.dtype == np.float32
    assert -1.0 <= faces.min() and faces.max() <= 1.0
    cars = load_detector_images(shared_data / "coco128" / "images", "yolofastestv2", limit=3)
    assert cars.shape == (3, 3, 352, 352) and 0.0 <= cars.min() and cars.max() <= 1.0
    for name in MODEL_DATA:
        x, y = model_data(name, limit=8)
        assert len(x) <= 8 and (y is None or len(y) == len(x))
        assert (y is None) == (name in ("ultraface-rfb-320.onnx", "yolo-fastestv2.onnx"))


def test_per_anchor_fidelity_on_a_detector(shared_data):
    x, _ = model_data("ultraface-rfb-320.onnx", limit=2)
    evaluator = Evaluator(shared_data / "models" / "ultraface-rfb-320.onnx", x, per_anchor=True, threads=1)
    scores = evaluator.reference_outputs
    assert scores.shape == (2, 4420 * 2)
    noisy = scores + np.random.default_rng(0).normal(0, 0.05, scores.shape).astype(np.float32)
    metrics = evaluator.score(noisy)
    rows_ref, rows_noisy = scores.reshape(-1, 2), noisy.reshape(-1, 2)
    expected = np.mean(rows_ref.argmax(1) == rows_noisy.argmax(1))
    assert metrics["top1_agreement"] == pytest.approx(expected) and 0.5 < expected < 1.0
    assert evaluator.score(scores)["top1_agreement"] == 1.0
    with pytest.raises(ValueError, match="per_anchor"):
        Evaluator(shared_data / "models" / "ultraface-rfb-320.onnx", x, labels=[0, 1], per_anchor=True)


# --- bad input ---------------------------------------------------------------------------------
def write_idx(folder, images: bytes, labels: bytes):
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))


def idx_images(n):
    return (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (n, 28, 28)) + bytes(n * 784)


def idx_labels(n):
    return (0x801).to_bytes(4, "big") + n.to_bytes(4, "big") + bytes(n)


def test_mnist_reads_a_small_valid_file(tmp_path):
    write_idx(tmp_path, idx_images(3), idx_labels(3))
    x, y = load_mnist(tmp_path)
    assert x.shape == (3, 1, 28, 28) and list(y) == [0, 0, 0]


def test_mnist_rejects_wrong_magic_truncation_and_bad_gzip(tmp_path):
    write_idx(tmp_path, idx_labels(3), idx_labels(3))  # labels where images should be
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz has magic number"):
        load_mnist(tmp_path)
    write_idx(tmp_path, idx_images(3)[:-10], idx_labels(3))
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz .*truncated"):
        load_mnist(tmp_path)
    write_idx(tmp_path, idx_images(3), idx_labels(2))
    with pytest.raises(ValueError, match="3 images but .* 2 labels"):
        load_mnist(tmp_path)
    full = gzip.compress(idx_images(3))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(full[: len(full) // 2])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is not a readable gzip"):
        load_mnist(tmp_path)


def test_missing_folders_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="validation")
    with pytest.raises(ValueError, match="limit"):
        load_mnist(tmp_path, limit=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "missing.tar.gz")
    (tmp_path / "bad.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(ValueError, match="bad.tar.gz is not a readable tar"):
        load_cifar10(tmp_path / "bad.tar.gz")
    with pytest.raises(FileNotFoundError, match="all_1000_filenames_sorted.txt"):
        load_imagenet_sample(tmp_path)
    with pytest.raises(ValueError, match="no .jpg"):
        load_detector_images(tmp_path)
    with pytest.raises(ValueError, match="detector"):
        load_detector_images(tmp_path, "retinanet")
    with pytest.raises(ValueError, match="not a shared model"):
        model_data("resnet50.onnx")
    with pytest.raises(ValueError, match="images must be"):
        cifar10_tutorial_input(np.zeros((2, 3, 32, 32), dtype=np.uint8))
