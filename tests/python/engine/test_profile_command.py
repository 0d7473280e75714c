"""Profiling: the Python API and the profile subcommand end to end on a small model."""

import json

import numpy as np
import pytest

import edgequant
from edgequant import zoo
from edgequant.cli import main


def test_profile_writes_json(tmp_path, capsys):
    out = tmp_path / "profile.json"
    code = main(["profile", str(zoo.model_path()), "--mode", "dynamic", "--runs", "3", "--warmup", "1",
                 "--threads", "1", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    run = results["runs"]["edgequant dynamic"]
    assert run["p50_ms"] > 0 and run["layers"] and results["model_bytes"] > 0
    assert "slowest layers" in capsys.readouterr().out


def test_compare_runs_every_mode_of_both_engines_on_the_same_inputs(tmp_path):
    x, _ = zoo.load_test_set()
    report = edgequant.profile(zoo.model_path(), compare=True, runs=3, warmup=1, threads=1, calibration=x[:64],
                               inputs=x[:32])
    assert set(report.runs) == {f"{engine} {mode}" for engine in ("edgequant", "onnxruntime")
                                for mode in ("fp32", "static", "dynamic")}
    assert report.batch == 32
    for name, run in report.runs.items():
        assert run["p50_ms"] <= run["p90_ms"] <= run["p99_ms"] and run["throughput_per_s"] > 0, name
        assert 0.95 <= run["top1_agreement"] <= 1.0 and len(run["confidence_shift"]) == 32, name
    assert report.runs["edgequant fp32"]["confidence_shift_mean_abs"] == 0.0
    assert "session_rss_mib" in report.runs["edgequant static"]
    assert report.plot(tmp_path / "p.png").stat().st_size > 10_000
    assert "onnxruntime dynamic" in report.table()


def test_profile_bad_arguments(tmp_path):
    assert main(["profile", str(tmp_path / "missing.onnx")]) == 1
    with pytest.raises(ValueError, match="mode"):
        edgequant.profile(zoo.model_path(), mode="int4")
    with pytest.raises(ValueError, match="runs"):
        edgequant.profile(zoo.model_path(), runs=0)
    assert np.isfinite(edgequant.profile(zoo.model_path(), runs=2, warmup=0).runs["edgequant fp32"]["mean_ms"])
