"""Sweep machinery: its overhead against the evaluations it drives, and 2 workers vs 1.

1. Overhead: of the time the sweep spends per point, how much is quantization, entropy and
   SQLite storage (the machinery) rather than ONNX Runtime evaluation (the task itself).
   Target: <= 10 %.
2. Scaling: wall time of the same sweep with 1 and with 2 worker processes (fresh databases,
   pool start-up included). Target: >= 1.7x on 2 cores. Other work on the machine disturbs this
   ratio; the load average is printed with it.

    python benchmarks/bench_sweep.py                      # embedded digits_cnn, default grid
    python benchmarks/bench_sweep.py --max-bits 12        # quicker
    python benchmarks/bench_sweep.py --model ../shared/data/models/cifar10_tutorial_cnn.onnx \
        --samples 256 --max-bits 10                        # a larger model, random inputs
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np


def random_inputs(model_path, samples: int, seed: int = 0) -> np.ndarray:
    """Standard-normal inputs of the model's input shape (free dimensions: ``samples``, 1...)."""
    import onnx
    from onnx import helper

    model = onnx.load(model_path)
    initializers = {init.name for init in model.graph.initializer}
    value = next(v for v in model.graph.input if v.name not in initializers)
    dims = [d.dim_value if d.dim_value > 0 else None for d in value.type.tensor_type.shape.dim]
    shape = [samples] + [d or 1 for d in dims[1:]]
    dtype = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_yardstick(tasks: int = 8, n: int = 2_000_000) -> float:
    """Speed-up of a pure CPU burn with 2 processes vs 1, right now: the parallelism the machine
    really offers (other work on shared cores lowers it below 2)."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    walls = {}
    for workers in (1, 2):
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_burn, [10] * workers))  # start the workers first
            start = time.perf_counter()
            list(pool.map(_burn, [n] * tasks))
            walls[workers] = time.perf_counter() - start
    return walls[1] / walls[2]


def sweep_once(model, inputs, labels, grid, workers: int, folder: Path, name: str):
    from edgequant.sweep import run_sweep

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # minifloat may not be registered yet
        return run_sweep(
            model,
            inputs,
            labels,
            grid=grid,
            db=folder / f"{name}.sqlite",
            workers=workers,
            progress=False,
        )


def run(model=None, samples: int = 256, max_bits: int = 24, methods=None, repeats: int = 1) -> dict:
    """Measure the overhead fraction and the 2-vs-1-worker speed-up; print and return them."""
    from edgequant import zoo
    from edgequant.sweep import default_grid

    if model is None:
        model = zoo.model_path()
        inputs, labels = zoo.load_test_set()
    else:
        inputs, labels = random_inputs(model, samples), None
    grid = default_grid(max_bits=max_bits, methods=methods)
    walls = {1: [], 2: []}
    yardstick_before = parallel_yardstick()
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up: starts the forkserver (and its preloaded imports) that both measured runs share.
        sweep_once(model, inputs, labels, grid[:2], 2, Path(tmp), "warmup")
        for repeat in range(repeats):
            for workers in (1, 2):
                result = sweep_once(model, inputs, labels, grid, workers, Path(tmp), f"w{workers}r{repeat}")
                walls[workers].append(result.timings["wall_s"])
                if workers == 1 and repeat == 0:
                    single = result
    t = single.timings
    machinery = t["quantize_s"] + t["entropy_s"] + t["store_s"]
    per_point_total = machinery + t["evaluate_s"]
    overhead = machinery / per_point_total
    speedup = min(walls[1]) / min(walls[2])
    yardstick = (yardstick_before + parallel_yardstick()) / 2
    load = os.getloadavg()
    print(f"model: {model}  points: {t['points_run']}  samples: {len(inputs)}")
    print(
        f"1 worker: quantize {t['quantize_s']:.3f} s, entropy {t['entropy_s']:.3f} s, "
        f"store {t['store_s']:.3f} s, evaluate {t['evaluate_s']:.3f} s, wall {t['wall_s']:.2f} s"
    )
    print(f"overhead (quantize+entropy+store) / (that + evaluate): {overhead:.1%}   target <= 10%")
    print(f"overhead / wall time (1 worker, pool start-up included): {machinery / t['wall_s']:.1%}")
    print(f"wall: 1 worker {min(walls[1]):.2f} s, 2 workers {min(walls[2]):.2f} s (best of {repeats})")
    print(
        f"speed-up 2 vs 1 workers: {speedup:.2f}x   target >= 1.7x   "
        f"(load average {load[0]:.2f} on {os.cpu_count()} cores: other work disturbs this)"
    )
    print(
        f"same-run yardstick: a pure CPU burn speeds up {yardstick:.2f}x with 2 processes vs 1; "
        f"sweep speed-up / yardstick = {speedup / yardstick:.2f}"
    )
    return {
        "overhead": overhead,
        "speedup": speedup,
        "yardstick": yardstick,
        "wall_1": min(walls[1]),
        "wall_2": min(walls[2]),
        "points": t["points_run"],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="ONNX model (default: embedded digits_cnn with its test set)")
    parser.add_argument("--samples", type=int, default=256, help="random inputs for --model")
    parser.add_argument("--max-bits", type=int, default=24)
    parser.add_argument("--methods", nargs="+")
    parser.add_argument("--repeats", type=int, default=1, help="best of N wall times")
    args = parser.parse_args(argv)
    if args.model and "acceptance" in Path(args.model).resolve().parts:
        sys.exit("refusing to benchmark on acceptance data")
    run(args.model, args.samples, args.max_bits, args.methods, args.repeats)


if __name__ == "__main__":
    main()
