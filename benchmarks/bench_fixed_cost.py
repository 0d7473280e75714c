"""What one run costs beyond the arithmetic: one-op models against ONNX Runtime.

A run of a tiny model is mostly fixed cost (argument checks, buffers, dispatch, the Python call),
which is why the digits and MNIST models trail ONNX Runtime when the large ones do not. Each case is
a one-node model (a 3x3 Conv with pads 1 at three sizes, a Relu, an Add, a Softmax over a CTC
recognizer's 6,625 classes for 40 time steps: a kernel rather than fixed cost), then the small whole
models (the digits models of ``edgequant.zoo``, and the shared MNIST models when ../shared is there);
both runtimes run them in float32, one thread, in interleaved rounds of single calls, timed by wall
clock (a few microseconds: finer than the process's CPU-time clock). Ratio = ORT / ours (> 1: we are
cheaper). Issue 23's goal: a one-Conv model costs no more than ONNX Runtime's, ratio >= 1.

    .venv/bin/python benchmarks/bench_fixed_cost.py [--runs 3000]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _measure import interleaved_ms, ort_session, written_models  # noqa: E402

from edgequant import Engine, zoo  # noqa: E402
from edgequant.datasets import shared_data_dir  # noqa: E402


def input_shape(op: str, channels_in: int, size: int) -> list[int]:
    """[1, channels_in, size, size]; a Softmax's rows: [1, channels_in, size]."""
    return [1, channels_in, size] if op == "Softmax" else [1, channels_in, size, size]


def one_op_model(op: str, channels_in: int, size: int, channels_out: int = 16) -> bytes:
    """A model of one ``op`` on an ``input_shape`` input (Conv: 3x3, pads 1; Conv1x1: 1x1 with a bias;
    both to ``channels_out`` channels; Softmax: along the last axis)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape(op, channels_in, size))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    initializers = []
    if op == "Conv":
        weights = np.random.default_rng(0).standard_normal((channels_out, channels_in, 3, 3)) / np.sqrt(9 * channels_in)
        initializers.append(numpy_helper.from_array(weights.astype(np.float32), "w"))
        node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    elif op == "Conv1x1":
        rng = np.random.default_rng(0)
        weights = rng.standard_normal((channels_out, channels_in, 1, 1)) / np.sqrt(channels_in)
        initializers += [numpy_helper.from_array(weights.astype(np.float32), "w"),
                         numpy_helper.from_array(rng.standard_normal(channels_out).astype(np.float32), "b")]
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"])
    elif op == "Add":
        node = helper.make_node("Add", ["x", "x"], ["y"])
    else:
        node = helper.make_node(op, ["x"], ["y"])
    graph = helper.make_graph([node], op.lower(), [x], [y], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


CASES = [("Conv", 3, 8), ("Conv", 16, 32), ("Conv", 32, 56), ("Conv1x1", 16, 120, 64), ("Conv1x1", 64, 120, 16),
         ("Conv1x1", 32, 56, 32), ("Conv1x1", 96, 56, 24), ("Relu", 16, 8), ("Add", 16, 8), ("Softmax", 40, 6625)]
SHARED_SMALL = ["mnist-8.onnx", "cnn_mnist_pytorch.onnx"]


def small_models() -> list[pathlib.Path]:
    """The zoo's digits models and the shared MNIST models (when ../shared/data is there)."""
    paths = [pathlib.Path(zoo.model_path(name)) for name in zoo.list_models()]
    shared = shared_data_dir()
    if shared is not None:
        paths += [shared / "models" / name for name in SHARED_SMALL if (shared / "models" / name).is_file()]
    return paths


def compare(name: str, engine: Engine, session, x: np.ndarray, input_name: str, runs: int) -> None:
    """One row: ours against ONNX Runtime on ``x``, after checking they agree."""
    feed = {input_name: x}
    np.testing.assert_allclose(engine.run(x)[0], session.run(None, feed)[0], rtol=1e-4, atol=1e-4)
    runners = {"ours": lambda: engine.run(x), "ort": lambda: session.run(None, feed)}
    times = interleaved_ms(runners, runs, warmup=200)
    ours, ort = times["ours"] * 1e3, times["ort"] * 1e3
    print(f"{name:<22} {ours:8.1f} {ort:8.1f} {ort / ours:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3000, help="interleaved rounds per case")
    args = parser.parse_args()
    print(f"1 thread, batch 1, float32; median wall time of {args.runs} interleaved rounds (us); "
          "ratio = ORT / ours (> 1: we are cheaper)")
    print(f"{'model':<22} {'ours us':>8} {'ORT us':>8} {'ratio':>6}")
    for (op, channels_in, size, *out), model, path in written_models(CASES, one_op_model):
        x = (4 * np.random.default_rng(1).standard_normal(input_shape(op, channels_in, size))).astype(np.float32)
        arrow = f"->{out[0] if out else 16}" if op.startswith("Conv") else ""
        name = f"{op} {channels_in}x{size}" if op == "Softmax" else f"{op} {channels_in}{arrow} {size}x{size}"
        compare(name, Engine(model, threads=1), ort_session(path, 1), x, "x", args.runs)
    for path in small_models():
        engine = Engine(path, threads=1)
        session = ort_session(path, 1)
        (info,) = session.get_inputs()
        shape = [d if isinstance(d, int) else 1 for d in info.shape]
        x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
        compare(path.stem, engine, session, x, info.name, args.runs)


if __name__ == "__main__":
    main()
