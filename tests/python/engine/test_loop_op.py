"""Loop of issue #21 against ONNX Runtime: a constant trip count, a condition computed by the body,
loop-carried values, scan outputs stacked along a new axis, values captured from the enclosing graph,
zero iterations, and the refusal of a loop that could never end."""

import numpy as np
import pytest
from onnx import TensorProto, helper, load_from_string, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends


def _loop_model(trip_count, initial_cond=True, limit=None):
    """y = Loop(M, cond, acc=x): acc += x · i (x captured from the outer graph); scan output acc · 2;
    with ``limit`` the body's condition is sum(acc) < limit."""
    body_nodes = [
        helper.make_node("Cast", ["i"], ["i_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "i_f"], ["step"]),
        helper.make_node("Add", ["acc_in", "step"], ["acc_out"]),
        helper.make_node("Mul", ["acc_out", "two"], ["scan"]),
    ]
    if limit is None:
        body_nodes.append(helper.make_node("Identity", ["cond_in"], ["cond_out"]))
    else:
        body_nodes += [
            helper.make_node("ReduceSum", ["acc_out"], ["total"], keepdims=0),
            helper.make_node("Less", ["total", "limit"], ["cond_out"]),
        ]
    body = helper.make_graph(
        body_nodes,
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [2, 3]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("scan", TensorProto.FLOAT, [2, 3]),
        ],
        initializer=[numpy_helper.from_array(np.array(2.0, np.float32), "two")],
    )
    inits = [
        numpy_helper.from_array(np.array(initial_cond), "cond"),
        numpy_helper.from_array(np.zeros((2, 3), np.float32), "acc0"),
    ]
    if trip_count is not None:
        inits.append(numpy_helper.from_array(np.array(trip_count, np.int64), "m"))
    if limit is not None:
        inits.append(numpy_helper.from_array(np.array(limit, np.float32), "limit"))
    node = helper.make_node(
        "Loop", ["m" if trip_count is not None else "", "cond", "acc0"], ["acc", "scans"], body=body
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [
            helper.make_tensor_value_info("acc", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("scans", TensorProto.FLOAT, None),
        ],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString(), {"x": np.arange(6, dtype=np.float32).reshape(2, 3) / 4}


@pytest.mark.parametrize("trip_count,limit", [(5, None), (1, None), (10, 20.0), (None, 20.0)])
def test_loop_against_onnx_runtime(trip_count, limit):
    model, feeds = _loop_model(trip_count, limit=limit)
    expected = run_ort(model, feeds)
    assert expected[1].shape[0] >= 1
    for backend in supported_backends():
        got = Engine(model, backend=backend).run(feeds)
        for g, e in zip(got, expected, strict=True):
            assert g.shape == e.shape, backend
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6, err_msg=backend)


def test_loop_with_a_limit_stops_on_the_condition():
    model, feeds = _loop_model(100, limit=20.0)
    acc, scans = Engine(model).run(feeds)
    assert 1 < scans.shape[0] < 100  # the body's condition ended it, not the trip count
    np.testing.assert_allclose(scans[-1], acc * 2)


def test_loop_without_iterations_returns_the_initial_values():
    model, feeds = _loop_model(0)
    acc, scans = Engine(model).run(feeds)
    np.testing.assert_array_equal(acc, np.zeros((2, 3), np.float32))
    assert scans.shape[0] == 0
    model, feeds = _loop_model(5, initial_cond=False)
    acc, scans = Engine(model).run(feeds)
    np.testing.assert_array_equal(acc, np.zeros((2, 3), np.float32))


def test_loop_that_never_ends_is_refused():
    model, feeds = _loop_model(None)
    proto = load_from_string(model)
    proto.graph.node[0].input[1] = ""
    with pytest.raises(ValueError, match="neither a trip count M nor a condition"):
        Engine(proto.SerializeToString()).run(feeds)
