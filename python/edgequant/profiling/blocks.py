"""Timing blocks: wait for the SoC to cool before each one (``--cooldown``), and record the SoC's
temperature, clock and throttling around it on a Raspberry Pi, flagging a throttled block.

A block is throttled when the firmware reports a throttling condition at its start or end (bits
0-3 of ``get_throttled``), when a since-boot bit (16-19) appears during it, or when the ARM clock
read right after its last run is below the maximum the cpufreq driver offers (with the
``ondemand`` governor the clock is at its maximum under load unless the SoC is capped).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from .telemetry import PlatformTelemetry, Reading, TelemetryError, decode_throttled

__all__ = ["COOLDOWN_POLL_S", "CooldownTimeout", "TimingBlocks", "block_record", "wait_for_cooldown"]

#: Seconds between two temperature reads while cooling down.
COOLDOWN_POLL_S = 1.0
#: A clock this close to the maximum counts as the maximum (vcgencmd reports the PLL's exact rate).
_CLOCK_TOLERANCE = 0.99


class CooldownTimeout(TelemetryError, TimeoutError):
    """The SoC did not cool below the threshold within the timeout."""


def wait_for_cooldown(
    telemetry: PlatformTelemetry,
    below_c: float,
    timeout_s: float = 300.0,
    report: Callable[[str], None] | None = None,
    sleep=time.sleep,
    clock=time.monotonic,
) -> float:
    """Wait until the SoC is below ``below_c`` °C; returns the seconds waited.

    ``report`` gets a progress line when waiting starts and about every 10 s (default: stderr).
    Raises :class:`TelemetryError` when no temperature can be read, and :class:`CooldownTimeout`
    after ``timeout_s`` seconds (the message gives the last temperature: an idle SoC that stays
    above the threshold needs a higher one, or a fan)."""
    report = report or (lambda line: print(line, file=sys.stderr, flush=True))
    start = clock()
    last_report = None
    while True:
        reading = telemetry.read()
        temperature = reading.temperature_c
        if temperature is None:
            raise TelemetryError(
                "cannot read the SoC temperature for --cooldown: " + ("; ".join(reading.problems) or "no sensor")
            )
        waited = clock() - start
        if temperature < below_c:
            if last_report is not None:
                report(f"cooled to {temperature:.1f} °C after {waited:.0f} s")
            return waited
        if waited >= timeout_s:
            raise CooldownTimeout(
                f"the SoC stayed at {temperature:.1f} °C, not below {below_c:g} °C, for "
                f"{timeout_s:g} s: raise --cooldown or improve the cooling"
            )
        if last_report is None or waited - last_report >= 10:
            report(
                f"cooling down: {temperature:.1f} °C, waiting for < {below_c:g} °C "
                f"({waited:.0f} s of at most {timeout_s:g} s)"
            )
            last_report = waited
        sleep(min(COOLDOWN_POLL_S, max(timeout_s - waited, 0.0)) or COOLDOWN_POLL_S)


def block_record(before: Reading, after: Reading, max_clock_mhz: float | None) -> dict:
    """The telemetry columns of one block: ``soc_temp_c`` (end), ``soc_temp_start_c``, ``arm_clock_mhz``
    (end), ``arm_max_mhz``, ``throttle_flags`` (what made it throttled) and ``throttled``."""
    flags: list[str] = []
    for reading in (before, after):
        for name in reading.throttle_flags()["now"]:
            if name not in flags:
                flags.append(name)
    if before.throttled is not None and after.throttled is not None:
        new = decode_throttled(after.throttled & ~before.throttled)["since_boot"]
        flags += [f"{name} (during the block)" for name in new if name not in flags]
    clock = after.arm_clock_mhz
    if clock is not None and max_clock_mhz and clock < _CLOCK_TOLERANCE * max_clock_mhz:
        flags.append(f"clock {clock:.0f} < max {max_clock_mhz:.0f} MHz")
    record = {
        "soc_temp_c": after.temperature_c,
        "soc_temp_start_c": before.temperature_c,
        "arm_clock_mhz": clock,
        "arm_max_mhz": max_clock_mhz,
        "throttle_flags": flags,
        "throttled": bool(flags),
    }
    problems = sorted(set(before.problems) | set(after.problems))
    if problems:
        record["telemetry_problems"] = problems
    return record


class TimingBlocks:
    """What happens around each timing block of a profile.

    Parameters
    ----------
    telemetry : PlatformTelemetry, optional
        Default: this machine's. Readings are recorded only on a Raspberry Pi (elsewhere a block
        gets no columns at all).
    cooldown_c : float, optional
        Wait before each block until the SoC is below this temperature (°C). Checked at once: a
        machine with no readable temperature sensor raises :class:`TelemetryError` here, before any
        work — a cooldown that cannot be honoured is refused rather than skipped silently.
    cooldown_timeout_s : float
    report, sleep, clock :
        Progress lines, and the waiting (injectable for tests).
    """

    def __init__(
        self,
        telemetry: PlatformTelemetry | None = None,
        cooldown_c: float | None = None,
        cooldown_timeout_s: float = 300.0,
        report=None,
        sleep=time.sleep,
        clock=time.monotonic,
    ):
        self.telemetry = telemetry if telemetry is not None else PlatformTelemetry()
        self.cooldown_c, self.cooldown_timeout_s = cooldown_c, cooldown_timeout_s
        self.report, self.sleep, self.clock = report, sleep, clock
        self.records = self.telemetry.is_raspberry_pi
        if cooldown_c is not None and not self.telemetry.has_temperature():
            reasons = [p for p in self.telemetry.read().problems if "temp" in p]  # not the clock's
            raise TelemetryError(
                f"--cooldown {cooldown_c:g} needs the SoC temperature, and this machine has no "
                "readable sensor (" + ("; ".join(reasons) or "no vcgencmd") + ")"
            )

    def platform(self) -> dict:
        """The machine's description for a report: the Pi's model, its maximum clock, the cooldown."""
        if not self.records:
            return {}
        return {
            "model": self.telemetry.model,
            "arm_max_mhz": self.telemetry.max_clock_mhz,
            "cooldown_c": self.cooldown_c,
        }

    def around(self, measure: Callable[[], object]) -> tuple[object, dict]:
        """``(measure(), telemetry record)``: cooled down before, read before and after (the record
        is empty off a Pi)."""
        if self.cooldown_c is not None:
            waited = wait_for_cooldown(
                self.telemetry, self.cooldown_c, self.cooldown_timeout_s, self.report, self.sleep, self.clock
            )
        before = self.telemetry.read() if self.records else None
        value = measure()
        if not self.records:
            return value, {}
        record = block_record(before, self.telemetry.read(), self.telemetry.max_clock_mhz)
        if self.cooldown_c is not None:
            record["cooldown_wait_s"] = waited
        return value, record

    def run(self, measure: Callable[[], dict]) -> dict:
        """``measure()``'s result dict with the block's telemetry columns added."""
        result, record = self.around(measure)
        result.update(record)
        return result
