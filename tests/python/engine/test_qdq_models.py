"""Quantized ONNX models run in INT8 with the file's own scales, zero points and weight codes.

ONNX Runtime's ``quantize_static`` output in both of its forms (QDQ: QuantizeLinear /
DequantizeLinear around float ops; QOperator: QLinearConv, QLinearMatMul, com.microsoft's QLinear
ops), with u8 and s8 activations, per-channel and per-tensor weights, and our own
``save_quantized`` files: the engine loads them without calibration, ``plan()`` reports INT8 for
the layers the file quantizes, and the outputs agree with ONNX Runtime on the same file within one
quantization step of the output.
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import ort_int8_is_exact, qdq_session
from qdq_pairs import saved_model

from edgequant.engine import Engine, int8_weight_bits, supported_backends

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")

INPUT_SHAPE = [1, 3, 16, 16]


def _conv_net(path, seed=0):
    """A small CNN with the ops quantizers treat specially: conv + relu, max pool, depthwise conv,
    a residual add, concat, global average pool and a classifier."""
    rng = np.random.default_rng(seed)

    def weight(name, *shape, scale=0.3):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    inits = [
        weight("w1", 8, 3, 3, 3),
        weight("b1", 8, scale=0.1),
        weight("w2", 8, 1, 3, 3),
        weight("b2", 8, scale=0.1),
        weight("w3", 8, 8, 1, 1),
        weight("b3", 8, scale=0.1),
        weight("w4", 8, 16, 3, 3, scale=0.1),
        weight("b4", 8, scale=0.1),
        weight("fc", 10, 8),
        weight("fcb", 10, scale=0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"]),
        helper.make_node("Add", ["c3", "p1"], ["a3"]),
        helper.make_node("Concat", ["a3", "r2"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w4", "b4"], ["c4"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c4"], ["r4"]),
        helper.make_node("GlobalAveragePool", ["r4"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "qdq_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, INPUT_SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    return saved_model(graph, path)


def _calibration(count=16, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.random(INPUT_SHAPE, dtype=np.float32) * 2 - 0.5 for _ in range(count)]


def _ort_quantized(source, target, quant_format="QDQ", activation="QUInt8", per_channel=True):
    data = _calibration()

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": d} for d in data])

        def get_next(self):
            return next(self.batches, None)

    quantization.quantize_static(
        str(source),
        str(target),
        Reader(),
        quant_format=getattr(quantization.QuantFormat, quant_format),
        per_channel=per_channel,
        activation_type=getattr(quantization.QuantType, activation),
        weight_type=quantization.QuantType.QInt8,
    )
    return target


def _ort_run(path, x):
    """ONNX Runtime on the file as ONNX defines it (ort_reference.qdq_session: not its INT8 kernels)."""
    session = qdq_session(path)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _engine_and_oracle(path, backend, ort_integer_ops=False):
    """The engine on the file's own 8-bit weight codes where the backend sums them exactly, and
    ONNX Runtime as the oracle (``ort_integer_ops``: the file runs ORT's INT8 kernels even without
    graph optimisation — QLinearConv, ConvInteger — which are exact only with VNNI: skipped
    otherwise). Where the backend needs 7-bit weights on this CPU (oneDNN without VNNI), the file's
    codes are requantized, and the oracle is the reference backend on the same 7-bit grid."""
    if int8_weight_bits(backend) == 8:
        if ort_integer_ops and not ort_int8_is_exact():
            pytest.skip("ONNX Runtime's INT8 kernels saturate on this CPU (no VNNI): no oracle for this form")
        return Engine(path, backend=backend, threads=1, reduce_range=False), lambda x: _ort_run(path, x)
    reference = Engine(path, backend="reference", threads=1, reduce_range=True)
    return Engine(path, backend=backend, threads=1), lambda x: reference.run(x)[0]


def _output_step(path):
    """The quantization step of the model's output: the scale of the DequantizeLinear writing it."""
    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer[model.graph.output[0].name]
    assert node.op_type == "DequantizeLinear", node.op_type
    return float(inits[node.input[1]])


def _pair_scale(path, tensor):
    """The scale of the QuantizeLinear that quantizes ``tensor`` in a QDQ file."""
    model = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == tensor)
    return float(inits[node.input[1]])


@pytest.fixture(scope="module")
def float_model(tmp_path_factory):
    return _conv_net(tmp_path_factory.mktemp("qdq") / "net.onnx")


CASES = [
    ("QDQ", "QUInt8", True),
    ("QDQ", "QInt8", True),
    ("QDQ", "QUInt8", False),
    ("QOperator", "QUInt8", True),
    ("QOperator", "QInt8", False),
]


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize(("quant_format", "activation", "per_channel"), CASES)
def test_onnxruntime_quantized_model_runs_int8_within_one_step(
    float_model, tmp_path, backend, quant_format, activation, per_channel
):
    path = _ort_quantized(float_model, tmp_path / "q.onnx", quant_format, activation, per_channel)
    engine, oracle = _engine_and_oracle(path, backend, ort_integer_ops=quant_format == "QOperator")
    assert engine.carries_quantization and engine.mode == "static"
    precision = {name: p for name, op, p in engine.plan() if op in ("Conv", "Gemm", "MatMul")}
    assert precision and set(precision.values()) == {"int8_static"}, precision  # INT8 ran, no calibration
    step = _output_step(path)
    for x in _calibration(4, seed=7):
        ours, theirs = engine.run(x)[0], oracle(x)
        assert np.abs(ours - theirs).max() <= step * 1.001, (np.abs(ours - theirs).max(), step)


@pytest.mark.parametrize("backend", supported_backends())
def test_codes_on_a_pairs_grid_also_feed_float_readers(float_model, tmp_path, backend):
    """A pair's output is exactly its grid's values, so it travels as u8 codes even where a float op
    (the residual Add) reads it beside a conv: the stem conv writes codes, the pool pools them, the
    Add gets them dequantized. The Concat of two differently quantized inputs gets them on its output's
    grid (a copy of that pair on the input of the other grid) and concatenates codes. Outputs stay
    within one step of the file's float semantics."""
    path = _ort_quantized(float_model, tmp_path / "q.onnx")
    engine, oracle = _engine_and_oracle(path, backend)
    codes = engine.integer_tensors()
    assert {"r1", "p1", "p1_DequantizeLinear_Output", "cat", "r2_DequantizeLinear_Output/requantized"} <= set(codes)
    step = _output_step(path)
    for x in _calibration(4, seed=11):
        assert np.abs(engine.run(x)[0] - oracle(x)).max() <= step * 1.001
    layouts = engine._native.value_layouts([_calibration(1)[0]])
    # The Concat joins codes, whatever layout each input lies in (it joined float values where one input
    # was in the backend's layout, and the pair after it quantized them again).
    assert layouts["cat"] != "plain", layouts["cat"]
    if backend == "onednn":  # the pair moves a conv's codes to the Concat's grid in the conv's own layout
        assert layouts["r2_DequantizeLinear_Output/requantized"] == layouts["r2_DequantizeLinear_Output"] != "codes"


def _wide_residual_net(path, seed=3):
    """ResNet-18's last block in small: 512-channel 7x7 convs whose outputs (off zero, no Relu) meet in
    an Add, the shape where oneDNN keeps u8 codes in a blocked layout."""
    rng = np.random.default_rng(seed)

    def weight(name, *shape, scale=0.05):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"]),
        helper.make_node("Conv", ["c1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "w3", "b3"], ["c3"]),
        helper.make_node("Add", ["c2", "c3"], ["y"]),
        # convs reading both too: the codes are worth keeping (float readers alone get float)
        helper.make_node("Conv", ["c2", "w4"], ["z2"]),
        helper.make_node("Conv", ["c3", "w4"], ["z3"]),
    ]
    graph = helper.make_graph(
        nodes,
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 7, 7])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in ("y", "z2", "z3")],
        [weight("w1", 512, 64, 1, 1), weight("b1", 512), weight("w2", 512, 512, 3, 3, scale=0.02), weight("b2", 512),
         weight("w3", 512, 64, 1, 1), weight("b3", 512), weight("w4", 8, 512, 1, 1)],
    )
    return saved_model(graph, path)


@pytest.mark.parametrize("backend", supported_backends())
def test_codes_read_back_as_float_from_any_layout(tmp_path, backend):
    """The Add reads two convs' u8 codes dequantized (the pairs put them on their grids): the values,
    whatever layout the backend kept the codes in (oneDNN's reorder out of a blocked u8 layout dropped
    the zero point: outputs about 6x too large)."""
    rng = np.random.default_rng(4)
    data = [rng.standard_normal((1, 64, 7, 7)).astype(np.float32) for _ in range(8)]

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": d} for d in data])

        def get_next(self):
            return next(self.batches, None)

    path = tmp_path / "wide_q.onnx"
    quantization.quantize_static(str(_wide_residual_net(tmp_path / "wide.onnx")), str(path), Reader(),
                                 quant_format=quantization.QuantFormat.QDQ, per_channel=True)
    engine, oracle = _engine_and_oracle(path, backend)
    assert {"c2_DequantizeLinear_Output", "c3_DequantizeLinear_Output"} <= set(engine.integer_tensors())
    # Each conv's codes come from the engine's integer requantization, one step of its grid from the
    # file's float rounding at most; the Add adds both, then rounds once more.
    bound = _pair_scale(path, "c2") + _pair_scale(path, "c3") + _output_step(path)
    for x in data[:2]:
        assert np.abs(engine.run(x)[0] - oracle(x)).max() <= bound * 1.001


def _handmade_qdq_conv(path, codes, weight_scale, activation_zero):
    """x -> Q/DQ -> Conv(DQ(codes)) -> Q/DQ: a QDQ file written by hand, as other tools write them."""
    oc = codes.shape[0]
    inits = [
        numpy_helper.from_array(np.array(0.02, np.float32), "xs"),
        numpy_helper.from_array(np.array(activation_zero), "xz"),
        numpy_helper.from_array(codes.astype(np.int8), "wq"),
        numpy_helper.from_array(np.asarray(weight_scale, np.float32), "ws"),
        numpy_helper.from_array(np.zeros(oc, np.int8), "wz"),
        numpy_helper.from_array(np.array(0.05, np.float32), "ys"),
        numpy_helper.from_array(np.array(activation_zero), "yz"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=0),
        helper.make_node("Conv", ["xd", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]),
        helper.make_node("DequantizeLinear", ["cq", "ys", "yz"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, INPUT_SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    return saved_model(graph, path)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("activation_zero", [np.uint8(128), np.int8(-3)])
def test_file_weight_codes_are_used_exactly(tmp_path, backend, activation_zero):
    """Codes reaching −128 (max|code| 128): our own symmetric fit (max|w| / 127) would give other
    codes and another scale. The kernels must use the file's, so the result equals ONNX Runtime's."""
    rng = np.random.default_rng(4)
    codes = rng.integers(-100, 100, size=(6, 3, 3, 3))
    codes[:, 0, 0, 0] = -128
    path = _handmade_qdq_conv(tmp_path / "h.onnx", codes, rng.uniform(0.002, 0.01, 6), activation_zero)
    engine, oracle = _engine_and_oracle(path, backend)
    assert {p for _, op, p in engine.plan() if op == "Conv"} == {"int8_static"}
    for x in _calibration(4, seed=3):
        assert np.abs(engine.run(x)[0] - oracle(x)).max() <= 0.05 * 1.001


@pytest.mark.parametrize("backend", supported_backends())
def test_file_weight_codes_survive_a_folded_batch_norm_and_channel_scale(tmp_path, backend):
    """Conv(DQ(codes)) -> BatchNormalization -> Mul by a per-channel constant, as exporters of
    re-parameterised nets write it (PP-LCNetV3): the engine folds both into the conv's weights, and
    the file's codes must survive with their scales times |gain| (negative gains included) — a refit
    of the folded weights put PP-OCRv4's recognizer 5 % of codes off ONNX Runtime on the same file.
    Codes within ±63 stay on the 7-bit grid too, so every backend is held to ONNX Runtime's float
    semantics of the file, within float rounding."""
    rng = np.random.default_rng(11)
    oc = 6
    path = _handmade_qdq_conv(tmp_path / "bn.onnx", rng.integers(-63, 64, size=(oc, 3, 3, 3)),
                              rng.uniform(0.002, 0.01, oc), np.uint8(128))
    model = onnx.load(str(path))
    graph = model.graph
    del graph.node[-2:]  # the output pair: the folded conv's float output is compared
    graph.node[-1].output[0] = "c"
    gains = np.array([1.7, -0.6, 21.0, 0.05, -3.0, 1.0], np.float32)
    graph.initializer.extend([
        numpy_helper.from_array(gains, "gamma"),
        numpy_helper.from_array(rng.normal(0, 1, oc).astype(np.float32), "beta"),
        numpy_helper.from_array(rng.normal(0, 0.5, oc).astype(np.float32), "mean"),
        numpy_helper.from_array(rng.uniform(0.5, 2, oc).astype(np.float32), "var"),
        numpy_helper.from_array(rng.uniform(-2, 2, (1, oc, 1, 1)).astype(np.float32), "channel_scale"),
    ])
    graph.node.extend([
        helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["bn"]),
        helper.make_node("Mul", ["bn", "channel_scale"], ["y"]),
    ])
    onnx.save(model, path)
    engine = Engine(path, backend=backend, threads=1)
    assert [p for _, op, p in engine.plan() if op == "Conv"] == ["int8_static"]
    for x in _calibration(3, seed=8):
        expected = _ort_run(path, x)
        assert np.abs(engine.run(x)[0] - expected).max() <= 1e-5 * np.abs(expected).max()


def test_save_quantized_output_runs_int8_like_the_engine_that_wrote_it(float_model, tmp_path):
    calibration = np.concatenate(_calibration())
    engine = Engine(float_model, mode="static", calibration=calibration, threads=1)
    engine.save_quantized(tmp_path / "ours.onnx")
    loaded = Engine(tmp_path / "ours.onnx", threads=1)
    assert loaded.carries_quantization and loaded.mode == "static"
    assert {p for _, op, p in loaded.plan() if op in ("Conv", "Gemm")} == {"int8_static"}
    for x in _calibration(4, seed=5):
        np.testing.assert_allclose(loaded.run(x)[0], engine.run(x)[0], rtol=1e-5, atol=1e-5)


def test_fp32_mode_keeps_the_files_rounding(float_model, tmp_path):
    """FP32 mode of a quantized model computes its QuantizeLinear / DequantizeLinear pairs in float
    (the ONNX semantics): close to INT8, far from the float model's own output."""
    path = _ort_quantized(float_model, tmp_path / "q.onnx")
    x = _calibration(1, seed=9)[0]
    simulated = Engine(path, mode="fp32").run(x)[0]
    assert {p for *_, p in Engine(path, mode="fp32").plan()} == {"f32"}
    assert np.abs(simulated - _ort_run(path, x)).max() <= _output_step(path) * 1.001


def test_quantized_model_refuses_calibration(float_model, tmp_path):
    path = _ort_quantized(float_model, tmp_path / "q.onnx")
    with pytest.raises(ValueError, match="carries its own quantization"):
        Engine(path, mode="static", calibration=np.concatenate(_calibration(2)))
    engine = Engine(path, keep_float_weights=True)
    with pytest.raises(ValueError, match="carries its own quantization"):
        engine.calibrate(np.concatenate(_calibration(2)))
    with pytest.raises(ValueError, match="already quantized"):
        engine.save_quantized(tmp_path / "again.onnx")
    assert engine.activation_quantization()  # the file's parameters, as the kernels use them


def test_dynamic_mode_on_a_quantized_model(float_model, tmp_path):
    path = _ort_quantized(float_model, tmp_path / "q.onnx")
    engine = Engine(path, mode="dynamic")
    assert {p for _, op, p in engine.plan() if op == "Conv"} == {"int8_dynamic"}
    x = _calibration(1, seed=11)[0]
    ref = _ort_run(path, x)
    assert np.abs(engine.run(x)[0] - ref).max() < 0.1 * np.abs(ref).max()


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("weights", ["QInt8", "QUInt8"])
@pytest.mark.parametrize("per_channel", [False, True])
def test_onnxruntime_dynamic_quantized_model_runs_dynamic_int8(float_model, tmp_path, backend, per_channel, weights):
    """quantize_dynamic's DynamicQuantizeLinear -> ConvInteger / MatMulInteger -> Cast -> Mul runs the
    engine's dynamic INT8 kernels (the same u8 input quantization per run): ORT's outputs to float
    rounding. uint8 weights with zero points away from 128 reach outside s8: their codes are shifted
    and the shift's window sums added (graph/qdq.h), still the file's integers. (Forms the rewrite does
    not match stay exact integer ops: same outputs, slower.)"""
    path = tmp_path / "dyn.onnx"
    quantization.quantize_dynamic(
        str(float_model), str(path), weight_type=getattr(quantization.QuantType, weights), per_channel=per_channel
    )
    engine, oracle = _engine_and_oracle(path, backend, ort_integer_ops=True)
    assert engine.carries_quantization and engine.mode == "static"
    precision = [p for _, op, p in engine.plan() if op in ("Conv", "MatMul", "Gemm")]
    assert precision and set(precision) == {"int8_dynamic"}, engine.plan()
    for x in _calibration(3, seed=13):
        ours, theirs = engine.run(x)[0], oracle(x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * np.abs(theirs).max())


def _single_node_model(node, inits, inputs=("x",)):
    graph = helper.make_graph(
        [node],
        "bad",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in inputs],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]
    )
    return model.SerializeToString()


@pytest.mark.parametrize(
    ("node", "inits", "message"),
    [
        # QLinearConv missing its output scale and zero point
        (
            helper.make_node("QLinearConv", ["x", "s", "z", "w", "s", "z"], ["y"]),
            [
                numpy_helper.from_array(np.array(0.1, np.float32), "s"),
                numpy_helper.from_array(np.array(0, np.uint8), "z"),
                numpy_helper.from_array(np.ones((1, 1, 1, 1), np.uint8), "w"),
            ],
            "expects 8",
        ),
        # a per-axis zero point of another length than the scales
        (
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=0),
            [
                numpy_helper.from_array(np.ones((3, 2), np.int8), "q"),
                numpy_helper.from_array(np.ones(3, np.float32), "s"),
                numpy_helper.from_array(np.zeros(2, np.int8), "z"),
            ],
            "zero point",
        ),
        # a channels_last QLinear op
        (
            helper.make_node(
                "QLinearGlobalAveragePool", ["x", "s", "z", "s", "z"], ["y"], domain="com.microsoft", channels_last=1
            ),
            [
                numpy_helper.from_array(np.array(0.1, np.float32), "s"),
                numpy_helper.from_array(np.array(0, np.uint8), "z"),
            ],
            "channels_last",
        ),
    ],
)
def test_malformed_quantized_nodes_are_refused_clearly(node, inits, message):
    with pytest.raises(ValueError, match=message):
        Engine(_single_node_model(node, inits)).run(np.ones((1, 1, 2, 2), np.float32))


def _batch_norm_between_pairs_net(path, seed=5):
    """Conv -> BatchNormalization (per-channel gains far from 1) -> Relu, twice, then a conv: ONNX Runtime's
    quantizer (no pre-processing) keeps each BN between two pairs, as in UltraFace's quantized file."""
    rng = np.random.default_rng(seed)

    def const(name, array):
        return numpy_helper.from_array(np.asarray(array, np.float32), name)

    inits, nodes = [], []
    for i, (cin, cout) in enumerate([(3, 8), (8, 8)]):
        inits += [const(f"w{i}", rng.standard_normal((cout, cin, 3, 3)) * 0.3),
                  const(f"g{i}", rng.uniform(0.2, 5, cout)), const(f"b{i}", rng.normal(0, 0.5, cout)),
                  const(f"m{i}", rng.normal(0, 0.3, cout)), const(f"v{i}", rng.uniform(0.5, 2, cout))]
        source = "x" if i == 0 else f"r{i - 1}"
        nodes += [helper.make_node("Conv", [source, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("BatchNormalization", [f"c{i}", f"g{i}", f"b{i}", f"m{i}", f"v{i}"], [f"n{i}"]),
                  helper.make_node("Relu", [f"n{i}"], [f"r{i}"])]
    inits.append(const("w_out", rng.standard_normal((4, 8, 1, 1)) * 0.3))
    nodes.append(helper.make_node("Conv", ["r1", "w_out"], ["y"]))
    graph = helper.make_graph(nodes, "bn_pairs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, INPUT_SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return saved_model(graph, path)


@pytest.mark.parametrize("backend", supported_backends())
def test_a_batch_norm_between_pairs_is_a_table_per_channel(tmp_path, backend):
    """Each BN between two pairs becomes one CodeTable with a table per channel (its input codes decide its
    output channel by channel): the output codes are the pair's rounding of the BN of the input codes' values,
    as ONNX defines them; on oneDNN the codes stay in the conv's layout."""
    path = _ort_quantized(_batch_norm_between_pairs_net(tmp_path / "bn.onnx"), tmp_path / "bn_q.onnx")
    model = onnx.load(str(path))
    assert sum(n.op_type == "BatchNormalization" for n in model.graph.node) == 2
    engine, _ = _engine_and_oracle(path, backend)
    ops = [op for _, op, _ in engine.plan()]
    assert "BatchNormalization" not in ops and ops.count("CodeTable") == 2, ops
    tables = [attributes for op, _, _, _, attributes, _ in engine._native.lowered_graph()[0] if op == "CodeTable"]
    assert [t["_channels"] for t in tables] == [[8], [8]]
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:  # the quantizer stores BN's gain and bias as codes too: their values
        constant = node.op_type == "DequantizeLinear" and all(name in inits for name in node.input)
        if constant and inits[node.input[0]].ndim == 1:
            codes, step, zero = (inits[name] for name in node.input)
            inits[node.output[0]] = ((codes.astype(np.int32) - zero) * step).astype(np.float32)
    bn_inputs = {n.output[0]: n.input[1:] for n in model.graph.node if n.op_type == "BatchNormalization"}
    for x in _calibration(3, seed=13):
        _, values = engine._native.run_capture([x], True)
        for i in range(2):
            c = values[f"c{i}_DequantizeLinear_Output"]
            gain, shift, mean, var = (inits[name].reshape(1, -1, 1, 1) for name in bn_inputs[f"r{i}"])
            bn = (c - mean) / np.sqrt(var + np.float32(1e-5)) * gain + shift
            scale, zero = _pair_scale(path, f"r{i}"), 0  # ONNX Runtime's u8 pair after a BN + Relu: zero point 0
            expected = scale * np.clip(np.rint(bn / scale) + zero, 0, 255)
            got = values[f"r{i}_DequantizeLinear_Output"]
            off = np.abs(got - expected) > scale * 0.01
            # the same codes but at rounding ties (BN's float order here against the reference op's)
            assert off.mean() < 0.002 and np.abs(got - expected).max() <= scale * 1.001, (i, off.sum())
    if backend == "onednn":
        layouts = engine._native.value_layouts([_calibration(1)[0]])
        assert all(layouts[f"r{i}_DequantizeLinear_Output"] == "nhwc" for i in range(2)), layouts


def test_lowered_graph_of_a_static_engine_names_its_released_weights(float_model, tmp_path):
    """Static INT8 hands the float weights of its layers to the kernels (as codes) and frees them: the lowered
    graph lists them as None (reading them crashed the process)."""
    engine = Engine(_ort_quantized(float_model, tmp_path / "q.onnx"), threads=1)
    nodes, constants, _ = engine._native.lowered_graph()
    released = [name for name, value in constants.items() if value is None]
    assert released and all(isinstance(v, np.ndarray) for v in constants.values() if v is not None), released
    assert any(op == "Conv" and inputs[1] in released for op, _, inputs, *_ in nodes)
