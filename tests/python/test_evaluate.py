"""Evaluator: metrics equal a direct computation; data is checked before any model runs."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import zoo
from edgequant.evaluate import Evaluator
from edgequant.metrics import classification_report, mean_softmax_kl, output_sqnr_db, top1_agreement
from edgequant.model import quantize_weights
from edgequant.quantizers import Midtread


@pytest.fixture(scope="module")
def digits():
    return zoo.load_test_set()


def direct_outputs(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_metrics_match_a_direct_computation(digits):
    x, y = digits
    reference = onnx.load(zoo.model_path())
    quantized = quantize_weights(reference, Midtread(levels=8, xmax="max")).model
    evaluator = Evaluator(zoo.model_path(), x, y, batch_size=100, threads=1)
    got = evaluator.evaluate(quantized)
    ref_out, q_out = direct_outputs(reference, x), direct_outputs(quantized, x)
    expected = classification_report(q_out, y)
    expected.update(
        top1_agreement=top1_agreement(ref_out, q_out),
        mean_softmax_kl=mean_softmax_kl(ref_out, q_out),
        output_sqnr_db=output_sqnr_db(ref_out, q_out),
    )
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
    assert got["top1"] < 1.0 and got["top1_agreement"] < 1.0  # really a different model
    itself = evaluator.evaluate(reference)
    assert itself["top1_agreement"] == 1.0 and itself["output_sqnr_db"] == float("inf")
    assert itself["top1"] == pytest.approx(zoo.model_info()["test_accuracy"], abs=1e-4)


def test_batches_and_arrays_give_the_same_outputs(digits):
    x, y = digits
    whole = Evaluator(zoo.model_path(), x, y, batch_size=540)
    batched = Evaluator(zoo.model_path(), ((x[i : i + 64], y[i : i + 64]) for i in range(0, 540, 64)), batch_size=7)
    np.testing.assert_array_equal(batched.labels, y)
    np.testing.assert_allclose(batched.reference_outputs, whole.reference_outputs, rtol=1e-5, atol=1e-5)
    unlabelled = Evaluator(zoo.model_path(), [x[:100], x[100:]])
    assert set(unlabelled.evaluate(zoo.model_path())) == {
        "top1_agreement",
        "mean_softmax_kl",
        "output_sqnr_db",
    }


def small_gemm(dtype=TensorProto.FLOAT, batch="N") -> onnx.ModelProto:
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)],
        "g",
        [helper.make_tensor_value_info("x", dtype, [batch, 4])],
        [helper.make_tensor_value_info("y", dtype, [batch, 3])],
        initializer=[numpy_helper.from_array(w.astype(helper.tensor_dtype_to_np_dtype(dtype)), "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_fp16_models_get_fp16_inputs_and_fixed_batches_are_padded():
    x = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
    fp16 = Evaluator(small_gemm(TensorProto.FLOAT16), x, np.zeros(10, np.int64))
    assert fp16.inputs.dtype == np.float16 and fp16.reference_outputs.shape == (10, 3)
    fixed = Evaluator(small_gemm(batch=4), x)
    assert fixed.batch_size == 4
    free = Evaluator(small_gemm(), x)
    np.testing.assert_allclose(fixed.reference_outputs, free.reference_outputs, rtol=1e-6)


def test_bad_data_is_refused_before_any_run(digits):
    x, y = digits
    with pytest.raises(ValueError, match=r"inputs have shape \(540, 64\).*expects \['N', 1, 8, 8\]"):
        Evaluator(zoo.model_path(), x.reshape(540, 64), y)
    with pytest.raises(ValueError, match="labels go up to 10 but .* outputs 10 classes"):
        Evaluator(zoo.model_path(), x, y + 1)
    with pytest.raises(ValueError, match="labels must be class indices >= 0"):
        Evaluator(zoo.model_path(), x, y - 1)
    with pytest.raises(ValueError, match="labels has 10 entries but inputs 540"):
        Evaluator(zoo.model_path(), x, y[:10])
    with pytest.raises(ValueError, match="input_name='image' is not an input"):
        Evaluator(zoo.model_path(), x, y, input_name="image")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Evaluator(zoo.model_path(), x, y, batch_size=0)
    with pytest.raises(ValueError, match="inputs is empty"):
        Evaluator(zoo.model_path(), iter([]))
