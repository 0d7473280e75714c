"""Add / Sub / Mul / Div write into a free input's buffer where it has the output's shape: values
another op still reads (through a Reshape or Identity that shares the buffer, or directly) must be
left intact, an op reading one tensor twice must see it unchanged, and every backend must agree
with numpy."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(17)
SHAPE = [2, 3, 4, 5]


def _run(nodes, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                              list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    x = RNG.standard_normal(SHAPE).astype(np.float32)
    return x, {b: Engine(model, backend=b).run([x]) for b in supported_backends()}


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_a_value_read_after_the_op_through_a_shared_buffer_is_intact(op):
    shape = numpy_helper.from_array(np.array(SHAPE, np.int64), "shape")
    c = numpy_helper.from_array(RNG.uniform(0.5, 2, [1, 3, 1, 1]).astype(np.float32), "c")
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Reshape", ["r", "shape"], ["view"]),
             helper.make_node("Identity", ["r"], ["alias"]),
             helper.make_node(op, ["view", "c"], ["y1"]), helper.make_node(op, ["alias", "c"], ["y2"]),
             helper.make_node("Mul", ["r", "c"], ["y3"])]
    x, results = _run(nodes, ["y1", "y2", "y3"], [shape, c])
    r = np.maximum(x, 0)
    cv = numpy_helper.to_array(c)
    expected = {"Add": r + cv, "Sub": r - cv, "Mul": r * cv, "Div": r / cv}[op]
    for backend, (y1, y2, y3) in results.items():
        np.testing.assert_allclose(y1, expected, rtol=1e-6, err_msg=backend)
        np.testing.assert_allclose(y2, expected, rtol=1e-6, err_msg=backend)
        np.testing.assert_allclose(y3, r * cv, rtol=1e-6, err_msg=backend)


def test_one_tensor_on_both_sides_and_a_chain_of_free_values():
    b = numpy_helper.from_array(RNG.standard_normal([5]).astype(np.float32), "b")
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "r"], ["twice"]),
             helper.make_node("Mul", ["twice", "b"], ["scaled"]), helper.make_node("Sub", ["b", "scaled"], ["left"]),
             helper.make_node("Div", ["left", "x"], ["y"])]
    x, results = _run(nodes, ["y"], [b])
    bv = numpy_helper.to_array(b)
    expected = (bv - 2 * np.maximum(x, 0) * bv) / x
    for backend, (y,) in results.items():
        np.testing.assert_allclose(y, expected, rtol=1e-5, err_msg=backend)


def test_a_value_read_by_a_later_op_is_not_overwritten():
    c = numpy_helper.from_array(RNG.uniform(0.5, 2, [1, 1, 1, 5]).astype(np.float32), "c")
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "c"], ["y1"]),
             helper.make_node("Sigmoid", ["y1"], ["s"]), helper.make_node("Mul", ["r", "s"], ["y2"])]
    x, results = _run(nodes, ["y2"], [c])
    r = np.maximum(x, 0)
    expected = r / (1 + np.exp(-(r + numpy_helper.to_array(c))))
    for backend, (y2,) in results.items():
        np.testing.assert_allclose(y2, expected, rtol=1e-5, err_msg=backend)
