"""edgequant engine vs ONNX Runtime: median latency at batch 1, same thread count, same machine,
same run. FP32 and dynamic INT8 on the digits models and the shared third-party models; static
INT8 on the digits models (calibrated on 200 test images, as ORT's quantize_static is).

    PYTHONPATH=python python benchmarks/bench_engine.py [--threads 1] [--runs 50]

ResNet-18 / MobileNetV2 / YOLOv8n (random weights, exported from plain torch) are not here yet.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import tempfile
import time

import numpy as np
import onnxruntime as ort

from edgequant import Engine, zoo
from edgequant.data import shared_data_dir

SHARED = ["mnist-8.onnx", "cnn_mnist_pytorch.onnx", "cifar10_tutorial_cnn.onnx", "ultraface-rfb-320.onnx",
          "yolo-fastestv2.onnx"]


def median_ms(run, runs):
    for _ in range(5):
        run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def ort_session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # ultraface lists its initializers as inputs: ORT warns per tensor
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    models = [zoo.model_path(name) for name in zoo.list_models()]
    shared = shared_data_dir()
    if shared is not None:
        models += [shared / "models" / name for name in SHARED if (shared / "models" / name).is_file()]
    print(f"threads {args.threads}, batch 1, median of {args.runs} runs (ms); ratio = ORT / ours (> 1: we are faster)")
    print(f"{'model':<28}{'ours fp32':>10}{'ORT fp32':>10}{'ratio':>7}{'ours dyn':>10}{'ORT dyn':>10}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for path in models:
            engine = Engine(path, threads=args.threads)
            feeds = {}
            for name, _, shape, _ in engine._native.inputs:
                feeds[name] = np.random.default_rng(0).random([1 if d < 0 else d for d in shape], dtype=np.float32)
            inputs = [feeds[n] for n in engine.input_names]
            ours_fp32 = median_ms(lambda e=engine: e.run(inputs), args.runs)
            session = ort_session(path, args.threads)
            ort_fp32 = median_ms(lambda s=session: s.run(None, feeds), args.runs)
            dynamic = Engine(path, mode="dynamic", threads=args.threads)
            ours_dyn = median_ms(lambda e=dynamic: e.run(inputs), args.runs)
            target = pathlib.Path(folder) / f"{path.stem}_dynamic.onnx"
            quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8)
            session_dyn = ort_session(target, args.threads)
            ort_dyn = median_ms(lambda s=session_dyn: s.run(None, feeds), args.runs)
            print(f"{path.stem[:27]:<28}{ours_fp32:10.3f}{ort_fp32:10.3f}{ort_fp32 / ours_fp32:7.2f}"
                  f"{ours_dyn:10.3f}{ort_dyn:10.3f}{ort_dyn / ours_dyn:7.2f}")


if __name__ == "__main__":
    main()
