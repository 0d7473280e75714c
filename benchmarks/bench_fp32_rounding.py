"""Where a real model's FP32 output parts from ONNX Runtime's: float rounding per layer against float64.

For one PyPI model (scripts/fetch_pypi_models.py): on each of its 32 compared photos (as
bench_pypi_models.py picks and scales them), max |Δ| against ONNX Runtime over the largest |output| of ONNX
Runtime on any of them — bench_pypi_models.py's FP32 column is the worst — for the engine on oneDNN and on
the reference backend (whose kernels accumulate in double); then, on that photo, every segment of the graph
from one Conv / MatMul / Gemm to the next, fed the float64 evaluation's input (ONNX's reference
evaluator on the file with every float made double), and each runtime's max |Δ| / max |float64| at the
segment's output. Rows where the engine's is over twice ONNX Runtime's are marked; the last lines compare a
single chain of float32 sums with ONNX Runtime's (MLAS) sums over K-blocks of 256, on random products.

    .venv/bin/python scripts/fetch_pypi_models.py --models seal_det ppocrv4_rec
    .venv/bin/python benchmarks/bench_fp32_rounding.py seal_det [--photo K] [--all]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "scripts"))
import bench_pypi_models as pypi  # noqa: E402
from fetch_pypi_models import default_dest  # noqa: E402

from edgequant import Engine  # noqa: E402

MLAS_K_BLOCK = 256  # ONNX Runtime's SGEMM reduces K in blocks of this many products


class BatchNormalization(OpRun):
    """Inference BatchNormalization from its formula: onnx 1.23's reference evaluator gets opset-12 files
    (Paddle's, with a `momentum` attribute) wrong by whole units."""

    def _run(self, x, scale, bias, mean, var, epsilon=1e-5, momentum=None, training_mode=None, spatial=None):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return ((x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon) * scale.reshape(shape)
                + bias.reshape(shape),)


def in_double(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same graph with every float32 initializer, constant, cast target and graph input / output made float64."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for tensor in model.graph.initializer:
        if tensor.data_type == TensorProto.FLOAT:
            tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float64), tensor.name))
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name == "to" and attribute.i == TensorProto.FLOAT:
                attribute.i = TensorProto.DOUBLE
            if attribute.type == onnx.AttributeProto.TENSOR and attribute.t.data_type == TensorProto.FLOAT:
                attribute.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attribute.t).astype(np.float64)))
    for value in list(model.graph.input) + list(model.graph.output):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.DOUBLE
    del model.graph.value_info[:]
    return model


def relative(ours, reference) -> float:
    reference = np.asarray(reference, np.float64)
    scale = float(np.abs(reference).max()) or 1.0
    return float(np.abs(np.asarray(ours, np.float64) - reference).max()) / scale


def whole_model(path, tests) -> dict[str, np.ndarray]:
    """Per photo and backend: max |Δ| over the outputs against ONNX Runtime, divided by the largest |output|
    of ONNX Runtime over all photos (bench_pypi_models.py's FP32 column is the worst of these)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = [pypi.one(tests, k) for k in range(pypi.TESTS)]
    peers = [session.run(None, feed) for feed in feeds]
    scale = max(float(np.abs(b).max()) for run in peers for b in run) or 1.0
    errors = {}
    for backend in ("onednn", "reference"):
        engine = Engine(path, threads=1, backend=backend)
        errors[backend] = np.array([
            max(float(np.abs(np.float64(a) - b).max())
                for a, b in zip(engine.run([feed[n] for n in engine.input_names]), peer, strict=True)) / scale
            for feed, peer in zip(feeds, peers, strict=True)])
    return errors


def segments(model: onnx.ModelProto, shapes: dict):
    """(first node, ops after it, input name, the segment as a model) from each Conv / MatMul / Gemm to the
    next, where the segment reads one activation."""
    constant_nodes = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    initializers = {i.name: i for i in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type != "Constant"]
    starts = [i for i, n in enumerate(nodes) if n.op_type in ("Conv", "MatMul", "Gemm")]
    for s, i in enumerate(starts):
        span = nodes[i:starts[s + 1] if s + 1 < len(starts) else len(nodes)]
        inside = {o for n in span for o in n.output}
        reads = {t for n in span for t in n.input if t and t not in inside}
        source, target = span[0].input[0], span[-1].output[0]
        if source not in shapes or reads - set(constant_nodes) - set(initializers) != {source}:
            continue
        graph = helper.make_graph(
            [constant_nodes[t] for t in reads if t in constant_nodes] + span, "segment",
            [helper.make_tensor_value_info(source, TensorProto.FLOAT, shapes[source])],
            [helper.make_tensor_value_info(target, TensorProto.FLOAT, None)],
            initializer=[initializers[t] for t in reads if t in initializers])
        segment = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
        yield span[0], [n.op_type for n in span[1:] if n.op_type != "Identity"], source, segment


def summation_orders(k: int, outputs: int = 4000) -> tuple[float, float]:
    """Max error / max |sum| of one float32 chain of k products against MLAS's K-blocks, on random data."""
    rng = np.random.default_rng(0)
    products = (rng.standard_normal((outputs, k)) * rng.standard_normal((outputs, k)) / np.sqrt(k)).astype(np.float32)
    exact = products.astype(np.float64).sum(1)
    chain = np.add.accumulate(products, axis=1, dtype=np.float32)[:, -1]
    blocked = np.zeros(outputs, np.float32)
    for start in range(0, k, MLAS_K_BLOCK):
        blocked += np.add.accumulate(products[:, start:start + MLAS_K_BLOCK], axis=1, dtype=np.float32)[:, -1]
    return relative(chain, exact), relative(blocked, exact)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a name from scripts/fetch_pypi_models.py (an ONNX one)")
    parser.add_argument("--photo", type=int, help="compared photo to trace (default: the worst on oneDNN)")
    parser.add_argument("--all", action="store_true", help="print every segment, not only the marked ones")
    args = parser.parse_args()
    folder = default_dest()
    entry = json.loads((folder / "manifest.json").read_text())[args.model]
    path = folder / entry["file"]
    if path.suffix != ".onnx":
        parser.error(f"{args.model} is a {path.suffix} file: this traces ONNX files against ONNX Runtime")
    tests = pypi.model_inputs(path, entry["inputs"], pypi.TESTS, seed=7)

    errors = whole_model(path, tests)
    photo = int(np.argmax(errors["onednn"])) if args.photo is None else args.photo
    for backend, per_photo in errors.items():
        print(f"{backend:9s} vs ONNX Runtime, {pypi.TESTS} photos: worst {per_photo.max():.2e} "
              f"(photo {int(np.argmax(per_photo))}), median {np.median(per_photo):.2e}")

    model = onnx.load(str(path))
    feed = {n: v.astype(np.float64) if v.dtype == np.float32 else v for n, v in pypi.one(tests, photo).items()}
    produced = [o for n in model.graph.node for o in n.output if o]
    exact = dict(zip(produced, ReferenceEvaluator(in_double(model), new_ops=[BatchNormalization]).run(produced, feed),
                     strict=True))
    print(f"\nphoto {photo}: each segment fed float64's input; max |Δ| / max |float64| at its output")
    rows, marked = [], 0
    scratch = folder / f"{args.model}_segment.onnx"
    shapes = {t: list(v.shape) for t, v in exact.items() if isinstance(v, np.ndarray) and v.dtype == np.float64}
    for first, rest, source, segment in segments(model, shapes):
        target = segment.graph.output[0].name
        onnx.save(segment, str(scratch))
        x = exact[source].astype(np.float32)
        try:
            ours = Engine(scratch, threads=1).run([x])[0]
            double_sums = Engine(scratch, threads=1, backend="reference").run([x])[0]
            peer = ort.InferenceSession(str(scratch), providers=["CPUExecutionProvider"]).run(None, {source: x})[0]
        except Exception:  # noqa: BLE001 - a segment one runtime refuses alone (a shape input cut off)
            continue
        row = tuple(relative(r, exact[target]) for r in (ours, double_sums, peer))
        rows.append(row)
        reduction = ""
        if first.op_type == "Conv":
            attributes = {a.name: helper.get_attribute_value(a) for a in first.attribute}
            groups = attributes.get("group", 1)
            kernel = attributes.get("kernel_shape", [1, 1])
            reduction = f"K={x.shape[1] // groups * int(np.prod(kernel))} k{'x'.join(map(str, kernel))} g{groups}"
        mark = row[0] > 2 * row[2]
        marked += mark
        if mark or args.all:
            print(f"  {first.op_type:6s} {reduction:22s} +{'-'.join(rest)[:44]:44s} oneDNN {row[0]:.1e}  "
                  f"reference {row[1]:.1e}  ORT {row[2]:.1e}{'  <' if mark else ''}")
    scratch.unlink(missing_ok=True)
    median = np.median(np.array(rows), axis=0)
    print(f"{len(rows)} segments, median oneDNN {median[0]:.1e} / reference {median[1]:.1e} / ORT {median[2]:.1e}; "
          f"{marked} with oneDNN over twice ORT's")
    for k in (288, 864, 2880):
        chain, blocked = summation_orders(k)
        print(f"random sums of {k} products: one float32 chain {chain:.1e}, blocks of {MLAS_K_BLOCK} {blocked:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
