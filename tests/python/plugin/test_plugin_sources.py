"""What eq_model and eq_data resolve names to (edgequant.pytest_plugin.sources), without pytest."""

import numpy as np
import pytest
from PIL import Image

from edgequant import zoo
from edgequant.datasets import DATA_ENV_VAR
from edgequant.pytest_plugin.sources import SharedDataMissing, load_data, resolve_model


@pytest.fixture
def no_shared_data(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "absent"))


# -- models ------------------------------------------------------------------------------------------
def test_embedded_model_and_own_file(tmp_path):
    assert resolve_model("digits_cnn_small", tmp_path) == zoo.model_path("digits_cnn_small")
    own = tmp_path / "mine.onnx"
    own.write_bytes(zoo.model_path().read_bytes())
    assert resolve_model(own, tmp_path) == own.resolve() == resolve_model(str(own), tmp_path)


def test_architecture_is_built_once_with_its_options(tmp_path):
    first = resolve_model("resnet18", tmp_path, input_size=32, width=0.25)
    modified = first.stat().st_mtime_ns
    assert first.parent == tmp_path and first.name == "resnet18-input_size32-width0.25.onnx"
    assert resolve_model("resnet18", tmp_path, input_size=32, width=0.25).stat().st_mtime_ns == modified
    with pytest.raises(TypeError, match="takes options"):
        resolve_model("resnet18", tmp_path, depth=3)


def test_shared_model(shared_data, tmp_path):
    assert resolve_model("mnist-8", tmp_path) == shared_data / "models" / "mnist-8.onnx"
    assert resolve_model("squeezenet1.0_fp16.onnx", tmp_path).is_file()
    with pytest.raises(FileNotFoundError, match="is not an embedded model or architecture"):
        resolve_model("no-such-model", tmp_path)


def test_shared_model_without_shared_folder_is_missing_data_not_an_error(no_shared_data, tmp_path):
    with pytest.raises(SharedDataMissing, match="shared model 'mnist-8': shared data folder absent"):
        resolve_model("mnist-8", tmp_path)


@pytest.mark.parametrize(
    "name, options, error, match",
    [
        ("missing/model.onnx", {}, FileNotFoundError, "does not exist"),
        ("digits_cnn", {"width": 2}, TypeError, "takes no options"),
        (3, {}, TypeError, "model name or a path"),
    ],
)
def test_model_errors(tmp_path, name, options, error, match):
    with pytest.raises(error, match=match):
        resolve_model(name, tmp_path, **options)


# -- data --------------------------------------------------------------------------------------------
def test_digits_with_a_limit():
    x, y = load_data("digits", limit=10)
    assert x.shape == (10, 1, 8, 8) and np.array_equal(y, zoo.load_test_set()[1][:10])


def test_npz_with_and_without_labels(tmp_path):
    np.savez(tmp_path / "xy.npz", x=np.ones((5, 3), np.float32), y=np.arange(5))
    np.savez(tmp_path / "inputs.npz", images=np.zeros((4, 2)))
    x, y = load_data(tmp_path / "xy.npz", limit=3)
    assert x.shape == (3, 3) and list(y) == [0, 1, 2]
    x, y = load_data(str(tmp_path / "inputs.npz"), x_key="images")
    assert x.shape == (4, 2) and y is None
    with pytest.raises(ValueError, match="has no array 'x'.*pass x_key="):
        load_data(tmp_path / "inputs.npz")


def write_image(path, size, colour):
    Image.new("RGB", size, colour).save(path)


def test_image_folder_with_classes_in_subfolders(tmp_path):
    for index, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(2):
            write_image(tmp_path / name / f"{i}.png", (6, 4), (255, 0, 10 * index))
    x, y = load_data(tmp_path)
    assert x.shape == (4, 3, 4, 6) and list(y) == [0, 0, 1, 1]
    assert x[0, :, 0, 0] == pytest.approx([1.0, 0.0, 0.0])  # RGB / 255, NCHW
    bgr, _ = load_data(tmp_path, channels="BGR", layout="NHWC", scale=1.0, mean=128.0, std=2.0, limit=1)
    assert bgr.shape == (1, 4, 6, 3) and bgr[0, 0, 0] == pytest.approx([-64.0, -64.0, 63.5])


def test_flat_image_folder_of_mixed_sizes_needs_a_size(tmp_path):
    write_image(tmp_path / "a.jpg", (8, 8), (0, 0, 0))
    write_image(tmp_path / "b.jpg", (16, 8), (0, 0, 0))
    with pytest.raises(ValueError, match=r"differ in size.*pass size=\(H, W\)"):
        load_data(tmp_path)
    x, y = load_data(tmp_path, size=(5, 7))
    assert x.shape == (2, 3, 5, 7) and y is None


def test_folder_without_images_and_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="holds no images"):
        load_data(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a known data set"):
        load_data("imagenet")
    with pytest.raises(TypeError, match="takes no options"):
        load_data("digits", normalize=True)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a folder of images nor an .npz"):
        load_data(tmp_path / "notes.txt")


def test_shared_data_sets(shared_data):
    x, y = load_data("mnist", limit=20)
    assert x.shape == (20, 1, 28, 28) and x.dtype == np.float32 and y.shape == (20,)
    x, y = load_data("cifar10", limit=20, normalize=True)
    assert x.shape == (20, 3, 32, 32) and x.min() >= -1 and y.shape == (20,)
    raw, _ = load_data("cifar10", limit=20)
    assert raw.dtype == np.uint8 and raw.shape == (20, 32, 32, 3)
    x, y = load_data("imagenet-sample", limit=2)
    assert x.shape == (2, 3, 224, 224) and x.dtype == np.float16
    x, y = load_data("coco128", limit=2)
    assert x.shape == (2, 3, 352, 352) and y is None
    x, y = load_data("coco128", limit=1, detector="ultraface")
    assert x.shape == (1, 3, 240, 320)
    x, y = load_data("mnist-8.onnx", limit=5)
    assert x.shape == (5, 1, 28, 28) and len(y) == 5


@pytest.mark.parametrize("name", ["mnist", "cifar10", "imagenet-sample", "coco128", "mnist-8.onnx"])
def test_shared_data_sets_without_shared_folder(no_shared_data, name):
    with pytest.raises(SharedDataMissing, match=f"{name}: shared data folder absent"):
        load_data(name)
