"""The runtime's vectorised float kernels (Softmax / LogSoftmax on any axis, Sigmoid, a 1x1 Conv to
one channel, 1x1 Convs on plain NCHW as one matrix product per image) against the reference
backend's plain ops, a float64 NumPy formula and ONNX Runtime: every axis, odd sizes around the
vector width and the 256-column tile, NaN / ±inf / huge values."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine


def single_node_model(op, shape, opset=17, initializers=(), inputs=("x",), **attributes):
    node = helper.make_node(op, list(inputs), ["y"], **attributes)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def softmax_formula(x, axis, log=False, legacy=False):
    """exp(x - max) / sum exp(x - max) in float64; opset < 13 normalises over the flattened axes >= axis."""
    x = np.asarray(x, np.float64)
    shape = x.shape
    if legacy:
        x = x.reshape(int(np.prod(shape[:axis])), -1)
        axis = 1
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = x - np.max(np.where(np.isnan(x), -np.inf, x), axis=axis, keepdims=True)
        total = np.exp(shifted).sum(axis=axis, keepdims=True)
        y = shifted - np.log(total) if log else np.exp(shifted) / total
    return y.reshape(shape)


def specials_inside_the_graph(model, x):
    """The engine refuses non-finite inputs: feed the finite part and add NaN / ±inf as a constant in
    front of the op (x + 0 == x exactly; 0 + NaN / ±inf stays NaN / ±inf)."""
    special = ~np.isfinite(x)
    if not special.any():
        return model, x
    import onnx

    proto = onnx.load_from_string(model)
    constant = numpy_helper.from_array(np.where(special, x, 0).astype(np.float32), "specials")
    for node in proto.graph.node:
        node.input[:] = ["x_with_specials" if name == "x" else name for name in node.input]
    proto.graph.node.insert(0, helper.make_node("Add", ["x", "specials"], ["x_with_specials"]))
    proto.graph.initializer.append(constant)
    return proto.SerializeToString(), np.where(special, 0, x).astype(x.dtype)


def fast_and_reference(model, x):
    model, x = specials_inside_the_graph(model, x)
    (fast,) = Engine(model, threads=1).run(x)
    (reference,) = Engine(model, backend="reference", threads=1).run(x)
    return fast, reference


def assert_close_with_nan(got, want, rtol, atol):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), np.argwhere(np.isnan(got) != np.isnan(want))[:5]
    both = ~np.isnan(want)
    np.testing.assert_allclose(got[both], want[both], rtol=rtol, atol=atol)


SHAPES = [(2, 3, 4, 5), (1, 16, 4, 300), (3, 17, 33), (2, 1000), (1, 1, 7)]


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_every_axis_matches_reference_and_formula(shape, log):
    rng = np.random.default_rng(len(shape))
    x = (rng.normal(size=shape) * 4).astype(np.float32)
    for axis in range(-len(shape), len(shape)):
        model = single_node_model("LogSoftmax" if log else "Softmax", list(shape), axis=axis)
        fast, reference = fast_and_reference(model, x)
        want = softmax_formula(x, axis, log)
        tolerance = dict(rtol=2e-6, atol=2e-6) if log else dict(rtol=2e-6, atol=1e-8)
        np.testing.assert_allclose(fast, reference, **tolerance)
        np.testing.assert_allclose(fast, want, **tolerance)
        assert not np.array_equal(fast, x)  # the op ran


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_legacy_softmax_flattens_the_trailing_axes(axis):
    x = np.random.default_rng(3).normal(size=(3, 5, 18)).astype(np.float32)
    model = single_node_model("Softmax", [3, 5, 18], opset=11, axis=axis)
    fast, reference = fast_and_reference(model, x)
    np.testing.assert_allclose(fast, softmax_formula(x, axis, legacy=True), rtol=2e-6, atol=1e-8)
    np.testing.assert_allclose(fast, reference, rtol=2e-6, atol=1e-8)


def special_values(shape, seed):
    """Columns along axis 1 of: NaN, +inf, all -inf, one -inf, huge of both signs, zeros, ties."""
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    x[0, :, 0] = 0.0                    # all equal: 1 / len each
    x[0, 1, 1] = np.nan                 # NaN column -> NaN
    x[0, 2, 2] = np.inf                 # +inf -> NaN (inf - inf)
    x[0, :, 3] = -np.inf                # only -inf -> NaN
    x[0, 0, 4] = -np.inf                # one -inf -> probability 0
    x[0, 0, 5], x[0, 1, 5] = 3e38, -3e38  # huge: exact 1 and 0
    x[0, :, 6] = 3e38                   # huge ties
    x[0, 0, 7], x[0, 1, 7] = 100.0, 10.0  # e^-90: far below float's normal range
    return x


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", [(1, 4, 9), (1, 19, 300), (2, 3, 8, 1)])
def test_softmax_special_values_follow_the_formula(shape, log):
    x = special_values(shape, 5)
    model = single_node_model("LogSoftmax" if log else "Softmax", list(shape), axis=1)
    fast, reference = fast_and_reference(model, x)
    with np.errstate(over="ignore"):
        want = softmax_formula(x, 1, log).astype(np.float32)  # -6e38 is -inf in float32
    assert_close_with_nan(reference, want, rtol=1e-6, atol=1e-7)
    assert_close_with_nan(fast, want, rtol=2e-6, atol=2e-6 if log else 1e-8)
    if not log:
        assert fast[0, 0, 5] == 1.0 and fast[0, 1, 5] == 0.0
        assert np.allclose(fast[0, :, 0], 1 / shape[1])


def test_softmax_contiguous_rows_with_special_values():
    x = special_values((1, 40, 10), 6).transpose(0, 2, 1).copy()  # the same columns as last-axis rows
    model = single_node_model("Softmax", [1, 10, 40], axis=-1)
    fast, reference = fast_and_reference(model, x)
    want = softmax_formula(x, -1)
    assert_close_with_nan(fast, want, rtol=2e-6, atol=1e-8)
    assert_close_with_nan(reference, want, rtol=1e-6, atol=1e-8)


def test_softmax_matches_onnxruntime_on_the_dfl_shape():
    x = (np.random.default_rng(7).normal(size=(1, 16, 4, 1344)) * 3).astype(np.float32)
    model = single_node_model("Softmax", [1, 16, 4, 1344], axis=1)
    (fast,) = Engine(model, threads=1).run(x)
    (ort,) = run_ort(model, {"x": x})
    np.testing.assert_allclose(fast, ort, rtol=2e-6, atol=1e-7)


def test_softmax_of_empty_tensor():
    model = single_node_model("Softmax", [0, 5], axis=1)
    (y,) = Engine(model).run(np.zeros((0, 5), np.float32))
    assert y.shape == (0, 5)


def test_softmax_on_non_contiguous_input():
    x = np.random.default_rng(8).normal(size=(2, 6, 10)).astype(np.float32)[:, ::2, :]
    model = single_node_model("Softmax", [2, 3, 10], axis=1)
    (y,) = Engine(model).run(x)
    np.testing.assert_allclose(y, softmax_formula(np.ascontiguousarray(x), 1), rtol=2e-6, atol=1e-8)


def test_sigmoid_matches_reference_and_formula():
    x = np.concatenate([np.random.default_rng(9).normal(size=5000) * 30,
                        [0.0, -0.0, np.nan, np.inf, -np.inf, 3e38, -3e38, 88.0, -88.0, 89.0, -89.0, 104.0, -104.0,
                         1e-30]]).astype(np.float32).reshape(1, -1)
    model = single_node_model("Sigmoid", list(x.shape))
    fast, reference = fast_and_reference(model, x)
    with np.errstate(over="ignore"):
        want = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert_close_with_nan(fast, want, rtol=1e-6, atol=1e-30)
    assert_close_with_nan(fast, reference, rtol=1e-6, atol=1e-30)
    assert fast[0, -11] == 1.0 and fast[0, -10] == 0.0  # ±inf


def channel_sum_model(channels, weights, bias=None, **attributes):
    inits = [numpy_helper.from_array(weights.reshape(1, channels, 1, 1).astype(np.float32), "w")]
    inputs = ["x", "w"]
    if bias is not None:
        inits.append(numpy_helper.from_array(np.array([bias], np.float32), "b"))
        inputs.append("b")
    return single_node_model("Conv", ["N", channels, 4, 37], initializers=inits, inputs=inputs, **attributes)


@pytest.mark.parametrize("bias", [None, 0.75])
def test_one_channel_pointwise_conv_matches_reference_and_onnxruntime(bias):
    weights = np.arange(16, dtype=np.float32)
    model = channel_sum_model(16, weights, bias, kernel_shape=[1, 1])
    x = np.random.default_rng(10).random((2, 16, 4, 37), dtype=np.float32)
    fast, reference = fast_and_reference(model, x)
    (ort,) = run_ort(model, {"x": x})
    want = np.einsum("nchw,c->nhw", x.astype(np.float64), weights)[:, None] + (bias or 0)
    np.testing.assert_allclose(fast, want, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(fast, reference, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(fast, ort, rtol=1e-6, atol=1e-5)


def test_one_channel_pointwise_conv_stays_float_in_static_mode():
    """INT8 would round the DFL's bin weights 0..15: the channel sum is not quantizable, so a static
    engine of it computes exactly what FP32 does (and asks for no calibration range)."""
    model = channel_sum_model(16, np.arange(16, dtype=np.float32))
    x = np.random.default_rng(11).random((1, 16, 4, 37), dtype=np.float32)
    engine = Engine(model, threads=1)
    assert engine._native.quantizable_layers() == []
    static = Engine(model, mode="static", calibration=[x], method="minmax", threads=1)
    np.testing.assert_array_equal(static.run(x)[0], engine.run(x)[0])


def test_other_convs_are_still_quantized():
    """Two output channels, or a 3x3 kernel: the generic Conv, quantizable as before."""
    for weights in (np.ones((2, 16, 1, 1), np.float32), np.ones((1, 16, 3, 3), np.float32)):
        model = single_node_model("Conv", [1, 16, 4, 37], initializers=[numpy_helper.from_array(weights, "w")],
                                  inputs=("x", "w"))
        assert Engine(model)._native.quantizable_layers() != []


def pointwise_conv_model(weights, bias, activation, batch_shape, auto_pad=None, before=None):
    """Conv 1x1 (+ Relu / Clip, which the engine fuses), optionally after another op (``before``)."""
    oc, ic = weights.shape
    inits = [numpy_helper.from_array(weights.reshape(oc, ic, 1, 1).astype(np.float32), "w")]
    inputs = ["h" if before else "x", "w"]
    if bias is not None:
        inits.append(numpy_helper.from_array(bias.astype(np.float32), "b"))
        inputs.append("b")
    nodes = []
    if before == "conv3x3":  # the 1x1 then reads the backend's layout, not plain NCHW
        inits.append(numpy_helper.from_array(np.eye(ic, dtype=np.float32)[:, :, None, None]
                                             * np.ones((1, 1, 3, 3), np.float32) / 9, "w3"))
        nodes.append(helper.make_node("Conv", ["x", "w3"], ["h"], pads=[1, 1, 1, 1]))
    conv_out = "c" if activation else "y"
    nodes.append(helper.make_node("Conv", inputs, [conv_out], **({"auto_pad": auto_pad} if auto_pad else {})))
    if activation == "relu":
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
    elif activation == "clip":
        inits += [numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
                  numpy_helper.from_array(np.array(0.75, np.float32), "hi")]
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, batch_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def pointwise_formula(x, weights, bias, activation):
    y = np.einsum("oc,nchw->nohw", weights.astype(np.float64), x.astype(np.float64))
    if bias is not None:
        y = y + bias.astype(np.float64)[None, :, None, None]
    with np.errstate(invalid="ignore"):
        if activation == "relu":
            y = np.where(y > 0, y, 0)
        elif activation == "clip":
            y = np.where(np.isnan(y), y, np.clip(y, -0.5, 0.75))
    return y


@pytest.mark.parametrize("activation", [None, "relu", "clip"])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("ic, oc, batch, h, w", [(16, 64, 1, 20, 24), (64, 16, 2, 7, 9), (3, 5, 3, 1, 1),
                                                 (1, 1, 1, 5, 5), (33, 17, 1, 13, 11),
                                                 # columns in several bands, the last one short
                                                 (16, 64, 2, 45, 47), (3, 5, 1, 120, 121)])
def test_pointwise_conv_on_plain_input_matches_formula_and_reference(activation, with_bias, ic, oc, batch, h, w):
    rng = np.random.default_rng(ic * 100 + oc)
    weights = (rng.standard_normal((oc, ic)) / np.sqrt(ic)).astype(np.float32)
    bias = rng.standard_normal(oc).astype(np.float32) if with_bias else None
    x = rng.standard_normal((batch, ic, h, w)).astype(np.float32)
    model = pointwise_conv_model(weights, bias, activation, list(x.shape))
    fast, reference = fast_and_reference(model, x)
    want = pointwise_formula(x, weights, bias, activation)
    np.testing.assert_allclose(fast, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5)


def test_pointwise_conv_with_valid_padding_and_dynamic_batch_matches_onnxruntime():
    rng = np.random.default_rng(3)
    weights, bias = rng.standard_normal((8, 6)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
    model = pointwise_conv_model(weights, bias, "relu", ["N", 6, 10, 12], auto_pad="VALID")
    engine = Engine(model, threads=1)
    for batch in (1, 4, 0):
        x = rng.standard_normal((batch, 6, 10, 12)).astype(np.float32)
        (got,) = engine.run(x)
        assert got.shape == (batch, 8, 10, 12)
        if batch:
            np.testing.assert_allclose(got, run_ort(model, {"x": x})[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", [None, "relu", "clip"])
def test_pointwise_conv_keeps_nan_and_infinity(activation):
    """As the reference backend: NaN stays NaN, except through Relu (0). Clip's case also shows that
    the matrix-product path ran: oneDNN's convolution with Clip fused gives the lower bound for NaN."""
    rng = np.random.default_rng(4)
    weights = rng.standard_normal((4, 8)).astype(np.float32)
    x = rng.standard_normal((1, 8, 3, 5)).astype(np.float32)
    x[0, 2, 1, 1], x[0, 5, 2, 4], x[0, 0, 0, 0] = np.nan, np.inf, -np.inf
    model = pointwise_conv_model(weights, np.ones(4, np.float32), activation, list(x.shape))
    fast, reference = fast_and_reference(model, x)
    assert np.isnan(fast).any() == (activation != "relu")
    assert np.isinf(fast).any() == (activation != "clip")
    assert_close_with_nan(fast, reference, rtol=1e-5, atol=1e-5)


def test_pointwise_conv_after_a_conv_reads_the_backend_layout():
    """After a 3x3 conv the input lies in the backend's layout: the 1x1 takes the backend's conv."""
    rng = np.random.default_rng(5)
    weights, bias = rng.standard_normal((24, 16)).astype(np.float32), rng.standard_normal(24).astype(np.float32)
    x = rng.standard_normal((1, 16, 14, 14)).astype(np.float32)
    model = pointwise_conv_model(weights, bias, "relu", list(x.shape), before="conv3x3")
    fast, reference = fast_and_reference(model, x)
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fast, run_ort(model, {"x": x})[0], rtol=1e-5, atol=1e-5)
