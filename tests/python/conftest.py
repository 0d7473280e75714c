"""Fixtures shared by every Python test."""

import os
import pathlib
import sys
from collections import Counter

import pytest

from edgequant.datasets import DATA_ENV_VAR, shared_data_dir

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


def pytest_terminal_summary(terminalreporter):
    """Say how many tests skipped and why, grouped by reason (a fresh clone without the shared
    data folder skips dozens; the count and the reason belong in the last lines)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = Counter(_skip_reason(report) for report in skipped)
    terminalreporter.section(f"{len(skipped)} skipped")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:>5} x {reason}")


def _skip_reason(report) -> str:
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)
