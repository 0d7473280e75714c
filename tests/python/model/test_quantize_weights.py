"""quantize_weights: the rewritten model runs in ONNX Runtime and holds exactly q(w) per tensor."""

import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import zoo
from edgequant.entropy import entropy
from edgequant.model import PerChannelAffine, quantize_weights, to_qdq
from edgequant.model.quantize import fresh_quantizer
from edgequant.quantizers import Affine, Deadzone, Midtread, MuLaw


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def initializers(model: onnx.ModelProto) -> dict:
    return {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}


def gemm_model(dtype=TensorProto.FLOAT, trans_b=1, opset=17) -> onnx.ModelProto:
    """x[N,6] → Gemm(w, b) → MatMul(m): one weight of each kind, in the given float type."""
    rng = np.random.default_rng(1)
    np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
    w = rng.standard_normal((5, 6) if trans_b else (6, 5)).astype(np_dtype)
    b = rng.standard_normal(5).astype(np_dtype)
    m = rng.standard_normal((5, 3)).astype(np_dtype)
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=trans_b),
            helper.make_node("MatMul", ["h", "m"], ["y"]),
        ],
        "gemm",
        [helper.make_tensor_value_info("x", dtype, ["N", 6])],
        [helper.make_tensor_value_info("y", dtype, ["N", 3])],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w, "w"), (b, "b"), (m, "m"))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize(
    "quantizer",
    [
        Midtread(levels=16, xmax="max"),
        Deadzone(levels=64, delta=0.25, xmax="max"),
        MuLaw(levels=32, xmax="max"),
        Affine(bits=4),
    ],
    ids=repr,
)
def test_equals_the_quantizer_applied_to_each_weight(quantizer):
    assert repr(fresh_quantizer(quantizer, None)) == repr(copy.deepcopy(quantizer))
    original = onnx.load(zoo.model_path())
    before = initializers(original)
    qm = quantize_weights(original, quantizer, include_biases=True)
    after = initializers(qm.model)
    expected_names = {"0.weight", "3.weight", "9.weight", "0.bias", "3.bias", "9.bias"}
    assert set(qm.symbols) == expected_names
    for name, values in before.items():
        if name in expected_names:
            np.testing.assert_array_equal(after[name], fresh_quantizer(quantizer, None)(values))
            np.testing.assert_array_equal(qm.symbols[name], fresh_quantizer(quantizer, None).encode(values))
        else:
            np.testing.assert_array_equal(after[name], values)  # batchnorm untouched
    assert initializers(original)["0.weight"].tobytes() == before["0.weight"].tobytes()  # input kept

    # Runs in ORT and gives what a hand-made model with the same weights gives.
    manual = onnx.load(zoo.model_path())
    for init in manual.graph.initializer:
        if init.name in expected_names:
            init.CopyFrom(numpy_helper.from_array(fresh_quantizer(quantizer, None)(before[init.name]), init.name))
    x, _ = zoo.load_test_set()
    np.testing.assert_array_equal(run(qm.model, x), run(manual, x))


def test_rate_and_distortion_are_the_documented_formulas():
    model = onnx.load(zoo.model_path())
    qm = quantize_weights(model, Midtread(levels=8, xmax="max"))
    sizes = {name: codes.size for name, codes in qm.symbols.items()}
    expected = sum(sizes[n] * entropy(qm.symbols[n]) for n in sizes) / sum(sizes.values())
    assert qm.entropy == pytest.approx(expected, rel=1e-12)
    assert qm.tensor_entropy["3.weight"] == pytest.approx(entropy(qm.symbols["3.weight"]), rel=1e-13)
    assert qm.weight_count == sum(sizes.values()) == 32 * 9 + 64 * 32 * 9 + 10 * 1024
    assert qm.compression_ratio == pytest.approx(32 / qm.entropy)
    before, after = initializers(model), initializers(qm.model)
    signal = sum(np.sum(before[n].astype(np.float64) ** 2) for n in sizes)
    noise = sum(np.sum((before[n].astype(np.float64) - after[n]) ** 2) for n in sizes)
    assert qm.weight_sqnr_db == pytest.approx(10 * np.log10(signal / noise), rel=1e-9)
    assert set(qm.timings) == {"quantize_s", "entropy_s"}


def test_per_channel_affine_follows_each_tensors_output_axis():
    for trans_b, gemm_axis in ((1, 0), (0, 1)):
        qm = quantize_weights(gemm_model(trans_b=trans_b), PerChannelAffine(bits=4), include_biases=True)
        assert qm.quantizers["w"].axis == gemm_axis
        assert qm.quantizers["m"].axis == 1  # MatMul B [K, N]
        assert qm.quantizers["b"].axis is None
        w = numpy_helper.to_array(gemm_model(trans_b=trans_b).graph.initializer[0])
        np.testing.assert_array_equal(initializers(qm.model)["w"], Affine(bits=4, axis=gemm_axis)(w))


def test_fp16_model_stays_fp16_and_runs():
    model = gemm_model(TensorProto.FLOAT16)
    qm = quantize_weights(model, Midtread(levels=16, xmax="max"))
    stored = initializers(qm.model)
    assert stored["w"].dtype == np.float16 and stored["b"].dtype == np.float16
    w = numpy_helper.to_array(model.graph.initializer[0]).astype(np.float32)
    np.testing.assert_array_equal(stored["w"], Midtread(levels=16, xmax="max")(w).astype(np.float16))
    out = run(qm.model, np.ones((2, 6), np.float16))
    assert out.dtype == np.float16 and out.shape == (2, 3)


def test_weights_already_behind_dequantize_linear_are_skipped():
    qdq = to_qdq(zoo.model_path(), bits=8)
    with pytest.raises(ValueError, match="no tensor to quantize.*already quantized"):
        quantize_weights(qdq, Midtread(levels=16, xmax="max"))
    qm = quantize_weights(qdq, Midtread(levels=16, xmax="max"), include_biases=True)
    assert set(qm.symbols) == {"0.bias", "3.bias", "9.bias"}
    assert set(qm.skipped) == {"0.weight_quantized", "3.weight_quantized", "9.weight_quantized"}
    x, _ = zoo.load_test_set()
    assert run(qm.model, x[:4]).shape == (4, 10)


def test_constant_node_weights_are_rewritten():
    model = gemm_model()
    w = model.graph.initializer[0]
    constant = helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(numpy_helper.to_array(w), "w"))
    del model.graph.initializer[0]
    model.graph.node.insert(0, constant)
    qm = quantize_weights(model, Midtread(levels=4, xmax="max"))
    assert set(qm.symbols) == {"w", "m"}
    rewritten = numpy_helper.to_array(qm.model.graph.node[0].attribute[0].t)
    np.testing.assert_array_equal(rewritten, Midtread(levels=4, xmax="max")(numpy_helper.to_array(w)))
    assert run(qm.model, np.ones((1, 6), np.float32)).shape == (1, 3)


def test_save_writes_a_loadable_model(tmp_path):
    qm = quantize_weights(zoo.model_path(), Midtread(levels=16, xmax="max"))
    path = qm.save(tmp_path / "q.onnx")
    assert onnx.load(path).SerializeToString() == qm.model.SerializeToString()
    with pytest.raises(FileNotFoundError, match="no folder"):
        qm.save(tmp_path / "missing" / "q.onnx")


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="quantizer must be"):
        quantize_weights(zoo.model_path(), "midtread")
    with pytest.raises(ValueError, match="unknown role"):
        quantize_weights(zoo.model_path(), Midtread(levels=4, xmax="max"), roles=("conv",))
    with pytest.raises(ValueError, match="no tensor to quantize"):
        quantize_weights(zoo.model_path("digits_mlp"), Midtread(levels=4, xmax="max"), roles=("conv_weight",))


def test_pooled_entropy_is_one_code_book_over_all_tensors():
    qm = quantize_weights(zoo.model_path(), Midtread(levels=16, xmax="max"))
    pooled = np.concatenate([codes.ravel() for codes in qm.symbols.values()])
    assert qm.pooled_entropy == pytest.approx(entropy(pooled), rel=1e-13)
