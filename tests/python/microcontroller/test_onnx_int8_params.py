"""The ONNX front end's int8 parameters come from the core's one affine rule (quant/affine.h via _core):
activations are the engine's u8 parameters moved by -128, weights TFLite's narrow-range symmetric int8."""

import numpy as np
import pytest

pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgequant import _core  # noqa: E402
from edgequant.microcontroller import fixed_point, onnx_frontend  # noqa: E402


def test_activation_parameters_are_the_engines_u8_ones_moved_by_128():
    rng = np.random.default_rng(3)
    u8 = _core.AffineFormat(8, False, False)
    for lo, hi in [(0.0, 0.0), (-1.0, 0.0), (0.0, 6.0), (-0.3, 2.5), *np.sort(rng.normal(size=(200, 2))).tolist()]:
        scale, zero_point = onnx_frontend._int8_params(lo, hi)
        engine = _core.affine_params_from_range(u8, lo, hi)
        assert (scale, zero_point) == (np.float32(engine.scale), engine.zero_point - 128)  # the engine keeps float32
        # the asymmetric int8 formula the front end used to write itself: the same numbers
        a, b = min(lo, 0.0), max(hi, 0.0)
        old_scale = (b - a) / 255.0 if b > a else 1.0
        assert (scale, zero_point) == (np.float32(old_scale), int(np.clip(round(-128 - a / old_scale), -128, 127)))


def test_weights_are_tflite_narrow_range_per_channel():
    rng = np.random.default_rng(4)
    weights = rng.normal(size=(6, 3, 3, 3)) * np.exp2(rng.uniform(-8, 4, (6, 1, 1, 1)))
    q, scales = onnx_frontend._int8_weights(weights, 6)
    want_scales = np.abs(weights.reshape(6, -1)).max(axis=1) / 127.0
    assert np.array_equal(scales, want_scales)
    want = np.clip(np.round(weights / want_scales.reshape(-1, 1, 1, 1)), -127, 127).astype(np.int8)
    assert q.dtype == np.int8 and np.array_equal(q, want) and q.min() >= -127


def _zero_channel_model(path):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    w[2] = 0  # a pruned channel: only its bias reaches the output
    b = np.array([0.1, -0.2, 0.5, 0.3], np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "zero_channel",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def test_an_all_zero_weight_channel_keeps_its_bias(tmp_path):
    """The convention gives an all-zero channel scale 1; the old 1e-12 floor saturated its int32 bias and
    flushed its multiplier to 0, so the C wrote 0 where ONNX gives relu(bias) = 0.5."""
    pytest.importorskip("onnxruntime")
    _zero_channel_model(tmp_path / "m.onnx")
    graph = onnx_frontend.from_onnx(tmp_path / "m.onnx", np.random.default_rng(1).random((4, 3, 8, 8), np.float32))
    conv = graph.layers[0]
    in_scale = graph.activations[conv.inputs[0]].scale
    out = graph.activations[conv.output]
    assert conv.constants["bias"][2] == round(0.5 / in_scale)  # weight scale 1
    multiplier, shift = int(conv.constants["multipliers"][2]), int(conv.constants["shifts"][2])
    assert multiplier != 0
    # the integer bias brought to the output grid is 0.5 again
    value = int(conv.constants["bias"][2]) * multiplier * 2.0 ** (shift - 31) * out.scale
    assert value == pytest.approx(int(conv.constants["bias"][2]) * in_scale, rel=1e-6)
    assert abs(value - 0.5) <= in_scale / 2  # within the bias's own rounding


def test_a_path_given_as_text_is_read_as_a_file(tmp_path):
    """``from_onnx`` takes ``str`` or ``os.PathLike`` as documented (a str was read as the model's bytes)."""
    pytest.importorskip("onnxruntime")
    _zero_channel_model(tmp_path / "m.onnx")
    calibration = np.random.default_rng(1).random((2, 3, 8, 8), np.float32)
    from_text = onnx_frontend.from_onnx(str(tmp_path / "m.onnx"), calibration)
    from_path = onnx_frontend.from_onnx(tmp_path / "m.onnx", calibration)
    assert np.array_equal(from_text.layers[0].constants["filter"], from_path.layers[0].constants["filter"])


def test_biases_are_rounded_half_to_even_and_saturated():
    rng = np.random.default_rng(5)
    biases, in_scale, w_scales = rng.normal(size=64), 0.02, np.exp2(rng.uniform(-12, 0, 64))
    want = np.clip(np.round(biases / (in_scale * w_scales)), -(2**31), 2**31 - 1).astype(np.int32)
    assert np.array_equal(fixed_point.quantize_biases(biases, in_scale, w_scales), want)
    assert fixed_point.quantize_biases([0.25, 0.75, 2e9], 0.5, [1.0]).tolist() == [0, 2, 2**31 - 1]
    with pytest.raises(ValueError, match="weight scale"):
        fixed_point.quantize_biases([1.0, 2.0], 1.0, [1.0, 2.0, 3.0])
