"""Chains of data-moving ops with a Transpose (exported channel shuffles) fold into one
DataMovement node (graph/data_movement_folding.h, ops/data_movement.cpp): the plan shows it in
place of the chain, and its outputs equal ONNX Runtime's bit for bit on every backend, at several
batch sizes (the copy plan is made per input shape), by runs or, where runs would be single
elements or the input is too large to index, by running the chain's own ops. Chains that another
node or a graph output reads into stay as they are."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import max_relative_error, run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(23)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def model(nodes, initializers, outputs, x_shape, opset=17) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))
    ys = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]
    graph = helper.make_graph(nodes, "movement", [x], ys, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def conv(name, source, c):
    w = numpy_helper.from_array((RNG.normal(size=(c, c, 1, 1)) / np.sqrt(c)).astype(np.float32), f"{name}_w")
    return helper.make_node("Conv", [source, w.name], [name]), w


def depthwise(name, source, c):
    w = numpy_helper.from_array(RNG.normal(size=(c, 1, 3, 3)).astype(np.float32) / 3, f"{name}_w")
    return helper.make_node("Conv", [source, w.name], [name], group=c, pads=[1, 1, 1, 1]), w


def torchvision_shuffle(c=16, h=6, convs=False, depthwise_first=False):
    """Relu (or a Conv: its output in oneDNN's layout) -> Reshape [N, 2, C/2, H, W] -> Transpose ->
    Reshape [N, C, H, W] -> Split in halves -> Relu / Neg (Convs) on each half -> Concat:
    ShuffleNetV2 as torchvision exports it (symbolic batch)."""
    first, w0 = conv("a", "x", c) if convs else (helper.make_node("Relu", ["x"], ["a"]), None)
    if depthwise_first:  # a depthwise network: oneDNN's float convs keep 16-channel blocks
        first, w0 = depthwise("a", "x", c)
    left, w1 = conv("l", "s0", c // 2) if convs else (helper.make_node("Relu", ["s0"], ["l"]), None)
    right, w2 = conv("r", "s1", c // 2) if convs else (helper.make_node("Neg", ["s1"], ["r"]), None)
    nodes = [
        first,
        helper.make_node("Reshape", ["a", "to5"], ["r5"]),
        helper.make_node("Transpose", ["r5"], ["t"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "to4"], ["r4"]),
        helper.make_node("Split", ["r4", "halves"], ["s0", "s1"], axis=1),
        left,
        right,
        helper.make_node("Concat", ["l", "r"], ["y"], axis=1),
    ]
    inits = [w for w in (w0, w1, w2) if w is not None]
    inits += [ints("to5", [0, 2, c // 2, h, h]), ints("to4", [0, c, h, h]), ints("halves", [c // 2] * 2)]
    return model(nodes, inits, ["y"], ("N", c, h, h))


def gather_shuffle(c=24, h=5):
    """Reshape [C/2, 2, H·W] -> Transpose [1, 0, 2] -> Reshape [2, 1, C/2, H, W] -> Gather 0 and 1:
    the channel shuffle of yolo-fastestv2 (batch 1, the batch folded into the channels)."""
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Reshape", ["a", "to3"], ["r3"]),
        helper.make_node("Transpose", ["r3"], ["t"], perm=[1, 0, 2]),
        helper.make_node("Reshape", ["t", "to5"], ["r5"]),
        helper.make_node("Gather", ["r5", "zero"], ["g0"], axis=0),
        helper.make_node("Gather", ["r5", "one"], ["g1"], axis=0),
        helper.make_node("Neg", ["g1"], ["y1"]),
        helper.make_node("Relu", ["g0"], ["y0"]),
    ]
    inits = [ints("to3", [c // 2, 2, h * h]), ints("to5", [2, -1, c // 2, h, h]),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array(1, np.int64), "one")]
    return model(nodes, inits, ["y0", "y1"], (1, c, h, h))


def channels_last_head(shape=(1, 6, 4, 5)):
    """Transpose to NHWC -> Reshape -> Slice: runs of one element, so the node runs the ops."""
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Transpose", ["a"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "flat"], ["f"]),
        helper.make_node("Slice", ["f", "starts", "ends", "axes"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = [ints("flat", [shape[0], -1, shape[1]]), ints("starts", [1]), ints("ends", [shape[1] - 1]),
             ints("axes", [2])]
    return model(nodes, inits, ["y"], shape)


def op_types(engine):
    return [op for _, op, _ in engine.plan()]


def check_against_ort(m, engine, x, exact=True):
    for out, ref in zip(engine.run(x), run_ort(m, {"x": x}), strict=True):
        if exact:
            np.testing.assert_array_equal(out, ref)
        else:
            assert out.shape == ref.shape and max_relative_error(out, ref) < 1e-5


@pytest.mark.parametrize("backend", supported_backends())
def test_torchvision_shuffle_folds_and_matches_onnxruntime_at_every_batch(backend):
    m = torchvision_shuffle()
    engine = Engine(m, backend=backend, threads=1)
    ops = op_types(engine)
    assert "DataMovement" in ops and not {"Reshape", "Transpose", "Split"} & set(ops), ops
    for batch in (1, 3, 1, 2):  # a new shape re-plans; an old one again too
        check_against_ort(m, engine, RNG.normal(size=(batch, 16, 6, 6)).astype(np.float32))


@pytest.mark.parametrize("backend", supported_backends())
def test_shuffle_between_convs_reads_the_backends_layout(backend):
    m = torchvision_shuffle(c=32, h=7, convs=True)
    engine = Engine(m, backend=backend, threads=1)
    assert op_types(engine) == ["Conv", "DataMovement", "Conv", "Conv", "Concat"]
    check_against_ort(m, engine, RNG.normal(size=(2, 32, 7, 7)).astype(np.float32), exact=False)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("channels", [24, 32, 48])
def test_shuffle_of_blocked_channels_is_picked_in_the_backends_layout(backend, channels):
    """A depthwise conv's output in 16-channel blocks (halves of 12 / 16 / 24 channels: blocks cut
    mid-way and padded) is shuffled where it lies (Backend::channel_pick), at two batch sizes."""
    m = torchvision_shuffle(c=channels, h=7, convs=True, depthwise_first=True)
    engine = Engine(m, backend=backend, threads=1)
    assert op_types(engine) == ["Conv", "DataMovement", "Conv", "Conv", "Concat"]
    for batch in (2, 1):
        check_against_ort(m, engine, RNG.normal(size=(batch, channels, 7, 7)).astype(np.float32), exact=False)


@pytest.mark.parametrize("backend", supported_backends())
def test_gather_shuffle_folds_with_both_branches(backend):
    m = gather_shuffle()
    engine = Engine(m, backend=backend, threads=1)
    assert op_types(engine) == ["Relu", "DataMovement", "Neg", "Relu"]
    x = RNG.normal(size=(1, 24, 5, 5)).astype(np.float32)
    check_against_ort(m, engine, x)
    # the two outputs are the even and the odd channels
    y0, y1 = engine.run(x)
    np.testing.assert_array_equal(y0, np.maximum(x[:, 0::2], 0))


def test_single_element_runs_and_huge_inputs_run_the_chain_itself():
    m = channels_last_head()
    engine = Engine(m, threads=1)
    assert op_types(engine) == ["Relu", "DataMovement", "Relu"]
    check_against_ort(m, engine, RNG.normal(size=(1, 6, 4, 5)).astype(np.float32))
    big = channels_last_head((1, 6, 1024, 700))  # 4.3 M elements: past what the node indexes
    check_against_ort(big, Engine(big, threads=1), RNG.normal(size=(1, 6, 1024, 700)).astype(np.float32))


def test_empty_input():
    m = torchvision_shuffle()
    (out,) = Engine(m, threads=1).run(np.zeros((0, 16, 6, 6), np.float32))
    assert out.shape == (0, 16, 6, 6)


def test_a_chain_ends_at_a_value_read_elsewhere():
    m = gather_shuffle()
    model_proto = onnx.load_from_string(m)
    model_proto.graph.output.append(helper.make_tensor_value_info("t", TensorProto.FLOAT, None))  # t read outside
    engine = Engine(model_proto.SerializeToString(), threads=1)
    # the chain stops at t; the Reshape and the two Gathers after it fold on their own (a fan-out)
    assert op_types(engine) == ["Relu", "DataMovement", "DataMovement", "Neg", "Relu"]
    x = RNG.normal(size=(1, 24, 5, 5)).astype(np.float32)
    for out, ref in zip(engine.run(x), run_ort(model_proto.SerializeToString(), {"x": x}), strict=True):
        np.testing.assert_array_equal(out, ref)


def test_a_bad_index_in_the_chain_names_the_node():
    m = onnx.load_from_string(gather_shuffle())
    for t in m.graph.initializer:
        if t.name == "one":
            t.CopyFrom(numpy_helper.from_array(np.array(5, np.int64), "one"))
    engine = Engine(m.SerializeToString(), threads=1)
    with pytest.raises(ValueError, match="Gather node .* index 5 is out of range"):
        engine.run(RNG.normal(size=(1, 24, 5, 5)).astype(np.float32))


def test_static_int8_runs_through_the_folded_shuffle():
    m = torchvision_shuffle(convs=True)
    x = RNG.normal(size=(4, 16, 6, 6)).astype(np.float32)
    fp32 = Engine(m, threads=1).run(x[:1])[0]
    static = Engine(m, mode="static", calibration=x, threads=1)
    assert "DataMovement" in op_types(static)
    assert any(p == "int8_static" for _, _, p in static.plan())
    out = static.run(x[:1])[0]
    assert np.abs(out - fp32).max() < 0.05 * np.abs(fp32).max()
