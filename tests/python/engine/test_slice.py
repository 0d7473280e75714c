"""Slice against a reference written from ONNX's definition (bounds clamped per axis, negative
starts / ends counted from the end, negative steps), bit for bit: the copy by contiguous runs
(ops/slice.cpp) on short runs (a box decoder's x[..., 0:2]), whole trailing axes, strided and reversed
axes, empty results, float32 / int64 / uint8 (held as int64)."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine

ELEMENTS = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.uint8: TensorProto.UINT8}


def slice_model(shape, dtype, starts, ends, axes, steps) -> bytes:
    x = helper.make_tensor_value_info("x", ELEMENTS[dtype], list(shape))
    y = helper.make_tensor_value_info("y", ELEMENTS[dtype], None)
    constants = [numpy_helper.from_array(np.array(v, np.int64), name)
                 for name, v in (("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps))]
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])
    graph = helper.make_graph([node], "slice", [x], [y], initializer=constants)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def reference_slice(x, starts, ends, axes, steps):
    """ONNX Slice from its definition: per axis, the clamped start, end and step give the indices taken."""
    index = [np.arange(d) for d in x.shape]
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        dim = x.shape[axis]
        start = start + dim if start < 0 else start
        end = end + dim if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        index[axis] = np.arange(start, end, step)
    return x[np.ix_(*index)] if x.ndim else x


def random_values(shape, dtype, rng):
    if dtype is np.float32:
        x = rng.normal(size=shape).astype(np.float32)
        x.flat[::5] = -0.0  # bit for bit: −0 must stay −0
        return x
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)


def check(x, starts, ends, axes, steps):
    y = Engine(slice_model(x.shape, x.dtype.type, starts, ends, axes, steps)).run({"x": x})[0]
    expected = reference_slice(x, starts, ends, axes, steps)
    if expected.dtype.kind == "u":  # the engine holds integer tensors as int64 (Engine.run's documented outputs)
        expected = expected.astype(np.int64)
    assert y.shape == expected.shape
    assert y.dtype == expected.dtype
    np.testing.assert_array_equal(y.view(np.uint8), np.ascontiguousarray(expected).view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 17])
def test_short_runs_of_the_last_axis(dtype, width):
    """A box decoder's slices of [1, boxes, 4 + k]: runs of 1..4 elements, inline or by memcpy."""
    x = random_values((1, 257, width + 2), dtype, np.random.default_rng(width))
    check(x, [1], [1 + width], [2], [1])
    check(x, [0], [width], [-1], [1])


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8])
def test_whole_trailing_axes_and_channel_ranges(dtype):
    rng = np.random.default_rng(3)
    x = random_values((2, 6, 5, 7), dtype, rng)
    check(x, [2], [5], [1], [1])  # NCHW channels: whole planes
    check(x, [1, 0], [2, 3], [0, 2], [1, 1])  # a batch and some rows: whole rows
    check(x, [0], [2**62], [3], [1])  # the whole tensor, ends past the end
    check(x, [1], [-1], [3], [1])  # interior of the last axis


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8])
def test_strided_and_reversed_axes(dtype):
    rng = np.random.default_rng(4)
    x = random_values((3, 4, 9, 6), dtype, rng)
    check(x, [0], [9], [2], [2])  # a step inside: the last axis still a run of 6
    check(x, [5], [-100], [3], [-1])  # the last axis reversed: runs of one
    check(x, [-1, 2], [-4, 0], [1, 3], [-1, 3])
    check(x, [8, 5], [0, 1], [2, 3], [-3, -2])


def test_empty_results_and_batches():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    check(x, [3], [1], [2], [1])  # end before start: empty
    check(x, [1], [1], [0], [1])
    check(np.zeros((0, 3, 4), np.float32), [0], [2], [2], [1])  # a batch of 0


def test_random_slices_equal_the_definition():
    rng = np.random.default_rng(11)
    for case in range(120):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
        dtype = (np.float32, np.int64, np.uint8)[case % 3]
        x = random_values(shape, dtype, rng)
        axes = sorted(rng.choice(rank, size=int(rng.integers(1, rank + 1)), replace=False).tolist())
        starts = [int(rng.integers(-8, 9)) for _ in axes]
        ends = [int(rng.integers(-8, 9)) for _ in axes]
        steps = [int(rng.choice([-3, -2, -1, 1, 1, 1, 2, 3])) for _ in axes]
        check(x, starts, ends, axes, steps)


def test_step_zero_is_refused():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(Exception, match="step 0"):
        Engine(slice_model(x.shape, np.float32, [0], [2], [1], [0])).run({"x": x})
