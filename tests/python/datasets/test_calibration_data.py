"""load_calibration_data: .npy, .npz and folders of images, preprocessed for the model."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgequant.datasets import ImagePreprocessing, load_calibration_data, load_detector_images


def _image_model(shape) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _write_images(folder, count=3, size=(20, 30)):
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_npy_and_npz(tmp_path):
    x = np.random.default_rng(0).random((5, 3, 4, 4), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(load_calibration_data(tmp_path / "x.npy"), x)
    np.testing.assert_array_equal(load_calibration_data(tmp_path / "x.npy", limit=2), x[:2])
    np.savez(tmp_path / "one.npz", images=x)
    np.testing.assert_array_equal(load_calibration_data(tmp_path / "one.npz"), x)
    np.savez(tmp_path / "two.npz", a=x, b=x[:, :1])
    both = load_calibration_data(tmp_path / "two.npz", limit=3)
    assert set(both) == {"a", "b"} and both["b"].shape == (3, 1, 4, 4)


def test_images_follow_the_model_and_the_preprocessing(tmp_path):
    folder = _write_images(tmp_path / "imgs")
    model = _image_model([1, 3, 8, 6])
    steps = ImagePreprocessing(scale=1.0, mean=(10.0, 20.0, 30.0), std=2.0, channel_order="BGR")
    x = load_calibration_data(folder, model=model, preprocessing=steps)
    assert x.shape == (3, 3, 8, 6) and x.dtype == np.float32  # the .txt is skipped
    rgb = load_calibration_data(folder, model=model, preprocessing=ImagePreprocessing(scale=1.0))
    np.testing.assert_allclose(x[:, 0], (rgb[:, 2] - 10.0) / 2.0, rtol=1e-6)  # channel 0 is blue
    np.testing.assert_allclose(x[:, 2], (rgb[:, 0] - 30.0) / 2.0, rtol=1e-6)
    nhwc = load_calibration_data(folder, model=_image_model([None, 8, 6, 3]),
                                 preprocessing=ImagePreprocessing(scale=1.0, layout="NHWC"))
    np.testing.assert_allclose(nhwc, rgb.transpose(0, 2, 3, 1))
    gray = load_calibration_data(folder, model=_image_model([1, 1, 5, 5]))
    assert gray.shape == (3, 1, 5, 5) and 0.0 <= gray.min() and gray.max() <= 1.0
    sized = load_calibration_data(folder, preprocessing=ImagePreprocessing(size=(7, 9)), limit=2)
    assert sized.shape == (2, 3, 7, 9)


def test_images_match_the_detector_preprocessing(shared_data):
    folder = shared_data / "models" / "ultraface_imgs"
    steps = ImagePreprocessing(scale=1.0, mean=127.0, std=128.0)
    x = load_calibration_data(folder, model=shared_data / "models" / "ultraface-rfb-320.onnx", preprocessing=steps)
    np.testing.assert_allclose(x, load_detector_images(folder, "ultraface"), atol=1e-6)


def test_bad_data_is_refused_with_the_cause(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_calibration_data(tmp_path / "missing.npy")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"\.npy / \.npz file or a folder"):
        load_calibration_data(tmp_path / "x.csv")
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="not a readable NumPy file"):
        load_calibration_data(tmp_path / "broken.npy")
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]], np.float32))
    with pytest.raises(ValueError, match="NaN or Inf"):
        load_calibration_data(tmp_path / "nan.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3), np.float32))
    with pytest.raises(ValueError, match="no samples"):
        load_calibration_data(tmp_path / "empty.npy")
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        load_calibration_data(tmp_path / "none", preprocessing=ImagePreprocessing(size=(4, 4)))
    folder = _write_images(tmp_path / "imgs")
    with pytest.raises(ValueError, match="image size is unknown"):
        load_calibration_data(folder)
    with pytest.raises(ValueError, match="4 channels"):
        load_calibration_data(folder, model=_image_model([1, 4, 8, 8]))
    with pytest.raises(ValueError, match="mean has 2 values"):
        load_calibration_data(folder, model=_image_model([1, 3, 8, 8]), preprocessing=ImagePreprocessing(mean=(1, 2)))
    with pytest.raises(ValueError, match="channel_order"):
        ImagePreprocessing(channel_order="GBR")
    with pytest.raises(ValueError, match="std"):
        ImagePreprocessing(std=0.0)
