"""Add / Sub / Mul where a conv's output lies in oneDNN's layout (Backend::layout_arithmetic): with
another tensor of that layout, with a value per channel (constant, or a squeeze-excite conv's own
[1, C, 1, 1] output), and with a plain tensor of the same shape, on either side. Against ONNX
Runtime on every backend, with channel counts that leave a block padded, and on oneDNN the result
must stay in the conv's layout."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(23)


def _weight(name, cout, cin, k):
    return numpy_helper.from_array((RNG.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32),
                                   name)


def _model(channels, op, order):
    """Conv x -> c; squeeze-excite s = HardSigmoid(Conv(GlobalAveragePool(c))); then
    m = c op s (or s op c), t = c op m, u = t op plain (plain: the input's first channels
    through a Slice and an Abs, a plain op) or plain op t, then a conv."""
    inits = [_weight("w0", channels, 3, 3), _weight("ws", channels, channels, 1), _weight("w1", 4, channels, 1),
             numpy_helper.from_array(np.array([0], np.int64), "zero"),
             numpy_helper.from_array(np.array([1], np.int64), "one"),
             numpy_helper.from_array(np.array([1], np.int64), "axis")]
    pair = (lambda x, y: [x, y]) if order == "native first" else (lambda x, y: [y, x])
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["c"], ["g"]), helper.make_node("Conv", ["g", "ws"], ["sc"]),
             helper.make_node("HardSigmoid", ["sc"], ["s"]),
             helper.make_node(op, pair("c", "s"), ["m"]), helper.make_node(op, pair("c", "m"), ["t"]),
             helper.make_node("Conv", ["x", "w0"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Abs", ["c2"], ["plain"]),
             helper.make_node(op, pair("t", "plain"), ["u"]), helper.make_node("Conv", ["u", "w1"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 12, 10])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


@pytest.mark.parametrize("order", ["native first", "native second"])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul"])
@pytest.mark.parametrize("channels", [16, 24])
def test_arithmetic_on_conv_outputs_matches_onnx_runtime(channels, op, order):
    model = _model(channels, op, order)
    x = RNG.standard_normal((2, 3, 12, 10)).astype(np.float32)
    (expected,) = run_ort(model, {"x": x})
    for backend in supported_backends():
        (y,) = Engine(model, backend=backend).run(x)
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max(), err_msg=backend)


@pytest.mark.skipif("onednn" not in supported_backends(), reason="oneDNN's layouts only")
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul"])
def test_results_stay_in_the_conv_layout(op):
    layouts = Engine(_model(24, op, "native second"), backend="onednn")._native.value_layouts(
        [RNG.standard_normal((2, 3, 12, 10)).astype(np.float32)])
    assert layouts["c"] != "plain", layouts
    assert layouts["m"] == layouts["t"] == layouts["u"] == layouts["c"], layouts


def test_a_per_channel_constant_and_a_division_stay_correct():
    """A constant per channel on either side of a Sub, and a Div (answered plain) after it."""
    inits = [_weight("w0", 16, 3, 3), numpy_helper.from_array(RNG.uniform(0.5, 2, (16, 1, 1)).astype(np.float32), "k")]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Sub", ["k", "c"], ["a"]),
             helper.make_node("Sub", ["a", "k"], ["b"]), helper.make_node("Div", ["b", "k"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    x = RNG.standard_normal((1, 3, 8, 8)).astype(np.float32)
    (expected,) = run_ort(model, {"x": x})
    for backend in supported_backends():
        (y,) = Engine(model, backend=backend).run(x)
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6, err_msg=backend)
