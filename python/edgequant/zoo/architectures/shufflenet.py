"""ShuffleNetV2 x1.0 (torchvision.models.shufflenet_v2_x1_0): conv3x3/2-BN-ReLU, MaxPool 3x3/2,
stages of 4 / 8 / 4 units, conv1x1-BN-ReLU to 1024, global pool, Gemm. A stride-1 unit splits the
channels in two halves (Split), runs 1x1-BN-ReLU, depthwise 3x3-BN, 1x1-BN-ReLU on the second,
concatenates; a stride-2 unit runs a depthwise + 1x1 branch on the whole input beside it. Both end
in a channel shuffle: Reshape [N, 2, C/2, H, W], Transpose (0, 2, 1, 3, 4), Reshape [N, C, H, W].
torchvision's final x.mean([2, 3]) is written as GlobalAveragePool + Flatten (the same values;
the engine has no ReduceMean)."""

from __future__ import annotations

from ._graph import GraphBuilder

STAGE_CHANNELS = [24, 116, 232, 464, 1024]
REPEATS = [4, 8, 4]


def _shuffle(b: GraphBuilder, x: str, height: int, width: int) -> str:
    y = b.reshape(x, [0, 2, -1, height, width])
    y = b.node("Transpose", [y], perm=[0, 2, 1, 3, 4])
    return b.reshape(y, [0, -1, height, width])


def _unit(b: GraphBuilder, x: str, cin: int, cout: int, stride: int, size: tuple[int, int]) -> tuple[str, tuple]:
    half = cout // 2
    if stride == 1:
        left, right = b.split(x, [cin // 2, cin // 2])
        branch_in = cin // 2
    else:
        left = b.conv_bn(x, cin, cin, 3, 2, group=cin, act=None)
        left = b.conv_bn(left, cin, half, 1)
        right, branch_in = x, cin
    right = b.conv_bn(right, branch_in, half, 1)
    right = b.conv_bn(right, half, half, 3, stride, group=half, act=None)
    right = b.conv_bn(right, half, half, 1)
    if stride == 2:
        size = ((size[0] - 1) // 2 + 1, (size[1] - 1) // 2 + 1)
    return _shuffle(b, b.concat([left, right]), *size), size


def shufflenet_v2(input_size=(224, 224), num_classes=1000, seed=0, width=1.0):
    b = GraphBuilder("shufflenet_v2", seed)
    channels = [STAGE_CHANNELS[0]] + [2 * max(4, int(round(c * width / 2))) for c in STAGE_CHANNELS[1:4]]
    channels.append(max(16, int(round(STAGE_CHANNELS[4] * width))))
    y = b.conv_bn("input", 3, channels[0], 3, 2)
    y = b.max_pool(y, 3, 2, 1)
    size = tuple(input_size)
    for _ in range(2):  # conv1 and maxpool: k3 s2 p1
        size = ((size[0] - 1) // 2 + 1, (size[1] - 1) // 2 + 1)
    cin = channels[0]
    for stage, repeats in enumerate(REPEATS):
        cout = channels[stage + 1]
        for k in range(repeats):
            y, size = _unit(b, y, cin, cout, 2 if k == 0 else 1, size)
            cin = cout
    y = b.conv_bn(y, cin, channels[4], 1)
    return b.model("input", b.classifier(y, channels[4], num_classes), input_size, [num_classes])
