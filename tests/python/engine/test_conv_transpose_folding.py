"""What follows a ConvTranspose in exported models, folded into it (graph/passes.h, conv_affine_folding.h):
a per-channel Add (an exported bias) or Mul, a BatchNormalization and a Relu, as in the DB text detectors'
upsampling heads (PP-OCR det, seal_det: ConvTranspose, Add of a reshaped bias, BatchNormalization, Relu).
Each case against ONNX Runtime on every backend, with the plan showing what was folded; and the cases that
must not fold (an output read twice, a Relu after a non-Relu op, a quantized file's weights) left as they are.
"""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(4207)


def _normal(*shape, scale=0.5):
    return np.asarray(RNG.standard_normal(shape) * scale, np.float32)


def _head(x_shape, w_shape, tail, group=1, strides=(2, 2), bias=False, extra_outputs=()):
    """X -> ConvTranspose(W) -> the ops named in `tail` ("add", "mul", "bn", "relu", "sigmoid") -> y."""
    out_channels = w_shape[1] * group
    inits = [numpy_helper.from_array(_normal(*w_shape), "w")]
    inputs = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(_normal(out_channels), "b"))
        inputs.append("b")
    nodes = [helper.make_node("ConvTranspose", inputs, ["t0"], strides=list(strides), group=group)]
    value = "t0"
    for k, op in enumerate(tail):
        out = f"t{k + 1}"
        per_channel = [1, out_channels] + [1] * (len(x_shape) - 2)
        if op in ("add", "mul"):
            inits.append(numpy_helper.from_array(_normal(*per_channel, scale=1.0), f"c{k}"))
            nodes.append(helper.make_node(op.capitalize(), [value, f"c{k}"], [out]))
        elif op == "bn":
            names = [f"{p}{k}" for p in ("gamma", "beta", "mean", "var")]
            values = [_normal(out_channels) + 1, _normal(out_channels), _normal(out_channels),
                      np.abs(_normal(out_channels)) + 0.5]
            inits += [numpy_helper.from_array(v.astype(np.float32), n) for v, n in zip(values, names, strict=True)]
            nodes.append(helper.make_node("BatchNormalization", [value, *names], [out], epsilon=1e-5))
        else:
            nodes.append(helper.make_node(op.capitalize(), [value], [out]))
        value = out
    outputs = [helper.make_tensor_value_info(value, TensorProto.FLOAT, None)]
    outputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in extra_outputs]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                              outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString(), {"x": _normal(*x_shape, scale=1.0)}


def _check(model, feeds, ops_left):
    expected = run_ort(model, feeds)
    for backend in supported_backends():
        engine = Engine(model, backend=backend)
        assert [op for _, op, _ in engine.plan()] == ops_left, backend
        for got, want in zip(engine.run(feeds), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=backend)


@pytest.mark.parametrize(
    "x_shape,w_shape,group,strides,bias",
    [
        ((1, 8, 20, 20), (8, 6, 2, 2), 1, (2, 2), False),  # the DB head's 2x upsampling (the tiling path)
        ((2, 6, 9, 11), (6, 2, 2, 2), 3, (2, 2), True),  # groups, batch 2, a bias of its own
        ((1, 4, 7, 8), (4, 5, 3, 3), 1, (2, 2), True),  # kernel 3 > stride 2: the scatter path
        ((1, 4, 6, 5), (4, 3, 2, 3), 2, (2, 3), False),  # three planes per output row
        ((1, 3, 4, 5, 6), (3, 4, 2, 2, 2), 1, (2, 2, 2), False),  # 3-D
    ],
)
def test_bias_batch_norm_and_relu_fold_into_the_conv_transpose(x_shape, w_shape, group, strides, bias):
    model, feeds = _head(x_shape, w_shape, ["add", "bn", "relu"], group, strides, bias)
    _check(model, feeds, ["ConvTranspose"])


def test_per_channel_scale_then_batch_norm_fold():
    model, feeds = _head((1, 6, 10, 10), (6, 4, 2, 2), ["mul", "bn", "relu"], group=2)
    _check(model, feeds, ["ConvTranspose"])


def test_batch_norm_alone_and_the_relu_on_the_scatter_path():
    model, feeds = _head((1, 4, 7, 8), (4, 5, 3, 3), ["bn"])
    _check(model, feeds, ["ConvTranspose"])
    model, feeds = _head((1, 4, 7, 8), (4, 5, 3, 3), ["relu"])
    _check(model, feeds, ["ConvTranspose"])


def test_an_output_read_twice_is_not_folded():
    """The ConvTranspose's output is also a graph output: the Add stays (and so the BN and Relu after it)."""
    model, feeds = _head((1, 4, 6, 6), (4, 3, 2, 2), ["add", "bn", "relu"], extra_outputs=["t0"])
    _check(model, feeds, ["ConvTranspose", "Add", "BatchNormalization", "Relu"])


def test_only_a_relu_fuses():
    """A Sigmoid after the ConvTranspose (the DB head's last step) stays an op of its own."""
    model, feeds = _head((1, 4, 6, 6), (4, 1, 2, 2), ["add", "sigmoid"])
    _check(model, feeds, ["ConvTranspose", "Sigmoid"])


def test_negative_outputs_really_clipped():
    """The fused Relu runs: exact zeros (a sum of random products never is one) and nothing below 0."""
    model, feeds = _head((1, 4, 6, 6), (4, 3, 2, 2), ["relu"])
    engine = Engine(model)
    assert [op for _, op, _ in engine.plan()] == ["ConvTranspose"]
    (y,) = engine.run(feeds)
    assert (y >= 0).all() and (y == 0).any() and (y > 0).any()
    np.testing.assert_allclose(y, run_ort(model, feeds)[0], rtol=1e-4, atol=1e-4)
