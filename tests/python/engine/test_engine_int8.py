"""Static and dynamic INT8 on the digits test set, compared with FP32 and with ONNX Runtime's
quantize_static / quantize_dynamic on the same calibration data."""

import numpy as np
import onnx
import pytest
from ort_reference import run_ort

from edgequant import Engine, zoo
from edgequant.engine import METHODS, supported_backends


@pytest.fixture(scope="module")
def digits():
    x, y = zoo.load_test_set()
    return x, y, x[:200]


def _agreement_and_accuracy(logits, reference, labels):
    return float((logits.argmax(1) == reference.argmax(1)).mean()), float((logits.argmax(1) == labels).mean())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", zoo.list_models())
def test_static_int8_agrees_with_fp32(digits, name, method):
    x, y, calibration = digits
    path = zoo.model_path(name)
    (fp32,) = Engine(path).run(x)
    (int8,) = Engine(path, mode="static", calibration=calibration, method=method).run(x)
    agreement, accuracy = _agreement_and_accuracy(int8, fp32, y)
    assert agreement >= 0.99
    assert accuracy >= (fp32.argmax(1) == y).mean() - 0.01


@pytest.mark.parametrize("name", zoo.list_models())
def test_dynamic_int8_agrees_with_fp32(digits, name):
    x, y, _ = digits
    path = zoo.model_path(name)
    (fp32,) = Engine(path).run(x)
    (int8,) = Engine(path, mode="dynamic").run(x)
    agreement, accuracy = _agreement_and_accuracy(int8, fp32, y)
    assert agreement >= 0.99
    assert accuracy >= (fp32.argmax(1) == y).mean() - 0.01


@pytest.mark.parametrize("backend", [b for b in supported_backends() if b != "reference"])
@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_int8_backend_matches_reference_backend(digits, mode, backend):
    x, _, calibration = digits
    path = zoo.model_path()
    kwargs = {"calibration": calibration} if mode == "static" else {}
    (fast,) = Engine(path, mode=mode, backend=backend, **kwargs).run(x)
    (slow,) = Engine(path, mode=mode, backend="reference", **kwargs).run(x)
    # same integer sums; only the float rounding of the final rescale may differ, and in static mode oneDNN
    # requantizes the tensors it hands over as u8 in float where the reference uses TFLite's fixed point (a
    # code apart near a rounding boundary: 0.3 % of the output range measured on the digits CNN)
    bound = 1e-2 if mode == "static" and backend == "onednn" else 1e-3
    np.testing.assert_allclose(fast, slow, rtol=1e-3, atol=bound * np.abs(slow).max())


def test_static_int8_versus_onnxruntime_quantization(digits, tmp_path):
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    x, y, calibration = digits
    path = zoo.model_path()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"input": calibration[i:i + 1]} for i in range(len(calibration))])

        def get_next(self):
            return next(self.batches, None)

    ort_static, ort_dynamic = tmp_path / "static.onnx", tmp_path / "dynamic.onnx"
    quantize_static(str(path), str(ort_static), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    quantize_dynamic(str(path), str(ort_dynamic), weight_type=QuantType.QInt8)
    (fp32,) = Engine(path).run(x)
    accuracy = {
        "ours static": (Engine(path, mode="static", calibration=calibration).run(x)[0].argmax(1) == y).mean(),
        "ours dynamic": (Engine(path, mode="dynamic").run(x)[0].argmax(1) == y).mean(),
        "ort static": (run_ort(ort_static, {"input": x})[0].argmax(1) == y).mean(),
        "ort dynamic": (run_ort(ort_dynamic, {"input": x})[0].argmax(1) == y).mean(),
    }
    baseline = (fp32.argmax(1) == y).mean()
    for name, value in accuracy.items():
        assert value >= baseline - 0.01, (name, accuracy)


def test_save_quantized_runs_in_onnxruntime(digits, tmp_path):
    x, y, calibration = digits
    engine = Engine(zoo.model_path(), mode="static", calibration=calibration)
    out = tmp_path / "qdq.onnx"
    engine.save_quantized(out)
    onnx.checker.check_model(str(out))
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(out)).graph.node)
    (ort_logits,) = run_ort(out, {"input": x})
    (ours,) = engine.run(x)
    assert (ort_logits.argmax(1) == ours.argmax(1)).mean() >= 0.98


def test_static_needs_calibration():
    with pytest.raises(ValueError, match="calibration"):
        Engine(zoo.model_path(), mode="static")


def test_calibration_of_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        Engine(zoo.model_path(), mode="static", calibration=np.zeros((4, 1, 9, 9), np.float32))


def test_int8_sessions_release_their_float_weights(digits):
    """By default an INT8 session frees the float weights once quantized: same outputs as one that
    keeps them, FP32 and recalibration refused with a clear error; keep_float_weights=True keeps them."""
    x = digits[0]
    path = zoo.model_path("digits_cnn")
    lean = Engine(path, mode="static", calibration=x[:32])
    kept = Engine(path, mode="static", calibration=x[:32], keep_float_weights=True)
    np.testing.assert_array_equal(lean.run(x[:64])[0], kept.run(x[:64])[0])
    assert lean._native.float_weights_released and not kept._native.float_weights_released
    with pytest.raises(ValueError, match="keep_float_weights=True"):
        lean.calibrate(x[:8])
    with pytest.raises(ValueError, match="INT8 only"):
        lean._native.set_mode("fp32")
    kept.calibrate(x[32:64])  # still possible
    dynamic = Engine(path, mode="dynamic")
    kept_dynamic = Engine(path, mode="dynamic", keep_float_weights=True)
    np.testing.assert_array_equal(dynamic.run(x[:8])[0], kept_dynamic.run(x[:8])[0])
    with pytest.raises(ValueError, match="INT8 mode"):
        Engine(path)._native.release_float_weights()
