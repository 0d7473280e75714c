"""Split, nearest Resize and Concat of conv outputs kept in oneDNN's own layouts (blocked nChw16c /
nChw8c, NHWC under INT8): against ONNX Runtime, including split points inside a channel block (the
plain Split runs), resize factors other than 2, conv outputs reshaped before a Concat (the head
of YOLOv8) and a plain tensor several convs read (converted once, by the first), in FP32 and with
INT8 convs around them."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import max_relative_error, run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

RNG = np.random.default_rng(3)


def weight(name, cout, cin, k=3):
    return numpy_helper.from_array((RNG.normal(size=(cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32), name)


def model(nodes, initializers, cin, out_channels, out_size) -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", cin, 12, 12])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", out_channels, out_size, out_size])
    m = helper.make_model(helper.make_graph(nodes, "native", [x], [y], initializers),
                          opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m.SerializeToString()


def conv(x, y, w):
    return helper.make_node("Conv", [x, w], [y], pads=[1, 1, 1, 1])


def split_model(channels, sizes):
    """C2f-style: conv, split, a conv on the last part, concat of everything, a conv."""
    parts = [f"p{k}" for k in range(len(sizes))]
    nodes = [conv("x", "a", "w0"), helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Split", ["b", "sizes"], parts, axis=1),
             conv(parts[-1], "c", "w1"), helper.make_node("Concat", [*parts, "c"], ["d"], axis=1), conv("d", "y", "w2")]
    inits = [weight("w0", channels, 4), weight("w1", sizes[-1], sizes[-1]), weight("w2", 8, channels + sizes[-1]),
             numpy_helper.from_array(np.array(sizes, np.int64), "sizes")]
    return model(nodes, inits, 4, 8, 12)


def resize_model(channels, scale):
    """YOLO neck-style: conv, nearest upsample, concat with another upsampled branch, conv."""
    scales = numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")
    resize = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    nodes = [conv("x", "a", "w0"), helper.make_node("Resize", ["a", "", "scales"], ["r"], **resize),
             helper.make_node("Resize", ["x", "", "scales"], ["s"], **resize),
             helper.make_node("Concat", ["r", "s"], ["c"], axis=1), conv("c", "y", "w1")]
    return model(nodes, [weight("w0", channels, 4), weight("w1", 8, channels + 4), scales], 4, 8, 12 * scale)


def shared_source_model(channels):
    """ShuffleNet-style: a plain tensor (a Concat of a conv output and the input) read by two convs,
    which convert it once for both, then reshaped and read by a third."""
    shape = numpy_helper.from_array(np.array([0, channels + 4, 12, 12], np.int64), "shape")
    nodes = [conv("x", "a", "w0"), helper.make_node("Concat", ["a", "x"], ["t"], axis=1),
             conv("t", "c1", "w1"), conv("t", "c2", "w2"), helper.make_node("Reshape", ["t", "shape"], ["r"]),
             conv("r", "c3", "w3"), helper.make_node("Concat", ["c1", "c2", "c3"], ["c"], axis=1), conv("c", "y", "w4")]
    inits = [weight("w0", channels, 4), *(weight(f"w{k}", 8, channels + 4) for k in (1, 2, 3)), weight("w4", 8, 24),
             shape]
    return model(nodes, inits, 4, 8, 12)


CASES = {
    "split on block boundaries": split_model(64, [16, 48]),
    "split by 8": split_model(32, [8, 8, 16]),
    "split inside a block": split_model(32, [12, 20]),
    "split by 64 (whole cache lines per pixel)": split_model(128, [64, 64]),
    "resize x2": resize_model(32, 2),
    "resize x3": resize_model(16, 3),
    "resize odd channels": resize_model(20, 2),
    "one source, three convs": shared_source_model(12),
    "one source, three convs (block multiple)": shared_source_model(28),
}


@pytest.mark.parametrize("mode", ["fp32", "dynamic", "static"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_native_split_and_resize_match(case, mode):
    m = CASES[case]
    x = RNG.normal(size=(2, 4, 12, 12)).astype(np.float32)
    (ref,) = run_ort(m, {"x": x})
    calibration = RNG.normal(size=(8, 4, 12, 12)).astype(np.float32) if mode == "static" else None
    engine = Engine(m, mode=mode, calibration=calibration, threads=1)
    # INT8: ~2 % per rounding step here, up to ~7 % for static (ranges fixed by 8 other samples).
    tolerance = {"fp32": 1e-5, "dynamic": 0.05, "static": 0.1}[mode]
    (out,) = engine.run(x)
    assert out.shape == ref.shape
    assert max_relative_error(out, ref) < tolerance
    np.testing.assert_array_equal(engine.run(x)[0], out)  # reused buffers, same answer
    (one,) = engine.run(x[:1])
    assert max_relative_error(one, ref[:1]) < tolerance


@pytest.mark.parametrize("case", sorted(CASES))
def test_static_u8_through_split_and_concat_matches_the_reference_backend(case):
    """Static INT8: conv outputs cross Split / Concat as u8 with their quantization group's
    parameters (a Split's input and parts, a Concat's inputs and output share one range); the
    reference backend, which quantizes each conv input itself with the same parameters, agrees."""
    m = CASES[case]
    x = RNG.normal(size=(2, 4, 12, 12)).astype(np.float32)
    calibration = RNG.normal(size=(8, 4, 12, 12)).astype(np.float32)
    (reference,) = Engine(m, mode="static", calibration=calibration, threads=1, backend="reference").run(x)
    for b in supported_backends():
        (out,) = Engine(m, mode="static", calibration=calibration, threads=1, backend=b).run(x)
        # under one u8 step (~1 %): oneDNN requantizes a conv's u8 output in float, the reference backend in
        # TFLite's fixed point, so a code may differ by one (measured up to 6.5e-3 on AVX2 without VNNI)
        assert max_relative_error(out, reference) < 1e-2, b
    engine = Engine(m, mode="static", calibration=calibration, keep_float_weights=True)
    params = engine.activation_quantization()
    if "split" in case:  # the last part and the Concat's output are one group: one (scale, zero point)
        last = sorted(n for n in params if n.startswith("p"))[-1]
        assert params[last] == params["d"]
        assert engine.ranges[last] != engine.ranges["d"]  # though their own ranges differ
    if "resize" in case:  # nearest Resize passes u8: its input and output join the Concat's group
        assert params["x"] == params["c"]  # (x, resized into the Concat, is the first conv's input)


def head_concat_model(channels, axis):
    """YOLOv8 head-style: conv outputs at two resolutions (or two widths) reshaped to [N, C, H*W]
    and concatenated, so native inputs are converted straight into the Concat's rows."""
    shape = numpy_helper.from_array(np.array([0, channels if axis == 2 else -1, 144 if axis == 1 else -1],
                                             np.int64), "shape")
    nodes = [conv("x", "a", "w0"), helper.make_node("Conv", ["x", "w1"], ["b"], pads=[1, 1, 1, 1],
                                                    strides=[1, 1] if axis == 1 else [2, 2]),
             helper.make_node("Sigmoid", ["a"], ["as"]),
             helper.make_node("Reshape", ["as", "shape"], ["ra"]), helper.make_node("Reshape", ["b", "shape"], ["rb"]),
             helper.make_node("Concat", ["ra", "rb"], ["y"], axis=axis)]
    other = channels if axis == 2 else 12
    out = [channels, 144 + 36] if axis == 2 else [channels + other, 144]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 12, 12])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *out])
    m = helper.make_model(helper.make_graph(nodes, "head", [x], [y],
                                            [weight("w0", channels, 4), weight("w1", other, 4), shape]),
                          opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m.SerializeToString()


HEAD_CASES = {
    "scales on the last axis": head_concat_model(32, 2),
    "scales, odd channels": head_concat_model(20, 2),
    "channels on axis 1": head_concat_model(16, 1),
}


@pytest.mark.parametrize("mode", ["fp32", "dynamic", "static"])
@pytest.mark.parametrize("case", sorted(HEAD_CASES))
def test_concat_of_reshaped_native_tensors(case, mode):
    m = HEAD_CASES[case]
    x = RNG.normal(size=(2, 4, 12, 12)).astype(np.float32)
    calibration = RNG.normal(size=(8, 4, 12, 12)).astype(np.float32) if mode == "static" else None
    (ref,) = run_ort(m, {"x": x})
    (reference,) = Engine(m, mode=mode, calibration=calibration, threads=1, backend="reference").run(x)
    tolerance = {"fp32": 1e-5, "dynamic": 0.05, "static": 0.1}[mode]
    for b in supported_backends():
        engine = Engine(m, mode=mode, calibration=calibration, threads=1, backend=b)
        (out,) = engine.run(x)
        assert out.shape == ref.shape
        assert max_relative_error(out, ref) < tolerance, b
        if mode != "dynamic":  # same quantization as the reference backend: only rounding order differs
            assert max_relative_error(out, reference) < 1e-4, b
        np.testing.assert_array_equal(engine.run(x)[0], out)  # pooled buffers, same answer
        (one,) = engine.run(x[:1])
        assert max_relative_error(one, ref[:1]) < tolerance, b


def large_neck_model(size, channels):
    """Two conv branches upsampled x2 and concatenated at a size whose copies run over the engine's
    threads (each resized tensor >= 256 KiB: dnnl_common.h's kParallelCopyBytes)."""
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    resize = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    nodes = [conv("x", "a", "w0"), conv("x", "b", "w1"), helper.make_node("Relu", ["b"], ["br"]),
             helper.make_node("Resize", ["a", "", "scales"], ["ra"], **resize),
             helper.make_node("Resize", ["br", "", "scales"], ["rb"], **resize),
             helper.make_node("Concat", ["ra", "rb"], ["c"], axis=1), conv("c", "y", "w2")]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, size, size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8, 2 * size, 2 * size])
    inits = [weight("w0", channels, 4), weight("w1", channels, 4), weight("w2", 8, 2 * channels), scales]
    m = helper.make_model(helper.make_graph(nodes, "neck", [x], [y], inits),
                          opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m.SerializeToString()


@pytest.mark.parametrize("mode", ["fp32", "static"])
def test_large_resizes_and_concats_over_two_threads(mode):
    """Nearest Resize writes the first row of each run of repeated rows, then (after a barrier) copies it
    to the repeats, each phase split over the threads; the channels-last Concat splits its pixels. At two
    threads the result equals ONNX Runtime's (FP32) and the reference backend's (static INT8)."""
    m = large_neck_model(48, 64)
    x = RNG.normal(size=(1, 4, 48, 48)).astype(np.float32)
    calibration = RNG.normal(size=(4, 4, 48, 48)).astype(np.float32) if mode == "static" else None
    if mode == "fp32":
        (expected,) = run_ort(m, {"x": x})
        tolerance = 1e-5
    else:
        (expected,) = Engine(m, mode=mode, calibration=calibration, threads=1, backend="reference").run(x)
        tolerance = 1e-2  # one u8 step at most (float against fixed-point requantization)
    engine = Engine(m, mode=mode, calibration=calibration, threads=2)
    for _ in range(5):  # a missing barrier shows as rows copied before they were written, now and then
        (out,) = engine.run(x)
        assert max_relative_error(out, expected) < tolerance
