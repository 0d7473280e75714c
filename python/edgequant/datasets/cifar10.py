"""CIFAR-10 from a tar.gz of JPEGs (``cifar10/{train,test}/<class>/NNNN.jpg``), read in memory."""

from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import PurePosixPath

import numpy as np

from ._location import checked_limit, data_location

#: CIFAR-10's canonical class order (the label indices of the original binaries). It is also
#: the sorted order of the class folder names, which is how :func:`load_cifar10` numbers them.
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_SPLITS = ("train", "test")


def load_cifar10(
    path=None, split: str = "test", limit: int | None = None, per_class: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 images from the archive, without extracting it to disk.

    Images are ordered by class, then by file name (``0000.jpg``, ``0001.jpg``...), so the
    result does not depend on the order of the members in the archive. The label of an image is
    the index of its class folder among the sorted folder names — for CIFAR-10 exactly the
    canonical order :data:`CIFAR10_CLASSES` (checked: another set of folders raises).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The ``.tar.gz`` (or ``.tar``). Default ``<shared data>/cifar10/cifar10-jpg.tar.gz``.
    split : {"test", "train"}, default "test"
    limit : int, optional
        Keep at most this many images in total, taken round-robin over the classes (image 0 of
        every class, then image 1...), so any limit is balanced.
    per_class : int, optional
        Keep the first ``per_class`` images of every class (applied before ``limit``).
        ``per_class=100`` is the 1,000 test images on which the README's 63.3 % was verified.

    Returns
    -------
    x : numpy.ndarray
        uint8 ``[N, 32, 32, 3]``, RGB (see :func:`cifar10_tutorial_input` for the tutorial CNN).
    y : numpy.ndarray
        int64 ``[N]``, class indices 0–9 in the order of :data:`CIFAR10_CLASSES`.

    Raises
    ------
    FileNotFoundError
        If the archive is missing.
    ValueError
        If the archive is not a readable tar(.gz), holds no ``<split>/<class>/*.jpg`` members,
        its classes are not CIFAR-10's, an image is not 32×32, or an argument is invalid.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {list(_SPLITS)}, got {split!r}")
    limit = checked_limit(limit)
    per_class = checked_limit(per_class, "per_class")
    archive = data_location(path, "cifar10/cifar10-jpg.tar.gz")
    encoded = _split_members(archive, split)
    classes = sorted({cls for cls, _ in encoded})
    if tuple(classes) != CIFAR10_CLASSES:
        expected = list(CIFAR10_CLASSES)
        raise ValueError(f"{archive.name}: the {split} classes are {classes}, expected CIFAR-10's {expected}")
    chosen = _choose(sorted(encoded), classes, limit, per_class)
    x = np.empty((len(chosen), 32, 32, 3), dtype=np.uint8)
    for i, key in enumerate(chosen):
        x[i] = _decode(encoded[key], archive.name, key)
    y = np.array([classes.index(cls) for cls, _ in chosen], dtype=np.int64)
    return x, y


def cifar10_tutorial_input(images) -> np.ndarray:
    """Preprocess RGB uint8 images for ``cifar10_tutorial_cnn.onnx``.

    Parameters
    ----------
    images : array_like
        ``[N, 32, 32, 3]`` RGB, 0–255 (as from :func:`load_cifar10`).

    Returns
    -------
    numpy.ndarray
        float32 ``[N, 3, 32, 32]``, ``(x/255 − 0.5)/0.5`` (torchvision's ``Normalize(0.5, 0.5)``).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        raise ValueError(f"images must be [N, 32, 32, 3] RGB, got shape {images.shape}")
    x = images.astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(((x - 0.5) / 0.5).transpose(0, 3, 1, 2))


def _split_members(archive, split: str) -> dict[tuple[str, str], bytes]:
    """``{(class, file name): JPEG bytes}`` for the members ``.../<split>/<class>/<name>.jpg``."""
    found = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:  # streaming: one pass over the compressed archive
                parts = PurePosixPath(member.name).parts
                if member.isfile() and len(parts) >= 3 and parts[-3] == split and parts[-1].lower().endswith(".jpg"):
                    found[(parts[-2], parts[-1])] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{archive.name} is not a readable tar archive: {error}") from error
    if not found:
        raise ValueError(f"{archive.name} has no {split}/<class>/*.jpg members")
    return found


def _choose(keys, classes, limit, per_class):
    by_class = {cls: [key for key in keys if key[0] == cls] for cls in classes}
    if per_class is not None:
        by_class = {cls: members[:per_class] for cls, members in by_class.items()}
    if limit is None:
        return [key for cls in classes for key in by_class[cls]]
    interleaved = [
        key
        for rank in range(max(map(len, by_class.values())))
        for cls in classes
        if rank < len(by_class[cls])
        for key in [by_class[cls][rank]]
    ]
    return sorted(interleaved[:limit], key=lambda key: (classes.index(key[0]), key[1]))


def _decode(data: bytes, archive_name: str, key) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("RGB"))
    except OSError as error:
        raise ValueError(f"{archive_name}: {'/'.join(key)} is not a readable image: {error}") from error
    if pixels.shape != (32, 32, 3):
        raise ValueError(f"{archive_name}: {'/'.join(key)} is {pixels.shape[1]}x{pixels.shape[0]}, expected 32x32")
    return pixels
