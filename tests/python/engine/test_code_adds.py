"""A quantized model's Add between pairs — pair(a) + pair(b) -> [Relu | Clip] -> pair, a residual block's
sum as TFLite's converter and ONNX Runtime's quantizer write it — becomes one CodeAdd node
(graph/code_adds.h). Static INT8 adds the codes with TFLite's integer Add (the reference below, written
from its formula), codes in and codes out; FP32 and dynamic runs keep ONNX's float semantics of the file
exactly. Either way the output lies within one output step of ONNX Runtime's."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import qdq_session
from qdq_pairs import qdq_pair, saved_model

from edgequant.engine import Engine, supported_backends
from edgequant.microcontroller.fixed_point import add_parameters

SHAPE = [2, 16, 9, 11]
# int8 (scale, zero point); uint8 adds 128. Powers of two: the sum lands on half steps of y (2a + b ≡ 2
# mod 4), where float rounds half to even and TFLite away from zero — the two arithmetics differ there.
TIES = {"a": (2.0**-5, 3), "b": (2.0**-6, -7), "y": (2.0**-4, -20)}
ODD = {"a": (0.031, 3), "b": (0.0123, -7), "y": (0.045, -20)}


def _add_model(path, dtype=np.int8, activation="relu", b_shape=None, opset=14, grids=TIES, sqrt_x=False):
    """x -> pair a, z -> pair b, Add(a, b) -> activation -> pair y (x through a Sqrt first: NaN inside)."""
    shift = 128 if dtype == np.uint8 else 0
    nodes = [helper.make_node("Sqrt", ["x"], ["x_root"])] if sqrt_x else []
    inits = []
    for name, source in [("a", "x_root" if sqrt_x else "x"), ("b", "z")]:
        n, i = qdq_pair(name, source, grids[name][0], grids[name][1] + shift, dtype)
        nodes += n
        inits += i
    nodes.append(helper.make_node("Add", ["a", "b"], ["sum"]))
    last = "sum"
    if activation == "relu":
        nodes.append(helper.make_node("Relu", ["sum"], ["act"]))
        last = "act"
    elif activation == "clip":  # Relu6 as opset 11+ writes it
        inits += [numpy_helper.from_array(np.array(0, np.float32), "lo"),
                  numpy_helper.from_array(np.array(6, np.float32), "hi")]
        nodes.append(helper.make_node("Clip", ["sum", "lo", "hi"], ["act"]))
        last = "act"
    elif activation == "clip_attributes":  # Clip before opset 11
        nodes.append(helper.make_node("Clip", ["sum"], ["act"], min=-1.0, max=2.5))
        last = "act"
    n, i = qdq_pair("y", last, grids["y"][0], grids["y"][1] + shift, dtype)
    nodes += n
    inits += i
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE),
              helper.make_tensor_value_info("z", TensorProto.FLOAT, b_shape or SHAPE)]
    graph = helper.make_graph(nodes, "code_add", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              inits)
    return saved_model(graph, path, opset)


def _bounds(activation):
    bounds = {"relu": (0.0, np.inf), "clip": (0.0, 6.0), "clip_attributes": (-1.0, 2.5)}
    return bounds.get(activation, (-np.inf, np.inf))


# TFLite's int8 Add, from its formula (gemmlowp's rounding), on int64 arrays.
def _high_mul(a, b):
    """round(a·b / 2^31), ties toward +inf as gemmlowp's nudge and truncating division make them."""
    product = a * b
    nudged = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    return np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))


def _divide_by_pot(x, exponent):
    """x / 2^exponent, ties away from zero."""
    mask = (1 << exponent) - 1
    return (x >> exponent) + ((x & mask) > (mask >> 1) + (x < 0))


def _multiply(x, multiplier, shift):
    return _divide_by_pot(_high_mul(x << max(shift, 0), multiplier), max(-shift, 0))


def _codes(values, grid):
    scale, zero = grid
    return np.clip(np.rint(values / np.float32(scale)) + zero, -128, 127).astype(np.int64)


def _tflite_add(x, z, activation, grids=TIES):
    """Output values of TFLite's ADD on the two inputs' codes (int8 grids)."""
    p = add_parameters(grids["a"][0], grids["b"][0], grids["y"][0])
    qa, qb = np.broadcast_arrays(_codes(x, grids["a"]), _codes(z, grids["b"]))
    left = p["left_shift"]
    total = (_multiply((qa - grids["a"][1]) << left, p["input1_multiplier"], p["input1_shift"])
             + _multiply((qb - grids["b"][1]) << left, p["input2_multiplier"], p["input2_shift"]))
    scale, zero = grids["y"]
    lo, hi = _bounds(activation)
    q_lo = -128 if np.isinf(lo) else max(-128, zero + int(np.round(lo / np.float32(scale))))
    q_hi = 127 if np.isinf(hi) else min(127, zero + int(np.round(hi / np.float32(scale))))
    codes = np.clip(_multiply(total, p["output_multiplier"], p["output_shift"]) + zero, q_lo, q_hi)
    return (np.float32(scale) * (codes - zero)).astype(np.float32)


def _inputs(b_shape=None, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(SHAPE) * 2).astype(np.float32)
    z = (rng.standard_normal(b_shape or SHAPE) * 1.5).astype(np.float32)
    x.flat[:4] = [1e4, -1e4, 2.0**-6, -3 * 2.0**-6]  # saturated codes, ties of the input grid
    return x, z


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("activation", ["relu", "clip", "clip_attributes", None])
def test_static_int8_adds_the_codes_as_tflite_does(tmp_path, backend, dtype, activation):
    path = _add_model(tmp_path / "m.onnx", dtype, activation, opset=10 if activation == "clip_attributes" else 14)
    engine = Engine(path, backend=backend, threads=1)
    assert engine.mode == "static"
    ops = [op for _, op, _ in engine.plan()]
    assert ops.count("CodeAdd") == 1 and "Add" not in ops and "Relu" not in ops and "Clip" not in ops, ops
    x, z = _inputs()
    expected = _tflite_add(x, z, activation)
    # float semantics (ONNX's definition of the file): the integer arithmetic must be told apart from it
    lo, hi = _bounds(activation)
    float_sum = qdq_session(path).run(None, {"x": x, "z": z})[0]
    assert np.any(float_sum != expected), "no element tells TFLite's rounding from float's: the test proves nothing"
    assert np.abs(float_sum - expected).max() <= TIES["y"][0] * 1.001  # TFLite's Add: within a step of float
    assert lo <= expected.min() and expected.max() <= hi
    np.testing.assert_array_equal(engine.run([x, z])[0], expected)


@pytest.mark.parametrize("backend", supported_backends())
def test_a_broadcast_input_is_added_on_codes_too(tmp_path, backend):
    b_shape = [1, 16, 1, 1]
    path = _add_model(tmp_path / "m.onnx", b_shape=b_shape, grids=ODD)
    engine = Engine(path, backend=backend, threads=1)
    x, z = _inputs(b_shape, seed=1)
    np.testing.assert_array_equal(engine.run([x, z])[0], _tflite_add(x, z, "relu", ODD))


@pytest.mark.parametrize("mode", ["fp32", "dynamic"])
def test_float_runs_keep_the_files_float_semantics(tmp_path, mode):
    path = _add_model(tmp_path / "m.onnx", activation="clip")
    engine = Engine(path, mode=mode, threads=1)
    assert "CodeAdd" in [op for _, op, _ in engine.plan()]
    x, z = _inputs(seed=2)
    np.testing.assert_array_equal(engine.run([x, z])[0], qdq_session(path).run(None, {"x": x, "z": z})[0])


def test_nan_inside_the_model_stays_nan_and_the_rest_are_codes(tmp_path):
    """A NaN made inside the model (Sqrt of a negative) reaches the Add as float: NaN comes out where it
    lies (the engine's pairs keep NaN, where ONNX Runtime's QuantizeLinear writes the zero point), every
    other output within one step of ONNX Runtime's."""
    path = _add_model(tmp_path / "m.onnx", activation=None, sqrt_x=True)
    engine = Engine(path, threads=1)
    x, z = _inputs(seed=3)
    out = engine.run([x, z])[0]
    reference = qdq_session(path).run(None, {"x": x, "z": z})[0]
    np.testing.assert_array_equal(np.isnan(out), x < 0)
    finite = x >= 0
    assert np.abs(out[finite] - reference[finite]).max() <= TIES["y"][0] * 1.001


def test_a_sum_read_elsewhere_stays_an_add(tmp_path):
    """The sum before the activation is also a graph output: the nodes stay as they are."""
    path = _add_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    model.graph.output.append(helper.make_tensor_value_info("sum", TensorProto.FLOAT, SHAPE))
    onnx.save(model, str(path))
    engine = Engine(str(path), threads=1)
    assert "CodeAdd" not in [op for _, op, _ in engine.plan()]
    x, z = _inputs(seed=4)
    for ours, theirs in zip(engine.run([x, z]), qdq_session(str(path)).run(None, {"x": x, "z": z}), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=TIES["y"][0] * 1.001)


@pytest.mark.parametrize("backend", supported_backends())
def test_consecutive_blocks_chain_their_sums_on_codes(tmp_path, backend):
    """One block's sum is the next block's skip: the second Add reads the first CodeAdd's output (no pair
    of its own in between) and becomes a CodeAdd too."""
    path = _add_model(tmp_path / "m.onnx", grids=ODD)
    model = onnx.load(str(path))
    nodes, inits = qdq_pair("w", "second", 0.06, 5, np.int8)
    model.graph.node.extend([helper.make_node("Add", ["y", "b"], ["second"]), *nodes])
    model.graph.initializer.extend(inits)
    model.graph.output[0].name = "w"
    onnx.save(model, str(path))
    engine = Engine(str(path), backend=backend, threads=1)
    assert [op for _, op, _ in engine.plan()].count("CodeAdd") == 2
    x, z = _inputs(seed=6)
    first = _tflite_add(x, z, "relu", ODD)
    expected = _tflite_add(first, z, None, {"a": ODD["y"], "b": ODD["b"], "y": (0.06, 5)})
    np.testing.assert_array_equal(engine.run([x, z])[0], expected)


def _conv_sum_model(path):
    """Two convs of one input meet in an Add before a third conv (ResNet's block in small), as a float model."""
    rng = np.random.default_rng(8)
    weights = {"w1": (16, 8, 1, 1), "w2": (16, 8, 3, 3), "w3": (4, 16, 1, 1)}
    inits = [numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)
             for name, shape in weights.items()]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"]),
             helper.make_node("Conv", ["x", "w2"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Conv", ["s", "w3"], ["y"])]
    graph = helper.make_graph(nodes, "conv_sum",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return saved_model(graph, path)


@pytest.mark.parametrize("backend", supported_backends())
def test_the_sum_of_two_convs_codes_is_tflites_in_their_layout(tmp_path, backend):
    """ONNX Runtime's quantized file of two convs meeting in an Add: the sum is TFLite's integer Add of the
    convs' own codes, and on oneDNN it is made in the layout the convs wrote (no reorder before the next conv)."""
    quantization = pytest.importorskip("onnxruntime.quantization")
    rng = np.random.default_rng(9)
    samples = [rng.standard_normal((1, 8, 10, 12)).astype(np.float32) for _ in range(8)]

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": s} for s in samples])

        def get_next(self):
            return next(self.batches, None)

    path = tmp_path / "q.onnx"
    quantization.quantize_static(str(_conv_sum_model(tmp_path / "f.onnx")), str(path), Reader(),
                                 quant_format=quantization.QuantFormat.QDQ, per_channel=True)
    engine = Engine(str(path), backend=backend, threads=1)
    assert [op for _, op, _ in engine.plan()].count("CodeAdd") == 1
    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}

    def grid(tensor):  # the pair quantizing `tensor`, in the int8 dialect of _tflite_add
        q = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == tensor)
        zero = inits[q.input[2]]
        return float(inits[q.input[1]]), int(zero) - (128 if zero.dtype == np.uint8 else 0)

    grids = {"a": grid("a"), "b": grid("b"), "y": grid("s")}
    _, values = engine._native.run_capture([samples[0]], True)
    a, b, s = (values[f"{name}_DequantizeLinear_Output"] for name in "abs")
    np.testing.assert_array_equal(s, _tflite_add(a, b, None, grids))
    if backend == "onednn":
        layouts = engine._native.value_layouts([samples[0]])
        assert layouts["s_DequantizeLinear_Output"] == layouts["a_DequantizeLinear_Output"] != "codes", layouts
