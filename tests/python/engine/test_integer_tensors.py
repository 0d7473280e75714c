"""Static INT8 hands activations from layer to layer as u8 codes (Engine.integer_tensors): which
tensors, on which grid, on every backend; and the outputs equal the reference backend's, whose
layers take those codes as they are."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(5)


def weight(name, cout, cin, k=3):
    return numpy_helper.from_array((RNG.normal(size=(cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32), name)


def chain_model() -> bytes:
    """conv+relu -> maxpool -> (conv+relu, conv+relu) -> concat -> conv -> global pool -> gemm."""
    conv = lambda x, y, w: helper.make_node("Conv", [x, w], [y], pads=[1, 1, 1, 1])  # noqa: E731
    nodes = [conv("x", "a", "w0"), helper.make_node("Relu", ["a"], ["h"]),
             helper.make_node("MaxPool", ["h"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             conv("p", "b", "w1"), helper.make_node("Relu", ["b"], ["br"]),
             conv("p", "c", "w2"), helper.make_node("Relu", ["c"], ["cr"]),
             helper.make_node("Concat", ["br", "cr"], ["cat"], axis=1), conv("cat", "d", "w3"),
             helper.make_node("GlobalAveragePool", ["d"], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)]
    inits = [weight("w0", 8, 3), weight("w1", 8, 8), weight("w2", 8, 8), weight("w3", 16, 16),
             numpy_helper.from_array(RNG.normal(size=(5, 16)).astype(np.float32), "fc")]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


MODEL = chain_model()
CALIBRATION = RNG.normal(size=(8, 3, 16, 16)).astype(np.float32)
X = RNG.normal(size=(2, 3, 16, 16)).astype(np.float32)


@pytest.mark.parametrize("backend", supported_backends())
def test_static_passes_u8_codes_between_int8_layers(backend):
    engine = Engine(MODEL, mode="static", calibration=CALIBRATION, backend=backend, threads=1)
    integer = engine.integer_tensors()
    # the hand-offs between INT8 convs (through MaxPool and Concat, which move codes), not the graph input,
    # not what the float GlobalAveragePool reads, not the output
    assert set(integer) == {"h", "p", "br", "cr", "cat"}, integer
    params = engine.activation_quantization()
    for name in ("p", "cat"):
        assert integer[name] == params[name]
    assert integer["h"] == integer["p"] and integer["br"] == integer["cat"], "one grid per quantization group"
    assert engine.run(X)[0].dtype == np.float32
    reference = Engine(MODEL, mode="static", calibration=CALIBRATION, backend="reference", threads=1)
    tolerance = 0.02 if backend == "onednn" else 0  # oneDNN rescales in its own float order
    np.testing.assert_allclose(engine.run(X)[0], reference.run(X)[0], rtol=0, atol=tolerance)


def test_no_integer_tensors_outside_static():
    for mode in ("fp32", "dynamic"):
        assert Engine(MODEL, mode=mode).integer_tensors() == {}


def test_captured_codes_read_as_their_values():
    """The calibration tensors a static run captures are u8 codes in the engine; Python sees their values."""
    engine = Engine(MODEL, mode="static", calibration=CALIBRATION, backend="reference", threads=1)
    _, captured = engine._native.run_capture([X])
    scale, zero_point = engine.integer_tensors()["cat"]
    codes = np.round(captured["cat"] / scale) + zero_point
    np.testing.assert_allclose(captured["cat"], scale * (codes - zero_point), rtol=0, atol=1e-6)
    assert codes.min() >= 0 and codes.max() <= 255


def downsampling_block_model() -> bytes:
    """A ResNet block that halves the size: conv(s2)+relu -> conv, plus a 1x1 stride-2 conv of the
    block's input (read by the Add only), then relu -> conv -> global pool."""
    conv = lambda x, y, w, **kw: helper.make_node("Conv", [x, w], [y], **kw)  # noqa: E731
    nodes = [conv("x", "a", "w0", pads=[1, 1, 1, 1]), helper.make_node("Relu", ["a"], ["h"]),
             conv("h", "b", "w1", pads=[1, 1, 1, 1], strides=[2, 2]), helper.make_node("Relu", ["b"], ["br"]),
             conv("br", "c", "w2", pads=[1, 1, 1, 1]),
             conv("h", "skip", "w3", strides=[2, 2]),
             helper.make_node("Add", ["c", "skip"], ["sum"]), helper.make_node("Relu", ["sum"], ["out"]),
             conv("out", "d", "w4", pads=[1, 1, 1, 1]), helper.make_node("GlobalAveragePool", ["d"], ["y"])]
    inits = [weight("w0", 16, 3), weight("w1", 16, 16), weight("w2", 16, 16), weight("w3", 16, 16, k=1),
             weight("w4", 8, 16)]
    graph = helper.make_graph(nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8, 1, 1])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("backend", supported_backends())
def test_a_residual_only_the_fused_add_reads_is_calibrated_and_handed_over_as_codes(backend):
    """The Add is fused into the conv that comes last (the 1x1 downsampling one); the other branch's
    output is then read by nothing but that fused Add: it is calibrated too, so it travels as codes
    and the block's output stays on the integer path (it used to stay float, and with it every later
    block of a ResNet)."""
    model = downsampling_block_model()
    engine = Engine(model, mode="static", calibration=CALIBRATION, backend=backend, threads=1)
    assert "c" in engine.ranges
    assert {"c", "out"} <= set(engine.integer_tensors()), engine.integer_tensors()
    fp32 = Engine(model, mode="fp32", backend=backend, threads=1).run(X)[0].ravel()
    static = engine.run(X)[0].ravel()
    assert np.dot(fp32, static) / (np.linalg.norm(fp32) * np.linalg.norm(static)) > 0.999
    reference = Engine(model, mode="static", calibration=CALIBRATION, backend="reference", threads=1)
    tolerance = 0.02 if backend == "onednn" else 0  # oneDNN rescales in its own float order
    np.testing.assert_allclose(static, reference.run(X)[0].ravel(), rtol=0, atol=tolerance)


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("model", [MODEL, downsampling_block_model()], ids=["chain", "downsampling_block"])
def test_save_quantized_rounds_where_the_engine_rounds(tmp_path, model, backend):
    """Every read of a value the engine holds as codes (by a conv, a pool, a Concat, a fused Add) goes
    through a Q/DQ pair on the codes' grid in the QDQ export, so ONNX Runtime on the file computes what
    the engine computes: the two differ by far less than either differs from FP32. (With the skip left
    float in the file, the downsampling block's results were 0.10 of the INT8 error apart.)"""
    import onnx

    ort = pytest.importorskip("onnxruntime")
    engine = Engine(model, mode="static", calibration=CALIBRATION, backend=backend, threads=1)
    path = tmp_path / "ours_qdq.onnx"
    engine.save_quantized(path)
    graph = onnx.load(path).graph
    producer = {out: node for node in graph.node for out in node.output}
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}

    def pair_of(value):
        """The DequantizeLinear of ``value`` when it is DQ(Q(source)), else None."""
        dq = producer.get(value)
        q = producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
        return dq if q is not None and q.op_type == "QuantizeLinear" else None

    for name, (scale, zero_point) in engine.integer_tensors().items():
        pairs = [pair for node in graph.node for value in node.input
                 if (pair := pair_of(value)) is not None and producer[pair.input[0]].input[0] == name]
        plain = [node.name for node in graph.node if name in node.input and node.op_type != "QuantizeLinear"]
        assert pairs and not plain, (name, plain)
        for dq in pairs:
            assert constants[dq.input[1]] == np.float32(scale) and constants[dq.input[2]] == zero_point
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    fp32 = Engine(model, mode="fp32", backend=backend, threads=1).run(X)[0]
    ours, theirs = engine.run(X)[0], session.run(None, {"x": X})[0]
    if backend == "onednn":  # rescales in float as ONNX Runtime does: the same codes everywhere
        assert np.abs(ours - theirs).max() <= 0.01 * np.abs(ours - fp32).max(), np.abs(ours - theirs).max()
    else:  # the integer path's fixed-point rounding (ties away from zero) moves a few codes of the block's sum;
        # in the chain, where it flips one code of the Gemm's input f (measured: 1 of 32, its value 0.04 of a
        # step from a tie), that sample's outputs move by up to the code's step times the largest |fc| weight
        allowance = 0.2 * np.abs(ours - fp32).max()
        if "f" in engine.activation_quantization():
            fc = numpy_helper.to_array(next(i for i in onnx.load_from_string(model).graph.initializer
                                            if i.name == "fc"))
            allowance += engine.activation_quantization()["f"][0] * np.abs(fc).max()
        assert np.abs(ours - theirs).max() <= allowance, np.abs(ours - theirs).max()
