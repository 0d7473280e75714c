"""A quantized model's average pooling between pairs on one grid — pair(x) -> AveragePool |
GlobalAveragePool -> pair, TFLite's AVERAGE_POOL_2D as its converter writes it, ONNX Runtime's QDQ pool —
becomes one CodeAveragePool node (graph/code_average_pools.h). Static INT8 averages the codes with
TFLite's integer kernel (the reference below, written from its formula: the window's codes summed, divided
by the number of taps inside the input, half steps rounded away from zero); FP32 and dynamic runs keep
ONNX's float semantics of the file. Either way within one step of ONNX Runtime's output."""

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from ort_reference import qdq_session
from qdq_pairs import qdq_pair

from edgequant.engine import Engine, supported_backends

SHAPE = [2, 8, 9, 11]
GRID = (0.05, -3)  # int8 (scale, zero point); uint8 adds 128
POOLS = {  # name: (op, attributes)
    "2x2": ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2]}),  # 4 taps: half steps
    "3x3_pads": ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),  # 4 / 6 / 9 taps
    "ceil": ("AveragePool", {"kernel_shape": [2, 3], "strides": [2, 2], "ceil_mode": 1}),
    "same": ("AveragePool", {"kernel_shape": [3, 2], "strides": [2, 3], "auto_pad": "SAME_UPPER"}),
    "global": ("GlobalAveragePool", {}),
}


def _pool_model(path, pool="2x2", dtype=np.int8, out_grid=GRID, sqrt_x=False, **extra):
    """x -> pair -> pool -> pair (x through a Sqrt first: NaN inside)."""
    shift = 128 if dtype == np.uint8 else 0
    op, attributes = POOLS[pool]
    nodes = [helper.make_node("Sqrt", ["x"], ["x_root"])] if sqrt_x else []
    pair_in, inits_in = qdq_pair("a", "x_root" if sqrt_x else "x", GRID[0], GRID[1] + shift, dtype)
    pair_out, inits_out = qdq_pair("y", "pooled", out_grid[0], out_grid[1] + shift, dtype)
    nodes += [*pair_in, helper.make_node(op, ["a"], ["pooled"], **attributes, **extra), *pair_out]
    graph = helper.make_graph(nodes, "code_average_pool",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits_in + inits_out)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _windows(size, kernel, stride, pads, ceil, auto_pad):
    """Each output's [begin, end) inside the input along one axis, as ONNX defines the pool."""
    begin, end = pads
    if auto_pad == "SAME_UPPER":
        total = max(0, (math.ceil(size / stride) - 1) * stride + kernel - size)
        begin, end = total // 2, total - total // 2
    span = size + begin + end - kernel
    count = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (count - 1) * stride >= size + begin:  # no window starts in the padding
        count -= 1
    return [(max(o * stride - begin, 0), min(o * stride - begin + kernel, size)) for o in range(count)]


def _tflite_average(x, pool, dtype=np.int8):
    """TFLite's integer average pool on the file's codes, as output values."""
    scale, zero = GRID[0], GRID[1] + (128 if dtype == np.uint8 else 0)
    info = np.iinfo(dtype)
    codes = np.clip(np.rint(x / np.float32(scale)) + zero, info.min, info.max).astype(np.int64)
    op, a = POOLS[pool]
    if op == "GlobalAveragePool":
        rows, cols = [(0, SHAPE[2])], [(0, SHAPE[3])]
    else:
        pads, strides = a.get("pads", [0, 0, 0, 0]), a.get("strides", [1, 1])
        ceil, auto_pad = a.get("ceil_mode", 0), a.get("auto_pad", "NOTSET")
        rows = _windows(SHAPE[2], a["kernel_shape"][0], strides[0], (pads[0], pads[2]), ceil, auto_pad)
        cols = _windows(SHAPE[3], a["kernel_shape"][1], strides[1], (pads[1], pads[3]), ceil, auto_pad)
    out = np.zeros([*SHAPE[:2], len(rows), len(cols)], np.int64)
    for i, (h0, h1) in enumerate(rows):
        for j, (w0, w1) in enumerate(cols):
            total = codes[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            count = (h1 - h0) * (w1 - w0)
            out[:, :, i, j] = np.where(total > 0, (total + count // 2) // count, -((-total + count // 2) // count))
    return (np.float32(scale) * (out - zero)).astype(np.float32)


def _input(seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(SHAPE) * 2).astype(np.float32)
    x.flat[:3] = [1e4, -1e4, 0.025]  # saturated codes, a tie of the input grid
    return x


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("pool", list(POOLS))
def test_static_int8_averages_the_codes_as_tflite_does(tmp_path, backend, dtype, pool):
    path = _pool_model(tmp_path / "m.onnx", pool, dtype)
    engine = Engine(path, backend=backend, threads=1)
    assert engine.mode == "static"
    ops = [op for _, op, _ in engine.plan()]
    assert ops.count("CodeAveragePool") == 1 and not {"AveragePool", "GlobalAveragePool"} & set(ops), ops
    x = _input()
    expected = _tflite_average(x, pool, dtype)
    float_average = qdq_session(path).run(None, {"x": x})[0]
    if pool != "global":  # 99 taps: no half step among these sums
        assert np.any(float_average != expected), "no output tells TFLite's rounding from float's: proves nothing"
    assert np.abs(float_average - expected).max() <= GRID[0] * 1.001  # within a step of float
    np.testing.assert_array_equal(engine.run(x)[0], expected)


@pytest.mark.parametrize("mode", ["fp32", "dynamic"])
def test_float_runs_keep_the_files_float_semantics(tmp_path, mode):
    """Averages of grid values in float: ONNX Runtime sums in float32 and the engine in double, so an
    average at a half step may round either way: within one step, and equal elsewhere."""
    path = _pool_model(tmp_path / "m.onnx", "3x3_pads")
    engine = Engine(path, mode=mode, threads=1)
    assert "CodeAveragePool" in [op for _, op, _ in engine.plan()]
    x = _input(seed=2)
    ours, theirs = engine.run(x)[0], qdq_session(path).run(None, {"x": x})[0]
    assert np.abs(ours - theirs).max() <= GRID[0] * 1.001
    assert np.mean(ours == theirs) > 0.9


def test_nan_inside_the_model_stays_nan(tmp_path):
    """A NaN made inside the model (Sqrt of a negative) reaches the pool as float: every window holding
    one gives NaN, the rest within one step of ONNX Runtime's."""
    path = _pool_model(tmp_path / "m.onnx", "2x2", sqrt_x=True)
    x = _input(seed=3)
    out = Engine(path, threads=1).run(x)[0]
    negative = (x < 0)[:, :, :8, :10].reshape(2, 8, 4, 2, 5, 2).any(axis=(3, 5))
    np.testing.assert_array_equal(np.isnan(out), negative)
    reference = qdq_session(path).run(None, {"x": x})[0]
    assert np.abs(out[~negative] - reference[~negative]).max() <= GRID[0] * 1.001


@pytest.mark.parametrize("case", ["other_grid", "count_include_pad", "read_elsewhere"])
def test_pools_the_integer_kernel_does_not_average_stay_pools(tmp_path, case):
    """Another output grid, padding that counts, or the pool's float output also a graph output: the
    nodes stay as they are (and run as ONNX defines them)."""
    extra = {"count_include_pad": 1} if case == "count_include_pad" else {}
    path = _pool_model(tmp_path / "m.onnx", "3x3_pads", out_grid=(0.07, 2) if case == "other_grid" else GRID, **extra)
    if case == "read_elsewhere":
        model = onnx.load(str(path))
        model.graph.output.append(helper.make_tensor_value_info("pooled", TensorProto.FLOAT, None))
        onnx.save(model, str(path))
    engine = Engine(str(path), threads=1)
    assert "CodeAveragePool" not in [op for _, op, _ in engine.plan()]
    x = _input(seed=4)
    ours, theirs = engine.run(x)[0], qdq_session(str(path)).run(None, {"x": x})[0]
    assert np.abs(ours - theirs).max() <= 0.07 * 1.001


@pytest.mark.parametrize("backend", supported_backends())
def test_a_pool_after_a_residual_sum_averages_its_codes(tmp_path, backend):
    """ResNet's ending: Add -> Relu -> pair -> pool -> pair. The sum is a CodeAdd, the pool reads its codes."""
    path = tmp_path / "m.onnx"
    nodes, inits = [], []
    for name, source in [("a", "x"), ("b", "x2")]:
        n, i = qdq_pair(name, source, GRID[0], GRID[1], np.int8)
        nodes, inits = nodes + n, inits + i
    s, si = qdq_pair("s", "r", 0.1, -128, np.int8)
    p, pi = qdq_pair("y", "pooled", 0.1, -128, np.int8)
    nodes += [helper.make_node("Mul", ["x", "x"], ["x2"]), helper.make_node("Add", ["a", "b"], ["sum"]),
              helper.make_node("Relu", ["sum"], ["r"]), *s,
              helper.make_node("GlobalAveragePool", ["s"], ["pooled"]), *p]
    graph = helper.make_graph(nodes, "end", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits + si + pi)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    engine = Engine(str(path), backend=backend, threads=1)
    ops = [op for _, op, _ in engine.plan()]
    assert "CodeAdd" in ops and "CodeAveragePool" in ops, ops
    x = _input(seed=5)
    reference = Engine(str(path), backend="reference", threads=1).run(x)[0]
    np.testing.assert_array_equal(engine.run(x)[0], reference)
    assert np.abs(reference - qdq_session(str(path)).run(None, {"x": x})[0]).max() <= 0.2 * 1.001
