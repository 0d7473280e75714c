"""The installed aarch64 wheel's engine on its ARM backend, against ONNX Runtime aarch64.

Run by scripts/arm/check_wheel_emulated.sh under qemu-aarch64 on an emulated Cortex-A76 (dot-product
INT8 kernels) and Cortex-A53 (plain NEON); skipped on a build without the ARM backend (x86-64).
Tiny graphs built with onnx.helper — a general and a strided / dilated convolution, a depthwise one,
a dense layer, pooling and a residual block — at small sizes, so that the emulated run stays short.

- FP32: equal to ONNX Runtime within float rounding (the kernels sum in another order).
- INT8 (static and dynamic): every convolution and dense node runs in INT8 (``plan()``), the
  outputs equal the reference backend's INT8 outputs up to float rounding of the epilogue (same
  integer arithmetic; 1e-5 of the output range, a quantization step is 1/255 of it), and stay
  within quantization error of ONNX Runtime's FP32 outputs.
"""

import os
import pathlib

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgequant import Engine  # noqa: E402
from edgequant.engine import supported_backends  # noqa: E402

pytestmark = pytest.mark.skipif("arm" not in supported_backends(), reason="this build has no ARM backend")

#: Ops whose kernels the INT8 modes run in INT8 (the rest run in float32).
INT8_OPS = ("Conv", "Gemm", "MatMul")
#: INT8 against ONNX Runtime FP32: largest error as a fraction of the output's largest magnitude
#: (8-bit activations and weights through one to three layers: 0.2 to 1.6 % measured on these graphs,
#: static and dynamic, emulated Cortex-A76, 2026-11-24).
INT8_TOLERANCE = 0.04


def _rng(seed):
    return np.random.default_rng(seed)


def _weight(rng, name, shape):
    return numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))).astype(np.float32), name)


def _bias(rng, name, size):
    return numpy_helper.from_array((0.1 * rng.standard_normal(size)).astype(np.float32), name)


def _model(nodes, initializers, input_shape, output_shape):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)], initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def conv_model():
    """3x3 conv (odd channel counts, pad 1) + ReLU, then a strided, dilated 3x3 conv."""
    rng = _rng(1)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["y"], kernel_shape=[3, 3], pads=[2, 2, 2, 2], strides=[2, 2],
                         dilations=[2, 2]),
    ]  # fmt: skip
    inits = [_weight(rng, "w1", (19, 3, 3, 3)), _bias(rng, "b1", 19), _weight(rng, "w2", (13, 19, 3, 3)),
             _bias(rng, "b2", 13)]  # fmt: skip
    return _model(nodes, inits, [1, 3, 11, 11], [1, 13, 6, 6])


def depthwise_model():
    """1x1 expansion, depthwise 3x3 stride 2 with ReLU6 (Clip), 1x1 projection: a MobileNetV2 block."""
    rng = _rng(2)
    nodes = [
        helper.make_node("Conv", ["x", "we", "be"], ["e"], kernel_shape=[1, 1]),
        helper.make_node("Relu", ["e"], ["er"]),
        helper.make_node("Conv", ["er", "wd", "bd"], ["d"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
                         group=24),
        helper.make_node("Clip", ["d", "lo", "hi"], ["dr"]),
        helper.make_node("Conv", ["dr", "wp", "bp"], ["y"], kernel_shape=[1, 1]),
    ]  # fmt: skip
    inits = [
        _weight(rng, "we", (24, 5, 1, 1)), _bias(rng, "be", 24),
        _weight(rng, "wd", (24, 1, 3, 3)), _bias(rng, "bd", 24),
        _weight(rng, "wp", (7, 24, 1, 1)), _bias(rng, "bp", 7),
        numpy_helper.from_array(np.array(0, np.float32), "lo"), numpy_helper.from_array(np.array(6, np.float32), "hi"),
    ]  # fmt: skip
    return _model(nodes, inits, [1, 5, 10, 10], [1, 7, 5, 5])


def dense_model():
    """Flatten and two dense layers (Gemm with a transposed weight, then MatMul + Add)."""
    rng = _rng(3)
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("Gemm", ["f", "w1", "b1"], ["g"], transB=1),
        helper.make_node("Relu", ["g"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["m"]),
        helper.make_node("Add", ["m", "b2"], ["y"]),
    ]
    inits = [_weight(rng, "w1", (37, 48)), _bias(rng, "b1", 37),
             numpy_helper.from_array((rng.standard_normal((37, 10)) / 6).astype(np.float32), "w2"),
             _bias(rng, "b2", 10)]  # fmt: skip
    return _model(nodes, inits, [1, 3, 4, 4], [1, 10])


def pool_model():
    """Conv, max pooling 3x3 stride 2 with padding, average pooling 2x2, global average pooling."""
    rng = _rng(4)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("MaxPool", ["c"], ["p1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["p1"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p2"], ["y"]),
    ]
    return _model(nodes, [_weight(rng, "w", (9, 4, 3, 3)), _bias(rng, "b", 9)], [1, 4, 12, 12], [1, 9, 1, 1])


def residual_model():
    """A ResNet basic block: conv-ReLU-conv, the input added back, ReLU (the sum fuses into the conv)."""
    rng = _rng(5)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "x"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = [_weight(rng, "w1", (16, 16, 3, 3)), _bias(rng, "b1", 16), _weight(rng, "w2", (16, 16, 3, 3)),
             _bias(rng, "b2", 16)]  # fmt: skip
    return _model(nodes, inits, [1, 16, 8, 8], [1, 16, 8, 8])


MODELS = {"conv": conv_model, "depthwise": depthwise_model, "dense": dense_model, "pool": pool_model,
          "residual": residual_model}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    """(name, model bytes, test input, calibration inputs, ONNX Runtime's FP32 output)."""
    model = MODELS[request.param]()
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    rng = _rng(100)
    x = rng.standard_normal(shape).astype(np.float32)
    calibration = rng.standard_normal([8, *shape[1:]]).astype(np.float32)
    data = model.SerializeToString()
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    return request.param, data, x, calibration, expected


def test_arm_is_the_default_backend():
    assert supported_backends()[0] == "arm"


def test_fp32_matches_onnxruntime(case):
    _, data, x, _, expected = case
    engine = Engine(data, threads=2)
    assert all(precision == "f32" for _, _, precision in engine.plan())
    (got,) = engine.run(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_int8_runs_in_int8_equals_reference_and_is_near_onnxruntime(case, mode):
    name, data, x, calibration, expected = case
    kwargs = {"calibration": calibration} if mode == "static" else {}
    arm = Engine(data, mode=mode, backend="arm", threads=2, **kwargs)
    int8_nodes = [op for _, op, precision in arm.plan() if precision == f"int8_{mode}"]
    float_nodes = [op for _, op, precision in arm.plan() if precision == "f32"]
    assert int8_nodes, f"{name}: no node ran in INT8: {arm.plan()}"
    assert not [op for op in float_nodes if op in INT8_OPS], f"{name}: a conv / dense node stayed float: {arm.plan()}"
    (got,) = arm.run(x)
    (reference,) = Engine(data, mode=mode, backend="reference", **kwargs).run(x)
    # The integer results are the same; the float epilogue (rescale, fused sum) may round differently:
    # allowed far below one quantization step (at least 1/255 of the output range).
    scale = float(np.abs(reference).max())
    np.testing.assert_allclose(got, reference, rtol=0, atol=1e-5 * scale, err_msg=f"{name}: ARM INT8 vs reference")
    error = float(np.abs(got - expected).max()) / float(np.abs(expected).max())
    assert error <= INT8_TOLERANCE, f"{name} {mode}: INT8 error {error:.4f} of the output range against ONNX Runtime"
    assert not np.array_equal(got, expected), f"{name} {mode}: identical to FP32, INT8 cannot have run"


def _pair(name, source, scale=0.05, zero=-3):
    """QuantizeLinear -> DequantizeLinear on an int8 grid, writing ``name``: nodes and initializers."""
    inits = [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_s"),
             numpy_helper.from_array(np.array(zero, np.int8), f"{name}_z")]  # fmt: skip
    nodes = [helper.make_node("QuantizeLinear", [source, f"{name}_s", f"{name}_z"], [f"{name}_q"]),
             helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_s", f"{name}_z"], [name])]  # fmt: skip
    return nodes, inits


def quantized_pool_model():
    """A QDQ file's ending, TFLite's pools on one grid: pair -> conv (int8 weights, 20 channels: a block
    of 16 and 4 more) -> pair -> AveragePool 2x2 (half steps) -> pair -> GlobalAveragePool -> pair."""
    rng = _rng(6)
    nodes, inits = _pair("a", "x", 0.02, 5)
    weights = numpy_helper.from_array(rng.integers(-127, 128, (20, 3, 3, 3), dtype=np.int8), "w_q")
    w_scale = numpy_helper.from_array(np.array(0.004, np.float32), "w_s")
    nodes += [helper.make_node("DequantizeLinear", ["w_q", "w_s"], ["w"]),
              helper.make_node("Conv", ["a", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]  # fmt: skip
    inits += [weights, w_scale, _bias(rng, "b", 20)]
    source = "c"
    for name, node in [("p0", None), ("p1", "AveragePool"), ("p2", "GlobalAveragePool")]:
        if node:
            attributes = {"kernel_shape": [2, 2], "strides": [2, 2]} if node == "AveragePool" else {}
            nodes.append(helper.make_node(node, [source], [f"{name}_in"], **attributes))
            source = f"{name}_in"
        pair_nodes, pair_inits = _pair("y" if name == "p2" else name, source)
        nodes, inits, source = nodes + pair_nodes, inits + pair_inits, "y" if name == "p2" else name
    return _model(nodes, inits, [1, 3, 10, 10], [1, 20, 1, 1])


def test_a_quantized_models_pools_average_codes_as_the_reference_backend_does():
    """Static INT8 of the file's own grids: the conv writes NHWC codes, both pools average them on NEON
    (CodeAveragePool, TFLite's integer average) — bit for bit the reference backend's plain loop."""
    data = quantized_pool_model().SerializeToString()
    x = _rng(7).standard_normal([1, 3, 10, 10]).astype(np.float32)
    arm = Engine(data, backend="arm", threads=2)
    plan = [(op, precision) for _, op, precision in arm.plan()]
    assert [op for op, _ in plan].count("CodeAveragePool") == 2 and ("Conv", "int8_static") in plan, plan
    (got,) = arm.run(x)
    (reference,) = Engine(data, backend="reference", threads=1).run(x)
    np.testing.assert_array_equal(got, reference)
    assert len(np.unique(got)) > 5, "the outputs hardly vary: the test would prove little"


def nhwc_input_model():
    """A TFLite-derived file's start: an NHWC float image transposed to NCHW, its pair, a 3x3 conv to 8
    channels (int8 weights), a pair, an 8-channel depthwise 3x3 at stride 1 (two pixels per 16-lane
    block; odd width: the last pixel alone), a pair."""
    rng = _rng(8)
    nodes = [helper.make_node("Transpose", ["x"], ["nchw"], perm=[0, 3, 1, 2])]
    pair_nodes, inits = _pair("a", "nchw", 0.02, 5)
    nodes += pair_nodes
    for name, source, shape, group in [("c", "a", (8, 3, 3, 3), 1), ("d", "p", (8, 1, 3, 3), 8)]:
        weights = numpy_helper.from_array(rng.integers(-127, 128, shape, dtype=np.int8), f"{name}_wq")
        nodes += [helper.make_node("DequantizeLinear", [f"{name}_wq", f"{name}_ws"], [f"{name}_w"]),
                  helper.make_node("Conv", [source, f"{name}_w", f"{name}_b"], [f"{name}_out"], kernel_shape=[3, 3],
                                   pads=[1, 1, 1, 1], group=group)]  # fmt: skip
        inits += [
            weights,
            numpy_helper.from_array(np.array(0.004, np.float32), f"{name}_ws"),
            _bias(rng, f"{name}_b", 8),
        ]
        pair_nodes, pair_inits = _pair("p" if name == "c" else "y", f"{name}_out", 0.05 if name == "c" else 0.1, -3)
        nodes, inits = nodes + pair_nodes, inits + pair_inits
    image = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 9, 11, 3])
    graph = helper.make_graph(
        nodes, "g", [image], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 9, 11])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def test_an_nhwc_input_is_quantized_as_it_lies_as_the_reference_backend_does():
    """Static INT8 of the file's own grids: the Transpose keeps the NHWC image as it lies, its pair writes
    NHWC codes straight from it (with the values at half steps and far past the grid), and the 8-channel
    depthwise conv runs pixel pairs — bit for bit the reference backend."""
    data = nhwc_input_model().SerializeToString()
    x = _rng(9).standard_normal([1, 9, 11, 3]).astype(np.float32)
    x.flat[::7] = np.round(x.flat[::7] / 0.02) * 0.02 + 0.01  # ties: round half to even
    x.flat[5], x.flat[6] = 1e30, -3e38  # the engine refuses non-finite inputs
    arm = Engine(data, backend="arm", threads=2)
    assert [op for _, op, precision in arm.plan() if op == "Conv"] == ["Conv", "Conv"]
    assert all(precision == "int8_static" for _, op, precision in arm.plan() if op == "Conv"), arm.plan()
    (got,) = arm.run(x)
    reference = Engine(data, backend="reference", threads=1)
    np.testing.assert_array_equal(got, reference.run(x)[0])
    assert len(np.unique(got)) > 20, "the outputs hardly vary: the test would prove little"


#: The MLPerf Tiny int8 models as ONNX QDQ files, written by scripts/arm/check_wheel_emulated.sh's host step
#: (tflite_to_onnx needs the tflite schema readers, which the emulated folder does not hold).
MLPERF_TINY_ONNX = os.environ.get("EDGEQUANT_MLPERF_TINY_ONNX", "")


@pytest.mark.parametrize("name", ["resnet8", "vww", "kws"])
def test_mlperf_tiny_models_run_static_int8_bit_for_bit_as_the_reference_backend(name):
    """A whole real model on its own int8 scales: every Conv and Gemm in static INT8 on the ARM kernels
    (on the A76, VWW's RGB first conv and 8-channel pointwise layers read short taps; ResNet-8 sums its
    residuals on codes; KWS's 10x4 first conv reads a frame) — bit for bit the reference backend."""
    path = pathlib.Path(MLPERF_TINY_ONNX) / f"{name}.onnx"
    if not MLPERF_TINY_ONNX or not path.is_file():
        pytest.skip("no converted MLPerf Tiny model (scripts/arm/check_wheel_emulated.sh writes them)")
    data = path.read_bytes()
    shape = [d.dim_value or 1 for d in onnx.load_from_string(data).graph.input[0].type.tensor_type.shape.dim]
    x = _rng(11).uniform(-1, 1, shape).astype(np.float32)
    arm = Engine(data, backend="arm", threads=2)
    layers = [precision for _, op, precision in arm.plan() if op in ("Conv", "Gemm")]
    assert len(layers) >= 3 and all(precision == "int8_static" for precision in layers), arm.plan()
    (got,) = arm.run(x)
    (reference,) = Engine(data, backend="reference", threads=1).run(x)
    np.testing.assert_array_equal(got, reference)
    assert np.ptp(got) > 0, "constant outputs: the test would prove little"
