"""TopK and GatherElements against NumPy references: ties keep the lower index first, NaN counts as
the largest value, k = 0 and k = n, negative indices, out-of-range indices refused by name."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgequant.engine import Engine


def _topk_model(axis, largest):
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)
    graph = helper.make_graph(
        [node],
        "topk",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("k", TensorProto.INT64, [1]),
        ],
        [
            helper.make_tensor_value_info("v", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("i", TensorProto.INT64, None),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def _topk_reference(x, k, axis, largest):
    """A stable sort: ties keep the lower index first."""
    order = np.argsort(-x if largest else x, axis=axis, kind="stable")
    index = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, index, axis=axis), index


@pytest.mark.parametrize("largest", [1, 0])
@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("k", [0, 2, 5])
def test_topk_matches_a_stable_sort(largest, axis, k):
    x = np.random.default_rng(k).integers(0, 4, (5, 5)).astype(np.float32)  # many ties
    values, index = Engine(_topk_model(axis, largest)).run([x, np.array([k], np.int64)])
    ref_values, ref_index = _topk_reference(x, k, axis, largest)
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_array_equal(values, ref_values)


@pytest.mark.parametrize("largest", [1, 0])
def test_topk_puts_nan_with_the_largest(largest):
    """NaN made inside the model (Log of a negative number) is larger than every number."""
    model = onnx.load_model_from_string(_topk_model(-1, largest))
    model.graph.node.insert(0, helper.make_node("Log", ["x"], ["logx"]))
    model.graph.node[1].input[0] = "logx"
    x = np.array([[1.0, -1.0, 2.0, 3.0]], np.float32)  # log: 0, NaN, 0.69, 1.10
    _, index = Engine(model.SerializeToString()).run([x, np.array([2], np.int64)])
    assert index.tolist() == ([[1, 3]] if largest else [[0, 2]])


def test_topk_refuses_a_k_past_the_axis():
    with pytest.raises(ValueError, match="k = 6"):
        Engine(_topk_model(-1, 1)).run([np.zeros((2, 5), np.float32), np.array([6], np.int64)])


def _gather_elements_model(axis):
    node = helper.make_node("GatherElements", ["d", "i"], ["y"], axis=axis)
    graph = helper.make_graph(
        [node],
        "ge",
        [
            helper.make_tensor_value_info("d", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("i", TensorProto.INT64, None),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements_matches_take_along_axis(axis):
    rng = np.random.default_rng(3)
    data = rng.standard_normal((3, 4, 5)).astype(np.float32)
    dim = data.shape[axis]
    shape = list(data.shape)
    shape[axis] = 6
    shape[0 if axis != 0 else 1] -= 1  # smaller than data off the axis
    index = rng.integers(-dim, dim, shape)
    expected = np.take_along_axis(
        data[tuple(slice(0, s) if d != axis % 3 else slice(None) for d, s in enumerate(shape))],
        np.where(index < 0, index + dim, index),
        axis=axis,
    )
    np.testing.assert_array_equal(Engine(_gather_elements_model(axis)).run([data, index])[0], expected)


def test_gather_elements_refuses_an_index_out_of_range():
    with pytest.raises(ValueError, match="index 4 is out of range"):
        Engine(_gather_elements_model(0)).run([np.zeros((4, 2), np.float32), np.array([[4, 0]], np.int64)])
