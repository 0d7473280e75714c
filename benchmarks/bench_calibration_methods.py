"""Static INT8 calibration methods on the shared real models: how close each method's INT8 outputs
stay to FP32, beside ONNX Runtime's quantize_static with its MinMax and Entropy calibrators on the
same calibration data.

    .venv/bin/python benchmarks/bench_calibration_methods.py [--models mnist-8 ultraface-rfb-320 ...]

Per model and method: the lowest Pearson correlation of an output with FP32 over the outputs
(``corr``), the lowest cosine, and the task metric — top-1 agreement for classifiers, detection
agreement (F1 after NMS) for UltraFace. Calibration and evaluation data are disjoint: MNIST /
CIFAR-10 / ImageNet-sample: the first ``--calibration`` samples of the model's data
(:func:`edgequant.datasets.model_data`) calibrate, the next ``--samples`` evaluate; the detectors
calibrate on COCO images (coco128) and are evaluated on their own demo images.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx

from edgequant import Engine
from edgequant.datasets import load_detector_images, model_data, shared_data_dir
from edgequant.engine import METHODS
from edgequant.model.qdq import converted_for_qdq
from edgequant.profiling.output_metrics import output_metrics

MODELS = ["mnist-8", "cnn_mnist_pytorch", "cifar10_tutorial_cnn", "squeezenet1.0_fp16", "ultraface-rfb-320",
          "yolo-fastestv2"]


def correlation(reference: list[np.ndarray], outputs: list[np.ndarray]) -> float:
    values = []
    for ref, out in zip(reference, outputs, strict=True):
        a, b = np.ravel(ref).astype(np.float64), np.ravel(out).astype(np.float64)
        values.append(1.0 if np.std(a) == 0 and np.array_equal(a, b) else float(np.corrcoef(a, b)[0, 1]))
    return min(values)


def run_batched(run, x: np.ndarray, batch: int | None) -> list[np.ndarray]:
    """Outputs over all samples, ``batch`` at a time for fixed-batch models (concatenated)."""
    if not batch:
        return run(x)
    parts = [run(x[i:i + batch]) for i in range(0, len(x), batch)]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def ort_static(path: Path, calibration: np.ndarray, x: np.ndarray, method: str, batch: int | None) -> list:
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    name = next(i.name for i in onnx.load(str(path)).graph.input)
    step = batch or 1
    feeds = iter([{name: calibration[i:i + step]} for i in range(0, len(calibration) - step + 1, step)])

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(feeds, None)

    with tempfile.TemporaryDirectory() as folder, contextlib.redirect_stdout(io.StringIO()):  # ORT prints
        target = str(Path(folder) / "q.onnx")
        source = str(Path(folder) / "converted.onnx")  # ORT's quantizer needs opset 13 for per-channel QDQ
        onnx.save(converted_for_qdq(onnx.load(str(path))), source)
        root = logging.getLogger()
        level, root.level = root.level, logging.ERROR
        try:
            quantize_static(source, target, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method={"minmax": CalibrationMethod.MinMax,
                                              "entropy": CalibrationMethod.Entropy}[method])
        finally:
            root.setLevel(level)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(target, options, providers=["CPUExecutionProvider"])
        return run_batched(lambda v: session.run(None, {name: v}), x, batch)


def split_data(model: str, calibration: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint calibration and evaluation inputs (float32)."""
    root = shared_data_dir()
    detectors = {"ultraface-rfb-320": ("ultraface", "models/ultraface_imgs"),
                 "yolo-fastestv2": ("yolofastestv2", "models/yolofastestv2_imgs")}
    if model in detectors:
        kind, own = detectors[model]
        return (load_detector_images(root / "coco128" / "images", kind, calibration),
                load_detector_images(root / own, kind, samples))
    x, _ = model_data(model, limit=calibration + samples)
    x = x.astype(np.float32)
    return x[:calibration], x[calibration:calibration + samples]


def quantized_outputs(label: str, path: Path, calibration, evaluation, batch) -> list[np.ndarray]:
    """``label``: one of our methods, or "ort minmax" / "ort entropy"."""
    if label.startswith("ort "):
        return ort_static(path, calibration, evaluation, label.removeprefix("ort "), batch)
    engine = Engine(path, mode="static", calibration=calibration, method=label)
    return run_batched(engine.run, evaluation, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--calibration", type=int, default=16, help="calibration samples")
    parser.add_argument("--samples", type=int, default=200, help="evaluation samples (at most)")
    parser.add_argument("--no-ort", action="store_true", help="skip ONNX Runtime's calibrators")
    args = parser.parse_args()
    root = shared_data_dir()
    print(f"{'model':<22}{'method':<14}{'corr':>8}{'cosine':>9}{'task':>8}  task metric")
    for model in args.models:
        path = root / "models" / f"{model}.onnx"
        calibration, evaluation = split_data(model, args.calibration, args.samples)
        fp32 = Engine(path)
        batch = fp32.fixed_batch_size()
        names = fp32.output_names
        reference = run_batched(fp32.run, evaluation, batch)
        labels = list(METHODS) + ([] if args.no_ort else ["ort minmax", "ort entropy"])
        for label in labels:
            try:
                outputs = quantized_outputs(label, path, calibration, evaluation, batch)
            except Exception as error:  # a peer that cannot quantize this model keeps its row
                print(f"{model:<22}{label:<14}failed: {type(error).__name__}: {str(error)[:80]}")
                continue
            outputs = [np.asarray(o, np.float32) for o in outputs]
            metrics = output_metrics(names, reference, outputs, len(evaluation))
            task, what = metrics.get("top1_agreement"), "top-1 agreement"
            if "detection_agreement" in metrics:
                task, what = metrics["detection_agreement"], "detection F1 after NMS"
            task_text = f"{100 * task:7.1f}%" if task is not None else f"{'':>8}"
            print(f"{model:<22}{label:<14}{correlation(reference, outputs):8.4f}{metrics['cosine']:9.4f}"
                  f"{task_text}  {what if task is not None else ''}", flush=True)


if __name__ == "__main__":
    main()
