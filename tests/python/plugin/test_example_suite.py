"""examples/experiment_suite runs green with the plugin and writes its report with the plot."""

import os
import pathlib
import subprocess
import sys

from edgequant.sweep import default_grid

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_example_suite_passes_and_writes_its_report(tmp_path):
    report = tmp_path / "report"
    environment = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/experiment_suite",
         f"--eq-report={report}"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # one test per point of the default grid (@eq_quantizers(max_bits=12)), which grows with the
    # quantizer registry, plus the suite's 11 other tests
    assert f"{len(default_grid(max_bits=12)) + 11} passed" in result.stdout
    # The table of the paper (best point of every curve within 1 pp), printed and in the report.
    assert "reference (FP32) top1 = 0.9944; budget 1 pp" in result.stdout
    text = (report / "report.md").read_text()
    assert "Best point of every curve within 1 pp of the reference top1" in text
    assert "| deadzone δ=0.7 | deadzone |" in text and "| minifloat | minifloat |" in text
    (plot,) = report.glob("rd_*test_rate_distortion.png")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 30_000
    assert (report / "results.sqlite").is_file()
