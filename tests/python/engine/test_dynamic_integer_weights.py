"""quantize_dynamic's uint8 weights on the engine's u8 x s8 kernels, the file's integers kept.

ONNX Runtime's quantize_dynamic (and older exporters) write ConvInteger / MatMulInteger with uint8
weights whose zero point sits far from 128 (121, 178, 94 in a real captcha reader): q - z then spans up
to [-255, 255], outside s8. The engine shifts each channel's codes into s8 and adds the shift's window
sums (graph/qdq.h), so its outputs are ONNX Runtime's to float rounding. Requantizing those weights
on a symmetric grid, as before, was off by a percent of the output per layer.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine
from edgequant.engine import supported_backends


def _dynamic_conv(rng, cin, cout, kernel, pad, zero, group=1, stride=1, codes=(0, 256)):
    weights = rng.integers(codes[0], codes[1], (cout, cin // group, kernel, kernel)).astype(np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["acc"], pads=[pad] * 4, group=group,
                         strides=[stride, stride]),
        helper.make_node("Cast", ["acc"], ["acc_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "ws"], ["unit"]),
        helper.make_node("Mul", ["acc_f", "unit"], ["y"]),
    ]
    zeros = np.array(zero, np.uint8)
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(zeros, "wz"),
             numpy_helper.from_array(np.array(0.01, np.float32), "ws")]
    return _model(nodes, inits, [1, cin, 12, 12])


def _dynamic_matmul(rng, k, n, zeros):
    weights = rng.integers(0, 256, (k, n)).astype(np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("MatMulInteger", ["xq", "w", "xz", "wz"], ["acc"]),
        helper.make_node("Cast", ["acc"], ["acc_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "ws"], ["unit"]),
        helper.make_node("Mul", ["acc_f", "unit"], ["y"]),
    ]
    scales = rng.uniform(0.005, 0.02, n).astype(np.float32)
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.asarray(zeros, np.uint8), "wz"),
             numpy_helper.from_array(scales, "ws")]
    return _model(nodes, inits, [3, k])


def _model(nodes, inits, shape):
    graph = helper.make_graph(nodes, "dynamic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def _swish_input(rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    return x / (1 + np.exp(-x))  # mostly positive, as a SiLU's output: x's zero point near the bottom


CONVS = {
    "3x3 padded, z 178": dict(cin=24, cout=24, kernel=3, pad=1, zero=178),
    "3x3 unpadded": dict(cin=24, cout=16, kernel=3, pad=0, zero=178),
    "1x1 (window sums a 1x1 conv too)": dict(cin=24, cout=24, kernel=1, pad=0, zero=40),
    "one input channel, stride 2": dict(cin=1, cout=24, kernel=3, pad=1, zero=121, stride=2),
    "depthwise": dict(cin=24, cout=24, kernel=3, pad=1, zero=60, group=24),
    "grouped": dict(cin=24, cout=12, kernel=3, pad=1, zero=200, group=3),
    "z 0, codes 100-255": dict(cin=8, cout=8, kernel=3, pad=1, zero=0, codes=(100, 256)),
    "fits s8 (no shift)": dict(cin=8, cout=8, kernel=3, pad=1, zero=128),
}


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("case", list(CONVS))
def test_uint8_weight_conv_equals_onnxruntime(backend, case):
    rng = np.random.default_rng(sorted(CONVS).index(case))
    spec = CONVS[case]
    model = _dynamic_conv(rng, **spec)
    engine = Engine(model, backend=backend, threads=1, reduce_range=False)
    precisions = {p for _, op, p in engine.plan() if op == "Conv"}
    assert precisions == {"int8_dynamic"}, engine.plan()  # the file's integers on the INT8 kernels
    for seed in range(3):
        x = _swish_input(np.random.default_rng(seed), (1, spec["cin"], 12, 12))
        theirs = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        ours = engine.run({"x": x})[0]
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-6 * np.abs(theirs).max())


@pytest.mark.parametrize("backend", supported_backends())
@pytest.mark.parametrize("zeros", [178, [0, 255, 128, 30, 200]], ids=["per tensor", "per column"])
def test_uint8_weight_matmul_equals_onnxruntime(backend, zeros):
    rng = np.random.default_rng(5)
    model = _dynamic_matmul(rng, 40, 5, zeros)
    engine = Engine(model, backend=backend, threads=1, reduce_range=False)
    assert {p for _, op, p in engine.plan() if op == "MatMul"} == {"int8_dynamic"}, engine.plan()
    x = rng.standard_normal((3, 40)).astype(np.float32)
    theirs = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(engine.run({"x": x})[0], theirs, rtol=0, atol=2e-6 * np.abs(theirs).max())


def test_int8_weights_with_a_zero_point_are_shifted_too():
    """int8 codes with zero point -100 (q - z up to 227), -128 and 127 in one channel: the whole 8-bit
    span, which a shift always brings into s8."""
    rng = np.random.default_rng(9)
    weights = rng.integers(-128, 128, (4, 4, 3, 3)).astype(np.int8)
    weights[0, 0, 0, 0], weights[0, 0, 0, 1] = -128, 127
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("ConvInteger", ["xq", "w", "xz", "wz"], ["acc"], pads=[1] * 4),
        helper.make_node("Cast", ["acc"], ["acc_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xs", "ws"], ["unit"]),
        helper.make_node("Mul", ["acc_f", "unit"], ["y"]),
    ]
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.array(-100, np.int8), "wz"),
             numpy_helper.from_array(np.array(0.01, np.float32), "ws")]
    model = _model(nodes, inits, [1, 4, 12, 12])
    x = _swish_input(rng, (1, 4, 12, 12))
    engine = Engine(model, backend="reference", threads=1, reduce_range=False)
    theirs = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(engine.run({"x": x})[0], theirs, rtol=0, atol=2e-6 * np.abs(theirs).max())


@pytest.mark.parametrize("backend", supported_backends())
def test_dynamic_quantize_linear_alone_equals_onnxruntime_and_refuses_non_finite_input(backend):
    """The op on its own (codes as outputs): ONNX Runtime's scale, zero point and codes, including ties and an
    all-positive input. Its input is x * k + (x * k - x * k), so a large k overflows to Inf and the sum to NaN
    inside the graph (the engine refuses those in its inputs already): the op raises, naming the cause."""
    nodes = [helper.make_node("Mul", ["x", "k"], ["y"]), helper.make_node("Sub", ["y", "y"], ["nan_where_inf"]),
             helper.make_node("Add", ["y", "nan_where_inf"], ["t"]),
             helper.make_node("DynamicQuantizeLinear", ["t"], ["q", "s", "z"])]
    graph = helper.make_graph(nodes, "dql", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [37]),
                                             helper.make_tensor_value_info("k", TensorProto.FLOAT, [])],
                              [helper.make_tensor_value_info("q", TensorProto.UINT8, None),
                               helper.make_tensor_value_info("s", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("z", TensorProto.UINT8, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    engine = Engine(model, backend=backend, threads=1)
    reference = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    one = np.array(1.0, np.float32)
    for x in (rng.standard_normal(37).astype(np.float32), rng.uniform(0.5, 2.0, 37).astype(np.float32),
              np.linspace(-1.0, 1.0, 37, dtype=np.float32)):
        ours, theirs = engine.run({"x": x, "k": one}), reference.run(None, {"x": x, "k": one})
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(np.asarray(a).astype(np.float64), np.asarray(b).astype(np.float64))
    x = rng.uniform(-1e-3, 1e-3, 37).astype(np.float32)
    x[20] = 10.0  # past the first vector of 16
    with pytest.raises(ValueError, match="NaN or Inf"):
        engine.run({"x": x, "k": np.array(1e38, np.float32)})
