"""``edgequant profile MODEL.onnx``: latency, throughput, memory and per-layer time of the engine,
optionally side by side with ONNX Runtime (``--compare``)."""

from __future__ import annotations

import json
import pathlib
import resource
import tempfile
import time

import numpy as np


def register(subparsers) -> None:
    parser = subparsers.add_parser("profile", help="time a model on the edgequant engine (and ONNX Runtime)")
    parser.add_argument("model", type=pathlib.Path, help="ONNX model file")
    parser.add_argument("--mode", choices=["fp32", "static", "dynamic"], default="fp32")
    parser.add_argument("--method", choices=["minmax", "percentile", "entropy", "mse"], default="minmax",
                        help="static calibration method")
    parser.add_argument("--calibration", type=pathlib.Path,
                        help=".npy calibration inputs (batch on axis 0); default: 32 uniform [0, 1) samples")
    parser.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs after warm-up")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1, help="size of symbolic (batch) dims")
    parser.add_argument("--layers", type=int, default=10, help="slowest layers to list")
    parser.add_argument("--json", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--compare", action="store_true",
                        help="also run our three modes and ONNX Runtime FP32 / static QDQ / dynamic")
    parser.set_defaults(handler=run)


def _inputs(engine, batch, seed=0):
    rng = np.random.default_rng(seed)
    arrays = []
    for _, dtype, shape, _ in engine._native.inputs:
        dims = [batch if d < 0 else d for d in shape]
        arrays.append(rng.random(dims, dtype=np.float32) if dtype == "float32" else np.zeros(dims, np.int64))
    return arrays


def _time(run, runs, warmup):
    for _ in range(warmup):
        run()
    latencies = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for _ in range(runs):
        start = time.perf_counter()
        run()
        latencies.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu_start) / max(time.perf_counter() - wall_start, 1e-12)
    ms = np.asarray(latencies) * 1e3
    return {"mean_ms": float(ms.mean()), "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "cpu_utilisation": float(cpu)}


def _calibration(args, engine):
    if args.calibration:
        return np.load(args.calibration)
    return _inputs(engine, 32, seed=1)[0] if len(engine.input_names) == 1 else None


def _ours(args, mode):
    from ..engine import Engine

    probe = Engine(args.model, threads=args.threads)
    calibration = _calibration(args, probe) if mode == "static" else None
    engine = Engine(args.model, mode=mode, calibration=calibration, method=args.method, threads=args.threads)
    inputs = _inputs(engine, args.batch)
    result = _time(lambda: engine.run(inputs), args.runs, args.warmup)
    engine.profile_layers(True)
    for _ in range(max(1, min(args.runs, 10))):
        engine.run(inputs)
    layers = sorted(engine.layer_times(), key=lambda t: -t[2])
    result["layers"] = [{"name": n, "op": op, "ms": s * 1e3 / max(c, 1)} for n, op, s, c in layers]
    return result, engine, calibration


def _ort(args, mode, engine, calibration):
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)

    path = str(args.model)
    with tempfile.TemporaryDirectory() as folder:
        if mode != "fp32":
            target = str(pathlib.Path(folder) / "quantized.onnx")
            if mode == "static":
                name = engine.input_names[0]

                class Reader(CalibrationDataReader):
                    def __init__(self):
                        self.batches = iter([{name: calibration[i:i + 1]} for i in range(len(calibration))])

                    def get_next(self):
                        return next(self.batches, None)

                quantize_static(path, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            else:
                quantize_dynamic(path, target, weight_type=QuantType.QInt8)
            path = target
        options = ort.SessionOptions()
        if args.threads:
            options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feeds = dict(zip(engine.input_names, _inputs(engine, args.batch), strict=True))
        return _time(lambda: session.run(None, feeds), args.runs, args.warmup)


def run(args) -> int:
    if not args.model.is_file():
        raise FileNotFoundError(f"no ONNX model at {str(args.model)!r}")
    if args.runs < 1 or args.batch < 1:
        raise ValueError("--runs and --batch must be >= 1")
    results = {"model": str(args.model), "model_bytes": args.model.stat().st_size, "batch": args.batch,
               "threads": args.threads, "runs": {}}
    modes = ["fp32", "static", "dynamic"] if args.compare else [args.mode]
    engine = calibration = None
    for mode in modes:
        result, engine, cal = _ours(args, mode)
        calibration = cal if cal is not None else calibration
        result["throughput_per_s"] = args.batch * 1e3 / result["mean_ms"]
        results["runs"][f"edgequant {mode}"] = result
    if args.compare:
        if calibration is None:
            calibration = _calibration(args, engine)
        for mode in ["fp32", "static", "dynamic"]:
            result = _ort(args, mode, engine, calibration)
            result["throughput_per_s"] = args.batch * 1e3 / result["mean_ms"]
            results["runs"][f"onnxruntime {mode}"] = result
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _print(results, args.layers)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _print(results, layer_count):
    print(f"{results['model']}  ({results['model_bytes'] / 1e6:.2f} MB, batch {results['batch']}, "
          f"threads {results['threads'] or 'all'}, peak RSS {results['peak_rss_mib']:.0f} MiB)")
    print(f"{'run':<22}{'mean ms':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'per s':>10}{'CPU':>6}")
    for name, r in results["runs"].items():
        print(f"{name:<22}{r['mean_ms']:9.3f}{r['p50_ms']:9.3f}{r['p90_ms']:9.3f}{r['p99_ms']:9.3f}"
              f"{r['throughput_per_s']:10.1f}{r['cpu_utilisation']:6.2f}")
    for name, r in results["runs"].items():
        if "layers" not in r:
            continue
        print(f"\n{name}: slowest layers (ms per run)")
        for layer in r["layers"][:layer_count]:
            print(f"  {layer['op']:<20}{layer['name'][:48]:<50}{layer['ms']:8.3f}")
