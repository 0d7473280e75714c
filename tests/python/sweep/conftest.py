"""Fixtures of the sweep tests: one clean local sweep shared by the tests that compare to it."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from sweep_fixtures import SMALL_GRID  # noqa: E402

from edgequant import zoo  # noqa: E402
from edgequant.sweep import run_sweep  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    return zoo.load_test_set()


@pytest.fixture(scope="session")
def clean_sweep(tmp_path_factory, digits):
    """SMALL_GRID on digits_cnn with the default local process pool (2 workers)."""
    x, y = digits
    db = tmp_path_factory.mktemp("clean") / "results.sqlite"
    return run_sweep(zoo.model_path(), x, y, grid=SMALL_GRID, db=db, progress=False)
