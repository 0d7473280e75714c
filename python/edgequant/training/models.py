"""The networks of the prune-then-quantize experiments: the paper's CIFAR-10 CNN and a digits CNN.

Paper 002 §III-B: five convolutions with batch normalization, two max-pools, four fully
connected layers with dropout, 32×32×3 in, 10 classes, ≈ 2.1 M parameters. The paper gives no
widths; ours put most parameters in the first FC layer (as such CNNs do) and keep the
convolutions narrow at full resolution so a CPU can train it.
"""

from __future__ import annotations

import torch
from torch import nn

#: Registered model builders: name -> (builder, input shape [C, H, W]).
MODELS = {}


def _register(name, shape):
    def decorate(builder):
        MODELS[name] = (builder, shape)
        return builder
    return decorate


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _classifier(features: int, widths: tuple[int, ...], classes: int, dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for width in widths:
        layers += [nn.Linear(features, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        features = width
    layers.append(nn.Linear(features, classes))
    return nn.Sequential(*layers)


@_register("paper_cifar10_cnn", (3, 32, 32))
def paper_cifar10_cnn(classes: int = 10, dropout: float = 0.3) -> nn.Sequential:
    """Paper 002's CIFAR-10 CNN: 5 conv + BN, 2 max-pools, 4 FC + dropout, 2.06 M parameters.

    conv 3→32 @32², pool, conv 32→32, 32→64 @16², pool, conv 64→64, 64→64 @8²;
    FC 4096→448→256→128→10.
    """
    return nn.Sequential(
        nn.Sequential(*_conv(3, 32), nn.MaxPool2d(2),
                      *_conv(32, 32), *_conv(32, 64), nn.MaxPool2d(2),
                      *_conv(64, 64), *_conv(64, 64)),
        _classifier(64 * 8 * 8, (448, 256, 128), classes, dropout),
    )


@_register("paper_mnist_cnn", (1, 28, 28))
def paper_mnist_cnn(classes: int = 10, dropout: float = 0.3) -> nn.Sequential:
    """Paper 002's layout adapted to MNIST's 28×28×1 (0.25 M parameters), for long CPU runs.

    conv 1→8 @28², pool, conv 8→8, 8→16 @14², pool, conv 16→16, 16→16 @7²;
    FC 784→256→128→64→10. The same five conv + BN, two max-pools and four FC layers with
    dropout, and again most weights in the first FC layer (81 %); narrow convolutions keep a
    training step near 8 ms on one core, so the paper's ~300,000 steps fit a CPU in under an hour.
    """
    return nn.Sequential(
        nn.Sequential(*_conv(1, 8), nn.MaxPool2d(2),
                      *_conv(8, 8), *_conv(8, 16), nn.MaxPool2d(2),
                      *_conv(16, 16), *_conv(16, 16)),
        _classifier(16 * 7 * 7, (256, 128, 64), classes, dropout),
    )


@_register("digits_cnn", (1, 8, 8))
def digits_cnn(classes: int = 10, dropout: float = 0.2) -> nn.Sequential:
    """The same layout scaled to scikit-learn's 8×8 digits (≈ 9 k parameters), for CI and notebooks."""
    return nn.Sequential(
        nn.Sequential(*_conv(1, 8), nn.MaxPool2d(2),
                      *_conv(8, 8), *_conv(8, 16), nn.MaxPool2d(2),
                      *_conv(16, 16), *_conv(16, 16)),
        _classifier(16 * 2 * 2, (64, 48, 32), classes, dropout),
    )


def build_model(name: str, seed: int = 0) -> nn.Module:
    """A freshly initialised model by name (see :data:`MODELS`), seeded."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[name][0]()


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
