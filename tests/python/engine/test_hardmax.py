"""Hardmax against its definition written in NumPy: the first maximum along the axis (opset 13), or along
the flattened trailing axes from `axis` on (before 13), ties to the first, empty inputs."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from edgequant import Engine


def hardmax_model(shape, opset, axis=None) -> bytes:
    attributes = {} if axis is None else {"axis": axis}
    node = helper.make_node("Hardmax", ["x"], ["y"], **attributes)
    graph = helper.make_graph([node], "hardmax", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def reference(x, axis, legacy):
    """One-hot of the first maximum."""
    shape = x.shape
    axis %= x.ndim
    rows = x.reshape(int(np.prod(shape[:axis])), -1) if legacy else np.moveaxis(x, axis, -1).reshape(-1, shape[axis])
    if rows.size == 0:
        return np.zeros(shape, np.float32)
    first = np.argmax(rows, axis=1)
    out = np.zeros_like(rows)
    out[np.arange(len(rows)), first] = 1
    if legacy:
        return out.reshape(shape)
    moved = list(shape[:axis]) + list(shape[axis + 1:]) + [shape[axis]]
    return np.moveaxis(out.reshape(moved), -1, axis)


@pytest.mark.parametrize(("opset", "axis"), [(13, None), (13, 0), (13, 1), (13, -2), (11, None), (11, 0), (11, 2)])
def test_matches_the_definition(opset, axis):
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, size=(2, 3, 4)).astype(np.float32)  # small integers: many ties
    (y,) = Engine(hardmax_model([2, 3, 4], opset, axis)).run(x)
    want = reference(x, 1 if axis is None and opset < 13 else (-1 if axis is None else axis), opset < 13)
    np.testing.assert_array_equal(y, want)


def test_empty_input():
    (y,) = Engine(hardmax_model([0, 3], 13)).run(np.zeros((0, 3), np.float32))
    assert y.shape == (0, 3)
