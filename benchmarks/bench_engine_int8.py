"""edgequant engine FP32 / static INT8 / dynamic INT8 vs ONNX Runtime FP32 / static QDQ / dynamic,
batch 1, same thread count, same process and run, on the shared third-party models.

    .venv/bin/python benchmarks/bench_engine_int8.py [--threads 1] [--runs 30] [--repeats 2]

Each cell is the smallest of `--repeats` medians of `--runs` runs (the machine is shared). Static:
16 random calibration inputs for both (ours minmax; ORT quantize_static QDQ, u8 activations, s8
weights, per channel where the opset allows, else per tensor). float16 models are upcast to
float32 for ORT's quantizers (ours computes in float32 anyway).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static

sys.path.insert(0, os.path.dirname(__file__))
from _measure import median_ms, ort_session  # noqa: E402

from edgequant import Engine
from edgequant.datasets import shared_data_dir

MODELS = ["yolo-fastestv2", "ultraface-rfb-320", "squeezenet1.0_fp16", "cifar10_tutorial_cnn"]




def float32_copy(path, target):
    model = onnx.load(str(path))
    for t in model.graph.initializer:
        if t.data_type == TensorProto.FLOAT16:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    for v in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    for node in model.graph.node:
        for a in node.attribute:
            if a.name == "to" and a.i == TensorProto.FLOAT16:
                a.i = TensorProto.FLOAT
    onnx.save(model, str(target))
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None:
        raise SystemExit("needs the shared data directory (models)")
    folder = pathlib.Path(tempfile.mkdtemp())
    print(f"threads {args.threads}, batch 1, min over {args.repeats} of medians of {args.runs} runs (ms)")
    print(f"{'model':<22}{'fp32':>8}{'ORT fp32':>9}{'ratio':>6}{'static':>8}{'ORT QDQ':>8}{'s/ORT':>6}{'s/QDQ':>6}"
          f"{'dynamic':>8}{'ORT dyn':>8}{'ratio':>6}")
    for name in MODELS:
        path = shared / "models" / f"{name}.onnx"
        if path.is_file():
            measure(name, path, args, folder)


class Reader(CalibrationDataReader):
    def __init__(self, items):
        self.items = iter(items)

    def get_next(self):
        return next(self.items, None)


def measure(name, path, args, folder):
    fp32 = Engine(path, threads=args.threads)
    shapes = [[1 if d < 0 else d for d in shape] for _, _, shape, _ in fp32._native.inputs]
    rng = np.random.default_rng(0)
    x = [rng.random(s, dtype=np.float32) for s in shapes]
    calibration = [rng.random([16] + s[1:], dtype=np.float32) for s in shapes]
    static = Engine(path, mode="static", calibration=calibration, threads=args.threads,
                    calibration_batch_size=1)  # fixed batch dims: one sample at a time
    dynamic = Engine(path, mode="dynamic", threads=args.threads)
    ort_path = path
    if any(i.type == "tensor(float16)" for i in ort_session(path, args.threads).get_inputs()):
        ort_path = float32_copy(path, folder / f"{name}_f32.onnx")
    reference = ort_session(ort_path, args.threads)
    feeds = {i.name: a for i, a in zip(reference.get_inputs(), x, strict=True)}
    samples = [{i.name: c[k:k + 1] for i, c in zip(reference.get_inputs(), calibration, strict=True)}
               for k in range(16)]
    qdq = folder / f"{name}_qdq.onnx"
    try:
        quantize_static(str(ort_path), str(qdq), Reader(samples), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)
        ort_static = ort_session(qdq, args.threads)
    except Exception:  # opset < 13: no per-axis DequantizeLinear
        quantize_static(str(ort_path), str(qdq), Reader(samples), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=False)
        ort_static = ort_session(qdq, args.threads)
    dyn_path = folder / f"{name}_dynamic.onnx"
    quantize_dynamic(str(ort_path), str(dyn_path), weight_type=QuantType.QInt8)
    ort_dynamic = ort_session(dyn_path, args.threads)
    runs = {"fp32": lambda: fp32.run(x), "ort": lambda: reference.run(None, feeds),
            "static": lambda: static.run(x), "qdq": lambda: ort_static.run(None, feeds),
            "dynamic": lambda: dynamic.run(x), "ort_dynamic": lambda: ort_dynamic.run(None, feeds)}
    t = {key: min(median_ms(run, args.runs) for _ in range(args.repeats)) for key, run in runs.items()}
    print(f"{name[:21]:<22}{t['fp32']:8.3f}{t['ort']:9.3f}{t['fp32'] / t['ort']:6.2f}{t['static']:8.3f}"
          f"{t['qdq']:8.3f}{t['static'] / t['ort']:6.2f}{t['static'] / t['qdq']:6.2f}{t['dynamic']:8.3f}"
          f"{t['ort_dynamic']:8.3f}{t['dynamic'] / t['ort_dynamic']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
