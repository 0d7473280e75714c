"""Calibration images of any bit depth arrive on the 0–255 range that --scale / --mean / --std apply
to: a 16-bit greyscale PNG is scaled by 1/257, not clipped to white (issue 22)."""

import struct
import zlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from edgequant.datasets import ImagePreprocessing, load_calibration_data

_RAW = ImagePreprocessing(scale=1.0)  # the 0–255 pixel values themselves


def _image_model(channels: int, height: int, width: int) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, height, width])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, height, width])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _grey16(folder, values: np.ndarray):
    folder.mkdir()
    image = Image.fromarray(values.astype(np.uint16))
    assert image.mode == "I;16"
    image.save(folder / "grey16.png")
    with Image.open(folder / "grey16.png") as written:  # Pillow wrote and reads back a 16-bit PNG
        assert written.mode.startswith("I")
    return folder


def _rgb48_png(path, values: np.ndarray) -> None:
    """A 16-bit-per-channel RGB PNG, written by hand: Pillow 13 cannot write one (it reads it as 8-bit)."""
    height, width = values.shape[:2]
    rows = b"".join(b"\0" + values[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [1, 3])
def test_a_dark_16_bit_grey_image_stays_dark(tmp_path, channels):
    folder = _grey16(tmp_path / "imgs", np.full((6, 8), 1000))  # 1.5 % grey
    x = load_calibration_data(folder, model=_image_model(channels, 6, 8), preprocessing=_RAW)
    assert x.shape == (1, channels, 6, 8)
    np.testing.assert_allclose(x, 1000 / 257, rtol=1e-6)  # was 255: clipped to white


def test_16_bit_grey_spans_the_8_bit_range_and_the_preprocessing_applies(tmp_path):
    values = np.linspace(0, 65535, 6 * 8).round().reshape(6, 8)
    folder = _grey16(tmp_path / "imgs", values)
    x = load_calibration_data(folder, model=_image_model(1, 6, 8), preprocessing=_RAW)
    np.testing.assert_allclose(x[0, 0], values / 257, rtol=1e-6, atol=1e-4)
    assert x.max() == pytest.approx(255.0) and x.min() == 0.0
    steps = ImagePreprocessing(scale=1 / 255, mean=0.5, std=0.5)
    normalized = load_calibration_data(folder, model=_image_model(1, 6, 8), preprocessing=steps)
    np.testing.assert_allclose(normalized, (x / 255 - 0.5) / 0.5, rtol=1e-5, atol=1e-5)


def test_16_bit_grey_is_resized_like_its_8_bit_version(tmp_path):
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (12, 16))
    folder16 = _grey16(tmp_path / "imgs16", eight * 257)
    folder8 = tmp_path / "imgs8"
    folder8.mkdir()
    Image.fromarray(eight.astype(np.uint8)).save(folder8 / "grey8.png")
    model = _image_model(3, 5, 7)
    x16 = load_calibration_data(folder16, model=model, preprocessing=_RAW)
    x8 = load_calibration_data(folder8, model=model, preprocessing=_RAW)
    np.testing.assert_allclose(x16, x8, atol=1.0)  # 8-bit resizing is fixed-point and rounds; 16-bit is float


def test_a_16_bit_rgb_png_arrives_on_the_8_bit_range(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    values = np.empty((4, 5, 3), np.uint16)
    values[...] = [1000, 30000, 65535]
    _rgb48_png(folder / "rgb48.png", values)
    x = load_calibration_data(folder, model=_image_model(3, 4, 5), preprocessing=_RAW)
    np.testing.assert_allclose(x[0].transpose(1, 2, 0), values / 257, atol=1.0)  # Pillow keeps the high byte


def test_8_bit_images_load_as_before(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    pixels = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "rgb.png")
    Image.fromarray(pixels[:, :, 0]).save(folder / "zgrey.png")
    for channels, mode in ((3, "RGB"), (1, "L")):
        x = load_calibration_data(folder, model=_image_model(channels, 5, 6), preprocessing=_RAW)
        for index, name in enumerate(("rgb.png", "zgrey.png")):
            with Image.open(folder / name) as image:
                expected = np.asarray(image.convert(mode).resize((6, 5), Image.BILINEAR), np.float32)
            np.testing.assert_array_equal(x[index], expected.reshape(5, 6, channels).transpose(2, 0, 1))
