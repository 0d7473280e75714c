"""One runtime per process, for timing at more than one thread.

In one process, several runtimes' thread pools (ONNX Runtime's, oneDNN's OpenMP team, OpenVINO's
TBB arena, NumPy's OpenBLAS server) share the two cores: whichever pool is still spinning after its
own run takes a core from the next runtime's run. Here each runtime lives in a worker process of
its own, loaded once; the parent asks one worker at a time for a block of timed runs and waits for
its answer, so at any moment only one runtime has work.

Parent side: :class:`RuntimeProcess` (start, ``time_block``, ``close``) and :func:`blocked_process_ms`
(round-robin blocks over the workers, a pause between blocks). On a VM, one process's speed at two
threads can stay 1.5-2x off another's for its whole life (where the hypervisor happens to run its
threads): bench_engine therefore times each runtime over several sittings, a new set of workers
each. Worker side: ``python _runtime_worker.py KIND MODEL FEEDS THREADS [CALIBRATION]``, answering
``ready`` once loaded, then one line of run times (seconds) per request line ``N``, until ``quit``.

KIND: ``ours-fp32``, ``ours-dynamic``, ``ours-static`` (minmax calibration on CALIBRATION, an .npz
keyed by input name), ``ort`` or ``openvino`` (MODEL as it is: FP32, a dynamic or a QDQ file).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

KINDS = ("ours-fp32", "ours-dynamic", "ours-static", "ort", "openvino")


class RuntimeProcess:
    """A worker process holding one runtime on one model; ``time_block(n)`` -> n run times (s)."""

    def __init__(self, kind: str, model, feeds_npz, threads: int, calibration_npz=None, cpu_time: bool = False):
        if kind not in KINDS:
            raise ValueError(f"unknown runtime kind {kind!r} (one of {', '.join(KINDS)})")
        command = [sys.executable, os.path.abspath(__file__), kind, str(model), str(feeds_npz), str(threads)]
        if calibration_npz is not None:
            command.append(str(calibration_npz))
        environment = dict(os.environ)
        environment["EDGEQUANT_WORKER_CPU_TIME"] = "1" if cpu_time else "0"
        # the harness's NumPy must not keep an OpenBLAS pool of its own beside the runtime's
        environment.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.kind = kind
        # stderr to a file: a runtime's warnings could fill a pipe nobody reads and stall the worker
        self._errors = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._errors, text=True, env=environment)
        answer = self._process.stdout.readline().strip()
        if answer != "ready":
            self._fail(answer)

    def _fail(self, answer: str):
        self._process.kill()
        self._process.wait()
        self._errors.seek(0)
        error = self._errors.read().strip().splitlines()
        self._close_streams()
        reason = error[-1] if error else (answer or "no answer")
        raise RuntimeError(f"{self.kind} worker failed: {reason}")

    def time_block(self, runs: int) -> list[float]:
        try:
            self._process.stdin.write(f"{runs}\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            self._fail("")
        answer = self._process.stdout.readline().strip()
        try:
            times = [float(value) for value in answer.split()]
        except ValueError:
            times = []
        if len(times) != runs:  # an error, or the worker died (empty answer)
            self._fail(answer)
        return times

    def close(self):
        if self._process.poll() is None and not self._process.stdin.closed:
            try:
                self._process.stdin.write("quit\n")
                self._process.stdin.flush()
                self._process.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self._process.kill()
        self._close_streams()

    def _close_streams(self):
        for stream in (self._process.stdin, self._process.stdout, self._errors):
            if not stream.closed:
                try:
                    stream.close()
                except BrokenPipeError:  # buffered input for a worker that died
                    pass


def blocked_process_samples(workers: dict, runs: int, block: int, pause_s: float) -> dict:
    """``runs`` run times (s) of each worker: blocks of ``block`` runs of one worker, then ``pause_s``
    of sleep, round-robin until each has ``runs`` (the rounds spread load from other processes over all
    runtimes; the pause lets the last pool stop spinning)."""
    samples = {name: [] for name in workers}
    while any(len(values) < runs for values in samples.values()):
        for name, worker in workers.items():
            if len(samples[name]) >= runs:
                continue
            time.sleep(pause_s)
            samples[name] += worker.time_block(min(block, runs - len(samples[name])))
    return samples


def blocked_process_ms(workers: dict, runs: int, block: int, pause_s: float) -> dict:
    """Median latency (ms) of each worker over ``runs`` runs timed by :func:`blocked_process_samples`."""
    samples = blocked_process_samples(workers, runs, block, pause_s)
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def _load(kind: str, model: str, feeds: dict, threads: int, calibration_npz: str | None):
    """A call running the runtime of ``kind`` once on ``feeds``."""
    import numpy as np

    if kind.startswith("ours"):
        from edgequant import Engine

        mode = {"ours-fp32": "fp32", "ours-dynamic": "dynamic", "ours-static": "static"}[kind]
        options = {}
        if mode == "static":
            with np.load(calibration_npz) as stored:
                calibration = {name: stored[name] for name in stored.files}
            # batch 1: some models declare it; minmax ranges do not depend on the batching
            options = {"calibration": calibration, "method": "minmax", "calibration_batch_size": 1}
        engine = Engine(model, mode=mode, threads=threads, **options)
        inputs = [feeds[name] for name in engine.input_names]
        return lambda: engine.run(inputs)
    if kind == "ort":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _measure import ort_session

        session = ort_session(model, threads)
        return lambda: session.run(None, feeds)
    from edgequant.profiling.openvino_peer import openvino_model

    request = openvino_model(model, threads).create_infer_request()
    return lambda: request.infer(feeds)


def _serve(argv: list[str]) -> None:
    import numpy as np

    kind, model, feeds_npz, threads = argv[0], argv[1], argv[2], int(argv[3])
    with np.load(feeds_npz) as stored:
        feeds = {name: stored[name] for name in stored.files}
    run = _load(kind, model, feeds, threads, argv[4] if len(argv) > 4 else None)
    clock = time.process_time if os.environ.get("EDGEQUANT_WORKER_CPU_TIME") == "1" else time.perf_counter
    for _ in range(3):
        run()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        for _ in range(3):  # the pool wakes up again after the pause
            run()
        times = []
        for _ in range(int(line)):
            start = clock()
            run()
            times.append(clock() - start)
        print(" ".join(f"{value:.9f}" for value in times), flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1:])
