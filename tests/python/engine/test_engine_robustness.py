"""Issue 9's crashes and silent failures, each a regression test: malformed arities, SIGFPE,
non-UTF-8 names, quadratic construction, NaN inputs, non-tensor outputs, unsupported ops."""

import time

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgequant import Engine, zoo

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, initializers=(), opset=17, extra_opsets=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset), *[helper.make_opsetid(d, v) for d, v in extra_opsets]]
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def _vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


# --- outputs an op does not compute ----------------------------------------------------------
def test_relu_with_two_outputs_read_later_is_refused():
    model = _model([helper.make_node("Relu", ["x"], ["a", "b"], name="r"), helper.make_node("Sigmoid", ["b"], ["y"])],
                   [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    with pytest.raises(ValueError, match=r"Relu node 'r': output 1 \('b'\) is read"):
        Engine(model)


def test_dropout_mask_as_graph_output_is_refused():
    model = _model([helper.make_node("Dropout", ["x"], ["y", "mask"], name="d")],
                   [_vi("x", [1, 4])], [_vi("y", [1, 4]), _vi("mask", [1, 4])])
    with pytest.raises(ValueError, match="Dropout node 'd': output 1 .*mask"):
        Engine(model)


def test_unread_extra_output_is_ignored():
    model = _model([helper.make_node("Dropout", ["x"], ["y", "mask"])], [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    np.testing.assert_array_equal(Engine(model).run(x)[0], x)


# --- graph passes on nodes with too few inputs ------------------------------------------------
@pytest.mark.parametrize("conv_inputs", [["x"], []])  # [] crashed main reliably (a null vector read)
def test_conv_without_weights_before_batch_norm(conv_inputs):
    bn = [numpy_helper.from_array(np.ones(2, np.float32), n) for n in ("s", "b", "m", "v")]
    model = _model([helper.make_node("Conv", conv_inputs, ["c"], name="conv"),
                    helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])],
                   [_vi("x", [1, 2, 4, 4])], [_vi("y", [1, 2, 4, 4])], bn)
    with pytest.raises(ValueError, match="Conv node 'conv'"):
        Engine(model)


@pytest.mark.parametrize("matmul_inputs", [["x"], []])
def test_one_input_matmul_before_relu(matmul_inputs):
    model = _model([helper.make_node("MatMul", matmul_inputs, ["m"], name="mm"),
                    helper.make_node("Relu", ["m"], ["y"])],
                   [_vi("x", [2, 2])], [_vi("y", [2, 2])])
    with pytest.raises(ValueError, match="MatMul node 'mm'"):
        Engine(model)


def test_sigmoid_without_input_in_a_silu_pattern():
    w = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
    model = _model([helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Sigmoid", [], ["s"], name="sig"),
                    helper.make_node("Mul", ["c", "s"], ["y"])],
                   [_vi("x", [1, 2, 2, 2])], [_vi("y", [1, 2, 2, 2])], [w])
    with pytest.raises(ValueError, match="Sigmoid node 'sig'"):
        Engine(model)


# --- SIGFPE -------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["fp32", "dynamic"])
def test_conv_with_zero_output_channels(mode):
    w = numpy_helper.from_array(np.zeros((0, 2, 1, 1), np.float32), "w")
    model = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="empty")],
                   [_vi("x", [1, 2, 2, 2])], [_vi("y", [1, 0, 2, 2])], [w])
    with pytest.raises(ValueError, match="Conv node 'empty'.*no output"):
        Engine(model, mode=mode)


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_flatten_of_an_empty_batch_keeps_its_width(axis):
    """A batch of 0 through Flatten -> Gemm (a classifier's head): [0, C·H·W], as ONNX Runtime gives, not
    [0, 1] and a Gemm that refuses it."""
    x = np.zeros((0, 3, 2, 2), np.float32)
    model = _model([helper.make_node("Flatten", ["x"], ["y"], axis=axis)], [_vi("x", [None, 3, 2, 2])],
                   [_vi("y", None)])
    (y,) = Engine(model).run(x)
    assert y.shape == {1: (0, 12), 2: (0, 4), -1: (0, 2)}[axis]


def test_a_classifier_runs_an_empty_batch():
    from edgequant.zoo import architectures

    resnet = architectures.build("resnet18", input_size=32)
    (logits,) = Engine(resnet.SerializeToString(), threads=1).run(np.zeros((0, 3, 32, 32), np.float32))
    assert logits.shape == (0, 1000)


def test_int64_div_of_min_by_minus_one_wraps():
    i64 = TensorProto.INT64
    model = _model([helper.make_node("Div", ["a", "b"], ["y"])], [_vi("a", [3], i64), _vi("b", [3], i64)],
                   [_vi("y", [3], i64)])
    low = np.iinfo(np.int64).min
    a = np.array([low, 7, -7], np.int64)
    (y,) = Engine(model).run([a, np.array([-1, 0, 2], np.int64)])
    np.testing.assert_array_equal(y, [low, 0, -3])  # wraps; x / 0 = 0; C++ truncation toward zero


# --- names that are not UTF-8 -------------------------------------------------------------------
@pytest.mark.parametrize("where", ["node", "value", "input"])
def test_invalid_utf8_names_raise_edgequant_error(where):
    names = {"node": ("NODENAME", "x", "y"), "value": ("n", "x", "VALUENAM"), "input": ("n", "INPUTNAM", "y")}[where]
    node, x, y = names
    model = _model([helper.make_node("Relu", [x], [y], name=node)], [_vi(x, [1])], [_vi(y, [1])])
    marker = next(n for n in names if len(n) == 8).encode()
    broken = model.replace(marker, b"\xff\xfe" + marker[2:])
    assert broken != model
    with pytest.raises(ValueError, match="not valid UTF-8"):
        Engine(broken)


# --- construction time --------------------------------------------------------------------------
def test_building_is_linear_in_node_count():
    """40,000 Relus listed in reverse topological order took 53 s to build (quadratic sort and
    passes); linear now: well under a few seconds."""
    n = 40_000
    nodes = [helper.make_node("Relu", [f"v{k}"], [f"v{k + 1}"]) for k in range(n)][::-1]
    model = _model(nodes, [_vi("v0", [1, 4])], [_vi(f"v{n}", [1, 4])])
    start = time.perf_counter()
    engine = Engine(model)
    assert time.perf_counter() - start < 8
    x = np.array([[-1, 0, 1, 2]], np.float32)
    np.testing.assert_array_equal(engine.run(x)[0], np.maximum(x, 0))


# --- NaN / Inf ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, -np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", ["fp32", "dynamic"])
def test_non_finite_inputs_are_refused(bad, mode):
    x = zoo.load_test_set()[0][:4].copy()
    engine = Engine(zoo.model_path(), mode=mode)
    x[2, 0, 3, 3] = bad
    with pytest.raises(ValueError, match="refuses non-finite inputs"):
        engine.run(x)
    with pytest.raises(ValueError, match="NaN|Inf"):
        engine.run(np.full_like(x, np.nan))
    assert np.isfinite(engine.run(x[:2])[0]).all()  # the engine still runs


def test_the_largest_finite_inputs_are_not_refused():
    """The scan tests the exponent bits past the sign: ±FLT_MAX and subnormals are finite."""
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, 6])], [_vi("y", [1, 6])])
    tiny = np.finfo(np.float32).smallest_subnormal
    x = np.array([[np.finfo(np.float32).max, -np.finfo(np.float32).max, tiny, -tiny, -0.0, 1.0]], np.float32)
    np.testing.assert_array_equal(Engine(model).run(x)[0], np.maximum(x, 0))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_calibration_data_is_refused(bad):
    x = zoo.load_test_set()[0][:16].copy()
    x[5, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="calibration input .* NaN or Inf"):
        Engine(zoo.model_path(), mode="static", calibration=x)


# --- outputs that are not tensors; choosing outputs ----------------------------------------------
def _zipmap_output():
    """A graph output typed as ZipMap's: a sequence of maps int64 -> float."""
    zipped = helper.make_tensor_value_info("zipped", F, None)
    value = helper.make_tensor_type_proto(F, [])
    zipped.type.CopyFrom(helper.make_sequence_type_proto(helper.make_map_type_proto(TensorProto.INT64, value)))
    return zipped


def _classifier_with_zipmap():
    w = numpy_helper.from_array(np.eye(3, dtype=np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["scores"]), helper.make_node("Relu", ["scores"], ["probs"]),
             helper.make_node("ZipMap", ["probs"], ["zipped"], domain="ai.onnx.ml", classlabels_int64s=[0, 1, 2])]
    zipped = _zipmap_output()
    return _model(nodes, [_vi("x", [1, 3])], [_vi("probs", [1, 3]), zipped], [w], extra_opsets=[("ai.onnx.ml", 1)])


def test_non_tensor_outputs_are_left_out_with_a_warning():
    with pytest.warns(UserWarning, match="'zipped' is not a tensor"):
        engine = Engine(_classifier_with_zipmap())
    assert engine.output_names == ["probs"]
    x = np.array([[1, -2, 3]], np.float32)
    np.testing.assert_array_equal(engine.run(x)[0], np.maximum(x, 0))


def test_outputs_choose_any_value():
    engine = Engine(_classifier_with_zipmap(), outputs=["scores", "probs"])
    assert engine.output_names == ["scores", "probs"]
    x = np.array([[1, -2, 3]], np.float32)
    scores, probs = engine.run(x)
    np.testing.assert_array_equal(scores, x)
    np.testing.assert_array_equal(probs, np.maximum(x, 0))
    with pytest.raises(ValueError, match="'nothing' is not a value"):
        Engine(_classifier_with_zipmap(), outputs=["nothing"])
    with pytest.raises(TypeError):
        Engine(_classifier_with_zipmap(), outputs="scores")


def test_only_a_zipmap_output_asks_for_outputs():
    nodes = [helper.make_node("ZipMap", ["x"], ["zipped"], domain="ai.onnx.ml", classlabels_int64s=[0])]
    zipped = _zipmap_output()
    with pytest.raises(ValueError, match="no tensor outputs.*outputs="):
        Engine(_model(nodes, [_vi("x", [1, 1])], [zipped], extra_opsets=[("ai.onnx.ml", 1)]))


def test_every_unsupported_op_in_one_error():
    nodes = [helper.make_node("Mish", ["x"], ["a"], name="e1"), helper.make_node("Mish", ["a"], ["b"], name="e2"),
             helper.make_node("Cos", ["b"], ["c"], name="cos"),
             helper.make_node("Relu", ["c"], ["y"], name="custom", domain="com.example")]
    model = _model(nodes, [_vi("x", [1])], [_vi("y", [1])], extra_opsets=[("com.example", 1)])
    with pytest.raises(ValueError) as error:
        Engine(model)
    message = str(error.value)
    assert "3 unsupported op type(s)" in message
    assert "'Mish' (nodes 'e1', 'e2')" in message and "'Cos' (node 'cos')" in message
    assert "'Relu' of domain 'com.example'" in message and "Supported: " in message


# --- calibrate() on a static engine runs INT8 ----------------------------------------------------
def test_recalibrating_a_static_engine_keeps_int8():
    x = zoo.load_test_set()[0][:256]
    fp32 = Engine(zoo.model_path())
    (reference,) = fp32.run(x)
    engine = Engine(zoo.model_path(), mode="static", calibration=x[:64], keep_float_weights=True)
    engine.calibrate(x[64:128])
    assert engine.mode == "static"
    precisions = {op: p for _, op, p in engine.plan() if op in ("Conv", "Gemm", "MatMul")}
    assert precisions and set(precisions.values()) == {"int8_static"}
    (int8,) = engine.run(x)
    # Quantization noise: not FP32's outputs, yet close to them.
    difference = np.abs(int8 - reference)
    assert difference.max() > 1e-4
    assert difference.max() < 0.1 * np.abs(reference).max()
    assert (int8.argmax(1) == reference.argmax(1)).mean() > 0.97


@pytest.mark.parametrize("mode", ["fp32", "static", "dynamic"])
def test_plan_reports_each_modes_kernels(mode):
    x = zoo.load_test_set()[0][:32]
    engine = Engine(zoo.model_path(), mode=mode, calibration=x if mode == "static" else None)
    expected = {"fp32": "f32", "static": "int8_static", "dynamic": "int8_dynamic"}[mode]
    quantizable = [p for _, op, p in engine.plan() if op in ("Conv", "Gemm")]
    assert quantizable and set(quantizable) == {expected}
    assert {p for _, op, p in engine.plan() if op not in ("Conv", "Gemm", "MatMul")} <= {"f32"}
