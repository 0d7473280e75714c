"""The 50-image ImageNet sample (one image per 20th class) and SqueezeNet 1.0's preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._location import data_location

#: The file that lists the 1,000 classes, one ``<synset>_<name>.JPEG`` per line, in class order.
CLASS_LIST_FILE = "all_1000_filenames_sorted.txt"

#: SqueezeNet's input side.
SQUEEZENET_SIZE = 224


def load_imagenet_sample(path=None) -> tuple[list, np.ndarray]:
    """Load the ImageNet sample images and their class indices.

    The class index of ``n01440764_tench.JPEG`` is the 0-based line of the line starting with
    its synset ``n01440764`` in ``all_1000_filenames_sorted.txt`` (the standard ImageNet-1k
    order, the one of the models' 1,000 outputs).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The folder of ``*.JPEG`` files and ``all_1000_filenames_sorted.txt``. Default
        ``<shared data>/imagenet-sample``.

    Returns
    -------
    images : list of PIL.Image.Image
        RGB images at their own sizes, sorted by file name (so by class).
    labels : numpy.ndarray
        int64 ``[N]`` class indices 0–999.

    Raises
    ------
    FileNotFoundError
        If the folder or its class list is missing.
    ValueError
        If the folder has no ``*.JPEG``, an image's synset is not in the class list, or an
        image cannot be read.
    """
    from PIL import Image

    folder = data_location(path, "imagenet-sample")
    class_list = folder / CLASS_LIST_FILE
    if not class_list.is_file():
        raise FileNotFoundError(f"{str(folder)!r} has no {CLASS_LIST_FILE} (the class order)")
    synsets = [line.split("_", 1)[0] for line in class_list.read_text().split()]
    if len(synsets) != 1000 or len(set(synsets)) != 1000:
        raise ValueError(f"{class_list.name} must list 1,000 distinct synsets, found {len(set(synsets))}")
    index = {synset: i for i, synset in enumerate(synsets)}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg"))
    if not files:
        raise ValueError(f"{str(folder)!r} has no .JPEG images")
    images, labels = [], []
    for file in files:
        synset = file.name.split("_", 1)[0]
        if synset not in index:
            raise ValueError(f"{file.name}: synset {synset!r} is not in {class_list.name}")
        images.append(_read_rgb(file, Image))
        labels.append(index[synset])
    return images, np.array(labels, dtype=np.int64)


#: PIL resampling filters accepted by :func:`squeezenet_input`.
RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos")


def squeezenet_input(images, resize: str = "direct", resample: str = "nearest") -> np.ndarray:
    """Preprocess images for ``squeezenet1.0_fp16.onnx``: 224×224, BGR, 0–255, float16.

    The model (Windows-Machine-Learning's SqueezeNet 1.0) takes raw pixel values in BGR order
    with no mean subtraction and no scaling.

    Parameters
    ----------
    images : iterable of PIL.Image.Image or numpy.ndarray
        RGB images (arrays ``[H, W, 3]`` uint8).
    resize : {"direct", "crop"}, default "direct"
        ``"direct"``: straight to 224×224 (aspect ratio not kept). ``"crop"``: shorter side to
        256, then the central 224×224.
    resample : {"nearest", "bilinear", "bicubic", "lanczos"}, default "nearest"
        The PIL filter of the resize.

    Notes
    -----
    The default (direct, nearest) reproduces the README's verified 25/50 top-1 and 37/50 top-5
    on the ImageNet sample. Measured top-1/top-5 of the other choices (Pillow 13): direct
    bilinear 27/37, bicubic 28/38, lanczos 28/38; crop nearest 24/37, bilinear 22/36, bicubic
    24/38, lanczos 25/37. With 50 images one image is 2 pp: the choice matters less than the
    sample size.

    Returns
    -------
    numpy.ndarray
        float16 ``[N, 3, 224, 224]``.
    """
    from PIL import Image

    if resize not in ("direct", "crop"):
        raise ValueError(f"resize must be 'direct' or 'crop', got {resize!r}")
    if resample not in RESAMPLING:
        raise ValueError(f"resample must be one of {list(RESAMPLING)}, got {resample!r}")
    pil_filter = getattr(Image, resample.upper())
    batch = []
    for image in images:
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(f"image arrays must be [H, W, 3] uint8 RGB, got {image.dtype} {image.shape}")
            image = Image.fromarray(image)
        image = image.convert("RGB")
        if resize == "direct":
            image = image.resize((SQUEEZENET_SIZE, SQUEEZENET_SIZE), pil_filter)
        else:
            image = _shorter_side_then_centre(image, 256, SQUEEZENET_SIZE, pil_filter)
        rgb = np.asarray(image, dtype=np.float32)
        batch.append(rgb[:, :, ::-1].transpose(2, 0, 1))  # RGB -> BGR, HWC -> CHW
    if not batch:
        raise ValueError("images is empty")
    return np.ascontiguousarray(np.stack(batch), dtype=np.float16)


def _shorter_side_then_centre(image, shorter: int, crop: int, pil_filter):
    width, height = image.size
    scale = shorter / min(width, height)
    image = image.resize((max(crop, round(width * scale)), max(crop, round(height * scale))), pil_filter)
    left, top = (image.size[0] - crop) // 2, (image.size[1] - crop) // 2
    return image.crop((left, top, left + crop, top + crop))


def _read_rgb(file: Path, Image):
    try:
        with Image.open(file) as image:
            return image.convert("RGB")
    except OSError as error:
        raise ValueError(f"{file.name} is not a readable image: {error}") from error
