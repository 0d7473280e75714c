"""An error is one line even when NumPy warned first (issue 22): the command line holds warnings
while a command runs and prints none before the error line; a command that succeeds prints each
distinct warning as one line. Run as a user runs it (a subprocess with Python's default warning
filters), since pytest's own filters turn warnings into errors."""

from __future__ import annotations

import os
import pathlib
import struct
import subprocess
import sys

import pytest

import edgequant

SOURCE = pathlib.Path(edgequant.__file__).resolve().parents[1]  # the edgequant these tests import


def edgequant(script: str) -> subprocess.CompletedProcess:
    """Run ``script`` (which calls the command line) in a fresh Python with the default warning filters."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")])}
    environment.pop("EDGEQUANT_TRACEBACK", None)
    environment.pop("PYTHONWARNINGS", None)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                          timeout=120)


def _with_divide_by_zero(then: str) -> str:
    return f"""
import sys
import numpy as np
from edgequant import compress
from edgequant.cli import main
from edgequant.zoo import model_path

def decompress_model(source):
    np.float32(1) / np.float32(0)  # RuntimeWarning: divide by zero
    {then}

compress.decompress_model = decompress_model
sys.exit(main(sys.argv[1:]))
"""


def test_no_warning_before_an_error_line(tmp_path):
    eqz = tmp_path / "m.eqz"
    eqz.write_bytes(b"x")
    script = _with_divide_by_zero("raise ValueError('the scale is 0')")
    result = edgequant(script.replace("sys.argv[1:]", repr(["decompress", str(eqz), "-o", str(tmp_path / "r.onnx")])))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["edgequant decompress: error: the scale is 0"], result.stderr


def test_a_warning_of_a_command_that_succeeds_is_one_line(tmp_path):
    eqz = tmp_path / "m.eqz"
    eqz.write_bytes(b"x")
    script = _with_divide_by_zero("import onnx; return onnx.ModelProto()")
    result = edgequant(script.replace("sys.argv[1:]", repr(["decompress", str(eqz), "-o", str(tmp_path / "r.onnx")])))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == ["edgequant decompress: warning: divide by zero encountered in "
                                                   "scalar divide"], result.stderr


def _zero_scale_on_the_first_operators_output(source: pathlib.Path, target: pathlib.Path) -> None:
    """``source`` with the scale of operator 0's output set to 0 (patched in place in the flatbuffer)."""
    tflite = pytest.importorskip("tflite")
    data = bytearray(source.read_bytes())
    graph = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    quantization = graph.Tensors(graph.Operators(0).Outputs(0)).Quantization()
    scales = quantization._tab.Vector(quantization._tab.Offset(8))  # QuantizationParameters.scale: field 2
    struct.pack_into("<f", data, scales, 0.0)
    target.write_bytes(bytes(data))


def test_export_c_of_a_zero_output_scale_is_one_line(shared_data, tmp_path):
    source = shared_data / "tflite" / "pretrainedResnet_quant.tflite"
    if not source.is_file():
        pytest.skip(f"no {source}")
    model = tmp_path / "zero_scale.tflite"
    _zero_scale_on_the_first_operators_output(source, model)
    argv = ["export-c", str(model), "-o", str(tmp_path / "c")]
    script = f"import sys; from edgequant.cli import main; sys.exit(main({argv!r}))"
    result = edgequant(script)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scale" in lines[0] and "Warning" not in result.stderr, result.stderr
    assert not (tmp_path / "c").exists()
