"""CIFAR-10 for training from every local layout (never a download), and the digits default."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgequant.training.data import cifar10_data, digits_data  # noqa: E402


def fake_cifar(count, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8), np.arange(count) % 10


def write_python_layout(folder):
    folder.mkdir()
    for name, seed in [*((f"data_batch_{i}", i) for i in range(1, 6)), ("test_batch", 9)]:
        x, y = fake_cifar(20, seed)
        with open(folder / name, "wb") as handle:
            pickle.dump({b"data": x.reshape(20, -1), b"labels": list(y)}, handle)


def write_binary_layout(folder):
    folder.mkdir()
    for name, seed in [*((f"data_batch_{i}", i) for i in range(1, 6)), ("test_batch", 9)]:
        x, y = fake_cifar(20, seed)
        records = np.concatenate([y[:, None].astype(np.uint8), x.reshape(20, -1)], axis=1)
        records.tofile(folder / f"{name}.bin")


@pytest.mark.parametrize("layout", ["cifar-10-batches-py", "cifar-10-batches-bin"])
def test_torchvision_layouts_read_the_same_images(tmp_path, layout):
    (write_python_layout if layout.endswith("py") else write_binary_layout)(tmp_path / layout)
    data = cifar10_data(tmp_path, validation=0.2)  # the parent folder is found too
    assert data.x_train.shape == (80, 3, 32, 32) and data.x_val.shape == (20, 3, 32, 32)
    assert data.x_test.shape == (20, 3, 32, 32) and data.x_test.dtype == np.float32
    x, y = fake_cifar(20, 9)
    np.testing.assert_array_equal(data.y_test, y)
    mean = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)[:, None, None]
    std = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(data.x_test, (x / np.float32(255) - mean) / std, rtol=1e-5, atol=1e-5)
    limited = cifar10_data(tmp_path / layout, train_images=50, test_images=10, validation=0.2)
    assert len(limited.y_train) + len(limited.y_val) == 50 and np.bincount(limited.y_test).tolist() == [1] * 10


def test_jpeg_folder_layout(tmp_path):
    from PIL import Image

    from edgequant.datasets.cifar10 import CIFAR10_CLASSES

    for split in ("train", "test"):
        for label, name in enumerate(CIFAR10_CLASSES):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(2):
                pixels = np.full((32, 32, 3), 10 * label + i, np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / name / f"{i}.jpg")
    data = cifar10_data(tmp_path, validation=0.5)
    assert len(data.y_train) == 10 and len(data.y_test) == 20
    assert sorted(data.y_test.tolist()) == sorted(list(range(10)) * 2)


def test_bad_locations_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cifar10_data(tmp_path / "missing")
    with pytest.raises(ValueError, match="cifar-10-batches"):
        cifar10_data(tmp_path)
    with pytest.raises(ValueError, match="validation"):
        cifar10_data(tmp_path, validation=1.5)
    (tmp_path / "cifar-10-batches-bin").mkdir()
    (tmp_path / "cifar-10-batches-bin" / "data_batch_1.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="3,073-byte records"):
        cifar10_data(tmp_path)


def test_shared_archive(shared_data):
    data = cifar10_data(shared_data / "cifar10" / "cifar10-jpg.tar.gz", train_images=200, test_images=100)
    assert len(data.y_train) == 180 and len(data.y_val) == 20 and len(data.y_test) == 100
    assert abs(float(data.x_train.mean())) < 0.5  # normalised


def test_digits_splits():
    data = digits_data()
    assert data.x_train.shape[1:] == (1, 8, 8)
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 1797
    assert data.digest() == digits_data().digest()
