"""What ``eq_model`` and ``eq_data`` resolve a name to: embedded, shared or the user's own files.

These functions know nothing of pytest: a missing shared folder raises :class:`SharedDataMissing`
(the fixtures turn it into a skip with its message); a missing file of the user's is an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..datasets.shared_data import DATA_ENV_VAR, shared_data_dir

#: Names ``eq_data`` accepts besides paths, with what they give.
DATA_SETS = {
    "digits": "embedded digits test split (540), float32 [N, 1, 8, 8] in 0-1, labels",
    "mnist": "shared mnist/ test set (10,000), float32 [N, 1, 28, 28] in 0-1, labels",
    "cifar10": "shared cifar10/ test set, uint8 [N, 32, 32, 3] RGB (normalize=True: the tutorial CNN's input)",
    "imagenet-sample": "shared imagenet-sample/ (50), squeezenet1.0_fp16's input (resize=, resample=), labels",
    "coco128": "shared coco128/images (16), a detector's input (detector='yolofastestv2' or 'ultraface')",
}

#: Image file suffixes read from a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class SharedDataMissing(LookupError):
    """The shared data folder (or a part of it) a model or data set needs is absent."""


class DataSet(NamedTuple):
    """Inputs and labels (None without labels); unpacks as ``x, y = eq_data(...)``."""

    x: np.ndarray
    y: np.ndarray | None


def resolve_model(name, build_dir: Path, **options) -> Path:
    """The ONNX file ``eq_model(name)`` stands for.

    Parameters
    ----------
    name : str or os.PathLike
        An embedded model (:func:`edgequant.zoo.list_models`), a file of the shared ``models/``
        folder (``"mnist-8"`` or ``"mnist-8.onnx"``), an architecture of
        :mod:`edgequant.zoo.architectures` (built once with ``options``: ``input_size``,
        ``width``, ``num_classes``, ``seed``), or a path to the user's ``.onnx`` file.
    build_dir : pathlib.Path
        Where built architectures are saved.

    Raises
    ------
    SharedDataMissing
        For a shared model when the shared folder is absent.
    FileNotFoundError
        For a path that does not exist.
    ValueError, TypeError
        For options given to a model that takes none, or a name of the wrong type.
    """
    from .. import zoo

    if isinstance(name, os.PathLike):
        return _existing_file(Path(name), "model")
    if not isinstance(name, str):
        raise TypeError(f"eq_model takes a model name or a path, got {type(name).__name__}")
    if name in zoo.list_models():
        _no_options(options, name)
        return zoo.model_path(name)
    from ..zoo.architectures import ARCHITECTURES

    if name in ARCHITECTURES:
        return _built_architecture(name, build_dir, options)
    _no_options(options, name)
    path = Path(name).expanduser()
    if path.exists() or "/" in name or os.sep in name:
        return _existing_file(path, "model")
    root = shared_data_dir()
    if root is None:
        _raise_missing_shared(f"shared model {name!r}")
    shared = root / "models" / (name if name.endswith(".onnx") else f"{name}.onnx")
    if shared.is_file():
        return shared
    known = ", ".join(zoo.list_models() + list(ARCHITECTURES))
    raise FileNotFoundError(
        f"eq_model: {name!r} is not an embedded model or architecture ({known}), a file of "
        f"{str(root / 'models')!r}, nor an existing path"
    )


def load_data(name, limit: int | None = None, **options) -> DataSet:
    """The data set ``eq_data(name, ...)`` stands for (see :data:`DATA_SETS`).

    Parameters
    ----------
    name : str or os.PathLike
        A name of :data:`DATA_SETS`, a shared model file (``"mnist-8.onnx"``: the data
        :func:`edgequant.datasets.model_data` pairs with it), an ``.npz`` file (arrays ``x`` and
        optionally ``y``; other names with ``x_key=``/``y_key=``), or a folder of images.
    limit : int, optional
        At most this many samples.
    **options
        Per source: cifar10 ``split``, ``per_class``, ``normalize``; imagenet-sample ``resize``,
        ``resample``; coco128 and image folders ``detector``; image folders without a
        detector ``size`` ((H, W), required when sizes differ), ``scale`` (default 1/255),
        ``mean``, ``std``, ``channels`` ("RGB"/"BGR"), ``layout`` ("NCHW"/"NHWC"); labels of a
        folder come from its sub-folders (sorted names are classes 0, 1, ...).

    Raises
    ------
    SharedDataMissing
        For a shared data set whose folder is absent.
    FileNotFoundError, ValueError, TypeError
        For the user's missing files, unknown names or options.
    """
    from .. import datasets, zoo

    if isinstance(name, str) and name in DATA_SETS:
        if name == "digits":
            _no_options(options, name)
            x, y = zoo.load_test_set()
            return DataSet(x[:limit], y[:limit])
        root = _shared_root(name)
        if name == "mnist":
            return DataSet(*datasets.load_mnist(root / "mnist", limit=limit, **options))
        if name == "cifar10":
            normalize = options.pop("normalize", False)
            x, y = datasets.load_cifar10(root / "cifar10" / "cifar10-jpg.tar.gz", limit=limit, **options)
            return DataSet(datasets.cifar10_tutorial_input(x) if normalize else x, y)
        if name == "imagenet-sample":
            images, labels = datasets.load_imagenet_sample(root / "imagenet-sample")
            return DataSet(datasets.squeezenet_input(images[:limit], **options), labels[:limit])
        return DataSet(_detector_images(root / "coco128" / "images", limit, options), None)
    if isinstance(name, str) and name.endswith(".onnx") and name in datasets.MODEL_DATA:
        _no_options(options, name)
        _shared_root(name)
        return DataSet(*datasets.model_data(name, limit=limit))
    if not isinstance(name, str | os.PathLike):
        raise TypeError(f"eq_data takes a data set name or a path, got {type(name).__name__}")
    path = Path(name)
    if not path.exists():
        known = ", ".join(list(DATA_SETS) + list(datasets.MODEL_DATA))
        raise FileNotFoundError(f"eq_data: {str(name)!r} is neither a known data set ({known}) nor an existing path")
    if path.is_dir():
        if "detector" in options:
            return DataSet(_detector_images(path, limit, options), None)
        return _image_folder(path, limit, **options)
    if path.suffix == ".npz":
        return _npz(path, limit, **options)
    raise ValueError(f"eq_data: {str(path)!r} is neither a folder of images nor an .npz file")


#: The shared sub-folder each named data set reads.
_SHARED_FOLDERS = {"mnist": "mnist", "cifar10": "cifar10", "imagenet-sample": "imagenet-sample", "coco128": "coco128"}


def _shared_root(what: str) -> Path:
    root = shared_data_dir()
    if root is None:
        _raise_missing_shared(what)
    folder = _SHARED_FOLDERS.get(what)
    if folder is not None and not (root / folder).exists():
        raise SharedDataMissing(f"{what}: {str(root / folder)!r} is absent from the shared data folder")
    return root


def _raise_missing_shared(what: str):
    configured = os.environ.get(DATA_ENV_VAR)
    where = f"{DATA_ENV_VAR}={configured!r}" if configured else "../shared/data beside the working tree"
    raise SharedDataMissing(f"{what}: shared data folder absent ({where}); set {DATA_ENV_VAR} to use it")


def _existing_file(path: Path, what: str) -> Path:
    path = path.expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"eq_{what}: {str(path)!r} does not exist or is not a file")
    return path.resolve()


def _no_options(options: dict, name) -> None:
    if options:
        raise TypeError(f"{name!r} takes no options, got {sorted(options)}")


def _built_architecture(name: str, build_dir: Path, options: dict) -> Path:
    import onnx

    from ..zoo.architectures import build

    allowed = {"input_size", "width", "num_classes", "seed"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"architecture {name!r} takes options {sorted(allowed)}, got {sorted(unknown)}")
    suffix = "-".join(f"{key}{options[key]}" for key in sorted(options)).replace(" ", "").replace(",", "x")
    path = build_dir / f"{name}{'-' + suffix if suffix else ''}.onnx"
    if not path.exists():
        onnx.save(build(name, **options), path)
    return path


def _detector_images(folder: Path, limit, options: dict) -> np.ndarray:
    from ..datasets import load_detector_images

    detector = options.pop("detector", "yolofastestv2")
    _no_options(options, str(folder))
    return load_detector_images(folder, detector, limit)


def _npz(path: Path, limit, x_key: str = "x", y_key: str = "y") -> DataSet:
    with np.load(path, allow_pickle=False) as archive:
        if x_key not in archive:
            raise ValueError(f"{path.name} has no array {x_key!r} (it has {sorted(archive.files)}); pass x_key=")
        x = archive[x_key][:limit]
        y = archive[y_key][:limit] if y_key in archive else None
    return DataSet(x, y)


def _image_folder(folder: Path, limit, size=None, scale: float = 1 / 255, mean=0.0, std=1.0,
                  channels: str = "RGB", layout: str = "NCHW") -> DataSet:  # fmt: skip
    from PIL import Image

    if channels not in ("RGB", "BGR") or layout not in ("NCHW", "NHWC"):
        raise ValueError(f"channels must be 'RGB' or 'BGR' and layout 'NCHW' or 'NHWC', got {channels!r}, {layout!r}")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if classes:
        files = [(f, label) for label, cls in enumerate(classes) for f in _images_in(folder / cls)]
    else:
        files = [(f, None) for f in _images_in(folder)]
    files = files[:limit]
    if not files:
        raise ValueError(f"eq_data: {str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    pixels = []
    for file, _ in files:
        with Image.open(file) as image:
            image = image.convert("RGB")
            if size is not None:
                image = image.resize((int(size[1]), int(size[0])), Image.BILINEAR)
            pixels.append(np.asarray(image, dtype=np.float32))
    shapes = {p.shape for p in pixels}
    if len(shapes) > 1:
        raise ValueError(f"eq_data: images in {str(folder)!r} differ in size {sorted(shapes)}; pass size=(H, W)")
    x = (np.stack(pixels) * np.float32(scale) - np.float32(mean)) / np.float32(std)
    if channels == "BGR":
        x = x[..., ::-1]
    if layout == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    y = np.array([label for _, label in files], dtype=np.int64) if classes else None
    return DataSet(np.ascontiguousarray(x, dtype=np.float32), y)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
