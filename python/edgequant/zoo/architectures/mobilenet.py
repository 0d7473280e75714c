"""MobileNetV2 (torchvision.models.mobilenet_v2): conv3x3/2-BN-ReLU6, 17 inverted residual blocks
(1x1 expand - 3x3 depthwise (group conv) - 1x1 linear projection, ReLU6 as Clip(0, 6), residual
when stride 1 and the channels match), conv1x1 to 1280, global average pool, Flatten, Gemm
(the classifier's Dropout is the identity at inference and is left out)."""

from __future__ import annotations

from ._graph import GraphBuilder, make_divisible

SETTINGS = [  # expansion t, channels c, repeats n, first stride s
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]


def inverted_residual(b: GraphBuilder, x: str, cin: int, cout: int, stride: int, expand: int,
                      kernel: int = 3) -> str:
    hidden = int(round(cin * expand))
    y = b.conv_bn(x, cin, hidden, 1, act="relu6") if expand != 1 else x
    y = b.conv_bn(y, hidden, hidden, kernel, stride, group=hidden, act="relu6")
    y = b.conv_bn(y, hidden, cout, 1, act=None)
    return b.add(x, y) if stride == 1 and cin == cout else y


def mobilenet_v2(input_size=(224, 224), num_classes=1000, seed=0, width=1.0):
    b = GraphBuilder("mobilenet_v2", seed)
    channels = make_divisible(32 * width)
    last = make_divisible(1280 * max(1.0, width))
    y = b.conv_bn("input", 3, channels, 3, 2, act="relu6")
    for t, c, n, s in SETTINGS:
        out = make_divisible(c * width)
        for k in range(n):
            y = inverted_residual(b, y, channels, out, s if k == 0 else 1, t)
            channels = out
    y = b.conv_bn(y, channels, last, 1, act="relu6")
    return b.model("input", b.classifier(y, last, num_classes), input_size, [num_classes])
