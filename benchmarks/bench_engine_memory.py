"""Memory of an engine session: FP32 against static and dynamic INT8, each model and mode in a
fresh process (so no allocator reuse flatters a later column).

Per session: ``resident`` = RSS after construction and 10 runs minus the RSS before it (the
session's weights, kernels and activation buffers: "weights + arena"); ``peak in runs`` = the
high-water mark during 10 runs (VmHWM reset after construction) minus that same baseline;
``peak in construction`` = the high-water mark while building (parsing the model, calibrating,
quantizing) minus the baseline. The issue's target: the static session's peak in runs <= 0.5x
the FP32 session's resident memory. ONNX Runtime's FP32 session is measured the same way as the
peer. The model file size is printed for scale.

    .venv/bin/python benchmarks/bench_engine_memory.py [--models resnet18 ...] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

from _measure import status_kib

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = ROOT / "build" / "benchmark-models"
DEFAULT = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "efficientnet_lite0", "yolov8n"]



def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def measure_one(path: str, mode: str, threads: int) -> dict:
    """Runs in the child process: one session of ``mode`` (or "onnxruntime")."""
    import gc

    import numpy as np
    import onnxruntime  # noqa: F401  (libraries load before the baseline: not part of a session)

    from edgequant import Engine
    from edgequant.engine.session import _native

    _native()
    probe_shape = _input_shape(path)
    rng = np.random.default_rng(0)
    x = rng.random(probe_shape, dtype=np.float32)
    calibration = rng.random((8, *probe_shape[1:]), dtype=np.float32) if mode == "static" else None
    gc.collect()
    _reset_peak()
    base = status_kib("VmRSS:")
    if mode == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run():
            return session.run(None, {name: x})
    else:
        engine = Engine(path, mode=mode, calibration=calibration, threads=threads, calibration_batch_size=1)

        def run():
            return engine.run(x)
    run()
    construction = status_kib("VmHWM:")
    del calibration
    gc.collect()
    _reset_peak()
    for _ in range(10):
        run()
    resident = status_kib("VmRSS:")
    runs_peak = status_kib("VmHWM:")
    return {"resident_mib": (resident - base) / 1024, "peak_runs_mib": (runs_peak - base) / 1024,
            "peak_construction_mib": (construction - base) / 1024}


def _input_shape(path: str) -> tuple[int, ...]:
    import onnx

    model = onnx.load(path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    graph_input = next(i for i in model.graph.input if i.name not in initializers)
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in graph_input.type.tensor_type.shape.dim]
    return tuple(dims)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=DEFAULT)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_one(args.child[0], args.child[1], args.threads)))
        return
    missing = [m for m in args.models if not (MODELS / f"{m}.onnx").exists()]
    if missing:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "export_benchmark_models.py")], check=True)
    print("| model | file MiB | ORT fp32 resident | ours fp32 resident | ours static resident / peak in runs / "
          "peak in construction | static peak ÷ fp32 resident | ours dynamic resident | dynamic ÷ fp32 |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for name in args.models:
        path = str(MODELS / f"{name}.onnx")
        row = {}
        for mode in ("onnxruntime", "fp32", "static", "dynamic"):
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--child", path, mode],
                                 check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
            row[mode] = json.loads(out.strip().splitlines()[-1])
        fp32 = row["fp32"]["resident_mib"]
        st, dy = row["static"], row["dynamic"]
        static = f"{st['resident_mib']:.1f} / {st['peak_runs_mib']:.1f} / {st['peak_construction_mib']:.1f}"
        print(f"| {name} | {os.path.getsize(path) / 2**20:.1f} | {row['onnxruntime']['resident_mib']:.1f} | "
              f"{fp32:.1f} | {static} | "
              f"**{st['peak_runs_mib'] / fp32:.2f}** | {dy['resident_mib']:.1f} | {dy['peak_runs_mib'] / fp32:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
