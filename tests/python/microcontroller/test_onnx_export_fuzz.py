"""The ONNX arm of export-c's differential fuzzer (issue 22): random small valid ONNX graphs
(random_onnx_models.py), a third of them with one attribute mutated, go through ``export_c``. Each
export is either refused with a ValueError, or its C — compiled with AddressSanitizer and UBSan,
``-fno-sanitize-recover=all`` — runs on calibration inputs without a sanitizer report and lies within
:data:`onnx_c_reference.FUZZ_TOLERANCE_STEPS` output steps of the engine's static INT8 output, ONNX Runtime's
float output, or ONNX Runtime's with the C's softmax grid (onnx_c_reference.export_run_compare); where the
engine is further than that from float, within the engine's distance (:func:`tolerance`).

``EDGEQUANT_ONNX_FUZZ_CASES`` sets the number of graphs (default 100, under a minute on one core),
``EDGEQUANT_ONNX_FUZZ_SEED`` the first seed. A failing case's model is saved under the test's
``tmp_path`` and named in the failure with its seed."""

import os
import re

import numpy as np
import pytest
from onnx_c_reference import FUZZ_TOLERANCE_STEPS, SANITIZERS, export_run_compare, sanitized_runtime, save
from random_onnx_models import mutate, random_model

from edgequant.engine import engine_available

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.skipif(not engine_available(), reason="built without the inference engine")

CASES = int(os.environ.get("EDGEQUANT_ONNX_FUZZ_CASES", "100"))
FIRST_SEED = int(os.environ.get("EDGEQUANT_ONNX_FUZZ_SEED", "0"))
MUTATED_FRACTION = 1 / 3


def one_case(seed, folder, runtime_objects):
    """("refused", reason) or ("compared", error in output steps) for the case of ``seed``."""
    rng = np.random.default_rng(seed)
    model, description = random_model(rng)
    if rng.random() < MUTATED_FRACTION:
        description += " | mutated " + mutate(model, rng)
    path = save(model, folder / "model.onnx")
    input_shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    calibration = rng.random((8, *input_shape[1:]), np.float32)
    try:
        steps, _, details = export_run_compare(path, calibration, calibration[:4], folder / "c", SANITIZERS,
                                               runtime_objects)
    except ValueError as refusal:  # refused at export (a compile or sanitizer failure is not a ValueError)
        return "refused", " ".join(str(refusal).split("\n")[:2]), description
    distances = (f"engine {details['engine_steps']:.1f}, float {details['float_steps']:.1f}, "
                 f"float with the softmax grid {details['softmax_grid_steps']:.1f}; the engine from float "
                 f"{details['engine_float_steps']:.1f}")
    return "compared", (steps, tolerance(details)), f"{description} ({distances})"


def tolerance(details):
    """FUZZ_TOLERANCE_STEPS, or the engine's own distance from float where that is larger: in a model whose
    output range is far below an intermediate tensor's step, any int8 rounding moves the output by many of its
    steps, and the C may be as far from the engine as the engine is from float."""
    engine_float = details["engine_float_steps"]
    return max(FUZZ_TOLERANCE_STEPS, engine_float if np.isfinite(engine_float) else 0.0)


def test_random_onnx_graphs_export_exactly_or_are_refused(tmp_path):
    runtime_objects = sanitized_runtime(tmp_path)
    counts = {"refused": 0, "compared": 0}
    worst, failures, reasons = (0.0, 0.0, 0.0, -1, "none"), [], {}  # (share of the allowance, steps, allowed, ...)
    for seed in range(FIRST_SEED, FIRST_SEED + CASES):
        folder = tmp_path / f"case{seed}"
        folder.mkdir()
        try:
            outcome, value, description = one_case(seed, folder, runtime_objects)
        except Exception as error:  # noqa: BLE001 - a crash, a sanitizer report, a wrong exception type: all failures
            failures.append(f"seed {seed} ({folder / 'model.onnx'}): {type(error).__name__}: {str(error)[:1500]}")
            continue
        counts[outcome] += 1
        if outcome == "refused":
            # one class per message: names, shapes and numbers elided
            key = value.split(":")[0] if value.startswith("ONNX Runtime") else re.sub(r"'[^']*'|\[[^]]*]|\d+", "_",
                                                                                       value)[:150]
            reasons[key] = reasons.get(key, 0) + 1
        else:
            steps, allowed = value
            worst = max(worst, (steps / allowed, steps, allowed, seed, description))
            if steps > allowed:
                failures.append(f"seed {seed} ({folder / 'model.onnx'}): C is {steps:.1f} output steps from every "
                                f"reference (allowed {allowed:.1f}): {description}")
    sanitizer_reports = sum("Sanitizer" in f or "runtime error:" in f for f in failures)
    print(f"\nONNX export fuzz: {CASES} cases, {counts['refused']} refused at export, {counts['compared']} compiled "
          f"with ASan/UBSan and compared, {len(failures)} failures ({sanitizer_reports} sanitizer reports); worst "
          f"{worst[1]:.2f} output steps of {worst[2]:.1f} allowed (seed {worst[3]}: {worst[4]})")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1])[:15]:
        print(f"  refused {count:3d}x: {reason}")
    assert not failures, "\n".join(failures)
    # the fuzzer must exercise both outcomes, or it tests nothing
    assert counts["compared"] >= CASES // 5 and counts["refused"] >= 1, counts
