"""YOLOv8n (ultralytics yolov8.yaml at scale n: depth 0.33, width 0.25, max channels 1024).

Conv = Conv2d (no bias) - BN - SiLU, SiLU written as x * Sigmoid(x) (Mul + Sigmoid, as exported).
C2f: Conv1x1 to 2c, Split in two halves, n Bottlenecks (two Conv3x3, residual in the backbone)
chained on the last half, Concat of all the pieces, Conv1x1. SPPF: Conv1x1, three chained
MaxPool 5x5/1 (pad 2), Concat, Conv1x1. The neck upsamples by Resize (nearest, scales 2) and
concatenates with the backbone's P4 / P3, then goes back down with stride-2 Convs (PAN).

Detect head: per level (P3/8, P4/16, P5/32) a box branch (Conv3x3, Conv3x3, Conv2d 1x1 to
4 * reg_max = 64 channels, with bias) and a class branch (Conv3x3, Conv3x3, Conv2d 1x1 to the
classes, with bias), concatenated on channels, reshaped to [N, 64 + classes, H*W] and
concatenated over the levels: output [N, 64 + classes, 8400] at 640x640. The export stops there:
the DFL decode (softmax over 16 bins, anchors, strides) and the class Sigmoid are left out.
``width`` multiplies the n-scale channel widths (1.0 = YOLOv8n as published).
"""

from __future__ import annotations

from ._graph import GraphBuilder, make_divisible

DEPTH, WIDTH, MAX_CHANNELS, REG_MAX = 0.33, 0.25, 1024, 16


def _conv(b: GraphBuilder, x: str, cin: int, cout: int, kernel: int, stride: int = 1) -> str:
    return b.conv_bn(x, cin, cout, kernel, stride, act="silu")


def _c2f(b: GraphBuilder, x: str, cin: int, cout: int, n: int, shortcut: bool) -> str:
    c = int(cout * 0.5)
    pieces = list(b.split(_conv(b, x, cin, 2 * c, 1), [c, c]))
    for _ in range(n):
        y = _conv(b, _conv(b, pieces[-1], c, c, 3), c, c, 3)
        pieces.append(b.add(pieces[-1], y) if shortcut else y)
    return _conv(b, b.concat(pieces), (2 + n) * c, cout, 1)


def _sppf(b: GraphBuilder, x: str, cin: int, cout: int, kernel: int = 5) -> str:
    hidden = cin // 2
    pieces = [_conv(b, x, cin, hidden, 1)]
    for _ in range(3):
        pieces.append(b.max_pool(pieces[-1], kernel, 1, kernel // 2))
    return _conv(b, b.concat(pieces), 4 * hidden, cout, 1)


def yolov8n(input_size=(640, 640), num_classes=80, seed=0, width=1.0):
    if input_size[0] % 32 or input_size[1] % 32:
        raise ValueError(f"input_size must be a multiple of 32 for YOLOv8, got {input_size}")
    b = GraphBuilder("yolov8n", seed)

    def ch(c):
        return make_divisible(min(c, MAX_CHANNELS) * WIDTH * width, 8)

    def depth(n):
        return max(round(n * DEPTH), 1)

    # backbone
    x = _conv(b, "input", 3, ch(64), 3, 2)                      # 0  P1/2
    x = _conv(b, x, ch(64), ch(128), 3, 2)                      # 1  P2/4
    x = _c2f(b, x, ch(128), ch(128), depth(3), True)            # 2
    x = _conv(b, x, ch(128), ch(256), 3, 2)                     # 3  P3/8
    p3 = _c2f(b, x, ch(256), ch(256), depth(6), True)           # 4
    x = _conv(b, p3, ch(256), ch(512), 3, 2)                    # 5  P4/16
    p4 = _c2f(b, x, ch(512), ch(512), depth(6), True)           # 6
    x = _conv(b, p4, ch(512), ch(1024), 3, 2)                   # 7  P5/32
    x = _c2f(b, x, ch(1024), ch(1024), depth(3), True)          # 8
    p5 = _sppf(b, x, ch(1024), ch(1024))                        # 9
    # neck
    x = b.concat([b.upsample(p5), p4])                          # 10, 11
    n12 = _c2f(b, x, ch(1024) + ch(512), ch(512), depth(3), False)          # 12
    x = b.concat([b.upsample(n12), p3])                         # 13, 14
    out3 = _c2f(b, x, ch(512) + ch(256), ch(256), depth(3), False)          # 15 (P3/8)
    x = b.concat([_conv(b, out3, ch(256), ch(256), 3, 2), n12])              # 16, 17
    out4 = _c2f(b, x, ch(256) + ch(512), ch(512), depth(3), False)          # 18 (P4/16)
    x = b.concat([_conv(b, out4, ch(512), ch(512), 3, 2), p5])               # 19, 20
    out5 = _c2f(b, x, ch(512) + ch(1024), ch(1024), depth(3), False)        # 21 (P5/32)
    # detect head (raw outputs)
    levels = [(out3, ch(256)), (out4, ch(512)), (out5, ch(1024))]
    c2 = max(16, levels[0][1] // 4, REG_MAX * 4)
    c3 = max(levels[0][1], min(num_classes, 100))
    outputs = []
    for feature, cin in levels:
        box = _conv(b, _conv(b, feature, cin, c2, 3), c2, c2, 3)
        box = b.conv(box, c2, 4 * REG_MAX, 1, bias=True)
        cls = _conv(b, _conv(b, feature, cin, c3, 3), c3, c3, 3)
        cls = b.conv(cls, c3, num_classes, 1, bias=True)
        outputs.append(b.reshape(b.concat([box, cls]), [0, 4 * REG_MAX + num_classes, -1]))
    anchors = sum((input_size[0] // s) * (input_size[1] // s) for s in (8, 16, 32))
    return b.model("input", b.concat(outputs, axis=2), input_size, [4 * REG_MAX + num_classes, anchors])
