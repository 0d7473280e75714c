"""SoC telemetry on fake /proc and /sys trees: a Pi 5 detected, values parsed from sysfs and vcgencmd,
the get_throttled bits decoded, malformed values reported (never raised), other machines silent."""

from __future__ import annotations

import pytest
from fake_platform import PI5_MODEL, FakeVcgencmd, failing_vcgencmd, fake_pi5, fake_x86, write

from edgequant.profiling.telemetry import THROTTLE_BITS, PlatformTelemetry, decode_throttled


def test_a_pi5_is_detected_and_its_sysfs_values_parsed(tmp_path):
    telemetry = PlatformTelemetry(
        fake_pi5(tmp_path, temp_m_c="51250", clock_khz="1500000", throttled="50005"), vcgencmd=None
    )
    assert telemetry.is_raspberry_pi and telemetry.model == PI5_MODEL  # the trailing NUL is gone
    assert telemetry.max_clock_mhz == 2400.0
    reading = telemetry.read()
    assert reading.temperature_c == 51.25 and reading.arm_clock_mhz == 1500.0
    assert reading.throttled == 0x50005 and reading.problems == ()
    assert reading.throttle_flags() == {
        "now": ["under-voltage", "throttled"],
        "since_boot": ["under-voltage", "throttled"],
    }


def test_vcgencmd_is_preferred_when_present(tmp_path):
    vcgencmd = FakeVcgencmd(temperature="62.1", clock_hz="2400023808", throttled="0x80000")
    reading = PlatformTelemetry(fake_pi5(tmp_path, temp_m_c="40000"), vcgencmd=vcgencmd).read()
    assert reading.temperature_c == 62.1  # not sysfs's 40.0
    assert reading.arm_clock_mhz == pytest.approx(2400.023808)
    assert reading.throttle_flags() == {"now": [], "since_boot": ["soft temperature limit"]}
    assert vcgencmd.calls == ["measure_temp", "measure_clock arm", "get_throttled"]


def test_a_failing_vcgencmd_falls_back_to_sysfs_and_says_so(tmp_path):
    reading = PlatformTelemetry(fake_pi5(tmp_path, temp_m_c="48000"), vcgencmd=failing_vcgencmd).read()
    assert reading.temperature_c == 48.0 and reading.arm_clock_mhz == 2400.0 and reading.throttled == 0
    assert len(reading.problems) == 3 and all("reading sysfs instead" in p for p in reading.problems)
    unparsable = FakeVcgencmd(answers={"measure_temp": 'error=1 error_msg="Command not registered"\n'})
    reading = PlatformTelemetry(fake_pi5(tmp_path, temp_m_c="48000"), vcgencmd=unparsable).read()
    assert reading.temperature_c == 48.0 and "cannot parse" in reading.problems[0]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("sys/class/thermal/thermal_zone0/temp", "hot", "expected an integer in m°C, got 'hot'"),
        ("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "", "expected an integer in kHz, got ''"),
        (
            "sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled",
            "0xZZ",
            "expected a hexadecimal word, got '0xZZ'",
        ),
    ],
)
def test_malformed_sysfs_values_are_reported_not_raised(tmp_path, name, text, expected):
    root = fake_pi5(tmp_path)
    write(root, name, text)
    reading = PlatformTelemetry(root, vcgencmd=None).read()
    [problem] = reading.problems
    assert problem == f"/{name}: {expected}"
    values = {
        "temp": reading.temperature_c,
        "scaling_cur_freq": reading.arm_clock_mhz,
        "get_throttled": reading.throttled,
    }
    assert values[name.rsplit("/", 1)[1]] is None
    assert sum(v is None for v in values.values()) == 1  # the others still read


def test_a_missing_sensor_is_a_problem_not_a_crash(tmp_path):
    root = fake_pi5(tmp_path)
    (root / "sys/class/thermal/thermal_zone0/temp").unlink()
    reading = PlatformTelemetry(root, vcgencmd=None).read()
    assert reading.temperature_c is None and reading.problems == ("/sys/class/thermal/thermal_zone0/temp: not found",)


def test_the_pi4_firmware_path_is_found(tmp_path):
    root = fake_pi5(tmp_path)
    (root / "sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled").unlink()
    write(root, "sys/devices/platform/soc/soc:firmware/get_throttled", "20002\n")
    assert PlatformTelemetry(root, vcgencmd=None).read().throttle_flags() == {
        "now": ["frequency capped"],
        "since_boot": ["frequency capped"],
    }


def test_other_machines_are_not_a_pi(tmp_path):
    telemetry = PlatformTelemetry(fake_x86(tmp_path), vcgencmd=None)
    assert not telemetry.is_raspberry_pi and telemetry.model is None
    assert telemetry.has_temperature()  # an x86 thermal zone still serves --cooldown
    write(tmp_path / "jetson", "proc/device-tree/model", b"NVIDIA Jetson Nano Developer Kit\0")
    assert not PlatformTelemetry(tmp_path / "jetson", vcgencmd=None).is_raspberry_pi


def test_every_bit_decodes_to_its_own_name():
    for bit, name in THROTTLE_BITS:
        assert decode_throttled(1 << bit) == {"now": [name], "since_boot": []}
        assert decode_throttled(1 << (bit + 16)) == {"now": [], "since_boot": [name]}
    assert decode_throttled(0xF000F)["now"] == decode_throttled(0xF000F)["since_boot"] == [n for _, n in THROTTLE_BITS]
    assert decode_throttled(0x0FFF0) == {"now": [], "since_boot": []}  # bits 4-15 mean nothing here
