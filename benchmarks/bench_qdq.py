"""Models quantized by ONNX Runtime, run by the engine in INT8 with the file's own numbers.

For every shared model and random-weight architecture (as in bench_engine.py): ONNX Runtime's
``quantize_static`` (QDQ, per-channel s8 weights, u8 activations, minmax on 16 random inputs, after
``quant_pre_process``) writes a quantized file; the engine loads that file without calibration, and
this prints, per model: how many Conv / Gemm / MatMul steps run INT8 (of how many), the largest
difference of the outputs from ONNX Runtime's on the same file in quantization steps of the output
(the scale of the DequantizeLinear writing it; relative to the output's max where a float op writes
it), beside the same figure for ONNX Runtime against itself (its optimised session, which fuses the
pairs into QLinearConv & co., against its unoptimised one, which computes each pair in float as ONNX
defines): in a deep network one-step rounding differences (ties decided by float summation order)
compound, for any two implementations. Then the median latency of both at batch 1, one thread unless
--threads, in interleaved rounds (ratio = ORT / ours, > 1: we are faster).

    .venv/bin/python benchmarks/bench_qdq.py [--models resnet18 yolov8n] [--runs 30] [--cpu-time]
        [--format QDQ|QOperator]
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from _measure import interleaved_ms, ort_session  # noqa: E402
from _ort_quantize import ort_quantized  # noqa: E402
from bench_engine import SHARED, architecture_models, calibration_inputs  # noqa: E402

from edgequant import Engine  # noqa: E402
from edgequant.datasets import shared_data_dir  # noqa: E402

TESTS = 4  # inputs compared per model


def output_steps(path: pathlib.Path) -> list[float | None]:
    """Per graph output, the scale of the DequantizeLinear writing it (None: a float op writes it)."""
    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}
    steps = []
    for out in model.graph.output:
        node = producer.get(out.name)
        scale = inits.get(node.input[1]) if node is not None and node.op_type == "DequantizeLinear" else None
        steps.append(float(scale) if scale is not None and scale.size == 1 else None)
    return steps


def unoptimised_session(path):
    """ONNX Runtime with graph optimisations off: each QuantizeLinear / DequantizeLinear computed in float."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--models", nargs="*", help="only the models with these file stems")
    parser.add_argument("--format", choices=["QDQ", "QOperator"], default="QDQ")
    parser.add_argument("--cpu-time", action="store_true", help="time by CPU time (steadier on a loaded machine)")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # quantize_static warns per tensor
    ort.set_default_logger_severity(3)
    models = []
    shared = shared_data_dir()
    if shared is not None:
        models += [shared / "models" / name for name in SHARED if (shared / "models" / name).is_file()]
    models += architecture_models()
    if args.models:
        models = [path for path in models if path.stem in args.models]
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"ONNX Runtime quantize_static ({args.format}) files; threads {args.threads}, batch 1, {clock}, "
          f"median of {args.runs} interleaved rounds (ms)")
    print(f"{'model':<22}{'INT8 layers':>12}{'ours vs ORT':>13}{'ORT vs ORT':>12}{'ours':>9}{'ORT':>9}{'ratio':>7}"
          "   (differences in output steps)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        for path in models:
            try:
                calibration = calibration_inputs(path, Engine(path, threads=args.threads))
                quantized = ort_quantized(path, calibration, folder, args.format)
                engine = Engine(quantized, threads=args.threads)
            except Exception as error:  # noqa: BLE001 - a row per model, whatever fails
                print(f"{path.stem:<22} failed: {str(error).splitlines()[0][:100]}")
                continue
            layers = [p for _, op, p in engine.plan() if op in ("Conv", "Gemm", "MatMul")]
            session = ort_session(quantized, args.threads)
            unoptimised = unoptimised_session(quantized)
            names = [i.name for i in session.get_inputs()]
            rng = np.random.default_rng(7)
            worst = spread = 0.0
            for _ in range(TESTS):
                feeds = {n: rng.random(v.shape[1:], dtype=np.float32)[None] for n, v in calibration.items()}
                ours = engine.run([feeds[n] for n in engine.input_names])
                theirs = session.run(None, {n: feeds[n] for n in names})
                reference = unoptimised.run(None, {n: feeds[n] for n in names})
                for a, b, c, step in zip(ours, theirs, reference, output_steps(quantized), strict=True):
                    scale = step if step else max(float(np.abs(b).max()), 1e-12)
                    worst = max(worst, float(np.abs(a - b.astype(np.float32)).max()) / scale)
                    spread = max(spread, float(np.abs(c - b).max()) / scale)
            unit = "" if all(output_steps(quantized)) else " (rel)"
            ours_feed = [calibration[n][:1] for n in engine.input_names]
            ort_feed = {n: calibration[n][:1] for n in names}
            times = interleaved_ms({"ours": lambda e=engine, f=ours_feed: e.run(f),
                                    "ORT": lambda s=session, f=ort_feed: s.run(None, f)},
                                   args.runs, cpu_time=args.cpu_time)
            int8 = f"{layers.count('int8_static')}/{len(layers)}"
            print(f"{path.stem:<22}{int8:>12}{worst:>13.2f}{spread:>12.2f}{times['ours']:>9.2f}{times['ORT']:>9.2f}"
                  f"{times['ORT'] / times['ours']:>7.2f}{unit}", flush=True)


if __name__ == "__main__":
    main()
