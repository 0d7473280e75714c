"""Every entry point on every real model: FP32 / static / dynamic on the engine against ONNX Runtime,
save_quantized -> ONNX Runtime, profile --compare, compress / decompress and analyze."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from real_model_cases import CASES, engine_case

import edgequant
from edgequant import Engine
from edgequant.cli import main
from edgequant.profiling.onnxruntime_peer import int8_kernels_saturate


def _ort_run(path, x: np.ndarray) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    return [np.asarray(o, np.float32) for o in
            session.run(None, {first.name: x.astype(np.float16 if "float16" in first.type else np.float32)})]


def _per_batch(run, x: np.ndarray, batch: int | None) -> list[np.ndarray]:
    if not batch:
        return run(x)
    parts = [run(x[i:i + batch]) for i in range(0, len(x), batch)]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return 1.0 if np.array_equal(a, b) else float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("case", [engine_case(c) for c in CASES])
def test_engine_modes_and_qdq_export(real_model, tmp_path):
    """FP32 matches ONNX Runtime; static and dynamic INT8 ran (outputs moved from FP32, by little);
    both QDQ exports load and run in ONNX Runtime and match our INT8 outputs."""
    x = real_model.inputs
    fp32 = Engine(real_model.path)
    batch = fp32.fixed_batch_size()
    reference = _per_batch(fp32.run, x, batch)
    peer = _per_batch(lambda v: _ort_run(real_model.path, v), x, batch)
    for ours, theirs in zip(reference, peer, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=2e-2, atol=2e-3 * max(1.0, float(np.abs(theirs).max())))
    for mode in ("static", "dynamic"):
        engine = Engine(real_model.path, mode=mode, calibration=x if mode == "static" else None)
        outputs = _per_batch(engine.run, x, batch)
        assert any(not np.array_equal(a, b) for a, b in zip(outputs, reference, strict=True)), f"{mode}: INT8 never ran"
        assert min(_correlation(a, b) for a, b in zip(outputs, reference, strict=True)) > 0.9, mode
        engine.save_quantized(tmp_path / f"{mode}.onnx")
        onnx.checker.check_model(str(tmp_path / f"{mode}.onnx"))
        exported = _per_batch(lambda v, m=mode: _ort_run(tmp_path / f"{m}.onnx", v), x, batch)
        assert min(_correlation(a, b) for a, b in zip(outputs, exported, strict=True)) > 0.98, mode


#: ONNX Runtime's own limits (not ours): the peer's row reports them. Its quantizers write a
#: DynamicQuantizeLinear on SqueezeNet's float16 input, which its own session then refuses.
PEER_LIMITS = {"shared/squeezenet1.0_fp16": {"onnxruntime static": "float16", "onnxruntime dynamic": "float16"}}


@pytest.mark.parametrize("case", [engine_case(c) for c in CASES])
def test_profile_compare(real_model, tmp_path, capsys):
    """Our three modes and ONNX Runtime's three, every row measured (no failed peer) on real inputs:
    through the CLI for the shared models, through ``edgequant.profile`` (no plot) for the graphs."""
    if real_model.case.startswith("shared/"):
        np.save(tmp_path / "calibration.npy", real_model.inputs)
        np.save(tmp_path / "inputs.npy", real_model.inputs[:1])
        code = main(["profile", str(real_model.path), "--compare", "--runs", "1", "--warmup", "0", "--threads", "1",
                     "--calibration", str(tmp_path / "calibration.npy"), "--inputs", str(tmp_path / "inputs.npy"),
                     "--layers", "2", "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "p.png")])
        printed = capsys.readouterr()
        assert code == 0, printed.err
        runs = json.loads((tmp_path / "r.json").read_text())["runs"]
    else:
        report = edgequant.profile(real_model.path, compare=True, runs=1, warmup=0, threads=1,
                                   calibration=real_model.inputs, inputs=real_model.inputs[:1])
        runs, printed = report.runs, None
        assert "failed" not in report.table()
    # OpenVINO's rows (present or "absent") are an optional peer with their own test (test_profile_openvino.py)
    runs = {name: r for name, r in runs.items() if not name.startswith("openvino")}
    failed = {name: r["error"] for name, r in runs.items() if "error" in r}
    assert len(runs) == 6 and set(failed) == set(PEER_LIMITS.get(real_model.case, {})), failed
    for name in failed:
        assert PEER_LIMITS[real_model.case][name] in failed[name]
        assert f"{name:<22}failed: " in printed.out  # the row stays, with the reason
    # ONNX Runtime's INT8 rows only where its kernels sum exactly (VNNI): without, its 8-bit weights saturate
    exact = {name for name in runs if not (name.startswith("onnxruntime ") and name != "onnxruntime fp32"
                                             and int8_kernels_saturate())}
    assert all(r["cosine"] > 0.9 for name, r in runs.items() if name not in failed and name in exact)
    assert all(r["p50_ms"] > 0 for name, r in runs.items() if name not in failed)


@pytest.mark.parametrize("case", CASES)
def test_compress_decompress_analyze(real_model, tmp_path, capsys):
    """The .eqz round trip gives a model ONNX Runtime runs close to the original; analyze reports."""
    eqz, restored = tmp_path / "m.eqz", tmp_path / "restored.onnx"
    assert main(["compress", str(real_model.path), "-o", str(eqz), "--method", "affine", "--bits", "8"]) == 0
    assert main(["decompress", str(eqz), "-o", str(restored)]) == 0
    x = real_model.inputs[:1]
    for a, b in zip(_ort_run(real_model.path, x), _ort_run(restored, x), strict=True):
        assert _correlation(a, b) > 0.95
    assert main(["analyze", str(real_model.path), "--families", "paper", "--json", str(tmp_path / "a.json")]) == 0
    assert json.loads((tmp_path / "a.json").read_text())
    capsys.readouterr()
