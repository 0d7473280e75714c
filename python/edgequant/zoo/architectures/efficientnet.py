"""EfficientNet-lite0 (the TF-Lite variant of EfficientNet-B0, as timm's efficientnet_lite0):
MBConv blocks with ReLU6 instead of Swish and no squeeze-and-excitation, a stem of 32 and a head
of 1280 channels that are not scaled. conv3x3/2-BN-ReLU6, 16 MBConv blocks (1x1 expand - kxk
depthwise - 1x1 linear, residual when stride 1 and channels match; drop-connect is the identity at
inference), conv1x1-BN-ReLU6, global average pool, Flatten, Gemm. Padding is symmetric (k // 2)."""

from __future__ import annotations

from ._graph import GraphBuilder, make_divisible
from .mobilenet import inverted_residual

BLOCKS = [  # expansion, kernel, stride, channels out, repeats (lite0: width 1.0, depth 1.0)
    (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
]


def efficientnet_lite0(input_size=(224, 224), num_classes=1000, seed=0, width=1.0):
    b = GraphBuilder("efficientnet_lite0", seed)
    stem, head = make_divisible(32 * width), make_divisible(1280 * width)  # 1.0: 32 and 1280 as published
    y = b.conv_bn("input", 3, stem, 3, 2, act="relu6")
    channels = stem
    for expand, kernel, stride, out, repeats in BLOCKS:
        out = make_divisible(out * width)
        for k in range(repeats):
            y = inverted_residual(b, y, channels, out, stride if k == 0 else 1, expand, kernel)
            channels = out
    y = b.conv_bn(y, channels, head, 1, act="relu6")
    return b.model("input", b.classifier(y, head, num_classes), input_size, [num_classes])
