"""The seed-000 experiment (benchmarks/experiment_static_vs_dynamic.py) on a fake Raspberry Pi 5: SoC
columns in its table, a throttled row said so, --cooldown validated and honoured."""

from __future__ import annotations

import functools
import importlib
import json
import pathlib
import sys

import pytest
from fake_platform import fake_pi5, fake_x86

from edgequant.engine import engine_available
from edgequant.profiling import blocks as blocks_module

BENCHMARKS = pathlib.Path(__file__).parents[3] / "benchmarks"

pytestmark = pytest.mark.skipif(not engine_available(), reason="edgequant built without the inference engine")


@pytest.fixture
def experiment(monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("experiment_static_vs_dynamic")


def _run(experiment, monkeypatch, root, *arguments):
    monkeypatch.setattr(
        blocks_module, "PlatformTelemetry", functools.partial(blocks_module.PlatformTelemetry, root, vcgencmd=None)
    )
    monkeypatch.setattr(sys, "argv", ["experiment_static_vs_dynamic.py", *arguments])
    experiment.main()


@pytest.mark.slow
def test_the_experiment_records_the_soc_per_row(shared_data, experiment, monkeypatch, capsys, tmp_path):
    root = fake_pi5(tmp_path / "root", temp_m_c="58000", clock_khz="1500000")  # capped: every block throttled
    _run(
        experiment,
        monkeypatch,
        root,
        "--models",
        "yolo-fastestv2",
        "--runs",
        "1",
        "--cooldown",
        "60",
        "--plot",
        str(tmp_path / "sd.png"),
        "--json",
        str(tmp_path / "sd.json"),
    )
    out = capsys.readouterr().out
    assert "Raspberry Pi 5 Model B Rev 1.0: SoC temperature" in out
    assert "| SoC °C | ARM MHz | throttled |" in out
    table = json.loads((tmp_path / "sd.json").read_text())["yolo-fastestv2"]
    assert set(table) == set(experiment.RUNTIMES)
    for row in table.values():
        assert row["SoC °C"] == 58.0 and row["ARM MHz"] == 1500.0
        assert row["throttled"].startswith("clock 1500 < max 2400 MHz; latency: clock 1500 < max 2400 MHz")


def test_the_experiment_refuses_a_cooldown_without_a_sensor(experiment, monkeypatch, capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        _run(experiment, monkeypatch, fake_x86(tmp_path, thermal=False), "--cooldown", "50")
    assert stop.value.code == 2 and "--cooldown 50 needs the SoC temperature" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        _run(experiment, monkeypatch, fake_x86(tmp_path), "--cooldown", "nan")
    assert stop.value.code == 2 and "argument --cooldown" in capsys.readouterr().err
