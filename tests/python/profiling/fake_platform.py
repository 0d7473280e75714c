"""Fake ``/proc`` and ``/sys`` trees of a Raspberry Pi 5 and of an x86 machine, and a fake vcgencmd."""

from __future__ import annotations

import pathlib
import subprocess

PI5_MODEL = "Raspberry Pi 5 Model B Rev 1.0"
PI5_FIRMWARE = "sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled"


def write(root: pathlib.Path, name: str, text: str | bytes) -> pathlib.Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def fake_pi5(
    root: pathlib.Path, temp_m_c="51250", clock_khz="2400000", max_khz="2400000", throttled="0"
) -> pathlib.Path:
    """A Pi 5 tree: the device-tree model ends in NUL as the kernel writes it; values as sysfs prints them."""
    write(root, "proc/device-tree/model", PI5_MODEL.encode() + b"\0")
    write(root, "sys/class/thermal/thermal_zone0/temp", f"{temp_m_c}\n")
    write(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", f"{clock_khz}\n")
    write(root, "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", f"{max_khz}\n")
    write(root, PI5_FIRMWARE, f"{throttled}\n")
    return root


def fake_x86(root: pathlib.Path, thermal: bool = True) -> pathlib.Path:
    """An x86 laptop-like tree: no device tree; a thermal zone when ``thermal``."""
    write(root, "proc/cpuinfo", "model name : Intel(R) Xeon(R)\n")
    write(root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "3000000\n")
    if thermal:
        write(root, "sys/class/thermal/thermal_zone0/temp", "45000\n")
    return root


class FakeVcgencmd:
    """Answers like Raspberry Pi OS's vcgencmd; ``answers`` overrides a query's stdout (an exception
    instance is raised instead)."""

    def __init__(self, temperature="62.1", clock_hz="2400000000", throttled="0x0", answers=None):
        self.answers = {
            "measure_temp": f"temp={temperature}'C\n",
            "measure_clock arm": f"frequency(0)={clock_hz}\n",
            "get_throttled": f"throttled={throttled}\n",
            **(answers or {}),
        }
        self.calls: list[str] = []

    def __call__(self, arguments):
        query = " ".join(arguments)
        self.calls.append(query)
        answer = self.answers[query]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def failing_vcgencmd(arguments):
    raise subprocess.CalledProcessError(255, ["vcgencmd", *arguments], "VCHI initialization failed")
