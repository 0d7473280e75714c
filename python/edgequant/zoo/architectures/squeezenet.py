"""SqueezeNet 1.1 (torchvision.models.squeezenet1_1): conv3x3/2 (bias) - ReLU, MaxPool 3x3/2
(ceil_mode), eight Fire modules (squeeze 1x1 - ReLU, then expand 1x1 and expand 3x3, each ReLU,
joined by Concat), classifier conv1x1 - ReLU - global average pool - Flatten (Dropout left out).
No BatchNormalization; every conv has a bias."""

from __future__ import annotations

from ._graph import GraphBuilder

FIRES = [(16, 64), (16, 64), "pool", (32, 128), (32, 128), "pool", (48, 192), (48, 192), (64, 256), (64, 256)]


def squeezenet1_1(input_size=(224, 224), num_classes=1000, seed=0, width=1.0):
    b = GraphBuilder("squeezenet1_1", seed)

    def scaled(c):
        return max(4, int(round(c * width)))

    channels = scaled(64)
    y = b.relu(b.conv("input", 3, channels, 3, 2, pad=0, bias=True))
    y = b.max_pool(y, 3, 2, ceil_mode=1)
    for fire in FIRES:
        if fire == "pool":
            y = b.max_pool(y, 3, 2, ceil_mode=1)
            continue
        squeeze, expand = scaled(fire[0]), scaled(fire[1])
        s = b.relu(b.conv(y, channels, squeeze, 1, bias=True))
        expand1 = b.relu(b.conv(s, squeeze, expand, 1, bias=True))
        expand3 = b.relu(b.conv(s, squeeze, expand, 3, bias=True))
        y = b.concat([expand1, expand3])
        channels = 2 * expand
    y = b.relu(b.conv(y, channels, num_classes, 1, bias=True))
    y = b.node("Flatten", [b.node("GlobalAveragePool", [y])], axis=1)
    return b.model("input", y, input_size, [num_classes])
