"""The real-models suite's cases: the shared third-party models, and every ``zoo.architectures`` graph at
each opset. A module of its own (not conftest): ``from conftest import`` resolves to whichever test
folder's conftest was imported first when several folders are collected in one run."""

import pytest

SHARED_MODELS = ["mnist-8", "cnn_mnist_pytorch", "cifar10_tutorial_cnn", "squeezenet1.0_fp16", "ultraface-rfb-320",
                 "yolo-fastestv2"]
OPSETS = [7, 9, 11, 13, 17]


def _architectures():
    from edgequant.zoo.architectures import ARCHITECTURES

    return list(ARCHITECTURES)


CASES = [f"shared/{name}" for name in SHARED_MODELS] + [
    f"{name}/opset{opset}" for name in _architectures() for opset in OPSETS]

#: Cases an entry point that runs the engine cannot pass yet, with the bug (issue 9) that blocks it.
ENGINE_BLOCKED: dict[str, str] = {}


def engine_case(case: str):
    """The case as a pytest param, xfail(strict) where the engine is known to refuse it."""
    if case in ENGINE_BLOCKED:
        return pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=ENGINE_BLOCKED[case]))
    return case
