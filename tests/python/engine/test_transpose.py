"""Transpose against numpy: the interleaved-channels-to-planes copy (NHWC -> NCHW of 3 or 4 channels,
what a TFLite-derived model's input does; ops/transpose.cpp channels_to_planes) and the general
strided copy beside it, at batch 0, 1 and 3, odd pixel counts (vector tails), −0, float and int64."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from edgequant import Engine

RNG = np.random.default_rng(5)


def transpose_model(shape, perm, elem=TensorProto.FLOAT) -> bytes:
    x = helper.make_tensor_value_info("x", elem, ["n", *shape[1:]])
    y = helper.make_tensor_value_info("y", elem, None)
    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    graph = helper.make_graph([node], "transpose", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("batch", [0, 1, 3])
@pytest.mark.parametrize("hw", [(1, 1), (5, 7), (16, 16)])
def test_nhwc_to_nchw_equals_numpy(channels, batch, hw):
    x = RNG.normal(size=(batch, *hw, channels)).astype(np.float32)
    x.flat[::7] = -0.0
    y = Engine(transpose_model(x.shape, (0, 3, 1, 2))).run({"x": x})[0]
    expected = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(y.view(np.uint32), expected.view(np.uint32))  # bit for bit: −0 stays −0


@pytest.mark.parametrize("perm", [(0, 2, 3, 1), (3, 1, 2, 0), (1, 0, 3, 2), (0, 1, 3, 2), (0, 3, 2, 1)])
def test_other_permutations_equal_numpy(perm):
    x = RNG.normal(size=(2, 3, 5, 4)).astype(np.float32)
    y = Engine(transpose_model(x.shape, perm)).run({"x": x})[0]
    np.testing.assert_array_equal(y, x.transpose(perm))


def test_int64_channels_to_planes_take_the_general_copy():
    x = RNG.integers(-(2**40), 2**40, size=(2, 3, 5, 3), dtype=np.int64)
    y = Engine(transpose_model(x.shape, (0, 3, 1, 2), TensorProto.INT64)).run({"x": x})[0]
    np.testing.assert_array_equal(y, x.transpose(0, 3, 1, 2))
