"""FP32 latency of any ONNX files on the engine against ONNX Runtime, interleaved in the same run
(one call of each per round, so load from other processes hits both alike), with the number of
steps the engine runs after its graph passes and the op types left most often. For models with
symbolic input dims (PP-OCR's: N x 3 x ? x ?) give the shape; random uniform inputs in [0, 1).
"faults" are the minor page faults per run of each runtime after the timing (memory handed back to the
system and touched again every run).

    .venv/bin/python benchmarks/bench_model_fp32.py MODEL.onnx [MODEL.onnx ...] [--shape 1x3x48x192]
        [--threads 1] [--runs 50] [--cpu-time]
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import resource
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _measure import interleaved_ms, ort_session  # noqa: E402

from edgequant import Engine


def feeds_for(session, shape):
    """One input per model input: `shape` where given, else the declared shape (symbolic dims 1), in the
    declared float type (a float16 model takes float16)."""
    feeds = {}
    for value in session.get_inputs():
        dims = shape or [d if isinstance(d, int) and d > 0 else 1 for d in value.shape]
        dtype = np.float16 if value.type == "tensor(float16)" else np.float32
        feeds[value.name] = np.random.default_rng(0).random(dims, dtype=np.float32).astype(dtype)
    return feeds


def faults_per_run(run, runs=10) -> float:
    """Minor page faults of this process per call of `run` (after a warm-up call)."""
    run()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(runs):
        run()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / runs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=pathlib.Path)
    parser.add_argument("--shape", help="input shape as NxCxHxW (default: the declared one)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cpu-time", action="store_true", help="time by the process's CPU time (with --threads 1)")
    args = parser.parse_args()
    shape = [int(d) for d in args.shape.split("x")] if args.shape else None
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"threads {args.threads}, {clock}, median of {args.runs} interleaved rounds (ms); ratio = ORT / ours")
    print(f"{'model':<36}{'ours fp32':>10}{'ORT fp32':>10}{'ratio':>7}{'faults ours / ORT':>19}{'steps':>7}"
          "  most frequent steps")
    for path in args.models:
        session = ort_session(path, args.threads)
        feeds = feeds_for(session, shape)
        engine = Engine(path, threads=args.threads)
        inputs = [feeds[name] for name in engine.input_names]
        (ours,) = engine.run(inputs)[:1]
        (ref,) = session.run(None, feeds)[:1]
        ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
        error = float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))
        runners = {"ours": lambda e=engine, i=inputs: e.run(i), "ort": lambda s=session, f=feeds: s.run(None, f)}
        times = interleaved_ms(runners, args.runs, cpu_time=args.cpu_time)
        faults = {name: faults_per_run(run) for name, run in runners.items()}
        ops = collections.Counter(op for _, op, _ in engine.plan())
        common = ", ".join(f"{op} {n}" for op, n in ops.most_common(5))
        print(
            f"{path.stem[:35]:<36}{times['ours']:10.3f}{times['ort']:10.3f}{times['ort'] / times['ours']:7.2f}"
            f"{faults['ours']:>11.0f} /{faults['ort']:>6.0f}{sum(ops.values()):7d}  {common}"
            f"  (max rel. error vs ORT {error:.1e})",
            flush=True,
        )


if __name__ == "__main__":
    main()
