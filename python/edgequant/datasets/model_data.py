"""Which data, preprocessed how, evaluates each model of the shared ``models/`` folder."""

from __future__ import annotations

import numpy as np

from ._location import data_location
from .cifar10 import cifar10_tutorial_input, load_cifar10
from .detector_images import load_detector_images
from .imagenet_sample import load_imagenet_sample, squeezenet_input
from .mnist import load_mnist

#: Shared model file -> what :func:`model_data` gives it (for messages and documentation).
MODEL_DATA = {
    "mnist-8.onnx": "MNIST test (10,000), float32 0-1, with labels",
    "cnn_mnist_pytorch.onnx": "MNIST test (10,000), float32 0-1, with labels",
    "cifar10_tutorial_cnn.onnx": "CIFAR-10 test, first 100 per class (1,000), (x/255-0.5)/0.5 NCHW, with labels",
    "squeezenet1.0_fp16.onnx": "ImageNet sample (50), 224x224 BGR 0-255 float16, with labels",
    "ultraface-rfb-320.onnx": "models/ultraface_imgs (4), RGB (x-127)/128, no labels",
    "yolo-fastestv2.onnx": "models/yolofastestv2_imgs (5) + coco128/images (16), BGR /255, no labels",
}


def model_data(model_name: str, root=None, limit: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The evaluation inputs (and labels) of a shared model, preprocessed for it.

    Parameters
    ----------
    model_name : str
        A file name of the shared ``models/`` folder (a key of :data:`MODEL_DATA`; the
        ``.onnx`` suffix may be left out).
    root : str or os.PathLike, optional
        The shared data folder (default :func:`edgequant.datasets.shared_data_dir`).
    limit : int, optional
        At most this many samples (CIFAR-10: balanced over the classes; others: the first).

    Returns
    -------
    inputs : numpy.ndarray
        Ready for the model's single input.
    labels : numpy.ndarray or None
        int64 class indices; None for the detectors (evaluate them by fidelity to FP32).

    Raises
    ------
    ValueError
        If ``model_name`` is not a shared model (the message lists them).
    FileNotFoundError
        If the data is missing.
    """
    if not isinstance(model_name, str):
        raise TypeError(f"model_name must be a string, got {type(model_name).__name__}")
    name = model_name if model_name.endswith(".onnx") else model_name + ".onnx"
    if name not in MODEL_DATA:
        raise ValueError(f"model_name={model_name!r} is not a shared model; known: {', '.join(MODEL_DATA)}")
    base = data_location(root, "", "root")
    if name in ("mnist-8.onnx", "cnn_mnist_pytorch.onnx"):
        return load_mnist(base / "mnist", limit=limit)
    if name == "cifar10_tutorial_cnn.onnx":
        x, y = load_cifar10(base / "cifar10" / "cifar10-jpg.tar.gz", per_class=100, limit=limit)
        return cifar10_tutorial_input(x), y
    if name == "squeezenet1.0_fp16.onnx":
        images, labels = load_imagenet_sample(base / "imagenet-sample")
        return squeezenet_input(images[:limit]), labels[:limit]
    if name == "ultraface-rfb-320.onnx":
        return load_detector_images(base / "models" / "ultraface_imgs", "ultraface", limit), None
    x = np.concatenate(
        [
            load_detector_images(base / "models" / "yolofastestv2_imgs", "yolofastestv2"),
            load_detector_images(base / "coco128" / "images", "yolofastestv2"),
        ]
    )
    return x[:limit], None
