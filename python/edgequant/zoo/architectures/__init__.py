"""Classic vision architectures as ONNX graphs with random weights, built with ``onnx.helper``
and NumPy (no torch): for testing and benchmarking the engine on real network structures.

>>> from edgequant.zoo import architectures
>>> model = architectures.build("resnet18", input_size=64, width=0.25)   # onnx.ModelProto

Each family's file follows the published definition's op structure (torchvision's ResNet,
MobileNetV2, SqueezeNet 1.1 and ShuffleNetV2, timm's EfficientNet-lite0, ultralytics' YOLOv8n);
the files' docstrings list the few deliberate departures. Weights are random (He-normal convs,
BatchNormalization with random positive variance, see ``_graph``), so outputs carry no meaning.
Every model: opset 17, float32, input ``input`` [N, 3, H, W] with a dynamic batch axis N, output
``output`` ([N, classes] for the classifiers; for YOLOv8n [N, 4 + classes, anchors] with the head as
ultralytics exports it, boxes decoded, or [N, 64 + classes, anchors] with ``head="raw"``).
``width`` multiplies the channel widths (1.0 = as published); ``input_size`` is an int (square)
or (H, W).
"""

from __future__ import annotations

import onnx

from .efficientnet import efficientnet_lite0
from .mobilenet import mobilenet_v2
from .resnet import resnet18, resnet50
from .shufflenet import shufflenet_v2
from .squeezenet import squeezenet1_1
from .yolo import yolov8n

__all__ = ["ARCHITECTURES", "CLASSIFIERS", "DETECTORS", "build"]

ARCHITECTURES = {
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1,
    "shufflenet_v2": shufflenet_v2,
    "efficientnet_lite0": efficientnet_lite0,
    "yolov8n": yolov8n,
}
"""name -> builder(input_size, num_classes, seed, width)."""

#: The classifier architectures :func:`build` knows.
CLASSIFIERS = tuple(name for name in ARCHITECTURES if name != "yolov8n")
#: The detector architectures :func:`build` knows.
DETECTORS = ("yolov8n",)
DEFAULT_INPUT_SIZE = {name: (640, 640) if name in DETECTORS else (224, 224) for name in ARCHITECTURES}


def build(name: str, input_size=None, num_classes: int | None = None, seed: int = 0,
          width: float = 1.0, head: str | None = None) -> onnx.ModelProto:
    """The architecture ``name`` as an ONNX model with random weights drawn from ``seed``.

    ``input_size``: int or (H, W), default 224 (640 for yolov8n); ``num_classes``: default 1000
    (80 for yolov8n); ``head``: detectors only, ``"exported"`` (default: the DFL decode and class
    sigmoids as ultralytics' exporter writes them) or ``"raw"`` (the head's convolutions only).
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"name must be one of {sorted(ARCHITECTURES)}, got {name!r}")
    size = DEFAULT_INPUT_SIZE[name] if input_size is None else input_size
    size = (int(size), int(size)) if isinstance(size, (int, float)) else tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 32:
        raise ValueError(f"input_size must be an int or (H, W) of at least 32, got {input_size!r}")
    if not width > 0:
        raise ValueError(f"width must be positive, got {width!r}")
    classes = (80 if name in DETECTORS else 1000) if num_classes is None else int(num_classes)
    if classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes!r}")
    options = {}
    if head is not None:
        if name not in DETECTORS:
            raise ValueError(f"head applies to the detectors {DETECTORS} only, got head={head!r} for {name!r}")
        options["head"] = head
    return ARCHITECTURES[name](input_size=size, num_classes=classes, seed=int(seed), width=float(width), **options)
