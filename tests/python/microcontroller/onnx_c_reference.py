"""Shared by the ONNX export-c tests (imported as a plain module: pytest puts this folder on sys.path):
build a tiny ONNX model, export it, compile the C as a program (optionally under ASan / UBSan), run it
and measure its distance to our engine's static INT8 output.

The criterion: the existing ONNX export tests (test_onnx_export.py) ask top-1 agreement >= 99 % with
the engine's static mode on real classifiers; the C is not bit-exact with the engine (the engine
keeps float activations between its INT8 layers and rescales in float, with its own weight grids;
the C rounds every activation to int8 and rescales in fixed point). Here every output value is
compared: the C must lie within a number of output quantization steps of the engine's static INT8
output or of ONNX Runtime's float output, whichever is nearer (both are faithful targets; a dropped
attribute or a wrong layout is far from both: 49 to 238 steps in test_onnx_export_semantics.py on the
code before issue 22). Quantization noise grows with depth, and is large in output steps when the
output's range is much smaller than an intermediate one (a Relu output that is almost always 0)."""

from __future__ import annotations

import subprocess

import numpy as np

from edgequant.microcontroller import export_c
from edgequant.microcontroller.host import c_compiler

SANITIZERS = ("-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=all")
#: Largest accepted |C - reference| in output steps for models of one or two layers (measured: at most 2.1
#: steps from the engine, 1.8 from the nearer reference, in test_onnx_export_semantics.py).
TOLERANCE_STEPS = 4.0
#: The same for the fuzzer's random graphs of up to a dozen layers (measured: at most 12.1 over 1000 graphs,
#: seeds 1000-1999, a Softmax over 120 values — output grid 1/256 — feeding a Gemm).
FUZZ_TOLERANCE_STEPS = 16.0

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "model.h"

/* Reads inputs of EDGEQUANT_INPUT_SIZE bytes from stdin until EOF, writes each output to stdout.
 * Exactly sized heap buffers: AddressSanitizer reports any access past either. */
int main(void) {
    int8_t *input = malloc(EDGEQUANT_INPUT_SIZE), *output = malloc(EDGEQUANT_OUTPUT_SIZE);
    if (!input || !output) return 2;
    while (fread(input, 1, EDGEQUANT_INPUT_SIZE, stdin) == EDGEQUANT_INPUT_SIZE) {
        if (edgequant_invoke(input, output) != 0) return 3;
        if (fwrite(output, 1, EDGEQUANT_OUTPUT_SIZE, stdout) != EDGEQUANT_OUTPUT_SIZE) return 4;
    }
    free(input);
    free(output);
    return 0;
}
"""


def make_model(nodes, input_shape, output_name, initializers=(), opset=13):
    """An ONNX model with one float input ``x`` and one output (its shape left to inference); the
    initializers keep their NumPy dtypes (float32 weights, int64 shapes)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
                              [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.asarray(value), name) for name, value in initializers])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def save(model, path):
    import onnx

    onnx.save(model, str(path))
    return path


def sanitized_runtime(directory):
    """The runtime's kernels built once with :data:`SANITIZERS`; skips the test where the sanitizer
    runtimes cannot be linked (objects compile without them: probe a link first)."""
    import pytest

    source = directory / "probe.c"
    source.write_text("int main(void) { return 0; }\n")
    probe = subprocess.run([c_compiler(), *SANITIZERS, str(source), "-o", str(directory / "probe")],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot link with the sanitizers here: {probe.stderr[-300:]}")
    return compile_runtime(directory, SANITIZERS)


def compile_runtime(directory, flags=("-O2",)):
    """The runtime's kernels compiled once into object files (every export copies the same sources)."""
    from edgequant.microcontroller.runtime_sources import runtime_dir

    objects = []
    for source in sorted(runtime_dir().glob("*.c")):
        target = directory / f"{source.stem}.o"
        result = subprocess.run([c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", *flags,
                                 f"-I{runtime_dir()}", "-c", str(source), "-o", str(target)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"compiling {source.name} failed:\n{result.stderr[-4000:]}")
        objects.append(target)
    return objects


def build_program(directory, flags=("-O2",), runtime_objects=None):
    """Compile the exported folder plus :data:`HARNESS` into ``directory/model_main`` (only ``model.c`` when
    the runtime's ``runtime_objects`` are given, built with the same flags)."""
    harness = directory / "harness_main.c.txt"
    harness.write_text(HARNESS)
    binary = directory / "model_main"
    if runtime_objects is None:
        sources = sorted(str(p) for p in directory.glob("*.c"))
    else:
        sources = [str(directory / "model.c"), *map(str, runtime_objects)]
    command = [c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", *flags, f"-I{directory}", *sources,
               "-x", "c", str(harness), "-o", str(binary)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"compiling the exported model failed:\n{result.stderr[-4000:]}")
    return binary


def run_program(binary, report, x_int8):
    """Outputs (batch, output size) int8; raises with the sanitizer's report on any failure."""
    data = np.ascontiguousarray(x_int8, np.int8).reshape(len(x_int8), -1)
    assert data.shape[1] == report.graph.input_activation.size
    result = subprocess.run([str(binary)], input=data.tobytes(), capture_output=True, timeout=60, check=False)
    if result.returncode != 0 or result.stderr:
        raise AssertionError(f"{binary} exited {result.returncode}:\n{result.stderr.decode(errors='replace')[-4000:]}")
    out = np.frombuffer(result.stdout, np.int8)
    return out.reshape(len(data), report.graph.output_activation.size)


def c_output(report, q):
    """Dequantized C outputs in ONNX's layout (a 4-D output is NHWC in C)."""
    activation = report.graph.output_activation
    values = report.graph.dequantize_output(q)
    if len(activation.shape) == 4:
        values = values.reshape(len(q), *activation.shape[1:]).transpose(0, 3, 1, 2)  # batch 1 per call
    return values


def engine_output(path, calibration, x):
    from edgequant.engine import Engine

    # the C export's 8-bit weights: the reference backend sums them exactly on any CPU (oneDNN w/o VNNI: 7 bits)
    engine = Engine(str(path), mode="static", calibration=calibration, calibration_batch_size=1, progress=False,
                    backend="reference", reduce_range=False)
    return np.concatenate([engine.run(x[i:i + 1])[0] for i in range(len(x))])


def float_output(path, x):
    """ONNX Runtime's float output, one sample at a time (the models have batch 1)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def export_run_compare(path, calibration, x, directory, flags=("-O2",), runtime_objects=None):
    """Export ``path`` and run the C on ``x``.

    Returns
    -------
    steps : float
        max |C - reference| in output quantization steps, for the nearer reference: the engine's static
        INT8 output or ONNX Runtime's float output (either is a faithful quantization target; a wrong
        layout or a dropped attribute is far from both). Where ONNX Runtime refuses a valid model (it
        runs no dilated Conv with SAME padding), the engine alone: ``float_steps`` is infinite.
    report : ExportReport
    details : dict
        ``engine_steps``, ``float_steps`` and the three outputs.
    """
    report = export_c(path, directory, calibration=calibration)
    binary = build_program(report.directory, flags, runtime_objects)
    want = engine_output(path, calibration, x)
    try:
        reference = float_output(path, x)
    except Exception as refusal:  # noqa: BLE001 - ORT's exception classes are private to its bindings
        if "not supported" not in str(refusal):  # only ORT's own limits (a dilated SAME Conv): engine alone
            raise
        reference = np.full(want.shape, np.inf, np.float32)
    got = c_output(report, run_program(binary, report, report.graph.quantize_input(x))).reshape(want.shape)
    scale = report.graph.output_activation.scale
    details = {"engine_steps": float(np.max(np.abs(got - want)) / scale),
               "float_steps": float(np.max(np.abs(got - reference.reshape(want.shape))) / scale),
               "c": got, "engine": want, "float": reference}
    return min(details["engine_steps"], details["float_steps"]), report, details
