"""MNIST from its idx files (gzip or raw), as float32 images in [0, 1] ready for MNIST CNNs."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ._location import checked_limit, data_location

#: File names of the idx files per split (the official names; ``.gz`` or uncompressed).
MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
}

#: idx magic numbers: 0x0000 08 (unsigned byte) 0N (dimensions).
_IMAGES_MAGIC = 0x00000803
_LABELS_MAGIC = 0x00000801


def load_mnist(path=None, split: str = "test", limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from idx files.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (or the
        ``train-`` files; uncompressed files are read too). Default ``<shared data>/mnist``.
    split : {"test", "train"}, default "test"
    limit : int, optional
        Keep only the first ``limit`` images (file order).

    Returns
    -------
    x : numpy.ndarray
        float32 ``[N, 1, 28, 28]``, pixels / 255 (in [0, 1]) — the input of ``mnist-8.onnx``
        and ``cnn_mnist_pytorch.onnx``.
    y : numpy.ndarray
        int64 ``[N]``, digits 0–9.

    Raises
    ------
    FileNotFoundError
        If the folder or a file is missing.
    ValueError
        If a file is not an idx file of the right kind (magic number), is truncated or not valid
        gzip, the two files disagree on the number of items, or ``split``/``limit`` is invalid;
        the message names the file.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    limit = checked_limit(limit)
    folder = data_location(path, "mnist")
    if not folder.is_dir():
        raise ValueError(f"path must be a folder holding the MNIST idx files, got the file {str(folder)!r}")
    images_file, labels_file = (_find(folder, name) for name in MNIST_FILES[split])
    images = _read_idx(images_file, _IMAGES_MAGIC, 3)
    labels = _read_idx(labels_file, _LABELS_MAGIC, 1)
    if len(images) != len(labels):
        raise ValueError(f"{images_file.name} has {len(images)} images but {labels_file.name} {len(labels)} labels")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{images_file.name} holds {images.shape[1:]} images, expected 28x28")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_file.name} has label {int(labels.max())}; MNIST labels are 0-9")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return x, labels.astype(np.int64)


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{str(folder)!r} has neither {name}.gz nor {name}")


def _read_idx(file: Path, magic: int, dimensions: int) -> np.ndarray:
    """The array in an idx file, after checking its magic number and its size."""
    try:
        if file.suffix == ".gz":
            with gzip.open(file, "rb") as stream:
                raw = stream.read()
        else:
            raw = file.read_bytes()
    except (OSError, EOFError, zlib.error) as error:  # gzip raises these on bad or cut data
        raise ValueError(f"{file.name} is not a readable gzip file: {error}") from error
    header = 4 + 4 * dimensions
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found is not None and found != magic:
        raise ValueError(f"{file.name} has magic number 0x{found:08x}, expected 0x{magic:08x} (wrong file?)")
    if len(raw) < header:
        raise ValueError(f"{file.name} is too short ({len(raw)} bytes) to be an idx file (truncated?)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(f"{file.name} has {len(raw)} bytes but its header {shape} needs {expected} (truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
