"""Timing and peak-memory helpers shared by the benchmark scripts."""

from __future__ import annotations

import gc
import pathlib
import statistics
import tempfile
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


def status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS:, VmHWM:, ...)."""
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
    base = status_kib("VmRSS:")
    result = fn()
    peak = status_kib("VmHWM:")
    del result
    return (peak - base) * 1024


def median_ms(run, runs: int, warmup: int = 5) -> float:
    """Median latency of ``run()`` in ms over ``runs`` calls, after up to ``warmup`` untimed ones."""
    for _ in range(min(warmup, runs)):
        run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def ort_session(path, threads: int):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads and warnings silenced
    (ultraface lists its initializers as inputs: ORT warns per tensor)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def interleaved_ms(runners: dict, runs: int, warmup: int = 3, cpu_time: bool = False) -> dict:
    """Median latency (ms) of each ``runners[name]()`` over ``runs`` rounds, one call of each per
    round, so that load from other processes falls on all of them alike. ``cpu_time``: the
    process's CPU time instead of wall time (steadier on a loaded machine with one thread)."""
    clock = time.process_time if cpu_time else time.perf_counter
    for _ in range(warmup):
        for run in runners.values():
            run()
    samples = {name: [] for name in runners}
    for _ in range(runs):
        for name, run in runners.items():
            start = clock()
            run()
            samples[name].append(clock() - start)
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def written_models(cases, build):
    """Yields ``(case, model, path)`` per case: ``model = build(*case)`` (ONNX bytes), also written
    to ``path`` (one temporary file, rewritten per case, for runtimes that load from disk)."""
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.onnx"
        for case in cases:
            model = build(*case)
            path.write_bytes(model)
            yield case, model, path
