"""ONNX's own backend test suite on the engine: which cases pass, which the engine refuses, which fail.

:func:`conformance_suite` builds ``onnx.backend.test.BackendTest`` over
:class:`~edgequant.onnx.conformance_backend.EngineBackend` (the node cases generated from
``onnx.backend.test.case.node``; the light, simple, pytorch-converted and pytorch-operator model
sets shipped in the onnx package) with three changes to how a case ends:

- a model the engine refuses cleanly (:func:`~edgequant.onnx.conformance_backend.is_refusal`) is
  skipped with the engine's message, prefixed :data:`REFUSED` (a documented refusal: neither a
  pass nor a failure);
- a case whose data files the installed onnx lacks is skipped, prefixed :data:`ABSENT`;
- only CPU cases are kept (the engine has no other device);
- weights that a node case feeds as graph inputs (Conv's W, Gemm's B ...) are bound as
  initializers when the engine refuses them as inputs (``EngineBackend.bind_parameters``): such a
  pass is told apart (:data:`BOUND`).

Wrong answers and other errors stay failures. :func:`run_cases` runs the suite outside pytest and
returns one :class:`Outcome` per case (``scripts/conformance_table.py`` tabulates them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import unittest
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import onnx
import onnx.backend.test
import onnx.backend.test.runner as onnx_runner
from onnx.backend.test.loader import DATA_DIR, load_model_tests

from .conformance_backend import EngineBackend, EngineBackendRep, is_refusal

__all__ = ["ABSENT", "BOUND", "MODEL_SETS", "REFUSED", "Case", "EngineRefusal", "Outcome", "RefusalSkippingBackend",
           "conformance_suite", "onnx_home", "refusal_message", "run_cases"]

#: The skip-reason prefix of a case the engine refused.
REFUSED = "refused by the engine: "
#: The skip-reason prefix of a case whose data files the installed onnx lacks.
ABSENT = "absent from the installed onnx: "
#: An Outcome's reason for a case that passed once its weights, fed as inputs, were bound as initializers.
BOUND = "passed with these inputs as initializers: "

#: BackendTest's category of each model set -> the folder under onnx/backend/test/data it reads.
#: ("Real" cases are the light models: their data.json points into data/light.)
MODEL_SETS = {"Real": "real", "Simple": "simple", "PyTorchConverted": "pytorch-converted",
              "PyTorchOperator": "pytorch-operator"}

_LIGHT_URL = "onnx/backend/test/data/light/"
# A model set's name in the table where it differs from its folder.
_SET_LABELS = {"real": "light"}


@dataclass(frozen=True)
class Case:
    """One CPU test case of the suite.

    Attributes
    ----------
    category : str
        BackendTest's category: ``"Node"`` or a key of :data:`MODEL_SETS`.
    test_name : str
        The test method, e.g. ``"test_abs_cpu"``.
    group : str
        The table row it counts in: the op type a node case tests (``"Softmax (expanded)"`` for a
        function op's expansion into other ops; ``"domain.Op"`` outside the default domain), the
        model set for a model case ("light" for the Real category).
    """

    category: str
    test_name: str
    group: str


@dataclass(frozen=True)
class Outcome:
    """How a case ended: ``result`` is "passed", "refused", "failed", "absent" or "skipped"
    (skipped for any other reason); ``reason`` the refusal / absence / failure message, or for a
    pass that needed weights bound as initializers, :data:`BOUND` and their names."""

    case: Case
    result: str
    reason: str = ""


class EngineRefusal(unittest.SkipTest):
    """A case the engine refused with its documented error; the message is the engine's."""


def refusal_message(error: BaseException) -> str:
    """The engine's message without the list of supported ops that its unsupported-op error ends with."""
    return REFUSED + re.sub(r"\.? Supported: .*$", "", str(error), flags=re.DOTALL)


#: The inputs the current case's runs bound as initializers (read and cleared by run_cases).
_BOUND_INPUTS: list[str] = []


class _RefusalSkippingRep(EngineBackendRep):
    def run(self, inputs, **kwargs):
        try:
            outputs = super().run(inputs, **kwargs)
        except Exception as error:
            if is_refusal(error):
                raise EngineRefusal(refusal_message(error)) from error
            raise
        _BOUND_INPUTS.extend(name for name in self.bound_inputs if name not in _BOUND_INPUTS)
        return outputs


class RefusalSkippingBackend(EngineBackend):
    """:class:`EngineBackend` whose refusals are unittest skips, with weights fed as inputs bound
    as initializers (``bind_parameters``); one thread (what CI has)."""

    _rep_class = _RefusalSkippingRep
    bind_parameters = True
    threads = 1

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        try:
            return super().prepare(model, device, **{"threads": cls.threads, **kwargs})
        except Exception as error:
            if is_refusal(error):
                raise EngineRefusal(refusal_message(error)) from error
            raise


def conformance_suite(expected_failures: Mapping[str, str] | None = None,
                      ) -> tuple[dict[str, type[unittest.TestCase]], list[Case]]:
    """BackendTest's test classes for the engine (CPU cases only) and the list of those cases.

    Parameters
    ----------
    expected_failures : mapping test name -> reason, optional
        Cases marked ``unittest.expectedFailure`` (a pass then fails as an unexpected success).

    Returns
    -------
    classes : dict name -> unittest.TestCase subclass
        ``globals().update(classes)`` makes them a pytest module's tests.
    cases : list of Case
        Node cases, then each model set's, by name.
    """
    expected_failures = dict(expected_failures or {})
    absent_sets: list[str] = []
    with warnings.catch_warnings(), np.errstate(all="ignore"), _absent_sets_as_empty(absent_sets):
        # Generating the node cases' reference outputs divides by zero on purpose (ReduceMin of
        # empty sets ...): NumPy's warnings there are ONNX's, not the engine's.
        warnings.simplefilter("ignore")
        runner = onnx.backend.test.BackendTest(RefusalSkippingBackend, "edgequant.onnx.conformance")
        node_cases = load_model_tests(kind="node")
    cases = _node_cases(node_cases) + _model_cases(absent_sets)
    functions = {(category.removesuffix("Model"), name): item.func
                 for category, items in runner._test_items.items()  # noqa: SLF001 - BackendTest keeps them only here
                 for name, item in items.items()}
    classes: dict[str, type[unittest.TestCase]] = {}
    for case in cases:
        class_name = f"OnnxBackend{case.category}Test"
        if class_name not in classes:
            classes[class_name] = type(class_name, (unittest.TestCase,), {"__module__": __name__})
        func = functions.get((case.category, case.test_name), _missing)
        if why := _absent_reason(case):
            func = unittest.skip(ABSENT + why)(func)
        elif case.test_name in expected_failures:
            func = unittest.expectedFailure(func)
        setattr(classes[class_name], case.test_name, func)
    unknown = sorted(set(expected_failures) - {case.test_name for case in cases})
    if unknown:
        raise ValueError(f"expected failures name no case of this onnx's suite: {unknown}")
    return classes, cases


def run_cases(classes: Mapping[str, type[unittest.TestCase]], cases: list[Case]) -> list[Outcome]:
    """Runs every case (unittest, no pytest) and returns how each ended, in the order of ``cases``.

    Warnings are errors, as in the project's pytest configuration: a case ends here as it does there.
    """
    result = _RecordingResult()
    bound = {}
    with onnx_home(), warnings.catch_warnings():
        warnings.simplefilter("error")
        for case in cases:
            _BOUND_INPUTS.clear()
            classes[f"OnnxBackend{case.category}Test"](case.test_name).run(result)
            bound[case.test_name] = list(_BOUND_INPUTS)
    outcomes = []
    for case in cases:
        ended, reason = result.ended[case.test_name]
        if ended == "passed" and bound[case.test_name]:
            reason = BOUND + ", ".join(bound[case.test_name])
        outcomes.append(Outcome(case, ended, reason))
    return outcomes


@contextlib.contextmanager
def onnx_home() -> Iterator[str]:
    """ONNX_HOME set to a temporary folder: the light-model cases write their generated inputs there."""
    previous = os.environ.get("ONNX_HOME")
    with tempfile.TemporaryDirectory(prefix="onnx_home_") as folder:
        os.environ["ONNX_HOME"] = folder
        try:
            yield folder
        finally:
            if previous is None:
                os.environ.pop("ONNX_HOME", None)
            else:
                os.environ["ONNX_HOME"] = previous


class _RecordingResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.ended: dict[str, tuple[str, str]] = {}
        self.started = 0.0

    def _record(self, test, result, reason=""):
        self.ended[test._testMethodName] = (result, reason)  # noqa: SLF001 - the method is the case

    def addSuccess(self, test):
        self._record(test, "passed")

    def addSkip(self, test, reason):
        for prefix, result in ((REFUSED, "refused"), (ABSENT, "absent")):
            if reason.startswith(prefix):
                return self._record(test, result, reason.removeprefix(prefix))
        return self._record(test, "skipped", reason)

    def addFailure(self, test, err):
        self._record(test, "failed", _summary(err[1]))

    def addError(self, test, err):
        self._record(test, "failed", _summary(err[1]))

    def addExpectedFailure(self, test, err):
        self._record(test, "failed", "expected failure: " + _summary(err[1]))

    def addUnexpectedSuccess(self, test):
        self._record(test, "passed")


def _missing(test_self):  # a placeholder for a model set whose folder is absent (skipped before it runs)
    raise AssertionError("no such case")


def _summary(error: BaseException) -> str:
    """The error's type and the head of its message, without the arrays NumPy's asserts print."""
    lines = []
    for line in str(error).splitlines():
        if re.match(r"\s*(x|y|ACTUAL|DESIRED|\[)", line):
            break
        if line.strip():
            lines.append(line.strip())
    return f"{type(error).__name__}: " + "; ".join(lines[:4])


def _node_cases(node_cases) -> list[Case]:
    ops = {case.name: _op_label(case.model.graph.node[0]) for case in node_cases if len(case.model.graph.node) == 1}
    cases = []
    for case in sorted(node_cases, key=lambda case: case.name):
        original = case.name.split("_expanded")[0]
        group = f"{ops[original]} (expanded)" if "_expanded" in case.name and original in ops else ops.get(case.name)
        cases.append(Case("Node", f"{case.name}_cpu", group or "(several ops)"))
    return cases


def _op_label(node: onnx.NodeProto) -> str:
    return f"{node.domain}.{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type


def _model_cases(absent_sets: list[str]) -> list[Case]:
    cases = []
    for category, folder in MODEL_SETS.items():
        if folder in absent_sets:
            cases.append(Case(category, f"test_{folder.replace('-', '_')}_set_cpu", _SET_LABELS.get(folder, folder)))
            continue
        names = sorted(case.name for case in load_model_tests(DATA_DIR, kind=folder))  # listdir's order varies
        cases += [Case(category, f"{name}_cpu", _SET_LABELS.get(folder, folder)) for name in names]
    return cases


def _absent_reason(case: Case) -> str | None:
    """Why ``case``'s data files are missing, None when they are present."""
    if case.category == "Node":
        return None
    folder = os.path.join(DATA_DIR, MODEL_SETS[case.category])
    if not os.path.isdir(folder):
        return f"{folder} (the whole {MODEL_SETS[case.category]} set)"
    case_dir = os.path.join(folder, case.test_name.removesuffix("_cpu"))
    if os.path.exists(os.path.join(case_dir, "model.onnx")):
        return None
    try:
        with open(os.path.join(case_dir, "data.json")) as file:
            url = json.load(file)["url"]
    except (OSError, ValueError, KeyError):
        return f"{case_dir} has neither model.onnx nor a data.json naming its model"
    if not url.startswith(_LIGHT_URL):
        return f"{url} (a download; the suite runs offline)"
    light_model = os.path.join(os.path.dirname(onnx.__file__), url.removeprefix("onnx/"))
    return None if os.path.exists(light_model) else light_model


@contextlib.contextmanager
def _absent_sets_as_empty(absent_sets: list[str]) -> Iterator[None]:
    """BackendTest lists every model set's folder and stops at a missing one; an absent set is empty
    here instead, and named in ``absent_sets``."""
    original = onnx_runner.load_model_tests

    def load(data_dir: str = DATA_DIR, kind: str | None = None):
        if kind != "node" and not os.path.isdir(os.path.join(data_dir, kind or "")):
            absent_sets.append(kind)
            return []
        return original(data_dir, kind)

    onnx_runner.load_model_tests = load
    try:
        yield
    finally:
        onnx_runner.load_model_tests = original

