"""Timing runs of a model: latency statistics, CPU utilisation and the resident memory they add."""

from __future__ import annotations

import ctypes
import gc
import time

import numpy as np

__all__ = ["random_inputs", "rss_mib", "settled_rss_mib", "time_runs"]


def rss_mib() -> float:
    """The process's resident set size (MiB), from ``/proc/self/status``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - Linux only


def settled_rss_mib() -> float:
    """RSS after collecting garbage and handing freed heap back to the system, so that memory a
    previous session freed is not counted against (or for) the next one."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass
    return rss_mib()


def random_inputs(engine, batch: int, seed: int = 0, samples: int | None = None,
                  size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Inputs of an :class:`~edgequant.engine.Engine`'s model shapes: uniform [0, 1) floats, zero
    integers. A symbolic axis 0 is ``batch``; the two symbolic spatial dims of a 4-D input (an image,
    NCHW or NHWC) are ``size`` = (height, width).

    ``samples``: the size of axis 0 whatever the model fixes there (calibration data, which the
    engine runs in batches of the model's size).

    Raises ValueError for a symbolic dim that neither fills (an image size not given, a sequence
    length): the model cannot say what to run it on, and 1 for such a dim fails deep inside most
    image models (a 1x1 image through five stride-2 stages)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for name, dtype, shape, *_ in engine._native.inputs:
        dims = [batch if d < 0 and axis == 0 else d for axis, d in enumerate(shape)]
        open_axes = [axis for axis, d in enumerate(dims) if d < 0]
        if size is not None and len(dims) == 4 and open_axes in ([2, 3], [1, 2]):
            dims[open_axes[0]], dims[open_axes[1]] = size
        elif open_axes:
            shown = ["?" if d < 0 else d for d in dims]
            hint = "size=(height, width) (--size HxW) or inputs (--inputs)" if len(dims) == 4 and len(open_axes) <= 2 \
                else "inputs (--inputs)"
            raise ValueError(f"the model's input {name!r} has shape {shown}: its symbolic dims (?) beyond the batch "
                             f"axis have no size to run on; give {hint}")
        if samples is not None and dims:
            dims[0] = samples
        arrays.append(rng.random(dims, dtype=np.float32) if dtype == "float32" else np.zeros(dims, np.int64))
    return arrays


def time_runs(run, runs: int, warmup: int, progress: bool = False, label: str = "") -> dict:
    """Latency statistics of ``run()`` after ``warmup`` calls, CPU utilisation and RSS growth."""
    from tqdm.auto import tqdm

    for _ in range(warmup):
        run()
    rss_before = rss_mib()
    latencies = np.empty(runs)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for i in tqdm(range(runs), desc=label, disable=not progress, leave=False):
        start = time.perf_counter()
        run()
        latencies[i] = time.perf_counter() - start
    wall = max(time.perf_counter() - wall_start, 1e-12)
    ms = latencies * 1e3
    return {
        "mean_ms": float(ms.mean()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "cpu_utilisation": (time.process_time() - cpu_start) / wall,
        "rss_growth_mib": rss_mib() - rss_before,
    }
