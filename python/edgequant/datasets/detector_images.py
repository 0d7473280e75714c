"""Unlabelled images for the two shared detectors, preprocessed as each model expects."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._location import data_location

#: Input layout of each detector: (width, height), channel order, offset, scale; input = (pixel
#: − offset) / scale, NCHW float32 [N, 3, height, width].
DETECTOR_INPUTS = {
    "ultraface": {"size": (320, 240), "order": "RGB", "offset": 127.0, "scale": 128.0},
    "yolofastestv2": {"size": (352, 352), "order": "BGR", "offset": 0.0, "scale": 255.0},
}


def load_detector_images(folder, detector: str = "ultraface", limit: int | None = None) -> np.ndarray:
    """Read every ``*.jpg`` in a folder and preprocess it for a detector.

    Images are resized straight to the input size (bilinear; the detectors' reference demos do
    the same, without letterboxing) and read in file-name order. There are no labels: a sweep on
    these images measures fidelity to the FP32 model (see
    :class:`edgequant.evaluate.Evaluator`, ``per_anchor``).

    Parameters
    ----------
    folder : str or os.PathLike
        E.g. ``<shared data>/models/ultraface_imgs``, ``.../yolofastestv2_imgs`` or
        ``<shared data>/coco128/images``.
    detector : {"ultraface", "yolofastestv2"}, default "ultraface"
        ``"ultraface"`` (``ultraface-rfb-320.onnx``): ``[N, 3, 240, 320]``, RGB,
        ``(x − 127)/128``. ``"yolofastestv2"`` (``yolo-fastestv2.onnx``): ``[N, 3, 352, 352]``,
        BGR, ``x/255``.
    limit : int, optional
        Keep the first ``limit`` images.

    Returns
    -------
    numpy.ndarray
        float32 ``[N, 3, H, W]``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If ``detector`` is unknown, the folder has no ``.jpg``, or an image cannot be read.
    """
    from PIL import Image

    from ._location import checked_limit

    if detector not in DETECTOR_INPUTS:
        raise ValueError(f"detector must be one of {sorted(DETECTOR_INPUTS)}, got {detector!r}")
    if folder is None:
        raise TypeError("folder is required (e.g. <shared data>/models/ultraface_imgs)")
    limit = checked_limit(limit)
    folder = data_location(folder, "", "folder")
    if not folder.is_dir():
        raise ValueError(f"folder must be a folder of .jpg images, got the file {str(folder)!r}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:limit]
    if not files:
        raise ValueError(f"{str(folder)!r} has no .jpg images")
    layout = DETECTOR_INPUTS[detector]
    batch = []
    for file in files:
        pixels = np.asarray(_read_resized(file, layout["size"], Image), dtype=np.float32)
        if layout["order"] == "BGR":
            pixels = pixels[:, :, ::-1]
        batch.append(((pixels - layout["offset"]) / layout["scale"]).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(batch), dtype=np.float32)


def _read_resized(file: Path, size, Image):
    try:
        with Image.open(file) as image:
            return image.convert("RGB").resize(size, Image.BILINEAR)
    except OSError as error:
        raise ValueError(f"{file.name} is not a readable image: {error}") from error
