"""INT8 sums that are exact on every CPU: the weight grid (8 bits, or 7 where a backend's kernels
add pairs of u8·s8 products in saturating 16 bits — oneDNN on x86 without VNNI) and the rounding
of the quantized input (ties to even, as the reference backend and quant::Affine do).

Before the grid was chosen per CPU, a 3×3 conv on images in [-1, 1] lost up to 0.6 of its outputs'
range on an AVX2 CPU (ppocr_cls static INT8 cosine 0.89 against FP32, the reference backend 0.996).
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant.engine import Engine, int8_weight_bits, supported_backends


def _conv(weights, pads=1):
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=list(weights.shape[2:]), pads=[pads] * 4)],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", weights.shape[1], 12, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weights, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def _expected(x, weights, scale, zero_point, bits, pads=1):
    """The formula: u8 input q = clip(rint(x / s) + z) (ties to even), symmetric per-channel weights
    on `bits` bits (s = max|w| / (2^(bits-1) - 1)), exact integer sums, padded taps at the zero point
    (they add nothing)."""
    q = np.clip(np.rint(x / np.float32(scale)) + zero_point, 0, 255) - zero_point
    weight_scale = _weight_scales(weights.reshape(len(weights), -1), bits)
    codes = np.rint(weights / weight_scale[:, None, None, None])
    q = np.pad(q, ((0, 0), (0, 0), (pads, pads), (pads, pads)))
    kh, kw = weights.shape[2:]
    out = np.zeros((x.shape[0], weights.shape[0], q.shape[2] - kh + 1, q.shape[3] - kw + 1))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,oc->nohw", q[:, :, i:i + out.shape[2], j:j + out.shape[3]], codes[:, :, i, j])
    return out * scale * weight_scale[None, :, None, None]


def _weight_scales(rows, bits):
    """Per row: max|w| / (2^(bits-1) - 1), from the definition."""
    return (np.abs(rows).max(axis=1, initial=0) / (2.0 ** (bits - 1) - 1)).astype(np.float32)


def _images(count, channels, seed):
    """Pixels normalised to [-1, 1] as (p / 255 - 0.5) / 0.5: every value an exact rounding tie on the
    [-1, 1] grid (s = 2 / 255, z = 128), and many at +1 (code 255), the worst case for 16-bit sums."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(count, channels, 12, 16))
    pixels[:, :, :4] = 255
    return ((pixels / 255.0 - 0.5) / 0.5).astype(np.float32)


@pytest.mark.parametrize("backend", supported_backends())
def test_static_int8_conv_equals_the_formula_with_saturating_inputs_and_ties(backend):
    # weights near their channel's maximum in every pair of input channels: 255·(|w0| + |w1|) > 32,767 at 8 bits
    weights = np.random.default_rng(1).choice([-1.0, 1.0], size=(8, 4, 3, 3)).astype(np.float32)
    weights *= np.random.default_rng(2).uniform(0.9, 1.0, size=weights.shape).astype(np.float32)
    calibration, x = _images(4, 4, seed=3), _images(2, 4, seed=4)
    calibration[0, 0, 0, 0], calibration[0, 0, 0, 1] = -1.0, 1.0  # the range [-1, 1]: s = 2 / 255, z = 128
    engine = Engine(_conv(weights), mode="static", calibration=calibration, backend=backend, threads=1)
    assert engine.plan() == [(engine.plan()[0][0], "Conv", "int8_static")]  # INT8 ran
    scale, zero_point = engine.activation_quantization()["x"]
    assert zero_point == 128
    bits = 7 if engine.reduce_range else 8
    expected = _expected(x, weights, scale, zero_point, bits)
    (out,) = engine.run(x)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_the_default_grid_is_the_machines_for_every_backend():
    bits = int8_weight_bits()
    assert bits in (7, 8)
    assert bits == min(int8_weight_bits(b) for b in supported_backends())
    assert int8_weight_bits("reference") == 8  # plain 32-bit sums
    weights = np.ones((2, 4, 3, 3), np.float32)
    for backend in supported_backends():
        assert Engine(_conv(weights), mode="dynamic", backend=backend).reduce_range == (bits == 7)
        assert Engine(_conv(weights), mode="dynamic", backend=backend, reduce_range=True).reduce_range


@pytest.mark.parametrize("backend", supported_backends())
def test_eight_bit_weights_are_refused_where_they_would_saturate(backend):
    weights = np.ones((2, 4, 3, 3), np.float32)
    if int8_weight_bits(backend) == 8:
        assert not Engine(_conv(weights), mode="dynamic", backend=backend, reduce_range=False).reduce_range
    else:
        with pytest.raises(ValueError, match="saturating bits on this CPU"):
            Engine(_conv(weights), mode="dynamic", backend=backend, reduce_range=False)
    with pytest.raises(TypeError, match="reduce_range"):
        Engine(_conv(weights), backend=backend, reduce_range="yes")


def test_the_reference_backend_on_either_grid_equals_the_formula():
    weights = np.random.default_rng(5).standard_normal((6, 3, 3, 3)).astype(np.float32)
    calibration, x = _images(4, 3, seed=6), _images(1, 3, seed=7)
    calibration[0, 0, 0, 0], calibration[0, 0, 0, 1] = -1.0, 1.0
    for reduce_range, bits in ((False, 8), (True, 7)):
        engine = Engine(_conv(weights), mode="static", calibration=calibration, backend="reference",
                        reduce_range=reduce_range)
        scale, zero_point = engine.activation_quantization()["x"]
        expected = _expected(x, weights, scale, zero_point, bits)
        np.testing.assert_allclose(engine.run(x)[0], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_save_quantized_writes_the_grid_the_engine_ran(tmp_path):
    weights = np.random.default_rng(8).standard_normal((6, 3, 3, 3)).astype(np.float32)
    calibration = _images(4, 3, seed=9)
    for reduce_range in (False, True):
        engine = Engine(_conv(weights), mode="static", calibration=calibration, backend="reference",
                        reduce_range=reduce_range)
        engine.save_quantized(tmp_path / "q.onnx")
        saved = onnx.load(tmp_path / "q.onnx")
        codes = [numpy_helper.to_array(i) for i in saved.graph.initializer if i.data_type == TensorProto.INT8]
        assert codes and all(c.min() >= -64 and c.max() <= 63 for c in codes) == reduce_range
        loaded = Engine(tmp_path / "q.onnx", backend="reference", reduce_range=reduce_range)
        x = _images(1, 3, seed=10)
        np.testing.assert_allclose(loaded.run(x)[0], engine.run(x)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bits", [8, 7])
def test_weights_span_the_symmetric_grid_and_clip_nothing(bits):
    from edgequant._engine import quantize_int8_weights

    rng = np.random.default_rng(11)
    rows = rng.standard_normal((64, 9)).astype(np.float32)
    rows[:8, 0] = 5.0   # a dominant positive weight: on the top code (the 2·max|w| / 255 fit clipped it)
    rows[8:16, 0] = -5.0  # a dominant negative one: on the top code's negative, not on -2^(bits-1)
    rows[16] = 0.0       # all zero: codes 0
    rows[17] = [np.nan, np.inf, 1.0, -1.0, 0.5, 0.0, 0.0, 0.0, 0.0]  # non-finite weights: skipped by the fit
    codes, scales = quantize_int8_weights(rows, bits)
    top = 2 ** (bits - 1) - 1
    expected = _weight_scales(np.where(np.isfinite(rows), rows, 0), bits)
    expected[16] = 1.0
    np.testing.assert_allclose(scales, expected, rtol=1e-7)
    np.testing.assert_array_equal(codes[:16, 0], [top] * 8 + [-top] * 8)
    np.testing.assert_array_equal(codes[16], 0)
    assert (codes[17, 0], codes[17, 1], codes[17, 2], codes[17, 3]) == (0, top, top, -top)  # NaN 0, Inf clamped
    finite = np.isfinite(rows)
    error = np.abs(codes * scales[:, None] - rows)
    assert (error[finite] <= (0.5 * scales[:, None] * (1 + 1e-6)).repeat(9, 1)[finite]).all()  # nothing clipped
    assert codes[finite].min() >= -top and codes.max() <= top
    with pytest.raises(ValueError, match="8 or 7 bits"):
        quantize_int8_weights(rows, 6)
    with pytest.raises(ValueError, match="2-D"):
        quantize_int8_weights(rows[0], 8)
