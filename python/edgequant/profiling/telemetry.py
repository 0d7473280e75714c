"""SoC temperature, ARM clock and throttling flags of a Raspberry Pi, read beside every timing block.

A Pi that overheats or is under-powered lowers its clock, and the times measured then are not the
chip's: the profiler records these readings so that such a block can be flagged. Sources, in order:
``vcgencmd measure_temp`` / ``measure_clock arm`` / ``get_throttled`` when the command exists (it asks
the firmware: the clock the ARM really runs at), otherwise sysfs — ``thermal_zone0/temp`` (m°C),
``cpufreq/scaling_cur_freq`` (kHz) and the firmware driver's ``get_throttled`` (hex).

Everything is read below an injectable file-system ``root`` with an injectable ``vcgencmd`` runner,
so that tests use a fake ``/proc`` and ``/sys`` tree. A value that cannot be read or parsed is None
and its reason is kept in :attr:`Reading.problems`: a reading never raises.
"""

from __future__ import annotations

import glob
import pathlib
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["THROTTLE_BITS", "PlatformTelemetry", "Reading", "TelemetryError", "decode_throttled"]

#: The bits of the firmware's ``get_throttled`` word: (bit, name). Bits 0-3 hold now; bits 16-19
#: are the same conditions latched since boot.
THROTTLE_BITS = ((0, "under-voltage"), (1, "frequency capped"), (2, "throttled"), (3, "soft temperature limit"))
_SINCE_BOOT_SHIFT = 16

_MODEL_FILES = ("proc/device-tree/model", "sys/firmware/devicetree/base/model")
_TEMPERATURE_FILE = "sys/class/thermal/thermal_zone0/temp"
_CLOCK_FILE = "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
_MAX_CLOCK_FILES = (
    "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq",
    "sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq",
)
# Pi 1-4: soc/soc:firmware; Pi 5: the firmware node sits under another bus name.
_THROTTLED_PATTERNS = (
    "sys/devices/platform/soc/soc:firmware/get_throttled",
    "sys/devices/platform/*/*firmware/get_throttled",
    "sys/devices/platform/*firmware/get_throttled",
)


class TelemetryError(RuntimeError):
    """A reading the caller needs (the temperature for ``--cooldown``) is not available."""


def decode_throttled(word: int) -> dict[str, list[str]]:
    """``{"now": [...], "since_boot": [...]}``: the condition names set in a ``get_throttled`` word."""
    return {
        "now": [name for bit, name in THROTTLE_BITS if word >> bit & 1],
        "since_boot": [name for bit, name in THROTTLE_BITS if word >> (bit + _SINCE_BOOT_SHIFT) & 1],
    }


@dataclass(frozen=True)
class Reading:
    """One look at the SoC. ``None``: not available (the reason is in ``problems``)."""

    temperature_c: float | None = None
    arm_clock_mhz: float | None = None
    throttled: int | None = None  #: the raw ``get_throttled`` word
    problems: tuple[str, ...] = field(default=())

    def throttle_flags(self) -> dict[str, list[str]]:
        return decode_throttled(self.throttled) if self.throttled is not None else {"now": [], "since_boot": []}


def _system_vcgencmd() -> Callable[[Sequence[str]], str] | None:
    """A runner of the real ``vcgencmd`` when it is on PATH (Raspberry Pi OS), else None."""
    executable = shutil.which("vcgencmd")
    if executable is None:
        return None

    def run(arguments: Sequence[str]) -> str:
        return subprocess.run([executable, *arguments], capture_output=True, text=True, check=True, timeout=5).stdout

    return run


class PlatformTelemetry:
    """The machine's SoC sensors, read under ``root``.

    Parameters
    ----------
    root : path-like
        The file-system root holding ``proc/`` and ``sys/`` (``"/"``; a fake tree in tests).
    vcgencmd : callable, optional
        ``vcgencmd(["measure_temp"]) -> stdout``; default: the real command when ``root`` is ``"/"``
        and it is on PATH. It may raise (OSError, CalledProcessError...): sysfs is read instead.
    """

    def __init__(self, root="/", vcgencmd: Callable[[Sequence[str]], str] | None | str = "system"):
        self.root = pathlib.Path(root)
        if vcgencmd == "system":
            vcgencmd = _system_vcgencmd() if self.root == pathlib.Path("/") else None
        self.vcgencmd = vcgencmd
        self.model = self._model()
        self.max_clock_mhz, problem = self._max_clock_mhz()
        self.problems = (problem,) if problem else ()

    @property
    def is_raspberry_pi(self) -> bool:
        """Whether the device tree names a Raspberry Pi (profiles record readings only there)."""
        return self.model is not None and "Raspberry Pi" in self.model

    def has_temperature(self) -> bool:
        """Whether a temperature can be read now (``--cooldown`` needs one)."""
        return self.read().temperature_c is not None

    def read(self) -> Reading:
        """Temperature, ARM clock and the throttling word, each from vcgencmd or else sysfs."""
        problems: list[str] = []
        temperature = self._from_vcgencmd(["measure_temp"], _parse_vcgencmd_temperature, problems)
        if temperature is None:
            temperature = self._from_file(
                _TEMPERATURE_FILE, lambda text: int(text) / 1000, "an integer in m°C", problems
            )
        clock = self._from_vcgencmd(["measure_clock", "arm"], _parse_vcgencmd_clock, problems)
        if clock is None:
            clock = self._from_file(_CLOCK_FILE, lambda text: int(text) / 1000, "an integer in kHz", problems)
        throttled = self._from_vcgencmd(["get_throttled"], _parse_vcgencmd_throttled, problems)
        if throttled is None:
            path = self._throttled_file()
            if path is not None:
                throttled = self._from_file(path, lambda text: int(text, 16), "a hexadecimal word", problems)
        return Reading(temperature, clock, throttled, tuple(problems))

    # --- sources ----------------------------------------------------------------------------------
    def _model(self) -> str | None:
        for name in _MODEL_FILES:
            try:
                return (self.root / name).read_bytes().rstrip(b"\0").decode("utf-8", "replace").strip()
            except OSError:
                continue
        return None

    def _max_clock_mhz(self) -> tuple[float | None, str | None]:
        problems: list[str] = []
        for name in _MAX_CLOCK_FILES:
            value = self._from_file(name, lambda text: int(text) / 1000, "an integer in kHz", problems)
            if value is not None:
                return value, None
        malformed = [p for p in problems if "not found" not in p]
        return None, (malformed[0] if malformed else None)

    def _throttled_file(self) -> str | None:
        for pattern in _THROTTLED_PATTERNS:
            found = sorted(glob.glob(str(self.root / pattern)))
            if found:
                return str(pathlib.Path(found[0]).relative_to(self.root))
        return None

    def _from_vcgencmd(self, arguments: list[str], parse, problems: list[str]):
        if self.vcgencmd is None:
            return None
        try:
            text = self.vcgencmd(arguments)
        except (OSError, subprocess.SubprocessError) as error:
            problems.append(
                f"vcgencmd {' '.join(arguments)} failed ({type(error).__name__}: {error}); reading sysfs instead"
            )
            return None
        value = parse(text)
        if value is None:
            problems.append(
                f"vcgencmd {' '.join(arguments)}: cannot parse {text.strip()[:60]!r}; reading sysfs instead"
            )
        return value

    def _from_file(self, name: str, parse, expected: str, problems: list[str]):
        path = self.root / name
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            problems.append(f"/{name}: not found")
            return None
        except OSError as error:
            problems.append(f"/{name}: cannot be read ({error.strerror or error})")
            return None
        try:
            return parse(text)
        except ValueError:
            problems.append(f"/{name}: expected {expected}, got {text[:60]!r}")
            return None


def _parse_vcgencmd_temperature(text: str) -> float | None:
    match = re.search(r"temp=(-?[0-9.]+)", text)  # temp=48.3'C
    return float(match.group(1)) if match else None


def _parse_vcgencmd_clock(text: str) -> float | None:
    match = re.search(r"frequency\(\d+\)=(\d+)", text)  # frequency(0)=2400000000 (Hz)
    return int(match.group(1)) / 1e6 if match else None


def _parse_vcgencmd_throttled(text: str) -> int | None:
    match = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", text)  # throttled=0x50005
    return int(match.group(1), 0) if match else None
