"""Fixtures of the example suite: the embedded digits CNN, its test split and its FP32 outputs.

``eq_model``, ``eq_data`` and ``eq_record`` come from edgequant's pytest plugin (installed with
edgequant); these fixtures only avoid repeating the setup in every test.
"""

import pytest

from edgequant.evaluate import Evaluator


@pytest.fixture(scope="session")
def digits(eq_model, eq_data):
    """An evaluator of the embedded ``digits_cnn`` on its 540 held-out images (FP32 outputs cached)."""
    x, y = eq_data("digits")
    return Evaluator(eq_model("digits_cnn"), x, y, threads=1)


@pytest.fixture(scope="session")
def fp32_top1(digits):
    """Top-1 accuracy of the FP32 model: the reference of every budget."""
    return digits.score(digits.reference_outputs)["top1"]
