"""ResNet-18 (BasicBlock) and ResNet-50 (Bottleneck, stride on the 3x3 as torchvision's v1.5),
following torchvision.models.resnet: conv7x7/2-BN-ReLU, MaxPool 3x3/2, four stages, global
average pool, Flatten, Gemm."""

from __future__ import annotations

from ._graph import GraphBuilder


def _basic(b: GraphBuilder, x: str, cin: int, planes: int, stride: int) -> tuple[str, int]:
    y = b.conv_bn(x, cin, planes, 3, stride)
    y = b.conv_bn(y, planes, planes, 3, 1, act=None)
    identity = b.conv_bn(x, cin, planes, 1, stride, act=None) if stride != 1 or cin != planes else x
    return b.relu(b.add(y, identity)), planes


def _bottleneck(b: GraphBuilder, x: str, cin: int, planes: int, stride: int) -> tuple[str, int]:
    cout = planes * 4
    y = b.conv_bn(x, cin, planes, 1)
    y = b.conv_bn(y, planes, planes, 3, stride)
    y = b.conv_bn(y, planes, cout, 1, act=None)
    identity = b.conv_bn(x, cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else x
    return b.relu(b.add(y, identity)), cout


def _resnet(name, block, layers, input_size, num_classes, seed, width):
    b = GraphBuilder(name, seed)
    widths = [max(8, int(round(c * width))) for c in (64, 128, 256, 512)]
    y = b.conv_bn("input", 3, widths[0], 7, 2)
    y = b.max_pool(y, 3, 2, 1)
    channels = widths[0]
    for stage, (planes, blocks) in enumerate(zip(widths, layers, strict=True)):
        for k in range(blocks):
            y, channels = block(b, y, channels, planes, 2 if stage > 0 and k == 0 else 1)
    return b.model("input", b.classifier(y, channels, num_classes), input_size, [num_classes])


def resnet18(input_size=(224, 224), num_classes=1000, seed=0, width=1.0):
    return _resnet("resnet18", _basic, [2, 2, 2, 2], input_size, num_classes, seed, width)


def resnet50(input_size=(224, 224), num_classes=1000, seed=0, width=1.0):
    return _resnet("resnet50", _bottleneck, [3, 4, 6, 3], input_size, num_classes, seed, width)
