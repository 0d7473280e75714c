"""to_qdq: int weights + DequantizeLinear that ORT runs, dequantizing to Affine's reconstruction."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import zoo
from edgequant.mixed_precision.quantization import quantize_weight, quantize_weight_codes
from edgequant.model import to_qdq
from edgequant.model.qdq import QDQ_INT16_OPSET, WeightFormat, layers_to_qdq
from edgequant.quantizers import Affine


def dequantized_weights(model: onnx.ModelProto, names, x) -> dict:
    """Run ``model`` in ORT with the weight tensors exposed as extra graph outputs."""
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    exposed.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    session = ort.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"])
    values = session.run(list(names), {"input": x})
    return dict(zip(names, values, strict=True))


@pytest.mark.parametrize(("bits", "per_channel", "symmetric"), [(8, True, True), (4, False, True), (6, True, False)])
def test_dequantized_weights_equal_affine_reconstruction(bits, per_channel, symmetric):
    original = onnx.load(zoo.model_path())
    weights = {i.name: numpy_helper.to_array(i) for i in original.graph.initializer}
    qdq = to_qdq(original, bits=bits, per_channel=per_channel, symmetric=symmetric)
    names = ["0.weight", "3.weight", "9.weight"]
    stored = {i.name: i for i in qdq.graph.initializer}
    assert all(stored[f"{n}_quantized"].data_type == TensorProto.INT8 for n in names)
    assert not set(names) & set(stored)  # the float weights are gone
    x, y = zoo.load_test_set()
    got = dequantized_weights(qdq, names, x[:2])
    for name in names:  # Conv [M, C, kH, kW] and Gemm transB=1 [N, K]: output channels on axis 0
        affine = Affine(bits=bits, symmetric=symmetric, axis=0 if per_channel else None)
        np.testing.assert_array_equal(got[name], affine(weights[name]))
    session = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"])
    accuracy = np.mean(session.run(None, {"input": x})[0].argmax(1) == y)
    assert accuracy > 0.95


def test_gemm_without_transpose_uses_axis_1_and_fp16_is_cast_back(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 5)).astype(np.float16)  # [K, N]: output channels on axis 1
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["N", 5])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    qdq = to_qdq(model, bits=8, path=tmp_path / "g.onnx")
    dq = next(n for n in qdq.graph.node if n.op_type == "DequantizeLinear")
    assert helper.get_attribute_value(dq.attribute[0]) == 1
    assert [n.op_type for n in qdq.graph.node] == ["DequantizeLinear", "Cast", "Gemm"]
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    x = np.eye(6, dtype=np.float16)
    expected = Affine(bits=8, axis=1)(w.astype(np.float32)).astype(np.float16)
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], expected)


def test_old_opset_is_refused_with_the_fix():
    model = onnx.load(zoo.model_path())
    model.opset_import[0].version = 11
    with pytest.raises(ValueError, match="opset 11.*needs opset 13.*version_converter"):
        to_qdq(model, per_channel=True)
    with pytest.raises(ValueError, match="bits must be in"):
        to_qdq(zoo.model_path(), bits=1)


#: (op, weight shape, attributes, output-channel axis per the ONNX operator definitions).
CHANNEL_AXIS_CASES = [
    ("Conv", (4, 3, 3, 3), {}, 0),  # W [M, C/group, kH, kW]
    ("ConvTranspose", (3, 4, 3, 3), {}, 1),  # W [C, M/group, kH, kW]
    ("Gemm", (3, 4), {}, 1),  # B [K, N]
    ("Gemm", (4, 3), {"transB": 1}, 0),  # B [N, K]
    ("MatMul", (3, 4), {}, 1),  # B [K, N]
    ("MatMul", (2, 3, 4), {}, 2),  # B [batch, K, N]: the last axis, not 1
]


def _one_op_model(op, shape, attributes, opset=13):
    rng = np.random.default_rng(3)
    w = rng.standard_normal(shape).astype(np.float32) * rng.uniform(0.1, 3.0, shape[-1]).astype(np.float32)
    x_shape = {"Conv": [1, 3, 5, 5], "ConvTranspose": [1, 3, 5, 5], "MatMul": [2, 2, 3]}.get(op, [2, 3])
    graph = helper.make_graph(
        [helper.make_node(op, ["x", "w"], ["y"], name="layer", **attributes)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), w, x_shape


@pytest.mark.parametrize("writer", ["to_qdq", "layers_to_qdq"])
@pytest.mark.parametrize(("op", "shape", "attributes", "axis"), CHANNEL_AXIS_CASES)
def test_per_channel_scales_lie_on_the_output_channel_axis(op, shape, attributes, axis, writer):
    model, w, x_shape = _one_op_model(op, shape, attributes)
    qdq = to_qdq(model) if writer == "to_qdq" else layers_to_qdq(model, ["layer"])
    dq = next(n for n in qdq.graph.node if n.op_type == "DequantizeLinear")
    assert helper.get_attribute_value(dq.attribute[0]) == axis
    scale = next(numpy_helper.to_array(i) for i in qdq.graph.initializer if i.name == dq.input[1])
    others = tuple(a for a in range(w.ndim) if a != axis)
    affine = Affine(bits=8, axis=axis)
    affine.encode(w)
    assert scale.shape == (w.shape[axis],)
    np.testing.assert_array_equal(scale, np.asarray(affine.scale, np.float32).reshape(-1))
    np.testing.assert_allclose(scale, 2 * np.abs(w).max(axis=others) / 255, rtol=1e-6)  # Δ = 2·xmax/(2^b − 1)
    x = np.random.default_rng(4).standard_normal(x_shape).astype(np.float32)
    expected = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    got = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(got[0], expected[0], atol=0.02 * np.abs(expected[0]).max())


@pytest.mark.parametrize(("op", "shape", "attributes", "axis"), CHANNEL_AXIS_CASES)
def test_the_engine_grid_stores_the_engines_own_codes_on_the_channel_axis(op, shape, attributes, axis):
    from edgequant._engine import quantize_int8_weights

    model, w, _ = _one_op_model(op, shape, attributes)
    for bits in (8, 7):
        qdq = layers_to_qdq(model, ["layer"], weight_format=WeightFormat(bits=bits, grid="engine"))
        stored = {i.name: numpy_helper.to_array(i) for i in qdq.graph.initializer}
        rows = np.moveaxis(w, axis, 0)
        codes, scales = quantize_int8_weights(rows.reshape(rows.shape[0], -1), bits)
        np.testing.assert_array_equal(stored["w_quantized"], np.moveaxis(codes.reshape(rows.shape), 0, axis))
        np.testing.assert_array_equal(stored["w_scale"], scales)
        others = tuple(a for a in range(w.ndim) if a != axis)
        np.testing.assert_allclose(stored["w_scale"], np.abs(w).max(axis=others) / (2 ** (bits - 1) - 1), rtol=1e-6)
        assert np.abs(stored["w_quantized"]).max() == 2 ** (bits - 1) - 1  # [-127, 127] / [-63, 63], nothing clipped


@pytest.mark.parametrize("fields", [dict(grid="nope"), dict(grid="engine", bits=4),
                                    dict(grid="engine", symmetric=False), dict(grid="engine", bits=(8, 8))])
def test_bad_weight_grids_are_refused(fields):
    with pytest.raises(ValueError, match="grid"):
        WeightFormat(**fields)


def test_overrides_set_one_tensors_format():
    original = onnx.load(zoo.model_path())
    qdq = to_qdq(original, overrides={"3.weight": WeightFormat(bits=4, per_channel=False)})
    weights = {i.name: numpy_helper.to_array(i) for i in original.graph.initializer}
    stored = {i.name: numpy_helper.to_array(i) for i in qdq.graph.initializer}
    np.testing.assert_array_equal(stored["3.weight_quantized"], Affine(bits=4).encode(weights["3.weight"]))
    np.testing.assert_array_equal(stored["0.weight_quantized"], Affine(bits=8, axis=0).encode(weights["0.weight"]))
    assert stored["3.weight_scale"].shape == () and stored["0.weight_scale"].shape == (weights["0.weight"].shape[0],)
    with pytest.raises(ValueError, match="not quantized here.*'nope'"):
        to_qdq(original, overrides={"nope": WeightFormat()})
    with pytest.raises(ValueError, match="16-bit.*needs opset 21"):
        to_qdq(original, overrides={"3.weight": WeightFormat(bits=16)})
    with pytest.raises(ValueError, match="bits must be in"):
        WeightFormat(bits=17)


#: The cases above with 8 output channels: more channels than distinct widths, so widths repeat.
WIDE_CHANNEL_CASES = [(op, tuple(8 if a == axis else n for a, n in enumerate(shape)), attributes, axis)
                      for op, shape, attributes, axis in CHANNEL_AXIS_CASES]


def _with_hard_channels(w, axis):
    """``w`` with an all-zero channel, a constant one and one whose values sit on rounding ties."""
    w = np.moveaxis(w.copy(), axis, 0)
    w[0] = 0.0
    w[1] = -0.75
    w[2] = np.resize(np.array([1.0, -1.0, 0.5, -0.5, 0.25, 0.0], np.float32), w[2].shape)
    return np.moveaxis(w, 0, axis)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize(("op", "shape", "attributes", "axis"), WIDE_CHANNEL_CASES)
def test_per_channel_widths_give_the_mixed_precision_reference_codes(op, shape, attributes, axis, wide, symmetric):
    model, _, x_shape = _one_op_model(op, shape, attributes, opset=QDQ_INT16_OPSET if wide else 13)
    w = _with_hard_channels(numpy_helper.to_array(model.graph.initializer[0]), axis)
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(w, "w"))
    choices = [2, 12, 5, 16, 8, 3] if wide else [2, 8, 5, 3, 4, 7]
    widths = [choices[k % len(choices)] for k in range(w.shape[axis])]
    qdq = to_qdq(model, overrides={"w": WeightFormat(bits=widths, symmetric=symmetric)})
    stored = {i.name: numpy_helper.to_array(i) for i in qdq.graph.initializer}
    codes, scales, zero_points = quantize_weight_codes(w, widths, axis, symmetric)
    assert stored["w_quantized"].dtype == (np.int16 if wide else np.int8)
    np.testing.assert_array_equal(stored["w_quantized"], codes)
    np.testing.assert_array_equal(stored["w_scale"], scales.astype(np.float32))
    np.testing.assert_array_equal(stored["w_zero_point"], zero_points)
    for channel, bits in enumerate(widths):  # each channel on its own grid, not the widest one
        assert np.abs(np.take(codes, channel, axis=axis)).max() <= 2 ** (bits - 1)
    exposed = onnx.ModelProto()
    exposed.CopyFrom(qdq)
    exposed.graph.output.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    dequantized = ort.InferenceSession(exposed.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = np.zeros(x_shape, np.float32)
    np.testing.assert_array_equal(dequantized.run(["w"], {"x": x})[0], quantize_weight(w, widths, axis, symmetric))


def test_equal_per_channel_widths_equal_one_width():
    model, _, _ = _one_op_model("Conv", (4, 3, 3, 3), {})
    one = to_qdq(model, bits=4)
    listed = to_qdq(model, overrides={"w": WeightFormat(bits=[4, 4, 4, 4])})
    assert one.SerializeToString() == listed.SerializeToString()


def test_per_channel_widths_are_checked():
    model, _, _ = _one_op_model("Conv", (4, 3, 3, 3), {})
    with pytest.raises(ValueError, match="has 4 output channels.*gives 3 bit widths"):
        to_qdq(model, overrides={"w": WeightFormat(bits=(2, 4, 8))})
    with pytest.raises(ValueError, match="12-bit.*needs opset 21"):
        to_qdq(model, overrides={"w": WeightFormat(bits=(2, 4, 8, 12))})
    with pytest.raises(ValueError, match="needs per_channel=True"):
        WeightFormat(bits=(4, 4), per_channel=False)
    with pytest.raises(ValueError, match="non-empty"):
        WeightFormat(bits=())
    with pytest.raises(ValueError, match="bits must be in"):
        WeightFormat(bits=(4, 17))
    with pytest.raises(TypeError, match="bits must be an integer"):
        WeightFormat(bits=(4, 2.5))
    assert WeightFormat(bits=np.array([4, 8])).bits == (4, 8) and hash(WeightFormat(bits=[4, 8]))
    # a weight read by MatMul ([K, N]: axis 1) and by Gemm with transB ([N, K]: axis 0) has no one axis
    w = np.ones((3, 3), np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["a"]), helper.make_node("Gemm", ["x", "w"], ["b"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in "ab"],
        initializer=[numpy_helper.from_array(w, "w")])
    shared = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ValueError, match="'w' has no output-channel axis"):
        to_qdq(shared, overrides={"w": WeightFormat(bits=(4, 4, 4))})


def test_tensors_limits_what_is_quantized():
    qdq = to_qdq(zoo.model_path(), tensors=["3.weight"])
    stored = {i.name for i in qdq.graph.initializer}
    assert "3.weight_quantized" in stored and {"0.weight", "9.weight"} <= stored


@pytest.mark.parametrize("grid", [(float("nan"), 0), (-0.1, 0), (0.0, 0), (0.1, 256), (0.1, -1), (0.1, 2.5)])
@pytest.mark.parametrize("argument", ["input_quantization", "integer_tensors"])
def test_activation_grids_are_checked(grid, argument):
    model = zoo.model_path()
    first = next(n for n in onnx.load(str(model)).graph.node if n.op_type == "Conv")
    with pytest.raises(ValueError, match=rf"{argument}\['{first.input[0]}'\]: a u8 grid"):
        layers_to_qdq(model, [first.name], **{argument: {first.input[0]: grid}})
