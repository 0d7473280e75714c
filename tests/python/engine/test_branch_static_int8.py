"""Static INT8 inside an If's branches (Silero VAD's network is one): calibration sees into the branch
that runs, its tensors' ranges are named "subgraph_key::tensor", and the branch then runs static INT8
with them, exactly as the same layers do outside an If; a branch calibration never took stays float32."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from ort_reference import run_ort

from edgequant import Engine
from edgequant.engine import supported_backends

OUTER = "choose::then_branch::"
NESTED = OUTER + "inner::then_branch::"


def _const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _model(flag_is_input: bool, nested: bool = True) -> bytes:
    """y = If(flag, then: Conv -> Relu -> If(flag, then: Conv, else: Neg), else: Conv -> Sigmoid), the
    branches reading x and the weights from the enclosing graph; without `nested` the then branch is
    Conv -> Relu -> Conv. With `flag_is_input` False the flag is the constant 1: the Ifs are inlined at
    load, the same layers in one graph."""
    rng = np.random.default_rng(11)
    weights = [_const("w1", rng.normal(size=(6, 3, 3, 3)).astype(np.float32) / 4),
               _const("b1", rng.normal(size=6).astype(np.float32)),
               _const("w2", rng.normal(size=(5, 6, 3, 3)).astype(np.float32) / 6),
               _const("w3", rng.normal(size=(5, 3, 1, 1)).astype(np.float32))]
    info = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)  # noqa: E731
    conv2 = helper.make_node("Conv", ["r", "w2"], ["inner_y"], pads=[1, 1, 1, 1], name="conv2")
    inner_then = helper.make_graph([conv2], "inner_then", [], [info("inner_y")])
    inner_else = helper.make_graph([helper.make_node("Neg", ["r"], ["inner_n"])], "inner_else", [], [info("inner_n")])
    last = (helper.make_node("If", ["cond"], ["then_y"], then_branch=inner_then, else_branch=inner_else, name="inner")
            if nested else helper.make_node("Conv", ["r", "w2"], ["then_y"], pads=[1, 1, 1, 1], name="conv2"))
    then_graph = helper.make_graph([
        helper.make_node("Conv", ["x", "w1", "b1"], ["c"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c"], ["r"]),
        last,
    ], "then", [], [info("then_y")])
    else_graph = helper.make_graph([helper.make_node("Conv", ["x", "w3"], ["e"], name="conv3"),
                                    helper.make_node("Sigmoid", ["e"], ["else_y"])], "else", [], [info("else_y")])
    nodes = [helper.make_node("Cast", ["flag"], ["cond"], to=TensorProto.BOOL),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph, name="choose")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])]
    if flag_is_input:
        inputs.append(helper.make_tensor_value_info("flag", TensorProto.INT64, []))
    else:
        weights.append(_const("flag", np.int64(1)))
    graph = helper.make_graph(nodes, "g", inputs, [info("y")], initializer=weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _feeds(flag, count=4, seed=12):
    rng = np.random.default_rng(seed)
    return [{"x": rng.normal(size=(2, 3, 8, 8)).astype(np.float32), "flag": np.array(flag, np.int64)}
            for _ in range(count)]


@pytest.mark.parametrize("backend", supported_backends())
def test_a_calibrated_branch_runs_static_int8_as_the_same_layers_do_outside_an_if(backend):
    calibration, tests = _feeds(1), _feeds(1, count=2, seed=13)
    engine = Engine(_model(True, nested=False), backend=backend, threads=1)
    assert set(engine.calibrate(calibration, progress=False)) == {OUTER + "x", OUTER + "r"}
    engine = Engine(_model(True, nested=False), backend=backend, threads=1, mode="static", calibration=calibration)
    inlined = Engine(_model(False, nested=False), backend=backend, threads=1, mode="static",
                     calibration=[{"x": feed["x"]} for feed in calibration])
    assert [op for _, op, _ in inlined.plan()] == ["Conv", "Conv"]
    for feed in tests:
        (got,) = engine.run(feed)
        (want,) = inlined.run({"x": feed["x"]})
        np.testing.assert_array_equal(got, want, err_msg=backend)  # the same ranges, the same kernels
    plan = {name: (op, precision) for name, op, precision in engine.plan()}
    assert plan[OUTER + "conv1"] == plan[OUTER + "conv2"] == ("Conv", "int8_static")


@pytest.mark.parametrize("backend", supported_backends())
def test_a_nested_branch_is_calibrated_and_runs_static_int8(backend):
    calibration = _feeds(1)
    engine = Engine(_model(True), backend=backend, threads=1)
    assert set(engine.calibrate(calibration, progress=False)) == {OUTER + "x", NESTED + "r"}
    engine = Engine(_model(True), backend=backend, threads=1, mode="static", calibration=calibration)
    fp32 = Engine(_model(True), backend=backend, threads=1)
    for feed in _feeds(1, count=2, seed=13):
        (got,) = engine.run(feed)
        (reference,) = fp32.run(feed)
        error = np.abs(got - reference).max() / np.abs(reference).max()
        assert 1e-4 < error < 0.1, (backend, error)  # quantized: a few steps of 8 bits, no further
    plan = {name: (op, precision) for name, op, precision in engine.plan()}
    assert plan[OUTER + "conv1"] == plan[NESTED + "conv2"] == ("Conv", "int8_static")


def test_a_branch_calibration_never_took_stays_float32():
    engine = Engine(_model(True), threads=1, mode="static", calibration=_feeds(1))
    fp32 = Engine(_model(True), threads=1)
    for feed in _feeds(0, count=2, seed=14):  # the else branch: not calibrated
        np.testing.assert_array_equal(engine.run(feed)[0], fp32.run(feed)[0])
    plan = {name: precision for name, _, precision in engine.plan()}
    assert plan["choose::else_branch::conv3"] == "f32"
    engine.run(_feeds(1, count=1)[0])  # back to the calibrated one
    assert {name: precision for name, _, precision in engine.plan()}[OUTER + "conv1"] == "int8_static"


def test_new_branch_ranges_compile_the_branch_again():
    """A range set after the branch compiled reaches it: a clipping range moves the output far."""
    engine = Engine(_model(True), threads=1, mode="static", calibration=_feeds(1))
    feed = _feeds(1, count=1, seed=15)[0]
    (before,) = engine.run(feed)
    engine._native.set_activation_range(OUTER + "x", -0.01, 0.01)
    (clipped,) = engine.run(feed)
    assert np.abs(clipped - before).max() > 0.5 * np.abs(before).max()


def test_ranges_for_unknown_branches_are_refused():
    engine = Engine(_model(True), threads=1)
    for name in ("other::then_branch::x", "choose::then_branch", "choose::elsewhere::x"):
        with pytest.raises(ValueError, match="is not a calibration tensor of this model"):
            engine._native.set_activation_range(name, 0.0, 1.0)


def _quantize_linear_nodes(graph) -> int:
    """QuantizeLinear nodes in ``graph`` and every subgraph under it."""
    count = sum(node.op_type == "QuantizeLinear" for node in graph.node)
    for node in graph.node:
        count += sum(_quantize_linear_nodes(a.g) for a in node.attribute if a.type == onnx.AttributeProto.GRAPH)
    return count


def test_save_quantized_writes_the_branches_that_run_int8(tmp_path):
    """Our QDQ file carries the branches' quantization (pairs and s8 weights inside them, the nested If's
    too): ONNX Runtime on it computes what our static INT8 does, far closer to it than to float32."""
    calibration = _feeds(1)
    engine = Engine(_model(True), threads=1, mode="static", calibration=calibration)
    fp32 = Engine(_model(True), threads=1)
    engine.save_quantized(tmp_path / "q.onnx")
    saved = onnx.load(str(tmp_path / "q.onnx"))
    (choose,) = [node for node in saved.graph.node if node.op_type == "If"]
    then_graph = next(a.g for a in choose.attribute if a.name == "then_branch")
    else_graph = next(a.g for a in choose.attribute if a.name == "else_branch")
    assert _quantize_linear_nodes(then_graph) == 2  # conv1's input; conv2's in the nested If
    assert _quantize_linear_nodes(else_graph) == 0  # calibration never ran it: float, as the engine runs it
    assert {init.data_type for init in then_graph.initializer if init.name.startswith("w1")} >= {TensorProto.INT8}
    for feed in _feeds(1, count=2, seed=16):
        (ours,) = engine.run(feed)
        (theirs,) = run_ort(str(tmp_path / "q.onnx"), feed)
        (reference,) = fp32.run(feed)
        assert np.abs(theirs - ours).max() < 0.1 * np.abs(reference - ours).max()
    for feed in _feeds(0, count=1, seed=17):
        np.testing.assert_allclose(run_ort(str(tmp_path / "q.onnx"), feed)[0], fp32.run(feed)[0], rtol=1e-5, atol=1e-6)


def test_save_quantized_keeps_an_if_after_the_values_its_branches_capture(tmp_path):
    """A top-level conv (quantized, so the writer reorders the graph) whose output only the branches read:
    the If must stay after it."""
    rng = np.random.default_rng(18)
    info = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)  # noqa: E731
    then_graph = helper.make_graph([helper.make_node("Relu", ["c"], ["t"])], "then", [], [info("t")])
    else_graph = helper.make_graph([helper.make_node("Neg", ["c"], ["e"])], "else", [], [info("e")])
    nodes = [helper.make_node("Cast", ["flag"], ["cond"], to=TensorProto.BOOL),
             helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_graph, else_branch=else_graph, name="choose")]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8]),
                     helper.make_tensor_value_info("flag", TensorProto.INT64, [])], [info("y")],
        initializer=[_const("w", rng.normal(size=(4, 3, 3, 3)).astype(np.float32))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    engine = Engine(model, threads=1, mode="static", calibration=_feeds(1))
    engine.save_quantized(tmp_path / "q.onnx")
    order = [node.op_type for node in onnx.load(str(tmp_path / "q.onnx")).graph.node]
    assert order.index("If") > order.index("Conv"), order  # ONNX Runtime would reorder it; the format does not
    for flag in (1, 0):
        feed = _feeds(flag, count=1, seed=19)[0]
        np.testing.assert_allclose(run_ort(str(tmp_path / "q.onnx"), feed)[0], engine.run(feed)[0], atol=1e-5)
