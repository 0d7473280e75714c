"""export-c's contract: the files and API the issue names, a program built with plain cc, budgets and
unsupported operators reported clearly, and the command line."""

import re
import subprocess

import numpy as np
import pytest
from mcu_models import MLPERF_TINY

from edgequant.cli import main
from edgequant.microcontroller import BudgetExceededError, UnsupportedModelError, export_c
from edgequant.microcontroller.host import c_compiler

APP = r"""
#include <stdio.h>
#include "model.h"
int main(void) {
    static int8_t input[EDGEQUANT_INPUT_SIZE];
    static int8_t output[EDGEQUANT_OUTPUT_SIZE];
    int i;
    for (i = 0; i < EDGEQUANT_INPUT_SIZE; ++i) input[i] = (int8_t)(i * 7 % 256 - 128);
    if (edgequant_invoke(input, output) != 0) return 1;
    if (edgequant_invoke(NULL, output) != -1) return 2;
    for (i = 0; i < EDGEQUANT_OUTPUT_SIZE; ++i) printf("%d ", output[i]);
    return 0;
}
"""


def test_model_header_declares_the_api(exported):
    report, _ = exported("kws")
    header = (report.directory / "model.h").read_text()
    assert f"#define EDGEQUANT_INPUT_SIZE {49 * 10}" in header
    assert "#define EDGEQUANT_OUTPUT_SIZE 12" in header
    assert "int edgequant_invoke(const int8_t *input, int8_t *output);" in header
    assert 'extern "C"' in header
    source = (report.directory / "model.c").read_text()
    assert "malloc" not in source and "float" not in source and "double" not in source
    # one mutable object: the arena; every other array is const
    assert len(re.findall(r"^static (?!const)", source, re.M)) == 1


def test_plain_cc_builds_and_matches_the_host_library(exported, tmp_path):
    report, host = exported("kws")
    app = tmp_path / "app.c"
    app.write_text(APP)
    binary = tmp_path / "app"
    sources = [str(p) for p in sorted(report.directory.glob("*.c"))]
    build = subprocess.run([c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", *sources, str(app),
                            f"-I{report.directory}", "-o", str(binary)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    x = np.array([(i * 7 % 256) - 128 for i in range(report.graph.input_activation.size)], np.int8)
    assert [int(v) for v in run.stdout.split()] == host(x).tolist()


def test_budgets_fail_with_the_largest_tensors_named(tflite_dir, tmp_path):
    model = tflite_dir / MLPERF_TINY["vww"]
    with pytest.raises(BudgetExceededError, match=r"arena needs .* over the 8 KB budget.*largest activations"):
        export_c(model, tmp_path / "a", ram_kb=8)
    with pytest.raises(BudgetExceededError, match=r"flash, over the 64 KB budget.*largest: conv_2d_\d+\.filter"):
        export_c(model, tmp_path / "b", flash_kb=64)
    with pytest.raises(ValueError, match="ram_kb must be a positive number"):
        export_c(model, tmp_path / "c", ram_kb=-1)
    assert not (tmp_path / "a").exists()  # nothing written when it does not fit
    report = export_c(model, tmp_path / "d", flash_kb=1024, ram_kb=256)
    assert report.arena_bytes <= 256 * 1024


def test_unsupported_operators_are_listed_at_once(tflite_dir):
    from edgequant.microcontroller.tflite_frontend import from_tflite
    from edgequant.tflite import read_tflite

    model = read_tflite(tflite_dir / MLPERF_TINY["resnet8"])
    model.operators[0].kind = "TANH"
    model.operators[5].kind = "CUSTOM:Mystery"
    model.operators[3].options["activation"] = "SIGN_BIT"
    with pytest.raises(UnsupportedModelError) as error:
        from_tflite(model)
    message = str(error.value)
    assert "operator 0 TANH" in message and "operator 5 CUSTOM:Mystery" in message and "SIGN_BIT" in message


def test_float_models_are_refused_with_the_reason(tflite_dir, tmp_path):
    with pytest.raises(UnsupportedModelError, match="float32, not int8"):
        export_c(tflite_dir / "pretrainedResnet.tflite", tmp_path)


def test_bad_paths_and_formats(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model"):
        export_c(tmp_path / "missing.tflite", tmp_path / "out")
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ValueError, match="not a TFLite flatbuffer"):
        export_c(bogus, tmp_path / "out")
    with pytest.raises(ValueError, match="calibration data is for ONNX models"):
        export_c(bogus, tmp_path / "out", calibration=np.zeros((1, 4), np.float32))
    other = tmp_path / "model.pb"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"\.tflite or \.onnx"):
        export_c(other, tmp_path / "out")


def test_cli_exports_and_reports_errors_without_a_traceback(tflite_dir, tmp_path, capsys):
    assert main(["export-c", str(tflite_dir / MLPERF_TINY["kws"]), "-o", str(tmp_path / "kws")]) == 0
    assert "arena" in capsys.readouterr().out and (tmp_path / "kws" / "model.c").is_file()
    assert main(["export-c", str(tflite_dir / MLPERF_TINY["vww"]), "-o", str(tmp_path / "v"), "--ram-kb", "4"]) == 1
    err = capsys.readouterr().err
    assert "export-c: error: the model does not fit" in err and "Traceback" not in err
    assert main(["export-c", str(tflite_dir / "vww_96_float.tflite"), "-o", str(tmp_path / "f")]) == 1
    assert "cannot run this model" in capsys.readouterr().err


def test_onnx_model_the_c_cannot_run_is_refused_in_one_line(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Sin", ["x"], ["a"]), helper.make_node("Cos", ["a"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(UnsupportedModelError) as error:
        export_c(path, tmp_path / "out", calibration=np.zeros((1, 4), np.float32))
    message = str(error.value)
    assert "\n" not in message and "Sin" in message and "Cos" in message, message
