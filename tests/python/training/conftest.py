"""The training tests need PyTorch (the ``torch`` extra) and carry the ``torch`` marker. Without
torch they skip (each module calls ``pytest.importorskip``), unless ``EDGEQUANT_REQUIRE_TORCH=1``
(set by CI) makes its absence an error, so that CI cannot skip them silently."""

import importlib.util
import os
import pathlib

import pytest

HERE = pathlib.Path(__file__).parent


def pytest_configure(config):
    if os.environ.get("EDGEQUANT_REQUIRE_TORCH") == "1" and importlib.util.find_spec("torch") is None:
        raise pytest.UsageError("EDGEQUANT_REQUIRE_TORCH=1 but torch is not installed: "
                                ".venv/bin/pip install torch==2.13.0")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).parents and "torch" in vars(item.module):
            item.add_marker(pytest.mark.torch)
