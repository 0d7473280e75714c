"""ONNX's own backend test suite (onnx.backend.test.BackendTest) on the engine, in the normal pytest run.

Every CPU case of the suite is a test here (the classes ``OnnxBackend<Set>Test`` below, built by
:func:`edgequant.onnx.conformance_suite.conformance_suite`): the node cases generated from
``onnx.backend.test.case.node`` and the light, simple, pytorch-converted and pytorch-operator model
sets shipped in the onnx package. A case

- passes when the engine's outputs match ONNX's reference within the case's tolerance;
- is SKIPPED with the engine's message ("refused by the engine: ...") when the engine refuses the
  model with its documented ValueError (an unsupported op, attribute, data type or shape);
- is skipped as "absent from the installed onnx" when that onnx lacks the case's data files;
- FAILS when the engine runs it and answers wrong, or fails any other way.

The tests after the suite check the committed table docs/supported_ops.md
(scripts/conformance_table.py), and that the harness itself tells a wrong answer from a refusal.
"""

import difflib
import importlib.util
import pathlib
import re

import numpy as np
import pytest

from edgequant.engine import engine_available

if not engine_available():
    pytest.skip("edgequant built without the inference engine", allow_module_level=True)

import onnx  # noqa: E402 - only where the engine exists
from onnx import TensorProto, helper  # noqa: E402

from edgequant import _engine  # noqa: E402
from edgequant.onnx import conformance_backend  # noqa: E402
from edgequant.onnx.conformance_backend import EngineBackend, is_refusal  # noqa: E402
from edgequant.onnx.conformance_suite import (  # noqa: E402
    BOUND,
    MODEL_SETS,
    RefusalSkippingBackend,
    conformance_suite,
    onnx_home,
    run_cases,
)

ROOT = pathlib.Path(__file__).resolve().parents[3]

# ---------------------------------------------------------------------------------------------------
# EXPECTED WRONG ANSWERS: the ONLY list of cases allowed to give a wrong answer (a failure), each with
# its cause. A case here runs as unittest.expectedFailure: it must fail, and once it passes it
# fails as an "unexpected success", so fixed cases leave the list. docs/supported_ops.md still counts
# them as failed. Empty today: every case of onnx 1.23.2 either passes or is refused by the engine.
# ---------------------------------------------------------------------------------------------------
EXPECTED_WRONG_ANSWERS: dict[str, str] = {}

_CLASSES, _CASES = conformance_suite(EXPECTED_WRONG_ANSWERS)
globals().update(_CLASSES)  # OnnxBackendNodeTest, OnnxBackendRealTest, ...: one test per case


@pytest.fixture(scope="module", autouse=True)
def _generated_inputs_in_a_temporary_folder():
    """The light-model cases write the inputs they generate under ONNX_HOME (default ~/.onnx)."""
    with onnx_home():
        yield


# --- the committed table --------------------------------------------------------------------------
def _table_script():
    spec = importlib.util.spec_from_file_location("conformance_table", ROOT / "scripts" / "conformance_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_is_what_this_build_gives():
    script = _table_script()
    committed = script.TABLE_PAGE.read_text()
    made_with = re.search(r"\(onnx ([^:\s]+):", committed)
    assert made_with, f"{script.TABLE_PAGE} names no onnx version: run {script.COMMAND}"
    if made_with.group(1) != onnx.__version__:
        pytest.skip(f"the table was made with onnx {made_with.group(1)}, this is onnx {onnx.__version__}: "
                    "its cases differ")
    current = script.render(run_cases(_CLASSES, _CASES), _engine.supported_ops(), onnx.__version__)
    if current != committed:
        changed = [line for line in difflib.unified_diff(committed.splitlines(), current.splitlines(), lineterm="", n=0)
                   if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        pytest.fail(f"docs/supported_ops.md is stale: run {script.COMMAND}\n" + "\n".join(changed[:20]))


def test_the_table_changes_with_the_claimed_ops_and_the_results():
    script = _table_script()
    outcomes = run_cases(_CLASSES, [case for case in _CASES if case.group in ("Relu", "Abs")])
    ops = list(_engine.supported_ops())
    table = script.render(outcomes, ops, onnx.__version__)
    assert "| Relu | 1 | 1 | 0 | 0 | 0 |  |" in table
    assert script.render(outcomes, [*ops, "NotAnOp"], onnx.__version__) != table
    flipped = [type(o)(o.case, "failed", "AssertionError: wrong") if o.case.group == "Relu" else o for o in outcomes]
    assert "| Relu | 1 | 0 | 0 | 0 | 1 | test_relu: AssertionError: wrong |" in script.render(
        flipped, ops, onnx.__version__)


# --- the suite: every case is there, and its outcomes are told apart -------------------------------
def test_every_node_case_and_model_set_is_in_the_suite():
    from onnx.backend.test.loader import load_model_tests

    node_cases = {case.test_name for case in _CASES if case.category == "Node"}
    assert node_cases == {f"{case.name}_cpu" for case in load_model_tests(kind="node")}
    assert len(node_cases) > 1000
    assert {case.category for case in _CASES} == {"Node", *MODEL_SETS}
    assert not any(name.endswith("_cuda") for cls in _CLASSES.values() for name in vars(cls))


def test_a_wrong_answer_fails_the_case(monkeypatch):
    (relu,) = [case for case in _CASES if case.test_name == "test_relu_cpu"]
    assert [o.result for o in run_cases(_CLASSES, [relu])] == ["passed"]
    monkeypatch.setattr(conformance_backend, "_as_declared", lambda value, dtype: value + 1)
    (outcome,) = run_cases(_CLASSES, [relu])
    assert outcome.result == "failed" and "Mismatched elements" in outcome.reason


def test_a_refusal_is_neither_a_pass_nor_a_failure():
    (case,) = [case for case in _CASES if case.test_name == "test_strnorm_model_monday_empty_output_cpu"]
    (outcome,) = run_cases(_CLASSES, [case])
    assert outcome.result == "refused" and "element type 8" in outcome.reason  # strings


def test_conv_runs_with_its_weights_bound_as_initializers():
    (case,) = [case for case in _CASES if case.test_name == "test_basic_conv_with_padding_cpu"]
    (outcome,) = run_cases(_CLASSES, [case])
    assert outcome.result == "passed" and outcome.reason == BOUND + "W"


def test_model_sets_whose_data_is_absent_are_reported_absent(monkeypatch, tmp_path):
    from edgequant.onnx import conformance_suite as suite_module

    light = tmp_path / "real" / "test_tiny_net"
    light.mkdir(parents=True)
    (light / "data.json").write_text('{"url": "onnx/backend/test/data/light/light_tiny_net.onnx", '
                                     '"model_name": "tiny_net"}')
    monkeypatch.setattr(suite_module, "DATA_DIR", str(tmp_path))
    classes, cases = conformance_suite()
    models = {case.test_name: case for case in cases if case.category != "Node"}
    assert set(models) == {"test_tiny_net_cpu", "test_simple_set_cpu", "test_pytorch_converted_set_cpu",
                           "test_pytorch_operator_set_cpu"}
    outcomes = run_cases(classes, list(models.values()))
    assert {o.result for o in outcomes} == {"absent"}
    assert "light_tiny_net.onnx" in outcomes[0].reason
    assert "the whole simple set" in outcomes[1].reason


def test_an_unknown_expected_failure_is_an_error():
    with pytest.raises(ValueError, match="test_no_such_case_cpu"):
        conformance_suite({"test_no_such_case_cpu": "a typo"})


# --- the backend ----------------------------------------------------------------------------------
def _one_node_model(op_type, elem_type=TensorProto.FLOAT, domain="", inputs=("x",), **attributes):
    node = helper.make_node(op_type, list(inputs), ["y"], domain=domain, **attributes)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(name, elem_type, [2, 3]) for name in inputs],
                              [helper.make_tensor_value_info("y", elem_type, [2, 3])])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


def test_the_backend_answers_in_the_declared_element_type():
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -4.0, 5.0]])
    (y,) = EngineBackend.prepare(_one_node_model("Relu", TensorProto.DOUBLE)).run([x])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    (y,) = EngineBackend.run_node(helper.make_node("Relu", ["x"], ["y"]), [x.astype(np.float32)])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_an_integer_output_that_does_not_fit_its_declared_type_is_an_error():
    with pytest.raises(OverflowError, match="int8"):
        conformance_backend._as_declared(np.array([1, 300]), np.dtype(np.int8))
    assert conformance_backend._as_declared(np.array([1, -3]), np.dtype(np.int8)).dtype == np.int8
    with pytest.raises(OverflowError, match="bool"):
        conformance_backend._as_declared(np.array([0, 2]), np.dtype(bool))
    # A float answer to an integer output is not truncated into looking right: the suite's dtype check sees it.
    assert conformance_backend._as_declared(np.array([2.7]), np.dtype(np.int64)).dtype == np.float64


def test_an_unsupported_op_is_a_clean_refusal():
    with pytest.raises(ValueError, match="unsupported op 'NotAnOp'") as refused:
        EngineBackend.prepare(_one_node_model("NotAnOp", domain="edgequant.test"))
    assert is_refusal(refused.value)
    assert not is_refusal(RuntimeError("a crash of a kernel"))
    assert not is_refusal(_engine.CorruptDataError("a broken file"))
    with pytest.raises(ValueError, match="CPU only"):
        EngineBackend.prepare(_one_node_model("Relu"), "CUDA")


def test_weights_fed_as_inputs_are_refused_unless_bound():
    x = np.arange(2 * 3, dtype=np.float32).reshape(2, 3)
    w = np.linspace(-1, 1, 3 * 4, dtype=np.float32).reshape(3, 4)
    node = helper.make_node("Gemm", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                                            helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="B must be an initializer"):
        EngineBackend.prepare(model)
    rep = RefusalSkippingBackend.prepare(model)
    (y,) = rep.run([x, w])
    assert rep.bound_inputs == ["w"]
    np.testing.assert_allclose(y, x @ w, rtol=1e-6)
    (y,) = rep.run([x, 2 * w])  # each run binds its own values
    np.testing.assert_allclose(y, x @ (2 * w), rtol=1e-6)


def test_a_float64_input_beyond_float32_is_refused_without_a_warning():
    rep = EngineBackend.prepare(_one_node_model("Relu", TensorProto.DOUBLE))
    with pytest.raises(ValueError, match="Inf") as refused:
        rep.run([np.full((2, 3), 1e300)])
    assert is_refusal(refused.value)
