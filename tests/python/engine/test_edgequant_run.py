"""edgequant-run, the engine's command-line runner: every mode on a shipped model, static INT8
calibrated as the Python front end would on the same inputs."""

import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgequant import Engine, zoo
from edgequant.engine import supported_backends

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODEL = zoo.model_path("digits_cnn_small")


# ELF e_machine of this interpreter's architecture: a cross build (build/arm) is not a candidate.
_ELF_MACHINES = {"x86_64": 62, "aarch64": 183, "arm64": 183}


def _runs_here(path):
    header = path.read_bytes()[:20]
    machine = _ELF_MACHINES.get(platform.machine())
    return header[:4] == b"\x7fELF" and (machine is None or int.from_bytes(header[18:20], "little") == machine)


@pytest.fixture(scope="module")
def binary():
    """$EDGEQUANT_RUN, else the newest in-tree build (build/*/cpp/engine), else the installed command."""
    if os.environ.get("EDGEQUANT_RUN"):
        return os.environ["EDGEQUANT_RUN"]
    built = sorted((p for p in ROOT.glob("build/*/cpp/engine/edgequant-run") if _runs_here(p)),
                   key=lambda p: p.stat().st_mtime)
    if built:
        return str(built[-1])
    installed = shutil.which("edgequant-run", path=os.pathsep.join([str(pathlib.Path(sys.executable).parent),
                                                                     os.environ.get("PATH", "")]))
    if installed is None:
        pytest.skip("no edgequant-run binary: build the engine or set EDGEQUANT_RUN")
    return installed


def _run(binary, *args):
    result = subprocess.run([binary, str(MODEL), "--runs", "2", "--threads", "1", *args], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _output_sum(stdout):
    return float(re.search(r"^output \S+ \[1, 10\] sum (\S+) bits [0-9a-f]{16}$", stdout, re.MULTILINE).group(1))


def _inputs(seed):
    """The binary's input for one seed: x_k = (s_k >> 8) / 2^24, s_k = 1664525 s_(k-1) + 1013904223 mod 2^32."""
    values, state = np.empty(64, np.float32), seed
    for k in range(64):
        state = (state * 1664525 + 1013904223) % 2**32
        values[k] = (state >> 8) / 16777216.0
    return values.reshape(1, 1, 8, 8)


def test_static_mode_calibrates_on_other_inputs_than_the_timed_one(binary):
    sums = {}
    for count in (1, 3):
        stdout = _run(binary, "--mode", "static", "--calibration", str(count))
        assert "mode static" in stdout
        # seeds 12346, 12347, ...: the timed input's 12345 is not among them
        engine = Engine(MODEL, mode="static", calibration=np.concatenate([_inputs(12346 + k) for k in range(count)]))
        assert f"calibration: minmax ranges of {len(engine.ranges)} tensors over {count} inputs" in stdout
        (expected,) = engine.run(_inputs(12345))
        sums[count] = _output_sum(stdout)
        assert sums[count] == pytest.approx(float(expected.sum()), abs=5e-4)  # printed to 6 digits
    assert abs(sums[1] - sums[3]) > 2e-3  # > twice the 5e-4 above: the comparison tells calibrations apart


@pytest.mark.parametrize("method", ["percentile", "entropy", "mse"])
def test_static_methods_match_the_python_engine(binary, method):
    """--method picks the same range strategy as Engine(method=...) on the same calibration inputs."""
    stdout = _run(binary, "--mode", "static", "--method", method, "--calibration", "3")
    assert f"calibration: {method} ranges of" in stdout
    calibration = np.concatenate([_inputs(12346 + k) for k in range(3)])
    engine = Engine(MODEL, mode="static", method=method, calibration=calibration)
    (expected,) = engine.run(_inputs(12345))
    assert _output_sum(stdout) == pytest.approx(float(expected.sum()), abs=5e-4)


def test_every_mode_and_backend(binary):
    (fp32,) = Engine(MODEL).run(_inputs(12345))
    for backend in supported_backends():
        for mode in ("fp32", "static", "dynamic"):
            stdout = _run(binary, "--mode", mode, "--backend", backend)
            assert f"backend {backend}, mode {mode}, 2 runs" in stdout
            assert ("calibration: minmax ranges of" in stdout) == (mode == "static")
            # INT8 stays within 2 % of the FP32 logits' sum; FP32 is the Python engine's result
            tolerance = 1e-4 if mode == "fp32" else 0.02
            assert _output_sum(stdout) == pytest.approx(float(fp32.sum()), rel=tolerance)


def test_bad_mode_and_default_calibration(binary):
    result = subprocess.run([binary, str(MODEL), "--mode", "int4"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "--mode must be fp32, static or dynamic, got 'int4'" in result.stderr
    default = _run(binary, "--mode", "static")
    assert re.search(r"^calibration: minmax ranges of \d+ tensors over 8 inputs$", default, re.MULTILINE)
    bad = subprocess.run([binary, str(MODEL), "--mode", "static", "--method", "kl"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "method must be 'minmax', 'percentile', 'entropy' or 'mse'" in bad.stderr
    usage = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "fp32|static|dynamic" in usage.stdout and "--calibration N" in usage.stdout


def test_help_lists_the_backends_of_this_build(binary):
    result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    listed = re.search(r"--backend ([a-z|]+)\]", result.stdout).group(1).split("|")
    # the binary may come from another build than the Python module (no-onednn): every name is real
    assert set(listed) <= {"onednn", "reference", "checked"} and "reference" in listed, result.stdout
    assert f"default {listed[0]}" in result.stdout


def test_markers_list_every_step_of_the_plan(binary):
    """--markers 1 (instruction counts per layer under qemu) names every step with its precision, and the
    marker syscall it issues changes nothing on a machine without a counter."""
    plain = _run(binary, "--mode", "static")
    marked = _run(binary, "--mode", "static", "--markers", "1")
    assert _output_sum(marked) == _output_sum(plain)
    steps = re.findall(r"^step (\d+) (\S+) (\S+) (.+)$", marked, re.MULTILINE)
    engine = Engine(MODEL, mode="static", calibration=np.concatenate([_inputs(12346 + k) for k in range(8)]))
    assert [(precision, op) for _, precision, op, _ in steps] == [(p, op) for _, op, p in engine.plan()]
    assert [int(k) for k, *_ in steps] == list(range(len(steps)))
    assert "step " not in plain


def test_markers_refuses_other_values(binary):
    result = subprocess.run([binary, str(MODEL), "--markers", "yes"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "--markers must be 0 or 1, got 'yes'" in result.stderr


def test_static_mode_on_a_quantized_file_takes_its_scales(binary, tmp_path):
    """A QDQ file (our own save_quantized) runs static INT8 on the scales it carries: no calibration,
    the Python engine's result on the same file."""
    calibration = np.concatenate([_inputs(12346 + k) for k in range(3)])
    path = tmp_path / "digits_qdq.onnx"
    Engine(MODEL, mode="static", calibration=calibration).save_quantized(path)
    result = subprocess.run([binary, str(path), "--runs", "2", "--threads", "1", "--mode", "static"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "quantization: the file's (no calibration)" in result.stdout and "calibration:" not in result.stdout
    engine = Engine(path, mode="static")
    assert any(precision == "int8_static" for _, _, precision in engine.plan())
    (expected,) = engine.run(_inputs(12345))
    assert _output_sum(result.stdout) == pytest.approx(float(expected.sum()), abs=5e-4)


def test_save_writes_each_output_as_the_engine_computes_it(binary, tmp_path):
    """--save PREFIX: the raw float32 values of each output, PREFIX.0.f32 here (the digits CNN has one)."""
    _run(binary, "--save", str(tmp_path / "out"))
    saved = np.fromfile(tmp_path / "out.0.f32", np.float32)
    (expected,) = Engine(MODEL).run(_inputs(12345))
    np.testing.assert_allclose(saved, expected.ravel(), rtol=1e-5, atol=1e-6)
    bad = subprocess.run([binary, str(MODEL), "--runs", "1", "--save", str(tmp_path / "missing" / "out")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "--save: cannot write" in bad.stderr


def test_dim_sizes_the_symbolic_dims_after_the_first(binary, tmp_path):
    """A conv over [N, 1, H, W] with H and W symbolic: they were 1 (too small for its 3x3 kernel); --dim 6
    makes them 6."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], "symbolic",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, "h", "w"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [weight])
    path = tmp_path / "symbolic.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    sized = subprocess.run([binary, str(path), "--runs", "1", "--dim", "6"], capture_output=True, text=True, timeout=60)
    assert sized.returncode == 0, sized.stderr
    assert re.search(r"^output y \[1, 2, 4, 4\] ", sized.stdout, re.MULTILINE), sized.stdout
    unsized = subprocess.run([binary, str(path), "--runs", "1"], capture_output=True, text=True, timeout=60)
    assert unsized.returncode == 1 and "smaller than the kernel" in unsized.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--dim", "0"], "--dim must be a whole number from 1"),
    (["--dim", "6x6"], "--dim must be a whole number from 1 to 2147483647, got '6x6'"),
    (["--runs", "-3"], "--runs must be a whole number from 1"),
    (["--threads", "two"], "--threads must be a whole number from 0"),
    (["--batch", "99999999999999999999"], "--batch must be a whole number from 1"),
    (["--runs", "2", "--save"], "option --save has no value"),
])
def test_bad_option_values_are_named_errors(binary, args, message):
    result = subprocess.run([binary, str(MODEL), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and message in result.stderr, result.stderr
