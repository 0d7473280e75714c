"""Loaders for real data sets in their usual file formats, ready for the shared models.

Every loader reads the caller's files, or by default the shared data folder
(:func:`edgequant.datasets.shared_data_dir`), and returns NumPy arrays:

=============================  ================================================================
:func:`load_mnist`             idx(.gz) files -> float32 [N, 1, 28, 28] in 0–1, int64 labels
:func:`load_cifar10`           tar.gz of JPEGs -> uint8 [N, 32, 32, 3] RGB, int64 labels
                               (:func:`cifar10_tutorial_input` for ``cifar10_tutorial_cnn.onnx``)
:func:`load_imagenet_sample`   folder of JPEGs -> PIL images, int64 labels
                               (:func:`squeezenet_input` for ``squeezenet1.0_fp16.onnx``)
:func:`load_detector_images`   folder of JPEGs -> float32 [N, 3, H, W] for UltraFace /
                               Yolo-FastestV2 (no labels)
:func:`model_data`             shared model file name -> (inputs, labels or None)
:func:`load_calibration_data`  a user's .npy / .npz / folder of images -> model inputs
                               (:class:`ImagePreprocessing`: size, scale, mean/std, RGB/BGR, layout)
=============================  ================================================================

>>> from edgequant.datasets import model_data
>>> from edgequant.sweep import run_sweep
>>> x, y = model_data("mnist-8.onnx", limit=2000)
"""

from .calibration_data import ImagePreprocessing, load_calibration_data
from .cifar10 import CIFAR10_CLASSES, cifar10_tutorial_input, load_cifar10
from .detector_images import DETECTOR_INPUTS, load_detector_images
from .imagenet_sample import load_imagenet_sample, squeezenet_input
from .mnist import load_mnist
from .model_data import MODEL_DATA, model_data
from .shared_data import DATA_ENV_VAR, shared_data_dir

__all__ = [
    "CIFAR10_CLASSES",
    "DATA_ENV_VAR",
    "DETECTOR_INPUTS",
    "ImagePreprocessing",
    "MODEL_DATA",
    "cifar10_tutorial_input",
    "load_calibration_data",
    "load_cifar10",
    "load_detector_images",
    "load_imagenet_sample",
    "load_mnist",
    "model_data",
    "shared_data_dir",
    "squeezenet_input",
]
