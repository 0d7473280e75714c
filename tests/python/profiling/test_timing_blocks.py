"""Around each timing block: cooldown (waits, then goes; times out; refuses a machine without a
sensor) and the block's telemetry record (throttled when a bit is set or the clock is below max)."""

from __future__ import annotations

import pytest
from fake_platform import FakeVcgencmd, fake_pi5, fake_x86, write

from edgequant.profiling.blocks import CooldownTimeout, TimingBlocks, block_record, wait_for_cooldown
from edgequant.profiling.telemetry import PlatformTelemetry, Reading, TelemetryError


class Clock:
    """A fake monotonic clock that ``sleep`` advances."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Cooling:
    """vcgencmd whose temperature falls by ``step`` °C per read."""

    def __init__(self, start, step):
        self.temperature, self.step = start, step

    def __call__(self, arguments):
        if arguments == ["measure_temp"]:
            self.temperature -= self.step
            return f"temp={self.temperature + self.step:.1f}'C"
        return FakeVcgencmd()(arguments)


def test_cooldown_waits_until_below_then_goes(tmp_path):
    telemetry = PlatformTelemetry(fake_pi5(tmp_path), vcgencmd=Cooling(start=70.0, step=2.0))
    clock, lines = Clock(), []
    waited = wait_for_cooldown(
        telemetry, below_c=60.0, timeout_s=100, report=lines.append, sleep=clock.sleep, clock=clock
    )
    # reads 70, 68, ..., 60, 58: the sixth read is below 60
    assert waited == 6.0 and clock.sleeps == [1.0] * 6
    assert lines[0] == "cooling down: 70.0 °C, waiting for < 60 °C (0 s of at most 100 s)"
    assert lines[-1] == "cooled to 58.0 °C after 6 s"


def test_cooldown_goes_at_once_when_already_cool(tmp_path):
    telemetry = PlatformTelemetry(fake_pi5(tmp_path, temp_m_c="45000"), vcgencmd=None)
    clock, lines = Clock(), []
    assert wait_for_cooldown(telemetry, 50.0, report=lines.append, sleep=clock.sleep, clock=clock) == 0.0
    assert clock.sleeps == [] and lines == []  # silent


def test_cooldown_times_out_with_the_temperature_reached(tmp_path):
    telemetry = PlatformTelemetry(fake_pi5(tmp_path, temp_m_c="72500"), vcgencmd=None)
    clock, lines = Clock(), []
    with pytest.raises(CooldownTimeout, match=r"stayed at 72.5 °C, not below 60 °C, for 30 s: raise --cooldown"):
        wait_for_cooldown(telemetry, 60.0, timeout_s=30, report=lines.append, sleep=clock.sleep, clock=clock)
    assert clock.now == 30.0 and len(lines) == 3  # progress every 10 s: 0, 10, 20


def test_cooldown_refused_where_no_temperature_can_be_read(tmp_path):
    with pytest.raises(TelemetryError, match="--cooldown 50 needs the SoC temperature.*thermal_zone0/temp: not found"):
        TimingBlocks(PlatformTelemetry(fake_x86(tmp_path, thermal=False), vcgencmd=None), cooldown_c=50)
    root = fake_pi5(tmp_path / "pi")
    write(root, "sys/class/thermal/thermal_zone0/temp", "n/a")
    with pytest.raises(TelemetryError, match="expected an integer in m°C, got 'n/a'"):
        TimingBlocks(PlatformTelemetry(root, vcgencmd=None), cooldown_c=50)


def test_a_cool_unthrottled_block_at_full_clock_is_not_flagged():
    record = block_record(Reading(50.0, 2400.0, 0), Reading(58.5, 2400.0, 0), 2400.0)
    assert record == {
        "soc_temp_c": 58.5,
        "soc_temp_start_c": 50.0,
        "arm_clock_mhz": 2400.0,
        "arm_max_mhz": 2400.0,
        "throttle_flags": [],
        "throttled": False,
    }


@pytest.mark.parametrize(
    ("before", "after", "flags"),
    [
        (Reading(80.0, 2400.0, 0x0), Reading(85.0, 2400.0, 0x4), ["throttled"]),  # bit set at the end
        (Reading(60.0, 2400.0, 0x8), Reading(60.0, 2400.0, 0x0), ["soft temperature limit"]),  # at the start
        (Reading(60.0, 2400.0, 0x0), Reading(60.0, 2400.0, 0x10000), ["under-voltage (during the block)"]),  # latched
        (Reading(60.0, 2400.0, 0x50000), Reading(60.0, 2400.0, 0x50000), []),  # latched before: not this block's
        (Reading(60.0, 2400.0, 0x0), Reading(60.0, 1500.0, 0x0), ["clock 1500 < max 2400 MHz"]),
    ],
)
def test_a_throttled_block_is_flagged(before, after, flags):
    record = block_record(before, after, 2400.0)
    assert record["throttle_flags"] == flags and record["throttled"] is bool(flags)


def test_blocks_record_on_a_pi_and_cool_down_before_each(tmp_path):
    clock, lines = Clock(), []
    vcgencmd = Cooling(start=61.0, step=1.0)
    blocks = TimingBlocks(
        PlatformTelemetry(fake_pi5(tmp_path), vcgencmd=vcgencmd),
        cooldown_c=60.0,
        report=lines.append,
        sleep=clock.sleep,
        clock=clock,
    )
    result = blocks.run(lambda: {"p50_ms": 1.0})
    assert result["p50_ms"] == 1.0 and result["throttled"] is False and result["cooldown_wait_s"] == 1.0
    # reads: 61 (the sensor check), 60 and 59 (cooldown: not below 60, then below), 58 and 57 (the block)
    assert result["soc_temp_start_c"] == 58.0 and result["soc_temp_c"] == 57.0
    assert blocks.platform() == {"model": "Raspberry Pi 5 Model B Rev 1.0", "arm_max_mhz": 2400.0, "cooldown_c": 60.0}


def test_blocks_are_silent_off_a_pi(tmp_path, capsys):
    blocks = TimingBlocks(PlatformTelemetry(fake_x86(tmp_path), vcgencmd=None))
    assert blocks.run(lambda: {"p50_ms": 1.0}) == {"p50_ms": 1.0} and blocks.platform() == {}
    assert capsys.readouterr() == ("", "")
