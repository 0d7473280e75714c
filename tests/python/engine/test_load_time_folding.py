"""Shape subgraphs fold away at load; their ops also run when they cannot; If; one error for every
unsupported op (issue #21)."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

SHAPE_OPS = {"Shape", "Gather", "Cast", "ConstantOfShape", "Range", "Equal", "Where", "Expand", "Concat",
             "Unsqueeze", "Size", "Not", "If"}


def _model(nodes, inputs, outputs, initializers=(), opset=17) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _float_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _int_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.INT64, shape)


def _shape_subgraph_model(dims) -> bytes:
    """x [batch, 3, 4] -> Reshape to [batch, -1] with the target computed by a shape subgraph, plus a
    bias Expand-ed to [batch, 12]: Shape -> Gather -> Cast -> Size / ConstantOfShape / Range /
    Equal / Where / Expand, as exporters write `x.view(x.size(0), -1)`."""
    value = helper.make_tensor("v", TensorProto.FLOAT, [1], [-1.0])
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["d0"], axis=0),
        helper.make_node("Cast", ["d0"], ["d0f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["d0f"], ["d0i"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["d0i", "axes0"], ["batch"]),
        helper.make_node("Concat", ["batch", "minus_one"], ["wanted"], axis=0),
        helper.make_node("ConstantOfShape", ["two"], ["fill_f"], value=value),
        helper.make_node("Cast", ["fill_f"], ["fill"], to=TensorProto.INT64),
        helper.make_node("Size", ["wanted"], ["rank"]),
        helper.make_node("Range", ["zero", "rank", "one"], ["positions"]),
        helper.make_node("Equal", ["positions", "zero_one"], ["keep"]),
        helper.make_node("Where", ["keep", "wanted", "fill"], ["target"]),
        helper.make_node("Reshape", ["x", "target"], ["flat"]),
        helper.make_node("Concat", ["batch", "twelve"], ["bias_shape"], axis=0),
        helper.make_node("Expand", ["bias", "bias_shape"], ["bias_rows"]),
        helper.make_node("Add", ["flat", "bias_rows"], ["y"]),
    ]
    inits = [_const("zero", np.int64(0)), _const("one", np.int64(1)), _const("axes0", np.array([0], np.int64)),
             _const("minus_one", np.array([-1], np.int64)), _const("two", np.array([2], np.int64)),
             _const("zero_one", np.array([0, 1], np.int64)), _const("twelve", np.array([12], np.int64)),
             _const("bias", np.arange(12, dtype=np.float32).reshape(1, 12))]
    return _model(nodes, [_float_info("x", dims)], [_float_info("y", None)], inits)


def test_shape_subgraph_folds_away_and_matches_onnx_runtime():
    model = _shape_subgraph_model([2, 3, 4])
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    for backend in supported_backends():
        engine = Engine(model, backend=backend)
        ops = [op for _, op, _ in engine.plan()]
        assert not SHAPE_OPS & set(ops), ops  # folded at load, not run
        assert sorted(ops) == ["Add", "Reshape"], ops
        np.testing.assert_allclose(engine.run(x)[0], run_ort(model, {"x": x})[0], rtol=1e-6)


def test_shape_of_a_computed_feature_map_folds():
    """`x.view(x.size(0), -1)` after Conv -> Relu -> MaxPool: the feature map's shape is known at load
    (Conv by its rule, Relu elementwise, MaxPool by a run on zeros), so the Shape chain folds."""
    rng = np.random.default_rng(2)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
             helper.make_node("Shape", ["p"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["batch"], axis=0),
             helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"]),
             helper.make_node("Concat", ["batch1", "minus_one"], ["flat_shape"], axis=0),
             helper.make_node("Reshape", ["p", "flat_shape"], ["f"]),
             helper.make_node("Gemm", ["f", "fc", "fc_bias"], ["y"], transB=1)]
    inits = [_const("w", rng.standard_normal((4, 3, 3, 3)).astype(np.float32)), _const("zero", np.int64(0)),
             _const("axes0", np.array([0], np.int64)), _const("minus_one", np.array([-1], np.int64)),
             _const("fc", rng.standard_normal((5, 4 * 3 * 3)).astype(np.float32)),
             _const("fc_bias", rng.standard_normal(5).astype(np.float32))]
    model = _model(nodes, [_float_info("x", [2, 3, 11, 11])], [_float_info("y", [2, 5])], inits)
    x = rng.standard_normal((2, 3, 11, 11)).astype(np.float32)
    engine = Engine(model)
    ops = [op for _, op, _ in engine.plan()]
    assert not SHAPE_OPS & set(ops), ops
    np.testing.assert_allclose(engine.run(x)[0], run_ort(model, {"x": x})[0], rtol=1e-4, atol=1e-5)


def test_a_shape_that_depends_on_input_values_is_not_folded():
    """Range's length comes from its start, here an input value: its Shape stays for run time
    (a run of Range on zeros at load would fold it to 10)."""
    nodes = [helper.make_node("Squeeze", ["x"], ["start"]),
             helper.make_node("Range", ["start", "limit", "step"], ["r"]),
             helper.make_node("Shape", ["r"], ["y"])]
    model = _model(nodes, [_float_info("x", [1])], [_int_info("y", [1])],
                   [_const("limit", np.float32(10)), _const("step", np.float32(1))])
    engine = Engine(model)
    for start in (0.0, 5.0):
        np.testing.assert_array_equal(engine.run(np.array([start], np.float32))[0], [10 - start])


def test_symbolic_batch_keeps_the_shape_subgraph_at_run_time():
    """With a symbolic batch the subgraph cannot fold: its ops run, and agree with ONNX Runtime."""
    model = _shape_subgraph_model(["N", 3, 4])
    x = np.random.default_rng(1).standard_normal((3, 3, 4)).astype(np.float32)
    engine = Engine(model)
    ops = {op for _, op, _ in engine.plan()}
    assert {"Shape", "Size", "Range", "Equal", "Where", "Expand"} <= ops
    assert "ConstantOfShape" not in ops  # its input is constant: folded whatever the batch
    np.testing.assert_allclose(engine.run(x)[0], run_ort(model, {"x": x})[0], rtol=1e-6)


def test_unsupported_op_whose_output_only_feeds_a_folded_shape_loads():
    """Mish is not an op of the engine; its output is only read by Shape, whose value is known at
    load: the Shape folds, Mish is no longer needed, and the model runs without it."""
    nodes = [helper.make_node("Mish", ["x"], ["m"]), helper.make_node("Shape", ["m"], ["s"]),
             helper.make_node("Reshape", ["x", "s_flat"], ["r"]), helper.make_node("Reshape", ["r", "s"], ["y"])]
    model = _model(nodes, [_float_info("x", [2, 3])], [_float_info("y", [2, 3])],
                   [_const("s_flat", np.array([-1], np.int64))], opset=18)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    engine = Engine(model)
    assert [op for _, op, _ in engine.plan()] == ["Reshape", "Reshape"]
    np.testing.assert_array_equal(engine.run(x)[0], x)


def _runtime_ops_model() -> bytes:
    """Every op of the shape family on a tensor whose batch is symbolic: nothing folds."""
    cos_value = helper.make_tensor("v", TensorProto.FLOAT, [1], [2.5])
    nodes = [
        helper.make_node("Cast", ["x"], ["as_int"], to=TensorProto.INT64),
        helper.make_node("Cast", ["x"], ["as_bool"], to=TensorProto.BOOL),
        helper.make_node("Cast", ["as_bool"], ["bool_float"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["as_int"], ["as_int8"], to=TensorProto.INT8),
        helper.make_node("Cast", ["as_int8"], ["int8_wide"], to=TensorProto.INT64),
        helper.make_node("Equal", ["as_int", "ints"], ["eq"]),
        helper.make_node("Cast", ["eq"], ["eq_int"], to=TensorProto.INT64),
        helper.make_node("Less", ["x", "floats"], ["less"]),
        helper.make_node("Greater", ["x", "floats"], ["greater"]),
        helper.make_node("Not", ["greater"], ["not_greater"]),
        helper.make_node("And", ["less", "not_greater"], ["both"]),
        helper.make_node("Cast", ["both"], ["both_float"], to=TensorProto.FLOAT),
        helper.make_node("Where", ["greater", "x", "floats"], ["where"]),
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("ConstantOfShape", ["shape"], ["filled"], value=cos_value),
        helper.make_node("Size", ["x"], ["size"]),
        helper.make_node("Range", ["zero", "size", "three"], ["range_int"]),
        helper.make_node("Cast", ["size"], ["size_float"], to=TensorProto.FLOAT),
        helper.make_node("Range", ["half", "size_float", "step"], ["range_float"]),
        helper.make_node("Concat", ["two", "shape"], ["expanded_shape"], axis=0),
        helper.make_node("Expand", ["x", "expanded_shape"], ["expanded"]),
    ]
    inits = [_const("ints", np.array([0, 1, -1, 2], np.int64)), _const("floats", np.array([0, 0.5, -1, 2], np.float32)),
             _const("zero", np.int64(0)), _const("three", np.int64(3)), _const("half", np.float32(0.5)),
             _const("step", np.float32(1.5)), _const("two", np.array([2], np.int64))]
    outputs = [_int_info("as_int", ["N", 4]), _float_info("bool_float", ["N", 4]), _int_info("int8_wide", ["N", 4]),
               _int_info("eq_int", ["N", 4]), _float_info("both_float", ["N", 4]), _float_info("where", ["N", 4]),
               _float_info("filled", ["N", 4]), _int_info("range_int", None), _float_info("range_float", None),
               _float_info("expanded", [2, "N", 4])]
    return _model(nodes, [_float_info("x", ["N", 4])], outputs, inits)


def test_shape_ops_at_run_time_match_onnx_runtime_on_every_backend():
    model = _runtime_ops_model()
    x = np.array([[0.0, 1.7, -1.2, 2.0], [-0.0, 0.5, 300.0, -0.4], [2.9, -2.9, 0.2, -1.0]], np.float32)
    reference = run_ort(model, {"x": x})
    for backend in supported_backends():
        engine = Engine(model, backend=backend)
        ops = {op for _, op, _ in engine.plan()}
        assert {"Cast", "Equal", "Less", "Greater", "Not", "And", "Where", "ConstantOfShape", "Size", "Range",
                "Expand"} <= ops
        for got, want in zip(engine.run(x), reference, strict=True):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want.astype(got.dtype), rtol=1e-6, err_msg=backend)


def test_cast_to_a_type_the_engine_cannot_hold_is_refused():
    model = _model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.STRING, name="to_text")],
                   [_float_info("x", ["N"])], [_float_info("y", ["N"])])
    with pytest.raises(ValueError, match=r"Cast node 'to_text': cast to ONNX type 8 is not supported"):
        Engine(model)


def _if_model(condition_nodes, inputs, inits) -> bytes:
    """y = x + 1 (then) or x * 2 (else); both branches read x from the enclosing graph."""
    then_graph = helper.make_graph([helper.make_node("Add", ["x", "one_f"], ["then_y"])], "then", [],
                                   [_float_info("then_y", None)])
    doubled = helper.make_node("Constant", [], ["two_f"], value=helper.make_tensor("t", TensorProto.FLOAT, [], [2.0]))
    else_graph = helper.make_graph([doubled, helper.make_node("Mul", ["x", "two_f"], ["else_y"])], "else", [],
                                   [_float_info("else_y", None)])
    nodes = condition_nodes + [helper.make_node("If", ["cond"], ["y"], then_branch=then_graph,
                                                else_branch=else_graph, name="choose")]
    return _model(nodes, inputs, [_float_info("y", None)], inits + [_const("one_f", np.float32(1.0))])


def test_if_with_a_condition_known_at_load_is_inlined():
    condition = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "zero"], ["batch"]),
                 helper.make_node("Equal", ["batch", "one"], ["cond"])]
    model = _if_model(condition, [_float_info("x", [1, 3])], [_const("zero", np.int64(0)), _const("one", np.int64(1))])
    x = np.array([[1.0, -2.0, 3.0]], np.float32)
    engine = Engine(model)
    assert [op for _, op, _ in engine.plan()] == ["Add"]  # the then branch, inlined
    np.testing.assert_allclose(engine.run(x)[0], run_ort(model, {"x": x})[0])


def test_if_with_a_run_time_condition_runs_the_chosen_branch_on_every_backend():
    condition = [helper.make_node("Cast", ["flag"], ["cond"], to=TensorProto.BOOL)]
    model = _if_model(condition, [_float_info("x", [1, 3]), _int_info("flag", [])], [])
    x = np.array([[1.0, -2.0, 3.0]], np.float32)
    for backend in supported_backends():
        engine = Engine(model, backend=backend)
        assert "If" in {op for _, op, _ in engine.plan()}
        for flag in (1, 0):
            feeds = {"x": x, "flag": np.array(flag, np.int64)}
            np.testing.assert_allclose(engine.run(feeds)[0], run_ort(model, feeds)[0], err_msg=backend)


def _network_branch_model() -> bytes:
    """An If on a run-time flag whose branches are networks, as Silero VAD's is: the then branch a Conv ->
    BatchNormalization -> Relu, a Reshape to a shape it computes (Shape -> Gather -> Concat), a MatMul and a
    nested If on the same flag; the else branch a Conv -> Sigmoid. Both read x and the weights from the
    enclosing graph."""
    rng = np.random.default_rng(5)
    w = _const("w", (rng.normal(size=(4, 2, 3)) / 3).astype(np.float32))
    bn = [_const(name, value.astype(np.float32)) for name, value in
          (("gamma", rng.uniform(0.5, 2, 4)), ("beta", rng.normal(size=4)), ("mean", rng.normal(size=4)),
           ("var", rng.uniform(0.5, 2, 4)))]
    inner_then = helper.make_graph([helper.make_node("Relu", ["m"], ["inner_t"])], "inner_then", [],
                                   [_float_info("inner_t", None)])
    inner_else = helper.make_graph([helper.make_node("Neg", ["m"], ["inner_e"])], "inner_else", [],
                                   [_float_info("inner_e", None)])
    then_nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "gamma", "beta", "mean", "var"], ["b"]),
        helper.make_node("Relu", ["b"], ["r"]),
        helper.make_node("Shape", ["r"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"]),
        helper.make_node("Concat", ["n", "minus_one"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", ["r", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "proj"], ["m"]),
        helper.make_node("If", ["cond"], ["then_y"], then_branch=inner_then, else_branch=inner_else),
    ]
    then_graph = helper.make_graph(then_nodes, "then", [], [_float_info("then_y", None)])
    else_graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["ec"], pads=[1, 1]),
                                    helper.make_node("Sigmoid", ["ec"], ["else_y"])], "else", [],
                                   [_float_info("else_y", None)])
    nodes = [helper.make_node("Cast", ["flag"], ["cond"], to=TensorProto.BOOL),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph)]
    inits = [w, *bn, _const("zero", np.array([0], np.int64)), _const("minus_one", np.array([-1], np.int64)),
             _const("proj", (rng.normal(size=(4 * 9, 5)) / 6).astype(np.float32))]
    return _model(nodes, [_float_info("x", ["N", 2, 9]), _int_info("flag", [])], [_float_info("y", None)], inits)


def test_if_branches_that_are_networks_match_onnx_runtime_as_the_shapes_change():
    """Each branch runs as an engine of its own, compiled for the shapes it captures: batch sizes that
    change (and come back), both branches, the nested If; against ONNX Runtime on every backend."""
    model = _network_branch_model()
    rng = np.random.default_rng(6)
    for backend in supported_backends():
        engine = Engine(model, backend=backend, threads=1)
        for batch, flag in ((1, 1), (3, 1), (1, 0), (1, 1), (2, 0), (3, 1)):
            feeds = {"x": rng.normal(size=(batch, 2, 9)).astype(np.float32), "flag": np.array(flag, np.int64)}
            (got,) = engine.run(feeds)
            (want,) = run_ort(model, feeds)
            assert got.shape == want.shape, (backend, batch, flag)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{backend} batch {batch} flag {flag}")


def test_a_branch_runs_dynamic_int8_with_its_engine():
    """Dynamic mode reaches into the branch (its Conv and MatMul quantize per run): the output moves off
    float32 by quantization noise, and no further."""
    model = _network_branch_model()
    feeds = {"x": np.random.default_rng(7).normal(size=(2, 2, 9)).astype(np.float32), "flag": np.array(1, np.int64)}
    (fp32,) = Engine(model, threads=1).run(feeds)
    engine = Engine(model, mode="dynamic", threads=1)
    (dynamic,) = engine.run(feeds)
    error = np.abs(dynamic - fp32).max() / np.abs(fp32).max()
    assert 1e-5 < error < 0.05, error


def test_every_unsupported_op_in_one_error_subgraphs_included():
    """Three unsupported op types in the graph and one inside an If branch, named in one error;
    the If itself (which used to hide them behind a message about its subgraph) is supported."""
    branch = helper.make_graph([helper.make_node("Shrink", ["x"], ["b"], name="shrink_in_branch")], "then", [],
                               [_float_info("b", None)])
    other_branch = helper.make_graph([helper.make_node("Relu", ["x"], ["r"])], "else", [], [_float_info("r", None)])
    nodes = [helper.make_node("Mish", ["x"], ["h"], name="mish_1"),
             helper.make_node("Mish", ["h"], ["h2"], name="mish_2"),
             helper.make_node("Trilu", ["h2"], ["m"], name="trilu"),
             helper.make_node("Det", ["m"], ["d"], name="det"),
             helper.make_node("Cast", ["flag"], ["cond"], to=TensorProto.BOOL),
             helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=other_branch),
             helper.make_node("Add", ["y", "d"], ["z"])]
    model = _model(nodes, [_float_info("x", [3, 3]), _int_info("flag", [])], [_float_info("z", None)], opset=18)
    with pytest.raises(ValueError) as error:
        Engine(model)
    message = str(error.value)
    assert "4 unsupported op type(s)" in message
    for expected in ("'Mish' (nodes 'mish_1', 'mish_2')", "'Trilu' (node 'trilu')", "'Det' (node 'det')",
                     "'Shrink' (node 'shrink_in_branch')"):
        assert expected in message
    assert "'If'" not in message.split(". Supported")[0]


def test_bool_and_narrow_integer_graph_values_are_held_as_int64():
    """A uint8 input and a bool output (Greater's) load: the engine holds both as int64, bool as 0 / 1."""
    model = _model([helper.make_node("Greater", ["x", "limit"], ["y"])],
                   [helper.make_tensor_value_info("x", TensorProto.UINT8, [4])],
                   [helper.make_tensor_value_info("y", TensorProto.BOOL, [4])], [_const("limit", np.uint8(2))])
    x = np.array([0, 2, 3, 255], np.uint8)
    (got,) = Engine(model).run(x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, run_ort(model, {"x": x})[0].astype(np.int64))


def test_the_branch_not_taken_and_what_only_it_reads_leave_with_a_constant_if():
    """cond is a constant: the else branch (an unsupported Shrink) and the Mish only it reads are
    dropped at load, so neither is reported."""
    then_graph = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [_float_info("t", None)])
    else_graph = helper.make_graph([helper.make_node("Shrink", ["m"], ["e"])], "else", [], [_float_info("e", None)])
    nodes = [helper.make_node("Mish", ["x"], ["m"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph)]
    model = _model(nodes, [_float_info("x", ["N", 3])], [_float_info("y", None)],
                   [_const("cond", np.array(True))], opset=18)
    x = np.array([[-1.0, 0.5, 2.0]], np.float32)
    engine = Engine(model)
    assert [op for _, op, _ in engine.plan()] == ["Relu"]
    np.testing.assert_array_equal(engine.run(x)[0], np.maximum(x, 0))
