"""A quantized model's channel shuffle: ONNX Runtime's QDQ form puts a pair after every op that only moves
data (Reshape -> pair -> Transpose -> pair -> Reshape -> pair -> Split -> pairs), each on the grid of the
values it moves. Such a pair maps every value to itself, so the engine drops it (graph/qdq.h
remove_pairs_after_data_moves), the moves fold into one DataMovement, and static INT8 moves the u8 codes
through it: no detour through float and back per move. The results are ONNX's (ONNX Runtime on the same
file); the codes' path is shown by how each value lay after a run."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import qdq_session
from qdq_pairs import qdq_pair, saved_model

from edgequant.engine import Engine, supported_backends

RNG = np.random.default_rng(11)
C, H, W = 16, 6, 7
GRID = (0.04, 3)  # uint8 (scale, zero point) of the shuffled values


def _weight_pair(name, shape, scale=0.02):
    """Conv weights as int8 codes read through a DequantizeLinear (per tensor)."""
    codes = RNG.integers(-127, 128, shape).astype(np.int8)
    inits = [numpy_helper.from_array(codes, f"{name}_q"),
             numpy_helper.from_array(np.array(scale, np.float32), f"{name}_s"),
             numpy_helper.from_array(np.array(0, np.int8), f"{name}_z")]
    return [helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s", f"{name}_z"], [name])], inits


def _shuffle_model(path, form="transpose", after_grid=GRID, convs=True, channels=C):
    """x -> pair -> [Conv -> pair] -> channel shuffle with a pair after each move -> [a Conv per half
    -> pair] -> Concat -> pair. form "transpose": Reshape -> Transpose -> Reshape -> Split (ShuffleNetV2's
    export); "gather": Reshape [1, C/2, 2, H, W] -> two Gathers on axis 2 (yolo-fastestv2's after ONNX
    Runtime's pre-processing). after_grid: the grid of the pairs after the moves."""
    nodes, inits, C = [], [], channels

    def pair(name, source, grid=GRID):
        n, i = qdq_pair(name, source, grid[0], grid[1], np.uint8)
        nodes.extend(n)
        inits.extend(i)
        return name

    v = pair("xq", "x")
    if convs:
        n, i = _weight_pair("w0", [C, C, 1, 1])
        nodes.extend(n)
        inits.extend(i)
        nodes.append(helper.make_node("Conv", [v, "w0"], ["c0"]))
        v = pair("c0q", "c0")
    half = C // 2
    if form == "transpose":
        inits += [numpy_helper.from_array(np.array([1, 2, half, H, W], np.int64), "shape5"),
                  numpy_helper.from_array(np.array([1, C, H, W], np.int64), "shape4"),
                  numpy_helper.from_array(np.array([half, half], np.int64), "halves")]
        nodes.append(helper.make_node("Reshape", [v, "shape5"], ["r1"]))
        nodes.append(helper.make_node("Transpose", [pair("r1q", "r1", after_grid)], ["t"], perm=[0, 2, 1, 3, 4]))
        nodes.append(helper.make_node("Reshape", [pair("tq", "t", after_grid), "shape4"], ["r2"]))
        nodes.append(helper.make_node("Split", [pair("r2q", "r2", after_grid), "halves"], ["s0", "s1"], axis=1))
        parts = [pair("s0q", "s0", after_grid), pair("s1q", "s1", after_grid)]
    else:
        inits += [numpy_helper.from_array(np.array([1, half, 2, H, W], np.int64), "shape5"),
                  numpy_helper.from_array(np.array(0, np.int64), "i0"),
                  numpy_helper.from_array(np.array(1, np.int64), "i1")]
        nodes.append(helper.make_node("Reshape", [v, "shape5"], ["r1"]))
        r = pair("r1q", "r1", after_grid)
        nodes.append(helper.make_node("Gather", [r, "i0"], ["g0"], axis=2))
        nodes.append(helper.make_node("Gather", [r, "i1"], ["g1"], axis=2))
        parts = [pair("g0q", "g0", after_grid), pair("g1q", "g1", after_grid)]
    outs = []
    for k, p in enumerate(parts):
        if convs:
            n, i = _weight_pair(f"w{k + 1}", [half, half, 3, 3])
            nodes.extend(n)
            inits.extend(i)
            nodes.append(helper.make_node("Conv", [p, f"w{k + 1}"], [f"c{k + 1}"], pads=[1, 1, 1, 1]))
            p = pair(f"c{k + 1}q", f"c{k + 1}", (0.3, 128))
        outs.append(p)
    nodes.append(helper.make_node("Concat", outs, ["cat"], axis=1))
    pair("y", "cat", (0.3, 128) if convs else GRID)  # another after_grid's rounding shows through GRID's
    graph = helper.make_graph(nodes, "qdq_shuffle",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, H, W])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return saved_model(graph, path, opset=13)


def _input(seed=0, channels=C):
    x = np.random.default_rng(seed).uniform(-0.5, 9, (1, channels, H, W)).astype(np.float32)
    x.flat[:3] = [1e3, -1e3, GRID[0] * 2.5]  # saturated codes, a tie of the grid
    return x


def _pairs(engine):
    return [op for _, op, _ in engine.plan()].count("QuantizeDequantize")


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("form", ["transpose", "gather"])
def test_a_shuffle_without_convs_moves_codes_exactly(tmp_path, backend, form):
    """Only moves between pairs of one grid: every output value is an input value on the grid, so ours
    equals ONNX Runtime's exactly, and the codes travel: no value after the first pair is plain float."""
    path = _shuffle_model(tmp_path / "m.onnx", form, convs=False)
    engine = Engine(path, backend=backend, threads=1)
    ops = [op for _, op, _ in engine.plan()]
    assert "DataMovement" in ops and not {"Reshape", "Transpose", "Split", "Gather"} & set(ops), ops
    for seed in range(3):
        x = _input(seed)
        np.testing.assert_array_equal(engine.run(x)[0], qdq_session(path).run(None, {"x": x})[0])
    layouts = engine._native.value_layouts([_input()])
    moved = ["s0q", "s1q"] if form == "transpose" else ["g0q", "g1q"]
    assert all(layouts[name] != "plain" for name in moved), layouts


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("form", ["transpose", "gather"])
@pytest.mark.parametrize("channels", [C, 200])  # 200: halves of 100 lanes, picked in runs of 64 and 36
def test_a_shuffle_between_int8_convs_stays_on_codes(tmp_path, backend, form, channels):
    """Convs around the shuffle (oneDNN: their u8 codes in its NHWC layout, the halves picked there):
    within one output step of ONNX Runtime's evaluation of the file, the convs INT8, the shuffled values
    codes (or the backend's layout of them)."""
    path = _shuffle_model(tmp_path / "m.onnx", form, channels=channels)
    engine = Engine(path, backend=backend, threads=1)
    precisions = {name: p for name, op, p in engine.plan() if op == "Conv"}
    assert len(precisions) == 3 and set(precisions.values()) == {"int8_static"}, precisions
    # the pairs of the file: x, the conv's, each half conv's, the output's (and Concat's for the halves' inputs)
    assert _pairs(engine) <= 6, engine.plan()
    for seed in range(3):
        x = _input(seed, channels)
        ours, theirs = engine.run(x)[0], qdq_session(path).run(None, {"x": x})[0]
        assert np.abs(ours - theirs).max() <= 0.3 * 1.001
    layouts = engine._native.value_layouts([_input(0, channels)])
    moved = ["s0q", "s1q"] if form == "transpose" else ["g0q", "g1q"]
    assert all(layouts[name] != "plain" for name in moved), layouts


@pytest.mark.parametrize("backend", supported_backends())
def test_a_pair_of_another_grid_after_a_move_stays(tmp_path, backend):
    """The pairs after the moves on a coarser grid round (the output pair, on the first grid, keeps what
    they did): they stay, and the result is still ONNX's."""
    path = _shuffle_model(tmp_path / "m.onnx", "transpose", after_grid=(0.1, 7), convs=False)
    engine = Engine(path, backend=backend, threads=1)
    assert _pairs(engine) >= 2, engine.plan()
    for seed in range(3):
        x = _input(seed)
        np.testing.assert_array_equal(engine.run(x)[0], qdq_session(path).run(None, {"x": x})[0])


@pytest.mark.parametrize("mode", ["fp32", "dynamic"])
def test_float_modes_keep_the_files_rounding(tmp_path, mode):
    """FP32 and dynamic runs of the file compute each pair in float: dropping the pairs that map values to
    themselves changes nothing there either."""
    path = _shuffle_model(tmp_path / "m.onnx", "transpose", convs=False)
    x = _input(4)
    ours = Engine(path, mode=mode, threads=1).run(x)[0]
    np.testing.assert_array_equal(ours, qdq_session(path).run(None, {"x": x})[0])
