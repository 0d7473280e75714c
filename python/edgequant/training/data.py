"""Training data for the prune-then-quantize experiments, from local files only (never a download).

CIFAR-10 comes from the shared ``cifar10-jpg.tar.gz`` (or that archive extracted:
``<folder>/{train,test}/<class>/*.jpg``), or from torchvision's layouts
(``cifar-10-batches-py``: pickled batches; ``cifar-10-batches-bin``: 1 label byte + 3,072 pixel
bytes per record); MNIST from its idx files (the shared data holds the 10,000 test images, split
8,000 / 2,000 for training and testing). The quick default is scikit-learn's bundled 8×8 digits.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets._location import checked_limit, data_location
from ..datasets.cifar10 import CIFAR10_CLASSES, load_cifar10

#: Per-channel mean and std of the CIFAR-10 training images (RGB, 0–1).
_CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
_CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


@dataclass
class TrainingData:
    """Normalised float32 ``[N, C, H, W]`` splits and int64 labels (picklable, for workers).

    ``augment`` turns on random horizontal flips during training (CIFAR-10 only).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    augment: bool = False

    def digest(self) -> str:
        """A short hash of every split: part of a grid's identity in the results store."""
        h = hashlib.sha256(self.name.encode())
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            h.update(str(array.shape).encode())
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> str:
        return (f"{self.name}: {len(self.y_train):,} train / {len(self.y_val):,} validation / "
                f"{len(self.y_test):,} test images")


def digits_data(seed: int = 0) -> TrainingData:
    """scikit-learn's 1,797 digits, 8×8, split 60/20/20 (stratified, seeded), scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]
    y = digits.target.astype(np.int64)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(x_rest, y_rest, test_size=0.5, stratify=y_rest,
                                                    random_state=seed)
    return TrainingData("digits", x_train, y_train, x_val, y_val, x_test, y_test)


def mnist_data(path=None, train_images: int = 8000, validation: float = 0.0, seed: int = 0) -> TrainingData:
    """MNIST from its local idx files, pixels scaled to [0, 1] (no download).

    When the folder holds the 60,000 training images (``train-images-idx3-ubyte[.gz]``) they are
    the training split and the 10,000 test images the test split. The shared data holds only the
    test set: it is then split, stratified and seeded, into ``train_images`` for training and the
    rest for testing (8,000 / 2,000 by default).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder of the idx files; default ``<shared data>/mnist``.
    train_images : int, default 8000
        Training images taken from the test set when there is no training set (1 … 9,999).
    validation : float, default 0.0
        Fraction of the training images held out (stratified) for early stopping; 0 leaves the
        validation split empty (long runs report the test accuracy the paper chose its epoch by).
    seed : int, default 0
        Seed of the splits.
    """
    from sklearn.model_selection import train_test_split

    from ..datasets.mnist import MNIST_FILES, load_mnist

    if not 0 <= validation < 1:
        raise ValueError(f"validation must be a fraction in [0, 1), got {validation!r}")
    folder = data_location(path, "mnist")
    has_train = any((folder / f"{MNIST_FILES['train'][0]}{suffix}").is_file() for suffix in (".gz", ""))
    x_test, y_test = load_mnist(folder, split="test")
    if has_train:
        x_train, y_train = load_mnist(folder, split="train")
    else:
        train_images = checked_limit(train_images, "train_images")
        if train_images is None or not 0 < train_images < len(y_test):
            raise ValueError(f"train_images must be in [1, {len(y_test) - 1}] when only the MNIST test set is "
                             f"present, got {train_images!r}")
        x_train, x_test, y_train, y_test = train_test_split(x_test, y_test, train_size=train_images,
                                                            stratify=y_test, random_state=seed)
    x_val, y_val = x_train[:0], y_train[:0]
    if validation:
        x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=validation,
                                                          stratify=y_train, random_state=seed)
    return TrainingData("mnist", *(np.ascontiguousarray(a) for a in (x_train, y_train, x_val, y_val,
                                                                      x_test, y_test)))


def cifar10_data(path=None, train_images: int | None = None, test_images: int | None = None,
                 validation: float = 0.1, seed: int = 0) -> TrainingData:
    """CIFAR-10 from a local archive or folder, normalised per channel.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The JPEG ``.tar.gz``, a folder holding ``train/`` and ``test/`` JPEG folders, or a
        torchvision folder (``cifar-10-batches-py`` / ``-bin``, or its parent). Default: the
        shared ``cifar10/cifar10-jpg.tar.gz``.
    train_images, test_images : int, optional
        Use at most this many images (balanced over the classes); default all.
    validation : float, default 0.1
        Fraction of the training images held out (stratified) for early stopping.
    seed : int, default 0
        Seed of the stratified validation split.
    """
    train_images = checked_limit(train_images, "train_images")
    test_images = checked_limit(test_images, "test_images")
    if not 0 < validation < 1:
        raise ValueError(f"validation must be a fraction in (0, 1), got {validation!r}")
    location = data_location(path, "cifar10/cifar10-jpg.tar.gz")
    x_train, y_train = _read_cifar10(location, "train", train_images)
    x_test, y_test = _read_cifar10(location, "test", test_images)
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=validation, stratify=y_train,
                                                      random_state=seed)
    return TrainingData("cifar10", _normalise(x_train), y_train, _normalise(x_val), y_val,
                        _normalise(x_test), y_test, augment=True)


def _normalise(images: np.ndarray) -> np.ndarray:
    x = images.astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(((x - _CIFAR_MEAN) / _CIFAR_STD).transpose(0, 3, 1, 2))


def _read_cifar10(location: Path, split: str, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    if location.is_file():
        return load_cifar10(location, split=split, limit=limit)
    for layout in (location, location / "cifar-10-batches-py", location / "cifar-10-batches-bin"):
        if (layout / "data_batch_1").is_file() or (layout / "data_batch_1.bin").is_file():
            return _balanced(*_read_torchvision(layout, split), limit)
    if (location / split).is_dir():
        return _balanced(*_read_jpeg_folder(location / split), limit)
    raise ValueError(f"{str(location)!r} holds neither {split}/<class>/*.jpg, cifar-10-batches-py nor "
                     "cifar-10-batches-bin")


def _read_torchvision(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    for name in names:
        if (folder / name).is_file():  # python layout: pickled dicts (local files the user chose)
            with open(folder / name, "rb") as handle:
                batch = pickle.load(handle, encoding="bytes")
            images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
        elif (folder / f"{name}.bin").is_file():
            records = np.fromfile(folder / f"{name}.bin", dtype=np.uint8)
            if records.size % 3073:
                raise ValueError(f"{folder / name}.bin is not a whole number of 3,073-byte records")
            records = records.reshape(-1, 3073)
            images.append(records[:, 1:].reshape(-1, 3, 32, 32))
            labels.append(records[:, 0].astype(np.int64))
        else:
            raise ValueError(f"{str(folder)!r} lacks {name} (torchvision's CIFAR-10 layout)")
    y = np.concatenate(labels)
    if y.size and (y.min() < 0 or y.max() >= len(CIFAR10_CLASSES)):
        raise ValueError(f"{str(folder)!r}: labels outside 0–9")
    return np.concatenate(images).transpose(0, 2, 3, 1).copy(), y


def _read_jpeg_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if tuple(classes) != CIFAR10_CLASSES:
        raise ValueError(f"{str(folder)!r}: the classes are {classes}, expected CIFAR-10's {list(CIFAR10_CLASSES)}")
    images, labels = [], []
    for label, cls in enumerate(classes):
        for file in sorted((folder / cls).glob("*.jpg")):
            with Image.open(file) as image:
                pixels = np.asarray(image.convert("RGB"))
            if pixels.shape != (32, 32, 3):
                raise ValueError(f"{file} is not a 32×32 image")
            images.append(pixels)
            labels.append(label)
    if not images:
        raise ValueError(f"{str(folder)!r} has no <class>/*.jpg images")
    return np.stack(images), np.array(labels, dtype=np.int64)


def _balanced(x: np.ndarray, y: np.ndarray, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` images, taken round-robin over the classes in file order."""
    if limit is None or limit >= len(y):
        return x, y
    rank = np.zeros(len(y), dtype=np.int64)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rank[members] = np.arange(members.size)
    chosen = np.sort(np.lexsort((y, rank))[:limit])
    return x[chosen], y[chosen]
