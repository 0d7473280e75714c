"""The engine's robustness costs and gains, each against a peer measured in the same run.

* threads: one Engine with 1 kernel thread shared by 2 Python threads against the same engine
  driven by 1 thread (throughput ratio; runs release the GIL and each borrows its own session);
* NaN scan: the non-finite-input check against a whole run (share of the run's time);
* build: constructing an engine of 40,000 Relus stored in reverse topological order;
* leak: native memory (RSS) per Engine created, run and destroyed, FP32 and static.

    .venv/bin/python benchmarks/bench_engine_robustness.py [--model resnet18] [--size 96] [--seconds 4]
"""

from __future__ import annotations

import argparse
import gc
import threading
import time

import numpy as np
from onnx import TensorProto, helper

from edgequant import Engine, zoo
from edgequant.zoo import architectures


def _throughput(engine, x, threads: int, seconds: float) -> tuple[float, float, float]:
    """``threads`` Python threads calling ``engine.run`` for ``seconds``: runs per second, the
    process's CPU time per wall second (how many cores it actually got), and the share of the wall
    time during which two runs were in progress at once (0 under a global lock)."""
    intervals = [[] for _ in range(threads)]
    stop = time.perf_counter() + seconds

    def work(slot):
        while time.perf_counter() < stop:
            begin = time.perf_counter()
            engine.run(x)
            intervals[slot].append((begin, time.perf_counter()))

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    start, cpu = time.perf_counter(), time.process_time()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    events = sorted([(b, 1) for runs in intervals for b, _ in runs] + [(e, -1) for runs in intervals for _, e in runs])
    overlap, active, last = 0.0, 0, start
    for when, step in events:
        if active >= 2:
            overlap += when - last
        active, last = active + step, when
    return sum(map(len, intervals)) / wall, cpu / wall, overlap / wall


def bench_threads(model: str, size: int, seconds: float) -> None:
    engine = Engine(architectures.build(model, input_size=size, width=0.5), threads=1)
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    _throughput(engine, x, 2, 0.5)  # warm-up: builds the second session
    one, two = [], []
    for _ in range(3):  # interleaved: a busy machine disturbs both alike
        one.append(_throughput(engine, x, 1, seconds))
        two.append(_throughput(engine, x, 2, seconds))
    a, b = max(one), max(two)
    print(f"threads  {model} {size}x{size}, engine threads=1: 1 Python thread {a[0]:.1f} runs/s "
          f"(CPU/wall {a[1]:.2f}), 2 threads {b[0]:.1f} runs/s (CPU/wall {b[1]:.2f}, two runs at once "
          f"{100 * b[2]:.0f} % of the time) -> {b[0] / a[0]:.2f}x; per CPU second "
          f"{(b[0] / b[1]) / (a[0] / a[1]):.2f}x")


def bench_nan_scan(model: str, size: int) -> None:
    x = np.random.default_rng(0).standard_normal((8, 3, size, size)).astype(np.float32)
    path = architectures.build(model, input_size=size, width=0.5).SerializeToString()
    on = Engine(path, threads=1)
    run = min(_timed(lambda: on.run(x)) for _ in range(5))
    identity = Engine(_identity_model(x.shape), threads=1)  # the scan plus a copy out
    scan = min(_timed(lambda: identity.run(x)) for _ in range(20))
    print(f"nan scan {x.nbytes / 2**20:.1f} MiB input: scan + identity copy {scan * 1e3:.3f} ms, "
          f"{model} run {run * 1e3:.1f} ms -> {100 * scan / run:.2f} % of a run (upper bound)")


def bench_build() -> None:
    n = 40_000
    nodes = [helper.make_node("Relu", [f"v{k}"], [f"v{k + 1}"]) for k in range(n)][::-1]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("v0", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info(f"v{n}", TensorProto.FLOAT, [1, 4])])
    data = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    seconds = _timed(lambda: Engine(data))
    print(f"build    {n} Relus in reverse topological order: {seconds:.2f} s (issue 9: 53 s before)")


def bench_leak() -> None:
    data = zoo.model_path().read_bytes()
    x = zoo.load_test_set()[0][:8]
    for mode in ("fp32", "static"):
        def once(mode=mode):
            engine = Engine(data, mode=mode, calibration=x if mode == "static" else None)
            engine.run(x)

        for _ in range(20):
            once()
        gc.collect()
        before = _rss_kib()
        count = 200
        for _ in range(count):
            once()
        gc.collect()
        print(f"leak     {mode}: {(_rss_kib() - before) / count:.2f} KiB of RSS per Engine created, run, "
              f"destroyed (issue 9: 34 KiB FP32, 80 KiB static before)")


def _identity_model(shape):
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet18", choices=sorted(architectures.ARCHITECTURES))
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    bench_threads(args.model, args.size, args.seconds)
    bench_nan_scan(args.model, args.size)
    bench_build()
    bench_leak()


if __name__ == "__main__":
    main()
