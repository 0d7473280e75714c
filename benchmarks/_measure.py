"""Timing and peak-memory helpers shared by the benchmark scripts."""

from __future__ import annotations

import gc
import time


def best_time(fn, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls (seconds): the least disturbed run."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_extra_bytes(fn) -> int:
    """Peak resident memory ``fn`` adds above the current RSS (Linux: resets VmHWM first).

    Includes whatever ``fn`` allocates and keeps (its result) and every temporary on the way.
    """
    gc.collect()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the high-water mark to the current RSS
    base = _status_kib("VmRSS:")
    result = fn()
    peak = _status_kib("VmHWM:")
    del result
    return (peak - base) * 1024
