"""Concat along a trailing axis, where each input gives a few elements per row (a stack along the
last axis, as basic_pitch's harmonic stacking does): float32 against numpy's concatenate, and u8
codes under static INT8 against the engine's own inputs, joined without a change of value."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(11)


def _concat_model(widths, axis, rank):
    shapes = [[2, 3, 5, w][-rank:] if axis == -1 else [2, 3, w, 4][-rank:] for w in widths]
    inputs = [helper.make_tensor_value_info(f"x{k}", TensorProto.FLOAT, s) for k, s in enumerate(shapes)]
    node = helper.make_node("Concat", [i.name for i in inputs], ["y"], axis=axis)
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(), shapes


@pytest.mark.parametrize("widths", [(1, 1, 1, 1, 1, 1, 1, 1), (1, 2, 3), (16, 1), (15, 17), (3, 0, 2)])
@pytest.mark.parametrize("axis", [-1, -2])
@pytest.mark.parametrize("rank", [2, 4])
def test_float_concat_of_short_rows_equals_numpy(widths, axis, rank):
    if axis == -2 and rank == 2 and 0 in widths:
        pytest.skip("same case as rank 4")
    model, shapes = _concat_model(widths, axis, rank)
    xs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    for backend in supported_backends():
        (y,) = Engine(model, backend=backend).run(xs)
        np.testing.assert_array_equal(y, np.concatenate(xs, axis=axis))


def test_static_concat_of_short_rows_joins_the_codes(tmp_path):
    """Two convs' outputs (one grid: the Concat's quantization group) stacked along W one and two
    columns at a time, joined as u8 codes: the next conv's output agrees with ONNX Runtime running
    the engine's own QDQ file, which joins the same codes' values in float."""
    w = [numpy_helper.from_array(RNG.standard_normal((4, 3, 1, 1)).astype(np.float32), f"w{k}") for k in range(2)]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"]), helper.make_node("Relu", ["a"], ["ra"]),
             helper.make_node("Slice", ["x", "s0", "e0", "ax"], ["xs"]),
             helper.make_node("Conv", ["xs", "w1"], ["b"]), helper.make_node("Relu", ["b"], ["rb"]),
             helper.make_node("Concat", ["ra", "rb"], ["c"], axis=3),
             helper.make_node("Conv", ["c", "w2"], ["y"])]
    inits = [*w, numpy_helper.from_array(RNG.standard_normal((2, 4, 1, 1)).astype(np.float32), "w2"),
             numpy_helper.from_array(np.array([0], np.int64), "s0"),
             numpy_helper.from_array(np.array([1], np.int64), "e0"),
             numpy_helper.from_array(np.array([3], np.int64), "ax")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    x = RNG.standard_normal((1, 3, 6, 2)).astype(np.float32)
    calibration = RNG.standard_normal((8, 3, 6, 2)).astype(np.float32)
    for backend in supported_backends():
        engine = Engine(model, mode="static", calibration=calibration, backend=backend, keep_float_weights=True)
        codes = engine.integer_tensors()
        assert codes["c"] == codes["ra"] == codes["rb"], codes
        (y,) = engine.run(x)
        engine.save_quantized(tmp_path / "q.onnx")
        (expected,) = run_ort((tmp_path / "q.onnx").read_bytes(), {"x": x})
        np.testing.assert_allclose(y, expected, rtol=0, atol=0.02 * np.abs(expected).max())
