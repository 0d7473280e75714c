"""ONNX attributes and layouts export-c used to get silently wrong (issue 22): pool ``auto_pad``, Softmax
``axis`` (and the opset < 13 coercion to 2-D), a broadcasting Add of two activations and a flat -> 4-D
Reshape feeding a Conv (ONNX is NCHW, the C runtime NHWC). Each model is built here, exported, its C
compiled with AddressSanitizer / UBSan and compared with the engine's static INT8 output
(:data:`onnx_c_reference.TOLERANCE_STEPS`), or must be refused at export naming the node."""

import warnings

import numpy as np
import pytest
from onnx import helper
from onnx_c_reference import SANITIZERS, TOLERANCE_STEPS, export_run_compare, make_model, sanitized_runtime, save

from edgequant.engine import engine_available
from edgequant.microcontroller import CoarseSoftmaxWarning, export_c

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.skipif(not engine_available(), reason="built without the inference engine")


def weights(rng, *shape):
    return rng.normal(0, 0.4, shape).astype(np.float32)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """The runtime's kernels built once with the sanitizers (each test compiles only its model.c)."""
    return sanitized_runtime(tmp_path_factory.mktemp("runtime"))


def check(model, tmp_path, runtime, seed=0):
    """Export, run under the sanitizers on calibration samples and compare with the engine."""
    rng = np.random.default_rng(seed)
    input_shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    calibration = rng.random((12, *input_shape[1:]), np.float32)
    path = save(model, tmp_path / "model.onnx")
    # inputs from the calibration set: outside its range the int8 grid clips, which is not what is tested here
    steps, report, details = export_run_compare(path, calibration, calibration[:6], tmp_path / "c", SANITIZERS,
                                                   runtime)
    assert steps <= TOLERANCE_STEPS, (f"C differs from the engine's static INT8 by {details['engine_steps']:.1f} "
                                      f"output steps, from ONNX Runtime by {details['float_steps']:.1f}")
    return report


def refused(model, tmp_path, match):
    input_shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    calibration = np.random.default_rng(0).random((4, *input_shape[1:]), np.float32)
    with pytest.raises(ValueError, match=match):
        export_c(save(model, tmp_path / "model.onnx"), tmp_path / "c", calibration=calibration)


def conv_then(node, rng, channels=3, size=7, opset=13):
    """x [1, 2, size, size] -> Conv 3x3 (``channels`` out) -> ``node`` (which reads "c", writes "y")."""
    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv")
    return make_model([conv, node], [1, 2, size, size], "y",
                      [("w", weights(rng, channels, 2, 3, 3)), ("b", weights(rng, channels))], opset)


@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_pool_auto_pad(pool, auto_pad, tmp_path, runtime):
    # 7 rows, kernel 3, stride 1: one padded row on each side; 7 columns, kernel 2, stride 2: one padded column,
    # at the end (SAME_UPPER) or at the start (SAME_LOWER)
    node = helper.make_node(pool, ["c"], ["y"], kernel_shape=[3, 2], strides=[1, 2], auto_pad=auto_pad, name="pool")
    report = check(conv_then(node, np.random.default_rng(1)), tmp_path, runtime)
    expected = {"SAME_UPPER": (1, 0), "SAME_LOWER": (1, 1), "VALID": (0, 0)}[auto_pad]
    params = report.graph.layers[-1].params
    assert (params["padding_top"], params["padding_left"]) == expected


def test_pool_pads_not_smaller_than_the_kernel_are_a_value_error(tmp_path):
    # a window wholly in padding: the engine refuses the model (as ONNX Runtime does), export-c says so
    node = helper.make_node("AveragePool", ["c"], ["y"], kernel_shape=[2, 2], pads=[2, 0, 0, 0], name="empty_pool")
    refused(conv_then(node, np.random.default_rng(2)), tmp_path, "empty_pool.*smaller than the kernel")


def test_softmax_over_channels_of_an_image(tmp_path, runtime):
    # axis 1 of NCHW [1, 4, 5, 5]: the channels, contiguous runs of the C's NHWC memory
    node = helper.make_node("Softmax", ["c"], ["y"], axis=1, name="softmax")
    report = check(conv_then(node, np.random.default_rng(3), channels=4, size=5), tmp_path, runtime)
    params = report.graph.layers[-1].params
    assert (params["rows"], params["depth"]) == (25, 4)


def test_conv_after_a_softmax_requantizes_from_the_softmax_grid(tmp_path, runtime):
    # the C holds a Softmax's output on TFLite's fixed grid (1/256, zero point -128), not on the grid the engine
    # calibrated (here about [0.2, 0.6]): the Conv reading it needs multipliers of its own (74 output steps off
    # when it took the engine's)
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Softmax", ["x"], ["s"], axis=1),
             helper.make_node("Conv", ["s", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["c", "w2"], ["y"])]
    model = make_model(nodes, [1, 3, 6, 8], "y", [("w1", weights(rng, 4, 3, 3, 3)), ("w2", weights(rng, 2, 4, 1, 1))])
    check(model, tmp_path, runtime)


def test_softmax_before_opset_13_coerces_to_2d_at_axis_1(tmp_path, runtime):
    # opset 11's default axis 1 of [1, 4, 1, 1]: one softmax over all four values (the last axis has one)
    rng = np.random.default_rng(11)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["c"], ["p"]), helper.make_node("Softmax", ["p"], ["y"])]
    model = make_model(nodes, [1, 2, 5, 5], "y", [("w", weights(rng, 4, 2, 3, 3)), ("b", weights(rng, 4))], 11)
    params = check(model, tmp_path, runtime).graph.layers[-1].params
    assert (params["rows"], params["depth"]) == (1, 4)


@pytest.mark.parametrize(("opset", "axis"), [(13, -1), (13, 2), (11, 2), (11, 3)])
def test_softmax_over_an_axis_the_nhwc_memory_splits_is_refused(opset, axis, tmp_path):
    node = helper.make_node("Softmax", ["c"], ["y"], axis=axis, name="softmax_rows")
    refused(conv_then(node, np.random.default_rng(4), channels=4, size=5, opset=opset), tmp_path,
            "softmax_rows.*not contiguous")


def test_softmax_over_the_last_axis_of_a_product(tmp_path, runtime):
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1), helper.make_node("Softmax", ["g"], ["y"])]
    check(make_model(nodes, [1, 6], "y", [("w", weights(rng, 10, 6)), ("b", weights(rng, 10))]), tmp_path, runtime)


def test_a_softmax_over_many_values_is_warned_of(tmp_path):
    # 160 values near 1/160 each: the largest near 0.03, 8 codes of the C's fixed 1/256 grid
    rng = np.random.default_rng(6)
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1),
             helper.make_node("Softmax", ["g"], ["y"], name="wide")]
    model = make_model(nodes, [1, 6], "y", [("w", weights(rng, 160, 6) * 0.1)])
    with pytest.warns(CoarseSoftmaxWarning, match=r"'wide'.*groups of 160 values.*codes of the 1/256 grid"):
        export_c(save(model, tmp_path / "model.onnx"), tmp_path / "c", calibration=rng.random((4, 6), np.float32))


def test_a_softmax_with_a_clear_winner_is_not_warned_of(tmp_path):
    rng = np.random.default_rng(6)
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1), helper.make_node("Softmax", ["g"], ["y"])]
    model = make_model(nodes, [1, 6], "y", [("w", weights(rng, 10, 6) * 10)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoarseSoftmaxWarning)
        export_c(save(model, tmp_path / "model.onnx"), tmp_path / "c", calibration=rng.random((4, 6), np.float32))


def two_branches(rng, second_branch):
    """Two convs of x, the second followed by ``second_branch`` nodes (writing "d"), then Add(c, d)."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["e"], pads=[1, 1, 1, 1]), *second_branch,
             helper.make_node("Add", ["c", "d"], ["y"], name="sum")]
    initializers = [("w1", weights(rng, 3, 2, 3, 3)), ("b1", weights(rng, 3)), ("w2", weights(rng, 3, 2, 3, 3)),
                    ("b2", weights(rng, 3))]
    return make_model(nodes, [1, 2, 4, 4], "y", initializers)


def test_add_of_two_activations(tmp_path, runtime):
    report = check(two_branches(np.random.default_rng(6), [helper.make_node("Relu", ["e"], ["d"])]), tmp_path, runtime)
    assert [layer.kind for layer in report.graph.layers] == ["conv2d", "conv2d", "add"]


def test_relu_after_an_add_runs_as_its_own_kernel(tmp_path, runtime):
    # a ResNet block's Add -> Relu: nothing to fuse the Relu into; TFLite Micro's int8 RELU kernel
    rng = np.random.default_rng(14)
    model = two_branches(rng, [helper.make_node("Relu", ["e"], ["d"])])
    model.graph.node[-1].output[0] = "s"
    model.graph.node.append(helper.make_node("Relu", ["s"], ["y"], name="block_relu"))
    report = check(model, tmp_path, runtime)
    assert [layer.kind for layer in report.graph.layers] == ["conv2d", "conv2d", "add", "relu"]


def test_broadcasting_add_of_two_activations_is_refused(tmp_path):
    # [1, 3, 4, 4] + [1, 3, 1, 1]: the element-wise C kernel would read 45 values past the pooled tensor
    model = two_branches(np.random.default_rng(7), [helper.make_node("GlobalAveragePool", ["e"], ["d"])])
    refused(model, tmp_path, "sum.*broadcasting Add")


def test_flat_to_image_reshape_feeding_a_conv(tmp_path, runtime):
    # Gemm -> [1, 18] -> Reshape [1, 2, 3, 3] -> Conv: the Gemm writes its rows in NHWC order for the conv
    rng = np.random.default_rng(8)
    nodes = [helper.make_node("Gemm", ["x", "wg", "bg"], ["g"], transB=1),
             helper.make_node("Reshape", ["g", "shape"], ["r"]),
             helper.make_node("Conv", ["r", "wc", "bc"], ["y"], pads=[1, 1, 1, 1])]
    model = make_model(nodes, [1, 8], "y", [("wg", weights(rng, 18, 8)), ("bg", weights(rng, 18)),
                                            ("shape", np.array([1, 2, 3, 3], np.int64)),
                                            ("wc", weights(rng, 3, 2, 3, 3)), ("bc", weights(rng, 3))])
    check(model, tmp_path, runtime)


def test_flat_input_reshaped_for_a_conv_is_refused(tmp_path):
    # the caller's flat input is in NCHW order, the conv reads NHWC: there is no layer to permute it in
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("Conv", ["r", "w"], ["y"], name="conv_on_reshape")]
    model = make_model(nodes, [1, 18], "y", [("w", weights(np.random.default_rng(9), 3, 2, 3, 3)),
                                             ("shape", np.array([1, 2, 3, 3], np.int64))])
    refused(model, tmp_path, "conv_on_reshape.*NHWC")


def test_flattened_image_as_the_output_is_refused(tmp_path):
    # Conv -> Flatten as the model output: the C would return the values in NHWC order under an ONNX [1, 75] name
    node = helper.make_node("Flatten", ["c"], ["y"], name="flatten")
    refused(conv_then(node, np.random.default_rng(10), size=5), tmp_path, "output 'y'.*order")


def test_conv_bias_add_broadcast_along_the_width_is_refused(tmp_path):
    # Add of a [3] constant to a [1, 3, 5, 3] conv output broadcasts along the width (ONNX aligns shapes on
    # the right), not the channels: it is no per-channel bias the conv could absorb
    rng = np.random.default_rng(12)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "t"], ["y"], name="width_add")]
    model = make_model(nodes, [1, 2, 5, 3], "y", [("w", weights(rng, 3, 2, 3, 3)), ("t", weights(rng, 3))])
    refused(model, tmp_path, "width_add.*one value per output channel")


def test_conv_bias_add_per_channel_is_fused(tmp_path, runtime):
    rng = np.random.default_rng(13)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Add", ["t", "c"], ["y"])]
    model = make_model(nodes, [1, 2, 5, 3], "y", [("w", weights(rng, 3, 2, 3, 3)), ("t", weights(rng, 3, 1, 1))])
    assert [layer.kind for layer in check(model, tmp_path, runtime).graph.layers] == ["conv2d"]


def test_damaged_onnx_file_is_a_value_error(tmp_path):
    path = tmp_path / "damaged.onnx"
    path.write_bytes(b"\x08\x07\x12\xff\xff\xff\x0f" + bytes(20))  # a length field far past the end
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        export_c(path, tmp_path / "c", calibration=np.zeros((1, 4), np.float32))
