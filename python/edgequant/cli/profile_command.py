"""``edgequant profile MODEL.onnx``: latency, throughput, CPU, memory and per-layer time of the engine,
optionally side by side with ONNX Runtime (``--compare``)."""

from __future__ import annotations

import json
import pathlib


def register(subparsers) -> None:
    parser = subparsers.add_parser("profile", help="time a model on the edgequant engine (and ONNX Runtime)")
    parser.add_argument("model", type=pathlib.Path, help="ONNX model file")
    parser.add_argument("--mode", choices=["fp32", "static", "dynamic"], default="fp32")
    parser.add_argument("--method", choices=["minmax", "percentile", "entropy", "mse"], default="minmax",
                        help="static calibration method")
    parser.add_argument("--calibration", type=pathlib.Path,
                        help=".npy calibration inputs (batch on axis 0); default: 32 uniform [0, 1) samples")
    parser.add_argument("--inputs", type=pathlib.Path, help=".npy inputs to time and compare outputs on")
    parser.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs after warm-up")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1, help="size of symbolic (batch) dims")
    parser.add_argument("--layers", type=int, default=10, help="slowest layers to list")
    parser.add_argument("--json", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--compare", action="store_true",
                        help="also run our three modes and ONNX Runtime FP32 / static QDQ / dynamic")
    parser.add_argument("--plot", type=pathlib.Path,
                        help="latency + confidence-shift plot (default with --compare: MODEL_profile.png)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import numpy as np

    from ..engine.profiling import profile

    report = profile(args.model, mode=args.mode, threads=args.threads, runs=args.runs, warmup=args.warmup,
                     batch=args.batch, method=args.method, compare=args.compare, progress=True,
                     calibration=np.load(args.calibration) if args.calibration else None,
                     inputs=np.load(args.inputs) if args.inputs else None)
    print(report.table())
    for name, result in report.runs.items():
        if result.get("layers"):
            print(f"\n{name}: slowest layers (ms per run)")
            for layer in result["layers"][:args.layers]:
                print(f"  {layer['op']:<20}{layer['name'][:48]:<50}{layer['ms']:8.3f}")
    plot = args.plot or (pathlib.Path(f"{args.model.stem}_profile.png") if args.compare else None)
    if plot:
        print(f"\nplot: {report.plot(plot)}")
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2))
    return 0
