"""Inputs whose dtype is float32 or int64 by value but not NumPy's dtype object: arrays that came through
pickle (multiprocessing, Dask and joblib hand them over so) carry a dtype object of their own. The binding
compared dtypes by identity and refused them. Byte-swapped arrays (big-endian float32 / int64) are
converted by Engine.run and refused by the binding with their dtype named."""

import pickle

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends


def add_model():
    """y = x + 1 (float32) and z = gather(table, i) (int64 indices)."""
    table = np.arange(12, dtype=np.float32).reshape(6, 2)
    nodes = [helper.make_node("Add", ["x", "one"], ["y"]), helper.make_node("Gather", ["table", "i"], ["z"])]
    graph = helper.make_graph(
        nodes, "two_inputs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("i", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.float32(1), "one"), numpy_helper.from_array(table, "table")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


X = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
I = np.array([5, 0, 3, 3], dtype=np.int64)


@pytest.mark.parametrize("backend", supported_backends())
def test_pickled_arrays_run(backend):
    x, i = pickle.loads(pickle.dumps((X, I)))
    assert x.dtype == np.float32 and x.dtype is not np.dtype(np.float32)  # what made the binding refuse it
    assert i.dtype == np.int64 and i.dtype is not np.dtype(np.int64)
    engine = Engine(add_model(), backend=backend)
    y, z = engine.run({"x": x, "i": i})
    want_y, want_z = engine.run({"x": X, "i": I})
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(z, want_z)
    np.testing.assert_array_equal(y, X + 1)


def test_big_endian_arrays_are_converted():
    engine = Engine(add_model())
    y, z = engine.run({"x": X.astype(">f4"), "i": I.astype(">i8")})
    np.testing.assert_array_equal(y, X + 1)
    np.testing.assert_array_equal(z, np.arange(12, dtype=np.float32).reshape(6, 2)[I])


def test_the_binding_names_a_dtype_it_refuses():
    # The native session below Engine.run takes arrays as given: a byte-swapped one is refused clearly.
    engine = Engine(add_model())
    with pytest.raises(ValueError, match=r"native byte order, got dtype >f4"):
        engine._native.run([X.astype(">f4"), I])
    y, z = engine._native.run(pickle.loads(pickle.dumps([X, I])))
    np.testing.assert_array_equal(y, X + 1)


def test_numpy_scalars_stay_0d():
    """A NumPy scalar (np.float32(2), np.int64(3)) is a 0-d input: Engine.run's conversion made it shape (1,)
    (np.ascontiguousarray returns at least 1-d), so a Loop scanning scalars stacked [n, 1] instead of [n]."""
    nodes = [helper.make_node("Add", ["a", "b"], ["y"]), helper.make_node("Identity", ["k"], ["z"])]
    graph = helper.make_graph(
        nodes, "scalars",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("k", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("z", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    y, z = Engine(model).run({"a": np.float32(2), "b": np.float64(0.5), "k": np.int32(3)})
    assert y.shape == () and z.shape == ()
    assert float(y) == 2.5 and int(z) == 3
