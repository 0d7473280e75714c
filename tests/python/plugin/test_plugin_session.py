"""The pytest plugin end to end: pytest runs in a subprocess on a suite written to a temporary
folder, with the plugin loaded through its pytest11 entry point (as a user gets it)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from edgequant.sweep import ResultStore

SUITE = '''
import numpy as np
import pytest

from edgequant import entropy
from edgequant.testing import eq_quantizers

WEIGHTS = np.linspace(-1, 1, 1001, dtype=np.float32)


@eq_quantizers(methods=["midtread"], levels=[4, 64, 256])
def test_points(quantizer, eq_model, eq_data, eq_record):
    x, y = eq_data("digits", limit=100)
    assert x.shape == (100, 1, 8, 8) and not x.flags.writeable
    assert eq_model("digits_cnn").name == "digits_cnn.onnx"
    eq_record.baseline(top1=0.95)
    levels = quantizer.spec()["params"]["levels"]
    eq_record(entropy=entropy.entropy(quantizer.encode(WEIGHTS)), top1=0.5 if levels == 4 else 0.95)
    eq_record(size_kb=levels / 8)  # a second call completes the same row


def test_plain(eq_record):
    eq_record(latency_ms=1.5)


def test_failing(eq_record):
    eq_record(top1=0.1)
    assert False, "this case fails on purpose"
'''


def run_pytest(folder, *args, env=None):
    environment = {**os.environ, **(env or {})}
    environment.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "--strict-markers", *args]
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture
def suite(tmp_path):
    (tmp_path / "test_suite.py").write_text(SUITE)
    return tmp_path


def test_fixtures_are_listed(suite):
    result = run_pytest(suite, "--fixtures")
    assert result.returncode == 0, result.stdout + result.stderr
    for fixture in ("eq_model", "eq_data", "eq_record"):
        assert f"{fixture} [" in result.stdout or f"{fixture} --" in result.stdout, result.stdout
    assert "edgequant/pytest_plugin" in result.stdout


def test_records_into_the_sweep_store_with_a_table_and_a_report(suite, tmp_path):
    db, report = tmp_path / "results.sqlite", tmp_path / "report"
    result = run_pytest(suite, "-q", f"--eq-db={db}", f"--eq-report={report}")
    out = result.stdout
    assert result.returncode == 1 and "1 failed, 4 passed" in out, out + result.stderr
    assert "edgequant experiments" in out and f"results: {db}" in out and "report:" in out
    assert "test_suite.py::test_points: 3 case(s) recorded" in out
    assert "reference (FP32) top1 = 0.9500; budget 1 pp" in out
    assert "test_suite.py::test_plain: 1 case(s) recorded" in out and "latency_ms" in out

    with ResultStore(db) as store:
        ids = store.sweep_ids()
        assert ids == ["pytest:test_suite.py::test_points", "pytest:test_suite.py::test_plain",
                       "pytest:test_suite.py::test_failing"]  # fmt: skip
        points = store.rows("pytest:test_suite.py::test_points")
        assert store.baseline(ids[0]) == {"top1": 0.95}
    assert [row["params"]["levels"] for row in points] == [4, 64, 256]
    assert all(row["method"] == "midtread" and row["label"] == "midtread" for row in points)
    assert points[1]["size_kb"] == 8 and points[1]["top1"] == 0.95  # both calls in one row
    assert points[2]["entropy"] == pytest.approx(8, abs=0.01)  # 1001 spread weights, 256 levels
    assert points[2]["compression_ratio"] == pytest.approx(32 / points[2]["entropy"])

    text = (report / "report.md").read_text()
    assert "## `test_suite.py::test_points`" in text and "Best point of every curve within 1 pp" in text
    assert "| midtread-L4 | midtread |" in text  # every case, listed
    assert "| failed |" in text and "| passed |" in text  # outcomes
    plot = report / "rd_test_suite_py_test_points.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000


def test_without_options_nothing_is_written_and_plain_runs_say_nothing(suite, tmp_path):
    (suite / "test_suite.py").write_text("def test_nothing():\n    pass\n")
    result = run_pytest(suite, "-q")
    assert result.returncode == 0 and "edgequant experiments" not in result.stdout
    assert sorted(p.name for p in suite.iterdir() if p.name != "__pycache__") == ["test_suite.py"]


def test_shared_data_absent_skips_with_the_reason(suite, tmp_path):
    (suite / "test_suite.py").write_text(textwrap.dedent('''
        def test_mnist(eq_data):
            eq_data("mnist")

        def test_shared_model(eq_model):
            eq_model("mnist-8")
    '''))
    result = run_pytest(suite, "-rs", env={"EDGEQUANT_DATA": str(tmp_path / "absent")})
    assert result.returncode == 0 and "2 skipped" in result.stdout, result.stdout
    assert "mnist: shared data folder absent (EDGEQUANT_DATA=" in result.stdout
    assert "shared model 'mnist-8': shared data folder absent" in result.stdout


def test_bad_metrics_fail_the_test_with_the_name(suite):
    (suite / "test_suite.py").write_text(textwrap.dedent('''
        def test_text(eq_record):
            eq_record(top1="high")

        def test_nan(eq_record):
            eq_record(top1=float("nan"))
    '''))
    result = run_pytest(suite, "-q")
    assert "2 failed" in result.stdout
    assert "metric top1='high' must be a real number" in result.stdout and "metric top1 is NaN" in result.stdout


def test_the_plugin_can_be_turned_off(suite):
    result = run_pytest(suite, "-q", "-p", "no:edgequant")
    assert result.returncode != 0 and "fixture 'eq_model' not found" in result.stdout
    assert "unrecognized arguments" in run_pytest(suite, "-p", "no:edgequant", "--eq-db=x.sqlite").stderr


def test_entry_point_is_declared():
    from importlib.metadata import entry_points

    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "edgequant"]
    assert plugin.value == "edgequant.pytest_plugin"
    assert json.dumps(plugin.value)  # a plain module path


def test_bad_options_are_usage_errors(suite, tmp_path):
    result = run_pytest(suite, f"--eq-db={tmp_path / 'absent' / 'results.sqlite'}")
    assert result.returncode == 4 and "--eq-db" in result.stderr and "does not exist" in result.stderr
    result = run_pytest(suite, "--eq-budget-pp=-1")
    assert result.returncode == 4 and "--eq-budget-pp must be >= 0" in result.stderr
