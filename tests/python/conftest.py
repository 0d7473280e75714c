"""Fixtures shared by every Python test."""

import os
import pathlib
import sys

import pytest

from edgequant.data import DATA_ENV_VAR, shared_data_dir

# The quantizer tests import their NumPy reference (tests/python/quantizers/quantizer_reference.py).
sys.path.insert(0, str(pathlib.Path(__file__).parent / "quantizers"))


@pytest.fixture(scope="session")
def shared_data():
    """The shared third-party data folder; skips (with the reason) only when it is absent."""
    folder = shared_data_dir()
    if folder is None:
        configured = os.environ.get(DATA_ENV_VAR)
        where = f"{DATA_ENV_VAR}={configured!r}" if configured else "<repo>/../shared/data"
        pytest.skip(f"shared data folder absent ({where}); set {DATA_ENV_VAR} to run these tests")
    return folder
