"""export-c refuses what its C cannot run exactly and safely (issue 22), and exports exactly what it can:
one forged field per test, built with tflite_forge from a small valid model, plus the graph-level
checks (validation.py) that hold whatever the front end."""

import numpy as np
import pytest
from random_tflite_models import _Builder
from tflite_forge import ModelSpec, serialize
from tflm_worker import invoke_rows

from edgequant.microcontroller import UnsupportedModelError, export_c, load_graph
from edgequant.microcontroller.host import HostModel

pytest.importorskip("tflite")


def _conv_model(channels=3):
    b = _Builder(np.random.default_rng(3))
    x = b.activation((1, 5, 5, channels))
    y = b.conv(x, keep_shape=True)  # 3x3, SAME, stride 1
    return ModelSpec(b.tensors, b.operators, [x], [y])


def _chain(*steps, vector=False):
    """A valid model: input, then each step (a _Builder method name) applied to the last tensor."""
    b = _Builder(np.random.default_rng(11))
    x = b.activation((1, 6) if vector else (1, 4, 4, 2))
    source = x
    for step in steps:
        x = getattr(b, step)(x) if step != "add" else b.add(x, source)
    return ModelSpec(b.tensors, b.operators, [source], [x])


def _export(spec, tmp_path, name="m"):
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(serialize(spec))
    return path, export_c(path, tmp_path / f"{name}_out")


def _refused(spec, tmp_path, match):
    path = tmp_path / "forged.tflite"
    path.write_bytes(serialize(spec))
    with pytest.raises(ValueError, match=match) as error:
        export_c(path, tmp_path / "forged_out")
    assert "\n" not in str(error.value)  # one line: the CLI prints it after "export-c: error: "
    assert not (tmp_path / "forged_out" / "model.c").exists()
    return str(error.value)


def _tflm(path, inputs):
    runtime = pytest.importorskip("tflite_micro.python.tflite_micro.runtime", reason="tflite-micro not installed")
    return invoke_rows(runtime.Interpreter.from_file(str(path)), inputs)


def _assert_equals_tflm(path, report):
    inputs = np.random.default_rng(0).integers(-128, 128, (8, report.graph.input_activation.size), dtype=np.int8)
    got = HostModel.from_report(report)(inputs)
    assert np.array_equal(got, _tflm(path, inputs))


def test_conv_input_with_more_channels_than_the_filter_is_refused(tmp_path):
    spec = _conv_model()
    spec.tensors[0].shape = [1, 5, 5, 4]  # the filter still has 3 input channels
    _refused(spec, tmp_path, "filter")


def test_bias_shorter_than_the_output_channels_is_refused(tmp_path):
    spec = _conv_model()
    bias = spec.tensors[spec.operators[0].inputs[2]]
    bias.data, bias.shape = bias.data[:1].copy(), [1]
    bias.scale, bias.zero_point = bias.scale[:1], bias.zero_point[:1]
    _refused(spec, tmp_path, "bias has 1 entries")


@pytest.mark.parametrize("steps, vector", [(("softmax",), False), (("fully_connected",), True),
                                            (("reshape",), False), (("add",), False)],
                         ids=["softmax", "fully_connected", "reshape", "add"])
def test_output_tensor_smaller_than_what_the_op_writes_is_refused(tmp_path, steps, vector):
    spec = _residual_add() if "add" in steps else _chain(*steps, vector=vector)
    out = spec.tensors[spec.outputs[0]]
    out.shape = [*out.shape[:-1], out.shape[-1] - 1] if out.shape[-1] > 1 else [*out.shape[:-2], 1, 1]
    _refused(spec, tmp_path, "cannot")


def _residual_add():
    b = _Builder(np.random.default_rng(5))
    x = b.activation((1, 4, 4, 3))
    y = b.conv(x, keep_shape=True)
    z = b.add(x, y)
    return ModelSpec(b.tensors, b.operators, [x], [z])


@pytest.mark.parametrize("dimension", [2**31 - 1, 46341, -490, 0, -1])
def test_huge_zero_or_negative_dimensions_are_refused(tmp_path, dimension):
    spec = _chain("reshape")
    for t in (spec.inputs[0], spec.operators[0].outputs[0]):  # consistent on both sides of the copy
        tensor = spec.tensors[t]
        tensor.shape = [1, dimension, dimension, 1]  # (a product of two negative dimensions is positive)
    _refused(spec, tmp_path, "shape|values|cannot")


@pytest.mark.parametrize("zero_point", [2**31 - 1, -(2**31), 128, 2**40])
def test_zero_points_outside_int8_are_refused(tmp_path, zero_point):
    spec = _conv_model()
    spec.tensors[spec.inputs[0]].zero_point = [zero_point]
    _refused(spec, tmp_path, "zero point")


@pytest.mark.parametrize("key", ["stride_h", "dilation_w"])
def test_strides_near_two_to_the_31_are_refused(tmp_path, key):
    spec = _conv_model()
    spec.operators[0].options[key] = 2**31 - 1
    _refused(spec, tmp_path, "output is|overflow|stride")


def test_average_pool_with_an_empty_window_is_refused(tmp_path):
    """An empty window can only be forged after TFLite's shape rule (the front end checks it): validation.py
    refuses it on the graph, whatever built it."""
    from edgequant.microcontroller.validation import validate_graph

    b = _Builder(np.random.default_rng(1))
    x = b.activation((1, 4, 4, 2))
    y = b.pool(x, "AVERAGE_POOL_2D")
    spec = ModelSpec(b.tensors, b.operators, [x], [y])
    path, report = _export(spec, tmp_path)
    graph = report.graph
    params = graph.layers[0].params
    params.update(filter_height=1, filter_width=1, stride_height=1, stride_width=1, padding_top=2,
                  output_height=params["input_height"] + 4)
    graph.activations[graph.layers[0].output].shape = (1, params["output_height"], params["output_width"],
                                                       params["output_channels"])
    with pytest.raises(UnsupportedModelError, match="empty window"):
        validate_graph(graph)


def test_add_with_a_constant_operand_equals_tflite_micro(tmp_path):
    for seed in range(4):  # the constant first and second
        b = _Builder(np.random.default_rng(seed))
        x = b.activation((1, 3, 3, 2))
        y = b.add(x, None)
        spec = ModelSpec(b.tensors, b.operators, [x], [y])
        path, report = _export(spec, tmp_path, f"add{seed}")
        assert len(report.graph.layers[0].inputs) == 1 and report.graph.layers[0].constants
        _assert_equals_tflm(path, report)


def test_operators_out_of_order_are_refused(tmp_path):
    spec = _chain("conv", "softmax")
    spec.operators.reverse()
    _refused(spec, tmp_path, "no earlier layer wrote")


def test_reading_a_tensor_nothing_writes_is_refused(tmp_path):
    spec = _chain("conv", "softmax")
    orphan = spec.tensors[spec.operators[1].inputs[0]]
    spec.tensors.append(type(orphan)("orphan", list(orphan.shape), "INT8", list(orphan.scale),
                                     list(orphan.zero_point)))
    spec.operators[1].inputs = [len(spec.tensors) - 1]
    _refused(spec, tmp_path, "no earlier layer wrote")


@pytest.mark.parametrize("codes", ["builtin", "deprecated"])
def test_opcodes_in_either_field_are_read(tmp_path, codes):
    spec = _chain("conv", "softmax")
    for op in spec.operators:
        op.codes = codes
    path, report = _export(spec, tmp_path)
    assert [layer.kind for layer in report.graph.layers] == ["conv2d", "softmax"]
    _assert_equals_tflm(path, report)


def test_one_layer_model_compiles(tmp_path):
    """Input and output are the caller's buffers: no arena, and no unused-variable error under -Werror."""
    path, report = _export(_chain("softmax"), tmp_path)
    assert "edgequant_arena" not in (report.directory / "model.c").read_text()
    _assert_equals_tflm(path, report)


@pytest.mark.parametrize("forge", ["input_index_out_of_range", "input_index_minus_one", "no_conv_options",
                                   "options_of_another_op", "truncated"])
def test_corrupt_files_raise_value_error(tmp_path, forge):
    spec = _conv_model()
    op = spec.operators[0]
    if forge == "input_index_out_of_range":
        op.inputs = [10**6, *op.inputs[1:]]
    elif forge == "input_index_minus_one":
        op.inputs = [-1, *op.inputs[1:]]
    elif forge == "no_conv_options":
        op.options = {}
    elif forge == "options_of_another_op":
        op.options_type = 9  # SoftmaxOptions
    path = tmp_path / "corrupt.tflite"
    data = serialize(spec)
    path.write_bytes(data[: len(data) // 2] if forge == "truncated" else data)
    with pytest.raises(ValueError):
        export_c(path, tmp_path / "out")


def test_sparse_tensor_is_named(tmp_path):
    spec = _conv_model()
    spec.tensors[spec.operators[0].inputs[1]].sparse = True
    _refused(spec, tmp_path, "sparse")


def test_float_model_message_is_short(tflite_dir, tmp_path):
    with pytest.raises(ValueError, match="this is a float model") as error:
        export_c(tflite_dir / "vww_96_float.tflite", tmp_path)
    assert len(str(error.value)) < 200 and "\n" not in str(error.value)


def test_graph_checks_hold_whatever_the_front_end(tmp_path):
    """validation.py runs on the lowered graph: a graph damaged after lowering is refused too."""
    path = tmp_path / "m.tflite"
    path.write_bytes(serialize(_conv_model()))
    graph = load_graph(path)
    graph.layers[0].constants["bias"] = graph.layers[0].constants["bias"][:1]
    with pytest.raises(UnsupportedModelError, match="bias has 1 entries"):
        export_c(graph, tmp_path / "out")
    graph = load_graph(path)
    graph.layers[0].params["output_channels"] += 1
    with pytest.raises(UnsupportedModelError, match="output is"):
        export_c(graph, tmp_path / "out")
    graph = load_graph(path)
    graph.activations[graph.input].zero_point = 2**31 - 1
    with pytest.raises(UnsupportedModelError, match="zero point"):
        export_c(graph, tmp_path / "out")


def test_many_problems_make_one_short_line(tflite_dir):
    from mcu_models import MLPERF_TINY

    from edgequant.microcontroller.tflite_frontend import from_tflite
    from edgequant.tflite import read_tflite

    model = read_tflite(tflite_dir / MLPERF_TINY["kws"])
    for op in model.operators:
        op.kind = "TANH"
    with pytest.raises(UnsupportedModelError, match=r"operator 0 TANH .*\.\.\. and \d+ more$") as error:
        from_tflite(model)
    assert "\n" not in str(error.value) and len(str(error.value)) < 600


@pytest.mark.parametrize("codes", ["both", "builtin"])
def test_opcodes_past_127_are_named(tmp_path, codes):
    """Codes over 127 live only in builtin_code (the byte holds 127, or 0): the message names the operator."""
    spec = _chain("softmax")
    spec.operators[0].kind, spec.operators[0].codes = "BUCKETIZE", codes
    _refused(spec, tmp_path, "operator 0 BUCKETIZE")


@pytest.mark.parametrize("input_scale", [40.0, 1000.0])  # beta is 0.5, 1 or 2
def test_softmax_of_a_coarse_input_equals_tflite_micro(tmp_path, input_scale):
    """beta x input scale >= 16 gives TFLite's softmax shift 31 (only each row's maximum counts); it used to be
    refused as a multiplier too large for int32."""
    spec = _chain("softmax")
    spec.tensors[spec.inputs[0]].scale = [input_scale]
    path, report = _export(spec, tmp_path)
    assert report.graph.layers[0].params["input_left_shift"] == 31
    _assert_equals_tflm(path, report)


def _depthwise_model():
    b = _Builder(np.random.default_rng(4))
    x = b.activation((1, 5, 5, 2))
    y = b.conv(x, depthwise=True, keep_shape=True)
    return ModelSpec(b.tensors, b.operators, [x], [y])


@pytest.mark.parametrize("multiplier", [0, 2, 2**31 - 1])
def test_depth_multiplier_that_disagrees_with_the_shapes_is_refused(tmp_path, multiplier):
    """TFLite Micro computes with the option as written (0: nothing), the old export with the shapes."""
    spec = _depthwise_model()
    spec.operators[0].options["depth_multiplier"] = multiplier
    _refused(spec, tmp_path, "depth multiplier")


def test_filter_of_the_right_size_but_wrong_layout_is_refused(tmp_path):
    """[1, 1, 1, 2] holds as many values as [2, 1, 1, 1] but is 1 output channel of 2 inputs."""
    b = _Builder(np.random.default_rng(6))
    x = b.activation((1, 4, 4, 1))
    b.rng = np.random.default_rng(6)
    y = b.conv(x)
    spec = ModelSpec(b.tensors, b.operators, [x], [y])
    filt = spec.tensors[spec.operators[0].inputs[1]]
    out_channels, kh, kw, _ = filt.shape
    filt.shape = [1, kh, kw, out_channels]
    filt.data = filt.data.reshape(filt.shape)
    filt.scale, filt.zero_point = filt.scale[:1], [0]
    bias = spec.tensors[spec.operators[0].inputs[2]]
    bias.scale, bias.zero_point = [spec.tensors[x].scale[0] * filt.scale[0]], [0]
    _refused(spec, tmp_path, "the filter is .* OHWI")


def test_dilation_past_int16_is_refused(tmp_path):
    """TFLite keeps strides and dilations in int16: 65536 would be 0 there."""
    spec = _depthwise_model()
    spec.operators[0].options["dilation_w"] = 65536
    _refused(spec, tmp_path, "dilation")


def test_arena_past_32_bit_offsets_is_refused(tmp_path):
    """Every tensor fits int32 indexing, but two alive at once need a 4.3 GB arena: refused, nothing written."""
    b = _Builder(np.random.default_rng(2))
    x = b.activation((1, 46340, 46340, 1))
    y = x
    for _ in range(3):
        y = b.pool(y, "MAX_POOL_2D", keep_shape=True)
    _refused(ModelSpec(b.tensors, b.operators, [x], [y]), tmp_path, "arena needs 4,29")
