"""com.microsoft's DynamicQuantizeLSTM (quantize_dynamic's LSTM) on the engine.

The engine reads it as an ONNX LSTM on the dequantized weights, and where R's codes less their zero
point fit s8 it keeps Rᵀ as those codes (a quarter of the bytes each time step reads; plan() says
"f32_s8_weights"), the products in float32 and each gate column's scale applied to its sum. Both ways
must equal a float LSTM on the dequantized weights to float rounding.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends

GATES = 4


def _codes(rng, dtype, shape):
    info = np.iinfo(dtype)
    return rng.integers(info.min if dtype == np.uint8 else -127, info.max + 1, shape).astype(dtype)


def _case(rng, *, hidden, inputs, direction, dtype=np.int8, zero=0, per_column=False):
    """A DynamicQuantizeLSTM model and the same LSTM in float on its dequantized weights."""
    dirs = 2 if direction == "bidirectional" else 1
    cols = GATES * hidden
    w_codes, r_codes = _codes(rng, dtype, (dirs, inputs, cols)), _codes(rng, dtype, (dirs, hidden, cols))
    scale_shape = (dirs, cols) if per_column else (dirs,)
    w_scale = rng.uniform(0.002, 0.02, scale_shape).astype(np.float32)
    r_scale = rng.uniform(0.002, 0.02, scale_shape).astype(np.float32)
    zeros = np.full(scale_shape, zero, dtype)
    bias = rng.uniform(-0.5, 0.5, (dirs, 2 * cols)).astype(np.float32)

    def dequantized(codes, scale):  # [dirs, rows, cols] codes -> ONNX's [dirs, cols, rows] floats
        s = scale[:, None, :] if per_column else scale[:, None, None]
        return np.ascontiguousarray(((codes.astype(np.float32) - zero) * s).transpose(0, 2, 1))

    x_info = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 2, inputs])]
    y_info = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    quantized = helper.make_model(helper.make_graph(
        [helper.make_node("DynamicQuantizeLSTM", ["x", "w", "r", "b", "", "", "", "", "ws", "wz", "rs", "rz"], ["y"],
                          domain="com.microsoft", hidden_size=hidden, direction=direction)],
        "dynamic_lstm", x_info, y_info,
        [numpy_helper.from_array(a, n) for a, n in ((w_codes, "w"), (r_codes, "r"), (bias, "b"), (w_scale, "ws"),
                                                     (zeros, "wz"), (r_scale, "rs"), (zeros.copy(), "rz"))]),
        opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.microsoft", 1)])
    floating = helper.make_model(helper.make_graph(
        [helper.make_node("LSTM", ["x", "w", "r", "b"], ["y"], hidden_size=hidden, direction=direction)],
        "float_lstm", x_info, y_info,
        [numpy_helper.from_array(dequantized(w_codes, w_scale), "w"),
         numpy_helper.from_array(dequantized(r_codes, r_scale), "r"), numpy_helper.from_array(bias, "b")]),
        opset_imports=[helper.make_opsetid("", 14)])
    return quantized.SerializeToString(), floating.SerializeToString()


CASES = {
    # hidden 64: 256 gate columns, four 64-column blocks; batch 2; per-direction scales
    "bidirectional, s8, H 64": dict(hidden=64, inputs=24, direction="bidirectional"),
    # 80 gate columns: one 64-column block and a tail of 16; a scale per gate column
    "reverse, s8 per column, H 20": dict(hidden=20, inputs=7, direction="reverse", per_column=True),
    # u8 codes around 128 still fit s8 once the zero point is taken off
    "forward, u8 z 128": dict(hidden=16, inputs=8, direction="forward", dtype=np.uint8, zero=128),
}


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("case", list(CASES))
def test_recurrent_weights_as_codes_equal_the_float_lstm(backend, case):
    rng = np.random.default_rng(len(case))
    quantized, floating = _case(rng, **CASES[case])
    x = rng.standard_normal((5, 2, CASES[case]["inputs"])).astype(np.float32)
    engine = Engine(quantized, backend=backend)
    assert [p for _, op, p in engine.plan() if op == "LSTM"] == ["f32_s8_weights"]
    ours = engine.run([x])[0]
    reference = ort.InferenceSession(floating, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, reference, rtol=0, atol=2e-6 * np.abs(reference).max())
    # ONNX Runtime on the file itself quantizes x and h too (up to 8 % of the range apart here), but reads
    # the same weights: a swapped scale or transposed R would take the cosine far below
    theirs = ort.InferenceSession(quantized, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert ours.ravel() @ theirs.ravel() / (np.linalg.norm(ours) * np.linalg.norm(theirs)) > 0.999


@pytest.mark.parametrize("backend", supported_backends())
def test_codes_that_do_not_fit_s8_stay_float(backend):
    """u8 codes with zero point 100: code − 100 reaches 155, outside s8. The float path, same answer."""
    rng = np.random.default_rng(7)
    quantized, floating = _case(rng, hidden=16, inputs=8, direction="bidirectional", dtype=np.uint8, zero=100)
    x = rng.standard_normal((5, 2, 8)).astype(np.float32)
    engine = Engine(quantized, backend=backend)
    assert [p for _, op, p in engine.plan() if op == "LSTM"] == ["f32"]
    reference = ort.InferenceSession(floating, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(engine.run([x])[0], reference, rtol=0, atol=2e-6 * np.abs(reference).max())


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_scale_is_refused_by_name(bad):
    quantized, _ = _case(np.random.default_rng(3), hidden=16, inputs=8, direction="forward")
    model = onnx.load_from_string(quantized)
    for tensor in model.graph.initializer:
        if tensor.name == "rs":
            tensor.CopyFrom(numpy_helper.from_array(np.array([bad], np.float32), "rs"))
    with pytest.raises(ValueError, match="scale 'rs' holds"):
        Engine(model.SerializeToString())
