"""YOLOv8n (ultralytics yolov8.yaml at scale n: depth 0.33, width 0.25, max channels 1024).

Conv = Conv2d (no bias) - BN - SiLU, SiLU written as x * Sigmoid(x) (Mul + Sigmoid, as exported).
C2f: Conv1x1 to 2c, Split in two halves, n Bottlenecks (two Conv3x3, residual in the backbone)
chained on the last half, Concat of all the pieces, Conv1x1. SPPF: Conv1x1, three chained
MaxPool 5x5/1 (pad 2), Concat, Conv1x1. The neck upsamples by Resize (nearest, scales 2) and
concatenates with the backbone's P4 / P3, then goes back down with stride-2 Convs (PAN).

Detect head: per level (P3/8, P4/16, P5/32) a box branch (Conv3x3, Conv3x3, Conv2d 1x1 to
4 * reg_max = 64 channels, with bias) and a class branch (Conv3x3, Conv3x3, Conv2d 1x1 to the
classes, with bias), concatenated on channels, reshaped to [N, 64 + classes, H*W] and
concatenated over the levels: [N, 64 + classes, 8400] at 640x640.

``head="exported"`` (the default) ends as ultralytics' ONNX exporter writes it: Split into the 64
box channels and the class channels; DFL: Reshape [N, 4, 16, A], Transpose (0, 2, 1, 3), Softmax
over the 16 bins (axis 1), a 1x1 Conv with the fixed weights 0..15 (the expected bin), Reshape
[N, 4, A]; dist2bbox: Slice into left-top / right-bottom distances, x1y1 = anchors - lt,
x2y2 = anchors + rb, centre = (x1y1 + x2y2) / 2, size = x2y2 - x1y1, Concat, Mul by the strides
(anchors at cell centres, in grid units, as constants); Concat with Sigmoid(classes): output
[N, 4 + classes, A], boxes as (cx, cy, w, h) in input pixels. ``head="raw"`` stops before the
decode: output [N, 64 + classes, A].
``width`` multiplies the n-scale channel widths (1.0 = YOLOv8n as published).
"""

from __future__ import annotations

import numpy as np

from ._graph import GraphBuilder, make_divisible

DEPTH, WIDTH, MAX_CHANNELS, REG_MAX = 0.33, 0.25, 1024, 16
STRIDES = (8, 16, 32)
HEADS = ("exported", "raw")


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


def anchor_points(input_size) -> tuple[np.ndarray, np.ndarray]:
    """ultralytics' make_anchors (offset 0.5): anchors [1, 2, A] (x, y of each cell centre in grid
    units, level by level, row-major) and strides [1, A]."""
    points, strides = [], []
    for stride in STRIDES:
        h, w = input_size[0] // stride, input_size[1] // stride
        y, x = np.meshgrid(np.arange(h, dtype=np.float32) + 0.5, np.arange(w, dtype=np.float32) + 0.5, indexing="ij")
        points.append(np.stack([x.ravel(), y.ravel()]))
        strides.append(np.full(h * w, stride, np.float32))
    return np.concatenate(points, 1)[None], np.concatenate(strides)[None]


def _exported_head(b: GraphBuilder, raw: str, num_classes: int, input_size) -> str:
    """The DFL decode and dist2bbox of ultralytics' Detect head in export mode (see the module doc)."""
    box, cls = b.split(raw, [4 * REG_MAX, num_classes])
    bins = b.node("Softmax", [b.node("Transpose", [b.reshape(box, [0, 4, REG_MAX, -1])], perm=[0, 2, 1, 3])], axis=1)
    expected = b.const(np.arange(REG_MAX, dtype=np.float32).reshape(1, REG_MAX, 1, 1), "dfl_w")
    distance = b.reshape(b.node("Conv", [bins, expected], kernel_shape=[1, 1]), [0, 4, -1])

    def channels(start, end):  # torch's chunk(2, dim=1) as the exporter writes it
        bounds = [b.const(np.array([v], np.int64), "slice") for v in (start, end, 1)]
        return b.node("Slice", [distance, *bounds])

    lt, rb = channels(0, 2), channels(2, 4)
    points, strides = anchor_points(input_size)
    anchors = b.const(points, "anchors")
    x1y1, x2y2 = b.node("Sub", [anchors, lt]), b.node("Add", [anchors, rb])
    centre = b.node("Div", [b.node("Add", [x1y1, x2y2]), b.const(np.array(2, np.float32), "two")])
    size = b.node("Sub", [x2y2, x1y1])
    boxes = b.node("Mul", [b.concat([centre, size]), b.const(strides, "strides")])
    return b.concat([boxes, b.node("Sigmoid", [cls])])


def yolov8n(input_size=(640, 640), num_classes=80, seed=0, width=1.0, head="exported"):
    if input_size[0] % 32 or input_size[1] % 32:
        raise ValueError(f"input_size must be a multiple of 32 for YOLOv8, got {input_size}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
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
    anchors = sum((input_size[0] // s) * (input_size[1] // s) for s in STRIDES)
    raw = b.concat(outputs, axis=2)
    if head == "raw":
        return b.model("input", raw, input_size, [4 * REG_MAX + num_classes, anchors])
    return b.model("input", _exported_head(b, raw, num_classes, input_size), input_size, [4 + num_classes, anchors])
