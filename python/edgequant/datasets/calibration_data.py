"""Calibration (or timing) inputs from a user's files: a ``.npy`` array, a ``.npz`` of arrays, or a
folder of images preprocessed for the model.

>>> from edgequant import Engine
>>> from edgequant.datasets import ImagePreprocessing, load_calibration_data
>>> steps = ImagePreprocessing(scale=1.0, mean=127.0, std=128.0)          # UltraFace: (x - 127) / 128
>>> x = load_calibration_data("faces/", model="ultraface-rfb-320.onnx", preprocessing=steps)
>>> engine = Engine("ultraface-rfb-320.onnx", mode="static", calibration=x)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._location import checked_limit

#: File suffixes read as images from a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")


@dataclass(frozen=True)
class ImagePreprocessing:
    """How an image becomes a model input: ``value = (pixel · scale − mean) / std`` per channel.

    Parameters
    ----------
    size : (height, width), optional
        Resize target (bilinear, no letterbox); default: the model input's spatial size.
    scale : float
        Multiplies the 0–255 pixel first (``1/255``: 0–1 pixels; ``1``: 0–255). Images of any bit
        depth arrive on that 0–255 range: 16-bit greyscale samples are divided by 257 (65535 is
        255, white; not clipped), 16-bit colour ones are reduced to their high byte by Pillow.
    mean, std : float or sequence of float
        One value, or one per channel in the model's channel order.
    channel_order : {"RGB", "BGR"}
    layout : {"NCHW", "NHWC"}
    """

    size: tuple[int, int] | None = None
    scale: float = 1.0 / 255.0
    mean: float | tuple[float, ...] = 0.0
    std: float | tuple[float, ...] = 1.0
    channel_order: str = "RGB"
    layout: str = "NCHW"

    def __post_init__(self):
        if self.channel_order.upper() not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r}")
        if self.layout.upper() not in ("NCHW", "NHWC"):
            raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {self.layout!r}")
        if self.size is not None and (len(self.size) != 2 or min(int(s) for s in self.size) < 1):
            raise ValueError(f"size must be (height, width) of positive ints, got {self.size!r}")
        std = np.atleast_1d(np.asarray(self.std, np.float64))
        if not np.all(np.isfinite(std)) or np.any(std == 0) or not np.isfinite(self.scale):
            raise ValueError(f"std must be finite and non-zero and scale finite, got std={self.std!r}, "
                             f"scale={self.scale!r}")


def load_calibration_data(source, model=None, preprocessing: ImagePreprocessing | None = None,
                          limit: int | None = None):
    """Read calibration inputs for ``model``.

    Parameters
    ----------
    source : str or os.PathLike
        ``FILE.npy`` (one array, samples on axis 0), ``FILE.npz`` (one array, or one per model
        input keyed by input name), or a folder of images (``.jpg``, ``.png``...; read in file-name
        order).
    model : str, os.PathLike or onnx.ModelProto, optional
        The model the data is for: gives an image folder its default size, channel count and
        layout checks. Required for image folders unless ``preprocessing.size`` is set.
    preprocessing : ImagePreprocessing, optional
        For image folders (default: ``ImagePreprocessing()``: RGB, 0–1, NCHW).
    limit : int, optional
        At most this many samples (the first ones).

    Returns
    -------
    numpy.ndarray or dict of str to numpy.ndarray
        float32 images / the stored arrays (a dict for a multi-array ``.npz``), samples on axis 0.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist.
    ValueError
        If the file is not a readable array, holds no samples or non-finite values, the folder has no
        images, or an image cannot be read.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path, got {type(source).__name__}")
    limit = checked_limit(limit)
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"calibration data: {str(path)!r} does not exist")
    if path.is_dir():
        return _checked(str(path), _load_images(path, model, preprocessing or ImagePreprocessing(), limit))
    if path.suffix.lower() not in (".npy", ".npz"):
        raise ValueError(f"calibration data must be a .npy / .npz file or a folder of images, got {str(path)!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"{str(path)!r} is not a readable NumPy file: {error}") from error
    if isinstance(loaded, np.ndarray):
        return _checked(str(path), loaded[:limit])
    with loaded:
        arrays = {name: loaded[name][:limit] for name in loaded.files}
    if not arrays:
        raise ValueError(f"{str(path)!r} holds no arrays")
    for name, array in arrays.items():
        _checked(f"{path}[{name}]", array)
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def _checked(where: str, array: np.ndarray) -> np.ndarray:
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"calibration data {where!r} holds no samples (shape {array.shape})")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"calibration data {where!r} holds NaN or Inf values")
    if array.dtype.kind not in "fiub":
        raise ValueError(f"calibration data {where!r} must be numeric, got dtype {array.dtype}")
    return array


def model_input_shape(model) -> list[int | None]:
    """The first graph input's shape (None for symbolic dims), from an ONNX file or ModelProto."""
    import onnx

    if not hasattr(model, "graph"):
        model = onnx.load(str(model), load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in initializers)
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None
            for d in first.type.tensor_type.shape.dim]


def _load_images(folder: Path, model, steps: ImagePreprocessing, limit: int | None) -> np.ndarray:
    from PIL import Image

    nhwc = steps.layout.upper() == "NHWC"
    shape = model_input_shape(model) if model is not None else None
    channels, size = 3, steps.size
    if shape is not None:
        if len(shape) != 4:
            raise ValueError(f"an image folder feeds a 4-D image input; the model's input has shape {shape}")
        channels = shape[3] if nhwc else shape[1]
        spatial = shape[1:3] if nhwc else shape[2:4]
        if size is None and None not in spatial:
            size = tuple(spatial)
        if channels not in (1, 3, None):
            raise ValueError(f"the model's input has {channels} channels in layout {steps.layout}: an image has "
                             f"1 or 3 (is the layout right?)")
        channels = channels or 3
    if size is None:
        known = "the model's input takes any height and width" if shape is not None else "no model given"
        raise ValueError(f"the image size is unknown ({known}): give ImagePreprocessing(size=(height, width)), "
                         "--size HxW on the command line")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    if not files:
        raise ValueError(f"{str(folder)!r} has no images ({', '.join(IMAGE_SUFFIXES)})")
    mean = np.asarray(steps.mean, np.float32).reshape(-1)
    std = np.asarray(steps.std, np.float32).reshape(-1)
    for name, values in (("mean", mean), ("std", std)):
        if values.size not in (1, channels):
            raise ValueError(f"{name} has {values.size} values; the input has {channels} channels")
    batch = []
    for file in files:
        try:
            with Image.open(file) as image:
                pixels = _pixels_0_to_255(image, channels, (int(size[0]), int(size[1])))
        except OSError as error:
            raise ValueError(f"{file.name} is not a readable image: {error}") from error
        if channels == 3 and steps.channel_order.upper() == "BGR":
            pixels = pixels[:, :, ::-1]
        pixels = (pixels * np.float32(steps.scale) - mean) / std
        batch.append(pixels if nhwc else pixels.transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(batch), dtype=np.float32)


#: Pillow modes of 16-bit greyscale images ("I": how Pillow before 10 opened 16-bit PNGs).
_SIXTEEN_BIT_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _pixels_0_to_255(image, channels: int, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized (bilinear) to ``size`` = (height, width): float32 (height, width, channels), 0–255.

    8-bit images are converted and resized by Pillow as they always were. A 16-bit greyscale image
    is scaled by 1/257 onto 0–255 first: Pillow's own conversion to "L" / "RGB" clips every value
    above 255 to white, so a 1.5 % grey frame would calibrate as a white one.
    """
    from PIL import Image

    width_height = (size[1], size[0])
    if image.mode in _SIXTEEN_BIT_GREY:
        grey = Image.fromarray(np.asarray(image, dtype=np.float32) / np.float32(257.0), mode="F")
        pixels = np.asarray(grey.resize(width_height, Image.BILINEAR), dtype=np.float32)[:, :, None]
        return np.repeat(pixels, channels, axis=2)
    resized = image.convert("L" if channels == 1 else "RGB").resize(width_height, Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32).reshape(size[0], size[1], channels)
