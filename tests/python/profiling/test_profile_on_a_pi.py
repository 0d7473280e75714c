"""``edgequant profile`` on a (fake) Raspberry Pi 5: temperature and clock per block in the table, the
JSON, the CSV and the plot, a throttled block flagged, --cooldown honoured or refused; on other
machines not one extra column."""

from __future__ import annotations

import csv
import functools
import io
import json

import pytest
from fake_platform import fake_pi5, fake_x86, write

import edgequant
from edgequant import profiling, zoo
from edgequant.cli import main
from edgequant.engine import engine_available
from edgequant.profiling import blocks as blocks_module

needs_engine = pytest.mark.skipif(not engine_available(), reason="edgequant built without the inference engine")


class ThrottlingFromTheSecondBlock:
    """vcgencmd of a Pi that hits its soft temperature limit during the second timing block."""

    def __init__(self):
        self.reads = 0

    def __call__(self, arguments):
        if arguments == ["measure_temp"]:
            return "temp=79.5'C\n"
        if arguments == ["measure_clock", "arm"]:
            return "frequency(0)=2400000000\n"
        self.reads += 1  # get_throttled: twice per block (before, after)
        return "throttled=0x80008\n" if self.reads >= 4 else "throttled=0x0\n"


def _blocks(root, vcgencmd=None, **options):
    return profiling.TimingBlocks(profiling.PlatformTelemetry(root, vcgencmd=vcgencmd), **options)


@needs_engine
def test_a_throttled_block_is_flagged_in_table_json_csv_and_plot(tmp_path):
    vcgencmd = ThrottlingFromTheSecondBlock()
    report = edgequant.profile(
        zoo.model_path(),
        compare=True,
        runs=2,
        warmup=0,
        threads=1,
        blocks=_blocks(fake_pi5(tmp_path / "root"), vcgencmd),
    )
    ours = {name: run for name, run in report.runs.items() if name.startswith("edgequant")}
    assert ours["edgequant fp32"]["throttled"] is False
    assert ours["edgequant static"]["throttle_flags"] == ["soft temperature limit"]  # now-bit: once, not twice
    assert report.throttled_runs()[0] == "edgequant static"
    table = report.table()
    assert "Raspberry Pi 5 Model B Rev 1.0" in table and "°C" in table and "MHz" in table
    fp32_row = next(line for line in table.splitlines() if line.startswith("edgequant fp32"))
    static_row = next(line for line in table.splitlines() if line.startswith("edgequant static"))
    assert "79.5  2400" in fp32_row and "THROTTLED" not in fp32_row
    assert static_row.endswith("THROTTLED: soft temperature limit")
    assert "ran below the chip's full speed" in table
    saved = report.to_dict()
    assert saved["platform"]["model"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert saved["runs"]["edgequant static"]["soc_temp_c"] == 79.5
    rows = {row["run"]: row for row in csv.DictReader(io.StringIO(report.csv()))}
    assert rows["edgequant static"]["throttled"] == "True" and rows["edgequant fp32"]["arm_clock_mhz"] == "2400.0"
    assert report.plot(tmp_path / "p.png").stat().st_size > 10_000


@needs_engine
def test_the_profile_command_on_a_fake_pi_writes_csv_and_json(tmp_path, monkeypatch, capsys):
    root = fake_pi5(tmp_path / "root", temp_m_c="55000", clock_khz="1800000")  # clock below its max
    monkeypatch.setattr(
        blocks_module, "PlatformTelemetry", functools.partial(blocks_module.PlatformTelemetry, root, vcgencmd=None)
    )
    code = main(
        [
            "profile",
            str(zoo.model_path()),
            "--runs",
            "2",
            "--warmup",
            "0",
            "--threads",
            "1",
            "--layers",
            "0",
            "--cooldown",
            "60",
            "--json",
            str(tmp_path / "p.json"),
            "--csv",
            str(tmp_path / "p.csv"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "cooldown below 60 °C" in out and "THROTTLED: clock 1800 < max 2400 MHz" in out
    run = json.loads((tmp_path / "p.json").read_text())["runs"]["edgequant fp32"]
    assert run["soc_temp_c"] == 55.0 and run["cooldown_wait_s"] < 1 and run["throttled"] is True
    [row] = csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text()))
    assert row["run"] == "edgequant fp32" and row["soc_temp_c"] == "55.0"


@needs_engine
def test_a_malformed_reading_is_a_note_not_a_crash(tmp_path, monkeypatch, capsys):
    root = fake_pi5(tmp_path / "root")
    write(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "<unknown>")
    monkeypatch.setattr(
        blocks_module, "PlatformTelemetry", functools.partial(blocks_module.PlatformTelemetry, root, vcgencmd=None)
    )
    assert main(["profile", str(zoo.model_path()), "--runs", "1", "--warmup", "0", "--layers", "0"]) == 0
    out = capsys.readouterr().out
    assert (
        "SoC readings incomplete: /sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq: expected an integer "
        "in kHz, got '<unknown>'"
    ) in out


@needs_engine
def test_not_a_pi_not_a_column(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        blocks_module,
        "PlatformTelemetry",
        functools.partial(blocks_module.PlatformTelemetry, fake_x86(tmp_path), vcgencmd=None),
    )
    assert (
        main(
            [
                "profile",
                str(zoo.model_path()),
                "--runs",
                "1",
                "--warmup",
                "0",
                "--layers",
                "0",
                "--csv",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "°C" not in captured.out and "MHz" not in captured.out and "THROTTLED" not in captured.out
    assert captured.err.count("\n") <= 1  # at most tqdm's cleared bar: no warning
    [row] = csv.DictReader(io.StringIO((tmp_path / "p.csv").read_text()))
    assert "soc_temp_c" not in row and "throttled" not in row and row["run"] == "edgequant fp32"


def test_cooldown_without_a_sensor_is_an_error_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        blocks_module,
        "PlatformTelemetry",
        functools.partial(blocks_module.PlatformTelemetry, fake_x86(tmp_path, thermal=False), vcgencmd=None),
    )
    assert main(["profile", str(zoo.model_path()), "--cooldown", "50"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edgequant profile: error: --cooldown 50 needs the SoC temperature")


@pytest.mark.parametrize("value", ["nan", "-1", "0", "120", "hot"])
def test_cooldown_is_validated_at_parse_time(value, capsys):
    assert main(["profile", str(zoo.model_path()), "--cooldown", value]) == 2
    assert "argument --cooldown: expected a finite number <= 110 and > 0" in capsys.readouterr().err
