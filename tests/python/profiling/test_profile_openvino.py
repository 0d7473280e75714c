"""OpenVINO as a peer in profile --compare: its FP32 and INT8 (ONNX Runtime's QDQ file) rows when
openvino is installed, one line saying it is absent when not."""

import importlib.util

import pytest

import edgequant
from edgequant import zoo
from edgequant.cli import main
from edgequant.engine import engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason="edgequant built without the inference engine")

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.mark.skipif(not HAS_OPENVINO, reason="openvino is not installed (pip install 'edgequant[bench]')")
def test_compare_times_openvino_fp32_and_int8_on_the_same_inputs():
    x, _ = zoo.load_test_set()
    report = edgequant.profile(zoo.model_path(), compare=True, runs=3, warmup=1, threads=1, calibration=x[:32],
                               inputs=x[:16])
    for name in ("openvino fp32", "openvino static"):
        run = report.runs[name]
        assert "error" not in run, run
        assert run["p50_ms"] > 0 and run["throughput_per_s"] > 0, name
        assert run["top1_agreement"] >= 0.9, name
    assert report.runs["openvino fp32"]["max_abs_error"] < 1e-2  # FP32, not a quantized model
    # INT8 on ONNX Runtime's QDQ file: it deviates from FP32 as ONNX Runtime's static run does
    assert report.runs["openvino static"]["max_abs_error"] > report.runs["openvino fp32"]["max_abs_error"]
    assert "openvino static" in report.table()


def test_absent_openvino_is_one_line_not_a_traceback(monkeypatch, capsys, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "openvino" else real_find_spec(name, *a, **k))
    code = main(["profile", str(zoo.model_path()), "--compare", "--runs", "2", "--warmup", "0", "--threads", "1",
                 "--layers", "0", "--plot", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.lower().startswith("openvino")]
    assert len(lines) == 1 and "absent" in lines[0], lines
    assert "onnxruntime static" in out and "Traceback" not in out
