"""Small pretrained models shipped with edgequant, with the held-out data to evaluate them.

The models classify scikit-learn's digits (1797 grey 8x8 images of the digits 0-9, bundled with
scikit-learn, so no download is ever needed). They were trained by ``scripts/train_digits.py``
(PyTorch 2.13 CPU, seed 0, deterministic, 80 epochs of Adam with a cosine schedule, label
smoothing 0.05 and one-pixel random shifts) on a stratified 70 % split; the other 30 %
(540 images, never used for training or model selection) is shipped as the test set.

=================  ======  =============  ===================================================
name               params  test accuracy  architecture
=================  ======  =============  ===================================================
digits_cnn         29 258  99.44 %        (conv3x3-BN-ReLU) x 2 (32, 64 ch), max-pool, FC
digits_cnn_small    5 530  97.96 %        conv3x3-ReLU-pool (8 ch), conv3x3-ReLU (16), FC-FC
digits_mlp         17 226  97.59 %        fully connected 64-128-64-10 (Gemm only)
=================  ======  =============  ===================================================

Every model is ONNX opset 17 with input ``input``: float32 [N, 1, 8, 8], pixel values scaled
to [0, 1] (the raw digits go to 16, so divide by 16), a dynamic batch axis, and output
``logits``: float32 [N, 10]. BatchNormalization nodes are kept, not folded into the
convolutions. The numbers above are also in ``data/models.json`` (see :func:`model_info`).

>>> import onnxruntime as ort
>>> from edgequant import zoo
>>> x, y = zoo.load_test_set()
>>> session = ort.InferenceSession(zoo.model_path())
>>> logits = session.run(["logits"], {"input": x})[0]

``edgequant.zoo.architectures`` builds classic vision networks (ResNet, MobileNetV2, SqueezeNet,
ShuffleNetV2, EfficientNet-lite0, YOLOv8n) as ONNX graphs with random weights, for engine tests
and benchmarks.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

__all__ = ["DEFAULT_MODEL", "list_models", "load_test_set", "model_info", "model_path"]

DEFAULT_MODEL = "digits_cnn"
"""The model a workflow uses when none is given: the most accurate one."""

_DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
_TEST_SETS = {"digits": "digits_test.npz"}


def list_models() -> list[str]:
    """Names of the shipped models, sorted.

    Returns
    -------
    list of str
        Each name is accepted by :func:`model_path` and :func:`model_info`.
    """
    return sorted(path.stem for path in _DATA_DIR.glob("*.onnx"))


def model_path(name: str = DEFAULT_MODEL) -> pathlib.Path:
    """Path of a shipped ONNX model.

    Parameters
    ----------
    name : str, default ``DEFAULT_MODEL``
        One of :func:`list_models`.

    Returns
    -------
    pathlib.Path
        The ``.onnx`` file inside the installed package; read it, do not modify it.

    Raises
    ------
    ValueError
        If ``name`` is not a shipped model; the message lists the available names.
    TypeError
        If ``name`` is not a string.
    """
    _check_name(name, list_models(), "name")
    return _DATA_DIR / f"{name}.onnx"


def model_info(name: str = DEFAULT_MODEL) -> dict:
    """What the training script measured for a model.

    Parameters
    ----------
    name : str, default ``DEFAULT_MODEL``
        One of :func:`list_models`.

    Returns
    -------
    dict
        ``params`` (int, trainable parameters), ``test_accuracy`` (float in [0, 1], top-1 on
        :func:`load_test_set`), ``test_images`` (int) and ``onnx_ops`` (list of operator types).
    """
    _check_name(name, list_models(), "name")
    card = json.loads((_DATA_DIR / "models.json").read_text())
    return dict(card["models"][name])


def load_test_set(name: str = "digits") -> tuple[np.ndarray, np.ndarray]:
    """The held-out test split the shipped models were evaluated on.

    Parameters
    ----------
    name : str, default ``"digits"``
        The data set; only ``"digits"`` is shipped.

    Returns
    -------
    x : numpy.ndarray
        float32 [540, 1, 8, 8], pixel values in [0, 1], ready for the models' ``input``.
    y : numpy.ndarray
        int64 [540], the digit labels 0-9 (stratified: every class appears 52-55 times).

    Raises
    ------
    ValueError
        If ``name`` is not a shipped test set; the message lists the available names.
    """
    _check_name(name, sorted(_TEST_SETS), "name")
    with np.load(_DATA_DIR / _TEST_SETS[name]) as archive:
        return archive["x"], archive["y"]


def _check_name(name, available: list[str], parameter: str) -> None:
    """Raise a TypeError/ValueError naming ``parameter`` unless ``name`` is in ``available``."""
    if not isinstance(name, str):
        raise TypeError(f"{parameter} must be a string, got {type(name).__name__}")
    if name not in available:
        raise ValueError(f"{parameter}={name!r} is unknown; available: {', '.join(available)}")
