"""Shared pytest configuration: the quantizer tests import their NumPy reference by name."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent / "quantizers"))
